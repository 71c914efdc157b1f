-- migration 10 (PostgreSQL): functions the tools' SQL names as SQLite
-- has them.
--
-- crm_dec(value, table, column, id) opens a sealed cell. Field encryption
-- is SQLite's only in this version: the tools refuse a PostgreSQL
-- database that holds sealed cells (crm_store_sealed), so here every cell
-- is plain and crm_dec gives it back as it is.
CREATE FUNCTION crm_dec(v text, tbl text, col text, id text) RETURNS text
	LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT v $$;

-- glob(pattern, s): SQLite's GLOB, case-sensitive: * any run, ? one
-- character, [...] a class (as in a regular expression); the rest
-- literal.
CREATE FUNCTION glob(pat text, s text) RETURNS boolean
	LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
	SELECT s ~ ('^' || replace(replace(regexp_replace(pat, '([.+(){}^$|\\])', '\\\1', 'g'),
	                                   '*', '.*'), '?', '.') || '$')
$$;
