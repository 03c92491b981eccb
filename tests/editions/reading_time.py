"""How long a chapter takes to work through, estimated from its source.

The time estimate at the top of every chapter (and the course plan's reading
times) come from this one rule, so they are comparable and can be
re-checked whenever a chapter changes (tests/editions/test_learning_path.py
does):

- prose, tables and admonitions: 200 words a minute (a careful pace for
  technical text; studies of silent reading put non-fiction at about 240);
- code and YAML the page shows (code cells whose input is visible, fenced
  blocks): 15 lines a minute;
- each figure (a visible code cell that draws one): 2 minutes — these are
  measured plots with several panels, meant to be read;
- each other visible output of a code cell (a computed table, a summary,
  printed lines): 1 minute;
- each self-check exercise: 3 minutes to answer before opening the answer.

The total is rounded up to 5 minutes. It leaves out the live widgets (they
need a kernel) and re-running the chapter's code, which the labs cover.

    python tests/editions/reading_time.py           # the table, for every chapter
    python tests/editions/reading_time.py --write   # and put the times into the chapters'
                                                    # boxes and book/course-plan.md
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path

WORDS_PER_MINUTE = 200
CODE_LINES_PER_MINUTE = 15
FIGURE_MINUTES = 2
OUTPUT_MINUTES = 1
EXERCISE_MINUTES = 3

_FENCE = re.compile(r"^(`{3,}|:{3,})\s*(\{([\w-]+)\})?\s*(.*)$")
_WORD = re.compile(r"[\w'’.,%/-]+")


@dataclass(frozen=True)
class Estimate:
    words: int
    code_lines: int
    figures: int
    outputs: int
    exercises: int

    @property
    def exact_minutes(self) -> float:
        return (self.words / WORDS_PER_MINUTE + self.code_lines / CODE_LINES_PER_MINUTE
                + self.figures * FIGURE_MINUTES + self.outputs * OUTPUT_MINUTES
                + self.exercises * EXERCISE_MINUTES)

    @property
    def minutes(self) -> int:
        """Rounded up to 5 minutes."""
        return 5 * math.ceil(self.exact_minutes / 5)

    def explain(self) -> str:
        return (f"{self.words:,} words at {WORDS_PER_MINUTE}/min, {self.code_lines} lines of code "
                f"at {CODE_LINES_PER_MINUTE}/min, {self.figures} figures × {FIGURE_MINUTES} min, "
                f"{self.outputs} computed outputs × {OUTPUT_MINUTES} min, "
                f"{self.exercises} self-check exercises × {EXERCISE_MINUTES} min")


def _strip_front_matter(text: str) -> str:
    if text.startswith("---\n"):
        end = text.find("\n---\n", 4)
        if end != -1:
            return text[end + 5:]
    return text


def _words(line: str) -> int:
    line = re.sub(r"\{[\w:-]+\}`([^`]*)`", r"\1", line)     # {doc}`x` -> x
    line = re.sub(r"<[^>]+>", " ", line)                     # <https://...>
    return len(_WORD.findall(line))


def _code_cell(options: list[str], body: list[str]) -> tuple[int, int, int]:
    """(visible code lines, figures, other outputs) of one MyST code cell."""
    tags = " ".join(o for o in options if o.startswith(":tags:"))
    if "remove-cell" in tags:
        return 0, 0, 0
    code = [line for line in body if line.strip() and not line.lstrip().startswith("#")]
    shows_input = "remove-input" not in tags and "hide-input" not in tags
    lines = len(code) if shows_input else 0
    if "remove-output" in tags:
        return lines, 0, 0
    source = "\n".join(body)
    if "plt.show()" in source or ".plot(" in source:
        return lines, source.count("plt.show()") or 1, 0
    last = code[-1] if code else ""
    glue_only = all("glue(" in line or line.startswith((" ", ")")) for line in code[-3:])
    has_output = ("print(" in source or "display(" in source
                  or (last and not last.startswith((" ", ")", "]", "}")) and "=" not in last
                      and not last.startswith(("import", "from", "def ", "for ", "with "))))
    if glue_only and "print(" not in source:
        has_output = False
    return lines, 0, 1 if has_output else 0


def estimate(path: Path) -> Estimate:
    """The Estimate of one MyST Markdown chapter."""
    lines = _strip_front_matter(path.read_text(encoding="utf-8")).splitlines()
    words = code_lines = figures = outputs = exercises = 0
    open_directives: list[str] = []     # fences of the prose directives we are inside
    i = 0
    while i < len(lines):
        stripped = lines[i].strip()
        if open_directives and stripped == open_directives[-1]:
            open_directives.pop()                                 # a directive ends
            i += 1
            continue
        match = _FENCE.match(stripped)
        if not match:
            if not re.match(r"^\(.+\)=$", stripped):              # not a (label)= target
                words += _words(stripped)
            i += 1
            continue
        fence, directive, title = match.group(1), match.group(3), match.group(4)
        options, i = [], i + 1
        while i < len(lines) and re.match(r"^:[\w-]+:", lines[i].strip()):
            options.append(lines[i].strip())
            i += 1
        if directive not in (None, "code-cell", "code-block", "code"):
            # an admonition, exercise, solution...: its body is prose
            exercises += directive == "exercise"
            words += _words(title or "")
            open_directives.append(fence)
            continue
        body = []
        while i < len(lines) and lines[i].strip() != fence:
            body.append(lines[i])
            i += 1
        i += 1                                                    # the closing fence
        if directive == "code-cell":
            c, f, o = _code_cell(options, body)
            code_lines, figures, outputs = code_lines + c, figures + f, outputs + o
        else:
            code_lines += sum(1 for b in body if b.strip())
    return Estimate(words, code_lines, figures, outputs, exercises)


def _edition(root: Path):
    import importlib.util
    import sys

    spec = importlib.util.spec_from_file_location("releaselab_book_edition",
                                                  root / "book" / "instructor" / "edition.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def _hours(minutes: int) -> str:
    return f"{minutes // 60} h {minutes % 60:02d}"


def write(root: Path, minutes: dict[str, int]) -> list[str]:
    """Put ``minutes`` ({"book/canary": 30, ...}) into the chapters' boxes and the course plan.

    Rewrites only the numbers that follow from the reading times: each box's
    "About N minutes", the course plan's path table and its total, and the
    four-week module's reading cells, week totals and grand total. The
    one-day workshop does not depend on them. Returns the files changed.
    """
    changed = []
    for chapter, m in minutes.items():
        path = root / f"{chapter}.md"
        text = path.read_text(encoding="utf-8")
        new = re.sub(r"(\*\*Time\.\*\* About )\d+( minutes)", rf"\g<1>{m}\2", text, count=1)
        if new != text:
            path.write_text(new, encoding="utf-8")
            changed.append(path.name)
    plan_path = root / "book" / "course-plan.md"
    plan = plan_path.read_text(encoding="utf-8")
    by_doc = {c.split("/", 1)[1]: m for c, m in minutes.items()}

    def path_row(match):
        return f"{match.group(1)}{by_doc[match.group(2)]} min |"

    plan = re.sub(r"^(\| \d+ \| \{doc\}`([\w-]+)`[^|]*\| )\d+ min \|", path_row, plan, flags=re.M)
    total = sum(by_doc.values())
    plan = re.sub(r"\*\*\d+ h \d\d\*\* \(\d+ h \d\d without kind\)",
                  f"**{_hours(total)}** ({_hours(total - by_doc.get('kind-setup', 0))} "
                  "without kind)", plan)

    def reading_cell(match):
        docs = re.findall(r"\{doc\}`([\w-]+)` \((\d+)\)", match.group(2))
        cell = match.group(2)
        for doc, _ in docs:
            cell = re.sub(rf"(\{{doc\}}`{doc}` \()\d+\)", rf"\g<1>{by_doc[doc]})", cell)
        return f"| reading at home | {sum(by_doc[d] for d, _ in docs)} |{cell}"

    plan = re.sub(r"^\| reading at home \| (\d+) \|(.*)$", reading_cell, plan, flags=re.M)
    weeks, reading = [], 0
    for match in re.finditer(r"^### (Week \d — .*?)\((\d+) minutes(.*?)\)\n\n(.*?)"
                             r"(?=\n### |\nOver the)", plan, re.M | re.S):
        parts = [int(x) for x in re.findall(r"^\| [^|]+ \| (\d+) \|", match.group(4), re.M)]
        weeks.append((match.group(0), match.group(1), sum(parts), match.group(3), match.group(4)))
        reading += int(re.search(r"^\| reading at home \| (\d+) \|", match.group(4), re.M).group(1))
    for old, title, week_total, rest, body in weeks:
        plan = plan.replace(old, f"### {title}({week_total} minutes{rest})\n\n{body}")
    seminars = len(weeks) * 60
    labs = len(weeks) * 120
    grand = reading + seminars + labs
    plan = re.sub(r"Over the four weeks: \d+ minutes of reading, \d+ of seminars and \d+ of lab\n"
                  r"sessions — \d+ h \d+ in all\.",
                  f"Over the four weeks: {reading} minutes of reading, {seminars} of seminars and "
                  f"{labs} of lab\nsessions — {grand // 60} h {grand % 60} in all.", plan)
    if plan != plan_path.read_text(encoding="utf-8"):
        plan_path.write_text(plan, encoding="utf-8")
        changed.append(plan_path.name)
    return changed


def main(argv: list[str]) -> None:
    import yaml

    root = Path(__file__).resolve().parents[2]
    toc = yaml.safe_load((root / "_toc.yml").read_text(encoding="utf-8"))
    minutes = {}
    for chapter in _edition(root).taught_chapters(toc):
        e = estimate(root / f"{chapter}.md")
        minutes[chapter] = e.minutes
        print(f"{chapter:36} {e.minutes:3d} min ({e.exact_minutes:5.1f}): {e.explain()}")
    if argv == ["--write"]:
        print("updated:", ", ".join(write(root, minutes)) or "nothing (all up to date)")


if __name__ == "__main__":
    import sys

    main(sys.argv[1:])
