-- Sealed cells are opened in the tools, not in SQL (row.h, crm_row_cell),
-- on both backends: PostgreSQL's stand-in for crm_dec goes
-- (lib/sql/pg/0011-no-sql-decrypt.sql). Nothing changes in an SQLite
-- file but its version.
SELECT 1;
