"""YAML text to plain objects, as kubectl reads a manifest before it sends it.

Three things a plain ``yaml.safe_load_all`` gets wrong for this kit:

- **Size.**  The API server refuses a request body larger than 3 MiB
  (``Request entity too large: limit is 3145728``, the apiserver's
  ``MaxRequestBodyBytes``).  A YAML document can be small as text and huge as
  JSON: the "billion laughs" alias bomb is ten lines whose expansion is
  10**9 strings.  So each document's *expanded* size is measured on the node
  graph, where an alias is the same node object as its anchor: every node's
  size is computed once and memoised, so ten lines cost ten steps, not 10**9.
  Example: ``a: &a [x, x]`` / ``b: &b [*a, *a]`` ... ten levels deep is
  2**10 = 1,024 copies of "x" (~4 KiB of JSON) computed in ten additions.
  A document over the limit is refused before it is ever constructed.
- **Duplicate keys.**  kubectl's YAML decoder refuses them
  (``yaml: unmarshal errors: line 37: mapping key "timeoutSeconds" already
  defined at line 27``); PyYAML silently keeps the last one.
- **Timestamps.**  kubectl turns an unquoted ``2024-01-01`` into the JSON
  string "2024-01-01"; PyYAML makes a ``datetime.date``.  Here it stays a string.

libyaml's C loader is used when PyYAML was built with it (about ten times
faster: 8,000 documents took 5-10 s with the pure-Python loader).
"""

from __future__ import annotations

import yaml

from .errors import ManifestError

#: The API server's request body limit (k8s.io/apiserver MaxRequestBodyBytes: 3 MiB).
MAX_REQUEST_BYTES = 3 * 1024 * 1024

_BASE = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
WITH_LIBYAML = _BASE is not yaml.SafeLoader


class _Loader(_BASE):  # type: ignore[misc, valid-type]
    """The safe loader with timestamps kept as the strings kubectl sends."""


_Loader.add_constructor("tag:yaml.org,2002:timestamp",
                        lambda loader, node: loader.construct_scalar(node))


def parse_documents(text: str, where: str) -> list:
    """Every document of ``text`` as plain Python objects (None for an empty document)."""
    loader = _Loader(text)
    docs = []
    try:
        while loader.check_node():
            node = loader.get_node()
            _check_node_graph(node, where)
            docs.append(loader.construct_document(node))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ManifestError(f"{where} is not valid YAML{at}: {problem}") from None
    finally:
        loader.dispose()
    return docs


def _check_node_graph(root: yaml.Node, where: str) -> None:
    """Refuse a document whose JSON would exceed the request limit, or that repeats a key.

    Iterative (no recursion limit to hit), linear in the number of distinct nodes.
    """
    size: dict[int, int] = {}
    active: set[int] = set()
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        key = id(node)
        if key in size:
            continue
        if isinstance(node, yaml.ScalarNode):
            size[key] = len(node.value) + 2          # a JSON string with its quotes
            continue
        children = _children(node)
        if not children_done:
            if key in active:
                raise ManifestError(f"{where}: a YAML alias refers to the node that contains it "
                                    "(a cycle); JSON cannot hold it")
            active.add(key)
            if isinstance(node, yaml.MappingNode):
                _refuse_duplicate_keys(node, where)
            stack.append((node, True))
            for child in children:
                if id(child) in active and id(child) not in size:
                    raise ManifestError(f"{where}: a YAML alias refers to the node that contains "
                                        "it (a cycle); JSON cannot hold it")
                if id(child) not in size:
                    stack.append((child, False))
            continue
        active.discard(key)
        total = 2 + sum(size[id(c)] + 1 for c in children)
        if total > MAX_REQUEST_BYTES:
            line = node.start_mark.line + 1
            raise ManifestError(
                f"{where}: the document from line {root.start_mark.line + 1} expands to more than "
                f"{MAX_REQUEST_BYTES} bytes of JSON (at the node on line {line}); the API server "
                f"refuses it: Request entity too large: limit is {MAX_REQUEST_BYTES}")
        size[key] = total


def _children(node: yaml.Node) -> list:
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return [part for pair in node.value for part in pair]


def _refuse_duplicate_keys(node: yaml.MappingNode, where: str) -> None:
    seen: dict = {}
    for key_node, _ in node.value:
        if not isinstance(key_node, yaml.ScalarNode) or key_node.tag == "tag:yaml.org,2002:merge":
            continue
        line = key_node.start_mark.line + 1
        first = seen.setdefault(key_node.value, line)
        if first != line:
            raise ManifestError(f"{where}: yaml: unmarshal errors: line {line}: mapping key "
                                f"\"{key_node.value}\" already defined at line {first}")


def json_size(value, limit: int = MAX_REQUEST_BYTES) -> int:
    """Approximate JSON size of a Python object; stops counting once past ``limit``.

    For objects handed in as dicts (no YAML): a dict can hold itself, so a
    cycle is refused here too.
    """
    total = 0
    active: set[int] = set()
    stack: list = [(value, False)]
    while stack:
        item, leaving = stack.pop()
        if leaving:
            active.discard(id(item))
            continue
        if isinstance(item, (dict, list, tuple)):
            if id(item) in active:
                raise ManifestError("an object to apply contains itself (a cycle); JSON cannot "
                                    "hold it")
            active.add(id(item))
            stack.append((item, True))
            parts = [p for kv in item.items() for p in kv] if isinstance(item, dict) else item
            total += 2 + len(parts)
            stack.extend((p, False) for p in parts)
        else:
            total += len(str(item)) + 2
        if total > limit:
            return total
    return total

