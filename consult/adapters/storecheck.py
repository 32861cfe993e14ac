"""What is wrong with the store's address, said before anything waits on it.

:func:`connect_postgres` opens one connection with a short timeout before the application builds
its connection pools (whose own wait is 30 s, after which they say only that no connection came):
a host that is not found, a port where nothing listens, a server that does not answer, a database
that does not exist, or a login the server refuses each become a
:class:`~consult.errors.StoreUnavailableError` that names it, in Chinese and English.

:func:`consult.config.sqlite_folder` refuses a SQLite file whose folder does not exist.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from consult.errors import StoreUnavailableError

if TYPE_CHECKING:
    import psycopg

#: Seconds PostgreSQL has to answer the first connection before we say that it does not.
CONNECT_TIMEOUT = 4

_HOST_NOT_FOUND = re.compile(
    r"failed to resolve host|could not translate host name|Name or service not known|"
    r"nodename nor servname|No address associated with hostname|Temporary failure in name",
    re.IGNORECASE,
)
_REFUSED = re.compile(r"Connection refused|No such file or directory", re.IGNORECASE)
_TIMEOUT = re.compile(r"timeout expired|timed out", re.IGNORECASE)
_NO_DATABASE = re.compile(r'database "[^"]*" does not exist', re.IGNORECASE)
_LOGIN = re.compile(
    r"password authentication failed|authentication failed|role \"[^\"]*\" does not exist|"
    r"no pg_hba\.conf entry|no password supplied|password is required|fe_sendauth",
    re.IGNORECASE,
)
_SERVER_SAYS = re.compile(r"FATAL:\s*(.*)", re.DOTALL)


def connect_postgres(params: Mapping[str, str], timeout: int = CONNECT_TIMEOUT) -> Any:
    """An autocommit connection with libpq ``params`` (host, port, dbname, user, password), or
    StoreUnavailableError saying why there is none, within about ``timeout`` seconds."""
    import psycopg
    from psycopg.conninfo import make_conninfo

    try:
        return psycopg.connect(make_conninfo(**params), autocommit=True, connect_timeout=timeout)
    except psycopg.Error as e:
        raise unavailable(params, e, timeout) from None


def unavailable(
    params: Mapping[str, str], error: psycopg.Error | str, timeout: int = CONNECT_TIMEOUT
) -> StoreUnavailableError:
    """The error for a failed connection: what is wrong, in words, with host, port, database and
    user (never the password)."""
    text = " ".join(str(error).split())
    host, port = params.get("host", ""), params.get("port", "")
    db, user = params.get("dbname", ""), params.get("user", "")
    where = f"{host}:{port}"
    said = _SERVER_SAYS.search(text)
    detail = said.group(1).strip() if said else text
    if _HOST_NOT_FOUND.search(text):
        zh = f"找不到数据库服务器“{host}”（主机名无法解析）"
        en = f"the database server '{host}' was not found (the host name does not resolve)"
    elif _NO_DATABASE.search(text):
        zh = f"服务器 {where} 上没有数据库“{db}”（请先创建它，或改正地址中的数据库名）"
        en = f"there is no database '{db}' on the server {where} (create it, or correct the name)"
    elif _LOGIN.search(text):
        zh = f"服务器 {where} 拒绝了用户“{user}”的登录（用户名或密码不对，或未获准连接）：{detail}"
        en = (
            f"the server {where} refused the login of user '{user}' (wrong user name or "
            f"password, or not allowed to connect): {detail}"
        )
    elif _REFUSED.search(text):
        zh = f"{where} 拒绝连接：那里没有运行 PostgreSQL（服务器未启动，或主机、端口不对）"
        en = (
            f"{where} refused the connection: no PostgreSQL server runs there (not started, "
            "or the wrong host or port)"
        )
    elif _TIMEOUT.search(text):
        zh = f"{where} 在 {timeout} 秒内没有应答（主机不可达、防火墙，或服务器过忙）"
        en = (
            f"{where} did not answer within {timeout} s (host unreachable, a firewall, "
            "or the server overloaded)"
        )
    else:
        zh = f"无法连接 {where} 上的数据库“{db}”：{detail}"
        en = f"cannot connect to the database '{db}' on {where}: {detail}"
    return StoreUnavailableError(field="CONSULT_DATABASE_URL", reason=zh, reason_en=en)


_CONNECT_FAILED = re.compile(r"^(connection failed|failed to resolve host)", re.IGNORECASE)


def connection_error(
    error: BaseException, params: Mapping[str, str]
) -> StoreUnavailableError | None:
    """What is wrong with the store, when ``error`` (or the error behind it: SQLAlchemy's
    ``orig``, an exception's cause) is a PostgreSQL connection that failed; else None."""
    import psycopg

    seen: BaseException | None = error
    for _ in range(5):
        if seen is None:
            return None
        if isinstance(seen, psycopg.OperationalError) and _CONNECT_FAILED.search(str(seen)):
            return unavailable(params, seen)
        seen = getattr(seen, "orig", None) or seen.__cause__
    return None
