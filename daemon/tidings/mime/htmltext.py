"""HTML ↔ plain text for message bodies and snippets.

``html_to_text`` uses the stdlib ``html.parser``, which never builds a tree (no depth
limit to hit) and recovers from any markup. ``text_to_html`` escapes everything and
adds only paragraphs, line breaks and links.
"""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser
from typing import Final

from tidings.mime.spaces import RunCollapser

__all__ = ["html_to_text", "make_snippet", "text_to_html"]

# Content that is never shown to a reader.
_HIDDEN = frozenset({"script", "style", "title", "template", "svg", "math"})
# Blocks that stand apart from their neighbours by an empty line.
_PARAGRAPHS = frozenset(
    {"p", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre", "table", "ul", "ol", "dl",
     "hr", "address", "figure", "fieldset", "form"}
)  # fmt: skip
# Blocks that start on a new line.
_LINES = frozenset(
    {"div", "br", "li", "tr", "dt", "dd", "section", "article", "header", "footer", "nav",
     "aside", "main", "center", "caption", "tbody", "thead", "tfoot", "details", "summary"}
)  # fmt: skip
_CELLS = frozenset({"td", "th"})
_VOID = frozenset({"br", "hr", "img", "meta", "link", "input", "area", "base", "col", "wbr"})
# Runs of these become one space in text taken from HTML and in snippets.
_COLLAPSE_SPACES = RunCollapser.of(r"[ \t\r\n\f\v\u00a0\u200b]")
_BLANK_LINES = re.compile(r"\n{3,}")
_TAGS = re.compile(r"<[^>]*>?")
_LONE_LT = re.compile(r"<(?=[^<>]*(?:<|\Z))")
_SNIPPET_HTML_CHARS = 256 * 1024
_PARAGRAPH_BREAK = "\x00P"
_LINE_BREAK = "\x00L"
_BREAKS = re.compile("(?: *\x00[PL] *)+")


