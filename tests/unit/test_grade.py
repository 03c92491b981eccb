"""``releaselab grade`` on a synthetic class.

Each submission is executed in a real, fresh kernel: the solution (all pass),
the blank lab (all fail, with a reason), wrong answers (fail), a notebook that
prints "✅" itself (not counted), a deleted exercise cell (missing), loops
(timeout, the rest still graded), a kernel that dies (error).  Most
submissions are small notebooks made of lab 01's own exercise cells, so each
grades in a few seconds.
"""

from __future__ import annotations

import copy
import csv
import json
from pathlib import Path

import pytest

pytest.importorskip("jupyter_client")

from releaselab import cli, grade  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
SOLUTION = ROOT / "solutions" / "01-rolling-update.ipynb"
LAB = ROOT / "labs" / "01-rolling-update.ipynb"
EXERCISE_CELLS = ["setup", "ex1-answer", "ex2-answer", "ex3-answer", "ex4-bad", "ex4-rollback",
                  "ex4-check"]


def _cells(path: Path) -> dict:
    cells = json.loads(path.read_text())["cells"]
    for cell in cells:
        if isinstance(cell["source"], list):
            cell["source"] = "".join(cell["source"])
    return {c["id"]: c for c in cells}


def code(source: str, cell_id: str) -> dict:
    return {"cell_type": "code", "id": cell_id, "metadata": {}, "execution_count": None,
            "outputs": [], "source": source}


def submission(tmp_path: Path, name: str, cells: list, lab: str = "01") -> Path:
    """A notebook of ``cells`` (ids of the solution's cells, or cell dicts)."""
    solved = _cells(SOLUTION)
    body = [copy.deepcopy(solved[c]) if isinstance(c, str) else c for c in cells]
    for cell in body:
        cell["outputs"], cell["execution_count"] = [], None
    notebook = {"cells": body, "metadata": {"releaselab": {"lab": lab}},
                "nbformat": 4, "nbformat_minor": 5}
    path = tmp_path / name
    path.write_text(json.dumps(notebook))
    return path


def statuses(result) -> list:
    return [e.status for e in result.exercises]


def reasons(result) -> dict:
    return {e.id: e.reason for e in result.exercises}


# ---------------------------------------------------------------------------- the done case

def test_solution_passes_and_blank_lab_fails_each_with_a_reason(tmp_path, capsys):
    """The issue's acceptance command: solution 01 and the blank lab 01, with CSV and JSON."""
    out_csv, out_json = tmp_path / "grades.csv", tmp_path / "grades.json"
    code_ = cli.main(["grade", str(SOLUTION), str(LAB), "--csv", str(out_csv),
                      "--json", str(out_json), "--timeout", "60"])
    printed = capsys.readouterr().out
    assert code_ == 0
    rows = list(csv.DictReader(out_csv.open()))
    assert [r["submission"] for r in rows] == [str(SOLUTION), str(LAB)]
    solution, blank = rows
    assert [solution[i] for i in ("01.1", "01.2", "01.3", "01.4")] == ["pass"] * 4
    assert (solution["score"], solution["possible"], solution["percent"]) == ("4", "4", "100.0")
    assert [blank[i] for i in ("01.1", "01.2", "01.3", "01.4")] == ["fail"] * 4
    assert blank["score"] == "0"
    data = json.loads(out_json.read_text())
    blank_json = data["submissions"][1]["exercises"]
    for exercise in blank_json.values():
        assert exercise["status"] == "fail"
        assert exercise["reason"].startswith("not answered yet: ")
        assert "Traceback" not in exercise["reason"]
    # the printed table: one row per submission, and each blank exercise's reason
    assert "solutions/01-rolling-update" in printed and "4/4" in printed and "0/4" in printed
    for exercise_id, exercise in blank_json.items():
        assert f"{exercise_id} fail    {exercise['reason']}" in printed
    assert "Traceback" not in printed


# ---------------------------------------------------------------------------- what is counted

