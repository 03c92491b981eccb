"""Pictures of a Timeline.  They read records; they hold no simulation logic.

``plot_timeline`` draws what a reader would otherwise have to imagine: on
top, the pods of each version stacked by state (ready, starting, pending,
terminating) over time; below, requests per second by the version that
answered, with failed requests stacked on top; rollout start/end and every
mark as vertical lines on both, labelled once at the top.

Every reader must be able to read them (the book's figure rules):

- colours from the Okabe–Ito palette, which stays distinct under the common
  colour-vision deficiencies (Okabe & Ito, "Color Universal Design", 2008);
- nothing told by colour alone: pod states by hatching and shade, failed
  requests by a cross-hatch *and* their own legend entry with a count, a bad
  build (a version tagged ``-bad``) by its own colour *and* a hatch;
- labels that neither overlap nor leave the axes (``place_labels``).
"""

from __future__ import annotations

from typing import Optional

from .timeline import Timeline

#: Okabe–Ito: blue, bluish green, orange, sky blue, yellow, black.  Vermillion
#: is kept for failures and reddish purple for bad builds, so neither is ever a
#: good version's colour.
OKABE_ITO = {"orange": "#E69F00", "sky blue": "#56B4E9", "bluish green": "#009E73",
             "yellow": "#F0E442", "blue": "#0072B2", "vermillion": "#D55E00",
             "reddish purple": "#CC79A7", "black": "#000000"}
VERSION_COLORS = [OKABE_ITO[c] for c in ("blue", "bluish green", "orange", "sky blue",
                                         "yellow", "black")]
BAD_VERSION_COLOR = OKABE_ITO["reddish purple"]
FAILURE_COLOR = OKABE_ITO["vermillion"]
FAILURE_HATCH = "xxx"
BAD_VERSION_HATCH = "\\\\\\\\"

STATE_STYLE = {           # state -> (alpha, hatch)
    "Ready": (0.95, None),
    "Starting": (0.45, None),
    "Pending": (0.25, "..."),
    "Terminating": (0.30, "///"),
}


def is_bad(version) -> bool:
    """The kit's broken builds are tagged ``-bad`` (``2.1-bad`` answers 30 % with 500)."""
    return isinstance(version, str) and version.endswith("-bad")


def version_colors(versions) -> dict:
    """A colour per version: good ones in palette order, every bad build reddish purple.

    >>> version_colors(["2.1", "2.0", "2.1-bad", None])
    {'2.0': '#0072B2', '2.1': '#009E73', '2.1-bad': '#CC79A7'}
    """
    ordered = sorted({v for v in versions if v is not None}, key=str)
    colors, i = {}, 0
    for v in ordered:
        if is_bad(v):
            colors[v] = BAD_VERSION_COLOR
        else:
            colors[v] = VERSION_COLORS[i % len(VERSION_COLORS)]
            i += 1
    return colors


def _grid(start: float, end: float, points: int = 400) -> list[float]:
    step = max((end - start) / points, 0.01)
    n = int((end - start) / step) + 1
    return [start + i * step for i in range(n)]


def place_labels(ax, events, fontsize: float = 7.5, rows: int = 4) -> int:
    """Label vertical event lines at the top of ``ax`` without overlaps; returns rows used.

    ``events`` is a list of (x, text).  Each label is written horizontally just
    right of its line (left of it near the right edge, so nothing leaves the
    axes), in the first row where it does not touch a label already placed;
    a label that fits no row goes to the emptiest one.  Call it after the
    figure's layout is final: it measures the labels in pixels.  Worked
    example: at 100 px per 10 s, "5 %" at 20 s and "10 %" at 21 s are 10 px
    apart and the first label is ~20 px wide, so "10 %" goes one row down.
    """
    fig = ax.figure
    renderer = fig.canvas.get_renderer()
    box = ax.get_window_extent(renderer)
    placed: list[list[tuple[float, float]]] = [[] for _ in range(rows)]
    for x, text in sorted(events):
        px = ax.transData.transform((x, 0))[0]
        probe = ax.text(0, 0, text, fontsize=fontsize)
        width = probe.get_window_extent(renderer).width + 6
        probe.remove()
        left = px + 3
        if left + width > box.x1:
            left = px - 3 - width
        left = max(left, box.x0 + 1)
        span = (left, left + width)
        row = next((r for r in range(rows)
                    if all(span[1] < a or span[0] > b for a, b in placed[r])),
                   min(range(rows), key=lambda r: len(placed[r])))
        placed[row].append(span)
        x_axes = (left - box.x0) / box.width
        ax.text(x_axes, 0.985 - row * 0.085, text, transform=ax.transAxes, fontsize=fontsize,
                ha="left", va="top", clip_on=True,
                bbox={"facecolor": "white", "edgecolor": "none", "alpha": 0.85, "pad": 0.8})
    return sum(1 for r in placed if r)


