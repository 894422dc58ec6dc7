"""Charset labels → Python codecs, and decoding that never fails.

Mail declares charsets by label, and the labels in the wild are the ones web browsers
met too: the WHATWG Encoding Standard (https://encoding.spec.whatwg.org/#names-and-labels)
maps them to the encodings senders really used (``iso-8859-1`` text is windows-1252,
``gb2312`` is GB18030, ``ks_c_5601-1987`` is windows-949, ``shift_jis`` is windows-31J).
We follow that table, then accept any other charset Python has a text codec for.

Bytes that do not decode are replaced by U+FFFD and a warning is recorded: text is
never dropped and decoding never raises.
"""

from __future__ import annotations

import codecs
import functools
import re

__all__ = ["decode_text", "is_known_charset", "scrub_text"]

# Labels Python does not know, mapped to the codec the WHATWG table names for them.
_EXTRA_LABELS: dict[str, str] = {
    "x-sjis": "cp932",
    "windows-31j": "cp932",
    "csshiftjis": "cp932",
    "x-gbk": "gb18030",
    "x-cp936": "gb18030",
    "cn-gb": "gb18030",
    "csgb2312": "gb18030",
    "iso-ir-58": "gb18030",
    "gb_2312": "gb18030",
    "gb_2312-80": "gb18030",
    "chinese": "gb18030",
    "windows-949": "cp949",
    "x-windows-949": "cp949",
    "ks_c_5601-1989": "cp949",
    "ksc_5601": "cp949",
    "csksc56011987": "cp949",
    "x-euc-jp": "euc_jp",
    "cseucpkdfmtjapanese": "euc_jp",
    "x-x-big5": "big5hkscs",
    "cn-big5": "big5hkscs",
    "csbig5": "big5hkscs",
    "x-mac-roman": "mac_roman",
    "x-mac-cyrillic": "mac_cyrillic",
    "x-mac-ukrainian": "mac_cyrillic",
    "x-mac-ce": "mac_latin2",
    "x-mac-greek": "mac_greek",
    "x-mac-turkish": "mac_turkish",
    "x-mac-icelandic": "mac_iceland",
    "iso-8859-8-i": "iso8859_8",
    "iso-8859-8-e": "iso8859_8",
    "csiso88598i": "iso8859_8",
    "logical": "iso8859_8",
    "visual": "iso8859_8",
    "iso-8859-6-i": "iso8859_6",
    "iso-8859-6-e": "iso8859_6",
    "windows-874": "cp874",
    "dos-874": "cp874",
    "koi": "koi8_r",
    "koi8": "koi8_r",
    "cskoi8r": "koi8_r",
    "koi8-ru": "koi8_u",
    "unicode-1-1-utf-8": "utf-8",
    "unicode11utf8": "utf-8",
    "unicode20utf8": "utf-8",
    "x-unicode20utf8": "utf-8",
    "unicode": "utf-16-le",
    "ucs-2": "utf-16-le",
    "csunicode": "utf-16-le",
    "iso-10646-ucs-2": "utf-16-le",
    **{f"x-cp125{n}": f"cp125{n}" for n in range(9)},
}

# After Python resolved a label, the WHATWG table says which superset senders really meant.
_SUPERSETS: dict[str, tuple[str, ...]] = {
    "iso8859-1": ("cp1252",),
    "iso8859-9": ("cp1254",),
    "iso8859-11": ("cp874",),
    "tis-620": ("cp874",),
    "gb2312": ("gb18030",),
    "gbk": ("gb18030",),
    "euc_kr": ("cp949",),
    "shift_jis": ("cp932", "shift_jis_2004"),
    "big5": ("big5hkscs",),
    "iso2022_jp": ("iso2022_jp_2", "iso2022_jp_ext"),
    "euc_jp": ("euc_jp", "euc_jis_2004"),
    "utf-8-sig": ("utf-8",),
}

# Codecs that Python reaches by a charset-looking name but that are not charsets.
_NOT_CHARSETS = frozenset(
    {"idna", "punycode", "unicode_escape", "raw_unicode_escape", "undefined", "charmap"}
)

# Names that declare "we don't know": treated as undeclared, with a warning.
_UNKNOWN_LABELS = frozenset({"unknown", "unknown-8bit", "x-unknown", "x-user-defined", "8bit"})

_ASCII = "ascii"
_MAX_LABEL = 64
_SURROGATES_OR_NUL = re.compile("[\ud800-\udfff\x00]")
_C1_HANDLER = "tidings-whatwg-c1"


