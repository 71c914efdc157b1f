-- migration 7: encryption at rest, subject rights, consent, the audit trail

-- A contact's data key (its id in the key store, crm.db.keys) and the blind
-- indexes that stand in for the sealed email and phone in lookups.
ALTER TABLE contacts ADD COLUMN dk INTEGER;
ALTER TABLE contacts ADD COLUMN email_bi TEXT;
ALTER TABLE contacts ADD COLUMN phone_bi TEXT;
CREATE INDEX contacts_email_bi ON contacts(email_bi) WHERE email_bi IS NOT NULL;
CREATE INDEX contacts_phone_bi ON contacts(phone_bi) WHERE phone_bi IS NOT NULL;

-- Lawful basis of processing (GDPR Art. 6), where it came from and when.
ALTER TABLE contacts ADD COLUMN consent_basis TEXT CHECK (consent_basis IN ('consent',
	'contract', 'legal_obligation', 'vital_interests', 'public_task', 'legitimate_interests'));
ALTER TABLE contacts ADD COLUMN consent_source TEXT;
ALTER TABLE contacts ADD COLUMN consent_at TEXT;

-- People who asked to be erased: a keyed hash of each identifier, never
-- the identifier. An import meeting one refuses or flags the record.
CREATE TABLE suppressions (
	hash TEXT PRIMARY KEY,
	kind TEXT NOT NULL,
	request_id INTEGER REFERENCES subject_requests(id),
	created_at TEXT NOT NULL
) WITHOUT ROWID;

ALTER TABLE subject_requests ADD COLUMN actor TEXT;
ALTER TABLE subject_requests ADD COLUMN receipt TEXT CHECK (receipt IS NULL OR json_valid(receipt));

-- Who did what, when: every change made by a command or the API and every
-- API read of a person's data. Each entry's hash covers the previous
-- entry's hash, so an edited, inserted or deleted entry breaks the chain
-- from there on ('crm audit-log verify').
CREATE TABLE audit_log (
	seq INTEGER PRIMARY KEY AUTOINCREMENT,
	at TEXT NOT NULL,
	actor TEXT NOT NULL,
	action TEXT NOT NULL,
	entity TEXT,
	entity_id TEXT,
	detail TEXT CHECK (detail IS NULL OR json_valid(detail)),
	prev TEXT NOT NULL,
	hash TEXT NOT NULL
);
CREATE INDEX audit_log_entity ON audit_log(entity_id) WHERE entity_id IS NOT NULL;

-- Erasure finds everything about a person by these.
CREATE INDEX events_entity ON events(entity_id);
CREATE INDEX tasks_contact ON tasks(contact_id) WHERE contact_id IS NOT NULL;
CREATE INDEX webhook_deliveries_seq ON webhook_deliveries(seq);
CREATE INDEX match_reviews_b ON match_reviews(b_id);
