-- migration 11 (PostgreSQL): sealed cells are opened in the tools, not in
-- SQL (row.h, crm_row_cell). crm_dec, which gave a cell back as it is
-- while no PostgreSQL database held sealed cells, would now hand out
-- ciphertext under a name that promises plain text: it goes.
DROP FUNCTION crm_dec(text, text, text, text);

-- hex(bytes): SQLite's, upper case, for checks written once for both
-- (a sealed transcript's body starts with the bytes of "enc:").
CREATE FUNCTION hex(b bytea) RETURNS text
	LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT upper(encode(b, 'hex')) $$;
