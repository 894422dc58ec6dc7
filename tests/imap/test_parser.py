"""Status responses, codes, mailbox data and the rest of RFC 9051 §7 (FETCH and BODY
structure have their own modules), parsed from real server transcripts."""

from __future__ import annotations

import pytest

from tests.imap.wire import parse_all
from tidings.imap.errors import LimitExceeded, ProtocolError
from tidings.imap.responses import (
    AppendUid,
    Capability,
    CodeValue,
    Condition,
    Continuation,
    CopyUid,
    Enabled,
    ESearch,
    Exists,
    Expunge,
    Flags,
    ListEntry,
    Recent,
    ResponseCode,
    Search,
    Status,
    Tagged,
    Unknown,
    Vanished,
)


def test_dovecot_greeting() -> None:
    (greeting,) = parse_all(
        b"* OK [CAPABILITY IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE LITERAL+ "
        b"STARTTLS AUTH=PLAIN AUTH=LOGIN] Dovecot (Debian) ready.\r\n"
    )
    assert greeting == Condition(
        "OK",
        ResponseCode(
            "CAPABILITY",
            (
                "IMAP4REV1",
                "SASL-IR",
                "LOGIN-REFERRALS",
                "ID",
                "ENABLE",
                "IDLE",
                "LITERAL+",
                "STARTTLS",
                "AUTH=PLAIN",
                "AUTH=LOGIN",
            ),
        ),
        "Dovecot (Debian) ready.",
    )


def test_dovecot_select_response() -> None:
    events = parse_all(
        b"* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Forwarded)\r\n"
        b"* OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Forwarded \\*)]"
        b" Flags permitted.\r\n"
        b"* 172 EXISTS\r\n"
        b"* 1 RECENT\r\n"
        b"* OK [UNSEEN 12] First unseen.\r\n"
        b"* OK [UIDVALIDITY 1709303925] UIDs valid\r\n"
        b"* OK [UIDNEXT 4392] Predicted next UID\r\n"
        b"* OK [HIGHESTMODSEQ 715194045007] Highest\r\n"
        b"a3 OK [READ-WRITE] Select completed (0.002 + 0.000 + 0.001 secs).\r\n"
    )
    assert events == [
        Flags(("\\Answered", "\\Flagged", "\\Deleted", "\\Seen", "\\Draft", "$Forwarded")),
        Condition(
            "OK",
            ResponseCode(
                "PERMANENTFLAGS",
                ("\\Answered", "\\Flagged", "\\Deleted", "\\Seen", "\\Draft", "$Forwarded", "\\*"),
            ),
            "Flags permitted.",
        ),
        Exists(172),
        Recent(1),
        Condition("OK", ResponseCode("UNSEEN", 12), "First unseen."),
        Condition("OK", ResponseCode("UIDVALIDITY", 1709303925), "UIDs valid"),
        Condition("OK", ResponseCode("UIDNEXT", 4392), "Predicted next UID"),
        Condition("OK", ResponseCode("HIGHESTMODSEQ", 715194045007), "Highest"),
        Tagged(
            "a3",
            "OK",
            ResponseCode("READ-WRITE"),
            "Select completed (0.002 + 0.000 + 0.001 secs).",
        ),
    ]


