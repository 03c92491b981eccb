"""Generate the exercise notebooks in labs/ from the solved ones in solutions/.

solutions/ is the single source of every lab.  For each notebook:

* lines between ``# BEGIN SOLUTION`` and ``# END SOLUTION`` are replaced by a
  placeholder that still runs: each variable the block assigns becomes
  ``name = ...  # your answer`` (so checkers can say "not answered yet");
  a block that assigns nothing becomes ``...  # your answer``;
* cells tagged ``solution`` are dropped — and a later cell that uses a name
  only a dropped cell defined makes the generator refuse (the lab would
  break with a NameError);
* every output and execution count is removed, so no answer leaks through
  an output; cell ids are kept, so regeneration is deterministic.

``python -m releaselab.labgen`` (``make labs``) writes labs/;
``--check`` exits 1 when labs/ is stale.
"""

from __future__ import annotations

import argparse
import ast
import json
import sys
from pathlib import Path
from typing import Optional

from .errors import LabSourceError

BEGIN, END = "# BEGIN SOLUTION", "# END SOLUTION"
PLACEHOLDER = "...  # your answer"
SOLUTION_TAG = "solution"
#: Cell metadata an executor writes that is not part of the lab: wall-clock
#: timings (nbclient's "execution") and collapsed/scrolled view state.
VOLATILE_METADATA = ("execution", "collapsed", "scrolled")
#: Notebook metadata an executor writes: saved widget state (random model ids).
VOLATILE_NOTEBOOK_METADATA = ("widgets",)
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


def repo_root() -> Path:
    return Path(__file__).resolve().parents[2]


def _source(cell: dict) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else src


