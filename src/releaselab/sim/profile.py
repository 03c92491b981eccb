"""The simulator's timing profile: every delay it models, with its source.

One profile serves every scenario.  The defaults are calibrated on the
rollouts and request counts recorded on a real cluster (Kubernetes v1.28,
one node, kube-proxy in iptables mode; ``tests/data/reference/``) and on the
upstream defaults.  None is zero for convenience: the endpoint race that
makes "zero-downtime" rollouts drop requests exists only because these
delays are real.

Override any of them: ``Lab(profile=TimingProfile(proxy_sync_s=1.0))`` or
``Lab(profile={"proxy_sync_s": 1.0})``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields, replace

from ..errors import UsageError


@dataclass(frozen=True)
class TimingProfile:
    # -- control plane -------------------------------------------------------
    #: A watched change reaches the Deployment controller's sync.  Reference
    #: runs: successive ScalingReplicaSet steps of one rollout are 0.02–0.2 s
    #: apart (s1: 0.22 → 0.25 → 0.41 s).  With status_update_gap_s below, this
    #: value reproduces the reference's step sequences for s1–s7 (see
    #: tests/unit/test_reference_rollouts.py).
    deployment_sync_s: float = 0.06
    #: ReplicaSet spec change → the ReplicaSet controller creates/deletes pods.
    #: Same watch path as above; the reference shows create-to-scheduled gaps
    #: well under 0.1 s.
    replicaset_sync_s: float = 0.02
    #: Pod change → ReplicaSet status (readyReplicas, availableReplicas).
    replicaset_status_s: float = 0.02
    #: Pod created → bound to a node by the scheduler (one node, small queue).
    schedule_s: float = 0.02

    # -- kubelet ---------------------------------------------------------------
    #: Pod bound → the kubelet admits it and starts its probe workers.
    kubelet_admit_s: float = 0.03
    #: Admission → container running: sandbox + create + start with the image
    #: already on the node (kind: images are `kind load`-ed).  Calibrated on
    #: the reference: rollouts without a readiness probe (whose pods turn
    #: Ready when the container runs) took about 2.8 s for 4 pods and refused
    #: 56 of 176 requests; with probes, waves are set by the probe period
    #: (s4/s6/s7) and this value hardly matters.
    container_start_s: float = 0.5
    #: An image the node does not have and cannot pull: time until the pull
    #: fails (ErrImagePull); then the kubelet backs off 10 s, 20 s, ... 300 s.
    image_pull_fail_s: float = 1.0
    image_pull_backoff_s: float = 10.0
    image_pull_backoff_max_s: float = 300.0
    #: The kubelet notices a container's state change when it relists the
    #: runtime (PLEG), once a second.  A pod WITHOUT a readiness probe turns
    #: Ready at the first relist after its container starts.  Source: kubelet
    #: default relist period 1 s; the reference's no-probe rollouts (2.8 s of
    #: traffic at 20 req/s beyond the probe-less start) need it.
    pleg_relist_s: float = 1.0
    #: A probe result → the pod's Ready condition in the API (status manager).
    kubelet_status_s: float = 0.05
    #: Consecutive pod-status updates from one node's kubelet: each is an API
    #: round trip.  Calibrated on the reference's surge > 1 runs (s1–s3),
    #: whose steps come 0.05–0.2 s apart when several pods are ready together.
    status_update_gap_s: float = 0.1
    #: Pod deletion → the kubelet starts killing it (preStop, then SIGTERM).
    #: The endpoint controllers learn of the deletion at the same moment, so
    #: this is the head start the pod has over its own removal.  Calibrated on
    #: the reference's 1–3 refused requests per 4-pod rollout at 20 req/s.
    kubelet_kill_s: float = 0.12
    #: Container exited → the pod's sandbox and IP are gone (after that,
    #: packets to its old address are lost: a client times out).
    pod_cleanup_s: float = 0.5
    #: Restart back-off after a container exits under a liveness failure.
    restart_backoff_s: float = 10.0
    restart_backoff_max_s: float = 300.0

    # -- network ---------------------------------------------------------------
    #: Pod readiness/termination → EndpointSlice updated.
    endpointslice_s: float = 0.05
    #: EndpointSlice updated → kube-proxy's rules on the node, when its sync
    #: runs at once.  With the line above, 0.30 s: measured on the reference
    #: cluster, old pods kept answering for 0.30–0.36 s after a Service
    #: selector switch.
    proxy_sync_s: float = 0.25
    #: kube-proxy's minSyncPeriod.  Its sync runner allows a burst of 2 syncs,
    #: then one per this period (BoundedFrequencyRunner; network.py's
    #: ProxySyncRunner); a slice change that finds no token waits for the
    #: next one.  So on a real cluster the endpoint race window is a range:
    #: from endpointslice_s + proxy_sync_s (0.30 s: a lone change, as in the
    #: reference's selector switch) to about minSyncPeriod more (~1.3 s: a
    #: deletion that comes third in a burst of slice changes).  Source: the
    #: reference cluster ran kube-proxy's iptables default, minSyncPeriod 1 s
    #: (kubeadm and kind keep it), and issue #10's real run saw deleted pods
    #: receive traffic up to ~1 s after their deletion.
    #: The default, 0, syncs on every change: the window is always 0.30 s,
    #: the calibration tests/unit/test_endpoint_race.py and the labs rely on
    #: (their request counts match the reference runs with it).  Set 1.0 to
    #: see the whole range: ``Lab(profile={"proxy_min_sync_s": 1.0})``.
    proxy_min_sync_s: float = 0.0
    #: EndpointSlice / HTTPRoute change → the gateway's data plane (Envoy via
    #: xDS).  Not measured on the reference cluster; an estimate kept above
    #: kube-proxy's, since a gateway controller adds its own watch and push.
    gateway_sync_s: float = 0.5
    #: Network round trip added to every answered request.
    network_rtt_ms: float = 1.0
    #: A refused connection answers in about one round trip.
    refused_ms: float = 1.0

    def with_overrides(self, overrides: "dict | TimingProfile | None") -> "TimingProfile":
        """This profile with some fields replaced (each checked against RANGES)."""
        if overrides is None:
            return self
        if isinstance(overrides, TimingProfile):
            return overrides
        if not isinstance(overrides, dict):
            raise UsageError(f"profile={overrides!r}: pass a dict of timing fields or a "
                             "TimingProfile, e.g. profile={'proxy_sync_s': 1.0}")
        known = {f.name for f in fields(self)}
        unknown = sorted(str(k) for k in set(overrides) - known)
        if unknown:
            raise UsageError(f"unknown timing profile field(s) {', '.join(unknown)}; "
                             f"known: {', '.join(sorted(known))}")
        return replace(self, **overrides)

    def __post_init__(self) -> None:
        # Checked on construction, so TimingProfile(...) and overrides alike
        # are refused at once with the accepted range, never inside a wait().
        for f in fields(self):
            _check(f.name, getattr(self, f.name))
        for base, cap in (("restart_backoff_s", "restart_backoff_max_s"),
                          ("image_pull_backoff_s", "image_pull_backoff_max_s")):
            if getattr(self, cap) < getattr(self, base):
                raise UsageError(f"timing profile {cap}={getattr(self, cap)!r}: must be >= "
                                 f"{base} ({getattr(self, base)!r}), the back-off it caps")

    @property
    def endpoint_propagation_s(self) -> float:
        """Pod change → kube-proxy rules when kube-proxy syncs at once: the endpoint
        race window's shortest length (0.30 s by default)."""
        return self.endpointslice_s + self.proxy_sync_s

    @property
    def endpoint_propagation_max_s(self) -> float:
        """The same when kube-proxy's sync runner makes the change wait a full
        minSyncPeriod: the window's longest length (1.30 s with minSyncPeriod 1 s)."""
        return self.endpoint_propagation_s + self.proxy_min_sync_s


