-- migration 1 (PostgreSQL): the entity tables, stage history, the event log
--
-- The same tables as lib/sql/0001-entities.sql in PostgreSQL's types:
-- attrs is jsonb, other JSON columns json (kept as written), timestamps
-- text in the same ISO 8601 form, so both backends compare them alike.
-- References are DEFERRABLE so 'crm db copy' can load rows in any order
-- inside one transaction.

-- The time as the SQLite side writes it: 2026-11-30T15:33:30.123Z.
CREATE FUNCTION crm_now() RETURNS text LANGUAGE sql VOLATILE AS $$
	SELECT to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')
$$;

-- Rows copied by 'crm db copy' (SET LOCAL crm.copy = 'on') are history
-- already: no trigger adds to it.
CREATE FUNCTION crm_copying() RETURNS boolean LANGUAGE sql STABLE AS $$
	SELECT coalesce(current_setting('crm.copy', true), '') = 'on'
$$;

CREATE TABLE meta (
	key text PRIMARY KEY,
	value text
);

CREATE TABLE users (
	id text PRIMARY KEY,
	source text NOT NULL,
	external_id text,
	src_key text NOT NULL,
	name text,
	name_key text,
	email text,
	manager text,
	team text,
	role text,
	attrs jsonb NOT NULL DEFAULT '{}',
	merged_into text REFERENCES users(id) DEFERRABLE,
	created_at text NOT NULL,
	updated_at text NOT NULL,
	UNIQUE (src_key, source)
);
CREATE INDEX users_name_key ON users(name_key);
CREATE INDEX users_email ON users(email) WHERE email IS NOT NULL;

CREATE TABLE products (
	id text PRIMARY KEY,
	source text NOT NULL,
	external_id text,
	src_key text NOT NULL,
	name text NOT NULL,
	name_key text NOT NULL,
	series text,
	price double precision,
	attrs jsonb NOT NULL DEFAULT '{}',
	merged_into text REFERENCES products(id) DEFERRABLE,
	created_at text NOT NULL,
	updated_at text NOT NULL,
	UNIQUE (src_key, source)
);
CREATE INDEX products_name_key ON products(name_key);

CREATE TABLE accounts (
	id text PRIMARY KEY,
	source text NOT NULL,
	external_id text,
	src_key text NOT NULL,
	name text NOT NULL,
	name_key text NOT NULL,
	domain text,
	industry text,
	employees bigint,
	revenue double precision,
	country text,
	city text,
	owner text,
	parent_id text REFERENCES accounts(id) DEFERRABLE,
	attrs jsonb NOT NULL DEFAULT '{}',
	merged_into text REFERENCES accounts(id) DEFERRABLE,
	created_at text NOT NULL,
	updated_at text NOT NULL,
	UNIQUE (src_key, source)
);
CREATE INDEX accounts_name_key ON accounts(name_key);
CREATE INDEX accounts_domain ON accounts(domain) WHERE domain IS NOT NULL;

CREATE TABLE contacts (
	id text PRIMARY KEY,
	source text NOT NULL,
	external_id text,
	src_key text NOT NULL,
	first_name text,
	last_name text,
	email text,
	phone text,
	title text,
	company text,
	account_id text REFERENCES accounts(id) DEFERRABLE,
	lifecycle_stage text,
	lead_source text,
	owner text,
	consent text CHECK (consent IN ('granted', 'denied', 'unknown')),
	outcome text CHECK (outcome IN ('converted', 'lost')),
	outcome_at text,
	country text,
	city text,
	attrs jsonb NOT NULL DEFAULT '{}',
	merged_into text REFERENCES contacts(id) DEFERRABLE,
	created_at text NOT NULL,
	updated_at text NOT NULL,
	UNIQUE (src_key, source)
);
CREATE INDEX contacts_email ON contacts(email) WHERE email IS NOT NULL;
CREATE INDEX contacts_account ON contacts(account_id) WHERE account_id IS NOT NULL;

