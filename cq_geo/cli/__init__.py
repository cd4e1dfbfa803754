"""The ``cq-geo`` command: :func:`cq_geo.cli.main.main` and one module per command group."""
