"""How the initial sync shares folders among its connections: each takes the next folder
when free, every folder once and in order; a spare connection is given back as soon as
nothing is left for it, the grant's first one never."""

from __future__ import annotations

import contextlib
from typing import Any, cast

import trio

from tidings.domain import Folder
from tidings.imap import ImapClient
from tidings.sync.grant import _share, _Worker


def _spare(name: str, released: list[str]) -> _Worker:
    closing = contextlib.AsyncExitStack()

    async def give_back() -> None:
        released.append(name)

    closing.push_async_callback(give_back)
    return _Worker(cast(ImapClient, name), closing)


async def _run(release: bool) -> tuple[list[tuple[Any, Any]], list[str]]:
    released: list[str] = []
    workers = [_Worker(cast(ImapClient, "first")), _spare("spare", released)]
    folders = [cast(Folder, f"folder {n}") for n in range(5)]
    taken: list[tuple[Any, Any]] = []

    async def work(client: ImapClient, folder: Folder) -> None:
        assert client != "spare" or not released  # never used once given back
        taken.append((client, folder))
        await trio.lowlevel.checkpoint()  # the other connection takes the next one

    await _share(workers, folders, work, release=release)
    assert [folder for _client, folder in taken] == folders  # each once, in order
    return taken, released


async def test_each_connection_takes_the_next_folder_and_a_spare_goes_back() -> None:
    taken, released = await _run(release=True)
    assert {client for client, _folder in taken} == {"first", "spare"}
    assert released == ["spare"]


async def test_without_release_the_spare_stays_with_its_owner() -> None:
    _taken, released = await _run(release=False)
    assert released == []
