"""The built book as a reader's browser sees it: headless Debian Chromium, driven by Playwright.

The site in ``_build/html`` (``make book``; ``make test`` builds it first) is
served on 127.0.0.1 by a server this module starts on a free port and stops.
Every request that is not for that server is blocked and counted: the book
must need nothing from the internet (no CDN for MathJax, require.js or the
widget manager).  Checked on every page: all images load, no raw ``$…$`` or
``\\[`` math is left in the text, a page that shows a widget shows it rendered
or with its static fallback; on the glossary, the Korean text is in the DOM;
over the whole site, every internal link and anchor resolves (external links
are listed in ``_build/screenshots/external-links.txt``, not fetched).
Screenshots of the intro, each strategy chapter and lab 01 land in
``_build/screenshots/``.

Chromium comes from Debian (``apt-get install chromium fonts-noto-cjk``;
``.ci/run`` installs both); ``playwright install`` is never needed.  Without
a browser these tests fail with one line saying how to install it.
"""

from __future__ import annotations

import functools
import re
import http.server
import shutil
import sys
import threading
from pathlib import Path
from urllib.parse import urlparse

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from sitecheck import check_links  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
SITE = ROOT / "_build" / "html"
SHOTS = ROOT / "_build" / "screenshots"
CHROMIUM = "/usr/bin/chromium"
# The flags known to work on this kind of machine (see the machine notes): no sandbox as root,
# no GPU, and none of Chromium's own background connections.
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-quic", "--no-first-run", "--disable-component-update", "--disable-sync"]
SCREENSHOTS = {"intro": "book/intro.html", "rolling-update": "book/rolling-update.html",
               "blue-green": "book/blue-green.html", "canary": "book/canary.html",
               "comparison": "book/comparison.html",
               "really-zero-downtime": "book/really-zero-downtime.html",
               "glossary": "book/glossary.html", "lab-01": "labs/01-rolling-update.html"}
# Text nodes under these elements may hold a literal "$" (console prompts, code).
RAW_MATH_JS = """() => {
  const skip = new Set(["PRE", "CODE", "SCRIPT", "STYLE", "TEXTAREA", "MJX-CONTAINER"]);
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT, {
    acceptNode(node) {
      for (let e = node.parentElement; e; e = e.parentElement)
        if (skip.has(e.tagName)) return NodeFilter.FILTER_REJECT;
      return NodeFilter.FILTER_ACCEPT;
    }});
  const hits = [];
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    const t = n.textContent;
    if (/\\$[^$\\s][^$]*\\$/.test(t) || /\\\\\\[|\\\\\\(/.test(t)) hits.push(t.trim().slice(0, 80));
  }
  return hits;
}"""
IMAGES_JS = """() => Array.from(document.images).map(i => ({
  src: i.currentSrc || i.src, loaded: i.complete && i.naturalWidth > 0, alt: i.alt,
  inFigure: !!i.closest("figure"),
  caption: i.closest("figure") && i.closest("figure").querySelector("figcaption")
           ? i.closest("figure").querySelector("figcaption").innerText.trim() : ""}))"""


def _playwright():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail("playwright is not installed: run `make setup` (requirements.txt lists it)",
                    pytrace=False)
    if not Path(CHROMIUM).exists() and not shutil.which("chromium"):
        pytest.fail("no Chromium at /usr/bin/chromium: install it with "
                    "`apt-get install chromium fonts-noto-cjk` (Debian; .ci/run does)",
                    pytrace=False)
    return sync_playwright


