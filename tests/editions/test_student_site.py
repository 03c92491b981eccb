"""The student edition (`make book` -> _build/html) holds no solution and no way to one.

The site is read as built: every text file in it (pages, search index,
page sources, notebooks offered for download), with the HTML reduced to its
text, so a solution cannot hide in syntax highlighting or an attribute.
What must not be in it:

- the reader's part of every solved lab: the code between `# BEGIN SOLUTION`
  and `# END SOLUTION` in solutions/*.ipynb, and every cell tagged
  `solution` (code and text). Only the lines the generated lab does not
  also show count (the lab legitimately contains `lab4.wait_rollout("web")`
  before the exercise that needs it), and lines of the manifests under
  cluster/manifests/ (inputs every reader may see), and lines too short to
  say anything (`sleep:`);
- a link to a solved notebook or to an instructor page, or any page of them;
- a computed output on a lab page: a lab is a sheet to work through, and its
  "predict, then measure" cells would print the answer to the prediction.

`make test-editions` builds the student edition first; run by hand, build it
with `make book`.
"""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from test_learning_path import ROOT, TOC, edition

SITE = ROOT / "_build" / "html"
ENVIRONMENT = ROOT / "_build" / ".doctrees" / "environment.pickle"
MIN_NEEDLE = 12          # characters: a shorter line of solution code says nothing alone
TEXT_SUFFIXES = {".html", ".js", ".txt", ".ipynb", ".md", ".json", ".py", ".yml", ".yaml"}


# ---------------------------------------------------------------------------- the site

class _Text(HTMLParser):
    """The text of an HTML page (scripts and styles left out), and the links in it."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts, self.links, self._skip = [], [], 0

    # Tags that end a run of text: their text is not glued to the next one's.
    BLOCKS = {"p", "div", "li", "td", "th", "tr", "br", "pre", "h1", "h2", "h3", "h4", "h5",
              "h6", "dt", "dd", "section", "table", "ul", "ol", "blockquote"}

    def handle_starttag(self, tag, attrs):
        if tag in self.BLOCKS:
            self.parts.append(" ")
        if tag in ("script", "style"):
            self._skip += 1
        for name, value in attrs:
            if name in ("href", "src", "action", "data-url") and value:
                self.links.append(value)

    def handle_endtag(self, tag):
        if tag in self.BLOCKS:
            self.parts.append(" ")
        if tag in ("script", "style") and self._skip:
            self._skip -= 1

    def handle_data(self, data):
        if not self._skip:
            self.parts.append(data)


def normalise(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def _toc_sources() -> list[Path]:
    return [next(ROOT.glob(f"{name}.*")) for name in edition.entries(TOC)]


@pytest.fixture(scope="module")
def site() -> dict[str, tuple[str, list[str]]]:
    """{path in the site: (normalised text, links)} of every text file of the built site."""
    if not (SITE / "index.html").exists():
        pytest.fail("the student edition is not built: run `make book` first "
                    "(`make test-editions` builds it and runs these tests)")
    built = ENVIRONMENT.stat().st_mtime
    newer = [p.relative_to(ROOT).as_posix() for p in
             [ROOT / "_toc.yml", ROOT / "_config.yml", *_toc_sources()]
             if p.stat().st_mtime > built]
    if newer:
        pytest.fail(f"the built student edition is older than {', '.join(newer)}: "
                    "rebuild it with `make book` (or run `make test-editions`)")
    files = {}
    for path in sorted(SITE.rglob("*")):
        if not path.is_file() or path.suffix not in TEXT_SUFFIXES:
            continue
        raw = path.read_text(encoding="utf-8", errors="replace")
        links: list[str] = []
        if path.suffix == ".html":
            parser = _Text()
            parser.feed(raw)
            text, links = "".join(parser.parts), parser.links
        elif path.suffix == ".ipynb":                       # a notebook offered for download
            cells = json.loads(raw)["cells"]
            text = "\n".join([_source(c) for c in cells]
                             + ["".join(o.get("text", "")) for c in cells
                                for o in c.get("outputs", [])])
        else:
            text = raw
        files[path.relative_to(SITE).as_posix()] = (normalise(text), links)
    assert len(files) > 20, f"only {len(files)} text files in {SITE}: is the build complete?"
    return files


# ---------------------------------------------------------------------------- the needles

def _cells(path: Path) -> list[dict]:
    return json.loads(path.read_text(encoding="utf-8"))["cells"]


def _source(cell: dict) -> str:
    source = cell["source"]
    return "".join(source) if isinstance(source, list) else source


def _solution_parts(cell: dict) -> list[str]:
    """The reader's part of one solution cell: BEGIN/END blocks, or the whole tagged cell."""
    if "solution" in cell.get("metadata", {}).get("tags", []):
        return [_source(cell)]
    if cell["cell_type"] != "code":
        return []
    return re.findall(r"# BEGIN SOLUTION\n(.*?)\n[ \t]*# END SOLUTION", _source(cell), re.S)


