"""``releaselab grade``: re-run lab submissions on the simulator and grade each exercise.

    releaselab grade SUBMISSION.ipynb... [--csv FILE] [--json FILE] [--timeout S]

For each submission, as nbgrader's ``autograde`` and otter-grader's ``otter
grade`` do: a fresh kernel (the interpreter running this command), the
notebook's code cells executed from the top — stored outputs are never read —
with ``RELEASELAB_BACKEND=sim`` forced, a time limit per cell (``--timeout``,
like nbgrader's ``ExecutePreprocessor.timeout``), and then one row per
submission: each exercise ``pass`` / ``fail`` / ``missing`` / ``error`` /
``timeout`` and a score, as a table, and optionally as CSV (one row per
submission, one column per exercise, as otter's ``final_grades.csv``) and JSON
(the reason for every result).

Where the verdicts come from.  Every lab checker records its verdict in the
kernel (:mod:`releaselab.checks._core`); after each cell the grader asks the
kernel for the new records through the Jupyter protocol's
``user_expressions`` — a channel the notebook's own output never reaches, so
a cell that prints "✅" counts for nothing.  What a status means:

``pass`` / ``fail``  the checker's last verdict (``fail`` includes "not answered yet");
``missing``          no cell calls the exercise's checker (the cell, or its check line, was
                     deleted), or the call never ran;
``error``            the cell raised before the checker answered (a NameError, a kit
                     error), or the kernel died;
``timeout``          a cell of the exercise ran longer than ``--timeout`` and was
                     interrupted; the next cells still run.

A verdict recorded while a cell tagged ``solution`` runs is ignored (the
solution notebooks show wrong answers on purpose in such cells).  Limits: the
grader runs the submission's code, so run it where that is safe (CI, a
container), and it trusts the installed kit — a submission that rewrites the
kit's modules in its kernel could forge records, as with every in-kernel
autograder.
"""

from __future__ import annotations

import argparse
import ast
import csv
import json
import math
import os
import queue
import re
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from .errors import UsageError

PASS, FAIL, MISSING, ERROR, TIMEOUT = "pass", "fail", "missing", "error", "timeout"
#: Seconds a cell may run (``--timeout``); nbgrader's default is 30, the labs' slowest cell
#: takes a few seconds here, so this leaves room for a slow CI machine.
DEFAULT_TIMEOUT_S = 120.0
MAX_TIMEOUT_S = 86_400.0
#: After interrupting a cell that ran too long, how long to wait for the kernel to answer.
INTERRUPT_GRACE_S = 10.0
KERNEL_STARTUP_S = 60.0
SOLUTION_TAG = "solution"
LAB_MODULES = {"01": "rolling", "02": "bluegreen", "03": "canary", "04": "shutdown",
               "05": "two_versions"}
_READ = "__import__('releaselab.checks._core', fromlist=['_'])._export({since})"


@dataclass
class ExerciseResult:
    id: str
    title: str
    status: str
    reason: str = ""


@dataclass
class SubmissionResult:
    submission: str
    lab: Optional[str]
    exercises: list = field(default_factory=list)
    problem: Optional[str] = None     # why nothing could be graded (unreadable, unknown lab)

    @property
    def score(self) -> int:
        return sum(1 for e in self.exercises if e.status == PASS)

    @property
    def possible(self) -> int:
        return len(self.exercises)

    @property
    def percent(self) -> float:
        return round(100.0 * self.score / self.possible, 1) if self.possible else 0.0

    def to_json(self) -> dict:
        return {"submission": self.submission, "lab": self.lab, "score": self.score,
                "possible": self.possible, "percent": self.percent, "problem": self.problem,
                "exercises": {e.id: {"title": e.title, "status": e.status, "reason": e.reason}
                              for e in self.exercises}}


# ------------------------------------------------------------------------------ the kernel

