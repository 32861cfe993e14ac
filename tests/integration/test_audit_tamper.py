"""Someone with write access to the database changes the history; the audit finds and locates it.

Each test really tampers with the SQLite file (sqlite3) or the PostgreSQL tables (psycopg), then
verifies from a fresh connection.
"""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from consult.application import ConsultationApp
from consult.audit import Checkpoint, Report, attach, load_signer, open_store, verify_store
from consult.audit.core import GENESIS, chain_link
from consult.audit.store import AuditStore
from consult.clock import FixedClock
from consult.config import backend_of, eventsourcing_env, sqlite_path
from entrypoints.bootstrap import build_app
from tests.conftest import open_owners_vote, owner


def story(
    app: ConsultationApp, clock: FixedClock, ballots: int = 40
) -> tuple[uuid.UUID, list[Any]]:
    """An estate, a topic put to the owners' vote, and ``ballots`` ballots: realistic events."""
    vote_id, heads = open_owners_vote(app, clock)
    cast_ballots(app, clock, vote_id, heads[:ballots])
    return vote_id, heads


def cast_ballots(
    app: ConsultationApp, clock: FixedClock, vote_id: uuid.UUID, heads: list[Any]
) -> None:
    for i, h in enumerate(heads):
        clock.advance(minutes=1)
        app.cast_ballot(vote_id, ("yes", "no", "abstain")[i % 3], owner(h.owners[0]))


class Tamperer:
    """Direct SQL on the event and chain tables, as an operator with database access would."""

    table: str
    id_column: str
    ph: str

    def execute(self, statement: str, params: tuple[Any, ...] = ()) -> list[Any]:
        raise NotImplementedError

    def sql(self, statement: str) -> str:
        return (
            statement.replace("{t}", self.table)
            .replace("{id}", self.id_column)
            .replace("?", self.ph)
        )

    def run(self, statement: str, params: tuple[Any, ...] = ()) -> list[Any]:
        return self.execute(self.sql(statement), params)

    def row(self, position: int) -> tuple[Any, ...]:
        rows = self.run(
            "SELECT originator_id, originator_version, topic, state FROM {t} WHERE {id} = ?",
            (position,),
        )
        return tuple(rows[0])

    def positions(self) -> list[int]:
        return [r[0] for r in self.run("SELECT {id} FROM {t} ORDER BY {id}")]

    def update_state(self, position: int, state: bytes) -> None:
        self.run("UPDATE {t} SET state = ? WHERE {id} = ?", (state, position))

    def delete(self, position: int) -> None:
        self.run("DELETE FROM {t} WHERE {id} = ?", (position,))

    def insert_at(
        self, position: int, originator_id: uuid.UUID, version: int, topic: str, state: bytes
    ) -> None:
        """Move every later event one place on and put a forged event at ``position``."""
        self.run("UPDATE {t} SET {id} = -{id} WHERE {id} >= ?", (position,))
        self.run("UPDATE {t} SET {id} = -{id} + 1 WHERE {id} < 0")
        self.run(
            "INSERT INTO {t} ({id}, originator_id, originator_version, topic, state) VALUES (?, ?, ?, ?, ?)",
            (position, self.originator(originator_id), version, topic, state),
        )

    def swap(self, a: int, b: int) -> None:
        self.run("UPDATE {t} SET {id} = ? WHERE {id} = ?", (-1, a))
        self.run("UPDATE {t} SET {id} = ? WHERE {id} = ?", (a, b))
        self.run("UPDATE {t} SET {id} = ? WHERE {id} = ?", (b, -1))

    def rewrite_from(self, position: int, state: bytes, *, drop_checkpoints: bool) -> None:
        """Change an event and make the chain agree with it from there on, as a careful attacker."""
        self.update_state(position, state)
        before = self.run(
            "SELECT link FROM audit_chain WHERE position < ? ORDER BY position DESC LIMIT 1",
            (position,),
        )
        prev = bytes(before[0][0]) if before else GENESIS
        events = self.run(
            "SELECT {id}, originator_id, originator_version, topic, state FROM {t} WHERE {id} >= ? ORDER BY {id}",
            (position,),
        )
        for p, oid, version, topic, blob in events:
            oid = oid.hex if isinstance(oid, uuid.UUID) else oid
            prev = chain_link(prev, p, oid, version, topic, bytes(blob))
            self.run("UPDATE audit_chain SET link = ? WHERE position = ?", (prev, p))
        if drop_checkpoints:
            self.run("DELETE FROM audit_checkpoints")

    def originator(self, oid: uuid.UUID) -> Any:
        return oid


