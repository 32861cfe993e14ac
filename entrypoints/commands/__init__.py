"""The subcommands of ``consult`` by area (accounts, audit, projections, serve); they get what
they work on from the bootstrap (:mod:`entrypoints.bootstrap`)."""
