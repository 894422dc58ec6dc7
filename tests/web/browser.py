"""What a browser does with our form: read its fields and their current values."""

from __future__ import annotations

from html.parser import HTMLParser


class _FormReader(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.fields: dict[str, str] = {}
        self.kinds: dict[str, str] = {}
        self._select: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        if tag == "input" and "name" in values:
            self.fields[values["name"]] = values.get("value", "")
            self.kinds[values["name"]] = values.get("type", "text")
        elif tag == "select":
            self._select = values.get("name")
        elif tag == "option" and self._select is not None and "selected" in values:
            self.fields[self._select] = values.get("value", "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "select":
            self._select = None


def form_fields(html: str) -> dict[str, str]:
    """Every field of the page's form with the value it would submit as shown."""
    reader = _FormReader()
    reader.feed(html)
    return reader.fields


def field_types(html: str) -> dict[str, str]:
    reader = _FormReader()
    reader.feed(html)
    return reader.kinds
