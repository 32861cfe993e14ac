"""The operator command: clear messages and exit codes, never a traceback."""

from __future__ import annotations

import contextlib
import os
import pty
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
from click.testing import CliRunner, Result

from entrypoints.cli import main
from tests.conftest import PACKAGED_DEMO_ROLL, PostgresServer, free_port
from tests.unit.test_roll import independent_counts

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, store_url: str):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("CONSULT_INSTANCE_PATH", str(tmp_path / "instance"))
    monkeypatch.setenv("CONSULT_DATABASE_URL", store_url)
    runner = CliRunner()

    def invoke(*args: str):  # type: ignore[no-untyped-def]
        return runner.invoke(main, list(args), catch_exceptions=False)

    return invoke


def make_estate(run) -> None:  # type: ignore[no-untyped-def]
    result = run(
        "estate",
        "create",
        "E1",
        "--name",
        "小区一",
        "--community",
        "C1",
        "--community-name",
        "社区一",
        "--street",
        "S1",
        "--street-name",
        "街道一",
    )
    assert result.exit_code == 0, result.output


def test_roll_import_prints_units_heads_and_exact_area(run, roll_file) -> None:  # type: ignore[no-untyped-def]
    make_estate(run)
    path = roll_file("roll-1200.csv")
    units, heads, area = independent_counts(path, parking_votes=False)
    result = run("--lang", "en", "roll", "import", str(path), "--estate", "E1")
    assert result.exit_code == 0, result.output
    assert f"units:        {units}" in result.output
    assert f"heads:        {heads}" in result.output
    assert f"total area:   {area} m²" in result.output
    # The roll is versioned: re-importing with parking voting adds two versions (units, rules);
    # every parking space is now a voting unit, and version 1 still reads as it was.
    again = run("roll", "import", str(path), "--estate", "E1", "--parking-votes")
    assert "第3版" in again.output and f"参与表决的专有部分：{units}" in again.output
    shown = run("roll", "show", "--estate", "E1", "--version", "1")
    assert f"heads: {heads}" in shown.output


def test_a_bad_roll_reports_every_row_and_imports_nothing(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    make_estate(run)
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "unit_id,building,entrance,room,kind,area_m2,area_source,owners,owner_kind\n"
        "U1,1,1,101,residential,-5,register,P1,person\n"
        "U1,1,1,102,house,abc,register,,person\n",
        encoding="utf-8",
    )
    result = run("roll", "import", str(bad), "--estate", "E1")
    assert result.exit_code == 2
    assert "名册有5处错误，未导入任何数据。" in result.output
    assert "第2行" in result.output and "第3行" in result.output
    shown = run("--lang", "en", "roll", "show", "--estate", "E1")
    assert shown.exit_code == 2 and "estate E1 has no roll yet" in shown.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("roll", "import", "missing.csv", "--estate", "E1"), "file"),
        (("roll", "import", str(PACKAGED_DEMO_ROLL), "--estate", "NOPE"), "NOPE"),
        (("estate", "create", "E2", "--name", "x", "--community", "NOPE"), "community"),
    ],
)
def test_errors_are_messages_with_a_non_zero_exit(run, args, message) -> None:  # type: ignore[no-untyped-def]
    make_estate(run)
    result = run("--lang", "en", *args)
    assert result.exit_code == 2
    assert "Traceback" not in result.output
    assert message in result.output


def test_an_unsupported_database_url_is_refused_clearly(
    run, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("CONSULT_DATABASE_URL", "mysql://localhost/x")
    result = run("--lang", "en", "roll", "show", "--estate", "E1")
    assert result.exit_code == 2
    assert "unsupported database URL" in result.output


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("nul a\x00b", "control characters"),
        ("小区\u202e二", "text direction"),
        ("两\n行", "one line"),
        ("长" * 201, "at most 200"),
    ],
)
def test_free_text_on_the_command_line_is_checked_as_on_the_web(run, name, reason) -> None:  # type: ignore[no-untyped-def]
    make_estate(run)
    result = run("--lang", "en", "estate", "create", "E2", "--name", name, "--community", "C1")
    assert result.exit_code == 2 and "estate name" in result.output and reason in result.output
    assert "Traceback" not in result.output
    # nothing was created: the code is still free
    again = run("estate", "create", "E2", "--name", "小区二", "--community", "C1")
    assert again.exit_code == 0, again.output


# --- naming what the user typed, never an internal id -------------------------------------------

UUID_TEXT = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


@pytest.mark.parametrize(
    ("lang", "says"),
    [("en", "estate NOPE does not exist"), ("zh", "小区 NOPE 不存在")],
)
def test_roll_show_of_an_unknown_estate_names_its_code(run, lang: str, says: str) -> None:  # type: ignore[no-untyped-def]
    result = run("--lang", lang, "roll", "show", "--estate", "NOPE")
    assert result.exit_code == 2
    assert says in result.output and not UUID_TEXT.search(result.output)


