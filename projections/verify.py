"""Are the live views what the events say? Every view is rebuilt from the event log into a scratch
store (a SQLite file in a temporary folder) up to the position the live view has reached, and
compared with the live one row by row.

A view edited behind the product's back (``UPDATE view_vote SET yes_heads = ...``) is served as if
it were true and is invisible to the audit chain, which covers the events only; this finds it.
The cost is that of a rebuild of every view plus one read of every view row (docs/audit.md).

The live rows are read in one transaction opened first, so the positions and the rows read agree
even while the live projector goes on; rows of both stores are read in primary-key order
(bytewise, the same on both backends) and merged, so memory stays small on a large store.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from projections.db import SQLiteStore, ViewStore, tracking
from projections.projector import Projector

if TYPE_CHECKING:
    from consult.application import ConsultationApp

#: Called with (position reached by the scratch views, position to reach).
Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class Difference:
    """One row that differs: ``stored`` (live) against ``derived`` (from the events); None when
    the row is missing on that side; otherwise only the differing columns."""

    view: str
    table: str
    key: dict[str, Any]
    stored: dict[str, Any] | None
    derived: dict[str, Any] | None

    def message(self, lang: str = "zh") -> str:
        key = ", ".join(f"{k}={v}" for k, v in self.key.items())
        if lang.startswith("zh"):
            if self.stored is None:
                return f"读模型 {self.view}（{self.table}）缺少 {key} 行；按事件应为 {self.derived}"
            if self.derived is None:
                return f"读模型 {self.view}（{self.table}）多出 {key} 行：{self.stored}；事件中没有"
            return (
                f"读模型 {self.view}（{self.table}）{key} 行存储的是 {self.stored}，"
                f"按事件应为 {self.derived}"
            )
        if self.stored is None:
            return f"view {self.view} ({self.table}) lacks the row {key}; from the events: {self.derived}"
        if self.derived is None:
            return f"view {self.view} ({self.table}) has the row {key}: {self.stored}, which no event gives"
        return (
            f"view {self.view} ({self.table}) row {key} stores {self.stored}; "
            f"from the events: {self.derived}"
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "view": self.view,
            "table": self.table,
            "key": {k: _plain(v) for k, v in self.key.items()},
            "stored": None
            if self.stored is None
            else {k: _plain(v) for k, v in self.stored.items()},
            "derived": None
            if self.derived is None
            else {k: _plain(v) for k, v in self.derived.items()},
            "message": {"zh": self.message("zh"), "en": self.message("en")},
        }


@dataclass
class ViewCheck:
    """What the comparison found: views compared and at which positions, rows read, the
    differences (the first ``max_differences`` of ``count``), views that could not be rebuilt."""

    positions: dict[str, int] = field(default_factory=dict)
    rows: int = 0
    count: int = 0
    differences: list[Difference] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)  # view -> why it could not be rebuilt

    @property
    def ok(self) -> bool:
        return self.count == 0 and not self.failed

    def summary(self, lang: str = "zh") -> str:
        upto = max(self.positions.values(), default=0)
        names = ", ".join(sorted(self.positions))
        zh = lang.startswith("zh")
        if not self.positions:
            return (
                "此存储尚无读模型，无可核对。"
                if zh
                else "This store has no views yet: nothing to compare."
            )
        if self.ok:
            return (
                f"读模型与事件一致：{len(self.positions)} 个读模型（{names}）的 {self.rows} 行，"
                f"已按事件重建至第 {upto} 位逐行核对。"
                if zh
                else f"The views match the events: {self.rows} rows of {len(self.positions)} views "
                f"({names}) compared with a rebuild from the events up to position {upto}."
            )
        parts = []
        if self.count:
            parts.append(
                f"{self.count} 行与事件不符" if zh else f"{self.count} rows differ from the events"
            )
        for name, why in sorted(self.failed.items()):
            parts.append(
                f"读模型 {name} 无法按事件重建：{why}"
                if zh
                else f"view {name} cannot be rebuilt from the events: {why}"
            )
        return (
            ("读模型被改动：" if zh else "The views were changed: ")
            + "; ".join(parts)
            + ("。" if zh else ".")
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "positions": dict(self.positions),
            "rows": self.rows,
            "differences_count": self.count,
            "differences": [d.to_dict() for d in self.differences],
            "failed": dict(self.failed),
            "message": {"zh": self.summary("zh"), "en": self.summary("en")},
        }


def check_views(
    app: ConsultationApp,
    live: ViewStore,
    progress: Progress | None = None,
    max_differences: int = 50,
    scratch_dir: Path | None = None,
) -> ViewCheck:
    """Rebuild every view from ``app``'s events in a scratch store and compare it with ``live``,
    up to the position each live view has reached."""
    check = ViewCheck()
    with tempfile.TemporaryDirectory(prefix="consult-views-", dir=scratch_dir) as folder:
        scratch = SQLiteStore.for_file(str(Path(folder) / "views.sqlite"))
        try:
            projector = Projector(app, scratch)
            with live.read() as conn:
                stored = _positions(conn)
                positions = {n: stored[n] for n in projector.names if n in stored}
                check.positions = positions
                target = max(positions.values(), default=0)

                def report(reached: int, _target: int) -> None:
                    if progress is not None:
                        progress(reached, target)

                for upto in sorted(set(positions.values())):
                    names = [n for n, p in positions.items() if p == upto]
                    behind = [n for n, p in positions.items() if p >= upto]
                    projector.catch_up_to(upto, behind, report)
                    for fault in projector.faults():
                        check.failed[fault.name] = fault.error
                    with scratch.read() as mine:
                        for name in names:
                            if name not in check.failed:
                                _compare(check, name, projector, conn, mine, max_differences)
        finally:
            scratch.dispose()
    return check


def live_positions(live: ViewStore) -> dict[str, int]:
    """Each live view's position (none when the store has no views yet)."""
    with live.read() as conn:
        return _positions(conn)