@dataclass
class CellOutcome:
    status: str                 # "ok", "error", "timeout", "stuck" (not interruptible), "dead"
    error: str = ""             # "NameError: name 'x' is not defined"


class KernelSession:
    """One fresh kernel of this interpreter, with the simulator forced, in an empty directory.

    ``run(code, timeout)`` executes a cell and never raises for what the cell
    does; ``records(since)`` reads the checkers' verdicts through
    ``user_expressions``.
    """

    def __init__(self, startup_timeout: float = KERNEL_STARTUP_S):
        from jupyter_client import KernelManager
        from jupyter_client.kernelspec import KernelSpec, KernelSpecManager

        class _ThisPython(KernelSpecManager):
            # The kernel must import the kit the grader imports: this interpreter,
            # whatever "python3" kernelspec the machine has (nbval's --nbval-current-env).
            def get_kernel_spec(self, kernel_name):
                return KernelSpec(argv=[sys.executable, "-m", "ipykernel_launcher", "-f",
                                        "{connection_file}"],
                                  display_name="releaselab grade", language="python")

        self._dir = tempfile.TemporaryDirectory(prefix="releaselab-grade-")
        env = dict(os.environ, RELEASELAB_BACKEND="sim", MPLBACKEND="Agg", PYTHONHASHSEED="0")
        env.pop("RELEASELAB_CONTEXT", None)
        self.km = KernelManager(kernel_name="releaselab-grade",
                                kernel_spec_manager=_ThisPython())
        # The kernel's own stdout/stderr (warnings, a submission writing to fd 2) are not
        # part of the grade; what the cells print reaches the grader as messages, unread.
        self.km.start_kernel(env=env, cwd=self._dir.name, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
        self.kc = self.km.client()
        self.kc.start_channels()
        try:
            self.kc.wait_for_ready(timeout=startup_timeout)
        except RuntimeError:
            self.close()
            raise

    def _drain_iopub(self) -> None:
        while True:
            try:
                self.kc.get_iopub_msg(timeout=0)
            except queue.Empty:
                return

    def _reply(self, msg_id: str, timeout: float) -> Optional[dict]:
        deadline = time.monotonic() + timeout
        while True:
            self._drain_iopub()
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            try:
                msg = self.kc.get_shell_msg(timeout=min(left, 0.5))
            except queue.Empty:
                if not self.km.is_alive():
                    return {"status": "dead"}
                continue
            if msg.get("parent_header", {}).get("msg_id") == msg_id:
                return msg["content"]

    def run(self, code: str, timeout: float) -> CellOutcome:
        msg_id = self.kc.execute(code, store_history=True, allow_stdin=False,
                                 stop_on_error=False)
        reply = self._reply(msg_id, timeout)
        if reply is None:
            self.km.interrupt_kernel()
            late = self._reply(msg_id, INTERRUPT_GRACE_S)
            if late is None or late.get("status") == "dead":
                return CellOutcome("stuck", f"cell {{cell}} ran longer than {timeout:g} s and "
                                            "could not be interrupted")
            return CellOutcome("timeout")
        if reply.get("status") == "dead":
            return CellOutcome("dead", "the kernel died in cell {cell}")
        if reply.get("status") == "error":
            return CellOutcome("error", f"{reply.get('ename', 'Error')}: "
                                        f"{_one_line(reply.get('evalue', ''))}")
        return CellOutcome("ok")

    def records(self, since: int) -> list:
        """Checker records after ``since`` (empty if the kernel cannot answer)."""
        msg_id = self.kc.execute("", silent=True, store_history=False, allow_stdin=False,
                                 user_expressions={"r": _READ.format(since=int(since))})
        reply = self._reply(msg_id, INTERRUPT_GRACE_S) or {}
        value = (reply.get("user_expressions") or {}).get("r") or {}
        if value.get("status") != "ok":
            return []
        try:
            records = json.loads(ast.literal_eval(value["data"]["text/plain"]))
        except (KeyError, ValueError, SyntaxError, TypeError):
            return []
        return [r for r in records if isinstance(r, dict) and isinstance(r.get("seq"), int)]

    def close(self) -> None:
        try:
            self.kc.stop_channels()
        finally:
            try:
                self.km.shutdown_kernel(now=True)
            finally:
                self._dir.cleanup()

    def __enter__(self) -> "KernelSession":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _one_line(text: str) -> str:
    text = re.sub(r"\x1b\[[0-9;]*m", "", str(text)).strip()
    first = text.splitlines()[0] if text else ""
    return first if len(first) <= 300 else first[:297] + "..."


# ------------------------------------------------------------------------------ the notebook

def exercises_of(lab: str) -> list:
    """The lab's exercises, in order (from the checkers the kit registers)."""
    import importlib

    from .checks import _core

    module = LAB_MODULES.get(lab)
    if module is not None:
        importlib.import_module(f"releaselab.checks.{module}")
    return [e for _, e in sorted(_core.EXERCISES.items()) if e.lab == lab]


def _called(code: str) -> set:
    """Names of the functions a cell calls (``rolling.check_prediction(...)`` → check_prediction)."""
    try:
        tree = ast.parse(code)
    except SyntaxError:         # IPython syntax (%magic, !shell): fall back to the text
        return set(re.findall(r"\b([A-Za-z_]\w*)\s*\(", code))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            if isinstance(node.func, ast.Attribute):
                names.add(node.func.attr)
            elif isinstance(node.func, ast.Name):
                names.add(node.func.id)
    return names


def _source(cell: dict) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else str(src)


def identify_lab(notebook: dict, path: Path) -> Optional[str]:
    """The lab a submission is: its metadata, else its file name ``NN-...``, else its checkers."""
    meta = ((notebook.get("metadata") or {}).get("releaselab") or {}).get("lab")
    if isinstance(meta, str) and meta in LAB_MODULES:
        return meta
    match = re.match(r"(\d\d)-", path.name)
    if match and match.group(1) in LAB_MODULES:
        return match.group(1)
    called = set()
    for cell in notebook.get("cells") or []:
        if isinstance(cell, dict) and cell.get("cell_type") == "code":
            called |= _called(_source(cell))
    for lab in LAB_MODULES:
        if any(e.checker in called for e in exercises_of(lab)):
            return lab
    return None


def grade_notebook(path, timeout: float = DEFAULT_TIMEOUT_S) -> SubmissionResult:
    """Execute one submission from scratch in a fresh kernel and grade each exercise."""
    path = Path(path)
    shown = str(path)
    try:
        notebook = json.loads(path.read_text(encoding="utf-8"))
        cells = notebook["cells"]
        if not isinstance(cells, list):
            raise ValueError("no list of cells")
    except (OSError, ValueError, KeyError, TypeError) as exc:
        return SubmissionResult(shown, None, problem=f"not a readable notebook ({exc})")
    lab = identify_lab(notebook, path)
    if lab is None:
        return SubmissionResult(shown, None, problem="cannot tell which lab this is: no "
                                "releaselab metadata, no NN- file name, no lab checker called")
    exercises = exercises_of(lab)
    code_cells = [(i, c) for i, c in enumerate(cells)
                  if isinstance(c, dict) and c.get("cell_type") == "code"]
    by_checker = {e.checker: e.id for e in exercises}
    check_cells: dict = {e.id: [] for e in exercises}
    blamed: dict = {e.id: set(e.cells) for e in exercises}
    for i, cell in code_cells:
        for name in _called(_source(cell)) & set(by_checker):
            check_cells[by_checker[name]].append(i)

    verdicts: dict = {}          # exercise -> (status, message)
    started: dict = {}           # exercise -> cell index of a checker call still running
    timed_out: dict = {}         # exercise -> reason
    errors: dict = {}            # exercise -> reason
    ignored: set = set()         # exercises checked only in cells tagged "solution"
    stopped: Optional[str] = None
    seen = 0
    try:
        session = KernelSession()
    except Exception as exc:  # noqa: BLE001 — a kernel that cannot start is graded, not raised
        return SubmissionResult(shown, lab, [ExerciseResult(e.id, e.title, ERROR,
                                                            f"the kernel did not start: {exc}")
                                             for e in exercises])
    with session:
        for i, cell in code_cells:
            cell_id = cell.get("id") or f"#{i + 1}"
            tags = (cell.get("metadata") or {}).get("tags") or []
            outcome = session.run(_source(cell), timeout)
            if outcome.status in ("stuck", "dead"):
                stopped = outcome.error.format(cell=cell_id)
            else:
                for record in session.records(seen):
                    seen = max(seen, record["seq"])
                    ex = record.get("exercise")
                    if ex not in check_cells:
                        continue
                    if record.get("event") == "started":
                        started[ex] = i
                    elif record.get("event") == "verdict":
                        started.pop(ex, None)
                        if SOLUTION_TAG not in tags:
                            verdicts[ex] = (record.get("status"), str(record.get("message", "")))
                        else:
                            ignored.add(ex)
            for e in exercises:
                mine = i in check_cells[e.id] or cell_id in blamed[e.id]
                if outcome.status in ("timeout", "stuck") and (mine or started.get(e.id) == i):
                    timed_out[e.id] = (f"cell {cell_id} ran longer than {timeout:g} s and was "
                                       "interrupted")
                elif outcome.status == "dead" and (mine or started.get(e.id) == i):
                    errors[e.id] = stopped
                elif outcome.status == "error" and i in check_cells[e.id] \
                        and e.id not in verdicts:
                    errors[e.id] = f"cell {cell_id} raised {outcome.error}"
            if stopped:
                break
    results = []
    for e in exercises:
        if e.id in timed_out:
            status, reason = TIMEOUT, timed_out[e.id]
        elif e.id in verdicts:
            status, message = verdicts[e.id]
            if status == "pass":
                status, reason = PASS, message
            elif status == "unanswered":
                status, reason = FAIL, f"not answered yet: {message}"
            elif status == "error":
                status, reason = ERROR, message
            else:
                status, reason = FAIL, message
        elif e.id in errors:
            status, reason = ERROR, errors[e.id]
        elif stopped:
            status, reason = ERROR, f"not reached: {stopped}"
        elif not check_cells[e.id]:
            status, reason = MISSING, (f"no cell calls {e.checker}(...): the exercise's cell, "
                                       "or its check line, was deleted")
        elif e.id in ignored:
            status, reason = MISSING, (f"{e.checker}(...) ran only in cells tagged "
                                       f"'{SOLUTION_TAG}', whose verdicts do not count")
        else:
            status, reason = MISSING, f"the call to {e.checker}(...) never ran"
        results.append(ExerciseResult(e.id, e.title, status, _one_line(reason)))
    return SubmissionResult(shown, lab, results)


def grade(paths, timeout: float = DEFAULT_TIMEOUT_S, say=None) -> list:
    """Grade each submission in turn; ``say`` (e.g. print) hears one line per submission."""
    out = []
    for path in paths:
        if say:
            say(f"grading {path} ...")
        out.append(grade_notebook(path, timeout))
    return out


# ------------------------------------------------------------------------------ reports

def _name(result: SubmissionResult) -> str:
    return result.submission[:-6] if result.submission.endswith(".ipynb") else result.submission


def table(results: list) -> str:
    """One row per submission, one column per exercise, then the reasons for what did not pass."""
    lines = []
    labs = sorted({r.lab for r in results if r.lab}, key=str)
    for lab in labs + ([None] if any(r.lab is None for r in results) else []):
        rows = [r for r in results if r.lab == lab]
        ids = [e.id for e in exercises_of(lab)] if lab else []
        if lab:
            titles = "; ".join(f"{e.id} {e.title}" for e in exercises_of(lab))
            lines.append(f"lab {lab} — {titles}")
        width = max([len("submission")] + [len(_name(r)) for r in rows])
        head = ["submission".ljust(width)] + [i.ljust(7) for i in ids] + ["score"]
        lines.append("  ".join(head).rstrip())
        for r in rows:
            statuses = {e.id: e.status for e in r.exercises}
            cells = [_name(r).ljust(width)] + [statuses.get(i, "-").ljust(7) for i in ids]
            cells.append(f"{r.score}/{r.possible}" if not r.problem else f"error: {r.problem}")
            lines.append("  ".join(cells).rstrip())
        lines.append("")
    for r in results:
        todo = [e for e in r.exercises if e.status != PASS]
        if todo:
            lines.append(f"{r.submission}:")
            lines += [f"  {e.id} {e.status:<7} {e.reason}" for e in todo]
    return "\n".join(lines).rstrip() + "\n"


def write_csv(results: list, path) -> None:
    ids = sorted({e.id for r in results for e in r.exercises})
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["submission", "lab", *ids, "score", "possible", "percent", "problem"])
        for r in results:
            statuses = {e.id: e.status for e in r.exercises}
            writer.writerow([r.submission, r.lab or "", *[statuses.get(i, "") for i in ids],
                             r.score, r.possible, r.percent, r.problem or ""])


