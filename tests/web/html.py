"""Reading pages as a person would: the main content, its links and their text."""

from __future__ import annotations

import re
from html import unescape
from html.parser import HTMLParser


class _Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.links: list[tuple[str, str]] = []
        self._href: str | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag == "a":
            self._href = dict(attrs).get("href")
            self._text = []

    def handle_data(self, data):
        if self._href is not None:
            self._text.append(data)

    def handle_endtag(self, tag):
        if tag == "a" and self._href is not None:
            self.links.append((" ".join("".join(self._text).split()), self._href))
            self._href = None


def main_content(html: str) -> str:
    match = re.search(r"<main\b[^>]*>(.*)</main>", html, re.S)
    assert match, "no <main> in page"
    return match.group(1)


def without_title(fragment: str) -> str:
    return re.sub(r"<title>.*?</title>", "", fragment, count=1, flags=re.S)


def normalise(html: str) -> str:
    return " ".join(html.split())


def links(html: str) -> list[tuple[str, str]]:
    """(text, href) of every link in the page's main content."""
    parser = _Links()
    parser.feed(main_content(html))
    return parser.links


def link_to(html: str, text: str) -> str:
    found = [href for label, href in links(html) if label == text]
    assert found, f"no link « {text} » in {[label for label, _ in links(html)]}"
    return found[0]


def text_of(html: str) -> str:
    return normalise(unescape(re.sub(r"<[^>]+>", " ", html)))