CREATE TABLE deals (
	id text PRIMARY KEY,
	source text NOT NULL,
	external_id text,
	src_key text NOT NULL,
	name text,
	account_id text REFERENCES accounts(id) DEFERRABLE,
	contact_id text REFERENCES contacts(id) DEFERRABLE,
	owner text,
	product text,
	stage text,
	amount double precision,
	currency text,
	outcome text CHECK (outcome IN ('won', 'lost')),
	closed_at text,
	attrs jsonb NOT NULL DEFAULT '{}',
	merged_into text REFERENCES deals(id) DEFERRABLE,
	created_at text NOT NULL,
	updated_at text NOT NULL,
	UNIQUE (src_key, source)
);
CREATE INDEX deals_account ON deals(account_id) WHERE account_id IS NOT NULL;
CREATE INDEX deals_contact ON deals(contact_id) WHERE contact_id IS NOT NULL;

CREATE TABLE deal_stages (
	deal_id text NOT NULL REFERENCES deals(id) ON DELETE CASCADE DEFERRABLE,
	stage text NOT NULL,
	at text NOT NULL
);
CREATE INDEX deal_stages_deal ON deal_stages(deal_id, at);

CREATE TABLE interactions (
	id text PRIMARY KEY,
	source text NOT NULL,
	external_id text,
	src_key text NOT NULL,
	kind text NOT NULL CHECK (kind IN ('email', 'call', 'meeting',
		'web_visit', 'page_view', 'form', 'email_open', 'click', 'note')),
	occurred_at text NOT NULL,
	contact_id text REFERENCES contacts(id) DEFERRABLE,
	account_id text REFERENCES accounts(id) DEFERRABLE,
	deal_id text REFERENCES deals(id) DEFERRABLE,
	direction text CHECK (direction IN ('inbound', 'outbound')),
	subject text,
	body text,
	attrs jsonb NOT NULL DEFAULT '{}',
	merged_into text REFERENCES interactions(id) DEFERRABLE,
	created_at text NOT NULL,
	updated_at text NOT NULL,
	UNIQUE (src_key, source)
);
CREATE INDEX interactions_contact ON interactions(contact_id, occurred_at) WHERE contact_id IS NOT NULL;
CREATE INDEX interactions_deal ON interactions(deal_id) WHERE deal_id IS NOT NULL;
CREATE INDEX interactions_account ON interactions(account_id) WHERE account_id IS NOT NULL;

CREATE TABLE tasks (
	id text PRIMARY KEY,
	source text NOT NULL,
	external_id text,
	src_key text NOT NULL,
	title text NOT NULL,
	owner text,
	contact_id text REFERENCES contacts(id) DEFERRABLE,
	deal_id text REFERENCES deals(id) DEFERRABLE,
	due_at text,
	status text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'done', 'cancelled')),
	origin text,
	attrs jsonb NOT NULL DEFAULT '{}',
	merged_into text REFERENCES tasks(id) DEFERRABLE,
	created_at text NOT NULL,
	updated_at text NOT NULL,
	UNIQUE (src_key, source)
);
CREATE INDEX tasks_owner ON tasks(owner, status, due_at);

CREATE TABLE events (
	seq bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
	at text NOT NULL,
	entity text NOT NULL,
	entity_id text NOT NULL,
	op text NOT NULL,
	payload json
);

-- The change log. seq is given in commit order (see crm_event), so a
-- reader that keeps the last seq it saw as its cursor misses nothing.
-- A new event wakes every listener of channel crm_events at commit.
CREATE FUNCTION crm_event(p_entity text, p_id text, p_op text, p_payload json)
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
	-- One transaction at a time appends events, from its first event to
	-- its commit: seq values are then committed in the order they are
	-- given, as SQLite's one writer gives them.
	PERFORM pg_advisory_xact_lock(hashtext('crm.events'));
	INSERT INTO events (at, entity, entity_id, op, payload)
	VALUES (crm_now(), p_entity, p_id, p_op, p_payload);
	PERFORM pg_notify('crm_events', '');
END
$$;

-- Every change to a record appends to events, whoever writes it. An
-- update's payload names the columns that changed, of those listed in
-- the trigger's second argument, in that order.
CREATE FUNCTION crm_record_event() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
	changed text;
