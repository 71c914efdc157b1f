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
	UNIQUE (source, src_key)
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
	UNIQUE (source, src_key)
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
	UNIQUE (source, src_key)
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
	UNIQUE (source, src_key)
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
	UNIQUE (source, src_key)
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
	UNIQUE (source, src_key)
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
	UNIQUE (source, src_key)
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
CREATE INDEX events_entity ON events(entity_id, seq);
