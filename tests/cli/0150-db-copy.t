#!/bin/sh
# crm db: the schema on PostgreSQL (a real server on loopback), and a
# database copied from SQLite to PostgreSQL and back with every row the
# same: ids, merges and their snapshots, events and their sequence,
# models, transcripts, sealed cells byte for byte; the history is copied,
# not made again by triggers; a failed copy leaves nothing behind.
. "$(dirname "$0")/lib.sh"
pg_start
unset CRM_KEY_STORE
export CRM_KEY_FILE=$T/master.key
NAME=Qwertyzuio
EMAIL=qwerty.canary.z3@example.org

# ---- a database with a bit of everything, sealed
crm init 2>/dev/null
crm-key init 2>/dev/null
"$TOP"/scripts/gen-sample -n 700 --full sample 2>/dev/null
printf 'first_name,last_name,email,company\n%s,Canaryhill,%s,Acme\n' "$NAME" "$EMAIL" >canary.csv
crm-import -q sample/accounts.csv sample/contacts.csv sample/deals.csv sample/duplicates.csv \
	sample/interactions.ndjson canary.csv >/dev/null 2>&1
ok $? "import a sample"
crm-dedupe --all -q >/dev/null 2>&1; ok $? "dedupe merges its copies"
crm-score train -t deal -q >/dev/null 2>&1 && crm-score -t deal --all -q >/dev/null 2>&1
ok $? "a deal model, and scores"
crm-transcribe -q --contact "$EMAIL" "$TOP"/tests/data/calls/c01.txt >/dev/null 2>&1
ok $? "a call, transcribed and analysed"
crm-serve token add ci --role admin >/dev/null 2>&1; ok $? "an API token"
gone=$(sed -n 5p sample/contacts.csv | grep -o '[^,"]*@[^,"]*' | head -1)
crm-forget "$gone" >/dev/null 2>&1; ok $? "a person forgotten ($gone)"
for t in merges events models transcripts scores api_tokens subject_requests suppressions audit_log; do
	[ "$(sqlite3 crm.db "select count(*) from $t")" -gt 0 ]; ok $? "the source has $t"
done
is "$(sqlite3 crm.db "select count(*) from contacts where first_name like 'enc:%'")" \
	"$(sqlite3 crm.db "select count(*) from contacts where first_name is not null")" "names are sealed"

# The newest events purged: their numbers are never given again.
sqlite3 crm.db "delete from events where seq > (select max(seq) - 3 from events)"
max=$(sqlite3 crm.db "select seq from sqlite_sequence where name = 'events'")
[ "$max" -gt "$(sqlite3 crm.db "select max(seq) from events")" ]; ok $? "the source's event counter is past its last row"

# ---- the schema on PostgreSQL
U=$(pg_newdb copy1)
crm-db init "$U" 2>err; ok $? "crm db init on PostgreSQL"
like "$(cat err)" "schema version 0 -> $(sqlite3 crm.db 'pragma user_version')" "to this build's version"
crm-db init "$U" 2>err; like "$(cat err)" "schema is current" "twice: current"
U2=$(pg_newdb twice)
crm-db init -q "$U2" & crm-db init -q "$U2"; a=$?; wait $!; b=$?
is "$a $b" "0 0" "two at once on an empty database: both succeed (one waits)"
is "$(psql -At "$U2" -c 'select version from crm_schema')" "$(sqlite3 crm.db 'pragma user_version')" "migrated once"
for t in $(sqlite3 crm.db "select name from sqlite_master where type = 'table' and name not like 'sqlite_%'"); do
	psql -At "$U" -c "select 1 from \"$t\" limit 0" >/dev/null 2>&1 || echo "$t"
done >missing
is "$(cat missing)" "" "every table of the SQLite schema is there"
for t in $(sqlite3 crm.db "select name from sqlite_master where type = 'table' and name not like 'sqlite_%'"); do
	a=$(sqlite3 crm.db "select group_concat(name, ',') from pragma_table_info('$t')")
	b=$(psql -At "$U" -c "select string_agg(column_name, ',' order by ordinal_position) from information_schema.columns where table_name = '$t' and table_schema = current_schema()")
	[ "$a" = "$b" ] || echo "$t: $a / $b"
