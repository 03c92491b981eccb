"""Static checks of the built site: every internal link and anchor resolves.

Parsed from the HTML files themselves (no browser needed), so the whole site
is covered, including pages a reader reaches only through a link.  External
links are listed, never fetched.
"""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urldefrag, urlparse


class _Page(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.ids: set[str] = set()
        self.links: list[str] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        for key in ("id", "name"):
            if attrs.get(key):
                self.ids.add(attrs[key])
        if tag == "a" and attrs.get("href"):
            self.links.append(attrs["href"])


def parse(path: Path) -> _Page:
    page = _Page()
    page.feed(path.read_text(encoding="utf-8", errors="replace"))
    return page


def check_links(root: Path):
    """(broken, external): internal links whose file or anchor is missing, and external URLs.

    ``broken`` holds (page, href, why); ``external`` the distinct external URLs.
    Sphinx's own generated pages (search, genindex) are checked like the rest.
    """
    pages = {p: parse(p) for p in root.rglob("*.html") if "_static" not in p.parts}
    broken, external = [], set()
    for page, parsed in pages.items():
        for href in parsed.links:
            url = urlparse(href)
            if url.scheme in ("http", "https") or href.startswith("//"):
                external.add(href)
                continue
            if url.scheme in ("mailto", "javascript", "data"):
                continue
            target_path, fragment = urldefrag(href)
            target = (page.parent / unquote(target_path)).resolve() if target_path else page
            if target.is_dir():
                target = target / "index.html"
            if not target.exists():
                broken.append((str(page.relative_to(root)), href, "no such file"))
                continue
            if fragment and target.suffix == ".html":
                ids = pages[target].ids if target in pages else parse(target).ids
                if unquote(fragment) not in ids:
                    broken.append((str(page.relative_to(root)), href, "no such anchor"))
    return broken, sorted(external)
