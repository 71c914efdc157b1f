-- migration 3: scoring models, scores, and admin overrides of features

-- Trained models. The booster is stored zstd-compressed with the hash of
-- its uncompressed bytes, so a damaged blob is found before it is used.
CREATE TABLE models (
	id TEXT PRIMARY KEY,
	entity TEXT NOT NULL CHECK (entity IN ('contact', 'deal')),
	created_at TEXT NOT NULL,
	params TEXT NOT NULL CHECK (json_valid(params)),
	features TEXT NOT NULL CHECK (json_valid(features)),
	metrics TEXT NOT NULL CHECK (json_valid(metrics)),
	data_hash TEXT NOT NULL,
	blob BLOB NOT NULL,
	blob_size INTEGER NOT NULL,
	blob_hash TEXT NOT NULL,
	active INTEGER NOT NULL DEFAULT 0 CHECK (active IN (0, 1))
);
CREATE UNIQUE INDEX models_active ON models(entity) WHERE active = 1;

-- The latest score of each record under each model.
CREATE TABLE scores (
	entity_id TEXT NOT NULL,
	model_id TEXT NOT NULL REFERENCES models(id),
	probability REAL NOT NULL,
	score INTEGER NOT NULL CHECK (score BETWEEN 0 AND 100),
	computed_at TEXT NOT NULL,
	PRIMARY KEY (entity_id, model_id)
) WITHOUT ROWID;
CREATE INDEX scores_model ON scores(model_id, probability);

-- Admin overrides of features: exclude, scale, monotone constraint. Rows
-- are never changed: the newest row per feature is in force.
CREATE TABLE weights (
	id INTEGER PRIMARY KEY AUTOINCREMENT,
	entity TEXT NOT NULL CHECK (entity IN ('contact', 'deal')),
	feature TEXT NOT NULL,
	action TEXT NOT NULL CHECK (action IN ('exclude', 'scale', 'monotone', 'clear')),
	value REAL,
	who TEXT NOT NULL,
	why TEXT NOT NULL,
	at TEXT NOT NULL
);
CREATE INDEX weights_feature ON weights(entity, feature, id);
