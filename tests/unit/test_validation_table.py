"""The API server's rules, row by row: what it rejects is rejected at apply with its words;
what it accepts is accepted and runs.

Every bad row names the upstream rule it comes from and asserts the error
class and the message's first words; nothing is stored after any of them.
Every good row is something Kubernetes accepts: it must apply, run 60 s and
leave every Deployment with a ReplicaSet.
"""

from __future__ import annotations

import copy

import pytest

from releaselab import Lab
from releaselab.errors import ContextRefusedError, ManifestError
from releaselab.manifests import load

WEB = load("rolling/web.yaml")
CANARY = load("canary/stable.yaml") + load("canary/canary.yaml") + load("canary/gateway.yaml")
BASE = {"D": WEB[0], "S": WEB[1], "G": CANARY[-2], "R": CANARY[-1]}
assert [BASE[k]["kind"] for k in "DSGR"] == ["Deployment", "Service", "Gateway", "HTTPRoute"]

C = "spec.template.spec.containers.0"
DEL = object()
DEC = 'Deployment in version "v1" cannot be handled as a Deployment: '
DINV = 'Deployment.apps "web" is invalid: '
SINV = 'Service "web" is invalid: '
RINV = 'HTTPRoute.gateway.networking.k8s.io "web" is invalid: '
UNMARSHAL = DEC + "json: cannot unmarshal "
LONG = "a" * 254


def mutate(doc: dict, changes: dict) -> dict:
    doc = copy.deepcopy(doc)
    for path, value in changes.items():
        node, parts = doc, path.split(".")
        for part in parts[:-1]:
            node = node[int(part)] if part.isdigit() else node.setdefault(part, {})
        last = parts[-1]
        if value is DEL:
            node.pop(int(last) if last.isdigit() else last, None)
        elif last.isdigit():
            node[int(last)] = value
        else:
            node[last] = value
    return doc


def two_containers(name="web"):
    c = copy.deepcopy(BASE["D"]["spec"]["template"]["spec"]["containers"][0])
    return [c, {**copy.deepcopy(c), "name": name}]