class SQLiteTamperer(Tamperer):
    table, id_column, ph = "stored_events", "rowid", "?"

    def __init__(self, url: str) -> None:
        self.path = sqlite_path(url)

    def execute(self, statement: str, params: tuple[Any, ...] = ()) -> list[Any]:
        with sqlite3.connect(self.path) as conn:
            rows = conn.execute(statement, params).fetchall()
        conn.close()
        return rows

    def originator(self, oid: uuid.UUID) -> Any:
        return oid.hex


class PostgresTamperer(Tamperer):
    table, id_column, ph = "consult_events", "notification_id", "%s"

    def __init__(self, url: str) -> None:
        from psycopg.conninfo import make_conninfo

        env = eventsourcing_env(url)
        self.conninfo = make_conninfo(
            dbname=env["POSTGRES_DBNAME"],
            host=env["POSTGRES_HOST"],
            port=env["POSTGRES_PORT"],
            user=env["POSTGRES_USER"],
            password=env["POSTGRES_PASSWORD"],
        )

    def execute(self, statement: str, params: tuple[Any, ...] = ()) -> list[Any]:
        import psycopg

        with psycopg.connect(self.conninfo, autocommit=True) as conn:
            cur = conn.execute(statement.encode(), params)
            return cur.fetchall() if cur.description else []


@dataclass
class Scene:
    """A store with a story, a published checkpoint in the middle of it, and more events after."""

    url: str
    app: ConsultationApp
    published: Checkpoint
    early: Checkpoint
    roots: dict[str, bytes]
    tamper: Tamperer
    ballots: list[int]  # positions of ballot events before the published checkpoint

    def verify(self, published: list[Checkpoint] | None = None) -> Report:
        store: AuditStore = open_store(self.url)
        try:
            return verify_store(
                store, [self.published] if published is None else published, self.roots
            )
        finally:
            store.close()


def _scene(url: str, tamper: Tamperer, tmp_path: Path) -> Iterator[Scene]:
    clock = FixedClock()
    app = build_app(url, clock)
    follower = attach(
        app, url, tmp_path / "signing-key.pem", checkpoint_every=None, checkpoint_interval=None
    )
    try:
        vote_id, heads = story(app, clock, ballots=20)
        early = follower.checkpoint()
        cast_ballots(app, clock, vote_id, heads[20:40])
        published = follower.checkpoint()
        cast_ballots(app, clock, vote_id, heads[40:50])
        assert follower.wait(app.recorder.max_notification_id())
        follower.stop()
        signer = load_signer(tmp_path / "signing-key.pem", create=False)
        ballots = [p for p in tamper.positions() if early.position < p <= published.position]
        yield Scene(url, app, published, early, {signer.key_id: signer.public_raw}, tamper, ballots)
    finally:
        follower.stop()
        follower.store.close()
        app.close()


def tamperer(url: str) -> Tamperer:
    """Direct SQL access to the store at ``url`` (a SQLite file or a PostgreSQL database)."""
    return SQLiteTamperer(url) if backend_of(url) == "sqlite" else PostgresTamperer(url)


@pytest.fixture
def scene(store_url: str, tmp_path: Path) -> Iterator[Scene]:
    yield from _scene(store_url, tamperer(store_url), tmp_path)


def test_an_untouched_store_verifies(scene: Scene) -> None:
    report = scene.verify([scene.early, scene.published])
    assert report.ok, report.problems
    assert report.first is None
    assert report.checkpoints == 4  # two stored, the same two published
    assert report.unchained == 0 and report.events == len(scene.tamper.positions())


def test_an_altered_payload_is_found_at_its_position(scene: Scene) -> None:
    k = scene.ballots[3]
    state = bytes(scene.tamper.row(k)[3])
    forged = state.replace(b'"choice":"no"', b'"choice":"yes"').replace(
        b'"choice":"abstain"', b'"choice":"yes"'
    )
    if forged == state:
        forged = state.replace(b'"choice":"yes"', b'"choice":"no"')
    assert forged != state
    scene.tamper.update_state(k, forged)

    report = scene.verify()
    assert not report.ok
    assert (
        report.first is not None and report.first.position == k and report.first.kind == "altered"
    )
    assert f"第 {k} 位" in report.summary("zh") and f"position {k}" in report.summary("en")


