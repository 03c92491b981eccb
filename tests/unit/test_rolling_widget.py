"""explore_rolling's wiring: move a slider, the numbers shown are a direct simulation's."""

from __future__ import annotations

import base64
import re

import pytest

pytest.importorskip("ipywidgets")
matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")

import ipywidgets  # noqa: E402

from releaselab import Lab, manifests  # noqa: E402
from releaselab.errors import UsageError  # noqa: E402
from releaselab.widgets import explore_rolling  # noqa: E402


def direct(replicas=4, max_surge=1, max_unavailable=0, startup_seconds=2, min_ready_seconds=0):
    """The rollout the widget should show, simulated here without its helpers."""
    docs = manifests.load("rolling/web.yaml")
    spec = docs[0]["spec"]
    spec["replicas"] = replicas
    spec["minReadySeconds"] = min_ready_seconds
    spec["strategy"]["rollingUpdate"] = {"maxSurge": max_surge,
                                         "maxUnavailable": max_unavailable}
    for var in spec["template"]["spec"]["containers"][0]["env"]:
        if var["name"] == "STARTUP_SECONDS":
            var["value"] = str(startup_seconds)
    lab = Lab(echo=False, seed=0)
    lab.apply(docs)
    lab.wait_available("web")
    lab.wait(5)                    # the helpers' settle time before the rollout
    with lab.traffic(rps=50) as run:
        lab.set_image("web", "releaselab/web:3.1")
        result = lab.wait_rollout("web", timeout=3600)
        lab.wait_settled("web")
    return result, run.summary()


def shown(explorer) -> dict:
    """The numbers of the one summary line, parsed."""
    text = re.sub(r"<[^>]+>", "", explorer.numbers.value)
    m = re.fullmatch(r"rollout (?P<seconds>[\d.]+) s · (?P<waves>\d+) waves · min ready "
                     r"(?P<min_ready>\d+) of (?P<replicas>\d+) pods · peak (?P<peak>\d+) pods · "
                     r"(?P<failed>\d+) failed of (?P<sent>\d+) requests", text)
    assert m, text
    return {k: float(v) if k == "seconds" else int(v) for k, v in m.groupdict().items()}


def expected(result, summary, replicas) -> dict:
    return {"seconds": result.seconds, "waves": summary.waves, "min_ready": summary.min_ready,
            "replicas": replicas, "peak": summary.peak_pods, "failed": summary.failed,
            "sent": summary.sent}


@pytest.fixture(scope="module")
def explorer():
    return explore_rolling()


def test_it_is_a_widget_showing_every_control(explorer):
    assert isinstance(explorer, ipywidgets.Widget)
    for control in (*explorer.sliders, explorer.numbers, explorer.output):
        assert control in explorer.children
    labels = [s.description for s in explorer.sliders]
    assert labels == ["replicas", "maxSurge", "maxUnavailable", "seconds to ready",
                      "minReadySeconds"]
    assert [s.value for s in explorer.sliders] == [4, 1, 0, 2, 0]   # web.yaml's values


def test_the_plot_is_in_the_output_widget_as_a_png(explorer):
    # Set as the Output widget's outputs (no `with output:` capture, which can leave
    # nbclient waiting for the cell forever), so it is there outside a kernel too.
    (shown,) = explorer.output.outputs
    assert shown["output_type"] == "display_data"
    assert base64.b64decode(shown["data"]["image/png"]).startswith(b"\x89PNG")
    assert "4 replicas, maxSurge 1" in shown["data"]["text/plain"]


def test_initial_numbers_are_web_yaml_s_rollout(explorer):
    assert shown(explorer) == expected(*direct(), 4)
    assert explorer.rollout is not None and explorer.rollout.complete


def test_moving_sliders_re_simulates():
    explorer = explore_rolling()
    before = shown(explorer)
    explorer.replicas.value = 10
    after = shown(explorer)
    assert after != before
    assert after == expected(*direct(replicas=10), 10)
    assert after["waves"] == 10 and after["min_ready"] == 10

    explorer.max_unavailable.value = 3
    assert shown(explorer) == expected(*direct(replicas=10, max_unavailable=3), 10)
    assert shown(explorer)["min_ready"] == 7        # 3 of 10 may be missing

    explorer.startup_seconds.value = 5
    explorer.min_ready_seconds.value = 2
    assert shown(explorer) == expected(*direct(replicas=10, max_unavailable=3,
                                               startup_seconds=5, min_ready_seconds=2), 10)


def test_slower_starts_make_slower_rollouts():
    explorer = explore_rolling(replicas=4)
    fast = shown(explorer)["seconds"]
    explorer.startup_seconds.value = 6
    assert shown(explorer)["seconds"] > fast + 4 * 3      # 4 waves, each ≥ 4 s longer


def test_rejected_settings_show_the_api_servers_message():
    explorer = explore_rolling()
    explorer.max_surge.value = 0          # maxSurge 0 and maxUnavailable 0
    assert explorer.rollout is None
    assert "may not be 0 when `maxSurge` is 0" in explorer.numbers.value
    assert "color:#b00" in explorer.numbers.value
    explorer.max_unavailable.value = 1    # moves again once valid
    assert shown(explorer) == expected(*direct(max_surge=0, max_unavailable=1), 4)
    assert shown(explorer)["min_ready"] == 3


def test_defaults_can_be_given_and_are_checked():
    explorer = explore_rolling(replicas=6, max_surge=2, min_ready_seconds=2)
    assert shown(explorer) == expected(*direct(replicas=6, max_surge=2, min_ready_seconds=2), 6)
    with pytest.raises(UsageError, match="unknown option"):
        explore_rolling(surge=2)
    with pytest.raises(UsageError, match="replicas must be a whole number from 1 to 10"):
        explore_rolling(replicas=0)
