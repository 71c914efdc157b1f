-- migration 4: audits of models, data quality and privacy

-- A model's predictions on its holdout (the latest closed records it did
-- not learn from), with their outcome: what bias audits measure true and
-- false positive rates and calibration on.
CREATE TABLE holdout_scores (
	model_id TEXT NOT NULL REFERENCES models(id) ON DELETE CASCADE,
	entity_id TEXT NOT NULL,
	probability REAL NOT NULL,
	label INTEGER NOT NULL CHECK (label IN (0, 1)),
	PRIMARY KEY (model_id, entity_id)
) WITHOUT ROWID;

-- Every audit run: what was checked, the figures, the verdict.
CREATE TABLE audits (
	id TEXT PRIMARY KEY,
	at TEXT NOT NULL,
	kind TEXT NOT NULL CHECK (kind IN ('bias', 'quality', 'privacy')),
	entity TEXT,
	model_id TEXT,
	params TEXT NOT NULL CHECK (json_valid(params)),
	findings TEXT NOT NULL CHECK (json_valid(findings)),
	violations INTEGER NOT NULL,
	verdict TEXT NOT NULL CHECK (verdict IN ('pass', 'fail'))
);
CREATE INDEX audits_kind ON audits(kind, at);

-- Requests of data subjects (GDPR Art. 15-17, CCPA): received, and when
-- they were carried out. subject is a keyed hash, never the address.
CREATE TABLE subject_requests (
	id INTEGER PRIMARY KEY AUTOINCREMENT,
	kind TEXT NOT NULL CHECK (kind IN ('erasure', 'access')),
	subject TEXT NOT NULL,
	received_at TEXT NOT NULL,
	done_at TEXT
);

-- Every import run: per file, the columns it had and how it went, so a
-- change in an export's shape (schema drift) is seen.
CREATE TABLE imports (
	id INTEGER PRIMARY KEY AUTOINCREMENT,
	at TEXT NOT NULL,
	file TEXT NOT NULL,
	source TEXT NOT NULL,
	entity TEXT NOT NULL,
	columns TEXT NOT NULL CHECK (json_valid(columns)),
	rows INTEGER NOT NULL,
	rejected INTEGER NOT NULL
);
CREATE INDEX imports_source ON imports(source, entity, id);
