"""CPU cost of parsing FETCH responses: a captured response stream fed through
`ResponseReader` in 64 KB reads, as the transport feeds it, every response parsed to
completion; beside the floor for framing alone (the same stream split into lines and
literals by a regex loop), measured in the same run.

Two streams: the initial-sync head fetch ``UID FETCH 1:* (UID FLAGS INTERNALDATE
RFC822.SIZE BODYSTRUCTURE BODY.PEEK[HEADER])`` and the text fetch ``UID FETCH 1:* (UID
BODY.PEEK[1]<0.2097152>)`` of INBOX. Given no capture files, the script seeds a private
Dovecot with reproducible messages and captures both streams from it over a plain socket.
The figure is CPU time (``time.process_time``, best of --rounds), not wall time: the
machine may be shared.

    .venv/bin/python bench/imap_parse.py [--count 5000] [--rounds 5]
    .venv/bin/python bench/imap_parse.py --heads heads.raw --texts texts.raw
"""

from __future__ import annotations

import argparse
import re
import socket
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import Figure, print_table, seeded_dovecot
from tidings.imap.reader import NeedData, ResponseReader

HEADS = "UID FETCH 1:* (UID FLAGS INTERNALDATE RFC822.SIZE BODYSTRUCTURE BODY.PEEK[HEADER])"
TEXTS = "UID FETCH 1:* (UID BODY.PEEK[1]<0.2097152>)"
CHUNK = 64 * 1024
_LITERAL_AT_END = re.compile(rb"\{(\d+)\+?\}\r\n")


def capture(host: str, port: int, user: str, password: str) -> tuple[bytes, bytes]:
    """The full answer (untagged responses and tagged OK) to HEADS and to TEXTS."""
    sock = socket.create_connection((host, port))
    stream = sock.makefile("rb")
    stream.readline()  # greeting

    def command(tag: str, text: str) -> bytes:
        sock.sendall(f"{tag} {text}\r\n".encode())
        out = bytearray()
        while True:
            line = stream.readline()
            if not line:
                raise EOFError("server closed the connection")
            out += line
            literal = _LITERAL_AT_END.search(line)
            if literal is not None and literal.end() == len(line):
                out += stream.read(int(literal.group(1)))
                continue
            if line.startswith(tag.encode() + b" "):
                if not line.startswith(tag.encode() + b" OK"):
                    raise RuntimeError(f"{text} failed: {line!r}")
                return bytes(out)

    command("a", f"LOGIN {user} {password}")
    command("b", "EXAMINE INBOX")
    heads = command("c", HEADS)
    texts = command("d", TEXTS)
    command("e", "LOGOUT")
    sock.close()
    return heads, texts


def chunks(data: bytes) -> list[bytes]:
    """`data` in reads of CHUNK octets, cut before the clock starts: the transport's
    reads are not the parser's cost."""
    return [data[start:start + CHUNK] for start in range(0, len(data), CHUNK)]


def parse_stream(reads: list[bytes]) -> int:
    """Every response in `reads`, parsed; how many there were."""
    reader = ResponseReader()
    count = 0
    for data in reads:
        reader.receive_data(data)
        while not isinstance(reader.next_event(), NeedData):
            count += 1
    if reader.buffered:
        raise RuntimeError(f"{reader.buffered} octets left unparsed")
    return count


def split_stream(reads: list[bytes]) -> int:
    """The framing floor: lines and literals cut out of the whole stream (joined, no
    limits, no parsing); how many responses there were."""
    data = b"".join(reads)
    count = pos = 0
    end_of_line = b"\r\n"
    header = _LITERAL_AT_END
    size = len(data)
    lines: list[bytes] = []
    literals: list[bytes] = []
    while pos < size:
        end = data.find(end_of_line, pos) + 2
        lines.append(data[pos:end])
        literal = header.search(data, pos, end)
        if literal is not None and literal.end() == end:
            pos = end + int(literal.group(1))
            literals.append(data[end:pos])
            continue
        pos = end
        count += 1
        lines.clear()
        literals.clear()
    return count


def best_cpu(work: Callable[[list[bytes]], int], reads: list[bytes], rounds: int
             ) -> tuple[float, int]:
    """The least CPU seconds of `rounds` runs of work(reads), and its count."""
    best = float("inf")
    count = 0
    for _ in range(rounds):
        started = time.process_time()
        count = work(reads)
        best = min(best, time.process_time() - started)
    return best, count


def measure(name: str, data: bytes, rounds: int) -> list[Figure]:
    reads = chunks(data)
    framing, framed = best_cpu(split_stream, reads, rounds)
    parsing, parsed = best_cpu(parse_stream, reads, rounds)
    if framed != parsed:
        raise RuntimeError(f"{name}: framing found {framed} responses, parsing {parsed}")
    print(f"{name}: {len(data) / 1e6:.1f} MB, {parsed} responses; "
          f"CPU s parse {parsing:.3f}, framing floor {framing:.3f}")
    return [
        Figure(f"{name}: parse CPU ms", parsing * 1000, "ms", "regex framing", framing * 1000,
               "lower is better"),
        Figure(f"{name}: responses/s (CPU)", parsed / parsing, "r/s", "regex framing",
               framed / framing),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--heads", type=Path, help="captured answer to the head fetch")
    parser.add_argument("--texts", type=Path, help="captured answer to the text fetch")
    parser.add_argument("--count", type=int, default=5000,
                        help="messages to seed when no capture is given")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    if (args.heads is None) != (args.texts is None):
        parser.error("give both --heads and --texts, or neither")
    if args.heads is not None:
        heads, texts = args.heads.read_bytes(), args.texts.read_bytes()
        source = f"captured {args.heads.name}, {args.texts.name}"
    else:
        with seeded_dovecot(args.count) as seeded:
            dv = seeded.dovecot
            heads, texts = capture(dv.host, dv.port, seeded.user, seeded.password)
        source = f"seeded Dovecot, {args.count} messages"
    figures = measure("heads", heads, args.rounds) + measure("texts", texts, args.rounds)
    print_table(f"IMAP parse: FETCH streams through ResponseReader, 64 KB reads ({source})",
                figures)


if __name__ == "__main__":
    main()
