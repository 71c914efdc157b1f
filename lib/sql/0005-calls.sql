-- migration 5: call transcripts and their analysis

-- One row per call interaction. The utterances are JSON compressed with
-- zstd (they can be long, and they are personal). source_sha is the hash
-- of the input file: the same recording processed twice is one call.
CREATE TABLE transcripts (
	interaction_id TEXT PRIMARY KEY REFERENCES interactions(id) ON DELETE CASCADE,
	source_sha TEXT NOT NULL UNIQUE,
	file TEXT,
	format TEXT NOT NULL,
	engine TEXT,
	duration REAL,
	utterances INTEGER NOT NULL,
	body BLOB NOT NULL,
	body_size INTEGER NOT NULL,
	analysis TEXT NOT NULL CHECK (json_valid(analysis)),
	sentiment REAL,
	hesitation REAL,
	hesitant INTEGER NOT NULL DEFAULT 0,
	created_at TEXT NOT NULL
);

CREATE TRIGGER transcripts_ins AFTER INSERT ON transcripts BEGIN
	INSERT INTO events (at, entity, entity_id, op, payload)
	VALUES (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), 'call', new.interaction_id, 'analysed',
		json_object('hesitant', new.hesitant, 'hesitation', new.hesitation,
			    'sentiment', new.sentiment));
END;
