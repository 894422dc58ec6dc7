"""MessageService: List (filters, page tokens, `select`, native search), Get (with
header fields and the raw MIME on request), Update (flags and folders) and Delete."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

from google.protobuf import field_mask_pb2

from tidings.api.bridge import TrioBridge
from tidings.api.convert import listed_message_to_proto, message_to_proto, select_fields
from tidings.api.errors import InvalidArgument, rpc
from tidings.api.requests import require_id
from tidings.service.mail_read import MailReader
from tidings.service.mail_write import MailWriter, MessageChange
from tidings.store import MessageQuery
from tidings.store.queries import DEFAULT_LIMIT, MAX_ANY_EMAIL, MAX_LIMIT
from tidings.v1 import messages_pb2, messages_pb2_grpc

__all__ = [
    "MessageServicer",
    "check_select",
    "email_filter",
    "message_change",
    "optional_id",
    "page_limit",
    "subject_filter",
    "unix_bound",
]

# RFC 5321 §4.5.3.1.3: a path is at most 256 octets; an address is shorter still.
MAX_ADDRESS: Final = 256
# RFC 5322 §2.1.1: a header line is at most 998 characters, so is a subject worth finding.
MAX_SUBJECT: Final = 998
_MESSAGE_FIELDS: Final = frozenset(messages_pb2.Message.DESCRIPTOR.fields_by_name)


def page_limit(limit: int) -> int:
    """The page size: 0 means the default."""
    if limit == 0:
        return DEFAULT_LIMIT
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidArgument("limit", f"must be between 1 and {MAX_LIMIT}, not {limit}")
    return limit


def email_filter(field: str, values: Sequence[str]) -> tuple[str, ...]:
    """Addresses of a filter. An entry may be a comma-separated list, as Nylas's
    `any_email` is."""
    addresses = [part.strip() for value in values for part in value.split(",")]
    addresses = [address for address in addresses if address]
    if len(addresses) > MAX_ANY_EMAIL:
        raise InvalidArgument(field, f"at most {MAX_ANY_EMAIL} addresses")
    for address in addresses:
        if len(address) > MAX_ADDRESS or not address.isprintable():
            raise InvalidArgument(field, f"{address[:40]!r} is not an email address")
    return tuple(addresses)


def subject_filter(request: Any) -> str | None:
    if not request.HasField("subject"):
        return None
    subject: str = request.subject
    if len(subject) > MAX_SUBJECT:
        raise InvalidArgument("subject", f"at most {MAX_SUBJECT} characters")
    return subject


def unix_bound(field: str, request: Any) -> int | None:
    if not request.HasField(field):
        return None
    value: int = getattr(request, field)
    if value < 0:
        raise InvalidArgument(field, "must be Unix seconds, not negative")
    return value


def optional_id(field: str, request: Any) -> str | None:
    """An `optional string` id: None when unset; set but empty is an error."""
    return require_id(field, getattr(request, field)) if request.HasField(field) else None


def check_select(select: field_mask_pb2.FieldMask, *, raw_allowed: bool) -> None:
    unknown = sorted(path for path in select.paths if path not in _MESSAGE_FIELDS)
    if unknown:
        shown = ", ".join(path[:60] for path in unknown[:10])
        raise InvalidArgument("select", f"unknown Message fields: {shown}")
    if not raw_allowed and "raw_mime" in select.paths:
        raise InvalidArgument("select", "raw_mime comes only from GetMessage with include_raw")


def _message_query(request: messages_pb2.ListMessagesRequest) -> MessageQuery:
    return MessageQuery(
        limit=page_limit(request.limit),
        page_token=request.page_token or None,
        subject=subject_filter(request),
        any_email=email_filter("any_email", request.any_email),
        from_=email_filter("from_", request.from_),
        to=email_filter("to", request.to),
        cc=email_filter("cc", request.cc),
        bcc=email_filter("bcc", request.bcc),
        folder_id=optional_id("in_", request),
        unread=request.unread if request.HasField("unread") else None,
        starred=request.starred if request.HasField("starred") else None,
        has_attachment=request.has_attachment if request.HasField("has_attachment") else None,
        received_before=unix_bound("received_before", request),
        received_after=unix_bound("received_after", request),
        thread_id=optional_id("thread_id", request),
        # Bodies are most of a message's bytes: read them only for a reply that has them.
        bodies=not request.select.paths or "body" in request.select.paths,
        headers="headers" in request.select.paths,
    )


def message_change(request: Any) -> MessageChange:
    """The change an UpdateMessage or UpdateThread request asks for."""
    folders = None
    if request.HasField("folders"):
        folders = tuple(require_id(f"folders.ids[{i}]", folder_id)
                        for i, folder_id in enumerate(request.folders.ids))
        if not folders:
            raise InvalidArgument("folders", "a message must stay in at least one folder")
    return MessageChange(
        unread=request.unread if request.HasField("unread") else None,
        starred=request.starred if request.HasField("starred") else None,
        folder_ids=folders,
    )


class MessageServicer(messages_pb2_grpc.MessageServiceServicer):
    def __init__(self, bridge: TrioBridge, mail: MailReader, writer: MailWriter) -> None:
        self._bridge = bridge
        self._mail = mail
        self._writer = writer

    @rpc
    async def UpdateMessage(
        self, request: messages_pb2.UpdateMessageRequest, context: Any
    ) -> messages_pb2.Message:
        grant_id = require_id("grant_id", request.grant_id)
        message_id = require_id("id", request.id)
        message = await self._bridge.call(self._writer.update_message, grant_id, message_id,
                                          message_change(request))
        return message_to_proto(message)

    @rpc
    async def DeleteMessage(
        self, request: messages_pb2.DeleteMessageRequest, context: Any
    ) -> messages_pb2.DeleteMessageResponse:
        await self._bridge.call(self._writer.delete_message,
                                require_id("grant_id", request.grant_id),
                                require_id("id", request.id))
        return messages_pb2.DeleteMessageResponse()

    @rpc
    async def ListMessages(
        self, request: messages_pb2.ListMessagesRequest, context: Any
    ) -> messages_pb2.ListMessagesResponse:
        grant_id = require_id("grant_id", request.grant_id)
        query = _message_query(request)
        check_select(request.select, raw_allowed=False)
        native = (request.search_query_native
                  if request.HasField("search_query_native") else None)
        page = await self._bridge.call(self._mail.list_messages, grant_id, query, native)
        select = frozenset(request.select.paths)
        return messages_pb2.ListMessagesResponse(
            messages=[listed_message_to_proto(m, select) for m in page.items],
            next_cursor=page.next_page_token or "",
        )

    @rpc
    async def GetMessage(
        self, request: messages_pb2.GetMessageRequest, context: Any
    ) -> messages_pb2.Message:
        grant_id = require_id("grant_id", request.grant_id)
        message_id = require_id("id", request.id)
        check_select(request.select, raw_allowed=True)
        message = await self._bridge.call(self._mail.get_message, grant_id, message_id)
        raw = None
        if request.include_raw:
            raw = await self._bridge.call(self._mail.fetch_raw, message)
        reply = message_to_proto(message, include_headers=request.include_headers,
                                 raw_mime=raw)
        return select_fields(reply, request.select)