done >columns
is "$(cat columns)" "" "with the same columns in the same order (both dialects' migrations agree)"
for t in $(sqlite3 crm.db "select name from sqlite_master where type = 'index' and sql is not null"); do
	psql -At "$U" -c "select 1 from pg_indexes where indexname = '$t'" | grep -q 1 || echo "$t"
done >indexes
is "$(cat indexes)" "" "and the same indexes"
is "$(psql -At "$U" -c "select data_type from information_schema.columns where table_name = 'contacts' and column_name = 'attrs'")" \
	"jsonb" "attrs is jsonb"

# ---- SQLite to PostgreSQL
crm-db copy crm.db "$U" >out 2>err; is "$?" "66" "copy to PostgreSQL without a database for the key store: refused"
like "$(cat err)" "the key store: a database of its own" "and says what to make"
like "$(cat err)" "nothing was copied" "and that nothing was copied"
is "$(crm-db count "$U" | jq '.total - .rows.meta')" "0" "the keys go first: no row without its key"
crm-export --db "$U" -t contact >/dev/null 2>err; is "$?" "65" "a tool on the copy that did not finish: refused"
like "$(cat err)" "a copy of crm.db that did not finish: run the same 'crm db copy' again" "saying what to do"
pg_newdb copy1_keys >/dev/null
crm-db copy crm.db "$U" >out 2>err; ok $? "the key store made, the same copy run again: crm.db to PostgreSQL $(cat err)"
like "$(cat err)" "data keys copied into the key store of" "with the data keys, still wrapped"
is "$(psql -At "${U}_keys" -c "select count(*) from keys")" "$(sqlite3 crm.db.keys "select count(*) from keys")" "every data key"
is "$(psql -At "${U}_keys" -c "select encode(wrapped, 'hex') from keys order by id desc limit 1")" \
	"$(sqlite3 crm.db.keys "select lower(hex(wrapped)) from keys order by id desc limit 1")" "byte for byte"
crm-db count crm.db >src.count
is "$(jq -c .rows out)" "$(jq -c .rows src.count)" "every table's rows, counted"
crm-db count "$U" >pg.count; is "$(jq -c .rows pg.count)" "$(jq -c .rows src.count)" "as PostgreSQL counts them"
is "$(psql -At "$U" -c "select string_agg(seq || ' ' || entity_id || ' ' || op, ',' order by seq) from events")" \
	"$(sqlite3 crm.db "select group_concat(seq || ' ' || entity_id || ' ' || op, ',') from (select * from events order by seq)")" \
	"events keep their sequence numbers (no trigger added any)"
is "$(psql -At "$U" -c "select count(*) from deal_stages")" "$(sqlite3 crm.db "select count(*) from deal_stages")" "stage history as it was"
id=$(sqlite3 crm.db "select id from contacts where company = 'Acme' and email like 'enc:%' limit 1")
is "$(psql -At "$U" -c "select first_name || email from contacts where id = '$id'")" \
	"$(sqlite3 crm.db "select first_name || email from contacts where id = '$id'")" "a sealed cell, byte for byte"
is "$(psql -At "$U" -c "select md5(blob) from models order by id" | tr '\n' ' ')" \
	"$(for m in $(sqlite3 crm.db "select id from models order by id"); do sqlite3 crm.db "select hex(blob) from models where id = '$m'" | xxd -r -p | md5sum | cut -d' ' -f1; done | tr '\n' ' ')" \
	"model blobs, byte for byte"
PGDATABASE= pg_dump "$U" >dump.sql 2>/dev/null
ok $? "pg_dump of the copy"
grep -c -F -e "$NAME" -e "$EMAIL" dump.sql >hits; is "$(cat hits)" "0" "no canary in clear in a dump of the data"
is "$(grep -c -i 'master\|crm.db.keys\|wrapped' dump.sql)" "0" "no key material in it (the key store is another database)"

