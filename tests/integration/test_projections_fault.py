"""Fault test: the follower (``consult projections run``) is killed with SIGKILL again and again,
between and during sections, and restarted; no ballot is counted twice or missed."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
from pathlib import Path
from typing import IO

import pytest
import sqlalchemy as sa

from consult.clock import FixedClock
from consult.rules import Choice
from consult.vote import Ballot, ballot_id
from entrypoints.bootstrap import build_app
from projections import Projector, Queries, open_store
from projections.db import tracking
from tests.conftest import OC, close_at_end
from tests.integration.test_projections_support import (
    open_owners_vote,
    setup_place,
    synthetic_roll,
    view_rows,
)

ROOT = Path(__file__).resolve().parents[2]
SECTION = 25


def follower(url: str) -> subprocess.Popen[str]:
    env = {**os.environ, "CONSULT_DATABASE_URL": url, "PYTHONPATH": str(ROOT)}
    command = [
        sys.executable,
        "-m",
        "entrypoints.commands.projections",
        "run",
        "--verbose",
        "--poll",
        "0.05",
    ]
    return subprocess.Popen(
        [*command, "--section-size", str(SECTION)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )


def read_positions(stdout: IO[str], count: int) -> list[int]:
    """Wait for ``count`` committed sections; returns the positions they reported."""
    seen: list[int] = []
    while len(seen) < count:
        line = stdout.readline()
        if not line:
            break
        if line.startswith("position "):
            seen.append(int(line.split()[1]))
    return seen


def tracked(url: str) -> dict[str, int]:
    store = open_store(url)
    try:
        with store.read() as conn:
            return {
                name: pos
                for name, pos in conn.execute(sa.select(tracking.c.name, tracking.c.position))
            }
    finally:
        store.dispose()


@pytest.mark.slow
def test_follower_killed_between_sections_counts_every_ballot_once(store_url: str) -> None:
    url = store_url
    clock = FixedClock()
    app = build_app(url, clock=clock)
    rng = random.Random(5)
    estate = setup_place(app, synthetic_roll(500))
    heads = [h for h in app.owners_electorate(estate).heads.values() if not h.is_developer]
    _, votes = open_owners_vote(app, clock, estate, items=2)
    # Real ballot events, saved in batches as concurrent voters would store them.
    for vote in votes:
        batch = []
        for head in heads:
            if rng.random() < 0.15:
                continue
            ballot = Ballot.start(
                ballot_id(vote, head.head_id),
                clock.now(),
                head.owners[0],
                "",
                vote_id=vote,
                elector_id=head.head_id,
                choice=rng.choice(["yes", "no", "abstain"]),
                channel="online",
                receipt="R",
            )
            if rng.random() < 0.2:
                ballot.change(
                    Choice(rng.choice(["yes", "no"])), "online", True, head.owners[0], clock.now()
                )
            batch.append(ballot)
            if len(batch) == 40:
                app.save(*batch)
                batch = []
        app.save(*batch)
    # The first vote closes; ballots that raced the close are stored after it and never count.
    close_at_end(app, votes[0], OC)
    late = [
        Ballot.start(
            ballot_id(votes[0], h.head_id),
            clock.now(),
            h.owners[0],
            "",
            vote_id=votes[0],
            elector_id=h.head_id,
            choice="no",
            channel="online",
            receipt="L",
        )
        for h in heads
        if not app.exists(ballot_id(votes[0], h.head_id))
    ]
    app.save(*late)
    head = app.recorder.max_notification_id() or 0
    assert head > 20 * SECTION

    # Kill the follower again and again, a few sections in, and restart it.
    reached = 0
    for sections in (2, 5, 1, 4, 3):
        process = follower(url)
        assert process.stdout is not None
        reported = read_positions(process.stdout, sections)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
        process.stdout.close()
        assert len(reported) == sections and reported == sorted(reported)
        positions = tracked(url)
        assert len(set(positions.values())) == 1  # all views moved together
        now = next(iter(positions.values()))
        assert reported[-1] <= now <= head and now > reached
        reached = now
    assert reached < head  # the kills really interrupted the catch-up

    # A last run catches up and stops cleanly on SIGTERM.
    process = follower(url)
    assert process.stdout is not None
    while min(tracked(url).values()) < head:
        read_positions(process.stdout, 1)
    process.send_signal(signal.SIGTERM)
    out, _ = process.communicate(timeout=30)
    assert process.returncode == 0 and f"stopped at position {head}" in out

    store = open_store(url)
    try:
        queries = Queries(store, app)
        for vote in votes:
            assert queries.vote_tally(vote).result == app.tally(vote)
        assert queries.vote_tally(votes[0]).late_ballots == len(late) > 0
        rows = view_rows(store)
        Projector(app, store).rebuild()
        assert view_rows(store) == rows
    finally:
        store.dispose()
        app.close()
