#!/bin/sh
# Faults on the fleet path, injected on purpose into a PostgreSQL server
# of this test's own (it is restarted, stopped and has its backends
# terminated): crm-serve answers again within seconds with no restart of
# its own, says it is degraded while the database is away, keeps its
# event streams and its audit trail whole; imports facing a restart or
# terminated backends count every row and land each once; crm-events
# --follow carries on. After each fault the invariants are checked from
# the database itself.
. "$(dirname "$0")/lib.sh"

command -v curl >/dev/null || skip_all "no curl"
"$TOP"/scripts/pg-cluster bindir >/dev/null 2>&1 || skip_all "PostgreSQL is not installed"
pgdir=$(mktemp -d "${TMPDIR:-/tmp}/crm-faults.XXXXXX")
trap 'kill $srv $follow 2>/dev/null; "$TOP"/scripts/pg-cluster stop "$pgdir"; rm -rf "$pgdir" "$T"' EXIT
CRM_DB=$("$TOP"/scripts/pg-cluster start "$pgdir") || { echo "Bail out! cannot start PostgreSQL"; exit 1; }
export CRM_DB
bin=$("$TOP"/scripts/pg-cluster bindir)
port=$(cat "$pgdir/port")
pgctl() {	# pgctl ARGS - pg_ctl on this test's server, as its owner
	if [ "$(id -u)" = 0 ]; then
		runuser -u postgres -- "$bin/pg_ctl" -D "$pgdir/data" -l "$pgdir/server.log" "$@" >/dev/null 2>&1
	else
		"$bin/pg_ctl" -D "$pgdir/data" -l "$pgdir/server.log" "$@" >/dev/null 2>&1
	fi
}
opts="-c listen_addresses=127.0.0.1 -p $port -c unix_socket_directories=$pgdir -c fsync=off -c max_connections=200"
restart() { pgctl -m fast -w restart -o "$opts"; }
stop() { pgctl -m fast -w stop; }
start() { pgctl -w start -o "$opts"; }
terminate() {	# every backend of role crm but this one
	psql -q -X -At "$CRM_DB" -c "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
		WHERE usename = 'crm' AND pid <> pg_backend_pid()" >/dev/null
}
pq() { psql -q -X -At "$CRM_DB" -c "$1"; }
within() {	# within SECONDS CMD... - run CMD until it succeeds; the seconds it took, or fail
	_t0=$(date +%s.%N) _lim=$1
	shift
	while ! "$@" >/dev/null 2>&1; do
		[ "$(echo "$(date +%s.%N) - $_t0 > $_lim" | bc)" = 1 ] && return 1
		sleep 0.1
	done
	echo "$(date +%s.%N) - $_t0" | bc
}