def plot_timeline(timeline: Timeline, start: float = 0.0, end: Optional[float] = None,
                  deployment: Optional[str] = None, title: Optional[str] = None,
                  target: Optional[str] = None):
    import matplotlib.pyplot as plt

    if end is None:
        end = max([q.t for q in timeline.requests] + [s.t for s in timeline.rs_steps] + [start + 1])
    pods = [p for p in timeline.pods_of(deployment) if p.created is not None
            and p.created <= end and (p.gone is None or p.gone >= start)]
    requests = timeline.requests_between(start, end + 1e-9, target)
    versions = [p.version for p in pods] + [q.version for q in requests]
    colors = version_colors(versions)

    fig, (ax_pods, ax_req) = plt.subplots(2, 1, figsize=(10, 6.2), sharex=True,
                                          gridspec_kw={"height_ratios": [1.15, 1]})
    grid = _grid(start, end)
    bottom = [0] * len(grid)
    for version in colors:
        for state, (alpha, hatch) in STATE_STYLE.items():
            counts = [sum(1 for p in pods if p.version == version and p.state_at(t) == state)
                      for t in grid]
            if not any(counts):
                continue
            if is_bad(version) and hatch is None:
                hatch = BAD_VERSION_HATCH
            top = [b + c for b, c in zip(bottom, counts)]
            ax_pods.fill_between(grid, bottom, top, step="post", color=colors[version],
                                 alpha=alpha, hatch=hatch, linewidth=0,
                                 label=f"{version} {state.lower()}")
            bottom = top
    ax_pods.set_ylabel("pods")
    most = max(max(bottom, default=0), 1)
    ax_pods.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False)
    ax_pods.grid(axis="y", alpha=0.3)

    span = max(end - start, 1e-6)
    # Whole or half seconds, so a steady rate draws as a flat line (50 req/s × 0.5 s = 25).
    width = 0.5 if span <= 30 else float(max(1, round(span / 60)))
    bins = int(span / width) + 1
    ok = {v: [0.0] * bins for v in colors}
    failed = [0.0] * bins
    failed_n = 0
    for q in requests:
        i = min(int((q.t - start) / width), bins - 1)
        if q.ok:
            ok.setdefault(q.version, [0.0] * bins)[i] += 1 / width
        else:
            failed[i] += 1 / width
            failed_n += 1
    # The last bin may be cut short by `end`: divide by its real width, or a
    # steady rate would seem to drop at the right edge.
    last = end - (start + (bins - 1) * width)
    if 0 < last < width:
        scale = width / last
        failed[-1] *= scale
        for rates in ok.values():
            rates[-1] *= scale
    lefts = [start + i * width for i in range(bins)]
    base = [0.0] * bins
    for version, rates in ok.items():
        if any(rates):
            ax_req.bar(lefts, rates, width=width, bottom=base, align="edge",
                       color=colors.get(version, "grey"), label=f"{version} ok", linewidth=0,
                       hatch=BAD_VERSION_HATCH if is_bad(version) else None)
            base = [b + x for b, x in zip(base, rates)]
    if failed_n:
        ax_req.bar(lefts, failed, width=width, bottom=base, align="edge", color=FAILURE_COLOR,
                   hatch=FAILURE_HATCH, edgecolor="black", linewidth=0.3,
                   label=f"failed ({failed_n})")
    ax_req.set_ylabel("requests / s")
    ax_req.set_xlabel("time (s)")
    ax_req.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False)
    ax_req.grid(axis="y", alpha=0.3)
    ax_req.set_xlim(start, end)

    steps = [s for s in timeline.rs_steps if start <= s.t <= end
             and (deployment is None or s.deployment == deployment)]
    lines = [(m.t, m.label) for m in timeline.marks if start <= m.t <= end]
    if len(steps) > 1:
        lines += [(steps[0].t, "rollout starts"), (steps[-1].t, "last step")]
    for t, _ in lines:
        for ax in (ax_pods, ax_req):
            ax.axvline(t, color="black", linestyle=":", linewidth=0.9, alpha=0.7)
    fig.suptitle(title or "Pods by version and state (top), requests per second (bottom)",
                 fontsize=11)
    ax_pods.set_ylim(0, most + 1)
    fig.tight_layout()
    rows = place_labels(ax_pods, lines) if lines else 0
    # Head room for the label rows, so they never cover a pod.
    ax_pods.set_ylim(0, (most + 1) / max(1 - 0.085 * rows - 0.03, 0.5))
    return fig
