"""The learning path: every chapter's "Learning path" box, the labs' places, the course plan.

Source checks only (quick): the box right under each chapter's title with
3-5 objectives, prerequisites and a time that matches the estimate of
tests/editions/reading_time.py; each lab right after the chapter it
practises; the course plan's times equal to the chapters' and adding up.
"""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent


def _load(name: str, path: Path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


edition = _load("releaselab_book_edition", ROOT / "book" / "instructor" / "edition.py")
reading_time = _load("releaselab_reading_time", HERE / "reading_time.py")

TOC = yaml.safe_load((ROOT / "_toc.yml").read_text(encoding="utf-8"))
CHAPTERS = edition.taught_chapters(TOC)
#: The chapter each lab practises; a lab not listed must follow some chapter of book/.
PRACTISES = {"labs/01-rolling-update": "book/rolling-update",
             "labs/04-really-zero-downtime": "book/really-zero-downtime",
             "labs/02-blue-green": "book/blue-green",
             "labs/03-canary": "book/canary",
             "labs/05-two-versions": "book/two-versions"}

BOX = re.compile(r"^:::\{admonition\} Learning path\n(?P<body>.*?)\n:::$", re.M | re.S)


def _box(chapter: str) -> str:
    text = (ROOT / f"{chapter}.md").read_text(encoding="utf-8")
    title = re.search(r"^# .+\n", text, re.M)
    assert title, f"{chapter}.md has no '# ' title"
    after = text[title.end():].lstrip("\n")
    match = BOX.match(after)
    assert match, (f"{chapter}.md: the first thing under the title must be the "
                   "':::{admonition} Learning path' box (see CONTRIBUTING.md)")
    return match.group("body")


def test_the_toc_has_taught_chapters():
    assert len(CHAPTERS) >= 10, CHAPTERS


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_learning_path_box(chapter):
    body = _box(chapter)
    assert body.startswith(":class: note learning-path\n"), (
        f"{chapter}: the box's class must be 'note learning-path' (one style for all)")
    objectives = re.search(r"\*\*After this chapter you can\*\*\n\n(.*?)\n\n", body, re.S)
    assert objectives, f"{chapter}: no '**After this chapter you can**' list"
    items = re.findall(r"^- ", objectives.group(1), re.M)
    assert 3 <= len(items) <= 5, f"{chapter}: {len(items)} objectives, want 3-5"
    assert "**Before you start.**" in body, f"{chapter}: no prerequisites"
    time = re.search(r"\*\*Time\.\*\* About (\d+) minutes", body)
    assert time, f"{chapter}: no '**Time.** About N minutes'"
    stated = int(time.group(1))
    estimate = reading_time.estimate(ROOT / f"{chapter}.md")
    assert abs(stated - estimate.minutes) <= 5, (
        f"{chapter}: the box says {stated} min, the estimate is {estimate.minutes} min "
        f"({estimate.explain()}): `python tests/editions/reading_time.py --write` puts every "
        "chapter's time into its box and book/course-plan.md")
    assert "course-plan-estimates" in body, f"{chapter}: the time must link to how it is estimated"


def test_objectives_are_things_a_student_can_do():
    """Objectives start with a verb a student can check themselves against, not 'understand'."""
    vague = []
    for chapter in CHAPTERS:
        for item in re.findall(r"^- (.+)", _box(chapter), re.M):
            if re.match(r"(understand|know|learn|appreciate|be aware)\b", item, re.I):
                vague.append(f"{chapter}: {item}")
    assert not vague, "objectives that cannot be checked:\n" + "\n".join(vague)


def test_each_lab_follows_the_chapter_it_practises():
    order = edition.entries(TOC)
    labs = [f for f in order if f.startswith("labs/")]
    assert labs, "no lab in the table of contents"
    for lab in labs:
        before = order[order.index(lab) - 1]
        expected = PRACTISES.get(lab)
        if expected:
            assert before == expected, f"{lab} comes after {before}, not after {expected}"
        else:
            assert before.startswith("book/"), f"{lab} must come right after its chapter"


@pytest.mark.parametrize("lab", edition.labs(TOC))
def test_every_lab_opens_with_before_you_start(lab):
    """CONTRIBUTING.md: a lab opens with 3-5 objectives to tick off, its prerequisites and a
    time; the objectives are a task list (MyST's `tasklist` extension renders the boxes)."""
    import json

    name = lab.split("/", 1)[1]
    cells = json.loads((ROOT / "solutions" / f"{name}.ipynb").read_text(encoding="utf-8"))
    sources = ["".join(c["source"]) for c in cells["cells"][:3] if c["cell_type"] == "markdown"]
    box = next((t for t in sources if t.startswith("## Before you start")), None)
    assert box, f"{name}: no '## Before you start' cell among its first cells"
    ticks = re.findall(r"^- \[ \] ", box, re.M)
    assert 3 <= len(ticks) <= 5, f"{name}: {len(ticks)} objectives as '- [ ] ', want 3-5"
    assert not re.findall(r"^- (?!\[ \] )", box, re.M), f"{name}: every objective is '- [ ] '"
    assert "**Prerequisites.**" in box and re.search(r"\*\*Time\.\*\* About \d+ minutes", box)
    parse = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))["parse"]
    assert "tasklist" in parse["myst_enable_extensions"], "'- [ ]' needs MyST's tasklist"


