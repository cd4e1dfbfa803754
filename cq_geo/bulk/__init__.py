"""Files of rows checked at once (``cq-geo batch``): reading (``io``), the rules and the run (``run``),
the summary (``summary``), and the writers' helpers (``cells``, ``xlsx``).

The public entry points are :func:`cq_geo.batch` (a DataFrame) and :func:`cq_geo.bulk.run.batch_file`
(a file); the package is named ``bulk`` so that ``cq_geo.batch`` stays a plain function.
"""
