#!/bin/sh
# Field encryption the same on either backend: people's fields, calls and
# natural keys sealed under the person's data key, blind indexes that
# find an email, sealed fields filtered by their opened value, no word in
# clear in a backup (a pg_dump on PostgreSQL), the key store apart from
# the data (on PostgreSQL a database of its own, which the data's role
# need not reach), a cell moved to another row refusing to open, dedupe
# and the API over sealed cells, erasure by crypto-shredding that leaves
# a backup taken before unable to open the person, and 'crm key seal'.
# backends: sqlite postgresql
. "$(dirname "$0")/lib.sh"

unset CRM_KEY_STORE
export CRM_KEY_FILE=$T/master.key
CANARY=Zanzibarquill
scan() {	# scan WORD FILE...: how many times WORD is in the files in clear
	cat "$@" 2>/dev/null | grep -a -o "$1" | wc -l
}
backup() {	# backup NAME: what an operator's backup of the data holds
	if on_pg; then
		PGDATABASE= pg_dump "$CRM_DB" >"$1"
	else
		sqlite3 "$CRM_DB" ".backup $1"
	fi
}

crm init 2>/dev/null
crm-key init 2>/dev/null; ok $? "a key file and the key store"
cat >people.csv <<EOF
first_name,last_name,email,phone,company
$CANARY,Ortega,zq.ortega@example.org,+34 600 100 200,Acme
Ana,Ortega,ana@example.org,+34 600 100 201,Acme
Ana,Ortega,ana.ortega@example.org,+34 600 100 201,Acme Inc
Bo,Lind,bo@example.org,+46 70 100 200,Lind AB
EOF
crm-import -q people.csv >/dev/null 2>err; ok $? "import four people $(cat err)"
is "$(dbsql "select count(*) from contacts where first_name like 'enc:%' and last_name like 'enc:%' and email like 'enc:%' and phone like 'enc:%' and email_bi like 'bi1:%'")" \
	"4" "names, email and phone sealed, the email indexed"
is "$(dbsql "select count(*) from contacts where dk is null")" "0" "each person has a data key"
backup before.dump
is "$(scan "$CANARY" before.dump) $(scan zq.ortega before.dump)" "0 0" "a backup holds no name or email in clear"
is "$(scan wrapped before.dump)" "0" "and no key material"

# Read back, found by blind index and by opened value.
is "$(crm-export -t contact -w email=ZQ.Ortega@example.org -f csv --fields first_name | tail -1)" "$CANARY" \
	"an email found by its blind index (any case)"
is "$(crm-export -t contact -w last_name=Ortega -f csv --fields email | tail -n +2 | sort | tr '\n' ' ')" \
	"ana.ortega@example.org ana@example.org zq.ortega@example.org " "a sealed field without an index filtered by its opened value"
is "$(crm-export -t contact -w 'first_name~zanzi' -f csv --fields company | tail -n +2)" "Acme" "and by a part of it"
CRM_KEY_FILE= crm-export -t contact >/dev/null 2>err; is "$?" "2" "without the key: refused"
like "$(cat err)" "is encrypted: give its key file" "saying why"

# The key store is apart from the data.
if on_pg; then
	is "$(dbsql "select count(*) from pg_tables where tablename in ('keys', 'masters')")" "0" "no key table in the data's database"
	dks=$(dbsql "select string_agg(distinct dk::text, ',') from contacts")
	is "$(keysql "select count(*) from keys where id in ($dks)")" "$(dbsql "select count(distinct dk) from contacts")" "each person's key is in the key store's database"
	# Its own role: the key store's database owned by crm_keys, closed
	# to the data's role; named with CRM_KEY_STORE.
	psql -q -X "$PG_ADMIN" -c "SET client_min_messages = warning" \
		-c "DO \$\$ BEGIN CREATE ROLE crm_keys LOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END \$\$" >/dev/null
	KDB="t$$_sep_keys"
	psql -q -X "$PG_ADMIN" -c "SET client_min_messages = warning" -c "DROP DATABASE IF EXISTS \"$KDB\"" \
		-c "CREATE DATABASE \"$KDB\" OWNER crm_keys" -c "REVOKE CONNECT ON DATABASE \"$KDB\" FROM PUBLIC" >/dev/null
	SEP=$(pg_newdb sep)
	KURL=$(echo "$SEP" | sed "s,//crm@,//crm_keys@,; s,/t$$_sep\$,/$KDB,")
	CRM_DB=$SEP CRM_KEY_STORE=$KURL crm-import -q people.csv >/dev/null 2>err; ok $? "a key store with a role of its own $(cat err)"
	is "$(CRM_DB=$SEP CRM_KEY_STORE=$KURL crm-export -t contact -w email=bo@example.org -f csv --fields first_name | tail -1)" "Bo" \
		"read through it"
	psql -At "$(echo "$KURL" | sed 's,//crm_keys@,//crm@,')" -c "select 1" >/dev/null 2>&1
	is "$?" "2" "the data's role cannot reach the key store"
	CRM_DB=$SEP crm-export -t contact >/dev/null 2>err; is "$?" "66" "the data alone does not open"
	like "$(cat err)" "the key store" "the message names the key store"