def test_printing_a_tick_counts_for_nothing(tmp_path):
    tick = "print('✅ maxSurge=1, maxUnavailable=0: ready pods never dropped below 4')"
    blank = _cells(LAB)
    path = submission(tmp_path, "forged.ipynb", [
        "setup",
        code(tick, "ex1-answer"),                                  # the check line replaced
        code(blank["ex2-answer"]["source"] + "\n" + tick, "ex2-answer"),   # unanswered + a tick
        "ex4-bad", "ex4-rollback", "ex4-check",                    # ex3's cell deleted
    ])
    result = grade.grade_notebook(path, timeout=60)
    assert statuses(result) == ["missing", "fail", "missing", "pass"]
    why = reasons(result)
    assert "no cell calls check_full_capacity" in why["01.1"]
    assert why["01.2"].startswith("not answered yet")
    assert "no cell calls check_readiness_fix" in why["01.3"]
    assert result.score == 1 and result.possible == 4


def test_a_wrong_answer_per_exercise_fails_each(tmp_path):
    solved = _cells(SOLUTION)
    assert '    lab4.wait_rollout("web")\n    lab4.wait_settled("web")\n' in \
        solved["ex4-rollback"]["source"]
    path = submission(tmp_path, "wrong.ipynb", [
        "setup",
        code("rolling.check_full_capacity(1, 3)", "ex1-answer"),
        code("rolling.check_prediction(4, 10)", "ex2-answer"),
        code("fixed = manifests.load('rolling/no-probe.yaml')\n"
             "rolling.check_readiness_fix(fixed)", "ex3-answer"),
        "ex4-bad",
        code(solved["ex4-rollback"]["source"].replace("    lab4.wait_rollout(\"web\")\n", "")
             .replace("    lab4.wait_settled(\"web\")\n", ""), "ex4-rollback"),
        "ex4-check",
    ])
    result = grade.grade_notebook(path, timeout=60)
    assert statuses(result) == ["fail"] * 4
    why = reasons(result)
    assert "ready pods fell to 1 of 4" in why["01.1"]
    assert "you predicted 4 waves, the run had 3" in why["01.2"]
    assert "requests still failed" in why["01.3"]
    assert "still existed when rollback_run ended" in why["01.4"]


def test_a_verdict_from_a_cell_tagged_solution_is_not_counted(tmp_path):
    solved = _cells(SOLUTION)
    demo = code("rolling.check_full_capacity(1, 3)", "ex1-wrong")
    demo["metadata"]["tags"] = ["solution"]
    path = submission(tmp_path, "demo.ipynb", ["setup", "ex1-answer", demo])
    assert solved["ex1-wrong"]["metadata"]["tags"] == ["solution"]   # as in the solutions
    result = grade.grade_notebook(path, timeout=60)
    assert statuses(result)[0] == "pass"
    only_demo = submission(tmp_path, "only-demo.ipynb", ["setup", demo])
    result = grade.grade_notebook(only_demo, timeout=60)
    assert statuses(result)[0] == "missing"
    assert "ran only in cells tagged 'solution'" in reasons(result)["01.1"]


# ---------------------------------------------------------------------------- never crashing

def test_loops_time_out_and_the_rest_is_still_graded(tmp_path, monkeypatch):
    monkeypatch.setattr(grade, "INTERRUPT_GRACE_S", 2.0)
    stubborn = ("import time\nwhile True:\n    try:\n        time.sleep(0.05)\n"
                "    except KeyboardInterrupt:\n        pass")
    path = submission(tmp_path, "loops.ipynb", [
        "setup",
        code("while True:\n    pass\nrolling.check_full_capacity(1, 0)", "ex1-answer"),
        "ex2-answer",
        code(stubborn + "\nrolling.check_readiness_fix(...)", "ex3-answer"),
        "ex4-bad", "ex4-rollback", "ex4-check",
    ])
    # 10 s: the setup cell's imports must fit in it on a slow, busy machine
    result = grade.grade_notebook(path, timeout=10)
    assert statuses(result) == ["timeout", "pass", "timeout", "error"]
    why = reasons(result)
    assert why["01.1"] == "cell ex1-answer ran longer than 10 s and was interrupted"
    assert "could not be interrupted" in why["01.4"] and why["01.4"].startswith("not reached")


