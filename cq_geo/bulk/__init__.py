"""Files of rows checked at once (``cq-geo batch``).

``readers`` (CSV and XLSX in), ``places`` (coordinates read, addresses geocoded), ``rules``
(status and reason of each row), ``cache`` (the resume file of geocoded addresses), ``run``
(:func:`batch` on a DataFrame, :func:`batch_file` on a file), ``targets`` (which files a run
writes, and the checks before it starts), ``summary``, ``writers`` (CSV, XLSX, GeoPackage out),
``fastcsv`` (the byte-level CSV paths), ``files`` (atomic writes), and the helpers ``cells``,
``errors``, ``groups``, ``xlsx``.

The public entry points are :func:`cq_geo.batch` (a DataFrame) and :func:`cq_geo.bulk.run.batch_file`
(a file); the package is named ``bulk`` so that ``cq_geo.batch`` stays a plain function.
"""
