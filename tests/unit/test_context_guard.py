"""The context guard: the kube backend never reaches a cluster that is not the kit's own.

The kubeconfigs here point at a local HTTP server that counts requests, so
"refused before any HTTP call" is measured, not assumed.
"""

from __future__ import annotations

import http.server
import threading

import pytest
import yaml

pytest.importorskip("kubernetes")

from releaselab.errors import ContextRefusedError  # noqa: E402
from releaselab.kube import _guard, make_backend  # noqa: E402


class _Counter(http.server.BaseHTTPRequestHandler):
    hits: list = []

    def _any(self):
        _Counter.hits.append((self.command, self.path))
        self.send_response(404)
        self.send_header("Content-Length", "0")
        self.end_headers()

    do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _any

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    _Counter.hits = []
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Counter)
    th = threading.Thread(target=srv.serve_forever, daemon=True)
    th.start()
    yield f"http://127.0.0.1:{srv.server_address[1]}"
    srv.shutdown()
    srv.server_close()


@pytest.fixture(autouse=True)
def no_env(monkeypatch):
    monkeypatch.delenv(_guard.CONTEXT_ENV, raising=False)


def kubeconfig(tmp_path, server, contexts, current):
    path = tmp_path / "kubeconfig"
    path.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config",
        "clusters": [{"name": "c", "cluster": {"server": server}}],
        "users": [{"name": "u", "user": {"token": "t"}}],
        "contexts": [{"name": n, "context": {"cluster": "c", "user": "u"}} for n in contexts],
        "current-context": current}))
    return str(path)


def test_foreign_current_context_is_refused_before_any_http_call(tmp_path, server):
    cfg = kubeconfig(tmp_path, server, ["prod-eu"], "prod-eu")
    with pytest.raises(ContextRefusedError) as err:
        make_backend(kubeconfig=cfg, watch=False, progress=None)
    message = str(err.value)
    assert "'prod-eu'" in message and "kind-releaselab" in message
    assert "RELEASELAB_KUBE_CONTEXT" in message and "\n" not in message
    assert _Counter.hits == []


def test_kit_context_is_used_even_when_another_is_current(tmp_path, server):
    cfg = kubeconfig(tmp_path, server, ["prod-eu", "kind-releaselab"], "prod-eu")
    b = make_backend(kubeconfig=cfg, watch=False, progress=None)
    try:
        assert b.context == "kind-releaselab"
    finally:
        b.close()


def test_named_context_is_accepted(tmp_path, server):
    cfg = kubeconfig(tmp_path, server, ["prod-eu"], "prod-eu")
    b = make_backend(kubeconfig=cfg, context="prod-eu", watch=False, progress=None)
    try:
        assert b.context == "prod-eu"
        # and it really talks to that context's server
        with pytest.raises(Exception):
            b.get("Deployment", "web")
        # First it asked the server its version, then for the Deployment.
        assert _Counter.hits[0][1].rstrip("/") == "/version"
        assert _Counter.hits[-1][1].startswith(
            "/apis/apps/v1/namespaces/releaselab/deployments/web")
    finally:
        b.close()


def test_context_named_in_the_environment_is_accepted(tmp_path, server, monkeypatch):
    cfg = kubeconfig(tmp_path, server, ["staging"], "staging")
    monkeypatch.setenv(_guard.CONTEXT_ENV, "staging")
    b = make_backend(kubeconfig=cfg, watch=False, progress=None)
    try:
        assert b.context == "staging"
    finally:
        b.close()


def test_a_named_context_missing_from_the_kubeconfig_is_refused(tmp_path, server):
    cfg = kubeconfig(tmp_path, server, ["kind-releaselab"], "kind-releaselab")
    with pytest.raises(ContextRefusedError, match="no context 'typo'"):
        make_backend(kubeconfig=cfg, context="typo", watch=False, progress=None)
    assert _Counter.hits == []


def test_choose_context_is_pure():
    assert _guard.choose_context(["a", "kind-releaselab"], env={}) == "kind-releaselab"
    assert _guard.choose_context(["a"], "a", env={}) == "a"
    assert _guard.choose_context(["a", "b"], env={_guard.CONTEXT_ENV: "b"}) == "b"
    with pytest.raises(ContextRefusedError):
        _guard.choose_context([], env={})


def test_unlabelled_object_is_refused():
    obj = {"kind": "Deployment", "metadata": {"name": "db", "namespace": "releaselab",
                                              "labels": {"app": "db"}}}
    with pytest.raises(ContextRefusedError, match="not labelled app.kubernetes.io/managed-by"):
        _guard.require_managed(obj, "delete")
    obj["metadata"]["labels"][_guard.MANAGED_BY_KEY] = "helm"
    with pytest.raises(ContextRefusedError):
        _guard.require_managed(obj, "patch")
    obj["metadata"]["labels"][_guard.MANAGED_BY_KEY] = "releaselab"
    _guard.require_managed(obj, "patch")
    obj["metadata"]["namespace"] = "kube-system"
    with pytest.raises(ContextRefusedError, match="namespace 'kube-system'"):
        _guard.require_managed(obj, "patch")


