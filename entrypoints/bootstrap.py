"""The bootstrap: the one place where the application, the projector, the queries, the audit
chain and the web's services are built, from the settings (:mod:`consult.config`).

The command line (:mod:`entrypoints.cli`), the WSGI entry point (:mod:`entrypoints.wsgi`), the
benchmarks and the tests' fixtures call it; nothing else builds those objects.

- :func:`build_app`: the application on the store a URL names;
- :func:`build_runtime`: the application with its read side and audit chain, as
  ``CONSULT_FOLLOWERS`` says (:class:`Runtime`);
- :func:`build_web`: the Flask application, handed the services built here;
- :func:`follow`: the followers of ``consult follow``; :func:`build_demo`: ``consult demo``.
"""

from __future__ import annotations

import atexit
import logging
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from consult.adapters.followers import DEFAULT_POLL, LINGER, run_followers
from consult.adapters.storecheck import connect_postgres
from consult.application import ConsultationApp
from consult.audit import open_store as open_audit_store
from consult.audit.chain import ChainFollower, attach_configured, chain_follower
from consult.audit.keys import key_path, load_signer
from consult.audit.store import AuditStore
from consult.clock import Clock, SystemClock
from consult.config import (
    EMBEDDED,
    EXTERNAL,
    Config,
    backend_of,
    eventsourcing_env,
    followers_mode,
    postgres_params,
)
from consult.demo import DemoSummary, demo_clock, populate
from consult.errors import ConsultError, SettingError
from projections import Projector, Queries, open_store
from projections import attach as attach_projector
from projections.queries.pages import PageReads

if TYPE_CHECKING:  # the web is imported where it is built: a follower or rebuild runs without it
    from flask import Flask

    from webapp.accounts import AccountStore

logger = logging.getLogger(__name__)


def build_app(url: str | None = None, clock: Clock | None = None) -> ConsultationApp:
    """Build the consultation application on the configured store."""
    database_url = url or Config.from_env().database_url
    settings = eventsourcing_env(database_url)
    # eventsourcing reads "CONSULT_<KEY>" before "<KEY>": set both, so that no stray variable in
    # the environment can send the events to another store than the URL names.
    prefix = ConsultationApp.name.upper() + "_"
    env = {**ConsultationApp.env, **settings, **{prefix + k: v for k, v in settings.items()}}
    with _schema_lock(database_url):
        return ConsultationApp(env=env, clock=clock)


#: pg_advisory_lock key held while an application creates its tables and functions
SCHEMA_LOCK = 0x636F6E7301


@contextmanager
def _schema_lock(url: str) -> Iterator[None]:
    """On PostgreSQL, one process at a time creates the store's tables and functions (several
    web workers and followers starting at once would otherwise fail with "tuple concurrently
    updated" on ``CREATE OR REPLACE FUNCTION``).

    Its connection is also the store's probe: without one, StoreUnavailableError says why within
    a few seconds (consult.adapters.storecheck), before the pools are built (they would wait 30 s)."""
    if backend_of(url) != "postgresql":
        yield
        return
    conn = connect_postgres(postgres_params(url))
    with conn:
        conn.execute("SELECT pg_advisory_lock(%s)", (SCHEMA_LOCK,))
        yield


