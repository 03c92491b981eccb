"""The instructor edition's sources: its generated toc, the lab guides, the question bank.

Source checks only (quick); `make book-instructor` builds the edition with
-W, and .ci/run checks that its key pages exist.
"""

from __future__ import annotations

import copy
import re
from pathlib import Path

import pytest

from test_learning_path import CHAPTERS, ROOT, TOC, edition

GUIDES = sorted((ROOT / "book" / "instructor").glob("[0-9][0-9]-*.md"))
QUESTIONS = ROOT / "book" / "instructor" / "questions"


def test_instructor_toc_adds_guide_and_solution_after_every_lab():
    toc = edition.instructor_toc(TOC)
    order = edition.entries(toc)
    student = edition.entries(TOC)
    assert [f for f in order if f in student] == student, "the student pages, in the same order"
    for lab in edition.labs(TOC):
        name = lab.split("/", 1)[1]
        at = order.index(lab)
        assert order[at + 1:at + 3] == [f"book/instructor/{name}", f"solutions/{name}"]
    for chapter in CHAPTERS:
        assert f"book/instructor/questions/{chapter.split('/', 1)[1]}" in order


def test_a_lab_without_a_guide_stops_the_instructor_build():
    toc = copy.deepcopy(TOC)
    toc["parts"][-1]["chapters"].append({"file": "labs/99-missing"})
    with pytest.raises(edition.EditionError, match="book/instructor/99-missing"):
        edition.instructor_toc(toc)


def test_instructor_config_keeps_the_book_and_adds_the_banner():
    import yaml

    student = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))
    config = edition.instructor_config(student)
    assert "instructor edition" in config["title"]
    assert "Do not publish" in config["html"]["announcement"]
    assert "solutions/*" in config["execute"]["exclude_patterns"]
    assert Path(config["execute"]["cache"]).is_absolute()
    assert config["sphinx"] == student["sphinx"] and config["parse"] == student["parse"]


# ---------------------------------------------------------------------------- the guides

def test_every_lab_has_a_guide():
    names = sorted(lab.split("/", 1)[1] for lab in edition.labs(TOC))
    assert [g.stem for g in GUIDES] == names


@pytest.mark.parametrize("guide", GUIDES, ids=lambda p: p.stem)
def test_guide_sections(guide):
    text = guide.read_text(encoding="utf-8")
    sections = re.findall(r"^## (.+)$", text, re.M)
    for needed in ("Objectives", "Timings", "Answers at a glance",
                   "Common mistakes and what the checker answers", "Discussion questions"):
        assert needed in sections, f"{guide.name}: no section '{needed}'"

    def section(title):
        start = text.index(f"## {title}")
        nxt = text.find("\n## ", start + 1)
        return text[start:nxt if nxt != -1 else None]

    objectives = re.findall(r"^- ", section("Objectives"), re.M)
    assert 3 <= len(objectives) <= 5, f"{guide.name}: {len(objectives)} objectives"
    timings = section("Timings")
    assert "measured" in timings.lower() and "| **total** |" in timings
    mistakes = section("Common mistakes and what the checker answers")
    numbered = re.findall(r"^\*\*(\d)\. ", mistakes, re.M)
    assert 3 <= len(numbered) <= 5, f"{guide.name}: {len(numbered)} mistakes, want 3-5"
    cells = re.findall(r"```\{code-cell\} ipython3\n(.*?)```", mistakes, re.S)
    assert len(cells) >= len(numbered), f"{guide.name}: each mistake runs the checker"
    assert all(("print(" in c or "answers(" in c) and "check" in c for c in cells), (
        f"{guide.name}: every mistake cell prints the checker's answer")
    discussion = re.findall(r"^\d\. ", section("Discussion questions"), re.M)
    assert len(discussion) >= 3, f"{guide.name}: {len(discussion)} discussion questions"
    assert f"/solutions/{guide.stem}" in text, f"{guide.name}: link to the solved notebook"


# ---------------------------------------------------------------------------- the question bank

def _questions(page: Path) -> list[tuple[str, str, str]]:
    """(kind, question text, answer block) of every question of a page."""
    text = page.read_text(encoding="utf-8")
    parts = re.split(r"^## Q\d+ · ", text, flags=re.M)[1:]
    out = []
    for part in parts:
        kind, _, rest = part.partition("\n")
        answer = re.search(r"^:::\{admonition\} Answer(.*?)\n(.*?)^:::$", rest, re.M | re.S)
        assert answer, f"{page.name}: a question without an answer block:\n{rest[:200]}"
        out.append((kind.strip(), rest[:answer.start()], answer.group(1) + "\n" + answer.group(2)))
    return out


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_question_bank_page(chapter):
    page = QUESTIONS / f"{chapter.split('/', 1)[1]}.md"
    assert page.exists(), f"no question bank for {chapter}: write {page.relative_to(ROOT)}"
    questions = _questions(page)
    assert len(questions) >= 8, f"{page.name}: {len(questions)} questions, want at least 8"
    kinds = {kind for kind, _, _ in questions}
    assert kinds == {"multiple choice", "short answer"}, f"{page.name}: kinds {kinds}"
    for kind, question, answer in questions:
        assert ":class: dropdown answer" in answer, f"{page.name}: answers open on a click"
        if kind == "short answer":
            assert "full answer" in " ".join(answer.split()), (
                f"{page.name}: say what a full answer contains")
            continue
        options = re.findall(r"^- \*\*([A-Z])\.\*\* ", question, re.M)
        assert len(options) >= 3, f"{page.name}: a multiple-choice question with {options}"
        assert answer.startswith("\n"), f"{page.name}: the title 'Answer' must not give it away"
        right = re.search(r"^\*\*The answer is ([A-Z])\.\*\*", answer, re.M)
        assert right and right.group(1) in options, (
            f"{page.name}: '**The answer is X.**' names an option")
        for wrong in set(options) - {right.group(1)}:
            assert f"**Why not {wrong}:**" in answer, (
                f"{page.name}: the answer must say why option {wrong} is wrong")


def test_right_answers_are_spread_over_the_letters():
    """A bank whose right answer is nearly always "A" gives itself away."""
    letters = [re.search(r"\*\*The answer is ([A-Z])\.\*\*", answer).group(1)
               for page in sorted(QUESTIONS.glob("*.md")) if page.name != "index.md"
               for kind, _, answer in _questions(page) if kind == "multiple choice"]
    assert letters
    worst = max(set(letters), key=letters.count)
    assert letters.count(worst) <= 0.4 * len(letters), (
        f"{letters.count(worst)} of {len(letters)} right answers are {worst}")