def test_prepare_for_apply_labels_and_strips_server_fields():
    got = _guard.prepare_for_apply({"kind": "Service", "metadata": {
        "name": "web", "resourceVersion": "7", "uid": "x", "managedFields": []},
        "status": {"loadBalancer": {}}})
    assert got["metadata"] == {"name": "web", "namespace": "releaselab",
                               "labels": {_guard.MANAGED_BY_KEY: "releaselab"}}
    assert "status" not in got
    with pytest.raises(ContextRefusedError):
        _guard.prepare_for_apply({"kind": "Service", "metadata": {"name": "w", "namespace": "x"}})


# -- where a context points (issue 10 item 7) ---------------------------------------------

from releaselab.errors import BackendError  # noqa: E402


def _config(path, servers: dict) -> str:
    """A kubeconfig with one context per entry of ``servers`` (context name → server URL)."""
    path.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config",
        "clusters": [{"name": f"c-{n}", "cluster": {"server": url}} for n, url in servers.items()],
        "users": [{"name": "u", "user": {"token": "t"}}],
        "contexts": [{"name": n, "context": {"cluster": f"c-{n}", "user": "u"}} for n in servers],
        "current-context": next(iter(servers))}))
    return str(path)


def test_a_kind_releaselab_context_on_another_host_is_refused(tmp_path):
    cfg = _config(tmp_path / "kubeconfig", {"kind-releaselab": "https://10.20.30.40:6443"})
    with pytest.raises(ContextRefusedError) as err:
        make_backend(kubeconfig=cfg, watch=False, progress=None)
    message = str(err.value)
    assert message.startswith("refusing context 'kind-releaselab': its server "
                              "https://10.20.30.40:6443 is not on this machine")
    assert "RELEASELAB_KUBE_CONTEXT=kind-releaselab" in message and "\n" not in message


@pytest.mark.parametrize("server, local", [
    ("https://127.0.0.1:40123", True), ("https://127.0.0.2:6443", True),
    ("https://localhost:6443", True), ("https://[::1]:6443", True),
    ("https://10.20.30.40:6443", False), ("https://kind.example.com:6443", False),
    ("https://[2001:db8::1]:6443", False), ("", False), (None, False), ("not a url", False),
])
def test_loopback_servers(server, local):
    assert _guard.is_loopback(server) is local


def test_a_remote_kit_context_named_explicitly_is_the_readers_choice():
    servers = {"kind-releaselab": "https://10.20.30.40:6443"}
    assert _guard.choose_context(servers, "kind-releaselab", env={}, servers=servers) == \
        "kind-releaselab"
    assert _guard.choose_context(servers, None, env={_guard.CONTEXT_ENV: "kind-releaselab"},
                                 servers=servers) == "kind-releaselab"
    with pytest.raises(ContextRefusedError):
        _guard.choose_context(servers, None, env={}, servers=servers)


def test_a_kit_context_on_loopback_is_used(tmp_path, server):
    cfg = _config(tmp_path / "kubeconfig", {"prod": "https://10.0.0.1:6443",
                                            "kind-releaselab": server})
    backend = make_backend(kubeconfig=cfg, watch=False, progress=None)
    try:
        assert backend.context == "kind-releaselab"
    finally:
        backend.close()


@pytest.mark.parametrize("content, first_words", [
    (b"- apiVersion: v1\n- kind: Config\n", "the kubeconfig {} holds a YAML list, not a mapping"),
    (b"apiVersion: v1\ncontexts: [unclosed\n", "the kubeconfig {} is not valid YAML (line"),
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xfe", "the kubeconfig {} is not text"),
    (b"\x00\x01\x02\x03", "the kubeconfig {} is not text"),
    (b"apiVersion: v1\ncontexts: 3\n", "the kubeconfig {}: contexts: must be a list"),
    (b"apiVersion: v1\nclusters: [{cluster: {}}]\n", "the kubeconfig {}: clusters: must be"),
    (b"just a sentence\n", "the kubeconfig {} holds a YAML str, not a mapping"),
])
def test_a_malformed_kubeconfig_is_one_line(tmp_path, content, first_words):
    path = tmp_path / "kubeconfig"
    path.write_bytes(content)
    with pytest.raises(BackendError) as err:
        make_backend(kubeconfig=str(path), watch=False, progress=None)
    message = str(err.value)
    assert message.startswith(first_words.format(path)), message
    assert "\n" not in message and not isinstance(err.value, ContextRefusedError)


def test_a_missing_kubeconfig_says_how_to_make_one(tmp_path):
    with pytest.raises(BackendError, match="^no kubeconfig at .*releaselab cluster up"):
        make_backend(kubeconfig=str(tmp_path / "nope"), watch=False, progress=None)


def test_kubeconfig_lists_are_merged_first_file_first(tmp_path, server, monkeypatch):
    first = _config(tmp_path / "a", {"kind-releaselab": server})
    second = _config(tmp_path / "b", {"kind-releaselab": "https://10.0.0.9:6443",
                                      "other": "https://10.0.0.8:6443"})
    import os

    servers = _guard.read_kubeconfig(os.pathsep.join([first, str(tmp_path / "gone"), second]))
    assert servers == {"kind-releaselab": server, "other": "https://10.0.0.8:6443"}
