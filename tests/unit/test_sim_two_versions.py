"""The simulator's side of lab 05: data servers, migrations at start, users with cookies.

What a rolling update costs when two versions share one database and one set
of sessions — measured on the simulator, each number compared with what the
behaviour table says must happen (the real server's counterpart runs against
a real PostgreSQL and Redis in test_two_versions_real.py).
"""

import collections

import pytest

from releaselab import Lab, manifests
from releaselab import lab as lab_module
from releaselab.checks import two_versions as tv
from releaselab.errors import ManifestError, UsageError
from releaselab.sim.appstate import AppState, StateConfig
from releaselab.timeline import Order, Timeline
from releaselab.workload import Call, Response, Users


def sim(seed=1):
    return Lab("sim", seed=seed, echo=False)


def shop(seed=1, **deploy):
    """A simulated Lab with PostgreSQL, Redis and the shop (5.0) serving."""
    lab = sim(seed)
    tv.start_data(lab)
    tv.deploy(lab, **deploy)
    return lab


def measure(lab, seconds, **traffic):
    """A TrafficRun of ``seconds`` with ``traffic`` (users, workload) and nothing else done."""
    with lab.traffic(rps=20, **traffic) as run:
        lab.wait(seconds)
    return run


def ready(lab, name):
    return lab.get("StatefulSet", name)["status"]["readyReplicas"]


# --------------------------------------------------------------------------- data servers

def test_a_statefulset_of_postgres_is_one_modelled_server_said_once(capsys):
    lab = sim()
    lab.apply("data/postgres.yaml")
    out = capsys.readouterr().out
    assert out.count("does not model StatefulSet pods, probes and resources") == 1
    assert ready(lab, "postgres") == 0
    lab.wait(5)
    assert ready(lab, "postgres") == 1
    assert lab.get("PersistentVolumeClaim", "data-postgres-0")["status"]["phase"] == "Bound"
    lab.apply("data/redis.yaml")
    assert "does not model" not in capsys.readouterr().out      # once per Lab
    again = sim()                       # lab 05 builds a Lab per run: said once per session
    again.apply("data/postgres.yaml")
    assert "does not model" not in capsys.readouterr().out
    lab_module.NOTES_SAID.clear()       # a new session (a fresh kernel) is told again
    sim().apply("data/postgres.yaml")
    assert capsys.readouterr().out.count("does not model StatefulSet pods") == 1
    assert [s["metadata"]["name"] for s in lab.backend.list("StatefulSet")] == ["postgres",
                                                                              "redis"]


def test_data_survives_the_statefulset_but_not_its_claim():
    lab = shop()
    run = measure(lab, 5, users=5, workload="orders")
    assert run.orders and all(o.audit == "intact" for o in run.orders)
    lab.delete("StatefulSet", "postgres")
    down = measure(lab, 2, users=5, workload="orders")
    assert {q.cause for q in down.requests} == {"db_unavailable"}
    assert "could not reach its PostgreSQL" in repr(down.summary())
    lab.apply("data/postgres.yaml")
    lab.wait(6)
    back = measure(lab, 4, users=5, workload="orders")
    assert back.failed == 0 and max(o.id for o in back.orders) > max(o.id for o in run.orders)
    lab.delete("StatefulSet", "postgres")
    lab.delete("PersistentVolumeClaim", "data-postgres-0")
    lab.apply("data/postgres.yaml")
    lab.wait(6)
    empty = measure(lab, 2, users=5, workload="orders")
    # An empty database: no orders table until a pod runs MIGRATE=1 again.
    assert {q.cause for q in empty.requests if not q.ok} == {"schema"}


def test_a_claim_retention_policy_of_delete_takes_the_data_with_the_statefulset():
    lab = sim()
    docs = manifests.load("data/postgres.yaml")
    docs[1]["spec"]["persistentVolumeClaimRetentionPolicy"] = {"whenDeleted": "Delete"}
    lab.apply(docs)
    assert lab.get("PersistentVolumeClaim", "data-postgres-0")
    lab.delete("StatefulSet", "postgres")
    assert lab.backend.list("PersistentVolumeClaim") == []
    kept = sim()
    kept.apply("data/postgres.yaml")
    assert kept.get("StatefulSet", "postgres")["spec"][
        "persistentVolumeClaimRetentionPolicy"] == {"whenDeleted": "Retain",
                                                    "whenScaled": "Retain"}
    kept.delete("StatefulSet", "postgres")
    assert [c["metadata"]["name"] for c in kept.backend.list("PersistentVolumeClaim")] == [
        "data-postgres-0"]


def test_an_image_not_listed_never_becomes_ready_and_says_why():
    lab = sim()
    docs = manifests.load("data/postgres.yaml")
    docs[1]["spec"]["template"]["spec"]["containers"][0]["image"] = "postgres:9"
    lab.apply(docs)
    lab.wait(30)
    assert ready(lab, "postgres") == 0
    assert any(e.reason == "Failed" and "postgres:9" in e.message for e in lab.timeline.events)