crm init 2>/dev/null
"$TOP"/scripts/gen-sample -n 300 -s 5 sample
crm-import -q sample/* >/dev/null
crm-score train -q -t contact >/dev/null 2>&1 && crm-score --all -q -t contact >/dev/null 2>&1
adm=$(crm-serve token add root --role admin 2>/dev/null)
H="Authorization: Bearer $adm"
C=$(pq "SELECT id FROM contacts ORDER BY id LIMIT 1")

# --- crm-serve across a restart, a stop and terminated backends -----------
serve_start --rate 0
get() { curl -s -o /dev/null -w '%{http_code}' -H "$H" "$U/v1/contacts/$C"; }
ok200() { [ "$(get)" = 200 ]; }
reads=0
for _ in 1 2 3; do [ "$(get)" = 200 ] && reads=$((reads + 1)); done
is "$reads" "3" "three reads before any fault"
curl -s -N -H "$H" "$U/v1/events?since=$(pq 'SELECT max(seq) FROM events')" >stream.out &
follow=$!
sleep 0.3

restart
t=$(within 5 ok200)
ok $? "after a restart, crm-serve answers 200 again within 5 s (it took ${t:-more than 5} s)"
reads=$((reads + 1))
for _ in 1 2 3 4 5; do [ "$(get)" = 200 ] && reads=$((reads + 1)); done
is "$reads" "9" "and every read after it is answered"

terminate
n=0
for _ in $(seq 10); do [ "$(get)" = 200 ] && n=$((n + 1)); done
is "$n" "10" "backends terminated under idle connections: 10 of 10 reads answered"
reads=$((reads + 10))

stop
curl -s -D hdr -o body -H "$H" "$U/v1/contacts/$C"
like "$(head -1 hdr)" "503" "the database stopped: 503"
like "$(cat hdr)" "Retry-After: 1" "with Retry-After"
like "$(jq -r .message body)" "nothing was written; try again" "and a message that says what to do"
curl -s -o health.json -w '%{http_code}' "$U/v1/health" >code
is "$(cat code) $(jq -r .status health.json)" "503 degraded" "/v1/health: degraded while the database is away"
start
t=$(within 5 ok200)
ok $? "the database back: answered again within 5 s (${t:-more than 5} s)"
reads=$((reads + 1))
is "$(curl -s "$U/v1/health" | jq -r .status)" "ok" "/v1/health: ok again"

# A write through the API after the faults reaches the stream opened before them.
new=$(curl -s -X POST -H "$H" -H 'Content-Type: application/json' \
	--data-binary '{"first_name":"After","last_name":"Restart","email":"after.restart@faults.example"}' \
	"$U/v1/contacts" | jq -r .id)
like "$new" "c_" "a write after the faults is acknowledged"
got=""
for _ in $(seq 50); do grep -q "\"id\":\"$new\"" stream.out && { got=1; break; }; sleep 0.1; done
is "$got" "1" "the event stream opened before the restart and the stop carries the new contact"
kill $follow 2>/dev/null

# Webhooks after the faults: what crosses is delivered, each once.
rm -f port hook.log
python3 "$TOP/tests/cli/hook-receiver.py" port hook.log 0 200 &
rcv=$!
for _ in $(seq 50); do [ -s port ] && break; sleep 0.1; done
pq "update scores set score = 10" >/dev/null
crm-serve hook add "http://127.0.0.1:$(cat port)/hooks/crm" --events score.crossed --threshold 50 >/dev/null 2>&1
restart
pq "update scores set score = 90 where entity_id in (select entity_id from scores order by entity_id limit 10)" >/dev/null
for _ in $(seq 100); do [ "$(cat hook.log 2>/dev/null | wc -l)" -ge 10 ] && break; sleep 0.1; done
sleep 1
is "$(wc -l <hook.log | tr -d ' ')" "10" "webhooks after a restart: 10 crossings, 10 deliveries"
kill $rcv; wait $rcv 2>/dev/null

# The trail: one entry for every read answered, none lost to the faults.
sleep 0.5
kill "$srv"; wait "$srv" 2>/dev/null
is "$(pq "SELECT count(*) FROM audit_log WHERE action = 'api-read' AND entity_id = '$C'")" "$reads" \
	"the audit trail has every read that was answered ($reads)"
is "$(pq "SELECT count(*) FROM audit_log WHERE action = 'api-create' AND entity_id = '$new'")" "1" \
	"and the write"
is "$(grep -c 'entries lost' serve.log)" "0" "no audit entry was dropped"

# --- imports facing a restart and terminated backends ----------------------
python3 -c '
import sys
n = int(sys.argv[1])
print("external_id,first_name,last_name,email,company")
for i in range(n):
    print(f"F{i},First{i},Last{i},f{i}@faults{i % 97}.example,Fault Co {i % 300}")
' 60000 >big.csv
check_import() {	# check_import WHAT SOURCE - the invariants after an import under a fault
	rows=$(sed -n 's/.*: \([0-9]*\) rows: .*/\1/p' imp.err)
	ins=$(sed -n 's/.* rows: \([0-9]*\) inserted.*/\1/p' imp.err)
	rej=$(sed -n 's/.*, \([0-9]*\) rejected.*/\1/p' imp.err)
	is "$rows" "60000" "$1: every row read ($(head -1 imp.err))"
	is "$((ins + rej))" "60000" "$1: every row inserted or rejected"
	is "$(pq "SELECT count(*) || ' ' || count(DISTINCT external_id) FROM contacts WHERE source = '$2'")" \
		"$ins $ins" "$1: the database holds what was counted, each once"
	is "$(wc -l <imp.out | tr -d ' ')" "$ins" "$1: the records out are the records in"
}
(crm-import --source r1 --output ndjson big.csv >imp.out 2>imp.err) &
imp=$!
sleep 1
restart
wait $imp
check_import "a restart during an import" r1