CODES = [
    (b"A1 OK [APPENDUID 38505 3955] APPEND completed", "APPENDUID", AppendUid(38505, (3955,))),
    (b"A1 OK [APPENDUID 38505 3955:3957] done", "APPENDUID", AppendUid(38505, (3955, 3956, 3957))),
    (
        b"A2 OK [COPYUID 38505 304,319:320 3956:3958] Done",
        "COPYUID",
        CopyUid(38505, (304, 319, 320), (3956, 3957, 3958)),
    ),
    (b"A3 NO [TRYCREATE] No such mailbox", "TRYCREATE", None),
    (b"A4 NO [AUTHENTICATIONFAILED] Authentication failed.", "AUTHENTICATIONFAILED", None),
    (b"A5 NO [OVERQUOTA] Quota exceeded", "OVERQUOTA", None),
    (b"A6 NO [LIMIT] Too many connections", "LIMIT", None),
    (b"A7 NO [UNAVAILABLE] Try later", "UNAVAILABLE", None),
    (b"A8 OK [READ-ONLY] Examine completed", "READ-ONLY", None),
    (b"A9 OK [CLOSED] Previous mailbox closed", "CLOSED", None),
    (b"B1 OK [NOMODSEQ] No permanent modsequences", "NOMODSEQ", None),
    (b'B2 NO [BADCHARSET (UTF-8 "US-ASCII")] unsupported', "BADCHARSET", ("UTF-8", "US-ASCII")),
    (b"B3 NO [BADCHARSET] unsupported", "BADCHARSET", ()),
    (b"B4 OK [ALERT] System shutdown in 10 minutes", "ALERT", None),
    (b"B5 NO [X-GM-CUSTOM some data here] x", "X-GM-CUSTOM", "some data here"),
    (b"B6 OK [uidnext 7] lower-case code", "UIDNEXT", 7),
]


@pytest.mark.parametrize(("line", "name", "value"), CODES)
def test_response_codes(line: bytes, name: str, value: CodeValue) -> None:
    (tagged,) = parse_all(line + b"\r\n")
    assert isinstance(tagged, Tagged)
    assert tagged.code == ResponseCode(name, value)


def test_tagged_without_text_and_lower_case_status() -> None:
    assert parse_all(b"a1 ok\r\n") == [Tagged("a1", "OK", None, "")]
    assert parse_all(b"a1 NO [TRYCREATE]\r\n") == [
        Tagged("a1", "NO", ResponseCode("TRYCREATE"), "")
    ]


def test_bracket_that_is_not_a_code_is_text() -> None:
    assert parse_all(b"* OK [not closed\r\n") == [Condition("OK", None, "[not closed")]


def test_known_code_with_bad_data_is_a_protocol_error() -> None:
    with pytest.raises(ProtocolError):
        parse_all(b"* OK [UIDVALIDITY abc] x\r\n")
    with pytest.raises(ProtocolError, match="COPYUID"):
        parse_all(b"A1 OK [COPYUID 1 1:3 5:6] x\r\n")


def test_huge_uid_sets_in_codes_raise_limit_exceeded() -> None:
    with pytest.raises(LimitExceeded):
        parse_all(b"A1 OK [APPENDUID 1 1:4294967295] x\r\n")


def test_bye_preauth_and_untagged_no() -> None:
    assert parse_all(
        b"* BYE [UNAVAILABLE] Server shutting down\r\n"
        b"* PREAUTH IMAP4rev2 server logged in as Smith\r\n"
        b"* NO Disk is 98% full, please delete unnecessary data\r\n"
    ) == [
        Condition("BYE", ResponseCode("UNAVAILABLE"), "Server shutting down"),
        Condition("PREAUTH", None, "IMAP4rev2 server logged in as Smith"),
        Condition("NO", None, "Disk is 98% full, please delete unnecessary data"),
    ]


def test_tagged_bye_is_a_protocol_error() -> None:
    with pytest.raises(ProtocolError, match="not OK/NO/BAD"):
        parse_all(b"a1 BYE bye\r\n")


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (b"+ idling", Continuation("idling")),
        (b"+ Ready for additional command text", Continuation("Ready for additional command text")),
        (b"+ YGgGCSqGSIb3EgECAgIAb1kw", Continuation("YGgGCSqGSIb3EgECAgIAb1kw")),
        (b"+ ", Continuation("")),
        (b"+", Continuation("")),
        (b"+ [ALERT] go ahead", Continuation("go ahead", ResponseCode("ALERT"))),
    ],
)  # fmt: skip
def test_continuations(line: bytes, expected: Continuation) -> None:
    assert parse_all(line + b"\r\n") == [expected]


def test_capability_and_enabled_are_upper_cased_sets() -> None:
    assert parse_all(
        b"* CAPABILITY IMAP4rev2 STARTTLS AUTH=GSSAPI LOGINDISABLED condstore \r\n"
        b"* ENABLED CONDSTORE QRESYNC\r\n"
        b"* ENABLED\r\n"
    ) == [
        Capability(
            frozenset({"IMAP4REV2", "STARTTLS", "AUTH=GSSAPI", "LOGINDISABLED", "CONDSTORE"})
        ),
        Enabled(frozenset({"CONDSTORE", "QRESYNC"})),
        Enabled(frozenset()),
    ]