def _assigned(code: str) -> list[str]:
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return []
    names: list[str] = []
    for node in tree.body:
        targets = []
        if isinstance(node, ast.Assign):
            targets = node.targets
        elif isinstance(node, (ast.AnnAssign, ast.AugAssign)):
            targets = [node.target]
        elif isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            names.append(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names += [(a.asname or a.name).split(".")[0] for a in node.names]
        for target in targets:
            for sub in ast.walk(target):
                if isinstance(sub, ast.Name) and sub.id not in names:
                    names.append(sub.id)
    return names


def _used(code: str) -> set[str]:
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return set()
    return {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}


def strip_solutions(code: str, where: str) -> str:
    """Replace each BEGIN/END SOLUTION block by a placeholder that still runs."""
    out: list[str] = []
    block: Optional[list[str]] = None
    indent = ""
    for line in code.split("\n"):
        stripped = line.strip()
        if stripped == BEGIN:
            if block is not None:
                raise LabSourceError(f"{where}: '{BEGIN}' inside another solution block")
            block, indent = [], line[: len(line) - len(line.lstrip())]
            continue
        if stripped == END:
            if block is None:
                raise LabSourceError(f"{where}: '{END}' without '{BEGIN}'")
            import textwrap

            names = _assigned(textwrap.dedent("\n".join(block)))
            if names:
                out += [f"{indent}{name} = {PLACEHOLDER}" for name in names]
            else:
                out.append(f"{indent}{PLACEHOLDER}")
            block = None
            continue
        if block is not None:
            block.append(line)
        else:
            out.append(line)
    if block is not None:
        raise LabSourceError(f"{where}: '{BEGIN}' is never closed by '{END}'")
    result = "\n".join(out)
    try:
        ast.parse(result)
    except SyntaxError as exc:
        raise LabSourceError(f"{where}: the lab version of this cell is not valid Python "
                             f"({exc.msg}, line {exc.lineno}); keep solution blocks to whole "
                             "statements") from None
    return result


def make_lab(notebook: dict, name: str) -> dict:
    lab = {k: v for k, v in notebook.items() if k != "cells"}
    lab["metadata"] = {k: v for k, v in (notebook.get("metadata") or {}).items()
                       if k not in VOLATILE_NOTEBOOK_METADATA}
    cells, dropped_names, kept_names = [], set(), set()
    for i, cell in enumerate(notebook.get("cells", [])):
        tags = list((cell.get("metadata") or {}).get("tags") or [])
        code = _source(cell)
        where = f"{name} cell {i + 1} ({cell.get('id', '?')})"
        if SOLUTION_TAG in tags:
            if cell.get("cell_type") == "code":
                dropped_names.update(_assigned(code))
            continue
        new = {k: v for k, v in cell.items() if k not in ("outputs", "execution_count")}
        new["metadata"] = {k: v for k, v in (cell.get("metadata") or {}).items()
                           if k not in VOLATILE_METADATA}
        if cell.get("cell_type") == "code":
            code = strip_solutions(code, where)
            needs = (_used(code) & dropped_names) - kept_names - set(_assigned(code))
            if needs:
                raise LabSourceError(
                    f"{where} uses {', '.join(sorted(needs))}, defined only in a cell tagged "
                    f"'{SOLUTION_TAG}' that the lab drops; define it in a kept cell")
            kept_names.update(_assigned(code))
            new["outputs"], new["execution_count"] = [], None
        new["source"] = code
        cells.append(new)
    lab["cells"] = cells
    return lab


def normalize(notebook: dict) -> dict:
    """A solution notebook without executor timings (wall-clock) or widget state (random ids)."""
    for key in VOLATILE_NOTEBOOK_METADATA:
        (notebook.get("metadata") or {}).pop(key, None)
    for cell in notebook.get("cells", []):
        meta = cell.get("metadata") or {}
        for key in VOLATILE_METADATA:
            meta.pop(key, None)
        for output in cell.get("outputs", []):
            # A live widget's view names a random model id; its text/plain stays.
            (output.get("data") or {}).pop(WIDGET_VIEW, None)
        if "outputs" in cell:
            cell["outputs"] = _merge_streams(cell["outputs"])
    return notebook


def _merge_streams(outputs: list) -> list:
    """Consecutive outputs of one stream as one, as Jupyter shows them.

    Where the kernel cuts a stream into messages depends on thread timing (a
    background strategy prints while the cell waits), so the same run can be
    stored as two outputs one day and three the next.
    """
    merged: list = []
    for output in outputs:
        last = merged[-1] if merged else None
        if (output.get("output_type") == "stream" and last is not None
                and last.get("output_type") == "stream" and last.get("name") == output.get("name")):
            text = "".join(last["text"]) + "".join(output.get("text") or [])
            last["text"] = text.splitlines(keepends=True)
        else:
            merged.append(output)
    return merged


def render(notebook: dict) -> str:
    return json.dumps(notebook, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def generate(solutions: Path, labs: Path, check: bool = False) -> list[str]:
    """Write (or, with check, compare) every lab; returns the stale/written names."""
    changed = []
    sources = sorted(solutions.glob("*.ipynb"))
    if not sources:
        raise LabSourceError(f"no notebooks in {solutions}")
    for path in sources:
        lab_text = render(make_lab(json.loads(path.read_text()), path.name))
        target = labs / path.name
        if not target.exists() or target.read_text() != lab_text:
            changed.append(path.name)
            if not check:
                labs.mkdir(parents=True, exist_ok=True)
                target.write_text(lab_text)
    expected = {p.name for p in sources}
    extra = sorted(p.name for p in labs.glob("*.ipynb") if p.name not in expected)
    changed += [f"{name} (no solution for it)" for name in extra]
    return changed


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="releaselab labs", description=__doc__.split("\n")[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if labs/ is stale")
    parser.add_argument("--normalize-solutions", action="store_true",
                        help="first remove executor timings from solutions/ (make solutions)")
    parser.add_argument("--solutions", type=Path, default=repo_root() / "solutions")
    parser.add_argument("--labs", type=Path, default=repo_root() / "labs")
    args = parser.parse_args(argv)
    if args.normalize_solutions:
        for path in sorted(args.solutions.glob("*.ipynb")):
            text = path.read_text()
            clean = render(normalize(json.loads(text)))
            if clean != text:
                path.write_text(clean)
    try:
        changed = generate(args.solutions, args.labs, check=args.check)
    except LabSourceError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.check:
        if changed:
            print("labs/ is stale; run `make labs`: " + ", ".join(changed), file=sys.stderr)
            return 1
        print("labs/ is up to date")
        return 0
    print("wrote " + (", ".join(f"labs/{c}" for c in changed) if changed else "nothing (up to date)"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
