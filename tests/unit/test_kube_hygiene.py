"""Thread and cluster hygiene of the kind backend (issue 10 item 6), against real sockets.

The API server is kmock's emulator on loopback (or, for the errors, a port
where nothing listens); the threads are the backend's own.
"""

from __future__ import annotations

import gc
import logging
import threading
import time

import pytest

pytest.importorskip("kmock")
pytest.importorskip("kubernetes")

from kmockutil import write_kubeconfig  # noqa: E402
from netutil import free_port  # noqa: E402

from releaselab import Lab  # noqa: E402
from releaselab.kube import make_backend  # noqa: E402


@pytest.fixture
def kubeconfig(emu, tmp_path, monkeypatch):
    monkeypatch.delenv("RELEASELAB_KUBE_CONTEXT", raising=False)
    return str(write_kubeconfig(tmp_path / "kubeconfig", emu.url))


def _watch_threads(backend) -> list[threading.Thread]:
    threads = list(backend.watcher._threads)
    assert len(threads) == 4 and all(th.is_alive() for th in threads)
    return threads


def _all_end(threads, within: float) -> bool:
    deadline = time.monotonic() + within
    for th in threads:
        th.join(max(0.0, deadline - time.monotonic()))
    return not any(th.is_alive() for th in threads)


def test_close_ends_the_watch_threads_within_a_second(kubeconfig):
    backend = make_backend(kubeconfig=kubeconfig, progress=None)
    threads = _watch_threads(backend)
    time.sleep(0.5)                      # let every thread block in its watch
    t0 = time.monotonic()
    backend.close()
    assert time.monotonic() - t0 < 1.0
    assert not any(th.is_alive() for th in threads)
    assert backend.watcher.errors == []  # closing is not an error


def test_a_replaced_lab_stops_its_watch_threads(kubeconfig):
    lab = Lab(make_backend(kubeconfig=kubeconfig, progress=None), echo=False)
    threads = _watch_threads(lab.backend)
    time.sleep(0.3)
    lab = Lab(make_backend(kubeconfig=kubeconfig, progress=None), echo=False)  # as a re-run cell
    gc.collect()
    assert _all_end(threads, within=2.0), "the first Lab's watches outlived it"
    newer = _watch_threads(lab.backend)
    with lab:
        pass
    assert _all_end(newer, within=1.0)


def test_a_garbage_collected_backend_stops_its_traffic_too(kubeconfig):
    import http.server

    class App(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"{}")

        def log_message(self, *args):
            pass

    app = http.server.ThreadingHTTPServer(("127.0.0.1", 0), App)
    threading.Thread(target=app.serve_forever, daemon=True).start()
    try:
        port = app.server_address[1]
        backend = make_backend(kubeconfig=kubeconfig, progress=None, watch=False,
                               host_node_ports=(port,))
        backend.apply({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"},
                       "spec": {"type": "NodePort", "selector": {"app": "web"},
                                "ports": [{"port": 80, "nodePort": port}]}})
        backend.start_traffic("web", rps=50)
        prober_thread = backend._probers[0]._thread
        time.sleep(0.3)
        del backend
        gc.collect()
        assert _all_end([prober_thread], within=2.0), "clients kept firing after the Lab went"
    finally:
        app.shutdown()
        app.server_close()


def test_watch_errors_are_logged_once_each(tmp_path, monkeypatch, caplog):
    monkeypatch.delenv("RELEASELAB_KUBE_CONTEXT", raising=False)
    cfg = write_kubeconfig(tmp_path / "kubeconfig", f"http://127.0.0.1:{free_port()}")
    caplog.set_level(logging.WARNING, logger="releaselab.kube")
    backend = make_backend(kubeconfig=str(cfg), progress=None, request_timeout=2,
                           check_version=False)
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and len(backend.watcher.errors) < 8:
            time.sleep(0.1)              # each thread retries every second
        assert len(backend.watcher.errors) >= 8
    finally:
        backend.close()
    logged = [r.getMessage() for r in caplog.records if r.name == "releaselab.kube"]
    # Two or more failures per source, one line each: the same failure says so once.
    assert sorted(logged) == sorted(
        f"releaselab watch: {source}: cannot reach the API server (connection refused)"
        for source in ("pods", "replicasets", "events", "endpointslices")), logged