def _positions(conn: Connection) -> dict[str, int]:
    if not sa.inspect(conn).has_table(tracking.name):
        return {}
    return dict(conn.execute(sa.select(tracking.c.name, tracking.c.position)).all())


def _compare(
    check: ViewCheck,
    name: str,
    projector: Projector,
    live: Connection,
    scratch: Connection,
    limit: int,
) -> None:
    for table in projector.views[name].tables:
        keys = list(table.primary_key.columns) or list(table.columns)
        columns = [c.name for c in table.columns]
        at = [columns.index(c.name) for c in keys]
        mine = _rows(scratch, table, keys)
        theirs = _rows(live, table, keys)
        a, b = next(theirs, None), next(mine, None)
        while a is not None or b is not None:
            ka = tuple(a[i] for i in at) if a is not None else None
            kb = tuple(b[i] for i in at) if b is not None else None
            if kb is None or (ka is not None and ka < kb):
                assert a is not None and ka is not None
                _found(
                    check, limit, name, table, keys, ka, dict(zip(columns, a, strict=True)), None
                )
                a = next(theirs, None)
            elif ka is None or kb < ka:
                assert b is not None
                _found(
                    check, limit, name, table, keys, kb, None, dict(zip(columns, b, strict=True))
                )
                b = next(mine, None)
            else:
                assert a is not None and b is not None
                check.rows += 1
                if a != b:
                    changed = [i for i, (x, y) in enumerate(zip(a, b, strict=True)) if x != y]
                    _found(
                        check,
                        limit,
                        name,
                        table,
                        keys,
                        ka,
                        {columns[i]: a[i] for i in changed},
                        {columns[i]: b[i] for i in changed},
                    )
                a, b = next(theirs, None), next(mine, None)


def _found(
    check: ViewCheck,
    limit: int,
    view: str,
    table: sa.Table,
    keys: Sequence[sa.Column[Any]],
    key: tuple[Any, ...],
    stored: dict[str, Any] | None,
    derived: dict[str, Any] | None,
) -> None:
    check.count += 1
    if len(check.differences) < limit:
        named = {c.name: v for c, v in zip(keys, key, strict=True)}
        check.differences.append(Difference(view, table.name, named, stored, derived))


def _rows(conn: Connection, table: sa.Table, keys: Sequence[sa.Column[Any]]) -> Iterator[Any]:
    """The table's rows as tuples in key order: text compared bytewise (as Python compares str),
    the same on every backend."""
    order = [c.collate("C") if conn.dialect.name == "postgresql" and _text(c) else c for c in keys]
    result = conn.execution_options(yield_per=2000).execute(sa.select(table).order_by(*order))
    for row in result:
        yield tuple(row)


def _text(column: sa.Column[Any]) -> bool:
    try:
        return column.type.python_type is str
    except NotImplementedError:
        return False


def _plain(value: Any) -> Any:
    return value if isinstance(value, (str, int, float, bool)) or value is None else str(value)
