"""The ``consult`` command for operators: the whole command line, with the subcommands of every
area (``entrypoints.commands``) registered under it. What a command works on comes from the
bootstrap (:mod:`entrypoints.bootstrap`).

Every error is a clear message (Chinese first, or English with ``--lang en`` / ``CONSULT_LANG=en``)
and a non-zero exit, never a traceback (set ``CONSULT_DEBUG=1`` to see one).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any
from uuid import UUID

import click

from consult.actors import Actor, Role
from consult.adapters.followers import poll_option
from consult.bodies import JurisdictionKind, estate_id, jurisdiction_id
from consult.config import Config, sqlite_path
from consult.errors import ConsultError, NotFoundError
from consult.registers import roll_id
from consult.roll import HeadMergePolicy, HeadRules, read_roll_file
from consult.rollgen import DEFAULT_SEED, write_roll
from consult.text import checked_text
from consult.validation import invalid
from entrypoints.bootstrap import build_app, build_demo
from entrypoints.commands.account import account
from entrypoints.commands.audit import audit
from entrypoints.commands.base import (
    EXIT_INVALID,
    command_app,
    command_runtime,
    lang,
    report_errors,
    say,
    store_error,
)
from entrypoints.commands.progress import steps
from entrypoints.commands.projections import projections
from entrypoints.commands.serve import serve


class ConsultGroup(click.Group):
    """The ``consult`` command: a domain or store error that a subcommand of any package lets
    through (the store cannot be reached, say) is a message and exit 2, never a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except ConsultError as e:
            explained: ConsultError = e
        except Exception as e:
            store = store_error(e)
            if store is None:
                raise
            explained = store
        click.echo(say("错误：", "Error: ") + explained.message(lang()), err=True)
        sys.exit(EXIT_INVALID)


OPERATOR = Actor.of("operator", Role.OPERATOR, name="平台管理员 operator")


def existing_estate(app: Any, code: str) -> UUID:
    """The id of the estate the user named by ``code``; an error naming that code if none."""
    eid = estate_id(code.strip())
    if not app.exists(eid):
        raise invalid("estate", "estate", "no_estate_create", code=code)
    return eid


def refuse_existing(app: Any, kind: JurisdictionKind, code: str, option: str) -> None:
    """Creating a street or community that exists is refused by its code, with the way to use it."""
    if app.exists(jurisdiction_id(kind, code.strip())):
        name = ("街道", "street") if kind == JurisdictionKind.STREET else ("社区", "community")
        raise invalid(
            kind.value,
            f"{kind.value}_code",
            "exists_leave_out",
            kind=name,
            code=code,
            option=option,
        )


@click.group(cls=ConsultGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--lang",
    type=click.Choice(["zh", "en"]),
    default=None,
    help="Language of messages (default: CONSULT_LANG or zh).",
)
@click.version_option(package_name="consult")
def main(lang: str | None) -> None:
    """城乡社区协商平台 · Community consultation platform."""


@main.group()
def roll() -> None:
    """业主名册 · Owners' rolls."""


