"""The kubelet: start containers, run probes, stop pods — with real timings.

Start: admission → image (present, or ErrImagePull / ImagePullBackOff for a
tag cluster/images.yaml does not list) → container running → the app listens
after STARTUP_SECONDS.  Probe workers tick every periodSeconds from
admission, as upstream's do, so readiness lands on a probe tick, not the
instant the app listens: with a 1 s period and a 1 s start, a pod is ready
about 2 s after it was created.

Probes: httpGet / tcpSocket ports resolve by number or by the container's
port name (an unknown name errors, as ResolveContainerPort does); a port the
app does not listen on is refused.  Exec probes run the commands
``execprobe`` models against the app's files; others are assumed, and said.

Stop: the pod's deletion reaches the kubelet after ``kubelet_kill_s``; it
runs the preStop hook, then sends SIGTERM; the grace period counts from the
start of the hook, and SIGTERM always gets at least 2 s before SIGKILL
(:func:`kill_schedule`, upstream's killContainer).  Meanwhile, and
independently, the endpoint controllers take the pod out of rotation — see
``network.py``: whichever finishes first decides whether requests fail.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Optional

from ..manifests import PodTemplate, Probe
from .app import AppConfig, AppProcess, BadAppConfig
from .objects import Pod

if TYPE_CHECKING:
    from .cluster import Cluster

#: kuberuntime's minimumGracePeriodInSeconds: after the preStop hook,
#: SIGTERM always gets at least this long before SIGKILL ("always give
#: containers a minimal shutdown window to avoid unnecessary SIGKILLs").
MINIMUM_GRACE_PERIOD_S = 2
#: pod_workers' calculateEffectiveGracePeriod: "no matter what, we always
#: supply a grace period of 1" (a spec of 0 still gets 1 s for the hook).
MINIMUM_POD_GRACE_PERIOD_S = 1


def probe_port(template: PodTemplate, port) -> tuple[Optional[int], str]:
    """(port number, error) of a probe's port, as the kubelet's ResolveContainerPort does:
    a number as is; a name through the container's ports, else as a number in a
    string; else the error the kubelet reports ("probe errored: ...")."""
    if isinstance(port, str):
        number = next((n for name, n in template.own_ports if name == port), None)
        if number is None:
            try:
                number = int(port, 10)
            except ValueError:
                return None, f'strconv.Atoi: parsing "{port}": invalid syntax'
        port = number
    if isinstance(port, int) and not isinstance(port, bool) and 0 < port < 65536:
        return port, ""
    return None, f"invalid port number: {port}"


def writable(path: str, dirs: tuple) -> bool:
    return any(path.startswith(d.rstrip("/") + "/") for d in dirs)


def kill_schedule(start: float, grace_s: int, hook_s: float) -> tuple[float, float]:
    """(SIGTERM at, SIGKILL at) of a container the kubelet starts killing at ``start``.

    kuberuntime's killContainer, step by step: the grace period (at least 1 s,
    pod_workers) bounds the preStop hook — executePreStopHook gives up after
    it — and loses the hook's duration in WHOLE seconds (``int64(elapsed
    .Seconds())`` truncates); whatever is left, but never less than
    minimumGracePeriodInSeconds (2 s), is StopContainer's timeout between
    SIGTERM and SIGKILL.  Example (lab 04's short-grace.yaml): grace 2 s,
    sleep 1 s → hook ends at 1 s, 2 − 1 = 1 s is raised to 2 s → SIGTERM at
    1 s, SIGKILL at 3 s, not at 2 s.  Grace 2 s with a 5 s hook: the hook is
    cut at 2 s, SIGKILL at 4 s.  No hook and grace 1 s: SIGKILL at 2 s.
    """
    grace = max(int(grace_s), MINIMUM_POD_GRACE_PERIOD_S)
    hook = min(hook_s, grace) if hook_s > 0 else 0.0
    grace -= math.floor(hook + 1e-9)
    return start + hook, start + hook + max(grace, MINIMUM_GRACE_PERIOD_S)


class Kubelet:
    def __init__(self, cluster: "Cluster"):
        self.c = cluster

    @property
    def now(self) -> float:
        return self.c.kernel.now

    def _event(self, pod: Pod, reason: str, message: str, type_: str = "Normal") -> None:
        self.c.recorder.emit(self.now, "Pod", pod.name, reason, message, type_)

    # -- start -----------------------------------------------------------------------
    def admit(self, pod: Pod) -> None:
        self.c.kernel.after(self.c.profile.kubelet_admit_s, self._admitted, pod)

    def _admitted(self, pod: Pod) -> None:
        if pod.gone or pod.deleting is not None:
            return
        for kind in ("startup", "readiness", "liveness"):
            probe = getattr(pod.template, kind)
            if probe is not None:
                # The worker probes at once, then every periodSeconds from here.
                self._probe_tick(pod, kind, probe, pod.generation_of_container, [0, 0, 0.0])
        self._pull(pod, attempt=0)

    def _pull(self, pod: Pod, attempt: int) -> None:
        if pod.gone or pod.deleting is not None:
            return
        image = pod.template.image
        if image in self.c.images:
            self._event(pod, "Pulled", f'Container image "{image}" already present on machine')
            self.c.kernel.after(self.c.profile.container_start_s, self._start_container, pod)
            return
        if attempt == 0:
            self._event(pod, "Pulling", f'Pulling image "{image}"')
        self.c.kernel.after(self.c.profile.image_pull_fail_s, self._pull_failed, pod, attempt)

    def _pull_failed(self, pod: Pod, attempt: int) -> None:
        if pod.gone or pod.deleting is not None:
            return
        image = pod.template.image
        self._set_waiting(pod, "ErrImagePull")
        self._event(pod, "Failed", f'Failed to pull image "{image}": rpc error: code = NotFound '
                    f'desc = failed to pull and unpack image "{image}": not found', "Warning")
        self._event(pod, "Failed", "Error: ErrImagePull", "Warning")
        backoff = min(self.c.profile.image_pull_backoff_s * 2 ** attempt,
                      self.c.profile.image_pull_backoff_max_s)
        self.c.kernel.after(1.0, self._backoff, pod, image)
        self.c.kernel.after(backoff, self._pull, pod, attempt + 1)

    def _backoff(self, pod: Pod, image: str) -> None:
        if pod.gone or pod.deleting is not None or pod.app is not None:
            return
        self._set_waiting(pod, "ImagePullBackOff")
        self._event(pod, "BackOff", f'Back-off pulling image "{image}"')
        self._event(pod, "Failed", "Error: ImagePullBackOff", "Warning")

    def _set_waiting(self, pod: Pod, reason: Optional[str]) -> None:
        pod.waiting_reason = reason
        pod.record.waiting_reason = reason

    def _start_container(self, pod: Pod) -> None:
        if pod.gone or pod.deleting is not None:
            return
        env = {**self.c.images.get(pod.template.image, {}), **pod.template.env_dict()}
        env.setdefault("POD_NAME", pod.name)
        self._event(pod, "Created", f"Created container {pod.template.container}")
        self._event(pod, "Started", f"Started container {pod.template.container}")
        pod.phase = "Running"
        if pod.record.started is None:
            pod.record.started = round(self.now, 6)
        try:
            config = AppConfig.from_env(env)
            app = AppProcess(config, self.now, AppProcess.rng_seed(config, pod.name),
                             data=self.c.data, pod=pod.name,
                             ready_file_writable=writable(config.ready_file,
                                                          pod.template.writable_dirs))
        except BadAppConfig as exc:
            # The real server prints this line and exits 1: the container
            # crashes, and the kubelet restarts it with a growing back-off.
            self._event(pod, "BackOff", f"Back-off restarting failed container "
                        f"{pod.template.container}: {exc}", "Warning")
            self._restart_later(pod, crashed=True)
            return
        pod.app = app
        self._set_waiting(pod, None)
        if pod.template.readiness is None and pod.template.startup is None:
            # No readiness probe: the kubelet reports Ready as soon as its next
            # relist sees the container running — whether or not the app
            # listens yet.  Each node relists on its own one-second grid.
            period = self.c.profile.pleg_relist_s
            node = self.c.node(pod.node)
            phase = (node.index * 0.37) % period if period else 0.0
            relist = phase + period * math.ceil((self.now - phase) / period) if period else self.now
            self.c.kernel.at(relist, self._report_ready, pod, True, pod.generation_of_container)
        self.c.pod_changed(pod)

    # -- probes ------------------------------------------------------------------------------
    def _probe_tick(self, pod: Pod, kind: str, probe: Probe, generation: int, counts: list) -> None:
        """One tick of a probe worker; ``counts`` is [successes, failures, busy until]."""
        if pod.gone or generation != pod.generation_of_container:
            return
        self.c.kernel.after(probe.period_s, self._probe_tick, pod, kind, probe, generation, counts)
        app: Optional[AppProcess] = pod.app
        if app is None or not app.alive(self.now):
            return
        if kind != "startup" and pod.template.startup is not None and not pod.started_ok:
            return
        if kind == "startup" and pod.started_ok:
            return
        if self.now - app.started_at < probe.initial_delay_s:
            return
        if len(counts) > 2 and counts[2] > self.now:
            return      # the last probe still runs: the worker is blocked in it (tick dropped)
        ok, why, seconds = self._run_probe(pod, app, probe)
        if seconds > 0:
            # An exec command that sleeps: its result arrives when it ends.
            counts[2:] = [self.now + seconds]
            self.c.kernel.after(seconds, self._probe_result, pod, kind, probe, generation, counts,
                                ok, why)
        else:
            self._probe_result(pod, kind, probe, generation, counts, ok, why)

    def _run_probe(self, pod: Pod, app: AppProcess, probe: Probe) -> tuple[bool, str, float]:
        """(success, event message, seconds it ran) — the message as the kubelet words it."""
        if probe.kind == "exec":
            result = app.exec_probe(self.now, probe.command, probe.timeout_s)
            return result.ok, f"failed: {result.message}", result.seconds
        ports = pod.rs.probe_ports           # resolved once per ReplicaSet and probe
        try:
            number, error = ports[id(probe)]
        except KeyError:
            number, error = ports[id(probe)] = probe_port(pod.template, probe.port)
        if error:
            return False, f"errored: {error}", 0.0
        ok, why = app.probe(self.now, probe.path, probe.kind, probe.timeout_s,
                            number == app.config.port)
        if ok:
            return True, "", 0.0
        if "refused" in why:
            dial = f"dial tcp {pod.ip}:{number}: "
            why = (f'Get "http://{pod.ip}:{number}{probe.path}": {dial}' if probe.kind == "httpGet"
                   else dial) + why
        return ok, f"failed: {why}", 0.0

    def _probe_result(self, pod: Pod, kind: str, probe: Probe, generation: int, counts: list,
                      ok: bool, why: str) -> None:
        if pod.gone or generation != pod.generation_of_container:
            return
        if ok:
            counts[0], counts[1] = counts[0] + 1, 0
        else:
            counts[0], counts[1] = 0, counts[1] + 1
            if pod.deleting is None or kind == "readiness":
                label = {"readiness": "Readiness", "liveness": "Liveness", "startup": "Startup"}[kind]
                self._event(pod, "Unhealthy", f"{label} probe {why}", "Warning")
        if kind == "readiness":
            if ok and counts[0] >= probe.success_threshold:
                self._report_ready(pod, True, generation)
            elif not ok and counts[1] >= probe.failure_threshold:
                self._report_ready(pod, False, generation)
        elif kind == "startup":
            if ok:
                pod.started_ok = True
                if pod.template.readiness is None:
                    self._report_ready(pod, True, generation)
            elif counts[1] >= probe.failure_threshold:
                self._event(pod, "Killing", f"Container {pod.template.container} failed startup "
                            "probe, will be restarted")
                self._kill_for_restart(pod)
        elif kind == "liveness" and not ok and counts[1] >= probe.failure_threshold:
            self._event(pod, "Killing", f"Container {pod.template.container} failed liveness "
                        "probe, will be restarted")
            self._kill_for_restart(pod)

    def _report_ready(self, pod: Pod, ready: bool, generation: int) -> None:
        """Send a readiness change to the API through the node's status manager.

        One node's status updates go out one after another, each an API round
        trip: pods that pass their probe at the same tick reach the API (and
        the controllers) ``status_update_gap_s`` apart, which is why a real
        rollout proceeds pod by pod even when several are ready together.
        """
        if pod.reported_ready == (ready, generation):
            return          # already on its way: probes keep passing while it queues
        pod.reported_ready = (ready, generation)
        profile = self.c.profile
        node = self.c.node(pod.node)
        at = max(self.now + profile.kubelet_status_s, node.status_free_at + profile.status_update_gap_s)
        node.status_free_at = at
        self.c.kernel.at(at, self._set_ready, pod, ready, generation)

    def _set_ready(self, pod: Pod, ready: bool, generation: int) -> None:
        if pod.gone or generation != pod.generation_of_container or pod.ready == ready:
            return
        if ready and (pod.app is None or not pod.app.alive(self.now)):
            return
        pod.ready = ready
        rec = pod.record
        if ready:
            pod.ready_since = self.now
            if rec.ready is None:
                rec.ready = round(self.now, 6)
            elif rec.unready and rec.unready[-1][1] is None:
                rec.unready[-1] = (rec.unready[-1][0], round(self.now, 6))
        else:
            pod.ready_since = None
            if rec.ready is not None:
                rec.unready.append((round(self.now, 6), None))
        self.c.pod_changed(pod)

    # -- restarts ---------------------------------------------------------------------------
    def _kill_for_restart(self, pod: Pod) -> None:
        app = pod.app
        if app is not None:
            self.c.cut_requests(app.exit(self.now))
        pod.app = None
        pod.generation_of_container += 1
        pod.started_ok = False
        if pod.ready:
            self._set_ready_now(pod, False)
        self._restart_later(pod, crashed=False)

    def _set_ready_now(self, pod: Pod, ready: bool) -> None:
        pod.ready = ready
        pod.ready_since = None
        pod.record.unready.append((round(self.now, 6), None))
        self.c.pod_changed(pod)

    def _restart_later(self, pod: Pod, crashed: bool) -> None:
        pod.generation_of_container += 1 if crashed else 0
        delay = 0.0 if pod.restarts == 0 else min(
            self.c.profile.restart_backoff_s * 2 ** (pod.restarts - 1),
            self.c.profile.restart_backoff_max_s)
        pod.restarts += 1
        pod.record.restarts = pod.restarts
        if crashed:
            self._set_waiting(pod, "CrashLoopBackOff")
        self.c.kernel.after(delay + self.c.profile.container_start_s, self._restart, pod,
                            pod.generation_of_container)

    def _restart(self, pod: Pod, generation: int) -> None:
        if pod.gone or pod.deleting is not None or generation != pod.generation_of_container:
            return
        self._start_container(pod)
        for kind in ("startup", "readiness", "liveness"):
            probe = getattr(pod.template, kind)
            if probe is not None:
                self._probe_tick(pod, kind, probe, pod.generation_of_container, [0, 0, 0.0])

    # -- stop ---------------------------------------------------------------------------------
    def kill(self, pod: Pod) -> None:
        """The pod was deleted in the API (deletionTimestamp set)."""
        self.c.kernel.after(self.c.profile.kubelet_kill_s, self._kill, pod)

    def _kill(self, pod: Pod) -> None:
        if pod.gone:
            return
        self._event(pod, "Killing", f"Stopping container {pod.template.container}")
        app = pod.app
        if app is None or not app.alive(self.now):
            self._container_exited(pod)
            return
        term_at, kill_at = kill_schedule(self.now, pod.template.grace_s,
                                         pod.template.pre_stop_sleep_s)
        generation = pod.generation_of_container
        self.c.kernel.at(term_at, self._sigterm, pod, generation)
        self.c.kernel.at(kill_at, self._sigkill, pod, generation)

    def _sigterm(self, pod: Pod, generation: int) -> None:
        app = pod.app
        if pod.gone or app is None or generation != pod.generation_of_container:
            return
        exit_at = app.sigterm(self.now)
        if exit_at is not None:
            self.c.kernel.at(exit_at, self._process_exit, pod, generation)

    def _sigkill(self, pod: Pod, generation: int) -> None:
        if pod.gone or pod.app is None or generation != pod.generation_of_container:
            return
        self._process_exit(pod, generation)

    def _process_exit(self, pod: Pod, generation: int) -> None:
        app = pod.app
        if pod.gone or app is None or generation != pod.generation_of_container:
            return
        self.c.cut_requests(app.exit(self.now))
        self._container_exited(pod)

    def _container_exited(self, pod: Pod) -> None:
        pod.generation_of_container += 1
        if pod.ready:
            pod.ready = False
            pod.ready_since = None
        pod.phase = "Succeeded"
        self.c.pod_changed(pod)
        self.c.kernel.after(self.c.profile.pod_cleanup_s, self.c.remove_pod, pod)
