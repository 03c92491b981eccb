"""Conceptual diagrams for the book, drawn from this source while the book builds.

Where a run shows *what happened*, a diagram shows *what routes where*: the
three strategies before, during and after a release, and the two chains of
events that start when a pod is deleted.  Plain matplotlib, so the book builds
offline with nothing else installed; no image file is stored in the repository.

The diagrams follow the figure rules of :mod:`releaselab.plots`: Okabe–Ito
colours, and nothing said by colour alone — the new version is also hatched
and every box carries its version in words; a share of traffic is written
beside its arrow, not only drawn as the arrow's width.
"""

from __future__ import annotations

from .plots import OKABE_ITO

OLD, NEW = OKABE_ITO["blue"], OKABE_ITO["bluish green"]
NEW_HATCH = "///"
GREY = "#9a9a9a"

#: (title, router label, [(pod label, version "old"/"new"/"off", state, share %)]) per phase.
#: A share of None means the pod gets no traffic (shown dashed).
PHASES = {
    "rolling": [
        ("before", "Service web\napp: web", [("v1", "old", "ready", 25)] * 4),
        ("during a wave", "Service web\napp: web",
         [("v1", "old", "ready", 33), ("v1", "old", "ready", 33),
          ("v1", "old", "terminating", None),
          ("v2", "new", "ready", 33), ("v2", "new", "not ready", None)]),
        ("after", "Service web\napp: web", [("v2", "new", "ready", 25)] * 4),
    ],
    "blue-green": [
        ("before", "Service web\ncolor: blue",
         [("blue v1", "old", "ready", 25)] * 4 + [("green", "off", "no pods", None)]),
        ("during: green tested", "Service web\ncolor: blue",
         [("blue v1", "old", "ready", 25)] * 4
         + [("green v2", "new", "preview only", None)]),
        ("after the switch", "Service web\ncolor: green",
         [("blue v1", "old", "kept 30 s", None)]
         + [("green v2", "new", "ready", 25)] * 4),
    ],
    "canary": [
        ("before", "Gateway web\nHTTPRoute",
         [("stable v1", "old", "weight 100", 100), ("canary", "off", "no pods", None)]),
        ("during: setWeight 5", "Gateway web\nHTTPRoute",
         [("stable v1", "old", "weight 95", 95), ("canary v2", "new", "weight 5", 5)]),
        ("after promotion", "Gateway web\nHTTPRoute",
         [("stable v2", "new", "weight 100", 100), ("canary", "off", "scaled to 0", None)]),
    ],
}

CAPTIONS = {
    "rolling": "the same Service selects old and new pods; pods are replaced a wave at a time",
    "blue-green": "two full environments; one selector change moves every user at once",
    "canary": "a weighted route sends a small, growing share to the new version",
}


def _box(ax, x, y, w, h, text, face, hatch=None, dashed=False, fontsize=8, text_color="black"):
    from matplotlib.patches import FancyBboxPatch

    ax.add_patch(FancyBboxPatch((x, y), w, h, boxstyle="round,pad=0.01,rounding_size=0.02",
                                facecolor=face, edgecolor="black", hatch=hatch, clip_on=False,
                                linestyle="--" if dashed else "-", linewidth=1.0))
    ax.text(x + w / 2, y + h / 2, text, ha="center", va="center", fontsize=fontsize,
            color=text_color, bbox={"facecolor": "white", "edgecolor": "none", "alpha": 0.85,
                                    "pad": 1.0})


def _arrow(ax, start, end, share):
    from matplotlib.patches import FancyArrowPatch

    if share is None:
        return
    ax.add_patch(FancyArrowPatch(start, end, arrowstyle="-|>", mutation_scale=9,
                                 linewidth=0.8 + 3.0 * share / 100, color="black",
                                 shrinkA=0, shrinkB=1))


def strategy_diagram(strategy: str):
    """Before / during / after for ``"rolling"``, ``"blue-green"`` or ``"canary"``.

    Each panel: clients → the router (a Service or a Gateway) → the pods, an
    arrow with its share of requests to every pod that gets traffic, a dashed
    box for a pod that gets none, and why.
    """
    import matplotlib.pyplot as plt

    if strategy not in PHASES:
        raise ValueError(f"strategy={strategy!r}: one of {', '.join(PHASES)}")
    fig, axes = plt.subplots(1, 3, figsize=(10.5, 4.5))
    for ax, (title, router, pods) in zip(axes, PHASES[strategy]):
        ax.set_xlim(-0.02, 1.03)
        ax.set_ylim(0, 1)
        ax.axis("off")
        ax.set_title(title, fontsize=11)
        _box(ax, 0.0, 0.44, 0.15, 0.12, "clients", "white", fontsize=8.5)
        _box(ax, 0.18, 0.38, 0.29, 0.24, router, "#f2f2f2", fontsize=8)
        _arrow(ax, (0.15, 0.5), (0.19, 0.5), 100)
        n = len(pods)
        height = min(0.16, 0.9 / n - 0.025)
        for i, (label, version, state, share) in enumerate(pods):
            y = 0.95 - (i + 1) * (0.9 / n) + (0.9 / n - height) / 2
            face = {"old": OLD, "new": NEW, "off": "white"}[version]
            text = f"{label}\n{state}" if state not in ("ready",) else label
            _box(ax, 0.64, y, 0.38, height, text, face,
                 hatch=NEW_HATCH if version == "new" else None,
                 dashed=share is None, fontsize=8)
            if share is not None:
                end = (0.64, y + height / 2)
                _arrow(ax, (0.46, 0.5), end, share)
                ax.text(0.55, (0.5 + end[1]) / 2, f"{share} %", fontsize=8,
                        ha="center", va="bottom",
                        bbox={"facecolor": "white", "edgecolor": "none", "alpha": 0.9,
                              "pad": 0.5})
    fig.suptitle(f"{strategy}: {CAPTIONS[strategy]}", fontsize=11.5)
    fig.tight_layout()
    return fig