@roll.command("import")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--estate", "estate_code", required=True, help="Estate code (小区编号).")
@click.option(
    "--merge",
    type=click.Choice([p.value for p in HeadMergePolicy]),
    default=None,
    help="Head merge policy (default: identical owner sets merge).",
)
@click.option(
    "--parking-votes/--no-parking-votes",
    default=None,
    help="Whether parking spaces vote (default: no).",
)
@report_errors
def roll_import(
    file: Path, estate_code: str, merge: str | None, parking_votes: bool | None
) -> None:
    """Import FILE as the roll of an estate; nothing is stored if any row is bad."""
    with steps(say(f"导入名册 {file.name}", f"Importing {file.name}"), 3) as step:
        step(say("读取并检查每一行", "reading and checking every row"))
        units = read_roll_file(file)  # validates before touching the store
        runtime = command_runtime()
        app = runtime.app
        eid = existing_estate(app, estate_code)
        rules = None
        if merge is not None or parking_votes is not None:
            rules = HeadRules(
                merge=HeadMergePolicy(merge or HeadMergePolicy.IDENTICAL.value),
                parking_votes=bool(parking_votes),
            )
        step(say(f"保存 {len(units)} 个专有部分", f"storing {len(units)} units"))
        text = file.read_text(encoding="utf-8-sig")
        summary, _ = app.import_roll(eid, text, OPERATOR, source_name=file.name, head_rules=rules)
        assert summary.units == len(units)
        version = app.roll_version(eid)
        rules_now = app.roll(eid, version).head_rules
        step(say("更新读模型与审计链", "updating the views and the audit chain"))
        runtime.close()
    click.echo(
        say(
            f"已导入名册（第{version}版）：{file.name}",
            f"Roll imported (version {version}): {file.name}",
        )
    )
    click.echo(say(f"  专有部分：{summary.units}", f"  units:        {summary.units}"))
    click.echo(
        say(
            f"  参与表决的专有部分：{summary.voting_units}",
            f"  voting units: {summary.voting_units}",
        )
    )
    click.echo(say(f"  业主人数：{summary.heads}", f"  heads:        {summary.heads}"))
    click.echo(
        say(
            f"  专有部分总面积：{summary.total_area} m²", f"  total area:   {summary.total_area} m²"
        )
    )
    click.echo(
        say(
            f"  计数规则：{'所有人完全相同者合并为一人' if rules_now.merge == HeadMergePolicy.IDENTICAL else '所有人有重叠者合并为一人'}；"
            f"车位{'参与' if rules_now.parking_votes else '不参与'}表决",
            f"  counting: {'identical owner sets merge' if rules_now.merge == HeadMergePolicy.IDENTICAL else 'overlapping owner sets merge'}; "
            f"parking {'votes' if rules_now.parking_votes else 'does not vote'}",
        )
    )


