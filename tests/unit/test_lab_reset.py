"""Lab.reset(): every object the kit applied deleted, and its pods gone, before a lab starts."""

from __future__ import annotations

from releaselab import Lab


def test_reset_mid_rollout_leaves_nothing_and_the_next_run_starts_fresh(capsys):
    lab = Lab(seed=1)
    lab.apply("rolling/web.yaml")
    lab.wait_available("web")
    lab.set_image("web", "releaselab/web:3.1")
    lab.wait(3)                                   # mid-rollout: old and new pods, surge
    assert len(lab.backend.list("ReplicaSet")) == 2
    capsys.readouterr()
    lab.reset()
    out = capsys.readouterr().out
    for kind in ("Deployment", "Service", "Pod", "ReplicaSet"):
        assert lab.backend.list(kind) == [], kind
    # The kubectl twins: delete by the kit's label, then wait for the pods by the selector.
    kit = "$ kubectl --context kind-releaselab -n releaselab "
    assert kit + "delete httproute,gateway,service,deployment " \
                 "-l app.kubernetes.io/managed-by=releaselab" in out
    assert kit + "wait --for=delete pod -l app=web --timeout=300s" in out
    # Applying again is a fresh Deployment (revision 1, one ReplicaSet), not a rollout.
    lab.apply("rolling/web.yaml")
    lab.wait_available("web")
    history = lab.rollout_history("web")
    assert [row["revision"] for row in history] == [1]
    assert history[0]["image"] == "releaselab/web:3.0"


def test_reset_deletes_what_a_reader_applied_without_the_label():
    lab = Lab(echo=False)
    lab.apply({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "mine"},
               "spec": {"selector": {"app": "mine"}, "ports": [{"port": 80}]}})
    lab.reset()
    assert lab.backend.list("Service") == []


def test_reset_on_an_empty_cluster_is_quick_and_quiet():
    lab = Lab(echo=False)
    before = lab.now()
    lab.reset()
    assert lab.now() == before


def test_lab_is_a_context_manager_that_closes():
    with Lab(echo=False) as lab:
        lab.apply("rolling/web.yaml")
        run = lab.traffic(rps=10)
        run.__enter__()
        assert lab.backend._traffic
    assert not lab.backend._traffic               # close() stopped the clients