def test_no_solution_or_instructor_page_in_the_student_toc():
    bad = [f for f in edition.entries(TOC)
           if f.startswith("solutions/") or f.startswith(edition.INSTRUCTOR)]
    assert not bad, f"the student edition's toc lists {bad}"


# ---------------------------------------------------------------------------- the course plan

PLAN = (ROOT / "book" / "course-plan.md").read_text(encoding="utf-8")


def _section(label: str) -> str:
    start = PLAN.index(f"({label})=")
    nxt = PLAN.find("\n(", start + 1)
    return PLAN[start:nxt if nxt != -1 else None]


def _rows(text: str) -> list[list[str]]:
    rows = []
    for line in text.splitlines():
        if line.startswith("|") and not re.match(r"^\|[-| ]+\|$", line):
            rows.append([c.strip() for c in line.strip("|").split("|")])
    return rows


def test_course_plan_reading_times_are_the_chapters():
    rows = _rows(_section("course-plan-path"))
    found = {}
    for row in rows[1:]:
        doc = re.search(r"\{doc\}`([\w-]+)`", row[1])
        minutes = re.match(r"(\d+) min", row[2])
        if doc and minutes:
            found[f"book/{doc.group(1)}"] = int(minutes.group(1))
    assert sorted(found) == sorted(CHAPTERS), "the path table must list every chapter once"
    for chapter, minutes in found.items():
        stated = int(re.search(r"\*\*Time\.\*\* About (\d+) minutes", _box(chapter)).group(1))
        assert minutes == stated, f"course plan: {chapter} {minutes} min, its box {stated} min"
    total = re.search(r"\*\*(\d+) h (\d\d)\*\*", [r for r in rows if "total" in r[1]][0][2])
    assert int(total.group(1)) * 60 + int(total.group(2)) == sum(found.values())


def test_workshop_times_add_up():
    rows = [r for r in _rows(_section("course-plan-workshop"))[1:] if r[0]]
    clock = None
    total = 0
    for start_end, minutes, *_ in rows:
        start, end = (int(h) * 60 + int(m) for h, m in re.findall(r"(\d\d):(\d\d)", start_end))
        assert end - start == int(minutes), f"{start_end} is not {minutes} minutes"
        assert clock is None or start == clock, f"{start_end} does not follow the row before"
        clock, total = end, total + int(minutes)
    stated = [r for r in _rows(_section("course-plan-workshop")) if not r[0] and r[1]][0][1]
    assert total == int(stated.strip("*")), f"the workshop's rows add up to {total}, not {stated}"


def test_module_weeks_add_up():
    weeks = re.findall(r"### Week \d — .*?\((\d+) minutes.*?\)\n\n(.*?)"
                       r"(?=\n### |\nOver the four)", _section("course-plan-module"), re.S)
    assert len(weeks) == 4
    grand = 0
    for stated, table in weeks:
        parts = _rows(table)[1:]
        assert sum(int(p[1]) for p in parts) == int(stated), (
            f"a week's parts do not add to {stated}")
        for part, minutes, what in parts:
            inner = [int(x) for x in re.findall(r"(?:^|; )(\d+) ", what)]
            if part != "reading at home" and inner:
                assert sum(inner) == int(minutes), f"{part}: {inner} do not add to {minutes}"
            if part == "reading at home":
                read = [int(x) for x in re.findall(r"\((\d+)\)", what)]
                assert sum(read) == int(minutes), f"reading {read} does not add to {minutes}"
        grand += int(stated)
    hours, mins = re.search(r"(\d+) h (\d+) in all", PLAN).groups()
    assert grand == int(hours) * 60 + int(mins)
