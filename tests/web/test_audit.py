"""Street auditors: timelines with actors and reasons, two moments side by side, exports, and
every read recorded in the log."""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta

from eventsourcing.utils import get_topic

from consult.access import AccessLog, access_log_id
from tests.web.conftest import World, text_of


def _reads(world: World) -> list[dict[str, str]]:
    day = world.clock.now().date().isoformat()
    log = world.consult.repository.get(access_log_id("street-1", day))
    assert isinstance(log, AccessLog)
    return [
        {"resource": e.resource, **e.params}  # type: ignore[attr-defined]
        for e in world.consult.events.get(log.id)
        if type(e).__name__ == "Read"
    ]


def test_timeline_shows_every_step_with_actor_and_reason(world: World) -> None:
    case = world.topic()
    world.consult.reject_topic(case, world.actor("party"), "不属于业主共同决定事项。")
    page = world.client("street").get(f"/audit/cases/{case}")
    assert page.status_code == 200
    text = text_of(page)
    assert "Created" in text and "Rejected" in text
    assert "party-1" in text and "不属于业主共同决定事项" in text and "P0001" in text


def test_the_timeline_includes_votes_and_ballots(world: World) -> None:
    case, vote = world.voting()
    world.cast(vote, range(1, 4))
    text = text_of(world.client("street").get(f"/audit/cases/{case}"))
    assert "VoteOpened" in text and text.count("ballot v1") == 3


def test_state_and_tally_at_two_moments_side_by_side(world: World) -> None:
    case, vote = world.voting()
    world.clock.advance(hours=1)
    early = world.clock.now()
    world.clock.advance(minutes=1)
    world.cast(vote, range(1, 11))
    world.clock.advance(hours=1)
    late = world.clock.now()
    fmt = "%Y-%m-%dT%H:%M:%S%z"
    c = world.client("street")
    page = c.get(
        f"/audit/cases/{case}/compare",
        query_string={"a": early.strftime(fmt), "b": late.strftime(fmt)},
    )
    assert page.status_code == 200
    text = text_of(page)
    assert " 0 / 40" in text and "10 / 40" in text
    before = c.get(
        f"/audit/cases/{case}/compare",
        query_string={"a": (early - timedelta(days=60)).strftime(fmt), "b": late.strftime(fmt)},
    )
    assert "此时该议题尚未提出" in text_of(before)
    bad = c.get(f"/audit/cases/{case}/compare", query_string={"a": "yesterday", "b": ""})
    assert bad.status_code == 422 and "时刻甲" in bad.text and "时刻乙" in bad.text
    api = c.get(
        f"/api/v1/audit/cases/{case}/compare",
        query_string={"a": early.isoformat(), "b": late.isoformat()},
    )
    assert api.status_code == 200
    tallies = api.json["tallies"][0]
    assert (
        tallies["a"]["raw"]["participating"]["heads"] == 0
        and tallies["b"]["raw"]["participating"]["heads"] == 10
    )


def test_exports_of_events_and_results_as_csv_and_json(world: World) -> None:
    case, vote = world.decided()
    c = world.client("street")
    r = c.get(f"/audit/cases/{case}/events.csv")
    assert (
        r.status_code == 200
        and r.mimetype == "text/csv"
        and "attachment" in r.headers["Content-Disposition"]
    )
    rows = list(csv.DictReader(io.StringIO(r.data.decode("utf-8-sig"))))
    assert {row["event"] for row in rows} >= {
        "Created",
        "Confirmed",
        "NoticePublished",
        "Closed",
        "ResultPublished",
    }
    assert all(row["actor"] for row in rows)
    r = c.get(f"/audit/cases/{case}/events.json")
    body = json.loads(r.data)
    assert (
        body["kind"] == "events"
        and body["count"] == len(rows)
        and body["exported_by"] == "street-1"
    )
    r = c.get("/audit/results.csv")
    results = list(csv.DictReader(io.StringIO(r.data.decode("utf-8-sig"))))
    assert (
        results[0]["vote_id"] == str(vote)
        and results[0]["passed"] == "True"
        and results[0]["participating_heads"] == "35"
    )
    r = c.get("/audit/results.json")
    assert json.loads(r.data)["items"][0]["yes_heads"] == 35
    assert c.get("/audit/events.json").status_code == 200


def test_every_auditor_read_is_recorded_as_an_event(world: World) -> None:
    case = world.topic()
    c = world.client("street")
    before = world.position()
    c.get("/audit/")
    c.get(f"/audit/cases/{case}")
    c.get(f"/audit/cases/{case}/events.csv")
    c.get("/api/v1/audit/cases", query_string={"page": "1"})
    reads = _reads(world)
    assert [r["resource"] for r in reads] == [
        "/audit/",
        f"/audit/cases/{case}",
        f"/audit/cases/{case}/events.csv",
        "/api/v1/audit/cases",
    ]
    assert reads[-1]["page"] == "1"
    assert world.position() == before + 5  # the day's log is created with the first read
    topics = {n.topic for n in world.consult.recorder.select_notifications(before + 1, 10)}
    assert topics == {get_topic(AccessLog.Created), get_topic(AccessLog.Read)}
    assert "/audit/cases/" in c.get("/audit/access").text


def test_a_read_that_cannot_be_recorded_is_refused(world: World, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from eventsourcing.persistence import IntegrityError

    def broken(*args: object, **kwargs: object) -> None:
        raise IntegrityError("disk full")

    monkeypatch.setattr(world.consult, "save", broken)
    r = world.client("street").get("/audit/")
    assert r.status_code == 503 and "无法记录本次审计访问" in r.text


def test_auditors_only_read(world: World) -> None:
    case = world.topic()
    for persona in ("resident", "oc", "rc", "teller_a"):
        assert world.client(persona).get(f"/audit/cases/{case}").status_code == 403
    assert world.client().get("/audit/").status_code == 302
    assert all(
        rule.methods is not None and rule.methods <= {"GET", "HEAD", "OPTIONS"}
        for rule in world.web.url_map.iter_rules()
        if rule.rule.startswith("/audit") or rule.rule.startswith("/api/v1/audit")
    )
