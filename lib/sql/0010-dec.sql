-- crm_dec(value, table, column, id), which the tools' SQL names around a
-- personal field, opens a sealed cell. SQLite's connections define it in C
-- (lib/crypt.c); PostgreSQL gets it in its migration 10
-- (lib/sql/pg/0010-dec.sql). Nothing changes in an SQLite file but its
-- version.
SELECT 1;
