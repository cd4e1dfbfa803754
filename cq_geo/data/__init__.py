"""Data: the user's store of perimeters (GeoPackage ``store``, shared PostGIS ``pgstore``), the official
sources and their imports (``sources``), and the territory files written for any intercommunality
(``territory_init``). Above :mod:`cq_geo.geo`; below the faces (cli, bulk, maps)."""
