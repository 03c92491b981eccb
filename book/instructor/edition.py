"""Write the instructor edition's table of contents and configuration.

The book has two editions, built from the same sources:

- the **student** edition is `_toc.yml` + `_config.yml` at the repository
  root (`make book` -> `_build/html`). Only the files `_toc.yml` lists are
  built, and it lists no solved notebook and nothing under `book/instructor/`;
- the **instructor** edition (`make book-instructor` ->
  `_build/instructor/_build/html`) is the student edition plus, right after
  every lab, that lab's instructor guide (`book/instructor/NN-name.md`) and
  its solved notebook (`solutions/NN-name.ipynb`), and a last part
  "Instructor" with the overview and a question bank per chapter.

Both files are generated from the student ones, so a chapter or lab added to
`_toc.yml` appears in both editions, and a lab without a guide (or a chapter
without a question bank) stops the instructor build here, with one line
saying which file to write, instead of leaving a silent gap.

    python book/instructor/edition.py OUTDIR

writes OUTDIR/_toc.yml and OUTDIR/_config.yml. The configuration is
`_config.yml` with four changes: the title says "instructor edition", a
banner on every page says not to publish it to students, the solved
notebooks are shown with the outputs stored in them (they are not executed
again: `make test` compares those outputs with a fresh run, strictly), and
the execution cache is the student build's (`_build/.jupyter_cache`), so
the chapters and labs already executed by `make book` are not run twice.
"""

from __future__ import annotations

import copy
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
INSTRUCTOR = "book/instructor"

# Pages of the student table of contents that teach no chapter of their own:
# the front page, the plan, and the reference part. They get no learning-path
# block and no question bank.
NOT_TAUGHT = frozenset({"book/intro", "book/course-plan", "book/glossary", "book/notes-map"})

BANNER = ("Instructor edition: it contains the lab solutions and the answers. "
          "Do not publish it where students can see it; give students the "
          "edition that make book builds.")


class EditionError(Exception):
    """The student table of contents cannot be turned into the instructor one."""


def entries(toc: dict) -> list[str]:
    """Every `file` of a jb-book table of contents, root first, in reading order."""
    found = [toc["root"]]

    def walk(items):
        for item in items or []:
            if "file" in item:
                found.append(item["file"])
            walk(item.get("sections"))

    for part in toc.get("parts", []):
        walk(part.get("chapters"))
    return found


def taught_chapters(toc: dict) -> list[str]:
    """The chapters with learning objectives and a question bank, in reading order."""
    return [f for f in entries(toc) if f.startswith("book/") and f not in NOT_TAUGHT]


def labs(toc: dict) -> list[str]:
    return [f for f in entries(toc) if f.startswith("labs/")]


def _source(docname: str, root: Path) -> Path | None:
    for suffix in (".md", ".ipynb"):
        path = root / f"{docname}{suffix}"
        if path.exists():
            return path
    return None


def instructor_toc(student: dict, root: Path = ROOT) -> dict:
    """The student table of contents with the instructor pages added."""
    missing = []
    for lab in labs(student):
        name = lab.split("/", 1)[1]
        for needed in (f"{INSTRUCTOR}/{name}", f"solutions/{name}"):
            if _source(needed, root) is None:
                missing.append(f"{lab} has no {needed} (.md or .ipynb)")
    questions = [f"{INSTRUCTOR}/questions/{c.split('/', 1)[1]}" for c in taught_chapters(student)]
    for chapter, page in zip(taught_chapters(student), questions):
        if _source(page, root) is None:
            missing.append(f"{chapter} has no question bank {page}.md")
    for page in (f"{INSTRUCTOR}/index", f"{INSTRUCTOR}/questions/index"):
        if _source(page, root) is None:
            missing.append(f"the instructor edition needs {page}.md")
    if missing:
        raise EditionError("cannot build the instructor edition: "
                           + "; ".join(missing)
                           + f" (see {INSTRUCTOR}/index.md for what each holds)")

    toc = copy.deepcopy(student)

    def add_after_labs(items):
        out = []
        for item in items or []:
            if "sections" in item:
                item["sections"] = add_after_labs(item["sections"])
            out.append(item)
            if item.get("file", "").startswith("labs/"):
                name = item["file"].split("/", 1)[1]
                out.append({"file": f"{INSTRUCTOR}/{name}"})
                out.append({"file": f"solutions/{name}"})
        return out

    for part in toc["parts"]:
        part["chapters"] = add_after_labs(part["chapters"])
    toc["parts"].append({
        "caption": "Instructor",
        "chapters": [
            {"file": f"{INSTRUCTOR}/index"},
            {"file": f"{INSTRUCTOR}/questions/index",
             "sections": [{"file": page} for page in questions]},
        ],
    })
    return toc


def instructor_config(student: dict, root: Path = ROOT) -> dict:
    """`_config.yml` for the instructor edition (see the module docstring)."""
    config = copy.deepcopy(student)
    config["title"] = f"{student.get('title', 'releaselab')} (instructor edition)"
    html = config.setdefault("html", {}) or {}
    config["html"] = html
    html["announcement"] = BANNER
    execute = config.setdefault("execute", {}) or {}
    config["execute"] = execute
    execute["cache"] = str(root / "_build" / ".jupyter_cache")
    excluded = list(execute.get("exclude_patterns") or [])
    execute["exclude_patterns"] = excluded + ["solutions/*"]
    return config


def write(outdir: Path, root: Path = ROOT) -> tuple[Path, Path]:
    student_toc = yaml.safe_load((root / "_toc.yml").read_text(encoding="utf-8"))
    student_config = yaml.safe_load((root / "_config.yml").read_text(encoding="utf-8"))
    toc = instructor_toc(student_toc, root)
    config = instructor_config(student_config, root)
    outdir.mkdir(parents=True, exist_ok=True)
    header = ("# GENERATED by book/instructor/edition.py from the student edition's file: "
              "do not edit.\n")
    toc_path, config_path = outdir / "_toc.yml", outdir / "_config.yml"
    toc_path.write_text(header + yaml.safe_dump(toc, sort_keys=False), encoding="utf-8")
    config_path.write_text(header + yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    return toc_path, config_path


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python book/instructor/edition.py OUTDIR", file=sys.stderr)
        return 2
    try:
        toc_path, config_path = write(Path(argv[0]).resolve())
    except EditionError as error:
        print(error, file=sys.stderr)
        return 1
    print(f"instructor edition: {toc_path} and {config_path} written")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
