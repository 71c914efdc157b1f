-- migration 5 (PostgreSQL): call transcripts and their analysis
-- (lib/sql/0005-calls.sql). body is bytea: compressed, or a sealed cell.
CREATE TABLE transcripts (
	interaction_id text PRIMARY KEY REFERENCES interactions(id) ON DELETE CASCADE DEFERRABLE,
	source_sha text NOT NULL UNIQUE,
	file text,
	format text NOT NULL,
	engine text,
	duration double precision,
	utterances bigint NOT NULL,
	body bytea NOT NULL,
	body_size bigint NOT NULL,
	analysis json NOT NULL,
	sentiment double precision,
	hesitation double precision,
	hesitant bigint NOT NULL DEFAULT 0,
	created_at text NOT NULL
);

CREATE FUNCTION crm_transcript_event() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF NOT crm_copying() THEN
		PERFORM crm_event('call', NEW.interaction_id, 'analysed',
			json_build_object('hesitant', NEW.hesitant, 'hesitation', NEW.hesitation,
					  'sentiment', NEW.sentiment));
	END IF;
	RETURN NULL;
END
$$;
CREATE TRIGGER transcripts_ins AFTER INSERT ON transcripts
	FOR EACH ROW EXECUTE FUNCTION crm_transcript_event();
