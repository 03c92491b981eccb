"""Re-run safety: every exercise cell gives the same verdict however often it is re-run.

In a real kernel, for every lab (solved and blank): run only the lab's setup
cell, then each exercise's cells three times in a row, and its check cell
alone once more; every verdict must be the same, word for word.  Running an
exercise with nothing but the setup cell before it also proves that it
starts from its own known state (a fresh, reset Lab), not from what an
earlier cell left.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest.importorskip("jupyter_client")

from releaselab import grade  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = {"01": "01-rolling-update.ipynb", "02": "02-blue-green.ipynb",
             "03": "03-canary.ipynb", "04": "04-really-zero-downtime.ipynb",
             "05": "05-two-versions.ipynb"}
SETUP = {"01": ["setup"], "02": ["bg-setup"], "03": ["canary-setup"], "04": ["setup"],
         "05": ["setup"]}
TIMEOUT_S = 120.0


def _code_cells(path: Path) -> list:
    cells = json.loads(path.read_text())["cells"]
    out = []
    for cell in cells:
        if cell["cell_type"] != "code":
            continue
        source = cell["source"]
        out.append({"id": cell["id"], "tags": (cell.get("metadata") or {}).get("tags") or [],
                    "source": "".join(source) if isinstance(source, list) else source})
    return out


def _groups(lab: str, cells: list) -> list:
    """(exercise, its cells in notebook order, its check cell) for each exercise of the lab."""
    out = []
    for exercise in grade.exercises_of(lab):
        checks = [c for c in cells if exercise.checker in grade._called(c["source"])
                  and "solution" not in c["tags"]]
        assert checks, f"no cell of lab {lab} calls {exercise.checker}"
        group = [c for c in cells if c["id"] in exercise.cells or c in checks]
        out.append((exercise, group, checks[-1]))
    return out


def _run(session: grade.KernelSession, cell: dict) -> None:
    outcome = session.run(cell["source"], TIMEOUT_S)
    assert outcome.status == "ok", f"cell {cell['id']}: {outcome.status} {outcome.error}"


@pytest.mark.parametrize("edition", ["solutions", "labs"])
@pytest.mark.parametrize("lab", sorted(NOTEBOOKS))
def test_every_exercise_gives_the_same_verdict_when_re_run(lab, edition):
    cells = _code_cells(ROOT / edition / NOTEBOOKS[lab])
    by_id = {c["id"]: c for c in cells}
    seen = 0
    with grade.KernelSession() as session:
        for cell_id in SETUP[lab]:
            _run(session, by_id[cell_id])

        def verdict(exercise_id: str) -> tuple:
            nonlocal seen
            records = session.records(seen)
            seen = max([seen] + [r["seq"] for r in records])
            mine = [r for r in records if r["exercise"] == exercise_id and r["event"] == "verdict"]
            assert len(mine) == 1, f"{exercise_id}: {len(mine)} verdicts recorded"
            return mine[0]["status"], mine[0]["message"]

        for exercise, group, check in _groups(lab, cells):
            verdicts = []
            for _ in range(3):                        # the exercise's cells, in order, 3 times
                for cell in group:
                    _run(session, cell)
                verdicts.append(verdict(exercise.id))
            _run(session, check)                      # and its check cell alone
            verdicts.append(verdict(exercise.id))
            assert len(set(verdicts)) == 1, f"{exercise.id}: {verdicts}"
            expected = "pass" if edition == "solutions" else "unanswered"
            assert verdicts[0][0] == expected, f"{exercise.id}: {verdicts[0]}"
