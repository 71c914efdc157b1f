#!/bin/sh
# Privacy: field encryption at rest, tamper detection, key rotation,
# erasure that reaches backups, suppression, subject export, the audit
# trail, retention purges and CSV formula neutralisation.
. "$(dirname "$0")/lib.sh"

unset CRM_KEY_FILE CRM_KEY_STORE
K=$T/master.key

# A canary: strings that must never be found in the files in clear.
NAME=Zyxwvutsrq
EMAIL=zyx.canary.q7@example.org
PHONE="+44 20 7946 0958"
DIGITS=442079460958
cat >people.csv <<CSV
first_name,last_name,email,phone,company,consent,lawful basis,consent source
$NAME,Canarywood,$EMAIL,$PHONE,Acme,granted,consent,webform
Ann,Leeward,ann.leeward@example.com,+1 415 555 0101,Lee Inc,granted,contract,signed order
CSV
cat >acts.csv <<CSV
kind,occurred_at,contact email,subject,body
email,2026-10-01T10:00:00Z,$EMAIL,Quote for $NAME,Dear $NAME Canarywood: your quote
call,2026-10-02T10:00:00Z,$EMAIL,Call with $NAME,$NAME asked about seats
web_visit,2026-10-03T10:00:00Z,$EMAIL,/pricing,
email,2026-10-04T10:00:00Z,ann.leeward@example.com,Hello Ann,Ann's note
CSV

crm init 2>/dev/null
crm-key init 2>/dev/null; is "$?" "2" "crm-key init needs a key file"
crm-key --key-file "$K" init 2>/dev/null; ok $? "crm-key init creates it"
is "$(stat -c %a "$K")" "600" "the key file is private (0600)"
crm-key --key-file "$K" init 2>err; is "$?" "74" "init does not overwrite a key"
like "$(cat err)" "exists already" "and says so"
export CRM_KEY_FILE="$K"
crm-import people.csv >/dev/null 2>&1; ok $? "import with a key"
crm-import acts.csv >/dev/null 2>&1; ok $? "import interactions"
is "$(sqlite3 crm.db "select count(*) from interactions where contact_id is not null")" "4" "they find their contact by blind index"
sqlite3 crm.db ".backup before.db"
scan() {	# files: how many canary strings are in them in clear
	n=0
	for f in "$@"; do
		[ -f "$f" ] || continue
		for s in "$NAME" "$EMAIL" "$PHONE" "$DIGITS" "Canarywood"; do
			grep -a -q -F -- "$s" "$f" && n=$((n + 1))
		done
	done
	echo $n
}
is "$(scan crm.db crm.db-wal crm.db.keys before.db)" "0" "no canary in clear in the database, its log, the key store or a backup"
is "$(sqlite3 crm.db "select count(*) from contacts where first_name like 'enc:%' and email like 'enc:%' and phone like 'enc:%' and last_name like 'enc:%'")" "2" "names, email, phone sealed"
is "$(sqlite3 crm.db "select count(*) from interactions where subject like 'enc:%' and body like 'enc:%'")" "3" "messages sealed"
is "$(sqlite3 crm.db "select subject from interactions where kind = 'web_visit'")" "/pricing" "page visits stay readable for scoring"
is "$(sqlite3 crm.db "select count(*) from contacts where src_key like 'bi1:%'")" "2" "natural keys are blind indexes"
is "$(sqlite3 crm.db "select consent_basis || ' ' || consent_source from contacts where company = 'Acme'")" "consent webform" "lawful basis and its source are kept"