else
	[ -s crm.db.keys ] && [ "$(stat -c %a crm.db.keys)" = 600 ]; ok $? "the key store beside the file, private"
	is "$(sqlite3 crm.db "select count(*) from sqlite_master where name in ('keys', 'masters')")" "0" "no key table in the data's file"
fi

# A cell copied to another row does not open there.
dbsql "update contacts set email = (select email from contacts where company = 'Lind AB') where company = 'Acme'" >/dev/null
crm-export -t contact -w company=Acme >/dev/null 2>err; is "$?" "65" "a cell moved to another row does not open"
like "$(cat err)" "does not decrypt (changed, or moved" "and says so"

# Start again with a clean database for what follows.
if on_pg; then
	export CRM_DB=$(pg_newdb two); pg_newdb two_keys >/dev/null
else
	export CRM_DB=$T/two.db
fi
crm init 2>/dev/null
crm-import -q people.csv >/dev/null 2>&1

# Dedupe compares the opened values: the same merges as without a key.
"$TOP"/scripts/gen-sample -n 200 --full sample >/dev/null 2>&1
if on_pg; then plain=$(pg_newdb plain); else plain=$T/plain.db; fi
CRM_KEY_FILE= CRM_DB=$plain crm init 2>/dev/null
CRM_KEY_FILE= CRM_DB=$plain crm-import -q people.csv >/dev/null 2>&1
for db in "$CRM_DB" "$plain"; do
	k=$CRM_KEY_FILE; [ "$db" = "$plain" ] && k=
	CRM_KEY_FILE=$k CRM_DB=$db crm-import -q sample/contacts.csv sample/duplicates.csv >/dev/null 2>&1
	CRM_KEY_FILE=$k CRM_DB=$db crm-dedupe --all -q >/dev/null 2>&1
done
n=$(dbsql "select count(*) from merges")
[ "$n" -gt 0 ]; ok $? "crm-dedupe merges over sealed cells ($n)"
is "$(CRM_DB=$plain dbsql "select count(*) from merges")" "$n" "as many as over the same data in clear"
is "$(CRM_DB=$plain CRM_KEY_FILE= crm-export -t contact | jq -r .email | sort | md5sum)" \
	"$(crm-export -t contact | jq -r .email | sort | md5sum)" "the same people as over the same data in clear"

# A call: its transcript, analysis, file name and task titles sealed.
cat >"zq.ortega@example.org.txt" <<CALL
Rep: Hi, thanks for making time today. How did the trial go?
Customer: Well. The project is called $CANARY internally. Could you send me the pricing?
Rep: Sure, I'll send the pricing by Friday.
Customer: I'm not sure we have budget this year, maybe next year.
CALL
crm-transcribe -q -c zq.ortega@example.org --at 2026-11-30T10:00 zq.ortega@example.org.txt -f ndjson >call.out 2>err
ok $? "a call transcribed $(cat err)"
I=$(jq -r .interaction call.out)
is "$(dbsql "select count(*) from transcripts where file like 'enc:%'") $(dbsql "select count(*) from tasks where origin = 'call' and title not like 'enc:%'")" \
	"1 0" "its file name and task titles sealed"
crm-transcribe show "$I" -f ndjson >show.out 2>err; ok $? "crm-transcribe show opens it"
like "$(jq -r '.utterances[1].text' show.out)" "$CANARY" "word for word"
backup after-call.dump
is "$(scan "$CANARY" after-call.dump)" "0" "the word spoken is not in a backup in clear"

# The API over sealed cells: a list filtered by an opened field, the calls.
crm-serve token add ops --role admin >tok 2>/dev/null
serve_start --rate 0 --no-webhooks
H="Authorization: Bearer $(cat tok)"
is "$(curl -s -H "$H" "$U/v1/contacts?first_name=Bo" | jq -r '[.data[].email] | join(",")')" "bo@example.org" \
	"GET /v1/contacts?first_name=: opened and compared"
is "$(curl -s -H "$H" "$U/v1/contacts?email=BO@example.org" | jq -r '.data[0].last_name')" "Lind" "?email=: by blind index"
is "$(curl -s -H "$H" "$U/v1/calls" | jq -r '.data[0].name + " / " + (.data[0].summary | tostring | test("pricing"; "i") | tostring)')" \
	"$CANARY Ortega / true" "GET /v1/calls: the contact's name and the call's summary, opened"