# The change log read through either backend: the same lines.
crm-events --db crm.db -f ndjson >sq.events 2>/dev/null
crm-events --db "$U" -f ndjson >pg.events 2>err; ok $? "crm-events on PostgreSQL"
[ -s sq.events ] && cmp -s sq.events pg.events; ok $? "the same events, line for line, as from the SQLite file ($(wc -l <pg.events) lines)"
crm-export --db "$U" -t contact -f csv --fields first_name,email 2>err | grep -c -F "$NAME,$EMAIL" >found
is "$(cat found)" "1" "crm-export on PostgreSQL opens the sealed cells with the key"
CRM_KEY_FILE= crm-export --db "$U" -t contact >/dev/null 2>err; is "$?" "2" "and without the key refuses"
like "$(cat err)" "is encrypted: give its key file" "saying why"
crm-events --db "$U" -f ndjson --entity merge --op done --limit 2 >m.events
is "$(jq -r '.entity + " " + .op' m.events | sort -u)" "merge done" "filtered by kind and operation"

# Followed: a commit wakes the reader at once (LISTEN/NOTIFY), not at its
# next look (30 s away).
last=$(psql -At "$U" -c "select max(seq) from events")
crm-events --db "$U" --follow --since "$last" --interval 30 -f ndjson --limit 1 >f.events 2>f.err &
fpid=$!
sleep 1
t0=$(date +%s)
psql -q "$U" -c "update deals set stage = 'follow-test' where id = (select min(id) from deals)"
i=0; while kill -0 $fpid 2>/dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
kill $fpid 2>/dev/null; wait $fpid 2>/dev/null
is "$(jq -r '.entity + " " + .op + " " + (.payload.changed | join(","))' f.events)" "deal update stage" \
	"crm-events --follow on PostgreSQL prints the change"
[ $(( $(date +%s) - t0 )) -lt 10 ]; ok $? "within seconds of the commit, not at the 30 s interval"

# New writes go on after the copied history, never reusing a number.
psql -q "$U" -c "insert into contacts (id, source, src_key, created_at, updated_at) values ('c_new', 'psql', 'k1', 't', 't'); update contacts set city = 'Oslo', title = 'CTO' where id = 'c_new'" 2>&1
is "$(psql -At "$U" -c "select seq - $max || ' ' || op || ' ' || coalesce(payload::text, '') from events where entity_id = 'c_new' order by seq" | tr '\n' '|')" \
	"2 insert |3 update {\"changed\":[\"title\",\"city\"]}|" "an insert and an update after the copy: the next seq (after the followed one), the changed columns"
sqlite3 crm.db "insert into contacts (id, source, src_key, created_at, updated_at) values ('c_new', 'psql', 'k1', 't', 't'); update contacts set city = 'Oslo', title = 'CTO' where id = 'c_new'; select payload from events where entity_id = 'c_new' and op = 'update'" >sq.payload
is "$(cat sq.payload)" '{"changed":["title","city"]}' "the same payload SQLite's trigger writes"
sqlite3 crm.db "delete from contacts where id = 'c_new'; delete from events where entity_id = 'c_new'"
psql -At "$U" -c "LISTEN crm_events; UPDATE deals SET stage = 'closing' WHERE id = (SELECT min(id) FROM deals);" >notify.out 2>&1
like "$(cat notify.out)" 'notification "crm_events"' "a change wakes the listeners of crm_events"
is "$(psql -At "$U" -c "select stage from deal_stages where deal_id = (select min(id) from deals) order by at desc, stage limit 1")" "closing" \
	"and the stage history grows"
printf 'email,first_name\nnew@example.com,Newname\n' | crm-import --db "$U" -t contact >/dev/null 2>err
ok $? "crm-import with the key on PostgreSQL"
is "$(psql -At "$U" -c "select count(*) from contacts where email not like 'enc:%' or (email is not null and email_bi is null)")" \
	"0" "seals what it writes: no email in clear, every one indexed"
