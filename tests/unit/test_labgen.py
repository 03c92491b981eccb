"""The labs generator: labs/ is derived from solutions/, answers never leak."""

from __future__ import annotations

import json

import pytest

from releaselab import labgen
from releaselab.errors import LabSourceError


def _nb(*cells):
    return {"cells": list(cells), "metadata": {"kernelspec": {"name": "python3"}},
            "nbformat": 4, "nbformat_minor": 5}


def _code(source, id_, tags=(), outputs=None):
    return {"cell_type": "code", "id": id_, "metadata": {"tags": list(tags)}, "source": source,
            "outputs": outputs or [{"output_type": "stream", "name": "stdout", "text": "42\n"}],
            "execution_count": 3}


def test_solution_blocks_become_runnable_placeholders():
    nb = _nb(_code("x = 1\n# BEGIN SOLUTION\nsurge = 1\nunavailable = 0\n# END SOLUTION\n"
                   "check(surge, unavailable)", "a"))
    cell = labgen.make_lab(nb, "t")["cells"][0]
    assert cell["source"] == ("x = 1\nsurge = ...  # your answer\nunavailable = ...  # your answer\n"
                              "check(surge, unavailable)")
    assert cell["outputs"] == [] and cell["execution_count"] is None and cell["id"] == "a"


def test_a_block_without_assignments_becomes_an_ellipsis():
    nb = _nb(_code("def f():\n    # BEGIN SOLUTION\n    print('x')\n    # END SOLUTION\n", "a"))
    assert labgen.make_lab(nb, "t")["cells"][0]["source"] == \
        "def f():\n    ...  # your answer\n"


def test_solution_cells_are_dropped_and_dependents_refused():
    nb = _nb(_code("answer = 4", "a", tags=["solution"]), _code("print(answer)", "b"))
    with pytest.raises(LabSourceError, match="uses answer, defined only in a cell tagged"):
        labgen.make_lab(nb, "t")
    ok = _nb(_code("answer = 4", "a", tags=["solution"]), _code("answer = 1\nprint(answer)", "b"))
    assert [c["id"] for c in labgen.make_lab(ok, "t")["cells"]] == ["b"]


def test_unclosed_block_is_refused():
    with pytest.raises(LabSourceError, match="never closed"):
        labgen.make_lab(_nb(_code("# BEGIN SOLUTION\nx = 1\n", "a")), "t")


def test_generation_is_deterministic(tmp_path):
    solutions, labs = tmp_path / "solutions", tmp_path / "labs"
    solutions.mkdir()
    (solutions / "01-x.ipynb").write_text(json.dumps(_nb(_code(
        "# BEGIN SOLUTION\nx = 2\n# END SOLUTION\nprint(x)", "a"))))
    assert labgen.generate(solutions, labs) == ["01-x.ipynb"]
    first = (labs / "01-x.ipynb").read_text()
    assert labgen.generate(solutions, labs, check=True) == []
    assert "x = 2" not in first and "42" not in first
    (labs / "01-x.ipynb").write_text(first.replace("your answer", "edited"))
    assert labgen.generate(solutions, labs, check=True) == ["01-x.ipynb"]


def test_committed_labs_are_up_to_date():
    root = labgen.repo_root()
    stale = labgen.generate(root / "solutions", root / "labs", check=True)
    assert stale == [], f"labs/ is stale; run `make labs`: {stale}"


def test_no_answer_leaks_into_committed_labs():
    root = labgen.repo_root()
    for path in sorted((root / "labs").glob("*.ipynb")):
        nb = json.loads(path.read_text())
        for cell in nb["cells"]:
            assert "BEGIN SOLUTION" not in "".join(cell["source"]), path.name
            assert not cell.get("outputs"), f"{path.name}: outputs must be stripped"


def test_committed_notebooks_hold_no_wall_clock_times():
    root = labgen.repo_root()
    for path in sorted([*(root / "labs").glob("*.ipynb"), *(root / "solutions").glob("*.ipynb")]):
        notebook = json.loads(path.read_text())
        assert "widgets" not in notebook["metadata"], f"{path.name}: saved widget state"
        for cell in notebook["cells"]:
            assert "execution" not in cell.get("metadata", {}), f"{path.name}: executor timings"
            for output in cell.get("outputs", []):
                assert labgen.WIDGET_VIEW not in output.get("data", {}), f"{path.name}: widget id"


def test_normalize_joins_a_stream_cut_into_messages_and_keeps_other_outputs_apart():
    out = lambda name, text: {"output_type": "stream", "name": name, "text": text}  # noqa: E731
    image = {"output_type": "display_data", "data": {"text/plain": ["<Figure>"]}, "metadata": {}}
    cell = {"cell_type": "code", "metadata": {}, "source": "", "outputs": [
        out("stdout", ["a\n", "b\n"]), out("stdout", ["c\n"]), out("stderr", ["warn\n"]),
        out("stdout", ["d"]), out("stdout", [" e\n"]), image, out("stdout", ["f\n"])]}
    outputs = labgen.normalize({"cells": [cell]})["cells"][0]["outputs"]
    assert [(o["output_type"], o.get("name"), o.get("text")) for o in outputs] == [
        ("stream", "stdout", ["a\n", "b\n", "c\n"]), ("stream", "stderr", ["warn\n"]),
        ("stream", "stdout", ["d e\n"]), ("display_data", None, None),
        ("stream", "stdout", ["f\n"])]


def test_committed_solutions_store_each_stream_once_in_a_row():
    for path in sorted((labgen.repo_root() / "solutions").glob("*.ipynb")):
        for cell in json.loads(path.read_text())["cells"]:
            kinds = [(o["output_type"], o.get("name")) for o in cell.get("outputs", [])]
            repeats = [k for a, k in zip(kinds, kinds[1:]) if a == k and k[0] == "stream"]
            assert not repeats, f"{path.name}: {cell.get('id')} has split {repeats}"