BEGIN
	IF crm_copying() THEN
		RETURN NULL;
	END IF;
	IF TG_OP = 'INSERT' THEN
		PERFORM crm_event(TG_ARGV[0], NEW.id, 'insert', NULL);
	ELSIF TG_OP = 'DELETE' THEN
		PERFORM crm_event(TG_ARGV[0], OLD.id, 'delete', NULL);
	ELSE
		SELECT coalesce(string_agg(to_json(c.name)::text, ',' ORDER BY c.ord), '')
		INTO changed
		FROM unnest(string_to_array(TG_ARGV[1], ',')) WITH ORDINALITY AS c(name, ord)
		WHERE to_jsonb(OLD) -> c.name IS DISTINCT FROM to_jsonb(NEW) -> c.name;
		PERFORM crm_event(TG_ARGV[0], NEW.id, 'update',
				  ('{"changed":[' || changed || ']}')::json);
	END IF;
	RETURN NULL;
END
$$;
CREATE TRIGGER users_events AFTER INSERT OR UPDATE OR DELETE ON users
	FOR EACH ROW EXECUTE FUNCTION crm_record_event('user',
	'source,external_id,name,email,manager,team,role,attrs,merged_into,created_at');
CREATE TRIGGER products_events AFTER INSERT OR UPDATE OR DELETE ON products
	FOR EACH ROW EXECUTE FUNCTION crm_record_event('product',
	'source,external_id,name,series,price,attrs,merged_into,created_at');
CREATE TRIGGER accounts_events AFTER INSERT OR UPDATE OR DELETE ON accounts
	FOR EACH ROW EXECUTE FUNCTION crm_record_event('account',
	'source,external_id,name,domain,industry,employees,revenue,country,city,owner,parent_id,attrs,merged_into,created_at');
CREATE TRIGGER contacts_events AFTER INSERT OR UPDATE OR DELETE ON contacts
	FOR EACH ROW EXECUTE FUNCTION crm_record_event('contact',
	'source,external_id,first_name,last_name,email,phone,title,company,account_id,lifecycle_stage,lead_source,owner,consent,outcome,outcome_at,country,city,attrs,merged_into,created_at');
CREATE TRIGGER deals_events AFTER INSERT OR UPDATE OR DELETE ON deals
	FOR EACH ROW EXECUTE FUNCTION crm_record_event('deal',
	'source,external_id,name,account_id,contact_id,owner,product,stage,amount,currency,outcome,closed_at,attrs,merged_into,created_at');
CREATE TRIGGER interactions_events AFTER INSERT OR UPDATE OR DELETE ON interactions
	FOR EACH ROW EXECUTE FUNCTION crm_record_event('interaction',
	'source,external_id,kind,occurred_at,contact_id,account_id,deal_id,direction,subject,body,attrs,merged_into,created_at');
CREATE TRIGGER tasks_events AFTER INSERT OR UPDATE OR DELETE ON tasks
	FOR EACH ROW EXECUTE FUNCTION crm_record_event('task',
	'source,external_id,title,owner,contact_id,deal_id,due_at,status,origin,attrs,merged_into,created_at');

-- Stage history: every stage a deal enters, with when.
CREATE FUNCTION crm_deal_stage() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF crm_copying() OR NEW.stage IS NULL THEN
		RETURN NULL;
	END IF;
	IF TG_OP = 'INSERT' THEN
		INSERT INTO deal_stages (deal_id, stage, at)
		VALUES (NEW.id, NEW.stage, coalesce(NEW.created_at, crm_now()));
	ELSIF NEW.stage IS DISTINCT FROM OLD.stage THEN
		INSERT INTO deal_stages (deal_id, stage, at)
		VALUES (NEW.id, NEW.stage, coalesce(NEW.closed_at, crm_now()));
	END IF;
	RETURN NULL;
END
$$;
CREATE TRIGGER deals_stage AFTER INSERT OR UPDATE OF stage ON deals
	FOR EACH ROW EXECUTE FUNCTION crm_deal_stage();
