"""Bad input gets the API server's one-line rejection; what it accepts, we accept."""

import copy

import pytest

from releaselab import Lab
from releaselab.errors import ManifestError, NotFoundError, UsageError
from releaselab.manifests import load, validate


@pytest.fixture
def deployment():
    return copy.deepcopy(load("rolling/web.yaml")[0])


def _set(obj, path, value):
    *parents, last = path.split(".")
    for key in parents:
        obj = obj[int(key)] if key.isdigit() else obj.setdefault(key, {})
    if value is _DELETE:
        obj.pop(last, None)
    else:
        obj[last] = value


_DELETE = object()
RU = "spec.strategy.rollingUpdate"


@pytest.mark.parametrize("path, value, expected", [
    (f"{RU}.maxSurge", 0, "may not be 0 when `maxSurge` is 0"),
    (f"{RU}.maxUnavailable", "150%", "must not be greater than 100%"),
    (f"{RU}.maxSurge", "25 percent", "a valid percent string"),
    ("spec.replicas", -1, "must be greater than or equal to 0"),
    ("spec.template.metadata.labels", {"app": "api"}, "`selector` does not match template `labels`"),
    ("spec.strategy.type", "BlueGreen", 'Unsupported value: apps.DeploymentStrategy{Type:"BlueGreen"'),
    ("spec.template.spec.containers.0.image", _DELETE, "image: Required value"),
    ("spec.template.spec.containers.0.image", "", "image: Required value"),
    ("spec.template.spec.containers.0.readinessProbe.periodSeconds", -1,
     "must be greater than or equal to 0"),
    ("spec.progressDeadlineSeconds", 0, "must be greater than minReadySeconds"),
])
def test_deployment_rejections(deployment, path, value, expected):
    if path.endswith("maxSurge") and value == 0:
        _set(deployment, f"{RU}.maxUnavailable", 0)
    _set(deployment, path, value)
    with pytest.raises(ManifestError) as err:
        validate(deployment)
    message = str(err.value)
    assert message.startswith('Deployment.apps "web" is invalid: ')
    assert expected in message
    assert "\n" not in message


def test_recreate_with_rolling_parameters_is_forbidden(deployment):
    deployment["spec"]["strategy"]["type"] = "Recreate"
    with pytest.raises(ManifestError, match="may not be specified when strategy `type` is 'Recreate'"):
        validate(deployment)


def test_httproute_negative_weight():
    route = {"apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute",
             "metadata": {"name": "web"},
             "spec": {"parentRefs": [{"name": "web"}],
                      "rules": [{"backendRefs": [{"name": "a", "port": 80, "weight": -1}]}]}}
    with pytest.raises(ManifestError, match="weight in body should be greater than or equal to 0"):
        validate(route)