# Reading back.
is "$(crm-export -t contact | jq -r 'select(.company == "Acme") | .first_name + " " + .email + " " + .phone')" "$NAME $EMAIL $PHONE" "export opens sealed cells"
crm-export -t contact --key-file /dev/null >/dev/null 2>err; is "$?" "65" "a key file others can read is refused"
CRM_KEY_FILE= crm-export -t contact >/dev/null 2>err; is "$?" "2" "without the key the database is refused"
like "$(cat err)" "is encrypted" "and says why"
python3 -c "import os,base64;print('1', base64.b64encode(os.urandom(32)).decode())" >wrong.key; chmod 600 wrong.key
crm-export -t contact --key-file wrong.key >/dev/null 2>err; is "$?" "65" "a wrong key file is refused"
like "$(cat err)" "not the one this key store was made with" "before any cell is read"
is "$(crm-import people.csv 2>&1 >/dev/null | grep -o '2 unchanged')" "2 unchanged" "re-import: sealed cells compare equal, nothing rewritten"

# Tampering: one changed byte, or a cell moved to another row or column.
cp crm.db t1.db; cp crm.db.keys t1.db.keys
sqlite3 t1.db "update contacts set email = substr(email, 1, 30) || case substr(email, 31, 1) when 'A' then 'B' else 'A' end || substr(email, 32) where company = 'Acme'"
CRM_DB=t1.db crm-export -t contact >/dev/null 2>err; is "$?" "65" "a one-byte change is detected"
like "$(cat err)" "does not decrypt" "and named: $(head -c 70 err)"
cp crm.db t2.db; cp crm.db.keys t2.db.keys
sqlite3 t2.db "update contacts set email = (select email from contacts where company = 'Lee Inc') where company = 'Acme'"
CRM_DB=t2.db crm-export -t contact >/dev/null 2>&1; is "$?" "65" "a cell copied from another row does not open"
cp crm.db t3.db; cp crm.db.keys t3.db.keys
sqlite3 t3.db "update contacts set phone = email where company = 'Acme'"
CRM_DB=t3.db crm-export -t contact >/dev/null 2>&1; is "$?" "65" "nor one moved to another column"

# CSV exports neutralise formulas.
printf 'first_name,last_name,email\n"=HYPERLINK(""http://x"")",@SUM(1),formula@example.com\n' >evil.csv
crm-import evil.csv >/dev/null 2>&1
line=$(crm-export -t contact -f csv --fields first_name,last_name,email -w email=formula@example.com | sed -n 2p)
is "$line" "\"'=HYPERLINK(\"\"http://x\"\")\",\"'@SUM(1)\",formula@example.com" "CSV cells starting with = or @ get a leading quote"
is "$(crm-export -t contact -w email=formula@example.com | jq -r .first_name)" '=HYPERLINK("http://x")' "NDJSON keeps the value as it is"
printf 'first_name,last_name,email,phone\n-2+3+cmd|calc,+SUM(A1),f2@example.com,+44 20 7946 0000\n' >evil2.csv
crm-import evil2.csv >/dev/null 2>&1
is "$(crm-export -t contact -f csv --fields first_name,last_name,phone -w email=f2@example.com | sed -n 2p)" "\"'-2+3+cmd|calc\",\"'+SUM(A1)\",+44 20 7946 0000" "a + or - cell with letters is neutralised, a phone is not"

# Rotation: every row stays readable, the old key opens nothing.
before=$(crm-export -t contact -t interaction | md5sum)
cells=$(sqlite3 crm.db "select group_concat(first_name) from contacts" | md5sum)
cp "$K" old.key
crm-key rotate 2>err; ok $? "rotate: $(cat err)"
is "$(grep -c '^[0-9]' "$K")" "1" "the old master key is retired from the file"
is "$(crm-key status -f ndjson | jq -c '[.version, .stale]')" "[2,0]" "every data key is under version 2"
is "$(crm-export -t contact -t interaction | md5sum)" "$before" "rotation keeps 100% of rows readable, unchanged"
is "$(sqlite3 crm.db "select group_concat(first_name) from contacts" | md5sum)" "$cells" "without re-encrypting a cell"
crm-export -t contact --key-file old.key >/dev/null 2>&1; is "$?" "65" "the retired key file opens nothing"
is "$(sqlite3 crm.db "select group_concat(action, ' ') from audit_log")" "key-init key-rotate" "key changes are in the audit trail"