def test_list_responses_from_dovecot_and_gmail() -> None:
    events = parse_all(
        b'* LIST (\\HasNoChildren) "." INBOX\r\n'
        b'* LIST (\\HasNoChildren \\Sent) "." "Sent Items"\r\n'
        b'* LIST (\\HasChildren \\Noselect) "/" "[Gmail]"\r\n'
        b'* LIST (\\All) "/" "[Gmail]/All Mail"\r\n'
        b'* LIST (\\HasNoChildren \\Junk) "/" "[Gmail]/Spam"\r\n'
        b'* LIST (\\NonExistent) "/" "Old"\r\n'
        b"* LIST () NIL Flat\r\n"
        b'* LSUB () "\\\\" Archive\r\n'
    )
    assert events == [
        ListEntry(frozenset({"\\HasNoChildren"}), ".", "INBOX", b"INBOX"),
        ListEntry(frozenset({"\\HasNoChildren", "\\Sent"}), ".", "Sent Items", b"Sent Items"),
        ListEntry(frozenset({"\\HasChildren", "\\Noselect"}), "/", "[Gmail]", b"[Gmail]"),
        ListEntry(frozenset({"\\All"}), "/", "[Gmail]/All Mail", b"[Gmail]/All Mail"),
        ListEntry(frozenset({"\\HasNoChildren", "\\Junk"}), "/", "[Gmail]/Spam", b"[Gmail]/Spam"),
        ListEntry(frozenset({"\\NonExistent"}), "/", "Old", b"Old"),
        ListEntry(frozenset(), None, "Flat", b"Flat"),
        ListEntry(frozenset(), "\\", "Archive", b"Archive", lsub=True),
    ]  # fmt: skip


def test_list_mailbox_names_decode_modified_utf7_with_fallback() -> None:
    events = parse_all(
        b'* LIST () "/" "&AMk-l&AOk-ments envoy&AOk-s"\r\n'
        b'* LIST () "/" inbox\r\n'
        b'* LIST () "/" {5}\r\nInBoX\r\n'
        b'* LIST () "/" "Gr\xc3\xbc\xc3\x9fe"\r\n'  # raw UTF-8 from a sloppy server
        b'* LIST () "/" "a&b"\r\n'  # not valid modified UTF-7 either
    )
    names = [e.name for e in events if isinstance(e, ListEntry)]
    assert names == ["Éléments envoyés", "INBOX", "INBOX", "Grüße", "a&b"]
    assert isinstance(events[2], ListEntry)
    assert events[2].raw_name == b"InBoX"


def test_list_names_are_utf8_once_utf8_accept_is_enabled() -> None:
    (entry,) = parse_all(b'* LIST () "/" "&AMk-t\xc3\xa9"\r\n', utf8_names=True)
    assert isinstance(entry, ListEntry)
    assert entry.name == "&AMk-té"


def test_list_extended_data_is_skipped() -> None:
    events = parse_all(
        b'* LIST (\\Subscribed) "/" "Foo" ("CHILDINFO" ("SUBSCRIBED"))\r\n'
        b'* LIST () "." "NewName" ("OLDNAME" ("OldName"))\r\n'
    )
    assert [e.name for e in events if isinstance(e, ListEntry)] == ["Foo", "NewName"]


def test_status() -> None:
    assert parse_all(
        b"* STATUS blurdybloop (MESSAGES 231 UIDNEXT 44292)\r\n"
        b'* STATUS "INBOX" (MESSAGES 3 RECENT 0 UIDNEXT 4 UIDVALIDITY 1 UNSEEN 2 '
        b"HIGHESTMODSEQ 9 SIZE 1024 DELETED 0)\r\n"
        b'* STATUS "&AMk-t&AOk-" ()\r\n'
    ) == [
        Status("blurdybloop", messages=231, uidnext=44292),
        Status("INBOX", 3, 0, 4, 1, 2, 9, 1024),
        Status("Été"),
    ]