@pytest.fixture(scope="module")
def site():
    if not (SITE / "index.html").exists():
        pytest.fail("the book is not built: run `make book` (make test does it first)",
                    pytrace=False)
    handler = functools.partial(_QuietHandler, directory=str(SITE))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)   # the kernel picks
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def browser_pages(site):
    """Every HTML page of the site, visited once: what each showed, and every blocked request."""
    sync_playwright = _playwright()
    origin = urlparse(site).netloc
    blocked: list[str] = []
    results = {}
    pages = sorted(p.relative_to(SITE).as_posix() for p in SITE.rglob("*.html")
                   if "_static" not in p.parts)
    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        context = browser.new_context(viewport={"width": 1280, "height": 900})

        def route(r):
            if urlparse(r.request.url).netloc == origin:
                r.continue_()
            else:
                blocked.append(r.request.url)
                r.abort()

        context.route("**/*", route)
        page = context.new_page()
        for rel in pages:
            page.goto(f"{site}/{rel}", wait_until="load")
            page.wait_for_load_state("networkidle")
            results[rel] = {
                "images": page.evaluate(IMAGES_JS),
                "raw_math": page.evaluate(RAW_MATH_JS),
                "widget_views": page.locator(
                    'script[type="application/vnd.jupyter.widget-view+json"]').count(),
                "widgets_rendered": page.locator(".jupyter-widgets, .widget-fallback").count(),
                "fallback_notes": page.locator(".widget-fallback").count(),
                "text": page.inner_text("body"),
            }
            for name, target in SCREENSHOTS.items():
                if rel == target:
                    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)
                    first = page.locator("figure").first
                    if first.count():
                        first.scroll_into_view_if_needed()
                        page.evaluate("window.scrollBy(0, -120)")
                        page.screenshot(path=str(SHOTS / f"{name}-first-figure.png"))
        browser.close()
    return {"pages": results, "blocked": blocked}


def test_no_request_leaves_the_machine(browser_pages):
    blocked = browser_pages["blocked"]
    assert len(browser_pages["pages"]) >= 20
    assert blocked == [], f"{len(blocked)} external request(s), e.g. {blocked[:5]}"


def test_every_image_loads(browser_pages):
    bad = [(rel, i["src"]) for rel, r in browser_pages["pages"].items() for i in r["images"]
           if not i["loaded"]]
    assert bad == []
    # The browser saw every <img> the built HTML holds (none hidden from the check above).
    in_html = sum(len(re.findall(r"<img\b", (SITE / rel).read_text(encoding="utf-8")))
                  for rel in browser_pages["pages"])
    seen = sum(len(r["images"]) for r in browser_pages["pages"].values())
    assert in_html > 0 and seen == in_html


def test_every_chapter_figure_has_alt_text_and_a_caption(browser_pages):
    figures = [(rel, i) for rel, r in browser_pages["pages"].items() if rel.startswith("book/")
               for i in r["images"] if i["inFigure"]]
    assert len(figures) >= 15
    missing = [(rel, i["src"].rsplit("/", 1)[-1]) for rel, i in figures
               if not i["alt"].strip() or not i["caption"]]
    assert missing == []


def test_no_raw_math_is_left(browser_pages):
    raw = {rel: r["raw_math"] for rel, r in browser_pages["pages"].items() if r["raw_math"]}
    assert raw == {}


def test_widgets_render_or_show_their_fallback(browser_pages):
    pages = browser_pages["pages"]
    for rel, r in pages.items():
        if r["widget_views"]:
            assert r["widgets_rendered"], f"{rel}: a widget with neither rendering nor fallback"
    # The two chapters with a live control show its static snapshot and say it needs a kernel.
    for rel in ("book/rolling-update.html", "book/availability-reliability.html"):
        assert pages[rel]["fallback_notes"] == 1, rel
        assert "only with a running Python kernel" in pages[rel]["text"]


def test_korean_glossary_text_is_in_the_dom(browser_pages):
    text = browser_pages["pages"]["book/glossary.html"]["text"]
    for term in ("무중단 배포", "지속적 전달", "지속적 배포", "준비성", "카나리아", "릴리즈"):
        assert term in text, term


def test_screenshots_are_saved(browser_pages):
    for name in SCREENSHOTS:
        shot = SHOTS / f"{name}.png"
        assert shot.exists() and shot.stat().st_size > 10_000, shot
    assert (SHOTS / "rolling-update-first-figure.png").exists()


def test_no_broken_internal_link_or_anchor():
    if not (SITE / "index.html").exists():
        pytest.fail("the book is not built: run `make book` (make test does it first)",
                    pytrace=False)
    broken, external = check_links(SITE)
    SHOTS.mkdir(parents=True, exist_ok=True)
    (SHOTS / "external-links.txt").write_text("\n".join(external) + "\n")
    assert broken == [], broken[:10]
    assert external, "the book cites sources: some external links are expected"
