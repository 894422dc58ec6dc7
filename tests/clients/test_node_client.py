"""The Node client (clients/node) against a real daemon: its own `node --test` suite runs
as a subprocess while this test's trio run serves the daemon, Dovecot and the SMTP
server it sends through.

Two grants: a quiet one with seeded mail that nothing changes, whose messages, folders
and settings the Python client reads first and hands over as the expected answers; and
one that the Node tests deliver mail to (LMTP straight into Dovecot) and send from.
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import trio

from tests.clients.conftest import ClientDaemon, call
from tests.support.dovecot import Dovecot
from tests.support.mailgen import make_message
from tidings_client import EmailAddress, Folder, Grant, Message

REPO = Path(__file__).resolve().parents[2]
NODE_DIR = REPO / "clients" / "node"
# The whole Node suite; each of its waits has its own, shorter deadline.
NODE_SUITE_TIMEOUT = 300.0
SEEDED = 3


def _node() -> str:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not on PATH: the Node client's tests need Node.js 20 or later")
    if not (NODE_DIR / "node_modules" / "@grpc" / "grpc-js").is_dir():
        pytest.fail("clients/node/node_modules is missing: run npm ci in clients/node")
    return node


async def _run_node(node: str, args: list[str], env: dict[str, str], log: Path) -> str:
    """Runs node in clients/node with its output in `log`; fails the test with that
    output unless node exits 0 within the deadline."""
    with log.open("wb") as sink:
        with trio.move_on_after(NODE_SUITE_TIMEOUT) as deadline:
            result = await trio.run_process([node, *args], cwd=NODE_DIR, env=env, check=False,
                                            stdout=sink, stderr=subprocess.STDOUT)
    output = await trio.Path(log).read_text("utf-8", "replace")
    command = f"node {' '.join(args)}"
    if deadline.cancelled_caught:
        pytest.fail(f"{command} did not finish within {NODE_SUITE_TIMEOUT:.0f} s:\n{output}")
    assert result.returncode == 0, f"{command} exited {result.returncode}:\n{output}"
    return output


def _addresses(values: tuple[EmailAddress, ...]) -> list[dict[str, str]]:
    return [{"email": a.email, "name": a.name} for a in values]


def _message(message: Message) -> dict[str, Any]:
    return {
        "id": message.id, "threadId": message.thread_id, "subject": message.subject,
        "from": _addresses(message.from_), "to": _addresses(message.to),
        "date": int(message.date.timestamp()), "unread": message.unread,
        "starred": message.starred, "snippet": message.snippet,
        "folders": list(message.folders), "messageIdHeader": message.message_id_header,
        "syntheticId": message.synthetic_id,
    }


def _folder(folder: Folder) -> dict[str, Any]:
    return {"id": folder.id, "name": folder.name, "path": folder.path,
            "role": str(folder.role), "parentId": folder.parent_id,
            "totalCount": folder.total_count, "unreadCount": folder.unread_count}


def _grant(grant: Grant) -> dict[str, Any]:
    return {"id": grant.id, "email": grant.email, "connectorId": grant.connector_id,
            "imapHost": grant.imap.host, "imapPort": grant.imap.port,
            "imapSecurity": None if grant.imap.security is None else str(grant.imap.security),
            "createdAt": int(grant.created_at.timestamp())}


@pytest.mark.dovecot
async def test_node_client_suite(client_daemon: ClientDaemon, dovecot: Dovecot,
                                 tmp_path: Path) -> None:
    node = _node()
    quiet_user, quiet_password = dovecot.add_user()
    now = datetime.now(UTC)
    for n in range(SEEDED):
        # One at a time: `when` of seed() is the INTERNALDATE that orders the list.
        when = now - timedelta(hours=n)
        dovecot.seed(quiet_user, [make_message(
            subject=f"seeded {n}", sender=f"Sender {n} <sender{n}@example.com>",
            to=f"{quiet_user}@example.org", message_id=f"<seeded{n}@node.test>",
            body=f"seeded body {n}", when=when)], when=when)
    mail_user, mail_password = dovecot.add_user()

    with client_daemon.client() as client:
        connector = await call(client.create_connector, "node client")
        quiet = await client_daemon.synced_grant(client, quiet_user, quiet_password)
        live = await client_daemon.synced_grant(client, mail_user, mail_password)
        page = await call(functools.partial(client.list_messages, quiet.id, limit=200))
        folders = await call(client.list_folders, quiet.id)
        quiet = await call(client.get_grant, quiet.id)
    assert len(page.messages) == SEEDED

    expected = tmp_path / "expected.json"
    await trio.Path(expected).write_text(json.dumps({
        "connectorId": connector.id,
        "grant": _grant(quiet),
        "grantIds": [quiet.id, live.id],
        "messages": [_message(m) for m in page.messages],
        "folders": [_folder(f) for f in folders],
    }, indent=2))
    env = {
        **os.environ,
        "TIDINGS_ADDRESS": client_daemon.address,
        "TIDINGS_API_KEY": client_daemon.api_key,
        "TIDINGS_GRANT_ID": quiet.id,
        "TIDINGS_EXPECTED_FILE": str(expected),
        "TIDINGS_MAIL_GRANT_ID": live.id,
        "TIDINGS_MAIL_EMAIL": live.email,
        "TIDINGS_MAIL_USER": mail_user,
        "TIDINGS_LMTP_ADDRESS": f"{dovecot.host}:{dovecot.lmtp_port}",
    }
    output = await _run_node(node, ["--test", "--test-reporter=tap", "test/"], env,
                             tmp_path / "node-test.log")
    # Every suite ran: none was skipped for want of the stack's variables.
    assert "\n# fail 0" in output and "no test stack" not in output, output


async def test_node_client_types_check(tmp_path: Path) -> None:
    """The JSDoc types of the client, its example and its tests hold (tsc --checkJs)."""
    node = _node()
    await _run_node(node, ["node_modules/typescript/bin/tsc", "-p", "."], dict(os.environ),
                    tmp_path / "tsc.log")
