"""Header parameters (``Content-Type``, ``Content-Disposition``) with RFC 2231 decoding.

The stdlib splits parameters and joins RFC 2231 continuations (``filename*0*=``...);
we decode the joined bytes with our charset table, so unknown charsets and bad
percent-escapes degrade to replaced characters instead of mojibake or exceptions.
Encoded-words inside parameter values are decoded too: RFC 2047 §5 forbids them
there, but many mailers write filenames that way.
"""

from __future__ import annotations

from dataclasses import dataclass
from email.message import Message

from tidings.mime.charsets import decode_text
from tidings.mime.encoded_words import decode_encoded_words

__all__ = ["Parameterized", "parse_parameterized", "render_parameterized"]

_SCRATCH_HEADER = "x-parameterized"
_MAX_PARAMS = 64


@dataclass(frozen=True, slots=True)
class Parameterized:
    """``text/plain; charset=utf-8`` → value ``text/plain``, params ``{"charset": "utf-8"}``."""

    value: str
    params: tuple[tuple[str, str], ...]
    warnings: tuple[str, ...]

    def get(self, name: str) -> str | None:
        """The first parameter called ``name`` (case-insensitive), or None."""
        wanted = name.lower()
        return next((v for k, v in self.params if k == wanted), None)


def _collapse(value: str | tuple[str | None, str | None, str], warnings: list[str]) -> str:
    if isinstance(value, str):
        text, word_warnings = decode_encoded_words(value)
        warnings.extend(word_warnings)
        return text
    charset, _language, encoded = value
    # The stdlib percent-decodes RFC 2231 values to latin-1 code points, one per byte.
    try:
        raw = encoded.encode("latin-1")
    except UnicodeEncodeError:
        raw = encoded.encode("utf-8", "surrogatepass")
    text, _used, charset_warnings = decode_text(raw, charset or None)
    warnings.extend(f"RFC 2231 parameter: {w}" for w in charset_warnings)
    return text


def parse_parameterized(header_value: str) -> Parameterized:
    """Split a parameterized header value into its main value and decoded parameters."""
    scratch = Message()
    scratch[_SCRATCH_HEADER] = header_value
    warnings: list[str] = []
    try:
        raw_params = scratch.get_params(header=_SCRATCH_HEADER) or []
    except (ValueError, LookupError, UnicodeError, IndexError) as exc:
        warnings.append(f"unparseable parameters: {exc}")
        return Parameterized(header_value.split(";", 1)[0].strip(), (), tuple(warnings))
    if not raw_params:
        return Parameterized("", (), ())
    main = raw_params[0][0].strip()
    params: list[tuple[str, str]] = []
    for raw_name, value in raw_params[1:]:
        name = raw_name.strip().lower()
        if not name:
            warnings.append("parameter without a name ignored")
            continue
        if len(params) >= _MAX_PARAMS:
            warnings.append(f"more than {_MAX_PARAMS} parameters; the rest ignored")
            break
        params.append((name, _collapse(value, warnings)))
    return Parameterized(main, tuple(params), tuple(dict.fromkeys(warnings)))


def _quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def render_parameterized(header_value: str) -> tuple[str, tuple[str, ...]]:
    """The header with RFC 2231 and encoded-word parameters decoded, for display.

    Values without anything to decode are returned unchanged.
    """
    if "*=" not in header_value and "*0" not in header_value and "=?" not in header_value:
        return header_value, ()
    parsed = parse_parameterized(header_value)
    parts = [parsed.value, *(f"{name}={_quote(value)}" for name, value in parsed.params)]
    return "; ".join(parts), parsed.warnings
