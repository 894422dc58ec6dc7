"""CPU cost of turning fetched messages into domain messages: header parsing, content
fingerprints, text part decoding with snippets, and the whole ``read_head`` +
``build_message`` of the initial sync; beside baselines measured in the same run on the
same inputs: the stdlib header parser (``BytesHeaderParser``, compat32), the bare
transfer decoding, and the implementation before its fast paths (the oracle kept in
``tests/mime/reference_*``).

Inputs are built here, with no server: messages from `tidings.devtools.mailgen` (seed
1), each as the head fetch and the text fetch would bring it (header section,
BODYSTRUCTURE, the text parts still transfer-encoded). A second set of header sections
adds what delivery writes into real mail: Received chains, a folded DKIM-Signature,
encoded-word display names and subjects. Figures are CPU time (``time.process_time``,
best of --rounds), not wall time: the machine may be shared.

    .venv/bin/python bench/mime_parse.py [--count 3000] [--rounds 5]
"""

from __future__ import annotations

import argparse
import binascii
import gc
import hashlib
import random
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from email import policy
from email.message import Message
from email.parser import BytesHeaderParser
from functools import partial
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import Figure, print_table
from tidings import mime
from tidings.devtools.mailgen import generate
from tidings.domain import EmailAddress
from tidings.imap import BodyPart, BodyStructure, Fetch, Multipart
from tidings.mime.fields import header_section
from tidings.mime.structure import is_multipart, parse_structure, part_headers, raw_payload
from tidings.sync import materialize
from tidings.sync.materialize import Head, build_message, read_head

try:
    from tests.mime import reference_body, reference_headers
except ImportError:  # the oracle is part of the test tree; without it, no "before" rows
    reference_body = reference_headers = None  # type: ignore[assignment]


@dataclass(frozen=True, slots=True)
class Sample:
    """One message as the two sync fetches bring it."""

    header: bytes
    fetch: Fetch
    sections: dict[str, bytes | None]
    text_parts: tuple[tuple[bytes, str, str | None], ...]  # (data, encoding, charset)


def _structure(entity: Message, number: str) -> BodyStructure:
    """BODYSTRUCTURE of a parsed entity, numbered as RFC 9051 §6.4.5 numbers parts."""
    if is_multipart(entity):
        payload = entity.get_payload()
        children = [p for p in payload if isinstance(p, Message)] if isinstance(
            payload, list) else []
        parts = tuple(_structure(child, f"{number}.{i}" if number else str(i))
                      for i, child in enumerate(children, start=1))
        return Multipart(part=number, parts=parts, subtype=entity.get_content_subtype(),
                         params={k.lower(): v for k, v in (entity.get_params() or [])[1:]})
    headers = part_headers(entity)
    filename = headers.filename
    return BodyPart(
        part=number or "1", type=entity.get_content_maintype(),
        subtype=entity.get_content_subtype(), params=dict(headers.params.params),
        id=headers.content_id, description=None,
        encoding=headers.transfer_encoding or "7bit", size=len(raw_payload(entity)),
        disposition=headers.disposition,
        disposition_params={"filename": filename} if filename else {},
    )


def _leaves(entity: Message, number: str) -> Iterator[tuple[str, Message]]:
    if not is_multipart(entity):
        yield number or "1", entity
        return
    payload = entity.get_payload()
    for i, child in enumerate(payload if isinstance(payload, list) else [], start=1):
        if isinstance(child, Message):
            yield from _leaves(child, f"{number}.{i}" if number else str(i))


def build_samples(count: int, seed: int) -> list[Sample]:
    samples: list[Sample] = []
    for uid, item in enumerate(generate(count, seed=seed, days=80), start=1):
        header = item.raw[: header_section(item.raw)[1]]
        root = parse_structure(item.raw)
        structure = _structure(root, "")
        fetch = Fetch(seq=uid, uid=uid, flags=("\\Seen",), internaldate=item.when,
                      size=len(item.raw), bodystructure=structure,
                      sections={"BODY[HEADER]": header})
        sections: dict[str, bytes | None] = {}
        texts: list[tuple[bytes, str, str | None]] = []
        for number, entity in _leaves(root, ""):
            if entity.get_content_maintype() == "text" and not entity.get_filename():
                data = raw_payload(entity)
                sections[f"BODY[{number}]<0>"] = data
                texts.append((data, part_headers(entity).transfer_encoding or "7bit",
                              entity.get_content_charset()))
        samples.append(Sample(header, fetch, sections, tuple(texts)))
    return samples


