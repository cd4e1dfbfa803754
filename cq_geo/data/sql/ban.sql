-- cq-geo shared store: the offline geocoder's BAN address index (run by init-shared, idempotent).
-- Placeholders: @S@ schema, @R@ readers' role, @E@ editors' role.
-- Same tables and columns as the local index (cq_geo/geocode/ban_index.py); replaced whole, in one
-- transaction, by `cq-geo data import ban FICHIER --store URL` (DELETE + COPY under the writers' lock:
-- readers keep the previous index until the commit). No history trigger: the index is not a layer.

CREATE TABLE IF NOT EXISTS @S@.cq_ban_streets (
    street_id integer PRIMARY KEY, name text NOT NULL, key text NOT NULL, kind text NOT NULL,
    code_insee text NOT NULL, nom_commune text NOT NULL, code_postal text,
    code_insee_ancienne text, nom_ancienne text,
    lon double precision NOT NULL, lat double precision NOT NULL,
    lon_min double precision, lat_min double precision, lon_max double precision, lat_max double precision,
    n integer NOT NULL);
CREATE TABLE IF NOT EXISTS @S@.cq_ban_numbers (
    street_id integer NOT NULL, numero integer NOT NULL, rep text NOT NULL,
    lon double precision NOT NULL, lat double precision NOT NULL);
CREATE INDEX IF NOT EXISTS cq_ban_numbers_street ON @S@.cq_ban_numbers (street_id);
-- provenance: source file, sha256, counts, import date (values as text, JSON for lists and numbers)
CREATE TABLE IF NOT EXISTS @S@.cq_ban_meta (key text PRIMARY KEY, value text);

GRANT SELECT ON @S@.cq_ban_streets, @S@.cq_ban_numbers, @S@.cq_ban_meta TO @R@;
REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON @S@.cq_ban_streets, @S@.cq_ban_numbers, @S@.cq_ban_meta FROM @R@;
GRANT INSERT, DELETE ON @S@.cq_ban_streets, @S@.cq_ban_numbers, @S@.cq_ban_meta TO @E@;
