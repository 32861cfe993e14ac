"""Adapters: what the application needs of infrastructure, behind small interfaces.

The event store's recorders (:mod:`.eventstore`), the group committer (:mod:`.committer`), the
SQLite write lock (:mod:`.writelock`), the named reads of the event log (:mod:`.eventlog`), the
store's connection check (:mod:`.storecheck`) and the followers that keep views and the audit
chain up to date in their own process (:mod:`.followers`). The domain imports none of them.
"""
