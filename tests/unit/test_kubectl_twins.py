"""The kubectl lines Lab prints are commands that do what the kit did (issue 10 item 5).

And the tables ``pods()`` and ``rollout_history()`` print are kubectl's
(issue 11 item 6).
"""

from __future__ import annotations

import shlex
from pathlib import Path

import pytest

from releaselab import Lab
from releaselab._kubectl import (human_duration, old_pods_selector, pod_status,
                                 RevisionList)

REPO = Path(__file__).resolve().parents[2]


def _lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith("$ kubectl ")]


def test_every_line_names_the_kits_namespace_and_context(capsys, monkeypatch):
    monkeypatch.chdir(REPO / "solutions")
    lab = Lab()
    lab.apply("rolling/web.yaml")
    lab.wait_available("web")
    lab.pods({"app": "web"})
    lab.set_image("web", "releaselab/web:3.1")
    lab.wait_rollout("web")
    lab.wait_settled("web")
    lab.set_env("web", LATENCY_MS="10")
    lab.scale("web", 3)
    lab.rollout_history("web")
    lab.rollout_undo("web")
    lab.rollout_pause("web")
    lab.rollout_resume("web")
    lab.patch("Service", "web", {"spec": {"selector": {"app": "web"}}})
    lab.delete("Service", "web")
    lab.reset()
    lines = _lines(capsys.readouterr().out)
    assert len(lines) >= 15
    for line in lines:
        words = shlex.split(line[2:], comments=True)
        assert words[:5] == ["kubectl", "--context", "kind-releaselab", "-n", "releaselab"], line


def test_apply_is_server_side_and_names_a_file_that_exists_from_here(capsys, monkeypatch):
    monkeypatch.chdir(REPO / "labs")
    Lab().apply("rolling/web.yaml")
    (line,) = _lines(capsys.readouterr().out)
    words = shlex.split(line[2:])
    assert words[5:9] == ["apply", "--server-side", "--field-manager=releaselab",
                          "--force-conflicts"]
    path = words[words.index("-f") + 1]
    assert path == "../cluster/manifests/rolling/web.yaml"
    assert (Path.cwd() / path).resolve() == REPO / "cluster" / "manifests" / "rolling" / "web.yaml"


def test_apply_of_yaml_text_reads_stdin(capsys):
    text = (REPO / "cluster" / "manifests" / "rolling" / "web.yaml").read_text()
    Lab().apply(text)
    (line,) = _lines(capsys.readouterr().out)
    assert line.endswith(" -f -")


def _match(selector: str, labels: dict) -> bool:
    """A kubectl equality-based label selector (``a=b,c!=d``) against a pod's labels."""
    for term in selector.strip("'").split(","):
        if "!=" in term:
            key, value = term.split("!=")
            if labels.get(key) == value:
                return False
        else:
            key, value = term.split("=")
            if labels.get(key) != value:
                return False
    return True


def test_wait_settled_selects_only_the_old_pods(capsys):
    lab = Lab()
    lab.apply("rolling/web.yaml")
    lab.wait_available("web")
    old = {p["metadata"]["name"] for p in lab.backend.list("Pod")}
    lab.set_image("web", "releaselab/web:3.1")
    lab.wait_rollout("web")
    capsys.readouterr()
    pods = lab.backend.list("Pod")
    terminating = {p["metadata"]["name"] for p in pods if p["metadata"].get("deletionTimestamp")}
    assert terminating and terminating <= old      # the rollout's last old pods are going
    lab.wait_settled("web")
    (line,) = _lines(capsys.readouterr().out)
    words = shlex.split(line[2:])
    assert words[5:7] == ["wait", "--for=delete"] and words[7] == "pod"
    selector = words[words.index("-l") + 1]
    chosen = {p["metadata"]["name"] for p in pods if _match(selector, p["metadata"]["labels"])}
    assert chosen == {p["metadata"]["name"] for p in pods} & old
    assert not chosen & {p["metadata"]["name"] for p in pods if p["metadata"]["name"] not in old}
    assert "'" in line.split("-l", 1)[1].split()[0]    # quoted: `!` is special in bash


def test_old_pods_selector_picks_the_newest_revision_as_new():
    dep = {"spec": {"selector": {"matchLabels": {"app": "web"}}}}

    def rs(revision, template_hash):
        return {"metadata": {"annotations": {"deployment.kubernetes.io/revision": str(revision)},
                             "labels": {"app": "web", "pod-template-hash": template_hash}}}

    assert old_pods_selector(dep, [rs(1, "aaa"), rs(3, "ccc"), rs(2, "bbb")]) == \
        "'app=web,pod-template-hash!=ccc'"
    assert old_pods_selector(dep, []) == "'app=web'"


def test_a_route_patch_is_a_merge_patch_as_the_backend_sends_it(capsys):
    lab = Lab()
    lab.apply("canary/gateway.yaml")
    capsys.readouterr()
    route = lab.get("HTTPRoute", "web")
    lab.patch("HTTPRoute", "web", {"spec": {"rules": route["spec"]["rules"]}})
    lab.patch("Service", "web-stable", {"spec": {"selector": {"app": "web", "track": "stable"}}})
    route_line, service_line = _lines(capsys.readouterr().out)
    assert "patch httproute web --type=merge -p " in route_line
    assert "patch service web-stable -p " in service_line


