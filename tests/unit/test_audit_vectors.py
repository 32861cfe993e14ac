"""Fixed test vectors for the audit chain: the digests of stored chains must never change.

Existing audit stores and exported bundles were chained and signed with these encodings; any
change to how a link, a checkpoint payload or a key statement is computed would make them fail
to verify. The values below were computed once and are compared byte for byte.
"""

from __future__ import annotations

from consult.audit.core import (
    GENESIS,
    Checkpoint,
    EventRow,
    derive_links,
    event_line,
    key_statement,
    link_line,
    verify,
)

#: A small fixed history: two aggregates, text and non-UTF-8 states, an empty state.
EVENTS: list[EventRow] = [
    (1, "0" * 32, 1, "consult.case:Case.Created", b'{"title":"\xe6\xb5\x8b\xe8\xaf\x95"}'),
    (2, "0" * 32, 2, "consult.case:Case.Advanced", b'{"stage":"vote"}'),
    (4, "f" * 32, 1, "consult.vote:Ballot.Created", b"\xff\x00binary"),
    (9, "0" * 32, 3, "consult.case:Case.Closed", b""),
]

HEADS = [
    "413708a277683f5fe0e06e68e20af6ec7e3dfb38006823aefbb4f8b41414a510",
    "371ce37c37dcfab4b2f67bee04744aa4e92fc396f5664f38e7e6ac7371ea77ad",
    "dfa71e034657b98f920512fc899d8f5365ca10354cb185d0a959e00a5d0faa08",
    "907fb197b6ef6af72bc8008eb0ea7bb6a3445145b35b41619991864088629d6d",
]


def test_a_fixed_history_chains_to_the_same_links_as_before() -> None:
    links = derive_links(GENESIS, EVENTS)
    assert [link.hex() for *_, link in links] == HEADS
    assert [row[:3] for row in links] == [row[:3] for row in EVENTS]


def test_the_verifier_derives_the_same_head_and_finds_the_history_intact() -> None:
    links = derive_links(GENESIS, EVENTS)
    report = verify(EVENTS, links, chained_to=9, key_records=[], checkpoints=[], roots=None)
    assert report.ok and report.head == HEADS[-1] and report.events == 4


def test_signed_statements_and_bundle_lines_keep_their_bytes() -> None:
    cp = Checkpoint(9, HEADS[-1], "2026-01-05T01:00:00Z", "0123456789abcdef")
    assert cp.payload() == (
        b'{"head":"907fb197b6ef6af72bc8008eb0ea7bb6a3445145b35b41619991864088629d6d",'
        b'"key":"0123456789abcdef","position":9,"time":"2026-01-05T01:00:00Z",'
        b'"type":"consult-checkpoint","v":1}'
    )
    assert key_statement(bytes(range(32)), "2026-01-05T01:00:00Z", None) == (
        b'{"key":"630dcd2966c43366","public_key":"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8",'
        b'"time":"2026-01-05T01:00:00Z","type":"consult-key","v":1}'
    )
    assert key_statement(bytes(range(32)), "2026-01-06T01:00:00Z", "0123456789abcdef") == (
        b'{"new_key":"630dcd2966c43366",'
        b'"new_public_key":"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8",'
        b'"old_key":"0123456789abcdef","time":"2026-01-06T01:00:00Z",'
        b'"type":"consult-key-rotation","v":1}'
    )
    assert event_line(EVENTS[0]) == (
        '{"position":1,"originator_id":"00000000000000000000000000000000",'
        '"originator_version":1,"topic":"consult.case:Case.Created",'
        '"state":"{\\"title\\":\\"测试\\"}"}'
    )
    assert event_line(EVENTS[2]) == (
        '{"position":4,"originator_id":"ffffffffffffffffffffffffffffffff",'
        '"originator_version":1,"topic":"consult.vote:Ballot.Created","state_b64":"_wBiaW5hcnk"}'
    )
    assert link_line(derive_links(GENESIS, EVENTS)[0]) == (
        '{"position":1,"originator_id":"00000000000000000000000000000000",'
        '"originator_version":1,"link":"413708a277683f5fe0e06e68e20af6ec7e3dfb38006823aefbb4f8b41414a510"}'
    )