# Access (Art. 15/20): everything about one person, nothing about others.
crm-export --subject "$EMAIL" >subject.ndjson; ok $? "export --subject"
is "$(jq -r .type subject.ndjson | sort | uniq -c | awk '{printf "%s %s, ", $1, $2}')" "1 contact, 4 event, 3 interaction, 1 subject, " "the contact, their interactions and events"
is "$(grep -c -e Leeward -e ann.leeward subject.ndjson)" "0" "nothing about anyone else"
is "$(jq -r 'select(.type == "contact") | .phone' subject.ndjson)" "$PHONE" "in clear, for the person"
is "$(crm-export --subject "$PHONE" | jq -r 'select(.type == "contact") | .email')" "$EMAIL" "found by phone too"
crm-export --subject nobody@example.org >/dev/null 2>&1; is "$?" "1" "no match: exit 1"
is "$(sqlite3 crm.db "select count(*) from audit_log where action = 'export-subject'")" "2" "each access is in the audit trail"

# Erasure.
cell=$(sqlite3 crm.db "select email from contacts where company = 'Acme'")
crm-forget --dry-run "$EMAIL" >dry.json; ok $? "forget --dry-run"
is "$(jq -c '[.dry_run, .contacts, .interactions]' dry.json)" "[true,1,3]" "counts only"
is "$(sqlite3 crm.db "select count(*) from contacts where company = 'Acme'")" "1" "and erases nothing"
crm-forget "$EMAIL" >receipt.json; ok $? "forget"
is "$(jq -c '[.contacts, .interactions, .suppressed, .keys_shredded > 0, .encrypted]' receipt.json)" "[1,3,2,true,true]" "the receipt says what was erased"
is "$(jq -r '.ms < 1000' receipt.json)" "true" "in under a second ($(jq .ms receipt.json) ms)"
is "$(grep -c -F "$EMAIL" receipt.json)" "0" "the receipt names them by keyed hash only"
is "$(sqlite3 crm.db "select count(*) from contacts where company = 'Acme'") $(sqlite3 crm.db "select count(*) from interactions where contact_id is null or contact_id not in (select id from contacts)")" "0 0" "their rows are gone"
is "$(scan crm.db crm.db-wal crm.db.keys)" "0" "no canary in clear"
is "$(cat crm.db crm.db-wal 2>/dev/null | grep -a -c -F "$cell")" "0" "not even their ciphertext is left in the file or the log"
# A backup taken before: with today's key file and key store, nothing of
# theirs opens; everyone else's does.
CRM_DB=before.db CRM_KEY_STORE="$T/crm.db.keys" crm-export -t contact -t interaction >restored.ndjson 2>&1; ok $? "the old backup still opens"
is "$(jq -r 'select(.company == "Acme") | [.first_name, .email, .phone] | map(tostring) | join(" ")' restored.ndjson)" "null null null" "but the erased person's cells are gone for good"
is "$(jq -r 'select(.type == "interaction" and .kind != "web_visit") | .body // "gone"' restored.ndjson | sort | uniq -c | awk '{$1 = $1; printf "%s, ", $0}')" "1 Ann's note, 2 gone, " "their messages too; Ann's are intact"
is "$(grep -c -e "$NAME" -e "$EMAIL" restored.ndjson)" "0" "no trace of them decryptable from the backup"
# Suppression.
crm-import people.csv 2>err >/dev/null; like "$(cat err)" "asked to be erased" "a later import refuses them"
is "$(sqlite3 crm.db "select count(*) from contacts where company = 'Acme'")" "0" "and they are not back"
crm-import --suppressed flag people.csv >flagged.ndjson 2>/dev/null
is "$(jq -c 'select(.company == "Acme") | [.consent, .attrs.suppressed]' flagged.ndjson)" '["denied",true]' "--suppressed flag: kept, marked, consent denied"
crm-forget nobody@example.org 2>/dev/null; is "$?" "1" "forget with no match: exit 1"
is "$(sqlite3 crm.db "select count(*) from subject_requests where kind = 'erasure' and done_at is not null and receipt is not null")" "1" "the request is recorded with its receipt"