_NAMES = ("Zoë Müller", "José Ñúñez", "Łukasz Żółw", "Ørjan Ås", "Ana", "Bob Stone")


def delivered(header: bytes, rng: random.Random) -> bytes:
    """The header section as a delivering server and a modern mailer would leave it."""
    name = rng.choice(_NAMES)
    word = "=?utf-8?b?" + binascii.b2a_base64(name.encode(), newline=False).decode() + "?="
    hops = b"".join(
        b"Received: from mx%d.example.net (mx%d.example.net [192.0.2.%d])\r\n"
        b"\tby imap.example.org (Postfix) with ESMTPS id %X\r\n"
        b"\tfor <alice@example.org>; Tue, 4 Jun 2024 10:00:%02d +0000 (UTC)\r\n"
        % (i, i, rng.randrange(255), rng.randrange(1 << 40), i) for i in range(3))
    extra = (b"Return-Path: <bounce@example.net>\r\nDelivered-To: alice@example.org\r\n"
             + hops
             + b"DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d=example.net;\r\n"
               b"\ts=sel; h=from:to:subject:date:message-id;\r\n"
               b"\tbh=" + binascii.b2a_base64(rng.randbytes(32), newline=False) + b";\r\n"
               b"\tb=" + binascii.b2a_base64(rng.randbytes(120), newline=False) + b"\r\n"
             + b"X-Sender-Name: " + word.encode() + b"\r\n")
    header = header.replace(b"From: ", f"From: {word} <".encode(), 1)
    header = header.replace(b"\nTo:", b">\nTo:", 1) if b"\r\nTo:" not in header else \
        header.replace(b"\r\nTo:", b">\r\nTo:", 1)
    if rng.random() < 0.3:
        header = header.replace(b"Subject: ", b"Subject: =?utf-8?q?=C3=89t=C3=A9?= ", 1)
    return extra + header


def best_cpu(work: Callable[[], object], rounds: int) -> float:
    """The least CPU seconds of ``rounds`` runs of ``work``."""
    best = float("inf")
    for _ in range(rounds):
        started = time.process_time()
        work()
        best = min(best, time.process_time() - started)
    return best


def stdlib_headers(headers: Sequence[bytes]) -> None:
    parser = BytesHeaderParser(policy=policy.compat32)
    for header in headers:
        message = parser.parsebytes(header)
        for name in ("subject", "from", "to", "cc", "date", "message-id", "references"):
            message.get_all(name)


def bare_transfer_decoding(samples: Sequence[Sample]) -> None:
    for sample in samples:
        for data, encoding, charset in sample.text_parts:
            decoded = data
            if encoding == "quoted-printable":
                decoded = binascii.a2b_qp(data)
            elif encoding == "base64":
                decoded = binascii.a2b_base64(data)
            decoded.decode(charset or "ascii", "replace")


def stdlib_baseline(headers: Sequence[bytes], samples: Sequence[Sample]) -> None:
    stdlib_headers(headers)
    bare_transfer_decoding(samples)


def parse_all(parse: Callable[[bytes], object], headers: Sequence[bytes]) -> None:
    for header in headers:
        parse(header)


def decode_and_snippet(samples: Sequence[Sample]) -> None:
    for sample in samples:
        for data, encoding, charset in sample.text_parts:
            mime.make_snippet(mime.decode_part(data, encoding, charset).text, None)


def materialize_all(samples: Sequence[Sample]) -> None:
    for sample in samples:
        head = read_head(sample.fetch, strict_message_id=False)
        if head is None:
            raise RuntimeError(f"message {sample.fetch.uid} was skipped")
        build_message(head, grant_id="g", folder_id="f", sections=sample.sections)


def _reference_addresses(values: tuple[mime.EmailAddress, ...]) -> tuple[EmailAddress, ...]:
    return tuple(EmailAddress(name=a.name or None, email=a.email) for a in values)