# (id, document, changes, error class, first words, upstream rule)
BAD = [
    # --- ObjectMeta ------------------------------------------------------------------------
    ("name-uppercase", "D", {"metadata.name": "Web"}, ManifestError,
     'Deployment.apps "Web" is invalid: metadata.name: Invalid value: "Web": a lowercase RFC 1123 '
     "subdomain must consist of", "ValidateObjectMeta / NameIsDNSSubdomain"),
    ("name-underscore", "D", {"metadata.name": "web_1"}, ManifestError,
     'Deployment.apps "web_1" is invalid: metadata.name: Invalid value: "web_1": a lowercase RFC',
     "NameIsDNSSubdomain"),
    ("name-254", "D", {"metadata.name": LONG}, ManifestError,
     f'Deployment.apps "{LONG}" is invalid: metadata.name: Invalid value: "{LONG}": must be no '
     "more than 253 characters", "IsDNS1123Subdomain (DNS1123SubdomainMaxLength)"),
    ("name-empty", "D", {"metadata.name": ""}, ManifestError,
     'Deployment.apps "" is invalid: metadata.name: Required value: name or generateName is '
     "required", "ValidateObjectMeta"),
    ("name-missing", "D", {"metadata.name": DEL}, ManifestError,
     'Deployment.apps "" is invalid: metadata.name: Required value', "ValidateObjectMeta"),
    ("name-leading-dash", "D", {"metadata.name": "-web"}, ManifestError,
     'Deployment.apps "-web" is invalid: metadata.name: Invalid value', "IsDNS1123Subdomain"),
    ("name-trailing-dot", "D", {"metadata.name": "web."}, ManifestError,
     'Deployment.apps "web." is invalid: metadata.name: Invalid value', "IsDNS1123Subdomain"),
    ("name-number", "D", {"metadata.name": 5}, ManifestError,
     UNMARSHAL + "number into Go struct field ObjectMeta.metadata.name of type string",
     "decoder (ObjectMeta.Name string)"),
    ("label-key-space", "D", {"metadata.labels.bad key!": "x"}, ManifestError,
     DINV + 'metadata.labels: Invalid value: "bad key!": name part must consist of',
     "ValidateLabels / IsQualifiedName"),
    ("label-value-space", "D", {"metadata.labels.tier": "has space"}, ManifestError,
     DINV + 'metadata.labels: Invalid value: "has space": a valid label must be an empty string',
     "ValidateLabels / IsValidLabelValue"),
    ("label-value-64", "D", {"metadata.labels.tier": "x" * 64}, ManifestError,
     DINV + f'metadata.labels: Invalid value: "{"x" * 64}": must be no more than 63 characters',
     "IsValidLabelValue (LabelValueMaxLength)"),
    ("label-key-empty-name", "D", {"metadata.labels": {"example.com/": "x"}}, ManifestError,
     DINV + '[metadata.labels: Invalid value: "example.com/": name part must be non-empty',
     "IsQualifiedName"),
    ("label-key-bad-prefix", "D", {"metadata.labels": {"Example_.com/x": "y"}}, ManifestError,
     DINV + 'metadata.labels: Invalid value: "Example_.com/x": prefix part a lowercase RFC 1123',
     "IsQualifiedName (prefix IsDNS1123Subdomain)"),
    ("label-key-two-slashes", "D", {"metadata.labels": {"a/b/c": "y"}}, ManifestError,
     DINV + 'metadata.labels: Invalid value: "a/b/c": a valid label key must consist',
     "IsQualifiedName"),
    ("label-value-bool", "D", {"metadata.labels.tier": True}, ManifestError,
     UNMARSHAL + "bool into Go struct field ObjectMeta.metadata.labels of type string",
     "decoder (map[string]string)"),
    ("annotations-300k", "D", {"metadata.annotations": {"big": "x" * 300_000}}, ManifestError,
     DINV + "metadata.annotations: Too long: must have at most 262144 bytes",
     "ValidateAnnotations (TotalAnnotationSizeLimitB)"),
    ("annotation-key-space", "D", {"metadata.annotations": {"bad key": "x"}}, ManifestError,
     DINV + 'metadata.annotations: Invalid value: "bad key": name part', "ValidateAnnotations"),
    ("annotation-number", "D", {"metadata.annotations": {"a": 5}}, ManifestError,
     UNMARSHAL + "number into Go struct field ObjectMeta.metadata.annotations of type string",
     "decoder"),
    ("metadata-string", "D", {"metadata": "web"}, ManifestError,
     UNMARSHAL + "string into Go struct field Deployment.metadata of type v1.ObjectMeta",
     "decoder"),
    ("metadata-unknown", "D", {"metadata.nmae": "x"}, ManifestError,
     DEC + 'strict decoding error: unknown field "metadata.nmae"', "strict field validation"),
    ("namespace-default", "D", {"metadata.namespace": "default"}, ContextRefusedError,
     "refusing to apply Deployment 'web' to namespace 'default': the kit only works in",
     "the kit's namespace rule (kube/_guard.py)"),
    ("namespace-kube-system", "D", {"metadata.namespace": "kube-system"}, ContextRefusedError,
     "refusing to apply Deployment 'web' to namespace 'kube-system'", "the kit's namespace rule"),
    # --- DeploymentSpec --------------------------------------------------------------------
    ("replicas-negative", "D", {"spec.replicas": -1}, ManifestError,
     DINV + "spec.replicas: Invalid value: -1: must be greater than or equal to 0",
     "ValidateDeploymentSpec / ValidateNonnegativeField"),
    ("replicas-string", "D", {"spec.replicas": "3"}, ManifestError,
     UNMARSHAL + "string into Go struct field DeploymentSpec.spec.replicas of type int32",
     "decoder (int32)"),
    ("replicas-fraction", "D", {"spec.replicas": 3.5}, ManifestError,
     UNMARSHAL + "number 3.5 into Go struct field DeploymentSpec.spec.replicas of type int32",
     "decoder (int32)"),
    ("replicas-bool", "D", {"spec.replicas": True}, ManifestError,
     UNMARSHAL + "bool into Go struct field DeploymentSpec.spec.replicas", "decoder (int32)"),
    ("replicas-overflow", "D", {"spec.replicas": 2**31}, ManifestError,
     UNMARSHAL + "number 2147483648 into Go struct field DeploymentSpec.spec.replicas",
     "decoder (int32 range)"),
    ("replicas-list", "D", {"spec.replicas": [1]}, ManifestError,
     UNMARSHAL + "array into Go struct field DeploymentSpec.spec.replicas", "decoder"),
    ("spec-typo", "D", {"spec.replica": 3}, ManifestError,
     DEC + 'strict decoding error: unknown field "spec.replica"', "strict field validation"),
    ("spec-string", "D", {"spec": "web"}, ManifestError,
     UNMARSHAL + "string into Go struct field Deployment.spec of type v1.DeploymentSpec",
     "decoder"),
    ("selector-missing", "D", {"spec.selector": DEL}, ManifestError,
     DINV + "spec.selector: Required value", "ValidateDeploymentSpec"),
    ("selector-empty", "D", {"spec.selector": {}}, ManifestError,
     DINV + "spec.selector: Invalid value: ", "ValidateDeploymentSpec (empty selector)"),
    ("selector-mismatch", "D", {"spec.selector.matchLabels": {"app": "api"}}, ManifestError,
     DINV + 'spec.template.metadata.labels: Invalid value: map[string]string{"app":"web", '
     '"app.kubernetes.io/managed-by":"releaselab"}: `selector` does not match template `labels`',
     "ValidatePodTemplateSpecForReplicaSet"),
    ("selector-operator", "D", {"spec.selector": {"matchExpressions": [
        {"key": "app", "operator": "Equals", "values": ["web"]}]}}, ManifestError,
     DINV + 'spec.selector.matchExpressions[0].operator: Unsupported value: "Equals"',
     "ValidateLabelSelectorRequirement"),
    ("selector-in-no-values", "D", {"spec.selector": {"matchExpressions": [
        {"key": "app", "operator": "In"}]}}, ManifestError,
     DINV + "[spec.selector.matchExpressions[0].values: Required value: must be specified when",
     "ValidateLabelSelectorRequirement"),
    ("selector-exists-values", "D", {"spec.selector": {"matchExpressions": [
        {"key": "app", "operator": "Exists", "values": ["web"]}]}}, ManifestError,
     DINV + "spec.selector.matchExpressions[0].values: Forbidden: may not be specified when",
     "ValidateLabelSelectorRequirement"),
    ("selector-bad-key", "D", {"spec.selector": {"matchExpressions": [
        {"key": "bad key", "operator": "Exists"}]}}, ManifestError,
     DINV + '[spec.selector.matchExpressions[0].key: Invalid value: "bad key"',
     "ValidateLabelSelectorRequirement / ValidateLabelName"),
    ("selector-notin-template", "D", {"spec.selector": {"matchExpressions": [
        {"key": "app", "operator": "NotIn", "values": ["web"]}]}}, ManifestError,
     DINV + "spec.template.metadata.labels: Invalid value: map[string]string{",
     "ValidatePodTemplateSpecForReplicaSet (selector.Matches)"),
    ("selector-doesnotexist-template", "D", {"spec.selector": {"matchExpressions": [
        {"key": "app", "operator": "DoesNotExist"}]}}, ManifestError,
     DINV + "spec.template.metadata.labels: Invalid value: ",
     "ValidatePodTemplateSpecForReplicaSet"),
    ("selector-bad-value", "D", {"spec.selector": {"matchExpressions": [
        {"key": "app", "operator": "In", "values": ["a b"]}]}}, ManifestError,
     DINV + '[spec.selector.matchExpressions[0].values[0]: Invalid value: "a b"',
     "ValidateLabelSelector (AllowInvalidLabelValueInSelector false)"),
    ("strategy-bluegreen", "D", {"spec.strategy.type": "BlueGreen"}, ManifestError,
     DINV + 'spec.strategy: Unsupported value: apps.DeploymentStrategy{Type:"BlueGreen"',
     "ValidateDeploymentStrategy"),
    ("recreate-with-rolling", "D", {"spec.strategy.type": "Recreate"}, ManifestError,
     DINV + "spec.strategy.rollingUpdate: Forbidden: may not be specified when strategy `type` "
     "is 'Recreate'", "ValidateDeploymentStrategy"),
    ("surge-and-unavailable-zero", "D", {"spec.strategy.rollingUpdate.maxSurge": 0}, ManifestError,
     DINV + "spec.strategy.rollingUpdate.maxUnavailable: Invalid value: 0: may not be 0 when "
     "`maxSurge` is 0", "ValidateRollingUpdateDeployment"),
    ("unavailable-150", "D", {"spec.strategy.rollingUpdate.maxUnavailable": "150%"}, ManifestError,
     DINV + 'spec.strategy.rollingUpdate.maxUnavailable: Invalid value: "150%": must not be '
     "greater than 100%", "IsNotMoreThan100Percent"),
    ("surge-words", "D", {"spec.strategy.rollingUpdate.maxSurge": "25 percent"}, ManifestError,
     DINV + 'spec.strategy.rollingUpdate.maxSurge: Invalid value: "25 percent": a valid percent '
     "string", "ValidatePositiveIntOrPercent / IsValidPercent"),
    ("surge-negative", "D", {"spec.strategy.rollingUpdate.maxSurge": -1}, ManifestError,
     DINV + "spec.strategy.rollingUpdate.maxSurge: Invalid value: -1: must be greater than or",
     "ValidatePositiveIntOrPercent"),
    ("surge-bool", "D", {"spec.strategy.rollingUpdate.maxSurge": True}, ManifestError,
     UNMARSHAL + "bool into Go struct field RollingUpdateDeployment.spec.strategy.rollingUpdate."
     "maxSurge of type int32", "intstr.IntOrString.UnmarshalJSON"),
    ("surge-fraction", "D", {"spec.strategy.rollingUpdate.maxSurge": 1.5}, ManifestError,
     UNMARSHAL + "number 1.5 into Go struct field RollingUpdateDeployment", "IntOrString"),
    ("min-ready-negative", "D", {"spec.minReadySeconds": -1}, ManifestError,
     DINV + "spec.minReadySeconds: Invalid value: -1: must be greater than or equal to 0",
     "ValidateDeploymentSpec"),
    ("history-negative", "D", {"spec.revisionHistoryLimit": -1}, ManifestError,
     DINV + "spec.revisionHistoryLimit: Invalid value: -1", "ValidateDeploymentSpec"),
    ("deadline-zero", "D", {"spec.progressDeadlineSeconds": 0}, ManifestError,
     DINV + "spec.progressDeadlineSeconds: Invalid value: 0: must be greater than minReadySeconds",
     "ValidateDeploymentSpec"),
    ("deadline-negative", "D", {"spec.progressDeadlineSeconds": -5}, ManifestError,
     DINV + "[spec.progressDeadlineSeconds: Invalid value: -5: must be greater than or equal to 0",
     "ValidateDeploymentSpec"),
    ("paused-string", "D", {"spec.paused": "yes"}, ManifestError,
     UNMARSHAL + "string into Go struct field DeploymentSpec.spec.paused of type bool", "decoder"),
    # --- Pod template ----------------------------------------------------------------------
    ("template-label-value", "D", {"spec.template.metadata.labels.tier": "a b"}, ManifestError,
     DINV + 'spec.template.metadata.labels: Invalid value: "a b"', "ValidatePodTemplateSpec"),
    ("containers-empty", "D", {"spec.template.spec.containers": []}, ManifestError,
     DINV + "spec.template.spec.containers: Required value", "validateContainers"),
    ("containers-missing", "D", {"spec.template.spec.containers": DEL}, ManifestError,
     DINV + "spec.template.spec.containers: Required value", "validateContainers"),
    ("containers-string", "D", {"spec.template.spec.containers": "web"}, ManifestError,
     UNMARSHAL + "string into Go struct field PodSpec.spec.template.spec.containers of type "
     "[]v1.Container", "decoder"),
    ("container-name-missing", "D", {f"{C}.name": DEL}, ManifestError,
     DINV + "spec.template.spec.containers[0].name: Required value", "validateContainers"),
    ("container-name-upper", "D", {f"{C}.name": "Web"}, ManifestError,
     DINV + 'spec.template.spec.containers[0].name: Invalid value: "Web": a lowercase RFC 1123 '
     "label", "validateContainers / IsDNS1123Label"),
    ("container-name-dots", "D", {f"{C}.name": "web.app"}, ManifestError,
     DINV + 'spec.template.spec.containers[0].name: Invalid value: "web.app": must not contain '
     "dots", "IsDNS1123Label"),
    ("container-name-64", "D", {f"{C}.name": "w" * 64}, ManifestError,
     DINV + f'spec.template.spec.containers[0].name: Invalid value: "{"w" * 64}": must be no more',
     "IsDNS1123Label"),
    ("container-name-duplicate", "D", {"spec.template.spec.containers": two_containers()},
     ManifestError, DINV + 'spec.template.spec.containers[1].name: Duplicate value: "web"',
     "validateContainers"),
    ("image-missing", "D", {f"{C}.image": DEL}, ManifestError,
     DINV + "spec.template.spec.containers[0].image: Required value", "validateContainers"),
    ("image-empty", "D", {f"{C}.image": ""}, ManifestError,
     DINV + "spec.template.spec.containers[0].image: Required value", "validateContainers"),
    ("image-number", "D", {f"{C}.image": 3.1}, ManifestError,
     UNMARSHAL + "number into Go struct field Container.spec.template.spec.containers.image of "
     "type string", "decoder"),
    ("image-whitespace", "D", {f"{C}.image": " releaselab/web:3.0"}, ManifestError,
     DINV + 'spec.template.spec.containers[0].image: Invalid value: " releaselab/web:3.0": must '
     "not have leading or trailing whitespace", "validateContainerCommon"),
    ("container-typo", "D", {f"{C}.imagePullPolice": "Always"}, ManifestError,
     DEC + 'strict decoding error: unknown field "spec.template.spec.containers[0].imagePullPolice"',
     "strict field validation"),
    ("container-tolerations", "D", {f"{C}.tolerations": []}, ManifestError,
     DEC + 'strict decoding error: unknown field "spec.template.spec.containers[0].tolerations"',
     "strict field validation"),
    ("env-no-name", "D", {f"{C}.env": [{"value": "1"}]}, ManifestError,
     DINV + "spec.template.spec.containers[0].env[0].name: Required value", "validateEnv"),
    ("env-value-number", "D", {f"{C}.env": [{"name": "A", "value": 3}]}, ManifestError,
     UNMARSHAL + "number into Go struct field EnvVar.spec.template.spec.containers.env.value of "
     "type string", "decoder"),
    ("env-string", "D", {f"{C}.env": "A=1"}, ManifestError,
     UNMARSHAL + "string into Go struct field Container.spec.template.spec.containers.env of type "
     "[]v1.EnvVar", "decoder"),
    ("env-name-equals", "D", {f"{C}.env": [{"name": "A=B", "value": "1"}]}, ManifestError,
     DINV + 'spec.template.spec.containers[0].env[0].name: Invalid value: "A=B": a valid '
     "environment variable name", "validateEnv / IsRelaxedEnvVarName"),
    ("env-value-and-from", "D", {f"{C}.env": [{"name": "A", "value": "1", "valueFrom": {
        "fieldRef": {"fieldPath": "metadata.name"}}}]}, ManifestError,
     DINV + 'spec.template.spec.containers[0].env[0].valueFrom: Invalid value: "": may not be '
     "specified when `value` is not empty", "validateEnvVarValueFrom"),
    ("env-from-empty", "D", {f"{C}.env": [{"name": "A", "valueFrom": {}}]}, ManifestError,
     DINV + 'spec.template.spec.containers[0].env[0].valueFrom: Invalid value: "": must specify '
     "one of", "validateEnvVarValueFrom"),
    ("env-fieldpath", "D", {f"{C}.env": [{"name": "A", "valueFrom": {
        "fieldRef": {"fieldPath": "metadata.foo"}}}]}, ManifestError,
     DINV + "spec.template.spec.containers[0].env[0].valueFrom.fieldRef.fieldPath: Unsupported "
     'value: "metadata.foo"', "validateObjectFieldSelector"),
    ("resources-string", "D", {f"{C}.resources": "small"}, ManifestError,
     UNMARSHAL + "string into Go struct field Container.spec.template.spec.containers.resources "
     "of type v1.ResourceRequirements", "decoder"),
    ("cpu-lots", "D", {f"{C}.resources.requests.cpu": "lots"}, ManifestError,
     DEC + "quantities must match the regular expression", "resource.ParseQuantity"),
    ("memory-12-MB", "D", {f"{C}.resources.requests.memory": "12 MB"}, ManifestError,
     DEC + "quantities must match the regular expression", "resource.ParseQuantity"),
    ("cpu-two-dots", "D", {f"{C}.resources.requests.cpu": "1.2.3"}, ManifestError,
     DEC + "unable to parse numeric part of quantity", "resource.ParseQuantity"),
    ("memory-bad-suffix", "D", {f"{C}.resources.requests.memory": "5ki"}, ManifestError,
     DEC + "unable to parse quantity's suffix", "resource.ParseQuantity"),
    ("cpu-bool", "D", {f"{C}.resources.requests.cpu": True}, ManifestError,
     DEC + "quantities must match the regular expression", "Quantity.UnmarshalJSON"),
    ("cpu-negative", "D", {f"{C}.resources.requests.cpu": "-1"}, ManifestError,
     DINV + 'spec.template.spec.containers[0].resources.requests[cpu]: Invalid value: "-1": must '
     "be greater than or equal to 0", "ValidateResourceQuantityValue"),
    ("request-over-limit", "D", {f"{C}.resources.requests.cpu": "2"}, ManifestError,
     DINV + 'spec.template.spec.containers[0].resources.requests[cpu]: Invalid value: "2": must be '
     "less than or equal to cpu limit of 200m", "ValidateResourceRequirements"),
    ("resource-unknown", "D", {f"{C}.resources.requests.gpu": "1"}, ManifestError,
     DINV + 'spec.template.spec.containers[0].resources.requests[gpu]: Invalid value: "gpu": must '
     "be a standard resource", "validateContainerResourceName"),
    ("probe-two-handlers", "D", {f"{C}.readinessProbe.tcpSocket": {"port": 8080}}, ManifestError,
     DINV + "spec.template.spec.containers[0].readinessProbe.tcpSocket: Forbidden: may not "
     "specify more than 1 handler type", "validateHandler"),
    ("probe-no-handler", "D", {f"{C}.readinessProbe": {"periodSeconds": 1}}, ManifestError,
     DINV + "spec.template.spec.containers[0].readinessProbe: Required value: must specify a "
     "handler type", "validateHandler"),
    ("probe-httpget-null", "D", {f"{C}.readinessProbe.httpGet": None}, ManifestError,
     DINV + "spec.template.spec.containers[0].readinessProbe: Required value: must specify a "
     "handler type", "validateHandler (null is unset)"),
    ("probe-port-zero", "D", {f"{C}.readinessProbe.httpGet.port": 0}, ManifestError,
     DINV + "spec.template.spec.containers[0].readinessProbe.httpGet.port: Invalid value: 0: must "
     "be between 1 and 65535, inclusive", "ValidatePortNumOrName"),
    ("probe-port-70000", "D", {f"{C}.readinessProbe.httpGet.port": 70000}, ManifestError,
     DINV + "spec.template.spec.containers[0].readinessProbe.httpGet.port: Invalid value: 70000",
     "ValidatePortNumOrName / IsValidPortNum"),
    ("probe-port-upper", "D", {f"{C}.readinessProbe.httpGet.port": "HTTP"}, ManifestError,
     DINV + '[spec.template.spec.containers[0].readinessProbe.httpGet.port: Invalid value: "HTTP": '
     "must contain only alpha-numeric characters", "IsValidPortName"),
    ("probe-port-long", "D", {f"{C}.readinessProbe.httpGet.port": "a-very-long-name"},
     ManifestError, DINV + "spec.template.spec.containers[0].readinessProbe.httpGet.port: "
     'Invalid value: "a-very-long-name": must be no more than 15 characters', "IsValidPortName"),
    ("probe-port-bool", "D", {f"{C}.readinessProbe.httpGet.port": True}, ManifestError,
     UNMARSHAL + "bool into Go struct field HTTPGetAction.spec.template.spec.containers."
     "readinessProbe.httpGet.port of type int32", "IntOrString"),
    ("probe-scheme", "D", {f"{C}.readinessProbe.httpGet.scheme": "FTP"}, ManifestError,
     DINV + 'spec.template.spec.containers[0].readinessProbe.httpGet.scheme: Unsupported value: '
     '"FTP": supported values: "HTTP", "HTTPS"', "validateHTTPGetAction"),
    ("probe-period-negative", "D", {f"{C}.readinessProbe.periodSeconds": -1}, ManifestError,
     DINV + "spec.template.spec.containers[0].readinessProbe.periodSeconds: Invalid value: -1: "
     "must be greater than or equal to 0", "validateProbe"),
    ("probe-period-string", "D", {f"{C}.readinessProbe.periodSeconds": "1"}, ManifestError,
     UNMARSHAL + "string into Go struct field Probe.spec.template.spec.containers.readinessProbe."
     "periodSeconds of type int32", "decoder"),
    ("liveness-success-2", "D", {f"{C}.livenessProbe": {"tcpSocket": {"port": 8080},
                                                       "successThreshold": 2}}, ManifestError,
     DINV + "spec.template.spec.containers[0].livenessProbe.successThreshold: Invalid value: 2: "
     "must be 1", "validateContainers (liveness successThreshold)"),
    ("probe-exec-empty", "D", {f"{C}.readinessProbe": {"exec": {"command": []}}}, ManifestError,
     DINV + "spec.template.spec.containers[0].readinessProbe.exec.command: Required value",
     "validateExecAction"),
    ("probe-exec-string", "D", {f"{C}.readinessProbe": {"exec": {"command": "true"}}},
     ManifestError, UNMARSHAL + "string into Go struct field ExecAction.spec.template.spec."
     "containers.readinessProbe.exec.command of type []string", "decoder"),
    ("lifecycle-string", "D", {f"{C}.lifecycle": "preStop"}, ManifestError,
     UNMARSHAL + "string into Go struct field Container.spec.template.spec.containers.lifecycle "
     "of type v1.Lifecycle", "decoder"),
    ("prestop-empty", "D", {f"{C}.lifecycle.preStop": {}}, ManifestError,
     DINV + "spec.template.spec.containers[0].lifecycle.preStop: Required value: must specify a "
     "handler type", "validateLifecycleHandler"),
    ("prestop-sleep-over-grace", "D", {f"{C}.lifecycle.preStop.sleep.seconds": 60}, ManifestError,
     DINV + "spec.template.spec.containers[0].lifecycle.preStop.sleep.seconds: Invalid value: 60: "
     "must be non-negative and less than terminationGracePeriodSeconds (30)",
     "validateSleepAction"),
    ("prestop-sleep-negative", "D", {f"{C}.lifecycle.preStop.sleep.seconds": -1}, ManifestError,
     DINV + "spec.template.spec.containers[0].lifecycle.preStop.sleep.seconds: Invalid value: -1",
     "validateSleepAction"),
    ("grace-string", "D", {"spec.template.spec.terminationGracePeriodSeconds": "thirty"},
     ManifestError, UNMARSHAL + "string into Go struct field PodSpec.spec.template.spec."
     "terminationGracePeriodSeconds of type int64", "decoder"),
    ("grace-fraction", "D", {"spec.template.spec.terminationGracePeriodSeconds": 1.5},
     ManifestError, UNMARSHAL + "number 1.5 into Go struct field PodSpec", "decoder"),
    ("port-zero", "D", {f"{C}.ports.0.containerPort": 0}, ManifestError,
     DINV + "spec.template.spec.containers[0].ports[0].containerPort: Required value",
     "validateContainerPorts"),
    ("port-70000", "D", {f"{C}.ports.0.containerPort": 70000}, ManifestError,
     DINV + "spec.template.spec.containers[0].ports[0].containerPort: Invalid value: 70000: must "
     "be between 1 and 65535, inclusive", "validateContainerPorts"),
    ("port-name-upper", "D", {f"{C}.ports.0.name": "HTTP"}, ManifestError,
     DINV + '[spec.template.spec.containers[0].ports[0].name: Invalid value: "HTTP"',
     "IsValidPortName"),
    ("port-name-duplicate", "D", {f"{C}.ports": [{"name": "http", "containerPort": 8080},
                                                 {"name": "http", "containerPort": 8081}]},
     ManifestError, DINV + 'spec.template.spec.containers[0].ports[1].name: Duplicate value: '
     '"http"', "validateContainerPorts"),
    ("port-name-double-dash", "D", {f"{C}.ports.0.name": "http--x"}, ManifestError,
     DINV + 'spec.template.spec.containers[0].ports[0].name: Invalid value: "http--x": must not '
     "contain consecutive hyphens", "IsValidPortName"),
    ("port-protocol", "D", {f"{C}.ports.0.protocol": "HTTP"}, ManifestError,
     DINV + 'spec.template.spec.containers[0].ports[0].protocol: Unsupported value: "HTTP": '
     'supported values: "SCTP", "TCP", "UDP"', "validateContainerPorts"),
    ("restart-never", "D", {"spec.template.spec.restartPolicy": "Never"}, ManifestError,
     DINV + 'spec.template.spec.restartPolicy: Unsupported value: "Never": supported values: '
     '"Always"', "ValidatePodTemplateSpecForReplicaSet"),
    ("active-deadline", "D", {"spec.template.spec.activeDeadlineSeconds": 10}, ManifestError,
     DINV + "spec.template.spec.activeDeadlineSeconds: Forbidden: activeDeadlineSeconds in "
     "ReplicaSet is not Supported", "ValidatePodTemplateSpecForReplicaSet"),
    ("replicas-nan", "D", {"spec.replicas": float("nan")}, ManifestError,
     "json: unsupported value: nan", "kubectl's JSON encoding (no NaN)"),
    # --- Service ---------------------------------------------------------------------------
    ("svc-name-upper", "S", {"metadata.name": "Web"}, ManifestError,
     'Service "Web" is invalid: metadata.name: Invalid value: "Web": a DNS-1035 label must',
     "ValidateService / NameIsDNS1035Label"),
    ("svc-name-digit", "S", {"metadata.name": "1web"}, ManifestError,
     'Service "1web" is invalid: metadata.name: Invalid value: "1web": a DNS-1035 label',
     "NameIsDNS1035Label"),
    ("svc-type", "S", {"spec.type": "Ingress"}, ManifestError,
     SINV + 'spec.type: Unsupported value: "Ingress": supported values: "ClusterIP", '
     '"ExternalName", "LoadBalancer", "NodePort"', "ValidateService"),
    ("svc-no-ports", "S", {"spec.ports": []}, ManifestError, SINV + "spec.ports: Required value",
     "ValidateService"),
    ("svc-port-zero", "S", {"spec.ports.0.port": 0}, ManifestError,
     SINV + "spec.ports[0].port: Invalid value: 0: must be between 1 and 65535, inclusive",
     "validateServicePort"),
    ("svc-port-70000", "S", {"spec.ports.0.port": 70000}, ManifestError,
     SINV + "spec.ports[0].port: Invalid value: 70000", "validateServicePort"),
    ("svc-port-string", "S", {"spec.ports.0.port": "80"}, ManifestError,
     'Service in version "v1" cannot be handled as a Service: json: cannot unmarshal string into '
     "Go struct field ServicePort.spec.ports.port of type int32", "decoder"),
    ("svc-targetport-70000", "S", {"spec.ports.0.targetPort": 70000}, ManifestError,
     SINV + "spec.ports[0].targetPort: Invalid value: 70000", "ValidatePortNumOrName"),
    ("svc-targetport-name", "S", {"spec.ports.0.targetPort": "HTTP_PORT"}, ManifestError,
     SINV + '[spec.ports[0].targetPort: Invalid value: "HTTP_PORT": must', "IsValidPortName"),
    ("svc-nodeport-range", "S", {"spec.ports.0.nodePort": 80}, ManifestError,
     SINV + "spec.ports[0].nodePort: Invalid value: 80: provided port is not in the valid range",
     "portallocator (--service-node-port-range)"),
    ("svc-clusterip-nodeport", "S", {"spec.type": "ClusterIP"}, ManifestError,
     SINV + "spec.ports[0].nodePort: Forbidden: may not be used when `type` is 'ClusterIP'",
     "ValidateService"),
    ("svc-unnamed-ports", "S", {"spec.ports": [{"port": 80}, {"port": 81}]}, ManifestError,
     SINV + "[spec.ports[0].name: Required value", "validateServicePort (name if several)"),
    ("svc-externalname-missing", "S", {"spec.type": "ExternalName", "spec.ports.0.nodePort": DEL},
     ManifestError, SINV + "spec.externalName: Required value", "ValidateService (ExternalName)"),
    ("svc-selector-value", "S", {"spec.selector.app": "a b"}, ManifestError,
     SINV + 'spec.selector: Invalid value: "a b"', "ValidateService / ValidateLabels"),
    ("svc-namespace", "S", {"metadata.namespace": "default"}, ContextRefusedError,
     "refusing to apply Service 'web' to namespace 'default'", "the kit's namespace rule"),
    ("svc-protocol", "S", {"spec.ports.0.protocol": "HTTP"}, ManifestError,
     SINV + 'spec.ports[0].protocol: Unsupported value: "HTTP"', "validateServicePort"),
    # --- Gateway API (CRD schemas) ---------------------------------------------------------
    ("route-weight-negative", "R", {"spec.rules.0.backendRefs.0.weight": -1}, ManifestError,
     RINV + "spec.rules[0].backendRefs[0].weight: Invalid value: -1: spec.rules[0].backendRefs[0]"
     ".weight in body should be greater than or equal to 0", "HTTPRoute CRD (minimum 0)"),
    ("route-weight-huge", "R", {"spec.rules.0.backendRefs.0.weight": 2_000_000}, ManifestError,
     RINV + "spec.rules[0].backendRefs[0].weight: Invalid value: 2000000: spec.rules[0]."
     "backendRefs[0].weight in body should be less than or equal to 1000000",
     "HTTPRoute CRD (maximum 1000000)"),
    ("route-weight-string", "R", {"spec.rules.0.backendRefs.0.weight": "50"}, ManifestError,
     RINV + 'spec.rules[0].backendRefs[0].weight: Invalid value: "string": spec.rules[0].'
     "backendRefs[0].weight in body must be of type integer", "HTTPRoute CRD (type)"),
    ("route-backend-no-name", "R", {"spec.rules.0.backendRefs.0.name": DEL}, ManifestError,
     RINV + "spec.rules[0].backendRefs[0].name: Required value", "HTTPRoute CRD (required)"),
    ("route-parent-name-number", "R", {"spec.parentRefs": [{"name": 5}]}, ManifestError,
     RINV + 'spec.parentRefs[0].name: Invalid value: "number"', "HTTPRoute CRD (type)"),
    ("route-unknown", "R", {"spec.foo": 1}, ManifestError,
     'HTTPRoute in version "v1" cannot be handled as a HTTPRoute: strict decoding error: '
     'unknown field "spec.foo"', "strict field validation (CRD)"),
    ("route-name-upper", "R", {"metadata.name": "Web"}, ManifestError,
     'HTTPRoute.gateway.networking.k8s.io "Web" is invalid: metadata.name: Invalid value: "Web"',
     "ValidateObjectMeta (CRD names are DNS subdomains)"),
    ("gateway-no-listeners", "G", {"spec.listeners": DEL}, ManifestError,
     'Gateway.gateway.networking.k8s.io "web" is invalid: spec.listeners: Required value',
     "Gateway CRD (required)"),
    ("gateway-port-zero", "G", {"spec.listeners.0.port": 0}, ManifestError,
     'Gateway.gateway.networking.k8s.io "web" is invalid: spec.listeners[0].port: Invalid value: '
     "0: spec.listeners[0].port in body should be greater than or equal to 1",
     "Gateway CRD (port minimum 1)"),
]

