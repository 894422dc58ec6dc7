"""``text_to_html`` as it was before its fast path, kept as the oracle that the fast
path is tested against: a verbatim copy, which renders one line at a time. The helpers
it shares with the fast path are imported."""

from __future__ import annotations

import html
import re

from tidings.mime.htmltext import _LINK, _may_link, _trim_link


def _linkify_line(line: str) -> str:
    if not _may_link(line):
        return html.escape(line)
    out: list[str] = []
    position = 0
    for match in _LINK.finditer(line):
        link = _trim_link(match.group(0))
        if not link:
            continue
        href = link if "://" in link or link.lower().startswith("mailto:") else "http://" + link
        out.append(html.escape(line[position : match.start()]))
        out.append(f'<a href="{html.escape(href)}">{html.escape(link)}</a>')
        position = match.start() + len(link)
    out.append(html.escape(line[position:]))
    return "".join(out)


def text_to_html(text: str) -> str:
    """HTML for a plain-text body: escaped, ``<p>`` per paragraph, ``<br>`` per line break."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    paragraphs = [p for p in re.split(r"\n[ \t]*\n", text) if p.strip()]
    line_html = _linkify_line if _may_link(text) else html.escape
    rendered = (
        "<p>"
        + "<br>\n".join(line_html(line) for line in paragraph.strip("\n").split("\n"))
        + "</p>"
        for paragraph in paragraphs
    )
    return "\n".join(rendered)