(crm-import --source r2 --output ndjson big.csv >imp.out 2>imp.err) &
imp=$!
sleep 1
terminate
sleep 0.5
terminate
wait $imp
check_import "backends terminated twice during an import" r2

# --- a synchronous standby that never answers ---------------------------------
# The server commits here and waits for a standby for ever: the tools
# wait their patience, cancel the wait and report what the server then
# says - committed here - instead of rows lost.
serve_start --rate 0
psql -q -X "postgresql://postgres@127.0.0.1:$port/postgres" -c "ALTER SYSTEM SET synchronous_standby_names = 'nobody'" \
	-c "SELECT pg_reload_conf()" >/dev/null
head -11 big.csv >ten.csv
crm-import --source sync --busy-timeout 1 --output ndjson ten.csv >imp.out 2>imp.err
is "$?" "0" "an import with a standby that never answers ends"
like "$(cat imp.err)" "10 rows: 10 inserted" "every row counted as written: $(cat imp.err)"
is "$(pq "SELECT count(*) FROM contacts WHERE source = 'sync'")" "10" "and they are in the database"
out=$(curl -s -m 60 -w ' %{http_code} %{time_total}' -X POST -H "$H" -H 'Content-Type: application/json' \
	--data-binary '{"first_name":"Sync","last_name":"Wait","email":"sync.wait@faults.example"}' "$U/v1/contacts")
like "$out" " 201" "a POST with the standby away: 201, the contact stored here"
kill "$srv"; wait "$srv" 2>/dev/null
is "$(pq "SELECT count(*) FROM contacts WHERE email = 'sync.wait@faults.example'")" "1" \
	"and it is in the database"
psql -q -X "postgresql://postgres@127.0.0.1:$port/postgres" -c "ALTER SYSTEM RESET synchronous_standby_names" \
	-c "SELECT pg_reload_conf()" >/dev/null

# --- crm-events --follow carries on across a restart -------------------------
crm-events --follow --since "$(pq 'SELECT max(seq) FROM events')" >follow.out 2>follow.err &
follow=$!
sleep 0.5
restart
printf 'external_id,first_name,email\nZ1,Zed,zed@faults.example\n' >z.csv
crm-import -q --source z z.csv >/dev/null
got=""
for _ in $(seq 50); do grep -q '"entity":"contact"' follow.out && { got=1; break; }; sleep 0.1; done
is "$got" "1" "crm-events --follow, started before a restart, prints a contact imported after it"
ok "$(kill -0 $follow 2>/dev/null; echo $?)" "and it is still following"
kill $follow 2>/dev/null


# --- crm db copy killed at any point: a destination with no rows, or all ---
src=$T/src.db
CRM_KEY_FILE=$T/master.key CRM_DB=$src crm init 2>/dev/null
CRM_KEY_FILE=$T/master.key CRM_DB=$src crm-key init 2>/dev/null
CRM_KEY_FILE=$T/master.key CRM_DB=$src crm-import -q --source c big.csv >/dev/null
want=$(crm-db count "$src" | jq .total)
dst=$(echo "$CRM_DB" | sed 's,/crm$,/copied,')
psql -q -X "postgresql://postgres@127.0.0.1:$port/postgres" -c "CREATE DATABASE copied OWNER crm" \
	-c "CREATE DATABASE copied_keys OWNER crm" >/dev/null
crm-db init -q "$dst"
halves=0
for ms in 50 200 400 700 1000; do
	crm-db copy -q "$src" "$dst" >/dev/null 2>&1 &
	cp=$!
	sleep "$(echo "$ms / 1000" | bc -l)"
	kill -9 $cp 2>/dev/null
	wait $cp 2>/dev/null
	got=$(crm-db count "$dst" | jq .total)
	if [ "$got" != "$want" ]; then	# none but the mark, and refused
		[ "$(crm-db count "$dst" | jq '.total - .rows.meta')" = 0 ] || halves=$((halves + 1))
		crm-export --db "$dst" -t contact >/dev/null 2>err && halves=$((halves + 1))
		grep -q "did not finish" err || halves=$((halves + 1))
	fi
	[ "$got" = "$want" ] && break
