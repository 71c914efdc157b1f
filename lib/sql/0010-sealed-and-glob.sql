-- Functions the tools' SQL names on both backends that SQLite has built
-- in or defines in C: crm_dec(value, table, column, id), which opens a
-- sealed cell (lib/crypt.c), and glob(pattern, text). PostgreSQL gets
-- them in its migration 10 (lib/sql/pg/0010-sealed-and-glob.sql).
-- Nothing changes in an SQLite file but its version.
SELECT 1;
