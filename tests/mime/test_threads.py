from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from tidings.mime import ThreadInput, build_threads

DAY0 = datetime(2024, 6, 1, tzinfo=UTC)


def msg(
    key: str,
    message_id: str | None,
    *,
    refs: tuple[str, ...] = (),
    reply_to: tuple[str, ...] = (),
    subject: str = "",
    day: int | None = None,
) -> ThreadInput:
    date = None if day is None else DAY0 + timedelta(days=day)
    return ThreadInput(key, message_id, reply_to, refs, subject, date)


def as_sets(groups: list[tuple[str, ...]]) -> set[frozenset[str]]:
    return {frozenset(g) for g in groups}


def test_references_chain_builds_one_thread() -> None:
    items = [
        msg("a", "<a@x>", subject="Plan"),
        msg("b", "<b@x>", refs=("<a@x>",), subject="Re: Plan"),
        msg("c", "<c@x>", refs=("<a@x>", "<b@x>"), subject="Re: Plan"),
        msg("d", "<d@x>", reply_to=("<c@x>",), subject="something else"),
        msg("e", "<e@x>", subject="Other"),
    ]
    assert build_threads(items) == [("a", "b", "c", "d"), ("e",)]


def test_reply_arriving_before_its_parent() -> None:
    items = [
        msg("c", "<c@x>", refs=("<a@x>", "<b@x>")),
        msg("b", "<b@x>", refs=("<a@x>",)),
        msg("a", "<a@x>"),
    ]
    assert build_threads(items) == [("c", "b", "a")]


def test_missing_root_keeps_siblings_together() -> None:
    items = [
        msg("b", "<b@x>", refs=("<gone@x>",), subject="Re: lost"),
        msg("c", "<c@x>", refs=("<gone@x>",), subject="Re: lost"),
    ]
    assert build_threads(items) == [("b", "c")]


def test_own_references_override_presumed_parent() -> None:
    # c claims b's parent is x; b itself says its parent is a.
    items = [
        msg("a", "<a@x>", subject="A"),
        msg("x", "<x@x>", subject="X"),
        msg("c", "<c@x>", refs=("<x@x>", "<b@x>")),
        msg("b", "<b@x>", refs=("<a@x>",)),
    ]
    assert as_sets(build_threads(items)) == {frozenset("abc"), frozenset("x")}


def test_cycles_and_self_references_terminate() -> None:
    items = [
        msg("a", "<a@x>", refs=("<b@x>",)),
        msg("b", "<b@x>", refs=("<a@x>",)),
        msg("s", "<s@x>", refs=("<s@x>",), reply_to=("<s@x>",)),
        msg("l", "<l@x>", refs=("<m@x>", "<n@x>", "<m@x>", "<l@x>")),
    ]
    groups = build_threads(items)
    assert as_sets(groups) == {frozenset("ab"), frozenset("s"), frozenset("l")}


def test_subject_fallback_only_for_replies_or_orphans() -> None:
    items = [
        msg("w1", "<w1@x>", subject="Weekly report", day=0),
        msg("w2", "<w2@x>", subject="Weekly report", day=7),
        # A reply whose mailer dropped References joins the latest original before it.
        msg("r2", "<r2@x>", subject="Re: Weekly report", day=8),
        msg("r1", "<r1@x>", subject="RE: weekly  REPORT", day=1),
        # An orphan (parent missing) without a prefix also joins by subject.
        msg("o", "<o@x>", refs=("<missing@x>",), subject="Weekly report", day=9),
    ]
    assert as_sets(build_threads(items)) == {
        frozenset({"w1", "r1"}),
        frozenset({"w2", "r2", "o"}),
    }


def test_empty_subjects_never_merge() -> None:
    items = [
        msg("a", "<a@x>", subject=""),
        msg("b", "<b@x>", subject="Re:"),
        msg("c", None, subject="  "),
        msg("d", "<d@x>", refs=("<gone@x>",), subject=""),
        msg("e", "<e@x>", refs=("<gone2@x>",), subject="Re: "),
    ]
    assert as_sets(build_threads(items)) == {frozenset(k) for k in "abcde"}


