-- migration 10 (PostgreSQL): crm_dec(value, table, column, id), which the
-- tools' SQL names around a personal field to open a sealed cell. Field
-- encryption is SQLite's only in this version: the tools refuse a
-- PostgreSQL database that holds sealed cells (crm_store_sealed), so here
-- every cell is plain and crm_dec gives it back as it is.
CREATE FUNCTION crm_dec(v text, tbl text, col text, id text) RETURNS text
	LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT v $$;
