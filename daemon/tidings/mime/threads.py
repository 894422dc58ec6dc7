"""Conversation threading after JWZ (https://www.jwz.org/doc/threading.html).

Steps, each linear in the number of messages and references:

1. Containers by Message-ID. Each message's References chain (plus its first
   In-Reply-To id when References lacks it) links consecutive ids parent → child,
   unless the child already has a parent; then the message's own parent is set to
   the last id of its chain, overriding any parent presumed from other chains.
2. Cycles (References loops, mutual replies) are broken: a container has at most one
   parent, so every loop is a simple cycle; the link made last in the order above is
   cut, which is the link JWZ's per-link loop check would have refused.
3. Each tree is one conversation (containers without a message keep their children
   together, as JWZ's "empty container" roots do).
4. Subject fallback: a tree whose top message has a Re:/Fwd: prefix, or whose parent is
   missing, joins the tree of the same normalized subject that has no prefix, the
   latest one dated before it; when there is no such tree, same-subject reply trees join
   each other. Trees without prefix never merge with each other, and empty subjects
   never merge at all.
"""

from __future__ import annotations

import bisect
import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from tidings.mime.subjects import split_subject

__all__ = ["ThreadInput", "build_threads"]

_NONE = -1


@dataclass(frozen=True, slots=True)
class ThreadInput:
    """What threading needs of a message; ``key`` is the caller's id for it."""

    key: str
    message_id: str | None
    in_reply_to: tuple[str, ...]
    references: tuple[str, ...]
    subject: str
    date: datetime | None


@dataclass(slots=True)
class _Graph:
    """JWZ containers as parallel arrays: the parent index and when that link was made."""

    placed: list[int]  # the container of each message
    parent: list[int]
    link_order: list[int]
    has_message: list[bool]


def _number_containers(items: Sequence[ThreadInput]) -> tuple[list[int], list[list[int]], int]:
    """A container per distinct id (and per message without one); each message's chain.

    The chain is the ancestors a message names, oldest first, without repeats or itself.
    """
    by_id: dict[object, int] = {}
    placed: list[int] = []
    chains: list[list[int]] = []
    for index, item in enumerate(items):
        own_id = item.message_id
        # A message without an id gets a container nobody else can name.
        placed.append(by_id.setdefault(own_id or (index,), len(by_id)))
        refs = item.references
        if item.in_reply_to and item.in_reply_to[0] not in refs:
            refs = (*refs, item.in_reply_to[0])
        chains.append([by_id.setdefault(i, len(by_id)) for i in dict.fromkeys(refs) if i != own_id])
    return placed, chains, len(by_id)


def _link_all(items: Sequence[ThreadInput]) -> _Graph:
    """Step 1."""
    placed, chains, count = _number_containers(items)
    parent = [_NONE] * count
    link_order = [0] * count
    own_link = [False] * count
    has_message = [False] * count
    made = 0
    for own, chain in zip(placed, chains, strict=True):
        has_message[own] = True
        for ancestor, child in itertools.pairwise(chain):
            if parent[child] == _NONE and not own_link[child]:
                made += 1
                parent[child] = ancestor
                link_order[child] = made
        # A second message with the same Message-ID keeps the first one's parent.
        if chain and not own_link[own]:
            made += 1
            parent[own] = chain[-1]
            own_link[own] = True
            link_order[own] = made
    return _Graph(placed, parent, link_order, has_message)


def _break_cycles(graph: _Graph) -> None:
    """Step 2: cut the newest link of every cycle in the parent graph."""
    parent = graph.parent
    state = [0] * len(parent)  # 0 unseen, 1 on the current path, 2 done
    for start in range(len(parent)):
        path: list[int] = []
        node = start
        while node != _NONE and state[node] == 0:
            state[node] = 1
            path.append(node)
            node = parent[node]
        if node != _NONE and state[node] == 1:
            cycle = path[path.index(node) :]
            newest = max(cycle, key=graph.link_order.__getitem__)
            parent[newest] = _NONE
        for visited in path:
            state[visited] = 2