class _TextExtractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.hidden_depth = 0
        self.pre_depth = 0

    def _block(self, tag: str) -> None:
        if tag in _PARAGRAPHS:
            self.out.append(_PARAGRAPH_BREAK)
        elif tag in _LINES:
            self.out.append(_LINE_BREAK)
        elif tag in _CELLS:
            self.out.append(" ")

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _HIDDEN:
            if tag not in _VOID:
                self.hidden_depth += 1
            return
        if tag == "pre":
            self.pre_depth += 1
        if tag == "li":
            self.out.append(_LINE_BREAK + "- ")
            return
        self._block(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in _HIDDEN:
            self._block(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag in _HIDDEN:
            self.hidden_depth = max(0, self.hidden_depth - 1)
            return
        if tag == "pre":
            self.pre_depth = max(0, self.pre_depth - 1)
        if tag != "br" and tag not in _CELLS:
            self._block(tag)

    def handle_data(self, data: str) -> None:
        if self.hidden_depth:
            return
        if self.pre_depth:
            self.out.append(data)
        else:
            self.out.append(_COLLAPSE_SPACES(data))


def _break(match: re.Match[str]) -> str:
    # Adjacent block edges ("</li><li>", "</p><div>") make one break, the widest.
    return "\n\n" if _PARAGRAPH_BREAK in match.group(0) else "\n"


def _layout(chunks: list[str]) -> str:
    """Turn the break markers into newlines: at most one empty line between blocks."""
    text = _BREAKS.sub(_break, "".join(chunks))
    lines = [line.strip(" ") for line in text.split("\n")]
    return _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip("\n")


def _defuse(html_text: str) -> str:
    """Remove comments and escape every "<" that opens no tag, in linear time.

    ``html.parser`` rescans the rest of the document for each "<" whose tag never ends
    ("<a <a <a ...", an unclosed comment), which is quadratic: a hostile message could
    stall a worker for hours. A "<" followed by another "<" before any ">" cannot open a
    tag that a mail reader would render, so it is text.
    """
    out: list[str] = []
    position = 0
    while (start := html_text.find("<!--", position)) >= 0:
        out.append(html_text[position:start])
        end = html_text.find("-->", start + 4)
        if end < 0:
            position = len(html_text)  # an unclosed comment runs to the end
            break
        position = end + 3
    out.append(html_text[position:])
    return _LONE_LT.sub("&lt;", "".join(out).replace("\x00", ""))


def html_to_text(html_text: str) -> str:
    """Readable text of an HTML body: hidden elements dropped, blocks on their own lines."""
    parser = _TextExtractor()
    try:
        parser.feed(_defuse(html_text))
        parser.close()
    except (AssertionError, ValueError, IndexError):
        # _markupbase raises AssertionError on some malformed declarations; keep what
        # was read and strip the tags from the rest.
        parser.out.append(_COLLAPSE_SPACES(html.unescape(_TAGS.sub(" ", parser.rawdata))))
    return _layout(parser.out)


# Web addresses as people type them; trailing punctuation is trimmed afterwards.
_LINK = re.compile(
    r"\b(?:(?:https?|ftp)://[^\s<>\"']+|www\.[^\s<>\"']+\.[^\s<>\"']+|mailto:[^\s<>\"']+@[^\s<>\"']+)",
    re.IGNORECASE,
)
_TRAILING = ".,;:!?'\"*"


def _trim_link(link: str) -> str:
    while link and (
        link[-1] in _TRAILING or (link[-1] == ")" and link.count(")") > link.count("("))
    ):
        link = link[:-1]
    return link


def _may_link(text: str) -> bool:
    """Whether `text` can hold a link at all: a cheap test that spares most bodies the
    regular expression, which is slow to run over every line.

    Both "://" and "mailto:" hold a colon, and looking for one character is many times
    faster than looking for several (a 4 KB body: 0.1 µs against 2-3 µs), so most
    bodies pay for one search of several characters, the one for "www."."""
    lowered = text.lower()
    return "www." in lowered or (":" in text and ("://" in text or "mailto:" in lowered))


# What html.escape replaces, in its order ("&" first, so that no entity is escaped twice).
_ESCAPES: Final = (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;"), ('"', "&quot;"),
                   ("'", "&#x27;"))


def _escape(text: str) -> str:
    """html.escape(text), the same to the character, but a character that does not occur
    costs one search for it: one character is found with memchr, while str.replace
    walks the whole text, which made escaping a 4 KB body take 8 µs instead of 0.3."""
    for char, entity in _ESCAPES:
        if char in text:
            text = text.replace(char, entity)
    return text


def _linkify(text: str) -> str:
    """`text` escaped, its links made anchors. A link holds no white space, so it never
    spans a line break and the whole of a paragraph is linked in one pass."""
    if not _may_link(text):
        return _escape(text)
    out: list[str] = []
    position = 0
    for match in _LINK.finditer(text):
        link = _trim_link(match.group(0))
        if not link:
            continue
        href = link if "://" in link or link.lower().startswith("mailto:") else "http://" + link
        out.append(_escape(text[position : match.start()]))
        out.append(f'<a href="{_escape(href)}">{_escape(link)}</a>')
        position = match.start() + len(link)
    out.append(_escape(text[position:]))
    return "".join(out)


# Paragraphs are separated by an empty line, or one of spaces and tabs only.
_PARAGRAPH_SEPARATOR: Final = re.compile(r"\n[ \t]*\n")


def text_to_html(text: str) -> str:
    """HTML for a plain-text body: escaped, ``<p>`` per paragraph, ``<br>`` per line break.

    Escaping leaves white space as it is, so a body without links is escaped whole
    and then cut into paragraphs and lines, in a few passes over the whole of it:
    listing messages renders every text-only body. A body with a link is linked
    paragraph by paragraph (a link never spans a line)."""
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    if _may_link(text):
        return "\n".join(
            "<p>" + _linkify(paragraph.strip("\n")).replace("\n", "<br>\n") + "</p>"
            for paragraph in _PARAGRAPH_SEPARATOR.split(text) if paragraph.strip()
        )
    paragraphs = [paragraph.strip("\n") for paragraph in
                  _PARAGRAPH_SEPARATOR.split(_escape(text)) if paragraph.strip()]
    if not paragraphs:
        return ""
    return "<p>" + "</p>\n<p>".join([p.replace("\n", "<br>\n") for p in paragraphs]) + "</p>"


def make_snippet(text: str | None, html_body: str | None, length: int = 100) -> str:
    """The first ``length`` characters of the body, whitespace collapsed, no markup.

    Plain text is used when it has any; the HTML body otherwise.
    """
    if length <= 0:
        return ""
    source = text if text and text.strip() else None
    if source is None and html_body:
        source = html_to_text(html_body[:_SNIPPET_HTML_CHARS])
    if not source:
        return ""
    # Only the start of a long body matters; collapsing it all would waste time. A
    # short prefix usually suffices: collapsing a prefix gives a prefix of the longer
    # collapse, so once it holds more than ``length`` characters the answer is final.
    for end in (length * 2 + 64, length * 8 + 1024):
        head = _COLLAPSE_SPACES(source[:end]).strip()
        if len(head) > length or end >= len(source):
            break
    return head[:length].rstrip()