@roll.command("generate")
@click.argument("out", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--units", type=click.IntRange(1, 1_000_000), required=True, help="Number of units.")
@click.option(
    "--seed", type=int, default=DEFAULT_SEED, show_default=True, help="Same seed, same roll."
)
@click.option(
    "--estate", "estate_code", default="E1", show_default=True, help="Estate code in unit ids."
)
@report_errors
def roll_generate(out: Path, units: int, seed: int, estate_code: str) -> None:
    """Write a synthetic roll of UNITS units to OUT (for trials and benchmarks; no real person)."""
    folder = out.resolve().parent
    if not folder.is_dir():
        raise invalid("out", "output_file", "no_folder", folder=str(folder))
    write_roll(out, units, seed, estate_code.strip() or "E1")
    click.echo(
        say(
            f"已生成名册 {out}：{units} 个专有部分（种子 {seed}）",
            f"Roll written to {out}: {units} units (seed {seed})",
        )
    )


@roll.command("show")
@click.option("--estate", "estate_code", required=True)
@click.option("--version", type=click.IntRange(min=1), default=None)
@report_errors
def roll_show(estate_code: str, version: int | None) -> None:
    """Print the roll's summary at a version (default: the latest)."""
    app = build_app()
    click.get_current_context().call_on_close(app.close)
    eid = existing_estate(app, estate_code)
    if not app.exists(roll_id(eid)):
        raise invalid("estate", "roll", "no_roll_yet", code=estate_code)
    latest = app.roll_version(eid)
    if version is not None and version > latest:
        raise invalid(
            "version",
            "version",
            "no_roll_version",
            code=estate_code,
            version=version,
            latest=latest,
        )
    summary = app.roll_summary(eid, version)
    for key, value in summary.to_dict().items():
        click.echo(f"{key}: {value}")


@main.group()
def estate() -> None:
    """街道、社区与小区 · Streets, communities and estates."""


@estate.command("create")
@click.argument("code")
@click.option("--name", required=True)
@click.option("--community", "community_code", required=True)
@click.option("--community-name", default=None, help="Create the community too, with this name.")
@click.option(
    "--street", "street_code", default=None, help="Street code (needed to create the community)."
)
@click.option("--street-name", default=None, help="Create the street too, with this name.")
@report_errors
def estate_create(
    code: str,
    name: str,
    community_code: str,
    community_name: str | None,
    street_code: str | None,
    street_name: str | None,
) -> None:
    """Create an estate (and its street and community when names are given)."""
    name = checked_text(name, "name", "小区名称", "estate name")
    if community_name is not None:
        community_name = checked_text(
            community_name, "community_name", "社区名称", "community name"
        )
    if street_name is not None:
        street_name = checked_text(street_name, "street_name", "街道名称", "street name")
    app = command_app()
    if app.exists(estate_id(code.strip())):
        raise invalid("code", "estate_code", "exists", value=(f"小区 {code}", f"estate {code}"))
    if street_name:
        if not street_code:
            raise invalid("street", "street_code", "give_street")
        refuse_existing(app, JurisdictionKind.STREET, street_code, "--street-name")
        app.create_street(street_code, street_name, OPERATOR)
    if community_name:
        if not street_code:
            raise invalid("street", "street_code", "community_needs_street")
        refuse_existing(app, JurisdictionKind.COMMUNITY, community_code, "--community-name")
        app.create_community(community_code, community_name, street_code, OPERATOR)
    elif not app.exists(jurisdiction_id(JurisdictionKind.COMMUNITY, community_code.strip())):
        raise NotFoundError(
            field="community", kind="社区", kind_en="community", ident=community_code
        )
    eid = app.create_estate(code, name, community_code, OPERATOR)
    click.echo(say(f"已创建小区 {code}（{eid}）", f"Estate {code} created ({eid})"))


@main.command()
@report_errors
def deadlines() -> None:
    """Lapse expired motions and escalate unanswered tabled topics to the street."""
    app = command_app()
    done = app.process_deadlines()
    click.echo(
        say(
            f"失效动议：{len(done['lapsed'])}；报街道：{len(done['escalated'])}",
            f"lapsed motions: {len(done['lapsed'])}; escalated to the street: {len(done['escalated'])}",
        )
    )


@main.command()
@click.option("--fresh", is_flag=True, help="Delete the existing embedded database first.")
@report_errors
def demo(fresh: bool) -> None:
    """Create a demo street, community and estate (from the packaged demo roll) with cases in every stage."""
    config = Config.from_env()
    if fresh and config.backend == "sqlite":
        for suffix in ("", "-wal", "-shm"):
            Path(sqlite_path(config.database_url) + suffix).unlink(missing_ok=True)
    summary = build_demo(config)
    for line in summary.lines(lang()):
        click.echo(line)


@main.command()
@poll_option
@click.option("--projections/--no-projections", default=True, help="Keep the views up to date.")
@click.option("--audit/--no-audit", default=True, help="Keep the audit hash chain up to date.")
@click.option("--verbose", is_flag=True, help="Print every committed section and chain batch.")
@click.option(
    "--parent", type=int, default=None, hidden=True, help="Stop when this process is gone."
)
@report_errors
def follow(poll: float, projections: bool, audit: bool, verbose: bool, parent: int | None) -> None:
    """跟随事件日志 · Follow the log in this process: keep the views and the audit chain up to date
    (for CONSULT_FOLLOWERS=external); stops cleanly on SIGTERM or Ctrl-C."""
    import threading

    from consult.adapters.followers import stop_on_signals, watch_parent
    from entrypoints.bootstrap import follow as run_followers

    stop = threading.Event()
    stop_on_signals(stop)
    if parent is not None:
        watch_parent(stop, parent)

    def ready(runtime: Any) -> None:
        how = (
            say("数据库通知", "database notifications")
            if runtime.config.backend == "postgresql"
            else say(f"每 {poll} 秒查看一次", f"polling every {poll} s")
        )
        at = runtime.projector.position() if runtime.projector is not None else "-"
        click.echo(
            say(
                f"跟随事件日志（{how}）：读模型位于第 {at} 位",
                f"following the log ({how}): views at position {at}",
            ),
            err=True,
        )

    def section(position: int, _target: int) -> None:
        click.echo(f"position {position}", err=True)

    def chained(position: int) -> None:
        click.echo(f"chained {position}", err=True)

    run_followers(
        stop=stop,
        projections=projections,
        audit=audit,
        poll=poll,
        on_section=section if verbose else None,
        on_chained=chained if verbose else None,
        ready=ready,
    )
    click.echo(say("跟随进程已停止", "follower stopped"), err=True)


for command in (projections, audit, serve, account):  # the subcommands of the other areas
    main.add_command(command)


if __name__ == "__main__":  # pragma: no cover
    main()
