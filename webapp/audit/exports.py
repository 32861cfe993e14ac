"""Exports of events and results as CSV (UTF-8 with a BOM, so spreadsheets read the Chinese) or JSON."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict
from datetime import datetime
from typing import Any
from uuid import UUID

from flask import Response

from webapp.reads import ResultRow, TimelineEntry, plain
from webapp.state import services

EVENT_COLUMNS = (
    "case_id",
    "at",
    "stream",
    "stream_id",
    "version",
    "event",
    "actor",
    "reason",
    "data",
)
RESULT_COLUMNS = tuple(ResultRow.__dataclass_fields__)


def event_rows(case_ids: Iterable[UUID]) -> Iterator[dict[str, Any]]:
    reads = services().reads
    for case_id in case_ids:
        for e in reads.timeline(case_id):
            yield event_row(case_id, e)


def event_row(case_id: UUID, e: TimelineEntry) -> dict[str, Any]:
    return {
        "case_id": str(case_id),
        "at": e.at.isoformat(),
        "stream": e.kind,
        "stream_id": str(e.aggregate_id),
        "version": e.version,
        "event": e.event,
        "actor": e.actor,
        "reason": e.reason,
        "data": e.data,
    }


def result_rows(rows: Sequence[ResultRow]) -> list[dict[str, Any]]:
    return [{k: plain(v) for k, v in asdict(r).items()} for r in rows]


def csv_response(rows: Iterable[dict[str, Any]], columns: Sequence[str], filename: str) -> Response:
    buffer = io.StringIO()
    buffer.write("\ufeff")
    writer = csv.DictWriter(buffer, fieldnames=list(columns), extrasaction="ignore")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: _cell(row.get(k)) for k in columns})
    response = Response(buffer.getvalue(), mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    text = str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@") and not _numeric(text) else text


def _numeric(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def json_response(
    kind: str, items: list[dict[str, Any]], filename: str, exported_by: str, **meta: Any
) -> Response:
    body = {
        "kind": kind,
        "exported_at": datetime.now().astimezone().isoformat(),
        "exported_by": exported_by,
        **{k: plain(v) for k, v in meta.items()},
        "count": len(items),
        "items": items,
    }
    response = Response(json.dumps(body, ensure_ascii=False, indent=1), mimetype="application/json")
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def export(
    fmt: str, kind: str, items: list[dict[str, Any]], name: str, exported_by: str, **meta: Any
) -> Response:
    """``name.csv`` (the columns of ``kind``) or ``name.json`` (with who exported, when, what)."""
    filename = f"{name}.{fmt}"
    if fmt == "csv":
        return csv_response(items, EVENT_COLUMNS if kind == "events" else RESULT_COLUMNS, filename)
    return json_response(kind, items, filename, exported_by, **meta)