class Runtime:
    """The application and what keeps its read side and audit chain up to date in one process.

    Built by :func:`build_runtime`; :meth:`close` stops the background threads, chains what is
    left (embedded mode) and disposes the engines. Also a context manager.
    """

    def __init__(
        self,
        config: Config,
        app: ConsultationApp,
        followers: str,
        projector: Projector | None,
        queries: Queries | None,
        chain: ChainFollower | None,
        owns_app: bool = False,
        owns_projector: bool = False,
        catch_up_on_close: bool = False,
    ) -> None:
        self.config = config
        self.app = app
        self.followers = followers
        self.projector = projector
        self.queries = queries
        #: the audit chain follower kept in this process (embedded mode), else None
        self.chain = chain
        self._owns_app = owns_app
        self._owns_projector = owns_projector
        self._catch_up_on_close = catch_up_on_close
        self._closed = False
        self._close_lock = threading.Lock()

    def wait(self, position: int, timeout: float | None = None) -> bool:
        """Read-your-writes: wait until the projections have applied the log up to ``position``
        (at most ``timeout`` seconds, by default ``config.read_wait``). False when they have not
        got there in time: the caller must say that what it shows may be behind.

        It looks at the views' tracking positions every few milliseconds (a one-row read), so
        that a page waits for the follower's commit, not for a slow poll; not at all while a view
        is stalled (``projections.faults``)."""
        if self.projector is None or position <= 0:
            return True
        limit = self.config.read_wait if timeout is None else timeout
        deadline = time.monotonic() + limit
        delay = 0.001
        looked = False
        while True:
            reached = self.projector.position()
            if reached >= position:
                return True
            if not looked:  # a stalled view will not get there: no use waiting for it
                looked = True
                if self.projector.faults():
                    return False
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                logger.warning(
                    "read side behind: at position %s, not %s after %s s", reached, position, limit
                )
                return False
            time.sleep(min(delay, remaining))
            delay = min(delay * 2, 0.01)

    def close(self) -> None:
        with self._close_lock:
            if self._closed:
                return
            self._closed = True
        if self._catch_up_on_close and self.projector is not None:
            try:
                self.projector.catch_up()
            except Exception:  # a follower or the next command catches up; closing must not fail
                logger.exception("projections: final catch-up failed")
        if self.chain is not None:
            if self.chain in self.app.listeners:
                self.app.listeners.remove(self.chain)
            self.chain.stop()
            try:
                self.chain.catch_up()  # what the stopped thread had not chained yet
            except Exception:  # the next follower chains it; closing must not fail
                logger.exception("audit chain: final catch-up failed")
            finally:
                self.chain.store.close()
        if self.projector is not None and self._owns_projector:
            self.projector.dispose()
        if self._owns_app:
            self.app.close()

    def __enter__(self) -> Runtime:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def build_runtime(
    config: Config | None = None,
    *,
    followers: str | None = None,
    clock: Clock | None = None,
    app: ConsultationApp | None = None,
    projections: bool = True,
    audit: bool = True,
    batch: bool = False,
) -> Runtime:
    """The composition root: the application on the configured store, with its read side.

    ``followers`` (default ``config.followers``): ``embedded`` attaches the projector (views
    updated after every save) and the audit chain follower (a background thread batching saves)
    to the application; ``external`` attaches neither: ``consult follow`` does that work in its
    own process, and this process only writes events and reads the views.

    ``batch`` (embedded, for commands that save many times: the CLI, the demo): the views and
    the chain are brought up to date once, when the runtime closes, not after every save.

    ``app`` wraps an application built elsewhere (tests); it is then not closed by
    :meth:`Runtime.close`. ``projections`` / ``audit`` = False leave that part out.
    """
    config = config or Config.from_env()
    mode = followers_mode(followers or config.followers)
    if mode == EXTERNAL and config.backend == "memory":
        raise SettingError(
            field="CONSULT_FOLLOWERS",
            reason="内存存储无法由其他进程跟随：external 模式须使用 SQLite 或 PostgreSQL",
            reason_en="an in-memory store cannot be followed by another process: external mode needs SQLite or PostgreSQL",
        )
    owns_app = app is None
    if app is None:
        app = build_app(config.database_url, clock)
    projector: Projector | None = None
    queries: Queries | None = None
    chain: ChainFollower | None = None
    made: Projector | None = None
    try:
        if projections:
            projector = getattr(app, "projector", None)
            if projector is None:
                projector = made = Projector(app, open_store(config.database_url))
                app.projector = projector  # type: ignore[attr-defined]
                if mode == EMBEDDED and not batch:
                    attach_projector(app, projector)
                    projector.catch_up()
            queries = Queries(projector.store, app)
        if audit and mode == EMBEDDED:
            chain = chain_follower(app, config) if batch else attach_configured(app, config)
    except BaseException:
        if made is not None:
            made.dispose()
        if owns_app:
            app.close()
        raise
    return Runtime(
        config,
        app,
        mode,
        projector,
        queries,
        chain,
        owns_app,
        made is not None,
        batch and mode == EMBEDDED,
    )


def command_chain(config: Config, store: AuditStore, signing: bool = True) -> ChainFollower:
    """The audit chain of ``consult audit``'s commands over ``store``: checkpoints only when a
    command signs one (with the instance's key when ``signing``), never on a schedule."""
    key_file = key_path(config.instance_path)
    return ChainFollower(
        store,
        (lambda: load_signer(key_file)) if signing else None,
        SystemClock(),
        checkpoint_every=None,
        checkpoint_interval=None,
    )