is "$(curl -s -H "$H" "$U/v1/calls" | jq -r '.data[0].action_items[0] | .text + " / " + .words')" \
	"Could you send me the pricing? Sure, I'll send the pricing by Friday. / Customer: Well. The project is called $CANARY internally. Could you send me the pricing? Rep: Sure, I'll send the pricing by Friday." \
	"GET /v1/calls: each item with the words it came from (the request and its answer)"
kill "$srv"; wait "$srv" 2>/dev/null

# Erasure: the person's data key is shredded; a backup from before no
# longer opens them (the key store is not in that backup).
if on_pg; then
	bk=$(pg_newdb bk)
	psql -q -X "$bk" -f after-call.dump >/dev/null 2>&1
	rm -f bk.db*
	crm-db copy -q "$bk" bk.db >/dev/null 2>&1	# a copy of the backup, its keys from before the erasure
else
	cp two.db bk.db
fi
dk=$(dbsql "select dk from contacts where email_bi = (select email_bi from contacts where company = 'Acme' and merged_into is null order by id limit 1)" | head -1)
crm-forget zq.ortega@example.org >forget.out 2>err; ok $? "crm-forget $(cat err)"
is "$(keysql "select count(*) from keys where id = $dk")" "0" "their data key is gone from the key store"
is "$(dbsql "select count(*) from transcripts")" "0" "and their call"
if on_pg; then
	# The backup restored beside the live key store: the person is unreadable.
	CRM_DB=$bk CRM_KEY_STORE=${CRM_DB}_keys crm-export -t contact -w company=Acme -f csv --fields first_name,email >restored.csv 2>/dev/null
else
	CRM_DB=bk.db CRM_KEY_STORE=$T/two.db.keys crm-export -t contact -w company=Acme -f csv --fields first_name,email >restored.csv 2>/dev/null
fi
is "$(scan "$CANARY" restored.csv) $(scan zq.ortega restored.csv)" "0 0" "a backup from before, opened with today's key store: the erased person stays unreadable"

# A database used before its key: sealed by 'crm key seal'.
if on_pg; then
	export CRM_DB=$(pg_newdb three); pg_newdb three_keys >/dev/null
else
	export CRM_DB=$T/three.db
fi
CRM_KEY_FILE= crm init 2>/dev/null
CRM_KEY_FILE= crm-import -q people.csv >/dev/null 2>&1
is "$(dbsql "select count(*) from contacts where email like 'enc:%'")" "0" "imported without a key: in clear"
crm-key seal --batch 2 -q >seal.out 2>err; ok $? "crm-key seal $(cat err)"
is "$(jq -c '[.rows, .batches >= 2]' seal.out)" "[4,true]" "in batches"
is "$(dbsql "select count(*) from contacts where email not like 'enc:%' or email_bi is null or dk is null")" "0" "every email sealed and indexed"
crm-key seal -q >seal2.out 2>/dev/null; is "$(jq .cells seal2.out)" "0" "a second run seals nothing again"
is "$(crm-export -t contact -w email=bo@example.org -f csv --fields first_name | tail -1)" "Bo" "and everything opens"

# A key store older than the data (restored from an older backup): no
# new key takes a number the data names, every row is counted with why,
# and a cell whose key the store never gave is an error, not a null.
if on_pg; then
	export CRM_DB=$(pg_newdb four); pg_newdb four_keys >/dev/null
	keydump() { PGDATABASE= pg_dump -Fc "${CRM_DB}_keys" >"$1"; }
	keyrestore() { PGDATABASE= pg_restore --clean -d "${CRM_DB}_keys" "$1" 2>/dev/null; }
else
	export CRM_DB=$T/four.db
	keydump() { sqlite3 "$CRM_DB.keys" ".backup $1"; }
	keyrestore() { sqlite3 "$CRM_DB.keys" ".restore $1"; }
fi
crm init 2>/dev/null
printf 'external_id,first_name,last_name,email\nP1,Ann,Old,ann@old.example\n' >a.csv
crm-import -q --source s a.csv >/dev/null
keydump keys.old
printf 'external_id,first_name,last_name,email\nP2,Bea,New,bea@new.example\n' >b.csv
crm-import -q --source s b.csv >/dev/null
keyrestore keys.old
printf 'external_id,first_name,last_name,email\nP2,Bea,Newer,bea@new.example\nP3,Cy,Fresh,cy@new.example\n' >c.csv
crm-import --source s c.csv --rejects rej.ndjson >/dev/null 2>err
is "$?" "65" "an import over a key store older than the data: exit 65"
like "$(cat err)" "2 rows: 0 inserted, 0 updated, 0 unchanged, 2 rejected" "every row counted: $(cat err)"
is "$(jq -r .reason rej.ndjson | sort -u | cut -c1-40)" "the key store is older than the data: it" "each with why"
crm-export -t contact >exp.out 2>err
is "$?" "65" "export: a cell whose key the store never gave is an error (exit 65)"
like "$(cat err)" "is missing from the key store" "saying so: $(cat err)"
done_testing