def test_defaults_are_kubernetes_defaults():
    obj, _ = validate({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "x"},
                       "spec": {"selector": {"matchLabels": {"a": "b"}}, "template": {
                           "metadata": {"labels": {"a": "b"}},
                           "spec": {"containers": [{"name": "c", "image": "i", "readinessProbe": {
                               "httpGet": {"path": "/", "port": 8080}}}]}}}})
    spec = obj["spec"]
    assert spec["replicas"] == 1
    assert spec["strategy"] == {"type": "RollingUpdate",
                                "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}}
    assert (spec["revisionHistoryLimit"], spec["progressDeadlineSeconds"],
            spec["minReadySeconds"]) == (10, 600, 0)
    assert spec["template"]["spec"]["terminationGracePeriodSeconds"] == 30
    probe = spec["template"]["spec"]["containers"][0]["readinessProbe"]
    assert (probe["periodSeconds"], probe["timeoutSeconds"], probe["successThreshold"],
            probe["failureThreshold"]) == (10, 1, 1, 3)


def test_malformed_yaml_is_one_line():
    with pytest.raises(ManifestError) as err:
        load("apiVersion: v1\nkind: [Service\n")
    assert "not valid YAML at line" in str(err.value) and "\n" not in str(err.value)


def test_unknown_manifest_path():
    with pytest.raises(NotFoundError, match="no manifest 'nope/web.yaml'"):
        load("nope/web.yaml")


def test_unmodelled_fields_are_reported_once(deployment, capsys):
    deployment["spec"]["template"]["spec"]["affinity"] = {"podAntiAffinity": {}}
    lab = Lab()
    lab.apply(deployment)
    lab.apply(deployment)
    out = capsys.readouterr().out
    assert out.count("does not model spec.template.spec.affinity") == 1


def test_unknown_deployment_and_bad_arguments():
    lab = Lab(echo=False)
    with pytest.raises(NotFoundError, match='Deployment "nope" not found'):
        lab.set_image("nope", "releaselab/web:1.0")
    lab.apply("rolling/web.yaml")
    with pytest.raises(UsageError):
        lab.scale("web", -2)
    with pytest.raises(UsageError):
        lab.traffic(rps=0).__enter__()
    with pytest.raises(UsageError):
        Lab(backend="minikube")


def test_an_unlisted_image_is_accepted_and_stalls_like_kubernetes():
    lab = Lab(echo=False)
    lab.apply("rolling/web.yaml")
    lab.wait_available("web")
    lab.set_image("web", "releaselab/web:9.9-typo")
    result = lab.wait_rollout("web")
    assert result.status == "ProgressDeadlineExceeded"
    reasons = {p["status"] for p in lab.pods() if p["version"] == "9.9-typo"}
    assert reasons <= {"ErrImagePull", "ImagePullBackOff"} and reasons
    failed = [e for e in lab.timeline.events if e.reason == "Failed" and "ErrImagePull" in e.message]
    assert failed


def test_a_bad_document_leaves_nothing_applied(deployment):
    broken = copy.deepcopy(deployment)
    broken["metadata"]["name"] = "web-2"
    broken["spec"]["replicas"] = -1
    lab = Lab(echo=False)
    with pytest.raises(ManifestError):
        lab.apply([deployment, broken])
    assert lab.backend.list("Deployment") == []


def test_objects_read_back_apply_again_status_and_server_fields_included():
    # An object from lab.get() carries status and server-set metadata; the API
    # server accepts it back (status is a subresource, ignored on apply).
    from releaselab import Lab

    lab = Lab(echo=False)
    lab.apply("canary/stable.yaml")
    lab.apply("canary/canary.yaml")
    lab.apply("canary/gateway.yaml")
    for kind, name in (("HTTPRoute", "web"), ("Gateway", "web"), ("Service", "web-stable"),
                       ("Deployment", "web-stable")):
        obj = lab.get(kind, name)
        assert "status" in obj
        lab.apply(obj)


def _statefulset():
    from releaselab import manifests

    return next(o for o in manifests.load("data/postgres.yaml") if o["kind"] == "StatefulSet")


@pytest.mark.parametrize("change,first_words", [
    # ValidatePodTemplateSpecForReplicaSet, shared with the Deployment
    (lambda s: s["spec"]["template"]["metadata"]["labels"].update(app="other"),
     'StatefulSet.apps "postgres" is invalid: spec.template.metadata.labels: Invalid value'),
    # ValidatePersistentVolumeClaimSpec
    (lambda s: s["spec"]["volumeClaimTemplates"][0]["spec"].pop("accessModes"),
     'StatefulSet.apps "postgres" is invalid: spec.volumeClaimTemplates[0].spec.accessModes: '
     "Required value"),
    # ValidateStatefulSetSpec
    (lambda s: s["spec"].update(podManagementPolicy="Sometimes"),
     'StatefulSet.apps "postgres" is invalid: spec.podManagementPolicy: Unsupported value'),
    # the decoder, against the real OpenAPI schema
    (lambda s: s["spec"].update(replicas="one"),
     'StatefulSet in version "v1" cannot be handled as a StatefulSet: json: cannot unmarshal '
     "string into Go struct field StatefulSetSpec.spec.replicas of type int32"),
])
def test_statefulset_refused_as_the_api_server_words_it(change, first_words):
    from releaselab import manifests

    obj = _statefulset()
    manifests.validate(obj)                    # the manifest itself is valid
    change(obj)
    with pytest.raises(ManifestError) as caught:
        manifests.validate(obj)
    assert str(caught.value).startswith(first_words), str(caught.value)


def test_statefulset_defaults_keep_its_claims():
    from releaselab import manifests

    obj = _statefulset()
    obj["spec"].pop("persistentVolumeClaimRetentionPolicy", None)
    stored, notes = manifests.validate(obj)
    assert stored["spec"]["persistentVolumeClaimRetentionPolicy"] == {
        "whenDeleted": "Retain", "whenScaled": "Retain"}
    assert stored["spec"]["podManagementPolicy"] == "OrderedReady"
    assert notes and "StatefulSet" in notes[0]