def build_web(
    test_config: Mapping[str, Any] | None = None,
    *,
    config: Config | None = None,
    consult: ConsultationApp | None = None,
    environ: Mapping[str, str] | None = None,
    runtime: Runtime | None = None,
) -> Flask:
    """The web application with its services: on ``runtime`` if given; else around ``consult``
    (an application a test built, without the audit chain, which such tests attach themselves);
    else on a runtime of its own, as configured, closed when the process exits."""
    config = config or Config.from_env(dict(environ) if environ is not None else None)
    from webapp import create_app
    from webapp.accounts import AccountStore
    from webapp.db import engine_for
    from webapp.limits import rate_limiter_for
    from webapp.services import WebServices
    from webapp.settings import WebSettings
    from webapp.signins import SignIns
    from webapp.tables import create_tables
    from webapp.voting_codes import VotingCodes

    settings = WebSettings.from_env(config, environ)
    if runtime is None:
        if consult is not None:
            runtime = build_runtime(config, app=consult, audit=False)
        else:
            runtime = build_runtime(config)
            atexit.register(runtime.close)  # a worker's exit stops the chain and chains the rest
    app = runtime.app
    assert runtime.projector is not None and runtime.queries is not None
    engine = engine_for(config.database_url)
    create_tables(engine)
    services = WebServices(
        config=config,
        settings=settings,
        runtime=runtime,
        reads=PageReads(app, runtime.queries, runtime.projector, _audit_store(app, config)),
        accounts=AccountStore(engine, settings.password_method),
        codes=VotingCodes(engine),
        limiter=rate_limiter_for(engine, settings),
        engine=engine,
        signins=SignIns(engine),
    )
    return create_app(services, test_config)


@contextmanager
def account_store(config: Config, password_method: str) -> Iterator[AccountStore]:
    """The web's accounts for ``consult account``, on the configured store (its tables made if
    missing); its engine is disposed at the end."""
    from webapp.accounts import AccountStore
    from webapp.db import engine_for
    from webapp.tables import create_tables

    engine = engine_for(config.database_url)
    try:
        create_tables(engine)
        yield AccountStore(engine, password_method)
    finally:
        engine.dispose()


def _audit_store(app: ConsultationApp, config: Config) -> Any:
    """The audit chain's store, for its status on the auditors' pages (None if it cannot be
    opened: the pages then say the status is unavailable)."""
    try:
        return open_audit_store(config.database_url, app)
    except ConsultError:
        logger.exception(
            "the audit store could not be opened; the chain's status will not be shown"
        )
        return None


def follow(
    config: Config | None = None,
    stop: threading.Event | None = None,
    *,
    projections: bool = True,
    audit: bool = True,
    poll: float = DEFAULT_POLL,
    on_section: Callable[[int, int], None] | None = None,
    on_chained: Callable[[int], None] | None = None,
    ready: Callable[[Runtime], None] | None = None,
    linger: float = LINGER,
) -> None:
    """``consult follow``: the followers (:func:`consult.adapters.followers.run_followers`) on a runtime
    that attaches nothing (this process is the follower), until ``stop`` is set."""
    with build_runtime(config, followers=EXTERNAL, projections=projections, audit=False) as runtime:
        run_followers(
            runtime,
            stop or threading.Event(),
            projections=projections,
            audit=audit,
            poll=poll,
            on_section=on_section,
            on_chained=on_chained,
            ready=ready,
            linger=linger,
        )


def build_demo(config: Config | None = None, app: ConsultationApp | None = None) -> DemoSummary:
    """``consult demo``: the demo's history through the application's commands (on the
    configured runtime, or on ``app``), and sign-in accounts for its people."""
    config = config or Config.from_env()
    clock = demo_clock()
    if app is None:  # views and audit chain as configured, brought up to date at the end
        with build_runtime(config, clock=clock, batch=True) as runtime:
            summary = populate(runtime.app, clock)
            app = runtime.app
    else:
        summary = populate(app, clock)
    app.clock = SystemClock()
    from webapp.demo_accounts import ensure_demo_accounts

    summary.credentials = ensure_demo_accounts(config, summary)
    return summary
