#!/bin/sh
# crm-doctor: every check on a sound setup; each check failing (or
# warning) when what it checks is broken: the database missing, its schema
# behind, its pages damaged, the key file gone or readable by others, a
# model stale or drifting, the speech model missing, the language-model
# server down or wanting a key. One line per check, NDJSON in a pipe,
# exit 1 on a failure.
# backends: sqlite postgresql
. "$(dirname "$0")/lib.sh"

python3 "$TOP/tests/cli/llm-server.py" port srv.log sekrit 2>srv.err &
srv=$!
trap 'kill $srv 2>/dev/null; rm -rf "$T"' EXIT
for _ in $(seq 50); do [ -s port ] && break; sleep 0.1; done
LLM=http://127.0.0.1:$(cat port)

status() {	# status FILE CHECK: the status of a check in a doctor's NDJSON
	jq -r --arg c "$2" 'select(.check == $c) | .status' "$1"
}

crm init 2>/dev/null
"$TOP"/scripts/gen-sample -n 1500 -s 3 sample >/dev/null
crm-import -q sample/* >/dev/null
crm-score train -q -t contact >/dev/null 2>&1
crm-score train -q -t deal >/dev/null 2>&1
crm-score --all -q -t contact >/dev/null
crm-score --all -q -t deal >/dev/null

CRM_LLM_API_KEY=sekrit crm-doctor --llm-url "$LLM/v1" >ok.ndjson 2>err
is "$?" "0" "a sound setup: exit 0 $(cat err)"
is "$(jq -r .check ok.ndjson | tr '\n' ' ')" \
	"database.open database.schema database.integrity database.wal keys model.contact model.contact.drift model.deal model.deal.drift disk speech llm " \
	"one line per check, in order"
is "$(jq -r 'select(.status != "ok" and .status != "skip") | .check' ok.ndjson)" "" "none fails or warns"
is "$(jq -r 'select(.detail == "") | .check' ok.ndjson)" "" "each says what it found"
if on_pg; then
	like "$(jq -r 'select(.check == "database.open") | .detail' ok.ndjson)" "PostgreSQL 1" "the server and its version"
	is "$(status ok.ndjson database.integrity)" "skip" "PostgreSQL checks its own pages"
else
	like "$(jq -r 'select(.check == "database.open") | .detail' ok.ndjson)" "SQLite 3." "SQLite and its version"
	is "$(status ok.ndjson database.integrity)" "ok" "quick_check on SQLite"
fi
like "$(jq -r 'select(.check == "model.contact") | .detail' ok.ndjson)" "AUC 0." "the model's AUC and age"
is "$(jq -r 'select(.check == "llm") | .detail' ok.ndjson)" "127.0.0.1:$(cat port) answers 200" "the model server answers its model list"
is "$(jq -r 'select(.method == "GET") | .path' srv.log | tail -1)" "/v1/models" "at /v1/models"
crm-doctor --llm-url "$LLM" -f table >table.txt 2>/dev/null
like "$(head -1 table.txt)" "status" "a table when asked"

# The model server: without its key, and down.
crm-doctor --llm-url "$LLM" >k.ndjson 2>/dev/null
is "$?:$(status k.ndjson llm)" "0:warn" "a server that wants a key: a warning"
crm-doctor --llm-url http://127.0.0.1:9 >d.ndjson 2>/dev/null
is "$?:$(status d.ndjson llm)" "1:fail" "a server that does not answer: exit 1"
like "$(jq -r 'select(.check == "llm") | .detail' d.ndjson)" "127.0.0.1:9: " "naming it"

# Models: stale, and drifting.
crm-doctor --max-model-age 0 >s.ndjson 2>/dev/null
is "$?:$(status s.ndjson model.contact)" "0:warn" "a model older than --max-model-age: a warning, not a failure"
m=$(q "select id from models where entity = 'contact' and active = 1")
later=$(date -u -d '+1 day' +%Y-%m-%dT%H:%M:%S.000Z)
# The 40 leads it liked best turn out lost.
ids=$(q "select entity_id from scores where model_id = '$m' order by probability desc limit 40" | sed "s/.*/'&'/" | paste -sd, -)
dbsql "UPDATE contacts SET outcome = 'lost', outcome_at = '$later' WHERE id IN ($ids)" >/dev/null
crm-doctor >dr.ndjson 2>/dev/null
is "$(status dr.ndjson model.contact.drift)" "warn" "predictions that do not hold since training: drift"
like "$(jq -r 'select(.check == "model.contact.drift") | .detail' dr.ndjson)" "40 scored contacts closed since training: predicted" "with the figures"
like "$(jq -r 'select(.check == "model.contact.drift") | .detail' dr.ndjson)" "observed 0%" "none converted"

# The speech model.
crm-doctor --model-dir "$T/none" >sp.ndjson 2>/dev/null
is "$?:$(status sp.ndjson speech)" "0:warn" "no speech model: a warning (transcripts still work)"

# Keys: a key file that is gone; one readable by others.
CRM_KEY_FILE=$T/nokey crm-doctor >nk.ndjson 2>/dev/null
is "$?:$(status nk.ndjson keys)" "1:fail" "a key file that cannot be read: exit 1"
crm-key init --key-file master.key >/dev/null 2>&1
chmod 644 master.key
crm-doctor --key-file master.key >km.ndjson 2>/dev/null
is "$?:$(status km.ndjson keys)" "1:fail" "a key file others can read: refused, exit 1"
like "$(jq -r 'select(.check == "keys") | .detail' km.ndjson)" "chmod 600" "saying what to do"
chmod 600 master.key
crm-doctor --key-file master.key >ko.ndjson 2>/dev/null
is "$(status ko.ndjson keys)" "ok" "0600: ok ($(jq -r 'select(.check == "keys") | .detail' ko.ndjson))"

# The database: missing, behind, damaged (SQLite's file).
crm-doctor --db "$T/nosuch.db" >no.ndjson 2>/dev/null
is "$?:$(status no.ndjson database.open):$(status no.ndjson database.schema)" "1:fail:skip" \
	"no database: exit 1, the checks that need it skipped"
if on_pg; then
	skip "a schema behind and damaged pages: SQLite's file"
else
	cp "$CRM_DB" old.db
	sqlite3 old.db "PRAGMA user_version = 3"
	crm-doctor --db old.db >old.ndjson 2>/dev/null
	is "$?:$(status old.ndjson database.schema)" "1:fail" "a schema behind this build: exit 1"
	like "$(jq -r 'select(.check == "database.schema") | .detail' old.ndjson)" "run 'crm init'" "saying what to do"
	cp "$CRM_DB" bad.db
	sqlite3 bad.db "PRAGMA wal_checkpoint(TRUNCATE)" >/dev/null
	pages=$(sqlite3 bad.db "PRAGMA page_count")
	# Scribble over a page of an index near the end of the file.
	dd if=/dev/urandom of=bad.db bs=4096 seek=$((pages - 3)) count=1 conv=notrunc 2>/dev/null
	crm-doctor --db bad.db >bad.ndjson 2>/dev/null
	is "$?" "1" "damaged pages: exit 1"
	like "$(jq -r 'select(.status == "fail") | .check' bad.ndjson)" "database." "found by a database check"
fi
done_testing
