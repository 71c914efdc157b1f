-- migration 9 (PostgreSQL): SQLite's functions the tools' SQL calls, and
-- the change log of inserts written a statement at a time
-- (lib/sql/0009-functions.sql)

-- json_patch(target, patch): RFC 7396 merge patch, as SQLite's: members
-- of patch replace target's, objects merge member by member, a null
-- member removes the key.
CREATE FUNCTION json_patch(target jsonb, patch jsonb) RETURNS jsonb
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
	k text;
	v jsonb;
	r jsonb;
BEGIN
	IF patch IS NULL OR jsonb_typeof(patch) <> 'object' THEN
		RETURN patch;
	END IF;
	r := CASE WHEN jsonb_typeof(target) = 'object' THEN target ELSE '{}' END;
	FOR k, v IN SELECT * FROM jsonb_each(patch) LOOP
		IF jsonb_typeof(v) = 'null' THEN
			r := r - k;
		ELSE
			r := jsonb_set(r, ARRAY[k], json_patch(r -> k, v));
		END IF;
	END LOOP;
	RETURN r;
END $$;

-- New records' events a statement at a time: one INSERT ... SELECT from
-- the statement's new rows instead of a PL/pgSQL call a row (a bulk
-- import writes 64 rows to a statement). Updates and deletes stay row
-- triggers: their payload compares each row's old and new values.
CREATE FUNCTION crm_record_inserts() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF crm_copying() THEN
		RETURN NULL;
	END IF;
	PERFORM pg_advisory_xact_lock(hashtext('crm.events'));
	INSERT INTO events (at, entity, entity_id, op, payload)
	SELECT crm_now(), TG_ARGV[0], id, 'insert', NULL FROM new_rows;
	IF FOUND THEN
		PERFORM pg_notify('crm_events', '');
	END IF;
	RETURN NULL;
END
$$;
DROP TRIGGER users_events ON users;
CREATE TRIGGER users_events AFTER UPDATE OR DELETE ON users
	FOR EACH ROW EXECUTE FUNCTION crm_record_event('user',
	'source,external_id,name,email,manager,team,role,attrs,merged_into,created_at');
CREATE TRIGGER users_inserts AFTER INSERT ON users REFERENCING NEW TABLE AS new_rows
	FOR EACH STATEMENT EXECUTE FUNCTION crm_record_inserts('user');
DROP TRIGGER products_events ON products;
CREATE TRIGGER products_events AFTER UPDATE OR DELETE ON products
	FOR EACH ROW EXECUTE FUNCTION crm_record_event('product',
	'source,external_id,name,series,price,attrs,merged_into,created_at');
CREATE TRIGGER products_inserts AFTER INSERT ON products REFERENCING NEW TABLE AS new_rows
	FOR EACH STATEMENT EXECUTE FUNCTION crm_record_inserts('product');
DROP TRIGGER accounts_events ON accounts;
CREATE TRIGGER accounts_events AFTER UPDATE OR DELETE ON accounts
	FOR EACH ROW EXECUTE FUNCTION crm_record_event('account',
	'source,external_id,name,domain,industry,employees,revenue,country,city,owner,parent_id,attrs,merged_into,created_at');
CREATE TRIGGER accounts_inserts AFTER INSERT ON accounts REFERENCING NEW TABLE AS new_rows
	FOR EACH STATEMENT EXECUTE FUNCTION crm_record_inserts('account');
DROP TRIGGER contacts_events ON contacts;
CREATE TRIGGER contacts_events AFTER UPDATE OR DELETE ON contacts
	FOR EACH ROW EXECUTE FUNCTION crm_record_event('contact',
	'source,external_id,first_name,last_name,email,phone,title,company,account_id,lifecycle_stage,lead_source,owner,consent,outcome,outcome_at,country,city,attrs,merged_into,created_at');
CREATE TRIGGER contacts_inserts AFTER INSERT ON contacts REFERENCING NEW TABLE AS new_rows
	FOR EACH STATEMENT EXECUTE FUNCTION crm_record_inserts('contact');
DROP TRIGGER deals_events ON deals;
CREATE TRIGGER deals_events AFTER UPDATE OR DELETE ON deals
	FOR EACH ROW EXECUTE FUNCTION crm_record_event('deal',
	'source,external_id,name,account_id,contact_id,owner,product,stage,amount,currency,outcome,closed_at,attrs,merged_into,created_at');
