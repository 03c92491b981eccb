"""Exec probes, named ports and Gateway backendRefs: the simulator as the kubelet,
the EndpointSlice controller and the Gateway API behave — never a silent pass.

The same exec commands against the real server are in test_app_server.py.
"""

from __future__ import annotations

import copy

import pytest

from releaselab import Lab
from releaselab.manifests import load
from releaselab.sim import execprobe
from releaselab.sim.app import READY_FILE

BASE = load("rolling/web.yaml")


def manifest(replicas=2, probe=None, env=None, ports=None, target_port=None, liveness=None,
             security=None, mounts=None) -> list:
    docs = copy.deepcopy(BASE)
    deployment, service = docs
    deployment["spec"]["replicas"] = replicas
    deployment["spec"]["progressDeadlineSeconds"] = 30
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    container["env"] = [{"name": k, "value": str(v)} for k, v in (env or {}).items()]
    if probe is not None:
        container["readinessProbe"] = {"periodSeconds": 1, **probe}
    if liveness is not None:
        container["livenessProbe"] = {"periodSeconds": 1, **liveness}
    if ports is not None:
        container["ports"] = ports
    if security is not None:
        container["securityContext"] = security
    if mounts is not None:
        container["volumeMounts"] = mounts
        deployment["spec"]["template"]["spec"]["volumes"] = [
            {"name": m["name"], "emptyDir": {}} for m in mounts]
    if target_port is not None:
        service["spec"]["ports"][0]["targetPort"] = target_port
    return docs


def run(docs, seconds=15.0, rps=0.0, seed=0):
    """Apply, let it run ``seconds``, then (with rps) send traffic for 5 s more."""
    lab = Lab(echo=False, seed=seed)
    lab.apply(docs)
    lab.wait(seconds)
    traffic = None
    if rps:
        with lab.traffic(rps=rps) as traffic:
            lab.wait(5)
    return lab, traffic


def ready_count(lab) -> int:
    return sum(1 for p in lab.pods() if p["ready"] == "1/1")


def unhealthy(lab) -> list[str]:
    return [e.message for e in lab.timeline.events if e.reason == "Unhealthy"]


def exec_probe(*command, timeout=1):
    return {"exec": {"command": list(command)}, "timeoutSeconds": timeout}


# -- exec probes on the simulator -----------------------------------------------------------------

def test_exec_false_never_gets_ready_and_the_rollout_stalls():
    lab, _ = run(manifest(probe=exec_probe("false")), seconds=40)
    assert ready_count(lab) == 0
    assert any(m == "Readiness probe failed: " for m in unhealthy(lab))
    assert lab.wait_rollout("web").status == "ProgressDeadlineExceeded"


def test_exec_cat_of_a_file_nobody_writes_never_passes():
    lab, _ = run(manifest(probe=exec_probe("cat", "/tmp/healthy")))
    assert ready_count(lab) == 0
    assert "Readiness probe failed: cat: /tmp/healthy: No such file or directory" in unhealthy(lab)
    assert lab.backend.pending_notes == []      # /tmp is known: nothing to assume, nothing to say
    assert "exec probe" not in " ".join(lab.backend.notes.seen)


@pytest.mark.parametrize("command", [("cat", READY_FILE), ("test", "-f", READY_FILE),
                                     ("[", "-e", READY_FILE, "]"),
                                     ("sh", "-c", f"test -f {READY_FILE} && cat {READY_FILE}"),
                                     ("/bin/sh", "-c", f"cat {READY_FILE} || exit 1")])
def test_exec_on_the_ready_file_passes_once_the_app_listens(command):
    lab = Lab(echo=False)
    lab.apply(manifest(replicas=1, probe=exec_probe(*command), env={"STARTUP_SECONDS": 4}))
    lab.wait(3.5)
    assert ready_count(lab) == 0            # the process runs, but the file is not there yet
    lab.wait(2.0)
    assert ready_count(lab) == 1
    assert "exec probe" not in " ".join(lab.backend.notes.seen)


def test_exec_ready_file_follows_never_ready_like_readyz():
    lab, _ = run(manifest(probe=exec_probe("cat", READY_FILE), env={"NEVER_READY": 1}))
    assert ready_count(lab) == 0


def test_exec_true_passes_before_the_app_listens_as_on_a_real_kubelet():
    # `true` tests nothing: the pod is Ready while the app still refuses connections.
    lab, traffic = run(manifest(replicas=1, probe=exec_probe("true"),
                                env={"STARTUP_SECONDS": 12}), seconds=3, rps=20)
    assert ready_count(lab) == 1
    assert traffic.summary().by_cause.get("refused", 0) > 0


def test_exec_sleep_against_timeout_seconds():
    slow, _ = run(manifest(replicas=1, probe=exec_probe("sleep", "2", timeout=1)))
    assert ready_count(slow) == 0
    assert 'Readiness probe failed: command "sleep 2" timed out' in unhealthy(slow)
    quick, _ = run(manifest(replicas=1, probe=exec_probe("sleep", "0.5", timeout=1)))
    at_once, _ = run(manifest(replicas=1, probe=exec_probe("true")))
    assert ready_count(quick) == 1
    # The result lands when the command ends: half a second after the same tick.
    assert quick.timeline.pods[0].ready - at_once.timeline.pods[0].ready == pytest.approx(0.5)