def test_a_statefulset_is_checked_as_the_api_server_does():
    docs = manifests.load("data/postgres.yaml")
    docs[1]["spec"]["selector"]["matchLabels"] = {"app": "other"}
    with pytest.raises(ManifestError, match=r'StatefulSet.apps "postgres" is invalid: '
                                            r"spec.template.metadata.labels"):
        sim().apply(docs)
    docs = manifests.load("data/postgres.yaml")
    docs[1]["spec"]["volumeClaimTemplates"][0]["spec"]["accessModes"] = []
    with pytest.raises(ManifestError, match="accessModes"):
        sim().apply(docs)


@pytest.mark.parametrize("url,detail", [
    ("postgresql://shop:wrong@postgres:5432/shop", "password authentication failed"),
    ("postgresql://shop:shop@nowhere:5432/shop", 'could not translate host name "nowhere"'),
    ("postgresql://shop:shop@postgres:5433/shop", "Connection refused"),
    ("postgresql://shop:shop@postgres:5432/other", 'database "other" does not exist'),
])
def test_the_app_reaches_its_database_as_dns_and_postgres_allow(url, detail):
    lab = shop(env={"DATABASE_URL": url, "MIGRATE": 0})
    run = measure(lab, 2, users=2, workload="orders")
    assert {q.cause for q in run.requests} == {"db_unavailable"}
    # The answer's detail is what the real client library says.
    state = AppState(StateConfig(database_url=url), lab.backend.cluster.data, "p")
    assert detail in state.write("A B", "x")[1]["detail"]


def test_a_pod_that_cannot_migrate_crash_loops_until_the_database_is_up():
    lab = sim()
    lab.apply(tv.variant())                                  # the shop, no database yet
    lab.wait(20)
    assert {p["status"]["containerStatuses"][0]["state"].get("waiting", {}).get("reason")
            for p in lab.backend.list("Pod")} == {"CrashLoopBackOff"}
    assert any("MIGRATE=1: cannot reach the database" in e.message for e in lab.timeline.events)
    tv.start_data(lab, fresh=False)
    lab.wait_available("web", timeout=400)
    done = [(m.from_version, m.to_version, m.database) for m in lab.timeline.migrations]
    assert done == [(0, 1, "postgres")]                      # migrated once, by one pod


# --------------------------------------------------------------------------- schema changes

def test_the_naive_release_fails_old_pods_requests_and_loses_no_order():
    run, (result,) = tv.run_plan(sim(), ["5.1"])
    window = tv.schema_window(run)
    assert result.complete
    assert window["failed"] > 50 and set(window["versions"]) == {"5.0"}
    assert set(window["ops"]) == {"write", "read"}
    assert {q.cause for q in run.requests if not q.ok} == {"schema"}
    assert run.lost == 0 and len(run.orders) > 100
    # From the first new pod's migration until the last old pod stopped getting requests.
    migrated = next(m.t for m in run.lab.timeline.migrations if m.to_version == 4)
    assert migrated <= window["first"] < migrated + 1
    assert window["seconds"] == pytest.approx(result.seconds, abs=3)


def test_expand_migrate_contract_fails_nothing_and_loses_nothing():
    run, results = tv.run_plan(sim(), [("5.1-both", 2), ("5.1", 3), ("5.1", 4)])
    assert all(r.complete for r in results)
    assert run.failed == 0 and run.lost == 0
    assert len(run.orders) > 300 and all(o.audit == "intact" for o in run.orders)
    steps = [(m.from_version, m.to_version, m.version) for m in run.lab.timeline.migrations]
    assert steps == [(0, 1, "5.0"), (1, 2, "5.1-both"), (2, 3, "5.1"), (3, 4, "5.1")]
    assert list(run.lab.timeline.df("migrations").columns) == [
        "t", "pod", "version", "database", "from_version", "to_version"]


def test_a_backfill_while_old_code_still_writes_loses_its_later_orders():
    run, _ = tv.run_plan(sim(), [("5.1-both", 3), ("5.1", 4)])
    lost = [o for o in run.orders if o.lost]
    assert lost and {o.version for o in lost} == {"5.0"}
    assert all("no customer name" in o.why for o in lost)
    backfill = next(m.t for m in run.lab.timeline.migrations if m.to_version == 3)
    assert all(o.t > backfill for o in lost)          # written after the data was copied


def test_the_same_seed_gives_the_same_numbers_and_another_seed_others():
    def numbers(seed):
        run, _ = tv.run_plan(sim(seed), [("5.1-both", 3), ("5.1", 4)])
        return ([tuple(q) for q in run.requests], [(o.id, o.audit, o.why) for o in run.orders])

    first = numbers(3)
    assert numbers(3) == first
    assert numbers(4) != first


# --------------------------------------------------------------------------- sessions

def test_memory_sessions_without_affinity_log_users_out_even_without_a_release():
    run = measure(shop(), 10, users=20, workload="sessions")
    assert run.logged_out == 20 and len(run.logouts) > 50
    summary = repr(run.summary())
    assert "20 users logged out" in summary and "orders" not in summary