MIN_SENTENCE = 40        # characters: a sentence of a written solution


def _fragments(part: str, code: bool) -> list[str]:
    """A code part's lines, each split into code and comment; a text's sentences."""
    if not code:
        text = normalise(re.sub(r"[*`_]", "", part))              # markdown emphasis, code marks
        return [s for s in re.split(r"(?<=[.!?])\s+(?=[A-Z(])", text)
                if len(s) >= MIN_SENTENCE]
    out = []
    for line in part.splitlines():
        code_part, _, comment = line.partition("#")
        out += [f for f in (normalise(code_part), normalise(comment)) if len(f) >= MIN_NEEDLE]
    return out


def _public_text() -> str:
    """Everything the student edition may show: the labs' sources and the manifests."""
    texts = [_source(cell) for lab in sorted((ROOT / "labs").glob("*.ipynb"))
             for cell in _cells(lab)]
    texts += [m.read_text(encoding="utf-8")
              for m in sorted((ROOT / "cluster" / "manifests").rglob("*.yaml"))]
    return "\n".join(normalise(t) for t in texts)


def needles() -> list[tuple[str, str]]:
    """(solution notebook, a fragment of a solution that only the solution holds)."""
    public = _public_text()
    found = []
    for notebook in sorted((ROOT / "solutions").glob("*.ipynb")):
        for cell in _cells(notebook):
            for part in _solution_parts(cell):
                for fragment in _fragments(part, cell["cell_type"] == "code"):
                    if fragment not in public:
                        found.append((notebook.name, fragment))
    return sorted(set(found))


def test_solutions_have_something_to_look_for():
    """The search must have needles from every solved lab, or it proves nothing."""
    by_notebook = {}
    for notebook, _ in needles():
        by_notebook[notebook] = by_notebook.get(notebook, 0) + 1
    solved = sorted(p.name for p in (ROOT / "solutions").glob("*.ipynb"))
    assert solved, "no solutions/*.ipynb"
    assert sorted(by_notebook) == solved, f"solution fragments per notebook: {by_notebook}"


def test_no_solution_text_in_the_student_site(site):
    leaks = [f"{notebook}: {fragment!r} in {page}"
             for notebook, fragment in needles()
             for page, (text, _) in site.items() if fragment in text]
    assert not leaks, "solution text in the student edition:\n" + "\n".join(leaks[:20])


# ---------------------------------------------------------------------------- links and pages

FORBIDDEN = re.compile(r"(^|/)(solutions|book/instructor)/|/instructor/")


def test_no_solution_or_instructor_page_in_the_student_site(site):
    pages = [p for p in site if FORBIDDEN.search(p) or "/solutions/" in f"/{p}"]
    everything = [p.relative_to(SITE).as_posix() for p in SITE.rglob("*")]
    pages += [p for p in everything if re.search(r"(^|/)solutions(/|$)|(^|/)instructor(/|$)", p)]
    assert not pages, f"solution or instructor pages in the student edition: {sorted(set(pages))}"


def test_no_link_to_a_solution_anywhere(site):
    links = [f"{page}: {link}" for page, (_, page_links) in site.items() for link in page_links
             if re.search(r"(^|/|\.\./)(solutions|instructor)/", link)]
    texts = [page for page, (text, _) in site.items()
             if page.endswith(".html") and re.search(r"solutions/\d\d-[\w-]+\.(html|ipynb)", text)]
    assert not links and not texts, f"links to solutions or instructor pages: {links + texts}"


def test_lab_pages_show_no_computed_output(site):
    """A lab page is a sheet to work through: none of its cells has an output."""
    labs = [p for p in site if p.startswith("labs/") and p.endswith(".html")]
    assert labs, "no lab page in the student edition"
    with_output = []
    for page in labs:
        raw = (SITE / page).read_text(encoding="utf-8")
        if 'class="cell_output' in raw:
            with_output.append(page)
    assert not with_output, f"lab pages with computed outputs: {with_output}"


def test_lab_objectives_render_as_checkboxes(site):
    """Each lab's "Before you start" objectives ("- [ ] ...") are checkboxes, not "[ ]" text:
    MyST's tasklist extension (_config.yml) must be on."""
    labs = sorted(p for p in site if p.startswith("labs/") and p.endswith(".html"))
    assert labs, "no lab page in the student edition"
    problems = []
    for page in labs:
        raw = (SITE / page).read_text(encoding="utf-8")
        boxes = re.findall(r'<input[^>]*class="task-list-item-checkbox"[^>]*type="checkbox"', raw)
        text, _ = site[page]
        if not 3 <= len(boxes) <= 5:
            problems.append(f"{page}: {len(boxes)} objective checkboxes, want 3-5")
        if "[ ]" in text:
            problems.append(f"{page}: '[ ]' shown as text")
    assert not problems, "\n".join(problems)