# Dedupe on sealed fields: compared in memory, merged cells resealed.
printf 'first_name,last_name,email,phone,company\nJonathan,Smithers,jon.smithers@acme.com,,Acme Corp\nJonathan,Smithers,,+1 415 555 0177,Acme Corp\n' >dupes.csv
crm-import dupes.csv >dupes.ndjson 2>/dev/null
a=$(jq -r 'select(.email) | .id' dupes.ndjson); b=$(jq -r 'select(.phone) | .id' dupes.ndjson)
crm-dedupe merge "$a" "$b" >/dev/null 2>&1; ok $? "merge two sealed records"
is "$(crm-export -t contact -w id="$a" | jq -r '.email + " " + .phone')" "jon.smithers@acme.com +1 415 555 0177" "the survivor's moved phone opens"

# The API on the sealed database: opened for the caller, found by blind
# index, every read of a person and every change in the audit trail.
crm-serve token add ops --role admin >tok 2>/dev/null
serve_start
H="Authorization: Bearer $(cat tok)"
is "$(curl -s -H "$H" "$U/v1/contacts?email=ANN.LEEWARD@example.com" | jq -r '.data[0].last_name')" "Leeward" "API: ?email= by blind index, the record opened"
ann=$(curl -s -H "$H" "$U/v1/contacts?email=ann.leeward@example.com" | jq -r '.data[0].id')
is "$(curl -s -H "$H" "$U/v1/contacts/$ann" | jq -r .phone)" "+1 415 555 0101" "API: a record read"
is "$(curl -s -X POST -H "$H" -H 'Content-Type: application/json' -d '{"first_name":"Viaapi","email":"via.api@example.net"}' "$U/v1/contacts" | jq -r .status)" "inserted" "API: a create"
kill "$srv"; wait "$srv" 2>/dev/null
is "$(sqlite3 crm.db "select count(*) from contacts where first_name like 'enc:%' and email_bi is not null and src_key like 'bi1:%' and id in (select entity_id from audit_log where action = 'api-create')")" "1" "the API's record is sealed and audited"
is "$(sqlite3 crm.db "select count(*) from audit_log where action = 'api-read' and entity_id = '$ann' and actor = 'token:ops/ops'")" "1" "the read of Ann is in the trail, with the token"
is "$(grep -c -e Viaapi -e via.api crm.db crm.db-wal 2>/dev/null | awk -F: '{s += $2} END {print s + 0}')" "0" "nothing the API wrote is in clear"

# Audit trail: tamper-evident.
crm-audit trail >trail.json; ok $? "the trail verifies"
is "$(jq -r '.entries >= 5' trail.json)" "true" "entries: $(jq .entries trail.json)"
sqlite3 crm.db "update audit_log set actor = 'cli:mallory' where action = 'forget'"
crm-audit trail >/dev/null 2>err; is "$?" "1" "an edited entry breaks the chain"
like "$(cat err)" "does not follow" "and says where"

# Retention and the privacy checks.
crm-purge --retain interactions=30 --dry-run >p.json
is "$(jq .interactions p.json)" "$(sqlite3 crm.db "select count(*) from interactions where occurred_at < strftime('%Y-%m-%dT%H:%M:%SZ', 'now', '-30 days')")" "purge --dry-run counts what is due"
crm-purge --retain interactions=30 >/dev/null
is "$(sqlite3 crm.db "select count(*) from interactions where occurred_at < strftime('%Y-%m-%dT%H:%M:%SZ', 'now', '-30 days')")" "0" "purge deletes it"
crm-purge --retain bogus=3 2>/dev/null; is "$?" "2" "an unknown kind is a usage error"
crm-audit privacy --check encryption.plaintext >/dev/null; is "$?" "0" "encryption.plaintext passes with every personal field sealed"
done_testing
