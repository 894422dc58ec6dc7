"""Mail a grant sends or saves as a draft, as the API hands it to the service."""

from __future__ import annotations

from dataclasses import dataclass

from tidings.domain.mail import EmailAddress

__all__ = ["OutgoingAttachment", "OutgoingMessage"]


@dataclass(frozen=True, slots=True, kw_only=True)
class OutgoingAttachment:
    filename: str
    content_type: str  # "" means guessed from the file name
    content: bytes
    content_id: str | None = None
    is_inline: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class OutgoingMessage:
    to: tuple[EmailAddress, ...] = ()
    cc: tuple[EmailAddress, ...] = ()
    bcc: tuple[EmailAddress, ...] = ()
    reply_to: tuple[EmailAddress, ...] = ()
    subject: str = ""
    body: str = ""
    is_plaintext: bool = False
    attachments: tuple[OutgoingAttachment, ...] = ()
    reply_to_message_id: str | None = None  # our id of the message answered
    custom_headers: tuple[tuple[str, str], ...] = ()
    from_: EmailAddress | None = None  # None: the grant's address

    @property
    def recipients(self) -> tuple[EmailAddress, ...]:
        return (*self.to, *self.cc, *self.bcc)