def test_replies_without_original_join_each_other() -> None:
    items = [
        msg("a", None, subject="Re: lunch?", day=1),
        msg("b", None, subject="Fwd: Lunch?", day=2),
        msg("c", None, subject="Lunch? tomorrow", day=3),
    ]
    assert as_sets(build_threads(items)) == {frozenset("ab"), frozenset("c")}


def test_duplicate_message_ids_and_keys() -> None:
    items = [
        msg("a", "<same@x>", subject="one"),
        msg("b", "<same@x>", subject="two"),
        msg("a", "<other@x>", subject="dup key"),
        msg("c", "<c@x>", refs=("<same@x>",)),
    ]
    assert build_threads(items) == [("a", "b", "c")]


def test_naive_and_missing_dates_do_not_break_ordering() -> None:
    items = [
        ThreadInput("a", "<a@x>", (), (), "Topic", datetime(2024, 1, 1)),
        ThreadInput("b", "<b@x>", (), (), "Topic", DAY0),
        ThreadInput("c", "<c@x>", (), (), "Re: Topic", None),
        ThreadInput("d", "<d@x>", (), (), "Re: Topic", datetime(2024, 3, 1)),
    ]
    assert as_sets(build_threads(items)) == {frozenset("acd"), frozenset("b")}


def test_fifty_thousand_messages_are_fast() -> None:
    items: list[ThreadInput] = []
    for thread in range(5000):
        root = f"<t{thread}@x>"
        items.append(msg(f"{thread}-0", root, subject=f"Topic {thread % 700}", day=thread % 90))
        chain: tuple[str, ...] = (root,)
        for reply in range(1, 10):
            own = f"<t{thread}r{reply}@x>"
            items.append(msg(f"{thread}-{reply}", own, refs=chain[-20:], subject="Re: x"))
            chain = (*chain, own)
    # One pathological conversation: a chain 5,000 messages deep.
    deep = [msg(f"deep{i}", f"<deep{i}@x>", reply_to=(f"<deep{i - 1}@x>",)) for i in range(5000)]
    timings = []
    for _ in range(2):  # the best of two runs, so a busy machine does not fail the test
        started = time.perf_counter()
        groups = build_threads(items + deep)
        timings.append(time.perf_counter() - started)
    assert len(groups) <= 5001
    assert sum(len(g) for g in groups) == 55_000
    assert any(set(g) == {f"deep{i}" for i in range(5000)} for g in groups)
    assert min(timings) < 2.0, timings


_ids = st.sampled_from([f"<m{i}@x>" for i in range(12)])
_inputs = st.lists(
    st.builds(
        ThreadInput,
        key=st.text(min_size=1, max_size=3),
        message_id=st.none() | _ids,
        in_reply_to=st.lists(_ids, max_size=2).map(tuple),
        references=st.lists(_ids, max_size=6).map(tuple),
        subject=st.sampled_from(["", "Re:", "a", "Re: a", "Fwd: a", "b", "[l] Re: b"]),
        date=st.none() | st.datetimes(timezones=st.just(UTC)),
    ),
    max_size=30,
)


@given(_inputs)
def test_build_threads_is_a_partition(items: list[ThreadInput]) -> None:
    groups = build_threads(items)
    keys = [key for group in groups for key in group]
    assert sorted(keys) == sorted({item.key for item in items})
    assert all(groups)
    assert build_threads(items) == groups


@given(st.lists(st.integers(min_value=0, max_value=8), min_size=1, max_size=20), st.data())
def test_replies_land_in_their_roots_thread(shape: list[int], data: st.DataObject) -> None:
    """A random reply tree: each message's References is its full ancestor chain."""
    chains: list[tuple[str, ...]] = [()]
    items = [msg("k0", "<n0@x>", subject="Root")]
    for index, choice in enumerate(shape, start=1):
        parent = choice % index
        chain = (*chains[parent], f"<n{parent}@x>")
        chains.append(chain)
        items.append(msg(f"k{index}", f"<n{index}@x>", refs=chain, subject="Re: Root"))
    shuffled = data.draw(st.permutations(items))
    noise = [msg("other", "<other@x>", subject="Unrelated")]
    groups = build_threads([*shuffled, *noise])
    assert as_sets(groups) == {frozenset(i.key for i in items), frozenset({"other"})}