def test_a_deleted_event_is_found_at_its_position(scene: Scene) -> None:
    k = scene.ballots[5]
    scene.tamper.delete(k)

    report = scene.verify()
    assert report.first is not None and (report.first.position, report.first.kind) == (k, "deleted")


def test_an_inserted_event_is_found_at_its_position(scene: Scene) -> None:
    k = scene.ballots[2]
    _, _, topic, state = scene.tamper.row(k)
    scene.tamper.insert_at(k, uuid.uuid4(), 1, topic, bytes(state))

    report = scene.verify()
    assert report.first is not None and report.first.position == k
    assert report.first.kind == "replaced"


def test_swapped_events_are_found_at_the_first_of_them(scene: Scene) -> None:
    a, b = scene.ballots[4], scene.ballots[9]
    scene.tamper.swap(a, b)

    report = scene.verify()
    assert report.first is not None and (report.first.position, report.first.kind) == (
        a,
        "replaced",
    )
    assert [p.position for p in report.problems if p.kind == "replaced"] == [a, b]


@pytest.mark.parametrize(
    "drop_checkpoints", [True, False], ids=["stored-checkpoints-deleted", "stored-kept"]
)
def test_a_rewrite_of_events_and_chain_after_a_published_checkpoint_is_caught(
    scene: Scene, drop_checkpoints: bool
) -> None:
    k = scene.ballots[6]
    state = bytes(scene.tamper.row(k)[3])
    scene.tamper.rewrite_from(
        k,
        state.replace(b'"channel":"online"', b'"channel":"paper"'),
        drop_checkpoints=drop_checkpoints,
    )

    # The chain now agrees with the events: only a signed checkpoint can tell.
    assert scene.verify(published=[]).ok is drop_checkpoints

    report = scene.verify([scene.early, scene.published])
    first = report.first
    assert first is not None and first.kind == "checkpoint"
    assert first.position == scene.published.position
    assert (
        first.after == scene.early.position < k <= first.position
    )  # the rewrite is located between them
    assert f"第 {scene.early.position} 位之后" in first.message("zh")
    assert f"after position {scene.early.position}" in first.message("en")


def test_a_damaged_row_is_reported_not_raised(scene: Scene) -> None:
    k = scene.ballots[1]
    if isinstance(scene.tamper, SQLiteTamperer):
        scene.tamper.run("UPDATE {t} SET state = CAST(state AS TEXT) WHERE {id} = ?", (k,))
    else:
        scene.tamper.run("UPDATE {t} SET topic = NULL WHERE {id} = ?", (k,))

    report = scene.verify()
    assert report.first is not None and (report.first.position, report.first.kind) == (
        k,
        "malformed",
    )


def test_a_forged_checkpoint_in_the_store_is_refused(scene: Scene) -> None:
    from consult.audit.keys import Signer

    intruder = Signer.generate()
    forged = Checkpoint(scene.published.position, "0" * 64, scene.published.time, intruder.key_id)
    forged = Checkpoint(**{**forged.to_dict(), "signature": intruder.sign(forged.payload())})
    scene.tamper.run(
        "INSERT INTO audit_checkpoints (position, head, time, key_id, signature) VALUES (?, ?, ?, ?, ?)",
        (forged.position, forged.head, forged.time, forged.key, forged.signature),
    )
    report = scene.verify()
    assert report.first is not None and report.first.kind == "untrusted"
    assert report.first.position == scene.published.position


def test_damaged_checkpoint_and_key_rows_are_reported_not_raised(scene: Scene) -> None:
    scene.tamper.run(
        "UPDATE audit_checkpoints SET head = ? WHERE position = ?", ("zz", scene.early.position)
    )
    scene.tamper.run("UPDATE audit_keys SET public_key = ?", ("AAAA",))

    report = scene.verify()
    assert report.first is not None and (report.first.position, report.first.kind) == (
        scene.early.position,
        "signature",
    )
    assert any(p.kind == "key-record" for p in report.problems)
