-- Functions the tools' SQL calls on both backends. SQLite has them built
-- in (json_patch); PostgreSQL gets them in its migration 9
-- (lib/sql/pg/0009-functions.sql). Nothing changes in an SQLite file but
-- its version.
SELECT 1;
