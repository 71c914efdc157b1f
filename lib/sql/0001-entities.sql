-- migration 1: the entity tables, stage history, the event log
CREATE TABLE meta (
	key TEXT PRIMARY KEY,
	value TEXT
) WITHOUT ROWID;

CREATE TABLE users (
	id TEXT PRIMARY KEY,
	source TEXT NOT NULL,
	external_id TEXT,
	src_key TEXT NOT NULL,
	name TEXT,
	name_key TEXT,
	email TEXT,
	manager TEXT,
	team TEXT,
	role TEXT,
	attrs TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(attrs)),
	merged_into TEXT REFERENCES users(id),
	created_at TEXT NOT NULL,
	updated_at TEXT NOT NULL,
	UNIQUE (src_key, source)
);
CREATE INDEX users_name_key ON users(name_key);
CREATE INDEX users_email ON users(email) WHERE email IS NOT NULL;

CREATE TABLE products (
	id TEXT PRIMARY KEY,
	source TEXT NOT NULL,
	external_id TEXT,
	src_key TEXT NOT NULL,
	name TEXT NOT NULL,
	name_key TEXT NOT NULL,
	series TEXT,
	price REAL,
	attrs TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(attrs)),
	merged_into TEXT REFERENCES products(id),
	created_at TEXT NOT NULL,
	updated_at TEXT NOT NULL,
	UNIQUE (src_key, source)
);
CREATE INDEX products_name_key ON products(name_key);

CREATE TABLE accounts (
	id TEXT PRIMARY KEY,
	source TEXT NOT NULL,
	external_id TEXT,
	src_key TEXT NOT NULL,
	name TEXT NOT NULL,
	name_key TEXT NOT NULL,
	domain TEXT,
	industry TEXT,
	employees INTEGER,
	revenue REAL,
	country TEXT,
	city TEXT,
	owner TEXT,
	parent_id TEXT REFERENCES accounts(id),
	attrs TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(attrs)),
	merged_into TEXT REFERENCES accounts(id),
	created_at TEXT NOT NULL,
	updated_at TEXT NOT NULL,
	UNIQUE (src_key, source)
);
CREATE INDEX accounts_name_key ON accounts(name_key);
CREATE INDEX accounts_domain ON accounts(domain) WHERE domain IS NOT NULL;

CREATE TABLE contacts (
	id TEXT PRIMARY KEY,
	source TEXT NOT NULL,
	external_id TEXT,
	src_key TEXT NOT NULL,
	first_name TEXT,
	last_name TEXT,
	email TEXT,
	phone TEXT,
	title TEXT,
	company TEXT,
	account_id TEXT REFERENCES accounts(id),
	lifecycle_stage TEXT,
	lead_source TEXT,
	owner TEXT,
	consent TEXT CHECK (consent IN ('granted', 'denied', 'unknown')),
	outcome TEXT CHECK (outcome IN ('converted', 'lost')),
	outcome_at TEXT,
	country TEXT,
	city TEXT,
	attrs TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(attrs)),
	merged_into TEXT REFERENCES contacts(id),
	created_at TEXT NOT NULL,
	updated_at TEXT NOT NULL,
	UNIQUE (src_key, source)
);
CREATE INDEX contacts_email ON contacts(email) WHERE email IS NOT NULL;
CREATE INDEX contacts_account ON contacts(account_id) WHERE account_id IS NOT NULL;

CREATE TABLE deals (
	id TEXT PRIMARY KEY,
	source TEXT NOT NULL,
	external_id TEXT,
	src_key TEXT NOT NULL,
	name TEXT,
	account_id TEXT REFERENCES accounts(id),
	contact_id TEXT REFERENCES contacts(id),
	owner TEXT,
	product TEXT,
	stage TEXT,
	amount REAL,
	currency TEXT,
	outcome TEXT CHECK (outcome IN ('won', 'lost')),
	closed_at TEXT,
	attrs TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(attrs)),
	merged_into TEXT REFERENCES deals(id),
	created_at TEXT NOT NULL,
	updated_at TEXT NOT NULL,
	UNIQUE (src_key, source)
);
CREATE INDEX deals_account ON deals(account_id) WHERE account_id IS NOT NULL;
CREATE INDEX deals_contact ON deals(contact_id) WHERE contact_id IS NOT NULL;

