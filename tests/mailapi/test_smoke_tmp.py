from __future__ import annotations
from tests.mailapi.conftest import Mailbox
from tidings.v1 import messages_pb2, folders_pb2

async def test_smoke(mailbox: Mailbox) -> None:
    reply = await mailbox.call(mailbox.messages.ListMessages, messages_pb2.ListMessagesRequest(grant_id=mailbox.grant_id, limit=200))
    print([(m.subject, m.date, list(m.folders)) for m in reply.messages])
    f = await mailbox.call(mailbox.folders.ListFolders, folders_pb2.ListFoldersRequest(grant_id=mailbox.grant_id))
    print(f)
    m = reply.messages[0]
    g = await mailbox.call(mailbox.messages.GetMessage, messages_pb2.GetMessageRequest(grant_id=mailbox.grant_id, id=m.id, include_raw=True))
    print(g.raw_mime == mailbox.raw[m.subject], len(g.raw_mime), len(mailbox.raw[m.subject]))
    s = await mailbox.call(mailbox.messages.ListMessages, messages_pb2.ListMessagesRequest(grant_id=mailbox.grant_id, search_query_native='BODY "zebra"'))
    print([x.subject for x in s.messages])
