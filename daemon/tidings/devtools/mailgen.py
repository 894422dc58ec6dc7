"""Realistic RFC 5322 messages: plain, alternative, attachments, legacy charsets,
threads. Reproducible from a seed."""

from __future__ import annotations

import email.utils
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.header import Header
from email.message import EmailMessage
from email.mime.text import MIMEText

__all__ = ["Generated", "generate", "make_message"]

WORDS = ("lorem", "ipsum", "dolor", "sit", "amet", "consectetur", "adipiscing", "elit",
         "sed", "do", "eiusmod", "tempor", "incididunt", "ut", "labore", "et", "dolore",
         "magna", "aliqua", "invoice", "meeting", "report", "schedule", "quarterly",
         "budget", "review", "draft", "contract", "shipping", "update", "please", "thanks")
LEGACY = {"iso-8859-1": "Café déjà vu ", "windows-1252": "naïve façade – ",
          "koi8-r": "Привет мир ", "shift_jis": "こんにちは世界 "}


def _para(rng: random.Random, n: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(n))


def make_message(*, subject: str, body: str = "hello", sender: str = "sender@example.com",
                 to: str = "alice@example.org", when: datetime | None = None,
                 message_id: str | None = None, in_reply_to: str | None = None,
                 html: str | None = None, attachment: tuple[str, bytes] | None = None
                 ) -> bytes:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = to
    msg["Subject"] = subject
    msg["Date"] = email.utils.format_datetime(when or datetime.now(UTC))
    if message_id is not None:
        msg["Message-ID"] = message_id
    if in_reply_to:
        msg["In-Reply-To"] = in_reply_to
        msg["References"] = in_reply_to
    msg.set_content(body)
    if html is not None:
        msg.add_alternative(html, subtype="html")
    if attachment is not None:
        name, data = attachment
        msg.add_attachment(data, maintype="application", subtype="octet-stream",
                           filename=name)
    return msg.as_bytes()


@dataclass(frozen=True, slots=True)
class Generated:
    folder: str
    raw: bytes
    when: datetime
    message_id: str


def generate(count: int, *, seed: int = 1, days: int = 120, now: datetime | None = None,
             folders: tuple[tuple[str, float], ...] = (("INBOX", 0.7), ("Sent", 0.2),
                                                       ("Archive", 0.1)),
             attachment_bytes: tuple[int, int] = (50_000, 500_000)) -> Iterator[Generated]:
    """``count`` messages spread over ``days`` before ``now``: ~5% legacy charsets,
    ~30% multipart/alternative, ~10% with an attachment, ~30% replies."""
    rng = random.Random(seed)
    now = now or datetime.now(UTC)
    roots: list[str] = []
    for i in range(count):
        pick, acc = rng.random(), 0.0
        folder = folders[-1][0]
        for name, share in folders:
            acc += share
            if pick < acc:
                folder = name
                break
        when = now - timedelta(seconds=rng.uniform(0, days * 86400))
        kind = rng.random()
        mid = f"<gen{i}.{rng.randrange(10**9)}@example.com>"
        if kind < 0.05:
            charset = rng.choice(sorted(LEGACY))
            sample = LEGACY[charset]
            legacy = MIMEText(sample * rng.randint(20, 200), "plain", charset)
            legacy["Subject"] = Header(sample.strip(), charset).encode()
            legacy["From"] = f"user{rng.randrange(200)}@example{rng.randrange(5)}.com"
            legacy["To"] = "alice@example.org"
            legacy["Date"] = email.utils.format_datetime(when)
            legacy["Message-ID"] = mid
            raw = legacy.as_bytes()
        else:
            body = "\n\n".join(_para(rng, rng.randint(40, 120))
                               for _ in range(rng.randint(3, 12)))
            html = (f"<html><body><p>{body.replace(chr(10), '<br>')}</p></body></html>"
                    if kind < 0.35 else None)
            attachment = None
            if kind > 0.90:
                size = rng.randint(*attachment_bytes)
                attachment = (f"file{i}.bin", rng.randbytes(size))
            reply_to = roots[rng.randrange(len(roots))] if roots and rng.random() < 0.3 else None
            raw = make_message(
                subject=("Re: " if reply_to else "") + _para(rng, rng.randint(3, 9)).capitalize(),
                body=body, sender=f"user{rng.randrange(200)}@example{rng.randrange(5)}.com",
                when=when, message_id=mid, in_reply_to=reply_to, html=html,
                attachment=attachment)
        if rng.random() < 0.2:
            roots.append(mid)
        yield Generated(folder=folder, raw=raw, when=when, message_id=mid)
