"""The book's figure rules, checked on the figures themselves: Okabe–Ito colours, failures and
bad builds marked by more than colour, event labels that neither overlap nor leave the axes,
and diagrams whose text stays inside the picture."""

import contextlib
import doctest
import io

import matplotlib

matplotlib.use("Agg")

import pytest  # noqa: E402

from releaselab import diagrams, plots  # noqa: E402
from releaselab.checks.canary import fresh_lab  # noqa: E402
from releaselab.strategies import Analysis, canary, steps_for  # noqa: E402


def test_doctests():
    result = doctest.testmod(plots)
    assert result.attempted >= 1 and result.failed == 0


def test_versions_take_okabe_ito_colours_and_a_bad_build_its_own():
    colors = plots.version_colors(["1.0", "1.1", "1.1-bad", "2.0-bad"])
    assert set(colors.values()) <= set(plots.OKABE_ITO.values())
    assert colors["1.0"] != colors["1.1"]
    assert colors["1.1-bad"] == colors["2.0-bad"] == plots.BAD_VERSION_COLOR
    assert plots.BAD_VERSION_COLOR not in plots.VERSION_COLORS
    assert plots.FAILURE_COLOR not in plots.VERSION_COLORS


@pytest.fixture(scope="module")
def bad_canary_figure():
    lab = fresh_lab("gateway")
    with contextlib.redirect_stdout(io.StringIO()):
        with lab.traffic(rps=100, target="gateway/web") as run:
            lab.wait(2)
            canary(lab, "releaselab/web:2.1-bad", steps=steps_for([5, 10], 10),
                   analysis=Analysis(interval_s=5, min_requests=50))
            lab.wait(5)
    fig = run.plot(title="bad canary")
    fig.canvas.draw()
    yield fig
    matplotlib.pyplot.close(fig)


def test_failures_and_the_bad_build_are_hatched(bad_canary_figure):
    ax_req = bad_canary_figure.axes[1]
    labels = {c.get_label(): c for c in ax_req.containers}
    failed = next(c for name, c in labels.items() if name.startswith("failed ("))
    assert failed.patches[0].get_hatch() == plots.FAILURE_HATCH
    assert labels["2.1-bad ok"].patches[0].get_hatch() == plots.BAD_VERSION_HATCH


def test_event_labels_neither_overlap_nor_leave_the_axes(bad_canary_figure):
    ax = bad_canary_figure.axes[0]
    renderer = bad_canary_figure.canvas.get_renderer()
    box = ax.get_window_extent(renderer)
    labels = [t.get_window_extent(renderer) for t in ax.texts]
    assert len(labels) >= 3                   # canary 2.1-bad, 5 %, rollback, ...
    for i, a in enumerate(labels):
        assert box.x0 - 1 <= a.x0 and a.x1 <= box.x1 + 1 and box.y0 <= a.y0 and a.y1 <= box.y1 + 1
        for b in labels[i + 1:]:
            assert not a.overlaps(b), "two event labels overlap"


@pytest.mark.parametrize("make", [lambda: diagrams.strategy_diagram("rolling"),
                                  lambda: diagrams.strategy_diagram("blue-green"),
                                  lambda: diagrams.strategy_diagram("canary"),
                                  diagrams.termination_diagram],
                         ids=["rolling", "blue-green", "canary", "termination"])
def test_diagram_text_stays_inside_the_figure(make):
    fig = make()
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    page = fig.bbox
    texts = [t for ax in fig.axes for t in ax.texts if t.get_text()] + list(fig.texts)
    assert len(texts) >= 8
    for t in texts:
        e = t.get_window_extent(renderer)
        assert page.x0 - 1 <= e.x0 and e.x1 <= page.x1 + 1, f"{t.get_text()!r} is clipped"
    matplotlib.pyplot.close(fig)


def test_unknown_strategy_is_refused():
    with pytest.raises(ValueError, match="rolling"):
        diagrams.strategy_diagram("recreate")
