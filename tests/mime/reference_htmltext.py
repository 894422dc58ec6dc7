"""``text_to_html`` as it was before its fast path, kept as the oracle that the fast
path is tested against: a verbatim copy, which renders one line at a time. Its helper
that linked one line is the fast path's `_linkify` (the same code, which the fast path
gives a paragraph or a whole body), so it is imported."""

from __future__ import annotations

import html
import re

from tidings.mime.htmltext import _linkify, _may_link


def text_to_html(text: str) -> str:
    """HTML for a plain-text body: escaped, ``<p>`` per paragraph, ``<br>`` per line break."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    paragraphs = [p for p in re.split(r"\n[ \t]*\n", text) if p.strip()]
    line_html = _linkify if _may_link(text) else html.escape
    rendered = (
        "<p>"
        + "<br>\n".join(line_html(line) for line in paragraph.strip("\n").split("\n"))
        + "</p>"
        for paragraph in paragraphs
    )
    return "\n".join(rendered)