def test_search_and_esearch() -> None:
    assert parse_all(
        b"* SEARCH 2 84 882\r\n"
        b"* SEARCH\r\n"
        b"* SEARCH \r\n"
        b"* SEARCH 2 5 6 7 11 12 18 19 20 23 (MODSEQ 917162500)\r\n"
        b'* ESEARCH (TAG "A282") MIN 2 COUNT 3\r\n'
        b'* ESEARCH (TAG "A283") UID ALL 2,10:11 MODSEQ 917162500\r\n'
        b'* ESEARCH (TAG "A284") MIN 4\r\n'
        b"* ESEARCH UID COUNT 17 ALL 4:18,21,28\r\n"
        b'* ESEARCH (TAG "A285") UID MIN 7 MAX 3800\r\n'
        b'* ESEARCH (TAG "A286") COUNT 15 PARTIAL (1:3 4,5,6)\r\n'
    ) == [
        Search((2, 84, 882)),
        Search(()),
        Search(()),
        Search((2, 5, 6, 7, 11, 12, 18, 19, 20, 23), 917162500),
        ESearch("A282", False, min=2, count=3),
        ESearch("A283", True, all=(2, 10, 11), modseq=917162500),
        ESearch("A284", False, min=4),
        ESearch(None, True, count=17, all=(*range(4, 19), 21, 28)),
        ESearch("A285", True, min=7, max=3800),
        ESearch("A286", False, count=15),
    ]


def test_esearch_all_is_bounded() -> None:
    with pytest.raises(LimitExceeded):
        parse_all(b"* ESEARCH UID ALL 1:4294967295\r\n")


def test_expunge_vanished_and_counts() -> None:
    assert parse_all(
        b"* 3 EXPUNGE\r\n"
        b"* 23 EXISTS\r\n"
        b"* 0 recent\r\n"
        b"* VANISHED (EARLIER) 300:310,405,411\r\n"
        b"* VANISHED 405,407\r\n"
    ) == [
        Expunge(3),
        Exists(23),
        Recent(0),
        Vanished((*range(300, 311), 405, 411), earlier=True),
        Vanished((405, 407), earlier=False),
    ]


def test_vanished_set_is_bounded() -> None:
    with pytest.raises(LimitExceeded):
        parse_all(b"* VANISHED (EARLIER) 1:4294967295\r\n")


def test_unmodelled_responses_are_kept_raw() -> None:
    assert parse_all(
        b'* ID ("name" "Dovecot")\r\n'
        b'* NAMESPACE (("" "/")) NIL NIL\r\n'
        b'* METADATA "INBOX" (/private/comment {3}\r\nabc)\r\n'
        b"* 5 XSTATE busy\r\n"
        b"* XNOOP\r\n"
    ) == [
        Unknown("ID", b'("name" "Dovecot")'),
        Unknown("NAMESPACE", b'(("" "/")) NIL NIL'),
        Unknown("METADATA", b'"INBOX" (/private/comment {3}\r\nabc)'),
        Unknown("XSTATE", b"5 busy"),
        Unknown("XNOOP", b""),
    ]


def test_unknown_response_nesting_is_bounded() -> None:
    with pytest.raises(LimitExceeded):
        parse_all(b"* ID " + b"(" * 10_000 + b")" * 10_000 + b"\r\n")
    # Parens inside quoted strings do not count.
    (event,) = parse_all(b'* ID ("' + b"(" * 100 + b'")\r\n')
    assert isinstance(event, Unknown)


@pytest.mark.parametrize(
    "line",
    [
        b"* 5 EXISTS extra",
        b"* FLAGS \\Seen",
        b"* VANISHED (LATER) 1",
        b"* STATUS INBOX (MESSAGES x)",
        b"* SEARCH 1 two",
        b'* LIST () "//" x',
        b"no-status-word",
        b"* ",
        b"",
    ],
)
def test_malformed_responses_raise_protocol_error(line: bytes) -> None:
    with pytest.raises(ProtocolError):
        parse_all(line + b"\r\n")
