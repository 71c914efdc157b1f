-- migration 8 (PostgreSQL): why a pair waits for a person
-- (lib/sql/0008-owners.sql)
ALTER TABLE match_reviews ADD COLUMN reason text;
