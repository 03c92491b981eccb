"""Offline checks of everything under cluster/: manifests, kind.yaml, images.yaml, Dockerfile.

No cluster and no network: built-in kinds are validated with `kubernetes-validate`
(JSON schemas bundled in the package) against pinned Kubernetes versions
(K8S_VERSIONS: the one the kind node image runs, and the newest the package ships);
Gateway API kinds (CRDs, so no bundled schema) are checked on the fields labs use.
On top of the schemas, the kit's policy: what every workload must declare to run
on the kit's cluster.

Every manifest file under cluster/manifests/ is a test case of its own, so a new
lab's directory is picked up without editing this file. The checks are helpers
returning a list of problems; the tests at the bottom feed them broken input to
show each check can fail.
"""

import copy
import fnmatch
import http.client
import json
import re
import socket
import subprocess
import sys
import time
import types
from functools import lru_cache
from pathlib import Path

import jsonschema
import kubernetes_validate.utils as kv
import pytest
from netutil import free_port
import yaml
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[2]
CLUSTER = ROOT / "cluster"
MANIFESTS = CLUSTER / "manifests"
APP = CLUSTER / "app"
UNLISTED_MARKER = "# releaselab: deliberately-unlisted-image"
NAMESPACE = "releaselab"
MANAGED_BY = ("app.kubernetes.io/managed-by", "releaselab")
EXPECTED_NODE_PORTS = {30080, 30081, 30082}
CLUSTER_SCOPED = {"Namespace", "GatewayClass", "ClusterRole", "ClusterRoleBinding",
                  "PriorityClass", "StorageClass", "PersistentVolume"}
GATEWAY_GROUP = "gateway.networking.k8s.io"


# --------------------------------------------------------------------------- inputs

def load_server():
    """cluster/app/server.py as a module: its own parser judges env values.

    Compiled from source rather than imported, so no __pycache__ lands in cluster/app/.
    """
    path = APP / "server.py"
    module = types.ModuleType("releaselab_web_server")
    module.__file__ = str(path)
    exec(compile(path.read_text(), str(path), "exec"), module.__dict__)
    return module


SERVER = load_server()


def readme_tables(text):
    """{section heading: [row cells]} of the Markdown tables in the app README."""
    tables, heading = {}, None
    for line in text.splitlines():
        if line.startswith("## "):
            heading = line[3:].strip()
        elif line.startswith("|") and not re.match(r"^\|[\s|:-]+\|$", line):
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            tables.setdefault(heading, []).append(cells)
    return {h: rows[1:] for h, rows in tables.items()}  # drop each header row


def readme_variables(text):
    """{VARIABLE: literal default or None} from the README's Environment table."""
    variables = {}
    for cells in readme_tables(text).get("Environment", []):
        name = re.fullmatch(r"`([A-Z_]+)`", cells[0])
        assert name, f"unexpected first cell in the Environment table: {cells[0]!r}"
        default = re.fullmatch(r"`([^`]*)`", cells[1])  # "baked per image", "the host name": None
        variables[name.group(1)] = default.group(1) if default else None
    return variables


def readme_paths(text):
    """The paths of the README's Endpoints table (`GET /healthz` -> /healthz)."""
    return {re.fullmatch(r"`GET (\S+)`", cells[0]).group(1)
            for cells in readme_tables(text).get("Endpoints (port 8080)", [])}


README = (APP / "README.md").read_text()
VARIABLES = readme_variables(README)
APP_PATHS = readme_paths(README)


def load_yaml(path):
    return yaml.safe_load(path.read_text())


def listed_tags(images_doc):
    """The demo app's tags, and the official images the data manifests run (`services:`)."""
    return ({item["tag"] for item in images_doc.get("images", [])}
            | {item["image"] for item in images_doc.get("services", [])})


def split_documents(text):
    """[(document, marked)] of a YAML stream; marked = carries the unlisted-image marker.

    A marker in a file's leading comment block marks every document of the file;
    anywhere else it marks the document it sits in.
    """
    chunks = re.split(r"(?m)^---[ \t]*$", text)
    header = []
    for line in text.splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            break
        header.append(line.strip())
    whole_file = UNLISTED_MARKER in header
    docs = []
    for chunk in chunks:
        doc = yaml.safe_load(chunk)
        if doc is not None:
            marked = whole_file or any(l.strip() == UNLISTED_MARKER for l in chunk.splitlines())
            docs.append((doc, marked))
    return docs


def manifest_files():
    return sorted(p for p in MANIFESTS.rglob("*") if p.suffix in (".yaml", ".yml"))


@lru_cache(maxsize=None)
def all_objects():
    """Every object of every manifest file, for cross-file references."""
    return [doc for path in manifest_files() for doc, _ in split_documents(path.read_text())
            if isinstance(doc, dict)]


def kind_node_ports(kind_cfg):
    return {m.get("containerPort") for n in kind_cfg.get("nodes", [])
            for m in n.get("extraPortMappings", [])}


def kind_k8s_minor(kind_cfg):
    image = kind_cfg["nodes"][0]["image"]
    return re.match(r"kindest/node:v(\d+\.\d+)", image).group(1)


KIND = load_yaml(CLUSTER / "kind.yaml")
IMAGES = load_yaml(CLUSTER / "images.yaml")
# Pinned: the minor the kind node image runs (kind.yaml), and the newest the installed
# kubernetes-validate 1.37 ships, so a field removed upstream shows up early.
K8S_VERSIONS = ("1.36", "1.37")