CREATE TABLE deal_stages (
	deal_id TEXT NOT NULL REFERENCES deals(id) ON DELETE CASCADE,
	stage TEXT NOT NULL,
	at TEXT NOT NULL
);
CREATE INDEX deal_stages_deal ON deal_stages(deal_id, at);

CREATE TABLE interactions (
	id TEXT PRIMARY KEY,
	source TEXT NOT NULL,
	external_id TEXT,
	src_key TEXT NOT NULL,
	kind TEXT NOT NULL CHECK (kind IN ('email', 'call', 'meeting',
		'web_visit', 'page_view', 'form', 'email_open', 'click', 'note')),
	occurred_at TEXT NOT NULL,
	contact_id TEXT REFERENCES contacts(id),
	account_id TEXT REFERENCES accounts(id),
	deal_id TEXT REFERENCES deals(id),
	direction TEXT CHECK (direction IN ('inbound', 'outbound')),
	subject TEXT,
	body TEXT,
	attrs TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(attrs)),
	merged_into TEXT REFERENCES interactions(id),
	created_at TEXT NOT NULL,
	updated_at TEXT NOT NULL,
	UNIQUE (src_key, source)
);
CREATE INDEX interactions_contact ON interactions(contact_id, occurred_at) WHERE contact_id IS NOT NULL;
CREATE INDEX interactions_deal ON interactions(deal_id) WHERE deal_id IS NOT NULL;
CREATE INDEX interactions_account ON interactions(account_id) WHERE account_id IS NOT NULL;

CREATE TABLE tasks (
	id TEXT PRIMARY KEY,
	source TEXT NOT NULL,
	external_id TEXT,
	src_key TEXT NOT NULL,
	title TEXT NOT NULL,
	owner TEXT,
	contact_id TEXT REFERENCES contacts(id),
	deal_id TEXT REFERENCES deals(id),
	due_at TEXT,
	status TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'done', 'cancelled')),
	origin TEXT,
	attrs TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(attrs)),
	merged_into TEXT REFERENCES tasks(id),
	created_at TEXT NOT NULL,
	updated_at TEXT NOT NULL,
	UNIQUE (src_key, source)
);
CREATE INDEX tasks_owner ON tasks(owner, status, due_at);

-- The append-only change log. seq is monotonic and never reused, so a
-- reader keeps the last seq it saw as its cursor.
CREATE TABLE events (
	seq INTEGER PRIMARY KEY AUTOINCREMENT,
	at TEXT NOT NULL,
	entity TEXT NOT NULL,
	entity_id TEXT NOT NULL,
	op TEXT NOT NULL,
	payload TEXT CHECK (payload IS NULL OR json_valid(payload))
);


-- Every change to a record appends to events, whoever writes it.
-- An update's payload names the columns that changed.
CREATE TRIGGER users_ins AFTER INSERT ON users BEGIN
	INSERT INTO events (at, entity, entity_id, op)
	VALUES (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), 'user', new.id, 'insert');
END;
CREATE TRIGGER users_upd AFTER UPDATE ON users BEGIN
	INSERT INTO events (at, entity, entity_id, op, payload)
	SELECT strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), 'user', new.id, 'update', json_object('changed', json_group_array(c))
	FROM (SELECT 'source' AS c WHERE old.source IS NOT new.source
		UNION ALL SELECT 'external_id' AS c WHERE old.external_id IS NOT new.external_id
		UNION ALL SELECT 'name' AS c WHERE old.name IS NOT new.name
		UNION ALL SELECT 'email' AS c WHERE old.email IS NOT new.email
		UNION ALL SELECT 'manager' AS c WHERE old.manager IS NOT new.manager
		UNION ALL SELECT 'team' AS c WHERE old.team IS NOT new.team
		UNION ALL SELECT 'role' AS c WHERE old.role IS NOT new.role
		UNION ALL SELECT 'attrs' AS c WHERE old.attrs IS NOT new.attrs
		UNION ALL SELECT 'merged_into' AS c WHERE old.merged_into IS NOT new.merged_into
		UNION ALL SELECT 'created_at' AS c WHERE old.created_at IS NOT new.created_at);
END;
CREATE TRIGGER users_del AFTER DELETE ON users BEGIN
	INSERT INTO events (at, entity, entity_id, op)
	VALUES (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), 'user', old.id, 'delete');
