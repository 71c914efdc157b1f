-- migration 9 (PostgreSQL): SQLite's functions the tools' SQL calls
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