@contextmanager
def reference_implementation() -> Iterator[None]:
    """``tidings.mime`` as it was before its fast paths, for the "before" figures."""
    assert reference_headers is not None and reference_body is not None
    swapped = {"parse_headers": reference_headers.parse_headers,
               "content_fingerprint_of": reference_body.content_fingerprint_of,
               "synthesize_message_id_of": reference_body.synthesize_message_id_of,
               "decode_part": reference_body.decode_part,
               "make_snippet": reference_body.make_snippet}
    # materialize calls them as attributes of the package, so swapping those is enough.
    saved = {name: getattr(mime, name) for name in swapped}
    saved_addresses = materialize._addresses
    try:
        for name, function in swapped.items():
            setattr(mime, name, function)
        materialize._addresses = _reference_addresses
        yield
    finally:
        for name, function in saved.items():
            setattr(mime, name, function)
        materialize._addresses = saved_addresses


def measure(samples: list[Sample], rounds: int) -> list[Figure]:
    n = len(samples)
    rng = random.Random(1)
    generated = [s.header for s in samples]
    real_like = [delivered(h, rng) for h in generated]
    summaries = [mime.parse_headers(h) for h in generated]
    heads: list[Head | None] = [read_head(s.fetch, strict_message_id=False) for s in samples]
    if any(head is None for head in heads):
        raise RuntimeError("a generated message was skipped")
    gc.collect()
    gc.freeze()  # the inputs stay; collections should not walk them on every round

    def per_message(seconds: float) -> float:
        return seconds / n * 1e6

    def cpu(work: Callable[[], object]) -> float:
        return per_message(best_cpu(work, rounds))

    figures: list[Figure] = []
    old = reference_headers is not None and reference_body is not None
    for label, headers in (("generated", generated), ("delivered", real_like)):
        ours = cpu(partial(parse_all, mime.parse_headers, headers))
        stdlib = cpu(partial(stdlib_headers, headers))
        figures.append(Figure(f"parse_headers ({label}) µs/msg", ours, "µs",
                              "stdlib BytesHeaderParser", stdlib, "lower is better"))
        if old:
            before = cpu(partial(parse_all, reference_headers.parse_headers, headers))
            figures.append(Figure(f"parse_headers ({label}) µs/msg", ours, "µs",
                                  "before fast paths", before, "≤ 0.5×"))
    ours = cpu(lambda: [mime.content_fingerprint_of(s, 1000) for s in summaries])
    floor = cpu(lambda: [hashlib.sha256(h).hexdigest() for h in generated])
    figures.append(Figure("content_fingerprint_of µs/msg", ours, "µs",
                          "sha256 of the raw header", floor))
    if old:
        before = cpu(lambda: [reference_body.content_fingerprint_of(s, 1000) for s in summaries])
        figures.append(Figure("content_fingerprint_of µs/msg", ours, "µs",
                              "before fast paths", before, "≤ 0.5×"))
    ours = cpu(lambda: decode_and_snippet(samples))
    floor = cpu(lambda: bare_transfer_decoding(samples))
    figures.append(Figure("decode_part + make_snippet µs/msg", ours, "µs",
                          "a2b_qp/a2b_base64 + bytes.decode", floor))
    if old:
        with reference_implementation():
            before = cpu(lambda: decode_and_snippet(samples))
        figures.append(Figure("decode_part + make_snippet µs/msg", ours, "µs",
                              "before fast paths", before))
    ours = cpu(lambda: materialize_all(samples))
    stdlib = cpu(partial(stdlib_baseline, generated, samples))
    figures.append(Figure("read_head + build_message µs/msg", ours, "µs",
                          "stdlib headers + bare decoding", stdlib))
    if old:
        with reference_implementation():
            before = cpu(lambda: materialize_all(samples))
        figures.append(Figure("read_head + build_message µs/msg", ours, "µs",
                              "before fast paths", before, "≤ 0.5×"))
    gc.unfreeze()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--count", type=int, default=3000, help="messages to generate")
    parser.add_argument("--rounds", type=int, default=5, help="best of this many runs")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    started = time.process_time()
    samples = build_samples(args.count, args.seed)
    text_bytes = sum(len(d) for s in samples for d, _, _ in s.text_parts)
    print(f"{len(samples)} messages generated in {time.process_time() - started:.1f} s CPU; "
          f"{sum(len(s.header) for s in samples) / 1e6:.1f} MB of headers, "
          f"{text_bytes / 1e6:.1f} MB of text parts")
    if reference_headers is None:
        print("tests/mime/reference_* not importable: no 'before fast paths' figures")
    figures = measure(samples, args.rounds)
    print_table(f"MIME: header parsing and message building, CPU per message "
                f"({len(samples)} generated messages, best of {args.rounds})", figures)


if __name__ == "__main__":
    main()
