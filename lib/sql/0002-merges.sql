-- migration 2: merges with undo, and the review queue of uncertain pairs

-- One row per merge of two records: the pair, how sure, what was decided
-- per field, and a snapshot of both records and of the links that moved,
-- so that undo restores them exactly.
CREATE TABLE merges (
	id TEXT PRIMARY KEY,
	entity TEXT NOT NULL,
	survivor_id TEXT NOT NULL,
	merged_id TEXT NOT NULL,
	probability REAL,
	weight REAL,
	reason TEXT NOT NULL DEFAULT 'auto' CHECK (reason IN ('auto', 'review', 'manual')),
	decisions TEXT NOT NULL CHECK (json_valid(decisions)),
	snapshot TEXT NOT NULL CHECK (json_valid(snapshot)),
	status TEXT NOT NULL DEFAULT 'merged' CHECK (status IN ('merged', 'undone')),
	created_at TEXT NOT NULL,
	undone_at TEXT
);
CREATE INDEX merges_survivor ON merges(survivor_id, status);
CREATE INDEX merges_merged ON merges(merged_id, status);

-- Pairs between the review and the merge threshold wait for a person.
-- A rejected pair is never merged by a later run.
CREATE TABLE match_reviews (
	id TEXT PRIMARY KEY,
	entity TEXT NOT NULL,
	a_id TEXT NOT NULL,
	b_id TEXT NOT NULL,
	probability REAL,
	weight REAL,
	fields TEXT CHECK (fields IS NULL OR json_valid(fields)),
	status TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'accepted', 'rejected')),
	created_at TEXT NOT NULL,
	decided_at TEXT,
	UNIQUE (a_id, b_id)
);
CREATE INDEX match_reviews_status ON match_reviews(status, probability);
