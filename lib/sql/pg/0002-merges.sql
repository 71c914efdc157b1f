-- migration 2 (PostgreSQL): merges with undo, and the review queue of
-- uncertain pairs (lib/sql/0002-merges.sql)
CREATE TABLE merges (
	id text PRIMARY KEY,
	entity text NOT NULL,
	survivor_id text NOT NULL,
	merged_id text NOT NULL,
	probability double precision,
	weight double precision,
	reason text NOT NULL DEFAULT 'auto' CHECK (reason IN ('auto', 'review', 'manual')),
	decisions json NOT NULL,
	snapshot json NOT NULL,
	status text NOT NULL DEFAULT 'merged' CHECK (status IN ('merged', 'undone')),
	created_at text NOT NULL,
	undone_at text
);
CREATE INDEX merges_survivor ON merges(survivor_id, status);
CREATE INDEX merges_merged ON merges(merged_id, status);

CREATE TABLE match_reviews (
	id text PRIMARY KEY,
	entity text NOT NULL,
	a_id text NOT NULL,
	b_id text NOT NULL,
	probability double precision,
	weight double precision,
	fields json,
	status text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'accepted', 'rejected')),
	created_at text NOT NULL,
	decided_at text,
	UNIQUE (a_id, b_id)
);
CREATE INDEX match_reviews_status ON match_reviews(status, probability);