BOMB = "a: &a [" + ",".join(['"lol"'] * 9) + "]\n" + "".join(
    f"{n}: &{n} [" + ",".join([f"*{p}"] * 9) + "]\n" for p, n in zip("abcdefgh", "bcdefghi"))
TEXT_BAD = [
    ("yaml-alias-bomb", "apiVersion: v1\nkind: Service\n" + BOMB, ManifestError,
     "the YAML text: the document from line 1 expands to more than 3145728 bytes",
     "apiserver MaxRequestBodyBytes (3 MiB)"),
    ("yaml-duplicate-key", "apiVersion: v1\nkind: Service\nkind: Service\n", ManifestError,
     'the YAML text: yaml: unmarshal errors: line 3: mapping key "kind" already defined at line 2',
     "kubectl's YAML decoder (duplicate keys)"),
    ("yaml-broken", "apiVersion: v1\nkind: [Service\n", ManifestError,
     "the YAML text is not valid YAML at line", "YAML syntax"),
    ("yaml-empty-string", "", ManifestError, "no objects passed to apply", "kubectl apply"),
    ("yaml-only-separator", "---\n", ManifestError, "no objects passed to apply", "kubectl apply"),
    ("empty-list", [], ManifestError, "no objects passed to apply", "kubectl apply"),
    ("yaml-list-document", "- a\n- b\n", ManifestError,
     "a manifest document must be a mapping with apiVersion and kind", "kubectl (object shape)"),
    ("kind-pod", {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}}, ManifestError,
     "cannot apply v1 Pod: releaselab labs use", "the kit's kinds"),
    ("yaml-nan", "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\n"
     "spec: {replicas: .nan}\n", ManifestError, "json: unsupported value: nan",
     "kubectl's YAML-to-JSON (no NaN)"),
]


