"""Pictures of a Timeline.  They read records; they hold no simulation logic.

``plot_timeline`` draws what a reader would otherwise have to imagine: on
top, the pods of each version stacked by state (ready, starting, pending,
terminating) over time; below, requests per second by the version that
answered, with failed requests in red; rollout start/end and every mark as
vertical lines on both.
"""

from __future__ import annotations

from typing import Optional

from .timeline import Timeline

STATE_STYLE = {           # state -> (alpha, hatch)
    "Ready": (0.95, None),
    "Starting": (0.45, None),
    "Pending": (0.25, "..."),
    "Terminating": (0.30, "///"),
}
VERSION_COLORS = ["#1f77b4", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#17becf", "#e377c2"]
FAILURE_COLOR = "#d62728"


def version_colors(versions) -> dict:
    ordered = sorted({v for v in versions if v is not None}, key=str)
    return {v: VERSION_COLORS[i % len(VERSION_COLORS)] for i, v in enumerate(ordered)}


def _grid(start: float, end: float, points: int = 400) -> list[float]:
    step = max((end - start) / points, 0.01)
    n = int((end - start) / step) + 1
    return [start + i * step for i in range(n)]


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
            top = [b + c for b, c in zip(bottom, counts)]
            ax_pods.fill_between(grid, bottom, top, step="post", color=colors[version],
                                 alpha=alpha, hatch=hatch, linewidth=0,
                                 label=f"{version} {state.lower()}")
            bottom = top
    ax_pods.set_ylabel("pods")
    ax_pods.set_ylim(0, max(max(bottom, default=0) + 1, 2))
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
                       color=colors.get(version, "grey"), label=f"{version} ok", linewidth=0)
            base = [b + x for b, x in zip(base, rates)]
    if failed_n:
        ax_req.bar(lefts, failed, width=width, bottom=base, align="edge", color=FAILURE_COLOR,
                   label=f"failed ({failed_n})", linewidth=0)
    ax_req.set_ylabel("requests / s")
    ax_req.set_xlabel("time (s)")
    ax_req.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False)
    ax_req.grid(axis="y", alpha=0.3)

    steps = [s for s in timeline.rs_steps if start <= s.t <= end
             and (deployment is None or s.deployment == deployment)]
    lines = [(m.t, m.label) for m in timeline.marks if start <= m.t <= end]
    if len(steps) > 1:
        lines += [(steps[0].t, "rollout starts"), (steps[-1].t, "last step")]
    for i, (t, label) in enumerate(sorted(lines)):
        for ax in (ax_pods, ax_req):
            ax.axvline(t, color="black", linestyle=":", linewidth=0.9, alpha=0.7)
        ax_pods.annotate(label, (t, 1.0), xycoords=("data", "axes fraction"), rotation=90,
                         fontsize=7, va="top", ha="right", xytext=(-2, -2),
                         textcoords="offset points")
    ax_req.set_xlim(start, end)
    fig.suptitle(title or "Pods by version and state (top), requests per second (bottom)",
                 fontsize=11)
    fig.tight_layout()
    return fig