END;
CREATE TRIGGER products_ins AFTER INSERT ON products BEGIN
	INSERT INTO events (at, entity, entity_id, op)
	VALUES (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), 'product', new.id, 'insert');
END;
CREATE TRIGGER products_upd AFTER UPDATE ON products BEGIN
	INSERT INTO events (at, entity, entity_id, op, payload)
	SELECT strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), 'product', new.id, 'update', json_object('changed', json_group_array(c))
	FROM (SELECT 'source' AS c WHERE old.source IS NOT new.source
		UNION ALL SELECT 'external_id' AS c WHERE old.external_id IS NOT new.external_id
		UNION ALL SELECT 'name' AS c WHERE old.name IS NOT new.name
		UNION ALL SELECT 'series' AS c WHERE old.series IS NOT new.series
		UNION ALL SELECT 'price' AS c WHERE old.price IS NOT new.price
		UNION ALL SELECT 'attrs' AS c WHERE old.attrs IS NOT new.attrs
		UNION ALL SELECT 'merged_into' AS c WHERE old.merged_into IS NOT new.merged_into
		UNION ALL SELECT 'created_at' AS c WHERE old.created_at IS NOT new.created_at);
END;
CREATE TRIGGER products_del AFTER DELETE ON products BEGIN
	INSERT INTO events (at, entity, entity_id, op)
	VALUES (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), 'product', old.id, 'delete');
END;
CREATE TRIGGER accounts_ins AFTER INSERT ON accounts BEGIN
	INSERT INTO events (at, entity, entity_id, op)
	VALUES (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), 'account', new.id, 'insert');
END;
CREATE TRIGGER accounts_upd AFTER UPDATE ON accounts BEGIN
	INSERT INTO events (at, entity, entity_id, op, payload)
	SELECT strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), 'account', new.id, 'update', json_object('changed', json_group_array(c))
	FROM (SELECT 'source' AS c WHERE old.source IS NOT new.source
		UNION ALL SELECT 'external_id' AS c WHERE old.external_id IS NOT new.external_id
		UNION ALL SELECT 'name' AS c WHERE old.name IS NOT new.name
		UNION ALL SELECT 'domain' AS c WHERE old.domain IS NOT new.domain
		UNION ALL SELECT 'industry' AS c WHERE old.industry IS NOT new.industry
		UNION ALL SELECT 'employees' AS c WHERE old.employees IS NOT new.employees
		UNION ALL SELECT 'revenue' AS c WHERE old.revenue IS NOT new.revenue
		UNION ALL SELECT 'country' AS c WHERE old.country IS NOT new.country
		UNION ALL SELECT 'city' AS c WHERE old.city IS NOT new.city
		UNION ALL SELECT 'owner' AS c WHERE old.owner IS NOT new.owner
		UNION ALL SELECT 'parent_id' AS c WHERE old.parent_id IS NOT new.parent_id
		UNION ALL SELECT 'attrs' AS c WHERE old.attrs IS NOT new.attrs
		UNION ALL SELECT 'merged_into' AS c WHERE old.merged_into IS NOT new.merged_into
		UNION ALL SELECT 'created_at' AS c WHERE old.created_at IS NOT new.created_at);
END;
CREATE TRIGGER accounts_del AFTER DELETE ON accounts BEGIN
	INSERT INTO events (at, entity, entity_id, op)
	VALUES (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), 'account', old.id, 'delete');
END;
CREATE TRIGGER contacts_ins AFTER INSERT ON contacts BEGIN
	INSERT INTO events (at, entity, entity_id, op)
	VALUES (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), 'contact', new.id, 'insert');