def _roots_and_depths(parent: list[int]) -> tuple[list[int], list[int]]:
    """Step 3: each container's root and its depth below it, without recursion."""
    root = [_NONE] * len(parent)
    depth = [0] * len(parent)
    for start in range(len(parent)):
        path: list[int] = []
        node = start
        while root[node] == _NONE and parent[node] != _NONE:
            path.append(node)
            node = parent[node]
        if root[node] == _NONE:
            root[node] = node
        base_root, base_depth = root[node], depth[node]
        for offset, visited in enumerate(reversed(path), start=1):
            root[visited] = base_root
            depth[visited] = base_depth + offset
    return root, depth


def _timestamp(value: datetime | None) -> float | None:
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.timestamp()


class _UnionFind:
    def __init__(self, size: int) -> None:
        self.parent = list(range(size))

    def find(self, item: int) -> int:
        while self.parent[item] != item:
            self.parent[item] = self.parent[self.parent[item]]
            item = self.parent[item]
        return item

    def union(self, item: int, into: int) -> None:
        self.parent[self.find(item)] = self.find(into)


@dataclass(frozen=True, slots=True)
class _Tree:
    group: int
    subject: str
    reply_like: bool
    first_seen: int
    timestamp: float | None


def _merge_by_subject(trees: list[_Tree], groups: _UnionFind) -> None:
    """Step 4."""
    buckets: dict[str, list[_Tree]] = {}
    for tree in trees:
        if tree.subject:
            buckets.setdefault(tree.subject, []).append(tree)
    for bucket in buckets.values():
        if len(bucket) < 2:
            continue
        anchors = [t for t in bucket if not t.reply_like]
        followers = [t for t in bucket if t.reply_like]
        if not anchors:
            for follower in followers[1:]:
                groups.union(follower.group, followers[0].group)
            continue
        dated = sorted((t.timestamp, t.first_seen, t) for t in anchors if t.timestamp is not None)
        times = [d[0] for d in dated]
        for follower in followers:
            target = anchors[0]
            if follower.timestamp is not None and dated:
                position = bisect.bisect_right(times, follower.timestamp) - 1
                target = dated[max(position, 0)][2]
            groups.union(follower.group, target.group)


def build_threads(items: Sequence[ThreadInput]) -> list[tuple[str, ...]]:
    """Group messages into conversations; returns groups of keys.

    Every key appears in exactly one group (a repeated key counts once, where first
    seen). Groups are ordered by their first message in ``items``, keys in input order.
    """
    first_by_key: dict[str, ThreadInput] = {}
    for item in items:
        first_by_key.setdefault(item.key, item)
    unique = list(first_by_key.values())
    graph = _link_all(unique)
    _break_cycles(graph)
    root, depth = _roots_and_depths(graph.parent)
    placed = graph.placed

    group_of_root: dict[int, int] = {}
    top: list[int] = []  # per group: index of its shallowest message, first seen on ties
    message_group: list[int] = []
    for index, container in enumerate(placed):
        group = group_of_root.setdefault(root[container], len(group_of_root))
        if group == len(top):
            top.append(index)
        elif depth[container] < depth[placed[top[group]]]:
            top[group] = index
        message_group.append(group)

    trees: list[_Tree] = []
    first_seen: dict[int, int] = {}
    for index, group in enumerate(message_group):
        first_seen.setdefault(group, index)
    for tree_root, group in group_of_root.items():
        item = unique[top[group]]
        subject, prefixed = split_subject(item.subject)
        parent_missing = not graph.has_message[tree_root]
        trees.append(
            _Tree(
                group, subject, prefixed or parent_missing, first_seen[group], _timestamp(item.date)
            )
        )
    groups = _UnionFind(len(group_of_root))
    _merge_by_subject(trees, groups)

    merged: dict[int, list[str]] = {}
    for index, group in enumerate(message_group):
        merged.setdefault(groups.find(group), []).append(unique[index].key)
    return [tuple(keys) for keys in merged.values()]