def termination_diagram(propagation_s: float = 0.30, prestop_s: float = 2.0,
                        grace_s: float = 30.0):
    """The two chains a pod's deletion starts, side by side (schematic, not to scale).

    Top: the kubelet on the pod's node — preStop hook, SIGTERM, the app's
    drain, SIGKILL when ``grace_s`` has passed since the hook began.  Bottom:
    the control plane — the EndpointSlice marks the endpoint not ready and
    terminating, and kube-proxy on every node drops it ``propagation_s`` later.
    Nothing orders the two: the pod must keep serving until the bottom chain
    is done, which is what the preStop sleep buys.
    """
    import matplotlib.pyplot as plt
    from matplotlib.patches import FancyArrowPatch

    fig, ax = plt.subplots(figsize=(9.5, 5.0))
    ax.set_xlim(-0.2, 10.4)
    ax.set_ylim(0, 10)
    ax.axis("off")
    # time 0: the deletion, the common origin of both chains
    ax.axvline(0, ymin=0.05, ymax=0.95, color="black", linewidth=1.2)
    ax.text(0.1, 9.7, "t = 0: the pod is deleted in the API (deletionTimestamp set); "
            "both chains start", ha="left", va="top", fontsize=8.5,
            bbox={"facecolor": "white", "edgecolor": "black", "pad": 2})
    lanes = {"kubelet": 6.3, "control": 2.2}
    ax.text(0.3, lanes["kubelet"] + 0.8, "on the pod's node: the kubelet", fontsize=9.5,
            fontweight="bold", va="bottom")
    ax.text(0.3, lanes["control"] + 0.8, "in the control plane: endpoints", fontsize=9.5,
            fontweight="bold", va="bottom")

    def step(lane, x0, x1, text, face, hatch=None):
        _box(ax, x0, lanes[lane] - 0.7, x1 - x0, 1.4, text, face, hatch=hatch, fontsize=8.5)

    def link(lane, x0, x1):
        ax.add_patch(FancyArrowPatch((x0, lanes[lane]), (x1, lanes[lane]), arrowstyle="-|>",
                                     mutation_scale=10, color="black", linewidth=1.0))

    step("kubelet", 0.3, 3.3, f"preStop hook runs\n(e.g. sleep {prestop_s:g} s):\nthe app still serves",
         OKABE_ITO["sky blue"])
    link("kubelet", 3.3, 3.7)
    step("kubelet", 3.7, 5.5, "SIGTERM:\nthe app drains\nrequests in flight", OKABE_ITO["orange"])
    link("kubelet", 5.5, 5.9)
    step("kubelet", 5.9, 8.0, "app exits\n(or is stopped)", "white")
    link("kubelet", 8.0, 8.4)
    step("kubelet", 8.4, 10.3, f"SIGKILL at\n{grace_s:g} s after the\nhook began", FAILURE_FACE,
         hatch="xxx")

    step("control", 0.3, 3.0, "EndpointSlice controller:\nready: false, serving,\nterminating: true",
         "#f2f2f2")
    link("control", 3.0, 3.4)
    step("control", 3.4, 6.6, "kube-proxy on every node\n(and gateways, load balancers)\n"
         "rewrite their rules", "#f2f2f2")
    link("control", 6.6, 7.0)
    step("control", 7.0, 10.3, f"no new connections\nto the pod (≈ {propagation_s:.2f} s\n"
         "after the deletion)", "white")

    # The race: the pod must still listen when the bottom chain ends.
    ax.annotate("", xy=(7.0, lanes["control"] + 0.75), xytext=(3.3, lanes["kubelet"] - 0.75),
                arrowprops={"arrowstyle": "<|-|>", "linestyle": "--", "color": "black",
                            "linewidth": 1.0})
    ax.text(5.15, (lanes["kubelet"] + lanes["control"]) / 2, "the race: nothing orders the two "
            "chains —\nthe pod must keep listening until kube-proxy has dropped it",
            ha="center", va="center", fontsize=8.5,
            bbox={"facecolor": "white", "edgecolor": OKABE_ITO["vermillion"], "pad": 3})
    ax.text(10.3, 0.2, "schematic, not to scale", ha="right", va="bottom", fontsize=7.5,
            style="italic")
    fig.suptitle("Deleting a pod starts two chains of events at once", fontsize=11)
    fig.tight_layout()
    return fig


FAILURE_FACE = "#F4C7A8"     # a pale vermillion: SIGKILL, with a cross-hatch as well