crm-export --db "$U" -t contact -w email=new@example.com -f csv --fields first_name 2>/dev/null | tail -1 >found
is "$(cat found)" "Newname" "found again by its blind index, opened"
crm-export --db "$U" -t contact -w first_name=Newname -f csv --fields email 2>/dev/null | tail -1 >found
is "$(cat found)" "new@example.com" "and by a sealed field without an index, opened row by row"

# ---- and back: the same data
crm-db copy "$U" back.db >/dev/null 2>err; ok $? "copy PostgreSQL to a new SQLite file"
is "$(sqlite3 back.db "select count(*) from contacts where id = 'c_new'; select seq from sqlite_sequence where name = 'events'" | tr '\n' ' ')" \
	"1 $(psql -At "$U" -c "select max(seq) from events") " "with what was written on PostgreSQL, and its counter"
U3=$(pg_newdb copy3); pg_newdb copy3_keys >/dev/null
crm-db copy -q crm.db "$U3" >/dev/null 2>&1 && crm-db copy -q "$U3" back3.db >/dev/null 2>&1
ok $? "a second round trip, untouched"
python3 "$TOP"/tests/cli/dbcmp.py crm.db back3.db >cmp.out 2>&1; ok $? "SQLite -> PostgreSQL -> SQLite: every table the same ($(tail -1 cmp.out))"
[ -s back3.db.keys ]; ok $? "the key store came back with it (back3.db.keys)"
crm-export --db back3.db -t contact -f csv --fields first_name,email 2>/dev/null | grep -c -F "$NAME,$EMAIL" >found
is "$(cat found)" "1" "the copy opens with the key: sealed cells stayed bound to their rows"

# ---- refusals, and nothing half-done
crm-db copy crm.db "$U" >/dev/null 2>err; is "$?" "65" "into a database that is not empty: refused"
like "$(cat err)" "is not empty" "and says why"
crm-db copy crm.db back.db 2>err; is "$?" "65" "onto an existing file with rows: refused"
like "$(cat err)" "is not empty" "saying why"
crm-db copy nosuch.db "$(pg_newdb x1)" 2>err; is "$?" "66" "a missing source"
crm-db copy crm.db "postgresql://crm:secret@127.0.0.1:1/none" 2>err; is "$?" "69" "a server that is not there: unavailable"
like "$(cat err)" "crm:***@127.0.0.1" "the password is not printed"
cp crm.db bad.db
sqlite3 bad.db "update accounts set employees = 'lots' where rowid = (select max(rowid) from accounts)"
U4=$(pg_newdb copy4)
crm-db copy bad.db "$U4" 2>err; is "$?" "65" "a value the column cannot take: refused"
like "$(cat err)" "accounts, row" "naming the table and row"
is "$(crm-db count "$U4" | jq '.total - .rows.meta')" "0" "and nothing of the copy is left (but its mark)"
crm-db copy crm.db plain.db >/dev/null 2>&1; ok $? "SQLite to SQLite: the same path"
python3 "$TOP"/tests/cli/dbcmp.py crm.db plain.db >/dev/null 2>&1; ok $? "and the same data"
crm-db bogus 2>err; is "$?" "2" "an unknown command"
U5=$(pg_newdb init5); pg_newdb init5_keys >/dev/null
crm --db "$U5" init 2>err; ok $? "crm init on a PostgreSQL URL"
like "$(cat err)" "schema version 0 -> " "makes the schema there"
crm-transcribe --db "postgresql://crm:secret@127.0.0.1:1/x" /dev/null >/dev/null 2>err; is "$?" "69" \
	"crm-transcribe on a server that is not there: unavailable"
like "$(cat err)" "crm:***@127.0.0.1:1/x" "and says which"
grep -q secret err; is "$?" "1" "without printing the password"
[ ! -e postgresql: ]; ok $? "and makes no file of the URL"
crm db count crm.db | jq -e '.total > 0' >/dev/null; ok $? "crm db dispatches to crm-db"
is "$(crm-db count -f table crm.db | awk '$1 == "total" { print $2 }')" "$(jq .total src.count)" "count -f table: a row per table and the total"

done_testing