def test_a_kernel_that_dies_is_graded_as_an_error(tmp_path):
    path = submission(tmp_path, "crash.ipynb", [
        "setup", "ex1-answer",
        code("import os\nos._exit(1)\nrolling.check_prediction(3, 15)", "ex2-answer"),
        "ex3-answer",
    ])
    result = grade.grade_notebook(path, timeout=30)
    assert statuses(result) == ["pass", "error", "error", "error"]
    assert "the kernel died in cell ex2-answer" in reasons(result)["01.2"]


def test_an_error_in_an_exercise_cell_is_an_error_with_its_one_line(tmp_path):
    path = submission(tmp_path, "errors.ipynb", [
        "setup",
        code("rolling.check_full_capacity(max_surge, 0)", "ex1-answer"),       # NameError
        code("from releaselab import Lab\nLab().get('Deployment', 'nope')\n"
             "rolling.check_prediction(3, 15)", "ex2-answer"),                # a kit error
    ])
    result = grade.grade_notebook(path, timeout=30)
    assert statuses(result) == ["error", "error", "missing", "missing"]
    why = reasons(result)
    assert why["01.1"] == ("cell ex1-answer raised NameError: name 'max_surge' is not "
                           "defined")
    assert why["01.2"].startswith("cell ex2-answer raised NotFoundError: ")
    assert "\n" not in why["01.2"] and "\x1b" not in why["01.2"]


def test_what_cannot_be_graded_is_a_row_not_a_crash(tmp_path, capsys):
    junk = tmp_path / "junk.ipynb"
    junk.write_text("{ not json")
    unknown = tmp_path / "notes.ipynb"
    unknown.write_text(json.dumps({"cells": [code("1 + 1", "a")], "metadata": {},
                                   "nbformat": 4, "nbformat_minor": 5}))
    results = grade.grade([junk, unknown])
    assert results[0].problem.startswith("not a readable notebook")
    assert results[1].problem.startswith("cannot tell which lab this is")
    assert all(r.score == 0 and r.possible == 0 for r in results)
    assert "error: not a readable notebook" in grade.table(results)


@pytest.mark.parametrize("argv, words", [
    (["grade", "nowhere.ipynb"], "no such notebook: nowhere.ipynb"),
    (["grade", str(LAB), "--timeout", "nan"], "--timeout nan"),
    (["grade", str(LAB), "--timeout", "0"], "more than 0"),
])
def test_bad_arguments_get_one_line(argv, words, capsys):
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and words in err and "Traceback" not in err


def test_the_lab_is_known_by_metadata_file_name_or_checkers(tmp_path):
    blank = {"cells": [], "metadata": {}}
    assert grade.identify_lab({"cells": [], "metadata": {"releaselab": {"lab": "03"}}},
                              Path("x.ipynb")) == "03"
    assert grade.identify_lab(blank, Path("02-blue-green-alice.ipynb")) == "02"
    called = {"cells": [code("sh.check_grace_period(10)", "a")], "metadata": {}}
    assert grade.identify_lab(called, Path("alice.ipynb")) == "04"
    assert grade.identify_lab(blank, Path("alice.ipynb")) is None


def test_the_workflow_a_course_copies_grades_every_exercise_of_its_lab():
    import yaml

    text = (ROOT / ".github" / "workflows" / "grade-submissions.yml").read_text()
    workflow = yaml.safe_load(text)
    lab = workflow["env"]["LAB"]
    assert (ROOT / lab).is_file()
    steps = workflow["jobs"]["grade"]["steps"]
    run = next(s["run"] for s in steps if "releaselab grade" in s.get("run", ""))
    assert "--csv grades.csv" in run and "--json grades.json" in run
    graders = [s for s in steps if "autograding-command-grader" in s.get("uses", "")]
    graded = [s["with"]["command"].split('exercises["')[1].split('"')[0] for s in graders]
    assert graded == [e.id for e in grade.exercises_of(Path(lab).name[:2])]
    reporter = next(s for s in steps if "autograding-grading-reporter" in s.get("uses", ""))
    assert reporter["with"]["runners"].split(",") == [s["id"] for s in graders]
    assert sorted(reporter["env"]) == sorted(f"{s['id'].upper()}_RESULTS" for s in graders)