def test_sticky_memory_sessions_survive_until_the_rollout_replaces_their_pod():
    before = measure(shop(sticky=True), 10, users=20, workload="sessions")
    assert before.logged_out == 0
    run = tv.session_rollout(sim(), sticky=True)
    assert run.logged_out == 20 and run.failed == len(run.logouts)
    assert {q.cause for q in run.requests if not q.ok} == {"logged_out"}
    assert {x.version for x in run.logouts} <= {"5.0", "5.1"}


@pytest.mark.parametrize("env", [{"SESSION_STORE": tv.REDIS_URL},
                                 {"SESSION_STORE": "token", "SESSION_SECRET": "s3"}])
def test_a_shared_store_or_a_signed_token_logs_nobody_out(env):
    run = tv.session_rollout(sim(), env=env, sticky=False)
    assert run.logged_out == 0 and run.failed == 0 and run.sent > 400


def test_a_redis_outage_fails_only_the_session_requests():
    lab = shop(env={"SESSION_STORE": tv.REDIS_URL})
    with lab.traffic(rps=20, users=10, workload="shop") as run:
        lab.wait(4)
        lab.delete("StatefulSet", "redis")
        lab.wait(4)
    after = [q for q in run.requests if q.t > 5]
    assert {q.cause for q in after if not q.ok} == {"store_unavailable"}
    assert all(q.ok for q in after if q.op in ("write", "read"))


# --------------------------------------------------------------------------- the workload model

def test_users_take_turns_and_learn_from_answers():
    timeline = Timeline()
    users = Users(2, "shop", "web", timeline)
    calls = [users.next(0.0) for _ in range(2)]
    assert [(c.user, c.op) for c in calls] == [("u000", "login"), ("u001", "login")]
    users.record(calls[0], 0.0, Response(200, body={"user": "u000"}, cookie="tok"))
    me = users.next(1.0)
    assert (me.user, me.op, me.cookie) == ("u000", "me", "tok")
    again = users.next(1.0)
    assert (again.user, again.op) == ("u001", "login")      # it never got its cookie
    gone = users.record(me, 2.0, Response(401, body={"error": "unauthenticated"}, pod="p",
                                          version="5.0"))
    assert gone.cause == "logged_out" and not gone.ok and timeline.logouts[0].since == 0.0
    assert users.user("u000").cookie is None


def test_a_cut_login_or_order_is_taken_back():
    timeline = Timeline()
    users = Users(1, "orders", "web", timeline)
    write = users.next(0.0)
    users.record(write, 0.0, Response(201, body={"id": 7}, version="5.0"), index=0)
    assert [o.id for o in timeline.orders] == [7]
    users.cancel(0)
    assert timeline.orders == [] and users.to_audit() == []


@pytest.mark.parametrize("status,body,audit", [
    (200, {"customer": "Ada Lovelace", "item": "tea"}, "intact"),
    (200, {"customer": None, "item": "tea"}, "lost"),
    (404, {"error": "not_found"}, "lost"),
    (500, {"error": "schema", "detail": 'column "x" does not exist'}, "lost"),
    (503, {"error": "db_unavailable"}, "unverified"),
    (None, None, "unverified"),
])
def test_the_audit_judges_each_order(status, body, audit):
    order = Order(1.0, "web", "u000", 1, "Ada Lovelace", "tea", "5.0", "p")
    Users.judge(order, Response(status, None if status else "refused", body, version="5.1"))
    assert order.audit == audit and (order.why is None) == (audit == "intact")


@pytest.mark.parametrize("kwargs,words", [
    ({"users": -1}, "users=-1"), ({"users": 2.5}, "users=2.5"), ({"users": True}, "users=True"),
    ({"users": 3, "workload": "browse"}, "workload='browse'"),
])
def test_bad_user_traffic_arguments_are_refused_at_once(kwargs, words):
    with pytest.raises(UsageError, match=words):
        sim().traffic(rps=10, **kwargs)


def test_plain_traffic_summaries_are_unchanged_and_tables_have_frames():
    lab = shop()
    plain = measure(lab, 2)
    text = repr(plain.summary())
    assert "orders" not in text and "sessions" not in text
    run = measure(lab, 6, users=4, workload="shop")
    assert "orders" in repr(run.summary()) and "sessions" in repr(run.summary())
    orders = lab.timeline.df("orders")
    assert list(orders.columns)[:5] == ["t", "target", "user", "id", "customer"]
    assert len(orders) == len(run.orders) and set(orders.audit) == {"intact"}
    assert list(lab.timeline.df("logouts").columns) == ["t", "target", "user", "pod", "version",
                                                        "since"]
    ops = collections.Counter(q.op for q in run.requests)
    assert set(ops) == {"login", "me", "write", "read"}
    assert {q.op for q in plain.requests} == {None}
    assert isinstance(Call("u", "me", "GET", "/me"), Call)