CREATE TRIGGER deals_inserts AFTER INSERT ON deals REFERENCING NEW TABLE AS new_rows
	FOR EACH STATEMENT EXECUTE FUNCTION crm_record_inserts('deal');
DROP TRIGGER interactions_events ON interactions;
CREATE TRIGGER interactions_events AFTER UPDATE OR DELETE ON interactions
	FOR EACH ROW EXECUTE FUNCTION crm_record_event('interaction',
	'source,external_id,kind,occurred_at,contact_id,account_id,deal_id,direction,subject,body,attrs,merged_into,created_at');
CREATE TRIGGER interactions_inserts AFTER INSERT ON interactions REFERENCING NEW TABLE AS new_rows
	FOR EACH STATEMENT EXECUTE FUNCTION crm_record_inserts('interaction');
DROP TRIGGER tasks_events ON tasks;
CREATE TRIGGER tasks_events AFTER UPDATE OR DELETE ON tasks
	FOR EACH ROW EXECUTE FUNCTION crm_record_event('task',
	'source,external_id,title,owner,contact_id,deal_id,due_at,status,origin,attrs,merged_into,created_at');
CREATE TRIGGER tasks_inserts AFTER INSERT ON tasks REFERENCING NEW TABLE AS new_rows
	FOR EACH STATEMENT EXECUTE FUNCTION crm_record_inserts('task');

-- SQLite's date and time functions as the tools call them, on the text
-- times crm keeps (ISO 8601, UTC, "Z"): a time value is 'now' (the
-- statement's time) or a date with an optional time; anything else is
-- NULL, as in SQLite. Modifiers are intervals: '-7 days', '+2 hours'.
CREATE FUNCTION crm_instant(t text) RETURNS timestamp LANGUAGE sql STABLE AS $$
	SELECT CASE
		WHEN t = 'now' THEN statement_timestamp() AT TIME ZONE 'UTC'
		WHEN t ~ '^\d{4}-\d\d-\d\d([T ]\d\d:\d\d(:\d\d(\.\d+)?)?)?Z?$' THEN rtrim(t, 'Z')::timestamp
	END
$$;

CREATE FUNCTION julianday(t text) RETURNS double precision LANGUAGE sql STABLE AS $$
	SELECT extract(epoch FROM crm_instant(t))::double precision / 86400 + 2440587.5
$$;

CREATE FUNCTION strftime(fmt text, t text, VARIADIC mods text[]) RETURNS text
LANGUAGE plpgsql STABLE AS $$
DECLARE
	ts timestamp := crm_instant(t);
	m text;
	out text := '';
	i int := 1;
	c text;
BEGIN
	IF ts IS NULL THEN
		RETURN NULL;
	END IF;
	FOREACH m IN ARRAY coalesce(mods, '{}') LOOP
		IF m !~ '^\s*[+-]?\d+(\.\d+)?\s+(second|minute|hour|day|month|year)s?\s*$' THEN
			RETURN NULL;
		END IF;
		ts := ts + m::interval;
	END LOOP;
	WHILE i <= length(fmt) LOOP
		c := substr(fmt, i, 1);
		IF c = '%' AND i < length(fmt) THEN
			i := i + 1;
			c := substr(fmt, i, 1);
			out := out || CASE c
				WHEN 'Y' THEN to_char(ts, 'YYYY')
				WHEN 'm' THEN to_char(ts, 'MM')
				WHEN 'd' THEN to_char(ts, 'DD')
				WHEN 'H' THEN to_char(ts, 'HH24')
				WHEN 'M' THEN to_char(ts, 'MI')
				WHEN 'S' THEN to_char(ts, 'SS')
				WHEN 'f' THEN to_char(ts, 'SS.MS')
				WHEN 's' THEN floor(extract(epoch FROM ts))::bigint::text
				WHEN 'j' THEN to_char(ts, 'DDD')
				WHEN 'w' THEN extract(dow FROM ts)::int::text
				WHEN '%' THEN '%'
			END;
			IF out IS NULL THEN
				RAISE EXCEPTION 'strftime: %% % is not supported here', c;
			END IF;
		ELSE
			out := out || c;
		END IF;
		i := i + 1;
	END LOOP;
	RETURN out;
END
$$;

CREATE FUNCTION strftime(fmt text, t text) RETURNS text LANGUAGE sql STABLE AS $$
	SELECT strftime(fmt, t, VARIADIC '{}'::text[])
$$;
