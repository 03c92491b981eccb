"""Mutated manifests never break the simulator: apply refuses them in one line, or they run.

Hypothesis takes a valid lab manifest and changes it as a student might: a
field set to a value of another type, a number out of range, a random
string, a field removed, an unknown field added.  Then either ``apply``
raises a ReleaseLabError with a one-line message, or it succeeds, and
``wait(60)`` raises nothing but a ReleaseLabError, and every Deployment has
a ReplicaSet.  No other exception, ever: an error surfacing inside ``wait``
is what "failing late" means.
"""

from __future__ import annotations

import copy

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from releaselab import Lab
from releaselab.errors import ReleaseLabError
from releaselab.manifests import load

SOURCES = [load("rolling/web.yaml"), load("shutdown/prestop.yaml"), load("canary/gateway.yaml")]


def _paths(node, prefix=()):
    """Every path into a document: dict keys and list indices."""
    yield prefix
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _paths(value, prefix + (key,))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _paths(value, prefix + (i,))


SCALARS = st.one_of(
    st.none(), st.booleans(),
    st.integers(min_value=-2**40, max_value=2**40),
    st.sampled_from([0, -1, 1, 65535, 65536, 2**31, -2**31 - 1]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20),
    st.sampled_from(["", "web", "Web", "http", "100m", "1Ti", "129e6", "lots", "25%", "150%",
                     "-1", "releaselab/web:3.1", "a" * 300, "TCP", "Always", "In"]),
)
VALUES = st.one_of(SCALARS, st.lists(SCALARS, max_size=3),
                   st.dictionaries(st.text(max_size=8), SCALARS, max_size=3))


@st.composite
def mutated(draw):
    docs = copy.deepcopy(draw(st.sampled_from(SOURCES)))
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        doc = draw(st.sampled_from(docs))
        path = draw(st.sampled_from([p for p in _paths(doc) if p]))
        parent = doc
        for part in path[:-1]:
            parent = parent[part]
        action = draw(st.sampled_from(["set", "set", "delete", "extra"]))
        if action == "set":
            parent[path[-1]] = draw(VALUES)
        elif action == "delete":
            del parent[path[-1]]
        elif isinstance(parent, dict):
            parent[draw(st.text(min_size=1, max_size=10))] = draw(VALUES)
    return docs


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated())
def test_mutated_manifest_is_refused_in_one_line_or_runs(docs):
    lab = Lab(echo=False)
    try:
        lab.apply(docs)
    except ReleaseLabError as exc:
        assert "\n" not in str(exc) and str(exc), repr(exc)
        return
    try:
        lab.wait(60)
    except ReleaseLabError as exc:
        assert "\n" not in str(exc)
    for d in lab.backend.list("Deployment"):
        owned = [rs for rs in lab.backend.list("ReplicaSet")
                 if rs["metadata"]["ownerReferences"][0]["name"] == d["metadata"]["name"]]
        assert owned, f"Deployment {d['metadata']['name']} got no ReplicaSet"