@pytest.mark.parametrize("seconds, shown", [
    (0, "0s"), (-0.5, "0s"), (-3, "<invalid>"), (59.9, "59s"), (119, "119s"), (120, "2m"),
    (125, "2m5s"), (599, "9m59s"), (600, "10m"), (179 * 60 + 59, "179m"), (3 * 3600, "3h"),
    (3 * 3600 + 60, "3h1m"), (8 * 3600, "8h"), (47 * 3600, "47h"), (49 * 3600, "2d1h"),
    (8 * 86400, "8d"),
])
def test_age_column_is_apimachinerys_human_duration(seconds, shown):
    assert human_duration(seconds) == shown


def test_get_pods_prints_kubectls_columns(capsys):
    lab = Lab(echo=False, workers=1, node_cpu="200m")       # room for 4 pods of 50m
    lab.apply("rolling/web.yaml")
    lab.wait_available("web")
    lab.wait(125)
    lab.scale("web", 5)
    lab.wait(3)
    pods = lab.pods()
    text = repr(pods)
    header, *rows = text.splitlines()
    assert header.split() == ["NAME", "READY", "STATUS", "RESTARTS", "AGE"]
    # kubectl's tabwriter: each column is its widest cell plus 3 spaces.
    assert header.index("READY") == max(len(p["name"]) for p in pods) + 3
    assert header[header.index("READY"):].startswith("READY   STATUS    RESTARTS   AGE")
    assert sorted(r.split()[2] for r in rows) == ["Pending"] + ["Running"] * 4
    ages = {r.split()[0]: r.split()[-1] for r in rows}
    for pod in pods:       # AGE is the time since the pod was created, kubectl-style
        created = lab.timeline.pod(pod["name"]).created
        assert ages[pod["name"]] == human_duration(lab.now() - created)
    assert sorted(ages.values())[0].startswith("2m") and sorted(ages.values())[-1] in ("2s", "3s")
    assert {p["node"] for p in pods if p["status"] == "Pending"} == {None}
    assert repr(Lab(echo=False).pods()) == "No resources found in releaselab namespace."


def test_pod_status_follows_printpod():
    waiting = {"spec": {"nodeName": "n"}, "status": {"phase": "Pending", "containerStatuses": [
        {"state": {"waiting": {"reason": "ImagePullBackOff"}}}]}, "metadata": {}}
    assert pod_status(waiting) == "ImagePullBackOff"
    waiting["metadata"]["deletionTimestamp"] = "2026-01-01T00:00:00Z"
    assert pod_status(waiting) == "Terminating"
    unscheduled = {"spec": {}, "status": {"phase": "Pending", "containerStatuses": [
        {"state": {"waiting": {"reason": "ContainerCreating"}}}]}, "metadata": {}}
    assert pod_status(unscheduled) == "Pending"


def test_rollout_history_prints_kubectls_table(capsys):
    lab = Lab(echo=False)
    lab.apply("rolling/web.yaml")
    lab.wait_available("web")
    lab.set_image("web", "releaselab/web:3.1")
    lab.wait_rollout("web")
    history = lab.rollout_history("web")
    assert [row["revision"] for row in history] == [1, 2]
    assert [row["image"] for row in history] == ["releaselab/web:3.0", "releaselab/web:3.1"]
    assert repr(history) == ("deployment.apps/web\n"
                             "REVISION  CHANGE-CAUSE\n"
                             "1         <none>\n"
                             "2         <none>")
    caused = RevisionList("web", [{"revision": 12, "change_cause": "image 3.1"}])
    assert repr(caused).splitlines()[1:] == ["REVISION  CHANGE-CAUSE", "12        image 3.1"]


def test_on_kind_the_line_names_the_context_in_use(tmp_path, capsys, monkeypatch):
    pytest.importorskip("kmock")
    from kmockutil import Emulator, write_kubeconfig

    from releaselab.kube import make_backend

    monkeypatch.delenv("RELEASELAB_KUBE_CONTEXT", raising=False)
    emu = Emulator()
    try:
        cfg = write_kubeconfig(tmp_path / "kubeconfig", emu.url,
                               contexts=("kind-releaselab", "lab-laptop"))
        backend = make_backend(context="lab-laptop", kubeconfig=str(cfg), watch=False,
                               progress=None)
        lab = Lab(backend)
        lab.apply("rolling/web.yaml")
        lab.scale("web", 2)
        lines = _lines(capsys.readouterr().out)
        assert lines and all(line.startswith("$ kubectl --context lab-laptop -n releaselab ")
                             for line in lines)
        backend.close()
    finally:
        emu.stop()


def test_get_pods_wide_shows_the_node_or_none(capsys):
    lab = Lab(workers=1, node_cpu="200m")
    lab.apply("rolling/web.yaml")
    lab.wait_available("web")
    lab.scale("web", 5)                   # the fifth pod fits on no node
    lab.wait(3)
    capsys.readouterr()
    pods = lab.pods(wide=True)
    (line,) = _lines(capsys.readouterr().out)
    assert line.endswith(" get pods -o wide")
    header, *rows = repr(pods).splitlines()
    assert header.split("   ")[:1] == ["NAME"] and "NOMINATED NODE" in header
    assert [c.strip() for c in header.split("  ") if c.strip()][-4:] == [
        "IP", "NODE", "NOMINATED NODE", "READINESS GATES"]
    pending = [r for r in rows if " Pending " in r]
    assert len(pending) == 1 and pending[0].split()[-4:] == ["<none>"] * 4
    running = [r for r in rows if " Running " in r]
    assert all(r.split()[-2:] == ["<none>", "<none>"] and r.split()[-3] != "<none>"
               for r in running)
