"""The read side: SQL views of the event store, updated exactly once, rebuildable from zero.

Wiring (the composition root does this)::

    store = open_store(database_url)            # same database as the event store
    projector = attach(app, Projector(app, store))   # embedded default: after every command
    queries = Queries(store, app)

or run ``consult projections run`` beside the web processes and leave ``attach`` out.
"""

from __future__ import annotations

from projections.db import ViewStore, open_store
from projections.errors import ProjectionError, ProjectionTimeoutError
from projections.projector import Projector, attach
from projections.queries import Queries

__all__ = [
    "ProjectionError",
    "ProjectionTimeoutError",
    "Projector",
    "Queries",
    "ViewStore",
    "attach",
    "open_store",
]