def test_exec_liveness_false_restarts_the_container():
    lab, _ = run(manifest(replicas=1, liveness=exec_probe("false")), seconds=30)
    assert lab.pods()[0]["restarts"] >= 1
    assert any("failed liveness probe" in e.message for e in lab.timeline.events)


def test_an_unmodelled_command_is_said_once_by_name_and_assumed(capsys):
    command = ["curl", "-fsS", "http://localhost:8080/readyz"]
    lab = Lab(echo=False)
    lab.apply(manifest(replicas=1, probe=exec_probe(*command), env={"STARTUP_SECONDS": 3}))
    (line,) = [ln for ln in capsys.readouterr().out.splitlines() if "exec probe" in ln]
    assert '["curl", "-fsS", "http://localhost:8080/readyz"]' in line and "cannot run" in line
    assert "assumes the command exits 0 while the app listens" in line
    lab.apply(manifest(replicas=2, probe=exec_probe(*command), env={"STARTUP_SECONDS": 3}))
    assert "exec probe" not in capsys.readouterr().out      # once per Lab
    lab.wait(2)
    assert ready_count(lab) == 0                # assumed: fails while the app does not listen
    lab.wait(5)
    assert ready_count(lab) == 2


def test_an_unknown_path_is_said_and_assumed_absent(capsys):
    lab = Lab(echo=False)
    lab.apply(manifest(replicas=1, probe=exec_probe("cat", "/etc/app/ready")))
    (note,) = [ln for ln in capsys.readouterr().out.splitlines() if "exec probe" in ln]
    assert "cannot tell whether /etc/app/ready exists" in note and "assumes it does not" in note
    lab.wait(10)
    assert ready_count(lab) == 0


@pytest.mark.parametrize("security,mounts,ready", [
    ({"readOnlyRootFilesystem": True}, None, 0),           # the manifests' setting: /tmp is not writable
    ({"readOnlyRootFilesystem": False}, None, 1),
    ({"readOnlyRootFilesystem": True}, [{"name": "tmp", "mountPath": "/tmp"}], 1),
])
def test_a_ready_file_outside_dev_shm_needs_a_writable_place(security, mounts, ready):
    lab, _ = run(manifest(replicas=1, probe=exec_probe("cat", "/tmp/ready"),
                          env={"READY_FILE": "/tmp/ready"}, security=security, mounts=mounts))
    assert ready_count(lab) == ready


@pytest.mark.parametrize("command,ready,listening,ok,message", [
    (["true"], False, False, True, ""),
    ([":"], False, False, True, ""),
    (["false"], True, True, False, ""),
    (["/bin/false"], True, True, False, ""),
    (["sleep", "0.2"], True, True, True, ""),
    (["sleep", "1s", "1"], True, True, False, 'command "sleep 1s 1" timed out'),
    (["sleep", "later"], True, True, False, "sleep: invalid time interval 'later'"),
    (["cat", READY_FILE], True, True, True, ""),
    (["cat", READY_FILE], False, True, False, f"cat: {READY_FILE}: No such file or directory"),
    (["cat", "/tmp"], True, True, False, "cat: /tmp: Is a directory"),
    (["test", "-d", "/dev/shm"], False, False, True, ""),
    (["test", "-f", "/app/server.py"], False, False, True, ""),
    (["test", "!", "-e", READY_FILE], False, True, True, ""),
    (["sh", "-c", "exit 3"], True, True, False, ""),
    (["bash", "-c", f"false || test -s {READY_FILE}; exit"], True, True, True, ""),
    (["sh", "-c", f"test -f {READY_FILE} && sleep 5"], True, True, False,
     f'command "sh -c test -f {READY_FILE} && sleep 5" timed out'),
])
def test_exec_command_table(command, ready, listening, ok, message):
    def files(path):
        kind = execprobe.path_kind(path, READY_FILE, ready)
        return None if kind == execprobe.UNKNOWN else kind

    result = execprobe.run(command, 1, files, listening)
    assert (result.ok, result.message.splitlines()[0] if result.message else "") == (ok, message)


@pytest.mark.parametrize("command", [["curl", "localhost"], ["sh", "-c", "curl x | grep ok"],
                                     ["sh", "-c", "echo $HOME"], ["sh", "-c", "cat a > b"],
                                     ["cat", "-n", READY_FILE], ["test", "-x", "/app"],
                                     ["[", "-f", READY_FILE], ["python", "-c", "1"], []])
def test_commands_outside_the_model_are_named_never_silently_passed(command):
    (note,) = execprobe.notes(command, READY_FILE, "releaselab/web:3.0")
    assert "the simulator cannot run the exec probe command" in note
    # What it assumes, it applies: exit 0 only while the app listens.
    assert execprobe.run(command, 1, lambda p: None, True).ok
    assert not execprobe.run(command, 1, lambda p: None, False).ok