#: Accepted range of every field, inclusive: (low, high).  Values must be
#: finite numbers.  Most delays may be 0 (an instant hand-over); the two
#: back-offs may not: a crash-looping pod restarts every container_start_s +
#: back-off, so with both at 0 it would restart forever at one virtual
#: instant and wait(60) would never return.  Their floor, 1 s, is the
#: smallest restart delay a kubelet can be configured to (its
#: crashLoopBackOff.maxContainerRestartPeriod accepts 1 s to 300 s; KEP-5593,
#: docs: pod-lifecycle "Configurable container restart delay"): a crash loop
#: then costs at most 60 restarts per pod per virtual minute.  The ceiling
#: of an hour is far beyond any real delay and keeps a typo (3e9) from
#: parking every pod forever.
_SECONDS = (0.0, 3600.0)
_BACKOFF = (1.0, 3600.0)
_MILLISECONDS = (0.0, 60_000.0)
RANGES = {f.name: (_MILLISECONDS if f.name.endswith("_ms")
                   else _BACKOFF if "backoff" in f.name else _SECONDS)
          for f in fields(TimingProfile)}


def _check(name: str, value) -> None:
    low, high = RANGES[name]
    unit = "milliseconds" if name.endswith("_ms") else "seconds"
    if (isinstance(value, bool) or not isinstance(value, (int, float))
            or not math.isfinite(value) or not low <= value <= high):
        raise UsageError(f"timing profile {name}={value!r}: must be a number of {unit} "
                         f"from {low:g} to {high:g}")


KIND_LIKE = TimingProfile()