def test_the_table_is_big_enough():
    assert len(BAD) + len(TEXT_BAD) >= 100
    assert len(GOOD) >= 30


@pytest.fixture(scope="module")
def lab():
    return Lab(echo=False)


@pytest.mark.parametrize("key, changes, error, first_words, rule", [r[1:] for r in BAD],
                         ids=[r[0] for r in BAD])
def test_bad_manifest_is_refused_with_the_api_servers_words(lab, key, changes, error,
                                                            first_words, rule):
    doc = mutate(BASE[key], changes)
    with pytest.raises(error) as err:
        lab.apply(doc)
    message = str(err.value)
    assert message.startswith(first_words), f"{rule}: {message[:300]}"
    assert "\n" not in message
    assert not any(lab.backend.list(kind) for kind in ("Deployment", "Service", "HTTPRoute"))


@pytest.mark.parametrize("source, error, first_words, rule", [r[1:] for r in TEXT_BAD],
                         ids=[r[0] for r in TEXT_BAD])
def test_bad_input_is_refused(lab, source, error, first_words, rule):
    with pytest.raises(error) as err:
        lab.apply(source)
    assert str(err.value).startswith(first_words), f"{rule}: {err.value}"
    assert "\n" not in str(err.value)


def test_a_list_is_all_or_nothing_against_the_cluster_state():
    """The third document changes an immutable selector: the first two stay unapplied."""
    lab = Lab(echo=False)
    lab.apply("rolling/web.yaml")
    changed = mutate(BASE["D"], {"spec.selector.matchLabels": {"app": "web", "tier": "x"},
                                 "spec.template.metadata.labels.tier": "x"})
    svc = mutate(BASE["S"], {"metadata.name": "other"})
    other = mutate(BASE["D"], {"metadata.name": "other"})
    with pytest.raises(ManifestError, match=r'^Deployment.apps "web" is invalid: spec.selector: '
                                            r"Invalid value: v1.LabelSelector\{.*field is immutable"):
        lab.apply([svc, other, changed])
    assert [d["metadata"]["name"] for d in lab.backend.list("Deployment")] == ["web"]
    assert [s["metadata"]["name"] for s in lab.backend.list("Service")] == ["web"]