# -- ports ------------------------------------------------------------------------------------------

def test_service_target_port_nothing_listens_on_is_refused_at_the_pod():
    lab, traffic = run(manifest(target_port=9090), rps=20, seconds=5)
    assert ready_count(lab) == 2                           # probes use port "http": fine
    requests = traffic.requests
    assert requests and all(q.error == "refused" and q.pod for q in requests)
    slice_ = lab.get("EndpointSlice", "web")
    assert len(slice_["endpoints"]) == 2 and slice_["ports"][0]["port"] == 9090


def test_service_named_target_port_without_a_matching_container_port_has_no_endpoints():
    lab, traffic = run(manifest(target_port="metrics"), rps=20, seconds=5)
    assert ready_count(lab) == 2
    assert lab.get("EndpointSlice", "web")["endpoints"] == []
    assert traffic.requests and all(q.error == "refused" and q.pod is None
                                    for q in traffic.requests)


def test_named_ports_resolve_for_service_and_probe_alike():
    docs = manifest(ports=[{"name": "web", "containerPort": 9090}], target_port="web",
                    env={"PORT": 9090},
                    probe={"httpGet": {"path": "/readyz", "port": "web"}})
    lab, traffic = run(docs, rps=20, seconds=5)
    assert ready_count(lab) == 2
    assert traffic.requests and all(q.status == 200 for q in traffic.requests)
    assert lab.get("EndpointSlice", "web")["ports"] == [{"name": "http", "port": 9090,
                                                          "protocol": "TCP"}]


def test_probe_port_name_no_container_port_has_errors_as_the_kubelet_says():
    lab, _ = run(manifest(probe={"httpGet": {"path": "/readyz", "port": "metrics"}}))
    assert ready_count(lab) == 0
    assert 'Readiness probe errored: strconv.Atoi: parsing "metrics": invalid syntax' \
        in unhealthy(lab)


@pytest.mark.parametrize("probe", [{"httpGet": {"path": "/readyz", "port": 9090}},
                                   {"tcpSocket": {"port": 9090}}])
def test_probe_on_a_port_nothing_listens_on_is_refused(probe):
    lab, _ = run(manifest(probe=probe))
    assert ready_count(lab) == 0
    assert any(m.startswith("Readiness probe failed: ") and ":9090: connect: connection refused"
               in m for m in unhealthy(lab))


def test_app_port_env_moves_what_listens():
    # PORT=9090 but the container port (and so the Service) still says 8080.
    lab, traffic = run(manifest(env={"PORT": 9090},
                                probe={"tcpSocket": {"port": 9090}}), rps=20, seconds=8)
    assert ready_count(lab) == 2
    assert traffic.requests and all(q.error == "refused" for q in traffic.requests)


# -- Gateway API --------------------------------------------------------------------------------------

def gateway_lab(weights: dict, seed: int = 0) -> Lab:
    docs = load("canary/gateway.yaml")
    route = docs[-1]
    route["spec"]["rules"][0]["backendRefs"] = [
        {"name": name, "port": 80, "weight": weight} for name, weight in weights.items()]
    lab = Lab(echo=False, seed=seed)
    lab.apply("canary/stable.yaml")
    lab.apply([d for d in docs if d["metadata"]["name"] not in ("web-canary",)
               or d["kind"] != "Service"])
    lab.wait_available("web-stable")
    return lab


def test_backend_ref_to_a_missing_service_answers_500_for_its_share():
    lab = gateway_lab({"web-stable": 1, "ghost": 1})
    with lab.traffic(rps=200, target="gateway/web") as traffic:
        lab.wait(10)
    statuses = [q.status for q in traffic.requests]
    assert set(statuses) == {200, 500}
    assert 0.4 < statuses.count(500) / len(statuses) < 0.6
    assert all(q.pod is None for q in traffic.requests if q.status == 500)


def test_only_a_missing_service_answers_500_for_everything_and_its_creation_heals_it():
    lab = gateway_lab({"ghost": 1})
    start = lab.now()
    with lab.traffic(rps=50, target="gateway/web") as traffic:
        lab.wait(2)
        ghost = copy.deepcopy(load("canary/gateway.yaml")[0])
        ghost["metadata"]["name"] = "ghost"
        lab.apply(ghost)                        # now the Service exists (web-stable's pods)
        lab.wait(3)
    early = [q for q in traffic.requests if q.t < start + 2]
    late = [q for q in traffic.requests if q.t > lab.now() - 1.5]
    assert early and all(q.status == 500 for q in early)
    assert late and all(q.status == 200 for q in late)


def test_all_weights_zero_stays_503():
    lab = gateway_lab({"web-stable": 0})
    with lab.traffic(rps=20, target="gateway/web") as traffic:
        lab.wait(3)
    assert traffic.requests and all(q.status == 503 and q.error == "no_endpoints"
                                    for q in traffic.requests)
