-- migration 6: API tokens, webhooks and their deliveries, and events for
-- score changes, finished merges and tasks falling due

-- Bearer tokens of the HTTP API. Only the SHA-256 of a token is kept: a
-- token has 256 random bits, so a plain hash cannot be reversed. user is
-- the name records carry in their owner field; team widens a manager's
-- reach to the owners of that team (users.team).
CREATE TABLE api_tokens (
	id TEXT PRIMARY KEY,
	name TEXT NOT NULL,
	hash TEXT NOT NULL UNIQUE,
	role TEXT NOT NULL CHECK (role IN ('rep', 'manager', 'admin')),
	user TEXT NOT NULL,
	team TEXT,
	created_at TEXT NOT NULL,
	expires_at TEXT,
	revoked_at TEXT
);

-- Webhook subscriptions. events is a JSON array of event types
-- ("score.crossed", "call.hesitant", "task.due", "merge.done", or "*");
-- threshold applies to score.crossed. secret signs generic deliveries.
CREATE TABLE webhooks (
	id TEXT PRIMARY KEY,
	url TEXT NOT NULL,
	format TEXT NOT NULL CHECK (format IN ('slack', 'json')),
	events TEXT NOT NULL CHECK (json_valid(events)),
	threshold INTEGER CHECK (threshold BETWEEN 0 AND 100),
	secret TEXT,
	active INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
	created_at TEXT NOT NULL
);

-- One row per (webhook, event) to deliver. pending rows are retried with
-- exponential backoff until delivered or, after the last attempt, dead
-- (the dead-letter list, which `crm-serve hook retry` requeues).
CREATE TABLE webhook_deliveries (
	id INTEGER PRIMARY KEY AUTOINCREMENT,
	webhook_id TEXT NOT NULL REFERENCES webhooks(id) ON DELETE CASCADE,
	seq INTEGER NOT NULL,
	type TEXT NOT NULL,
	body TEXT NOT NULL,
	status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'dead')),
	attempts INTEGER NOT NULL DEFAULT 0,
	next_at REAL NOT NULL,
	last_status INTEGER,
	last_error TEXT,
	created_at TEXT NOT NULL,
	delivered_at TEXT,
	UNIQUE (webhook_id, seq, type)
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries(status, next_at);

-- A stored score that moves appends an event with the score before and
-- after, so webhooks and the event stream see thresholds crossed.
CREATE TRIGGER scores_ins AFTER INSERT ON scores BEGIN
	INSERT INTO events (at, entity, entity_id, op, payload)
	VALUES (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), 'score', new.entity_id, 'changed',
		json_object('score', new.score, 'previous', NULL, 'model', new.model_id));
END;
CREATE TRIGGER scores_upd AFTER UPDATE OF score ON scores WHEN new.score IS NOT old.score BEGIN
	INSERT INTO events (at, entity, entity_id, op, payload)
	VALUES (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), 'score', new.entity_id, 'changed',
		json_object('score', new.score, 'previous', old.score, 'model', new.model_id));
END;

CREATE TRIGGER merges_ins AFTER INSERT ON merges BEGIN
	INSERT INTO events (at, entity, entity_id, op, payload)
	VALUES (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), 'merge', new.id, 'done',
		json_object('entity', new.entity, 'survivor_id', new.survivor_id,
			    'merged_id', new.merged_id, 'probability', new.probability));
END;
CREATE TRIGGER merges_undo AFTER UPDATE OF status ON merges WHEN new.status = 'undone' BEGIN
	INSERT INTO events (at, entity, entity_id, op, payload)
	VALUES (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), 'merge', new.id, 'undone',
		json_object('entity', new.entity, 'survivor_id', new.survivor_id,
			    'merged_id', new.merged_id));
END;