done
is "$halves" "0" "crm db copy killed -9 at 50 ms to 1 s: the destination had all its rows, or none and was refused by the tools, saying why"
if [ "$(crm-db count "$dst" | jq .total)" != "$want" ]; then
	crm-db copy -q "$src" "$dst" >/dev/null 2>err
	ok $? "and a second run completes the copy $(cat err)"
else
	skip "a second run: the copy finished before it was killed"
fi
is "$(crm-db count "$dst" | jq .total)" "$want" "every row is there"
is "$(CRM_KEY_FILE=$T/master.key crm-export --db "$dst" -t contact -w external_id=F123 -f csv --fields email | tail -1)" \
	"f123@faults26.example" "and every sealed cell opens with its key"


# --- nothing in clear on the wire: the server's statement log ---------------
# Every statement and its parameters logged; the tools work on sealed
# people the ways a user would; no name or address of theirs reaches the
# server in clear.
admin="postgresql://postgres@127.0.0.1:$port/postgres"
psql -q -X "$admin" -c "CREATE DATABASE sealed OWNER crm" -c "CREATE DATABASE sealed_keys OWNER crm" \
	-c "ALTER DATABASE sealed SET log_statement = 'all'" -c "ALTER DATABASE sealed_keys SET log_statement = 'all'" >/dev/null
sdb=$(echo "$CRM_DB" | sed 's,/crm$,/sealed,')
export CRM_KEY_FILE=$T/sealed.key
CRM_DB=$sdb crm init 2>/dev/null
CRM_DB=$sdb crm-key init 2>/dev/null
printf '%s\n' 'external_id,first_name,last_name,email,phone,company' \
	'S1,Quillonby,Harrowgate,quillonby.harrowgate@wirecanary.example,+44 20 7946 0991,Wire Co' \
	'S2,Ann,Lee,ann.lee@wirecanary.example,+44 20 7946 0992,Wire Co' >people.csv
printf '%s\n' '{"type":"interaction","external_id":"W1","kind":"email","occurred_at":"2026-11-02T10:00:00Z","contact":"quillonby.harrowgate@wirecanary.example","subject":"hello"}' >ints.ndjson
CRM_DB=$sdb crm-import -q people.csv >/dev/null 2>err; ok $? "sealed people imported $(cat err)"
CRM_DB=$sdb crm-import -q ints.ndjson >/dev/null 2>err; ok $? "an interaction naming its contact by address $(cat err)"
is "$(psql -q -X -At "$sdb" -c "select count(*) from interactions where contact_id is not null")" "1" "and it found the contact"
is "$(CRM_DB=$sdb crm-export -t contact -w email=quillonby.harrowgate@wirecanary.example -f csv --fields first_name | tail -1)" \
	"Quillonby" "export filtered by a sealed address"
CRM_DB=$sdb crm-dedupe --all -q >/dev/null 2>&1
tok=$(CRM_DB=$sdb crm-serve token add wire --role admin 2>/dev/null)
CRM_DB=$sdb serve_start --rate 0
is "$(curl -s -H "Authorization: Bearer $tok" "$U/v1/contacts?email=quillonby.harrowgate@wirecanary.example" | jq -r '.data[0].last_name')" \
	"Harrowgate" "the API filtered by a sealed address"
is "$(curl -s -H "Authorization: Bearer $tok" "$U/v1/contacts?first_name=Quillonby" | jq -r '.data[0].last_name')" \
	"Harrowgate" "and by a sealed name"
kill "$srv"; wait "$srv" 2>/dev/null
sleep 0.5
for c in Quillonby Harrowgate wirecanary "7946 0991" 79460991; do
	is "$(grep -c -i "$c" "$pgdir/server.log")" "0" "'$c' is not in the server's statement log"
done
n=$(grep -c 'statement:\|execute' "$pgdir/server.log")
is "$(echo "$n" | awk '{ print ($1 > 50) }')" "1" "(which logged the statements: $n lines)"
unset CRM_KEY_FILE

done_testing