# --- what Kubernetes accepts -----------------------------------------------------------------
GOOD = [
    ("selector-in", {"spec.selector": {"matchExpressions": [
        {"key": "app", "operator": "In", "values": ["web", "api"]}]}}, None),
    ("selector-exists", {"spec.selector": {"matchExpressions": [
        {"key": "app", "operator": "Exists"}]}}, None),
    ("selector-notin-and-labels", {"spec.selector": {"matchLabels": {"app": "web"},
                                                     "matchExpressions": [
        {"key": "app", "operator": "NotIn", "values": ["api"]}]}}, None),
    ("selector-doesnotexist", {"spec.selector": {"matchExpressions": [
        {"key": "app", "operator": "In", "values": ["web"]},
        {"key": "track", "operator": "DoesNotExist"}]}}, None),
    ("memory-1Ti", {f"{C}.resources.limits.memory": "2Ti",
                    f"{C}.resources.requests.memory": "1Ti"}, None),
    ("memory-129e6", {f"{C}.resources.limits.memory": DEL,
                      f"{C}.resources.requests.memory": "129e6"}, None),
    ("cpu-1.5", {f"{C}.resources.limits.cpu": "2", f"{C}.resources.requests.cpu": "1.5"}, None),
    ("cpu-100m", {f"{C}.resources.requests.cpu": "100m"}, None),
    ("cpu-number", {f"{C}.resources.limits.cpu": 1, f"{C}.resources.requests.cpu": 0.5}, None),
    ("memory-512Mi", {f"{C}.resources.limits.memory": "512Mi",
                      f"{C}.resources.requests.memory": "512Mi"}, None),
    ("memory-1G", {f"{C}.resources.limits.memory": "1G",
                   f"{C}.resources.requests.memory": "1G"}, None),
    ("cpu-plus-sign", {f"{C}.resources.requests.cpu": "+100m"}, None),
    ("memory-1e3", {f"{C}.resources.requests.memory": "1e3"}, None),
    ("cpu-leading-dot", {f"{C}.resources.requests.cpu": ".1"}, None),
    ("svc-externalname", None, {"spec.type": "ExternalName", "spec.externalName": "example.com",
                                "spec.ports.0.nodePort": DEL}),
    ("svc-loadbalancer", None, {"spec.type": "LoadBalancer"}),
    ("svc-targetport-number", None, {"spec.ports.0.targetPort": 8080}),
    ("svc-targetport-default", None, {"spec.ports.0.targetPort": DEL}),
    ("replicas-zero", {"spec.replicas": 0}, None),
    ("replicas-whole-float", {"spec.replicas": 3.0}, None),
    ("period-zero-defaults", {f"{C}.readinessProbe.periodSeconds": 0}, None),
    ("surge-100-percent", {"spec.strategy.rollingUpdate": {"maxSurge": "100%",
                                                          "maxUnavailable": 0}}, None),
    ("unavailable-100-percent", {"spec.strategy.rollingUpdate": {"maxSurge": 0,
                                                                "maxUnavailable": "100%"}}, None),
    ("recreate", {"spec.strategy": {"type": "Recreate"}}, None),
    ("grace-negative", {"spec.template.spec.terminationGracePeriodSeconds": -5,
                        f"{C}.lifecycle": DEL}, None),
    ("prestop-sleep-zero", {f"{C}.lifecycle.preStop.sleep.seconds": 0}, None),
    ("label-value-empty", {"metadata.labels.tier": ""}, None),
    ("label-prefixed-key", {"metadata.labels": {"example.com/tier": "a_b.c-d", "app": "web"}},
     None),
    ("container-name-63", {f"{C}.name": "w" * 63}, None),
    ("deployment-name-60", {"metadata.name": "w" * 60}, None),
    ("env-empty-value", {f"{C}.env.1.value": ""}, None),
    ("env-label-fieldref", {f"{C}.env": [{"name": "APP", "valueFrom": {
        "fieldRef": {"fieldPath": "metadata.labels['app']"}}}]}, None),
    ("probe-tcp-named", {f"{C}.readinessProbe": {"tcpSocket": {"port": "http"}}}, None),
    ("annotations-200k", {"metadata.annotations": {"note": "x" * 200_000}}, None),
    ("httpget-no-path", {f"{C}.readinessProbe.httpGet.path": DEL}, None),
    ("grace-null-defaults", {"spec.template.spec.terminationGracePeriodSeconds": None}, None),
    ("probe-null-handler-other", {f"{C}.readinessProbe.httpGet": None,
                                  f"{C}.readinessProbe.tcpSocket": {"port": 8080}}, None),
    ("port-name-15", None, {"spec.ports.0.name": "a" * 15}),
    ("affinity-noted", {"spec.template.spec.affinity": {}}, None),
]