def write_json(results: list, path, timeout: float) -> None:
    data = {"tool": "releaselab grade", "timeout_s": timeout,
            "statuses": [PASS, FAIL, MISSING, ERROR, TIMEOUT],
            "submissions": [r.to_json() for r in results]}
    Path(path).write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


# ------------------------------------------------------------------------------ the command

def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("submissions", nargs="+", metavar="SUBMISSION.ipynb",
                        help="lab notebooks to grade (each re-executed from scratch)")
    parser.add_argument("--csv", metavar="FILE", help="write one row per submission as CSV")
    parser.add_argument("--json", metavar="FILE",
                        help="write every result with its reason as JSON")
    parser.add_argument("--timeout", metavar="S", type=float, default=DEFAULT_TIMEOUT_S,
                        help=f"seconds a cell may run before it is interrupted "
                             f"(default {DEFAULT_TIMEOUT_S:g})")


def run(args: argparse.Namespace) -> int:
    """``releaselab grade``: returns 0 once every submission is graded, whatever the scores."""
    timeout = args.timeout
    if not (isinstance(timeout, float) and math.isfinite(timeout)
            and 0 < timeout <= MAX_TIMEOUT_S):
        raise UsageError(f"--timeout {timeout!r}: seconds per cell, more than 0 and at most "
                         f"{MAX_TIMEOUT_S:g}")
    try:
        import ipykernel  # noqa: F401 — the kernel the submissions run in
        import jupyter_client  # noqa: F401
    except ImportError as exc:
        raise UsageError(f"releaselab grade needs ipykernel and jupyter_client ({exc.name} is "
                         "missing): pip install -r requirements.txt, or pip install ipykernel "
                         "jupyter_client") from None
    missing = [p for p in args.submissions if not Path(p).is_file()]
    if missing:
        raise UsageError(f"no such notebook: {', '.join(missing)}")
    results = grade(args.submissions, timeout,
                    say=lambda line: print(line, file=sys.stderr, flush=True))
    print(table(results), end="")
    if args.csv:
        write_csv(results, args.csv)
    if args.json:
        write_json(results, args.json, timeout)
    return 0


def main(argv: Optional[list] = None) -> int:
    parser = argparse.ArgumentParser(prog="releaselab grade", description=__doc__.split("\n")[0])
    add_arguments(parser)
    try:
        return run(parser.parse_args(argv))
    except UsageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
