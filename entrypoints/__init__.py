"""The entry points above the three packages: the bootstrap that builds everything
(:mod:`entrypoints.bootstrap`), the ``consult`` command line (:mod:`entrypoints.cli`) and the WSGI
entry point for gunicorn (:mod:`entrypoints.wsgi`). Nothing below imports this package."""