@pytest.mark.parametrize("deployment, service", [g[1:] for g in GOOD], ids=[g[0] for g in GOOD])
def test_what_kubernetes_accepts_is_accepted_and_runs(deployment, service):
    lab = Lab(echo=False)
    docs = [mutate(BASE["D"], deployment or {}), mutate(BASE["S"], service or {})]
    lab.apply(docs)
    lab.wait(60)
    for d in lab.backend.list("Deployment"):
        owned = [rs for rs in lab.backend.list("ReplicaSet")
                 if rs["metadata"]["ownerReferences"][0]["name"] == d["metadata"]["name"]]
        assert owned, f"Deployment {d['metadata']['name']} has no ReplicaSet"


def test_negative_grace_is_warned_and_runs_as_one_second(capsys):
    lab = Lab(echo=False)
    doc = mutate(BASE["D"], {"spec.template.spec.terminationGracePeriodSeconds": -5,
                             f"{C}.lifecycle": DEL})
    lab.apply(doc)
    assert ("Warning: spec.template.spec.terminationGracePeriodSeconds: must be >= 0; negative "
            "values are invalid and will be treated as 1") in capsys.readouterr().out
    lab.wait(1)
    rs = lab.backend.list("ReplicaSet")[0]
    assert rs["spec"]["template"]["spec"]["terminationGracePeriodSeconds"] == 1


def test_externalname_is_said_once_by_name(capsys):
    lab = Lab()
    svc = mutate(BASE["S"], {"spec.type": "ExternalName", "spec.externalName": "example.com",
                             "spec.ports.0.nodePort": DEL})
    lab.apply(svc)
    lab.apply(svc)
    assert capsys.readouterr().out.count('Service "web" of type ExternalName') == 1


def test_gateway_api_edge_weights_are_accepted():
    lab = Lab(echo=False)
    route = mutate(BASE["R"], {"spec.rules.0.backendRefs.0.weight": 0,
                               "spec.rules.0.backendRefs.1.weight": 1_000_000})
    lab.apply(CANARY[:-1] + [route])
    lab.wait(30)
    assert lab.get("HTTPRoute", "web")["spec"]["rules"][0]["backendRefs"][1]["weight"] == 1_000_000