def test_roll_show_names_a_missing_roll_and_a_missing_version(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    make_estate(run)
    none = run("roll", "show", "--estate", "E1")
    assert none.exit_code == 2 and "小区 E1 还没有名册" in none.output
    assert run("roll", "import", str(PACKAGED_DEMO_ROLL), "--estate", "E1").exit_code == 0
    missing = run("--lang", "en", "roll", "show", "--estate", "E1", "--version", "3")
    assert missing.exit_code == 2
    assert "has no version 3 (the latest is 1)" in missing.output
    for result in (none, missing):
        assert not UUID_TEXT.search(result.output)


@pytest.mark.parametrize(
    ("lang", "says"),
    [("en", "estate E1 already exists"), ("zh", "小区 E1 已存在")],
)
def test_creating_an_estate_twice_names_the_estate(run, lang: str, says: str) -> None:  # type: ignore[no-untyped-def]
    make_estate(run)
    again = run(
        "--lang", lang, "estate", "create", "E1", "--name", "小区一",
        "--community", "C1", "--community-name", "社区一", "--street", "S1", "--street-name", "街道一",
    )  # fmt: skip
    assert again.exit_code == 2
    assert says in again.output and "S1" not in again.output


def test_a_street_or_community_that_exists_is_named_with_the_way_to_use_it(run) -> None:  # type: ignore[no-untyped-def]
    make_estate(run)
    street = run(
        "--lang", "en", "estate", "create", "E2", "--name", "小区二",
        "--community", "C2", "--community-name", "社区二", "--street", "S1", "--street-name", "街道一",
    )  # fmt: skip
    assert street.exit_code == 2
    assert "street S1 already exists; leave out --street-name to use it" in street.output
    created = run(
        "estate", "create", "E2", "--name", "小区二",
        "--community", "C2", "--community-name", "社区二", "--street", "S1",
    )  # fmt: skip
    assert created.exit_code == 0, created.output
    unknown = run("--lang", "en", "estate", "create", "E3", "--name", "x", "--community", "C9")
    assert unknown.exit_code == 2
    assert "No such community: C9" in unknown.output and not UUID_TEXT.search(unknown.output)


# --- the store named by CONSULT_DATABASE_URL ------------------------------------------------------


def cli(env: dict[str, str], *args: str) -> tuple[Result, float]:
    """Run ``consult`` with ``env``; its result and how long it took."""
    started = time.monotonic()
    result = CliRunner().invoke(main, list(args), env=env)
    return result, time.monotonic() - started


def assert_clear(result: Result, seconds: float, *says: str) -> None:
    assert result.exit_code == 2, result.output
    assert seconds < 5, seconds
    assert "Traceback" not in result.output and "Internal error" not in result.output
    for text in says:
        assert text in result.output
    assert "couldn't get a connection" not in result.output


@contextlib.contextmanager
def silent_server() -> Iterator[int]:
    """A port where something accepts TCP connections and never answers."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        yield int(listener.getsockname()[1])


@pytest.mark.parametrize(
    ("command", "runs"),
    [
        (("roll", "show", "--estate", "E1"), "roll show"),
        (("serve", "--port", "0"), "serve"),
        (("projections", "status"), "projections status"),
        (("account", "list"), "account list"),
    ],
    ids=lambda v: v if isinstance(v, str) else None,
)
def test_an_unknown_host_or_a_refused_port_is_named_at_once(
    command: tuple[str, ...], runs: str, tmp_path: Path
) -> None:
    env = {"CONSULT_INSTANCE_PATH": str(tmp_path)}
    port = free_port()
    if "serve" in command:
        command = ("serve", "--port", str(free_port()))
    result, seconds = cli(
        {**env, "CONSULT_DATABASE_URL": "postgresql://postgres@nohost.invalid/x"},
        "--lang", "en", *command,
    )  # fmt: skip
    assert_clear(result, seconds, "the database server 'nohost.invalid' was not found")
    result, seconds = cli(
        {**env, "CONSULT_DATABASE_URL": f"postgresql://postgres@127.0.0.1:{port}/x"},
        *command,
    )
    assert_clear(result, seconds, f"127.0.0.1:{port} 拒绝连接", "PostgreSQL")
    assert "Serving on" not in result.output


@pytest.mark.slow
def test_a_server_that_does_not_answer_is_named_within_five_seconds(tmp_path: Path) -> None:
    with silent_server() as port:
        url = f"postgresql://postgres@127.0.0.1:{port}/x"
        env = {"CONSULT_INSTANCE_PATH": str(tmp_path), "CONSULT_DATABASE_URL": url}
        result, seconds = cli(env, "--lang", "en", "deadlines")
    assert_clear(result, seconds, f"127.0.0.1:{port} did not answer within 4 s")


@pytest.mark.postgres
@pytest.mark.parametrize("lang", ["en", "zh"])
def test_a_missing_database_or_a_refused_login_is_named(
    postgres_server: PostgresServer, tmp_path: Path, lang: str
) -> None:
    server = urlsplit(postgres_server.admin_url)
    missing = urlunsplit(server._replace(path="/consult_no_such_database"))
    stranger = urlunsplit(
        server._replace(netloc=f"no_such_role:pw@{server.hostname}:{server.port or 5432}")
    )
    env = {"CONSULT_INSTANCE_PATH": str(tmp_path)}
    where = f"{server.hostname}:{server.port or 5432}"
    says = {
        "en": (
            f"there is no database 'consult_no_such_database' on the server {where}",
            f"the server {where} refused the login of user 'no_such_role'",
        ),
        "zh": (
            f"服务器 {where} 上没有数据库“consult_no_such_database”",
            f"服务器 {where} 拒绝了用户“no_such_role”的登录",
        ),
    }[lang]
    for url, said in zip((missing, stranger), says, strict=True):
        result, seconds = cli({**env, "CONSULT_DATABASE_URL": url}, "--lang", lang, "demo")
        assert_clear(result, seconds, said)
        assert "pw" not in result.output.replace("password", "")


@pytest.mark.parametrize(("lang", "says"), [("en", "does not exist"), ("zh", "不存在")])
def test_a_sqlite_file_in_a_missing_folder_is_refused_with_its_absolute_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, lang: str, says: str
) -> None:
    monkeypatch.chdir(tmp_path)
    env = {"CONSULT_DATABASE_URL": "sqlite:///x/y", "CONSULT_INSTANCE_PATH": str(tmp_path / "i")}
    result, _ = cli(
        env, "--lang", lang, "estate", "create", "E1", "--name", "n", "--community", "C"
    )
    assert result.exit_code == 2, result.output
    assert str(tmp_path / "x" / "y") in result.output and says in result.output
    assert f"mkdir -p {tmp_path / 'x'}" in result.output
    assert not (tmp_path / "x").exists()
    (tmp_path / "x").mkdir()
    result, _ = cli(env, "demo")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "x" / "y").is_file()


def test_the_default_database_goes_in_the_instance_folder_made_for_it(tmp_path: Path) -> None:
    instance = tmp_path / "new" / "instance"
    result, _ = cli({"CONSULT_INSTANCE_PATH": str(instance), "CONSULT_DATABASE_URL": ""}, "demo")
    assert result.exit_code == 0, result.output
    assert (instance / "consult.sqlite3").is_file()


# --- progress on a terminal, quiet in scripts -----------------------------------------------------


def consult_process(env: dict[str, str], *args: str, stderr_tty: bool) -> tuple[str, str]:
    """Run ``consult`` as its own process, its standard error a terminal (a pseudo-terminal) or a
    pipe; what it wrote to standard output and to standard error."""
    command = [sys.executable, "-m", "entrypoints.cli", *args]
    full_env = {**os.environ, **env, "PYTHONPATH": str(ROOT)}
    if not stderr_tty:
        done = subprocess.run(command, env=full_env, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        return done.stdout, done.stderr
    master, slave = pty.openpty()
    chunks: list[bytes] = []

    def drain() -> None:
        while True:
            try:
                chunk = os.read(master, 4096)
            except OSError:  # EIO: every copy of the terminal's other end is closed
                return
            if not chunk:
                return
            chunks.append(chunk)

    reader = threading.Thread(target=drain)
    reader.start()
    try:
        done = subprocess.run(
            command, env=full_env, stdout=subprocess.PIPE, stderr=slave, text=True, timeout=120
        )
    finally:
        os.close(slave)
        reader.join(10)
        os.close(master)
    assert done.returncode == 0, b"".join(chunks)
    return done.stdout, b"".join(chunks).decode("utf-8", "replace")


def test_a_roll_import_shows_its_progress_on_a_terminal_only(
    store_url: str, tmp_path: Path, roll_file
) -> None:  # type: ignore[no-untyped-def]
    env = {"CONSULT_DATABASE_URL": store_url, "CONSULT_INSTANCE_PATH": str(tmp_path)}
    created = CliRunner().invoke(
        main,
        ["estate", "create", "E1", "--name", "n", "--community", "C1", "--community-name", "c",
         "--street", "S1", "--street-name", "s"],
        env=env,
    )  # fmt: skip
    assert created.exit_code == 0, created.output
    path = str(roll_file("roll-1200.csv"))
    out, err = consult_process(
        env, "--lang", "en", "roll", "import", path, "--estate", "E1", stderr_tty=True
    )
    for shown in ("Importing roll-1200.csv", "reading and checking every row", "storing 1200 units",
                  "updating the views and the audit chain", "3/3"):  # fmt: skip
        assert shown in err, err
    assert "units:        1200" in out and "Importing" not in out
    out, err = consult_process(env, "roll", "import", path, "--estate", "E1", stderr_tty=False)
    assert "已导入名册（第2版）" in out
    assert err == ""