END;
CREATE TRIGGER contacts_upd AFTER UPDATE ON contacts BEGIN
	INSERT INTO events (at, entity, entity_id, op, payload)
	SELECT strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), 'contact', new.id, 'update', json_object('changed', json_group_array(c))
	FROM (SELECT 'source' AS c WHERE old.source IS NOT new.source
		UNION ALL SELECT 'external_id' AS c WHERE old.external_id IS NOT new.external_id
		UNION ALL SELECT 'first_name' AS c WHERE old.first_name IS NOT new.first_name
		UNION ALL SELECT 'last_name' AS c WHERE old.last_name IS NOT new.last_name
		UNION ALL SELECT 'email' AS c WHERE old.email IS NOT new.email
		UNION ALL SELECT 'phone' AS c WHERE old.phone IS NOT new.phone
		UNION ALL SELECT 'title' AS c WHERE old.title IS NOT new.title
		UNION ALL SELECT 'company' AS c WHERE old.company IS NOT new.company
		UNION ALL SELECT 'account_id' AS c WHERE old.account_id IS NOT new.account_id
		UNION ALL SELECT 'lifecycle_stage' AS c WHERE old.lifecycle_stage IS NOT new.lifecycle_stage
		UNION ALL SELECT 'lead_source' AS c WHERE old.lead_source IS NOT new.lead_source
		UNION ALL SELECT 'owner' AS c WHERE old.owner IS NOT new.owner
		UNION ALL SELECT 'consent' AS c WHERE old.consent IS NOT new.consent
		UNION ALL SELECT 'outcome' AS c WHERE old.outcome IS NOT new.outcome
		UNION ALL SELECT 'outcome_at' AS c WHERE old.outcome_at IS NOT new.outcome_at
		UNION ALL SELECT 'country' AS c WHERE old.country IS NOT new.country
		UNION ALL SELECT 'city' AS c WHERE old.city IS NOT new.city
		UNION ALL SELECT 'attrs' AS c WHERE old.attrs IS NOT new.attrs
		UNION ALL SELECT 'merged_into' AS c WHERE old.merged_into IS NOT new.merged_into
		UNION ALL SELECT 'created_at' AS c WHERE old.created_at IS NOT new.created_at);
END;
CREATE TRIGGER contacts_del AFTER DELETE ON contacts BEGIN
	INSERT INTO events (at, entity, entity_id, op)
	VALUES (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), 'contact', old.id, 'delete');
END;
CREATE TRIGGER deals_ins AFTER INSERT ON deals BEGIN
	INSERT INTO events (at, entity, entity_id, op)
	VALUES (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), 'deal', new.id, 'insert');
END;
CREATE TRIGGER deals_upd AFTER UPDATE ON deals BEGIN
	INSERT INTO events (at, entity, entity_id, op, payload)
	SELECT strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), 'deal', new.id, 'update', json_object('changed', json_group_array(c))
	FROM (SELECT 'source' AS c WHERE old.source IS NOT new.source
		UNION ALL SELECT 'external_id' AS c WHERE old.external_id IS NOT new.external_id
		UNION ALL SELECT 'name' AS c WHERE old.name IS NOT new.name
		UNION ALL SELECT 'account_id' AS c WHERE old.account_id IS NOT new.account_id
		UNION ALL SELECT 'contact_id' AS c WHERE old.contact_id IS NOT new.contact_id
		UNION ALL SELECT 'owner' AS c WHERE old.owner IS NOT new.owner
		UNION ALL SELECT 'product' AS c WHERE old.product IS NOT new.product
		UNION ALL SELECT 'stage' AS c WHERE old.stage IS NOT new.stage
		UNION ALL SELECT 'amount' AS c WHERE old.amount IS NOT new.amount
		UNION ALL SELECT 'currency' AS c WHERE old.currency IS NOT new.currency
		UNION ALL SELECT 'outcome' AS c WHERE old.outcome IS NOT new.outcome
		UNION ALL SELECT 'closed_at' AS c WHERE old.closed_at IS NOT new.closed_at
		UNION ALL SELECT 'attrs' AS c WHERE old.attrs IS NOT new.attrs
		UNION ALL SELECT 'merged_into' AS c WHERE old.merged_into IS NOT new.merged_into
		UNION ALL SELECT 'created_at' AS c WHERE old.created_at IS NOT new.created_at);
END;
CREATE TRIGGER deals_del AFTER DELETE ON deals BEGIN
	INSERT INTO events (at, entity, entity_id, op)
	VALUES (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), 'deal', old.id, 'delete');
END;
CREATE TRIGGER interactions_ins AFTER INSERT ON interactions BEGIN
	INSERT INTO events (at, entity, entity_id, op)
	VALUES (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), 'interaction', new.id, 'insert');