def _c1_fallback(error: UnicodeError) -> tuple[str, int]:
    """Decode the five bytes windows-1252 leaves undefined as C1 controls, as WHATWG does."""
    if not isinstance(error, UnicodeDecodeError):
        raise error
    chunk = error.object[error.start : error.end]
    return "".join(chr(b) for b in chunk), error.end


codecs.register_error(_C1_HANDLER, _c1_fallback)


def _normalize_label(charset: str) -> str:
    label = charset.strip().strip("\"'").strip().lower()
    # RFC 2231 §5 lets an encoded-word charset carry a language: "utf-8*en".
    return label.split("*", 1)[0]


def _codec_chain(charset: str | None) -> tuple[str, ...] | None:
    """The codecs to try for a label, best first; ``()`` for ASCII, None when unknown."""
    if charset is None:
        return ()
    return _label_chain(charset)


# Every part of every message names its charset, and a mailbox uses a handful of labels:
# a bounded cache spares the label clean-up and the codec registry lookup.
@functools.lru_cache(maxsize=512)
def _label_chain(charset: str) -> tuple[str, ...] | None:
    label = _normalize_label(charset)
    if not label or len(label) > _MAX_LABEL or label in _UNKNOWN_LABELS:
        return None
    label = _EXTRA_LABELS.get(label, label)
    try:
        info = codecs.lookup(label)
    except (LookupError, ValueError):
        return None
    if not getattr(info, "_is_text_encoding", True) or info.name in _NOT_CHARSETS:
        return None
    if info.name == _ASCII:
        return ()
    return _SUPERSETS.get(info.name, (info.name,))


def is_known_charset(charset: str) -> bool:
    """True when ``charset`` names a text encoding we can decode."""
    return _codec_chain(charset) is not None


def _display_name(codec: str) -> str:
    if codec.startswith("cp125"):
        return "windows-" + codec[2:]
    return {"cp874": "windows-874", "cp932": "windows-31j", "cp949": "windows-949"}.get(
        codec, codec
    )


def scrub_text(text: str) -> str:
    """Replace lone surrogates and NUL with U+FFFD.

    Some codecs (UTF-7) let lone surrogates through; they are not valid UTF-8 and
    would break protobuf and the store. NUL is refused by PostgreSQL text columns.
    """
    if text.isascii():  # the common case: no surrogate can be there, only NUL
        return text.replace("\x00", "\ufffd") if "\x00" in text else text
    if _SURROGATES_OR_NUL.search(text) is None:
        return text
    return _SURROGATES_OR_NUL.sub("\ufffd", text)


def _strict(data: bytes, codec: str) -> str | None:
    try:
        return data.decode(codec)
    except (UnicodeDecodeError, LookupError):
        return None


def _guess(data: bytes) -> tuple[str, str]:
    """Text of undeclared or mislabelled 8-bit data: UTF-8 when it is valid, else windows-1252."""
    text = _strict(data, "utf-8")
    if text is not None:
        return text, "utf-8"
    return data.decode("cp1252", _C1_HANDLER), "windows-1252"


def _finish(text: str) -> str:
    if text.startswith("\ufeff"):
        text = text[1:]
    return scrub_text(text)


def decode_text(data: bytes, charset: str | None) -> tuple[str, str, tuple[str, ...]]:
    """Decode ``data`` declared as ``charset``; returns (text, charset used, warnings).

    ``charset`` None means undeclared (RFC 2045 §5.2 defaults to US-ASCII). 8-bit data
    that is undeclared, declared ASCII or declared in a charset nobody knows is read as
    UTF-8 when it is valid UTF-8, else as windows-1252, and a warning says so.
    """
    chain = _codec_chain(charset)
    warnings: list[str] = []
    if chain is None:
        shown = (charset or "")[:_MAX_LABEL]
        text, used = _guess(data)
        warnings.append(f"unknown charset {shown!r}; decoded as {used}")
        return _finish(text), used, tuple(warnings)
    if not chain:
        if data.isascii():
            return scrub_text(data.decode(_ASCII)), "us-ascii", ()
        text, used = _guess(data)
        declared = "no charset" if charset is None else f"charset {charset[:_MAX_LABEL]!r}"
        warnings.append(f"8-bit text with {declared}; decoded as {used}")
        return _finish(text), used, tuple(warnings)
    for codec in chain:
        if codec == "cp1252":
            return _finish(data.decode(codec, _C1_HANDLER)), "windows-1252", ()
        text_or_none = _strict(data, codec)
        if text_or_none is not None:
            return _finish(text_or_none), _display_name(codec), ()
    codec = chain[0]
    text = data.decode(codec, "replace")
    warnings.append(f"undecodable bytes in {_display_name(codec)} text replaced")
    return _finish(text), _display_name(codec), tuple(warnings)