# --------------------------------------------------------------------------- schema

def gateway_api_schemas():
    """JSON schemas for the Gateway API fields the labs use (gateway.networking.k8s.io/v1)."""
    name = {"type": "string", "pattern": r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", "maxLength": 253}
    port = {"type": "integer", "minimum": 1, "maximum": 65535}
    metadata = {"type": "object", "required": ["name"],
                "properties": {"name": name, "namespace": name, "labels": {"type": "object"},
                               "annotations": {"type": "object"}},
                "additionalProperties": False}

    def obj(kind, spec):
        return {"type": "object", "required": ["apiVersion", "kind", "metadata", "spec"],
                "properties": {"apiVersion": {"const": f"{GATEWAY_GROUP}/v1"},
                               "kind": {"const": kind}, "metadata": metadata, "spec": spec},
                "additionalProperties": False}

    listener = {"type": "object", "required": ["name", "port", "protocol"],
                "properties": {"name": name, "hostname": {"type": "string"}, "port": port,
                               "protocol": {"enum": ["HTTP", "HTTPS", "TLS", "TCP", "UDP"]},
                               "tls": {"type": "object"}, "allowedRoutes": {"type": "object"}},
                "additionalProperties": False}
    parent_ref = {"type": "object", "required": ["name"],
                  "properties": {"group": {"type": "string"}, "kind": {"type": "string"},
                                 "namespace": name, "name": name,
                                 "sectionName": name, "port": port},
                  "additionalProperties": False}
    backend_ref = {"type": "object", "required": ["name", "port"],
                   "properties": {"group": {"type": "string"}, "kind": {"type": "string"},
                                  "namespace": name, "name": name, "port": port,
                                  "weight": {"type": "integer", "minimum": 0,
                                             "maximum": 1000000},
                                  "filters": {"type": "array"}},
                   "additionalProperties": False}
    rule = {"type": "object",
            "properties": {"name": name, "matches": {"type": "array"},
                           "filters": {"type": "array"}, "timeouts": {"type": "object"},
                           "retry": {"type": "object"}, "sessionPersistence": {"type": "object"},
                           "backendRefs": {"type": "array", "items": backend_ref,
                                           "maxItems": 16}},
            "additionalProperties": False}
    gateway = obj("Gateway", {
        "type": "object", "required": ["gatewayClassName", "listeners"],
        "properties": {"gatewayClassName": name,
                       "listeners": {"type": "array", "items": listener,
                                     "minItems": 1, "maxItems": 64},
                       "addresses": {"type": "array"}, "infrastructure": {"type": "object"},
                       "allowedListeners": {"type": "object"}, "tls": {"type": "object"}},
        "additionalProperties": False})
    route = obj("HTTPRoute", {
        "type": "object", "required": ["parentRefs", "rules"],
        "properties": {"parentRefs": {"type": "array", "items": parent_ref,
                                      "minItems": 1, "maxItems": 32},
                       "hostnames": {"type": "array", "items": {"type": "string"}},
                       "rules": {"type": "array", "items": rule, "minItems": 1,
                                 "maxItems": 16}},
        "additionalProperties": False})
    return {"Gateway": gateway, "HTTPRoute": route}


GATEWAY_SCHEMAS = gateway_api_schemas()


def schema_problems(doc, version):
    """Schema errors of one object: kubernetes-validate for built-in kinds, ours for Gateway API."""
    if not isinstance(doc, dict) or not all(doc.get(k) for k in ("apiVersion", "kind")):
        return ["not a Kubernetes object (needs apiVersion and kind)"]
    api, kind = doc["apiVersion"], doc["kind"]
    if api.startswith(GATEWAY_GROUP + "/"):
        if kind not in GATEWAY_SCHEMAS:
            return [f"{api} {kind}: no offline check for this Gateway API kind; "
                    "add one to tests/unit/test_cluster_files.py"]
        validator = jsonschema.Draft202012Validator(GATEWAY_SCHEMAS[kind])
        problems = [f"{kind}: {'.'.join(map(str, e.absolute_path)) or '<root>'}: {e.message}"
                    for e in validator.iter_errors(doc)]
        if kind == "Gateway" and not problems:
            names = [listener["name"] for listener in doc["spec"]["listeners"]]
            if len(set(names)) != len(names):
                problems.append(f"Gateway: listener names repeat: {names}")
        return problems
    try:
        kv.validate(doc, version, strict=True)  # strict: an unknown (misspelt) field fails
    except kv.ValidationError as e:
        return [f"{kind} against Kubernetes {e.version}: "
                f"{'.'.join(map(str, e.path)) or '<root>'}: {e.message}"]
    except kv.SchemaNotFoundError as e:
        return [f"{e.message}: not a built-in kind, and no offline check for it here"]
    return []


# --------------------------------------------------------------------------- policy

def pod_spec_of(doc):
    kind, spec = doc.get("kind"), doc.get("spec") or {}
    if kind == "Pod":
        return spec
    if kind in ("Deployment", "ReplicaSet", "StatefulSet", "DaemonSet", "Job"):
        return (spec.get("template") or {}).get("spec") or {}
    if kind == "CronJob":
        return spec.get("jobTemplate", {}).get("spec", {}).get("template", {}).get("spec", {})
    return None


def container_problems(where, container, pod_security, tags, marked):
    problems = []
    image = container.get("image")
    if image not in tags and not marked:
        problems.append(f"{where}: image {image!r} is not listed in cluster/images.yaml (add it "
                        f"there, or mark a deliberate bad example with {UNLISTED_MARKER!r})")
    resources = container.get("resources") or {}
    for part in ("requests", "limits"):
        missing = {"cpu", "memory"} - set(resources.get(part) or {})
        if missing:
            problems.append(f"{where}: resources.{part} lacks {', '.join(sorted(missing))}")
    security = container.get("securityContext") or {}
    effective = {**pod_security, **security}  # container settings override the pod's
    if effective.get("runAsNonRoot") is not True:
        problems.append(f"{where}: securityContext.runAsNonRoot must be true")
    if effective.get("runAsUser") == 0:
        problems.append(f"{where}: runAsUser 0 is root")
    if security.get("allowPrivilegeEscalation") is not False:
        problems.append(f"{where}: securityContext.allowPrivilegeEscalation must be false")
    if security.get("readOnlyRootFilesystem") is not True:
        problems.append(f"{where}: securityContext.readOnlyRootFilesystem must be true")
    if str(image).startswith("releaselab/web:"):
        problems += app_env_problems(where, container)
    return problems


def app_env_problems(where, container):
    """The demo app's env names must be rows of the README table, literal values parse."""
    problems, literal = [], {}
    for var in container.get("env") or []:
        if var.get("name") not in VARIABLES:
            problems.append(f"{where}: env {var.get('name')!r} is not a variable of the demo "
                            f"app (cluster/app/README.md: {', '.join(VARIABLES)})")
        elif "value" in var:
            literal[var["name"]] = str(var["value"])
    try:
        SERVER.parse_config({"VERSION": "x", **literal})
    except SERVER.ConfigError as e:
        problems.append(f"{where}: {e}")
    for probe in ("readinessProbe", "livenessProbe", "startupProbe"):
        path = ((container.get(probe) or {}).get("httpGet") or {}).get("path")
        if path is not None and path.split("?")[0] not in APP_PATHS:
            problems.append(f"{where}: {probe} path {path!r} is not an endpoint of the demo "
                            f"app ({', '.join(sorted(APP_PATHS))})")
    return problems


def policy_problems(doc, tags, node_ports, marked=False):
    """The kit's rules for one object (tags: images.yaml's; node_ports: kind.yaml's)."""
    kind, meta = doc.get("kind"), doc.get("metadata") or {}
    name = f"{kind}/{meta.get('name')}"
    problems = []
    if (meta.get("labels") or {}).get(MANAGED_BY[0]) != MANAGED_BY[1]:
        problems.append(f"{name}: needs label {MANAGED_BY[0]}: {MANAGED_BY[1]} "
                        "(the kube backend only touches objects it labelled)")
    if kind not in CLUSTER_SCOPED and meta.get("namespace") != NAMESPACE:
        problems.append(f"{name}: metadata.namespace must be {NAMESPACE!r}, "
                        f"not {meta.get('namespace')!r}")
    pod_spec = pod_spec_of(doc)
    if pod_spec is not None:
        template = (doc.get("spec") or {}).get("template") or {}
        if kind != "Pod" and ((template.get("metadata") or {}).get("labels") or {}).get(
                MANAGED_BY[0]) != MANAGED_BY[1]:
            problems.append(f"{name}: the pod template needs label {MANAGED_BY[0]}: "
                            f"{MANAGED_BY[1]} too")
        containers = (pod_spec.get("initContainers") or []) + (pod_spec.get("containers") or [])
        if not containers:
            problems.append(f"{name}: no containers")
        pod_security = pod_spec.get("securityContext") or {}
        for c in containers:
            problems += container_problems(f"{name} container {c.get('name')}", c,
                                           pod_security, tags, marked)
        images = {c.get("image") for c in containers}
        if marked and images <= tags:
            problems.append(f"{name}: marked {UNLISTED_MARKER!r} but every image is listed; "
                            "drop the marker")
    if kind == "Service":
        spec = doc.get("spec") or {}
        for port in spec.get("ports") or []:
            node_port = port.get("nodePort")
            if node_port is None and spec.get("type") == "NodePort":
                problems.append(f"{name}: a NodePort Service must set nodePort (one of "
                                f"{sorted(node_ports)}) so the host's mapping reaches it")
            elif node_port is not None and node_port not in node_ports:
                problems.append(f"{name}: nodePort {node_port} is not mapped by "
                                f"cluster/kind.yaml ({sorted(node_ports)})")
    return problems


def file_problems(docs):
    """Within one file: an object defined twice, a nodePort used twice."""
    problems, seen, node_ports = [], set(), []
    for doc, _ in docs:
        key = (doc.get("kind"), (doc.get("metadata") or {}).get("name"))
        if key in seen:
            problems.append(f"{key[0]}/{key[1]} is defined twice in one file")
        seen.add(key)
        if doc.get("kind") == "Service":
            node_ports += [p["nodePort"] for p in doc.get("spec", {}).get("ports", [])
                           if "nodePort" in p]
    repeated = {p for p in node_ports if node_ports.count(p) > 1}
    if repeated:
        problems.append(f"nodePort {sorted(repeated)} used twice in one file")
    return problems


def reference_problems(doc, objects):
    """An HTTPRoute's parentRefs name a Gateway, its backendRefs a Service port, among objects."""
    if doc.get("kind") != "HTTPRoute":
        return []
    problems = []
    gateways = {o["metadata"]["name"] for o in objects if o.get("kind") == "Gateway"}
    services = {o["metadata"]["name"]: {p.get("port") for p in o.get("spec", {}).get("ports", [])}
                for o in objects if o.get("kind") == "Service"}
    spec = doc.get("spec") or {}
    for ref in spec.get("parentRefs") or []:
        if ref.get("kind", "Gateway") == "Gateway" and ref.get("name") not in gateways:
            problems.append(f"HTTPRoute/{doc['metadata']['name']}: parentRef "
                            f"{ref.get('name')!r} is no Gateway in cluster/manifests/")
    for rule in spec.get("rules") or []:
        for ref in rule.get("backendRefs") or []:
            if ref.get("kind", "Service") != "Service":
                continue
            if ref.get("name") not in services:
                problems.append(f"HTTPRoute/{doc['metadata']['name']}: backendRef "
                                f"{ref.get('name')!r} is no Service in cluster/manifests/")
            elif ref.get("port") not in services[ref["name"]]:
                problems.append(f"HTTPRoute/{doc['metadata']['name']}: Service "
                                f"{ref['name']!r} has no port {ref.get('port')}")
    return problems


# --------------------------------------------------------------------------- other files

def kind_problems(cfg):
    problems = []
    for key, want in (("kind", "Cluster"), ("apiVersion", "kind.x-k8s.io/v1alpha4"),
                      ("name", "releaselab")):
        if cfg.get(key) != want:
            problems.append(f"{key} must be {want!r}, not {cfg.get(key)!r}")
    nodes = cfg.get("nodes") or []
    roles = sorted(n.get("role") for n in nodes)
    if roles != ["control-plane", "worker", "worker"]:
        problems.append(f"nodes must be one control-plane and two workers, not {roles}")
    images = {n.get("image") for n in nodes}
    for image in images:
        if not re.fullmatch(r"kindest/node:v\d+\.\d+\.\d+(@sha256:[0-9a-f]{64})?", str(image)):
            problems.append(f"node image {image!r} is not pinned to a kindest/node:vX.Y.Z tag")
    if len(images) > 1:
        problems.append(f"nodes run different images: {sorted(map(str, images))}")
    for node in nodes:
        mappings = node.get("extraPortMappings") or []
        if node.get("role") != "control-plane" and mappings:
            problems.append("only the control-plane maps ports (host ports cannot repeat)")
        for m in mappings:
            if m.get("hostPort") != m.get("containerPort"):
                problems.append(f"mapping {m}: hostPort must equal containerPort")
            if m.get("listenAddress") != "127.0.0.1":
                problems.append(f"mapping {m}: listenAddress must be 127.0.0.1")
            if m.get("protocol", "TCP") != "TCP":
                problems.append(f"mapping {m}: protocol must be TCP")
    if kind_node_ports(cfg) != EXPECTED_NODE_PORTS:
        problems.append(f"mapped ports {sorted(kind_node_ports(cfg), key=str)} must be "
                        f"{sorted(EXPECTED_NODE_PORTS)}")
    return problems


def images_problems(doc, variables, dockerfile_args):
    problems, tags = [], []
    for i, item in enumerate(doc.get("images") or []):
        tag, args = item.get("tag"), item.get("args") or {}
        tags.append(tag)
        if not re.fullmatch(r"releaselab/web:[A-Za-z0-9][A-Za-z0-9._-]*", str(tag)):
            problems.append(f"images[{i}]: tag {tag!r} is not releaselab/web:<version>")
        for key, value in args.items():
            if key not in variables:
                problems.append(f"{tag}: arg {key} is not a variable of the README table")
            elif key not in dockerfile_args:
                problems.append(f"{tag}: arg {key} has no ARG in the Dockerfile")
            if not isinstance(value, str):
                problems.append(f"{tag}: arg {key} must be a quoted string, not {value!r}")
        if str(args.get("VERSION")) != str(tag).partition(":")[2]:
            problems.append(f"{tag}: VERSION {args.get('VERSION')!r} must match the tag")
        try:
            SERVER.parse_config({k: str(v) for k, v in args.items()})
        except SERVER.ConfigError as e:
            problems.append(f"{tag}: {e}")
    repeated = sorted({t for t in tags if tags.count(t) > 1})
    if repeated:
        problems.append(f"tags listed more than once: {repeated}")
    if not tags:
        problems.append("no images listed")
    return problems


def dockerfile_instructions(text):
    """[(INSTRUCTION, arguments)] with comments dropped and continuation lines joined."""
    logical, current = [], ""
    for line in text.splitlines():
        if not current and (not line.strip() or line.lstrip().startswith("#")):
            continue
        if line.lstrip().startswith("#"):
            continue  # a comment inside a continued instruction
        current += line.rstrip()
        if current.endswith("\\"):
            current = current[:-1] + " "
            continue
        logical.append(current.strip())
        current = ""
    if current:
        logical.append(current.strip())
    return [(ins.split(None, 1)[0].upper(), ins.split(None, 1)[1] if " " in ins else "")
            for ins in logical]


def dockerignore_keeps(patterns, path):
    keep = True
    for pattern in patterns:
        negate = pattern.startswith("!")
        if fnmatch.fnmatch(path, pattern.lstrip("!")):
            keep = negate
    return keep


def dockerfile_problems(text, variables, dockerignore=""):
    problems = []
    ins = dockerfile_instructions(text)
    kinds = [i for i, _ in ins]
    args, envs = {}, {}
    for name, rest in ins:
        if name == "ARG":
            key, _, default = rest.partition("=")
            args[key.strip()] = default.strip() if "=" in rest else None
        if name == "ENV":
            for pair in rest.split():
                key, _, value = pair.partition("=")
                envs[key] = value
    froms = [rest for name, rest in ins if name == "FROM"]
    if froms != ["python:3.12-slim"]:
        problems.append(f"FROM must be the one slim base python:3.12-slim, not {froms}")
    if envs.get("PYTHONDONTWRITEBYTECODE") != "1":
        problems.append("ENV PYTHONDONTWRITEBYTECODE=1 needed (read-only root filesystem)")
    users = [rest for name, rest in ins if name == "USER"]
    if not users or not re.fullmatch(r"10001(:10001)?", users[-1]):
        problems.append(f"USER must be the numeric non-root 10001, not {users}")
    for name in ("CMD", "ENTRYPOINT"):
        for rest in (r for n, r in ins if n == name):
            try:
                if not isinstance(json.loads(rest), list):
                    raise ValueError
            except ValueError:
                problems.append(f"{name} {rest} must be exec form (a JSON list) so SIGTERM "
                                "reaches python")
    if "CMD" not in kinds and "ENTRYPOINT" not in kinds:
        problems.append("no CMD")
    exposed = [rest for name, rest in ins if name == "EXPOSE"]
    if exposed != [variables.get("PORT")] or envs.get("PORT") != variables.get("PORT"):
        problems.append(f"EXPOSE {exposed} and ENV PORT={envs.get('PORT')!r} must both be the "
                        f"README's port {variables.get('PORT')}")
    if "VERSION" not in args:
        problems.append("ARG VERSION missing (every tag bakes its version)")
    for key, default in args.items():
        if key not in variables:
            problems.append(f"ARG {key} is not a variable of the README table")
        elif key != "VERSION" and default != variables[key]:
            problems.append(f"ARG {key}={default} but the README's default is {variables[key]}")
        if envs.get(key) != "${%s}" % key:
            problems.append(f"ARG {key} is not turned into ENV {key}=${{{key}}}")
    patterns = [p.strip() for p in dockerignore.splitlines()
                if p.strip() and not p.strip().startswith("#")]
    for rest in (r for n, r in ins if n == "COPY"):
        for source in rest.split()[:-1]:
            if not source.startswith("--") and not dockerignore_keeps(patterns, source):
                problems.append(f"COPY {source}: excluded by .dockerignore")
    return problems


# --------------------------------------------------------------------------- the real files

MANIFEST_FILES = manifest_files()
IDS = [str(p.relative_to(MANIFESTS)) for p in MANIFEST_FILES]


def test_there_are_manifests_to_check():
    assert MANIFEST_FILES, "no YAML under cluster/manifests/"


@pytest.fixture
def no_network(monkeypatch):
    """Validation must work offline: any connection attempt fails the test."""
    def refuse(*args, **kwargs):
        raise AssertionError("a validation step tried to use the network")
    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


def test_schema_versions_are_shipped_and_match_the_cluster():
    shipped = {".".join(v.split(".")[:2]) for v in kv.all_versions()}
    assert set(K8S_VERSIONS) <= shipped, f"kubernetes-validate ships {sorted(shipped)}"
    assert kind_k8s_minor(KIND) == K8S_VERSIONS[0], "re-pin K8S_VERSIONS with the node image"
    assert min(Version(v) for v in K8S_VERSIONS) >= Version("1.34")


@pytest.mark.parametrize("version", K8S_VERSIONS)
@pytest.mark.parametrize("path", MANIFEST_FILES, ids=IDS)
def test_manifest_schema(path, version, no_network):
    docs = split_documents(path.read_text())
    assert docs, f"{path} holds no YAML document"
    problems = [p for doc, _ in docs for p in schema_problems(doc, version)]
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("path", MANIFEST_FILES, ids=IDS)
def test_manifest_policy(path):
    docs = split_documents(path.read_text())
    tags, ports = listed_tags(IMAGES), kind_node_ports(KIND)
    problems = [p for doc, marked in docs for p in policy_problems(doc, tags, ports, marked)]
    problems += file_problems(docs)
    problems += [p for doc, _ in docs for p in reference_problems(doc, all_objects())]
    assert not problems, "\n".join(problems)


def test_kind_config():
    assert not kind_problems(KIND), "\n".join(kind_problems(KIND))


def test_images_file():
    args = {rest.partition("=")[0].strip() for name, rest in
            dockerfile_instructions((APP / "Dockerfile").read_text()) if name == "ARG"}
    problems = images_problems(IMAGES, VARIABLES, args)
    build = IMAGES.get("build") or {}
    context = CLUSTER / build.get("context", "")
    if not (context / build.get("dockerfile", "Dockerfile")).is_file():
        problems.append(f"build.context/dockerfile {build} does not name the app's Dockerfile")
    assert not problems, "\n".join(problems)


def test_dockerfile():
    problems = dockerfile_problems((APP / "Dockerfile").read_text(), VARIABLES,
                                   (APP / ".dockerignore").read_text())
    assert not problems, "\n".join(problems)


def test_readme_table_is_what_the_server_implements():
    assert {"VERSION", "POD_NAME", "PORT", "STARTUP_SECONDS", "ERROR_RATE", "LATENCY_MS",
            "NEVER_READY", "SHUTDOWN", "DRAIN_SECONDS", "SEED"} <= set(VARIABLES)
    assert APP_PATHS == {"/", "/healthz", "/readyz"}
    # The server's defaults are the README's literal defaults.
    cfg = SERVER.parse_config({"VERSION": "x"})
    literal = {k: v for k, v in VARIABLES.items() if v is not None}
    fields = {"PORT": cfg.port, "STARTUP_SECONDS": cfg.startup_seconds,
              "ERROR_RATE": cfg.error_rate, "LATENCY_MS": cfg.latency_ms,
              "NEVER_READY": "1" if cfg.never_ready else "0", "SHUTDOWN": cfg.shutdown,
              "DRAIN_SECONDS": cfg.drain_seconds, "SEED": cfg.seed,
              "SCHEMA": cfg.state.schema, "MIGRATE": cfg.state.migrate,
              "SESSION_STORE": cfg.state.session_store,
              "READY_FILE": cfg.ready_file}
    for name, default in literal.items():
        assert str(fields[name]) in (default, f"{default}.0"), name


# --------------------------------------------------------------------------- each check can fail

GOOD_DEPLOYMENT = yaml.safe_load("""
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: releaselab
  labels: {app: web, app.kubernetes.io/managed-by: releaselab}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata:
      labels: {app: web, app.kubernetes.io/managed-by: releaselab}
    spec:
      securityContext: {runAsNonRoot: true, runAsUser: 10001}
      containers:
        - name: web
          image: releaselab/web:1.0
          env: [{name: STARTUP_SECONDS, value: "2"}]
          readinessProbe: {httpGet: {path: /readyz, port: 8080}}
          resources:
            requests: {cpu: 50m, memory: 32Mi}
            limits: {cpu: 200m, memory: 64Mi}
          securityContext:
            allowPrivilegeEscalation: false
            readOnlyRootFilesystem: true
""")
TAGS = {"releaselab/web:1.0"}


def edit(doc, dotted, value):
    """A copy of doc with the field at a JSON-pointer-like path ("a/0/b", ~1 for a "/") set or
    deleted (value DELETE)."""
    doc = copy.deepcopy(doc)
    keys = [k.replace("~1", "/") for k in dotted.split("/")]
    *parents, last = [int(k) if k.isdigit() else k for k in keys]
    target = doc
    for key in parents:
        target = target[key]
    if value is DELETE:
        del target[last]
    else:
        target[last] = value
    return doc


DELETE = object()
C = "spec/template/spec/containers/0"


def test_good_deployment_passes_every_check():
    assert schema_problems(GOOD_DEPLOYMENT, K8S_VERSIONS[0]) == []
    assert policy_problems(GOOD_DEPLOYMENT, TAGS, EXPECTED_NODE_PORTS) == []


@pytest.mark.parametrize("dotted,value,expected", [
    (f"{C}/resources/limits", DELETE, "resources.limits"),
    (f"{C}/resources/requests/memory", DELETE, "resources.requests lacks memory"),
    ("spec/template/spec/securityContext/runAsNonRoot", False, "runAsNonRoot"),
    (f"{C}/securityContext/allowPrivilegeEscalation", True, "allowPrivilegeEscalation"),
    (f"{C}/securityContext/readOnlyRootFilesystem", DELETE, "readOnlyRootFilesystem"),
    (f"{C}/image", "releaselab/web:9.9", "not listed in cluster/images.yaml"),
    ("metadata/namespace", "default", "metadata.namespace"),
    ("metadata/labels/app.kubernetes.io~1managed-by", DELETE, "needs label"),
    ("spec/template/metadata/labels", {"app": "web"}, "pod template needs label"),
    (f"{C}/env/0/name", "STARTUP_SECOND", "not a variable of the demo app"),
    (f"{C}/env/0/value", "soon", "STARTUP_SECONDS='soon' is invalid"),
    (f"{C}/readinessProbe/httpGet/path", "/ready", "not an endpoint"),
])
def test_policy_catches_a_broken_deployment(dotted, value, expected):
    problems = policy_problems(edit(GOOD_DEPLOYMENT, dotted, value), TAGS, EXPECTED_NODE_PORTS)
    assert any(expected in p for p in problems), problems


@pytest.mark.parametrize("dotted,value,expected", [
    ("spec/replicaz", 2, "'replicaz' was unexpected"),
    ("spec/replicas", "two", "spec.replicas"),
    (f"{C}/resources/limitz", {}, "'limitz' was unexpected"),
    ("kind", "Deploymint", "Couldn't find schema"),
])
def test_schema_catches_a_broken_deployment(dotted, value, expected, no_network):
    problems = schema_problems(edit(GOOD_DEPLOYMENT, dotted, value), K8S_VERSIONS[-1])
    assert any(expected in p for p in problems), problems


def test_unlisted_image_marker():
    unlisted = edit(GOOD_DEPLOYMENT, f"{C}/image", "releaselab/web:4.0")
    assert any("not listed" in p for p in policy_problems(unlisted, TAGS, EXPECTED_NODE_PORTS))
    assert policy_problems(unlisted, TAGS, EXPECTED_NODE_PORTS, marked=True) == []
    stale = policy_problems(GOOD_DEPLOYMENT, TAGS, EXPECTED_NODE_PORTS, marked=True)
    assert any("drop the marker" in p for p in stale)
    text = yaml.safe_dump(GOOD_DEPLOYMENT)
    marked_file = f"# Lab: a typo'd tag\n{UNLISTED_MARKER}\n{text}---\n{text}"
    assert [m for _, m in split_documents(marked_file)] == [True, True]
    marked_second = f"# Lab\n{text}---\n{UNLISTED_MARKER}\n{text}"
    assert [m for _, m in split_documents(marked_second)] == [False, True]


def service(**port):
    return {"apiVersion": "v1", "kind": "Service",
            "metadata": {"name": "web", "namespace": "releaselab",
                         "labels": dict([MANAGED_BY])},
            "spec": {"type": "NodePort", "selector": {"app": "web"},
                     "ports": [{"port": 80, "targetPort": 8080, **port}]}}


def test_node_ports_must_be_mapped_by_kind():
    assert policy_problems(service(nodePort=30081), TAGS, EXPECTED_NODE_PORTS) == []
    assert any("not mapped" in p for p in
               policy_problems(service(nodePort=30500), TAGS, EXPECTED_NODE_PORTS))
    assert any("must set nodePort" in p for p in
               policy_problems(service(), TAGS, EXPECTED_NODE_PORTS))
    twice = [(service(nodePort=30080), False), (edit(service(nodePort=30080),
                                                     "metadata/name", "web-2"), False)]
    assert any("used twice" in p for p in file_problems(twice))


GATEWAY = {"apiVersion": "gateway.networking.k8s.io/v1", "kind": "Gateway",
           "metadata": {"name": "web", "namespace": "releaselab"},
           "spec": {"gatewayClassName": "cloud-provider-kind",
                    "listeners": [{"name": "http", "port": 80, "protocol": "HTTP"}]}}
ROUTE = {"apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute",
         "metadata": {"name": "web", "namespace": "releaselab"},
         "spec": {"parentRefs": [{"name": "web"}],
                  "rules": [{"backendRefs": [{"name": "web", "port": 80, "weight": 90},
                                             {"name": "web", "port": 80, "weight": 10}]}]}}


@pytest.mark.parametrize("doc,dotted,value,expected", [
    (ROUTE, "spec/rules/0/backendRefs/1/weight", -1, "less than the minimum"),
    (ROUTE, "spec/rules/0/backendRefs/0/port", DELETE, "'port' is a required property"),
    (ROUTE, "spec/rules/0/backendRefs/0/wieght", 5, "'wieght' was unexpected"),
    (ROUTE, "spec/parentRefs", [], "should be non-empty"),
    (ROUTE, "spec/parentRefs", DELETE, "'parentRefs' is a required property"),
    (ROUTE, "apiVersion", "gateway.networking.k8s.io/v1beta1", "was expected"),
    (GATEWAY, "spec/listeners/0/port", 0, "less than the minimum"),
    (GATEWAY, "spec/listeners", [], "should be non-empty"),
    (GATEWAY, "spec/listeners/0/protocol", "HTTP2", "is not one of"),
    (GATEWAY, "spec/gatewayClassName", DELETE, "'gatewayClassName' is a required property"),
    (GATEWAY, "kind", "GRPCRoute", "no offline check"),
])
def test_gateway_api_checks_catch_broken_objects(doc, dotted, value, expected):
    assert schema_problems(doc, K8S_VERSIONS[-1]) == []
    problems = schema_problems(edit(doc, dotted, value), K8S_VERSIONS[-1])
    assert any(expected in p for p in problems), problems


def test_route_references_must_resolve():
    objects = [GATEWAY, service(nodePort=30080)]
    assert reference_problems(ROUTE, objects) == []
    assert any("no Gateway" in p for p in
               reference_problems(edit(ROUTE, "spec/parentRefs/0/name", "gw"), objects))
    assert any("no Service" in p for p in reference_problems(
        edit(ROUTE, "spec/rules/0/backendRefs/0/name", "web-canary"), objects))
    assert any("has no port 8080" in p for p in reference_problems(
        edit(ROUTE, "spec/rules/0/backendRefs/0/port", 8080), objects))


@pytest.mark.parametrize("dotted,value,expected", [
    ("nodes/1/image", "kindest/node:latest", "not pinned"),
    ("nodes/0/image", "kindest/node", "not pinned"),
    ("nodes/2/role", "control-plane", "one control-plane and two workers"),
    ("nodes/0/extraPortMappings/1/hostPort", 8081, "hostPort must equal containerPort"),
    ("nodes/0/extraPortMappings/0/listenAddress", "0.0.0.0", "127.0.0.1"),
    ("nodes/0/extraPortMappings/2", DELETE, "mapped ports"),
    ("name", "kind", "name must be 'releaselab'"),
])
def test_kind_checks_catch_a_broken_config(dotted, value, expected):
    broken = edit(KIND, dotted, value)
    assert any(expected in p for p in kind_problems(broken)), kind_problems(broken)


@pytest.mark.parametrize("change,expected", [
    (lambda d: d["images"].append(dict(d["images"][0])), "more than once"),
    (lambda d: d["images"][0]["args"].update(COLOUR="blue"), "not a variable of the README"),
    (lambda d: d["images"][0]["args"].update(POD_NAME="x"), "has no ARG in the Dockerfile"),
    (lambda d: d["images"][0]["args"].update(ERROR_RATE=0.3), "must be a quoted string"),
    (lambda d: d["images"][0]["args"].update(ERROR_RATE="lots"), "ERROR_RATE='lots'"),
    (lambda d: d["images"][0]["args"].update(VERSION="7.0"), "must match the tag"),
    (lambda d: d["images"][0].update(tag="web:1.0"), "is not releaselab/web"),
])
def test_images_checks_catch_a_broken_file(change, expected):
    args = {k for k in VARIABLES if k not in ("PORT", "POD_NAME")}
    assert images_problems(IMAGES, VARIABLES, args) == []
    broken = copy.deepcopy(IMAGES)
    change(broken)
    problems = images_problems(broken, VARIABLES, args)
    assert any(expected in p for p in problems), problems


def test_readme_parser_sees_a_new_row():
    extra = README.replace("| `SEED` |", "| `COLOUR` | `blue` | paints it |\n| `SEED` |")
    assert readme_variables(extra)["COLOUR"] == "blue"
    assert readme_variables(README)["SHUTDOWN"] == "graceful"
    assert readme_variables(README)["VERSION"] is None  # "baked per image", no literal


@pytest.mark.parametrize("old,new,expected", [
    ('CMD ["python", "/app/server.py"]', "CMD python /app/server.py", "exec form"),
    ("USER 10001:10001", "USER root", "USER must be"),
    ("ARG LATENCY_MS=5", "ARG LATENCY_MS=50", "README's default is 5"),
    ("PYTHONDONTWRITEBYTECODE=1", "PYTHONDONTWRITEBYTECODE=0", "PYTHONDONTWRITEBYTECODE"),
    ("EXPOSE 8080", "EXPOSE 80", "EXPOSE"),
    ("FROM python:3.12-slim", "FROM python:3.12", "python:3.12-slim"),
    ("    SEED=${SEED} \\\n", "", "ARG SEED is not turned into ENV"),
    ("ARG SEED=0", "ARG SEED=0\nARG COLOUR=blue", "ARG COLOUR is not a variable"),
])
def test_dockerfile_checks_catch_a_broken_file(old, new, expected):
    text = (APP / "Dockerfile").read_text()
    assert old in text
    problems = dockerfile_problems(text.replace(old, new), VARIABLES, "*\n!server.py\n")
    assert any(expected in p for p in problems), problems
    assert any("excluded by .dockerignore" in p
               for p in dockerfile_problems(text, VARIABLES, "*\n"))


# --------------------------------------------------------------------------- the images, run

def image_env(dockerfile_text, build_args):
    """The environment an image built with these --build-arg values starts with.

    As `docker build` does it: each ARG takes its build arg or its default, and ENV
    substitutes ${ARG}; build args the Dockerfile does not declare are dropped.
    """
    args, env = {}, {}
    for name, rest in dockerfile_instructions(dockerfile_text):
        if name == "ARG":
            key, has_default, default = rest.partition("=")
            args[key] = build_args.get(key, default if has_default else "")
        elif name == "ENV":
            for pair in rest.split():
                key, _, value = pair.partition("=")
                env[key] = re.sub(r"\$\{(\w+)\}", lambda m: args.get(m.group(1), ""), value)
    return env




def test_each_image_tag_serves_its_version_and_error_rate(tmp_path):
    """Every images.yaml tag, its env derived through the Dockerfile, run as a local process."""
    dockerfile = (APP / "Dockerfile").read_text()
    procs = {}
    try:
        for item in IMAGES["images"]:
            port = free_port()
            # The image's env, except PORT: every local copy needs its own free port.
            env = {**image_env(dockerfile, item.get("args") or {}), "PORT": str(port),
                   "POD_NAME": "web-0", "PATH": ""}
            proc = subprocess.Popen([sys.executable, str(APP / "server.py")], env=env,
                                    stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            procs[item["tag"]] = (proc, port, item.get("args") or {})
        for tag, (proc, port, args) in procs.items():  # they all start (STARTUP_SECONDS) at once
            statuses = []
            deadline = time.monotonic() + 5
            while len(statuses) < 40:
                assert proc.poll() is None, f"{tag} exited: {proc.stderr.read().decode()}"
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
                try:
                    conn.request("GET", "/")
                    resp = conn.getresponse()
                    assert json.loads(resp.read())["version"] == args["VERSION"], tag
                    assert resp.headers["X-Version"] == args["VERSION"], tag
                    statuses.append(resp.status)
                except ConnectionRefusedError:
                    assert time.monotonic() < deadline, f"{tag} never listened"
                    time.sleep(0.05)
                finally:
                    conn.close()
            rate = float(args.get("ERROR_RATE", VARIABLES["ERROR_RATE"]))
            assert abs(statuses.count(500) / len(statuses) - rate) <= 0.15, (tag, statuses)
    finally:
        for proc, _, _ in procs.values():  # by PID
            proc.kill()
            proc.wait(timeout=5)
            proc.stderr.close()