END;
CREATE TRIGGER interactions_upd AFTER UPDATE ON interactions BEGIN
	INSERT INTO events (at, entity, entity_id, op, payload)
	SELECT strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), 'interaction', new.id, 'update', json_object('changed', json_group_array(c))
	FROM (SELECT 'source' AS c WHERE old.source IS NOT new.source
		UNION ALL SELECT 'external_id' AS c WHERE old.external_id IS NOT new.external_id
		UNION ALL SELECT 'kind' AS c WHERE old.kind IS NOT new.kind
		UNION ALL SELECT 'occurred_at' AS c WHERE old.occurred_at IS NOT new.occurred_at
		UNION ALL SELECT 'contact_id' AS c WHERE old.contact_id IS NOT new.contact_id
		UNION ALL SELECT 'account_id' AS c WHERE old.account_id IS NOT new.account_id
		UNION ALL SELECT 'deal_id' AS c WHERE old.deal_id IS NOT new.deal_id
		UNION ALL SELECT 'direction' AS c WHERE old.direction IS NOT new.direction
		UNION ALL SELECT 'subject' AS c WHERE old.subject IS NOT new.subject
		UNION ALL SELECT 'body' AS c WHERE old.body IS NOT new.body
		UNION ALL SELECT 'attrs' AS c WHERE old.attrs IS NOT new.attrs
		UNION ALL SELECT 'merged_into' AS c WHERE old.merged_into IS NOT new.merged_into
		UNION ALL SELECT 'created_at' AS c WHERE old.created_at IS NOT new.created_at);
END;
CREATE TRIGGER interactions_del AFTER DELETE ON interactions BEGIN
	INSERT INTO events (at, entity, entity_id, op)
	VALUES (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), 'interaction', old.id, 'delete');
END;
CREATE TRIGGER tasks_ins AFTER INSERT ON tasks BEGIN
	INSERT INTO events (at, entity, entity_id, op)
	VALUES (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), 'task', new.id, 'insert');
END;
CREATE TRIGGER tasks_upd AFTER UPDATE ON tasks BEGIN
	INSERT INTO events (at, entity, entity_id, op, payload)
	SELECT strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), 'task', new.id, 'update', json_object('changed', json_group_array(c))
	FROM (SELECT 'source' AS c WHERE old.source IS NOT new.source
		UNION ALL SELECT 'external_id' AS c WHERE old.external_id IS NOT new.external_id
		UNION ALL SELECT 'title' AS c WHERE old.title IS NOT new.title
		UNION ALL SELECT 'owner' AS c WHERE old.owner IS NOT new.owner
		UNION ALL SELECT 'contact_id' AS c WHERE old.contact_id IS NOT new.contact_id
		UNION ALL SELECT 'deal_id' AS c WHERE old.deal_id IS NOT new.deal_id
		UNION ALL SELECT 'due_at' AS c WHERE old.due_at IS NOT new.due_at
		UNION ALL SELECT 'status' AS c WHERE old.status IS NOT new.status
		UNION ALL SELECT 'origin' AS c WHERE old.origin IS NOT new.origin
		UNION ALL SELECT 'attrs' AS c WHERE old.attrs IS NOT new.attrs
		UNION ALL SELECT 'merged_into' AS c WHERE old.merged_into IS NOT new.merged_into
		UNION ALL SELECT 'created_at' AS c WHERE old.created_at IS NOT new.created_at);
END;
CREATE TRIGGER tasks_del AFTER DELETE ON tasks BEGIN
	INSERT INTO events (at, entity, entity_id, op)
	VALUES (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), 'task', old.id, 'delete');
END;

-- Stage history: every stage a deal enters, with when.
CREATE TRIGGER deals_stage_ins AFTER INSERT ON deals WHEN new.stage IS NOT NULL BEGIN
	INSERT INTO deal_stages (deal_id, stage, at) VALUES (new.id, new.stage, coalesce(new.created_at, strftime('%Y-%m-%dT%H:%M:%fZ', 'now')));
END;
CREATE TRIGGER deals_stage_upd AFTER UPDATE OF stage ON deals WHEN new.stage IS NOT old.stage AND new.stage IS NOT NULL BEGIN
	INSERT INTO deal_stages (deal_id, stage, at) VALUES (new.id, new.stage, coalesce(new.closed_at, strftime('%Y-%m-%dT%H:%M:%fZ', 'now')));
END;
