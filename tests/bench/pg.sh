#!/bin/sh
# pg.sh - the PostgreSQL road, measured against what a user would do
# instead, on one throwaway cluster on loopback (scripts/pg-cluster):
#
#   copy       crm db copy of N imported contacts with their events
#              (BENCH_PG_ROWS, default 1000000) from SQLite to PostgreSQL,
#              and back; reference: the same tables through sqlite3 -csv
#              piped into psql's \copy (no types, no counters, no checks),
#              and psql \copy out piped into sqlite3 .import
#   import     crm-import of N contacts (CSV: upsert, no records out) into
#              an SQLite file and into PostgreSQL, side by side; reference:
#              psql's \copy of the same CSV into a bare table (no keys, no
#              triggers: what the server ingests at most); and a re-import
#              of N/10 of them, every row unchanged, on both
#   score      a generated CRM of BENCH_PG_SCORE_ROWS contacts (default
#              N) with deals and interactions, imported, the contact
#              model trained, and crm-score --all, on both backends
#   events     crm-events --follow: commit-to-line latency, median of 20
#              commits, on PostgreSQL (LISTEN/NOTIFY) and on SQLite
#              (polling every --interval, 0.2 s by default)
#   pgbench    pgbench's own TPS on the same server (scale 10, 8 clients,
#              10 s, read-write and select-only): what PostgreSQL does here
#
# Medians of BENCH_RUNS runs (default 3).
. "$(dirname "$0")/lib.sh"
N=${BENCH_PG_ROWS:-1000000}
RUNS=${BENCH_RUNS:-3}
bin=$("$top"/scripts/pg-cluster bindir) || { echo "pg.sh: PostgreSQL is not installed: skipped"; exit 0; }
pg=$(mktemp -d /tmp/crm-bench-pg.XXXXXX)
trap '"$top"/scripts/pg-cluster stop "$pg"; rm -rf "$pg" "$dir"' EXIT
"$top"/scripts/pg-cluster start "$pg" >/dev/null
port=$(cat "$pg/port")
admin="postgresql://postgres@127.0.0.1:$port/postgres"
url() { echo "postgresql://crm@127.0.0.1:$port/$1"; }
newdb() { psql -q "$admin" -c "SET client_min_messages = warning" -c "DROP DATABASE IF EXISTS $1" -c "CREATE DATABASE $1 OWNER crm"; }

"$top"/scripts/gen-sample --contacts "$N" >"$dir/c.csv"
crm --db "$dir/crm.db" init 2>/dev/null
crm-import --db "$dir/crm.db" -q -t contact --output none "$dir/c.csv"
rows=$(crm-db count "$dir/crm.db" | jq .total)
echo "== copy: $N contacts, $rows rows in all (contacts, events, imports), runs: $RUNS (median)"

for r in $(seq "$RUNS"); do
	newdb c
	t0=$(now)
	crm-db copy -q "$dir/crm.db" "$(url c)" >/dev/null
	t1=$(now)
	echo "$t1 - $t0" | bc >>"$dir/to"
	rm -f "$dir/back.db"*
	t0=$(now)
	crm-db copy -q "$(url c)" "$dir/back.db" >/dev/null
	t1=$(now)
	echo "$t1 - $t0" | bc >>"$dir/from"
	# The reference: each table as CSV into an empty schema, and out again.
	newdb r
	crm-db init -q "$(url r)"
	psql -q "$(url r)" -c "ALTER TABLE events DISABLE TRIGGER USER" >/dev/null 2>&1 || true
	t0=$(now)
	for t in contacts events imports meta; do
		cols=$(sqlite3 "$dir/crm.db" "select group_concat(name, ',') from pragma_table_info('$t')")
		sqlite3 -csv "$dir/crm.db" "select $cols from $t" |
			psql -q "$(url r)" -c "SET crm.copy = 'on'" -c "\\copy $t ($cols) from stdin csv"
	done
	t1=$(now)
	echo "$t1 - $t0" | bc >>"$dir/refto"
	rm -f "$dir/ref.db"
	t0=$(now)
	for t in contacts events imports meta; do
		psql -q "$(url r)" -c "\\copy $t to stdout csv header" >"$dir/$t.csv"
		sqlite3 "$dir/ref.db" -cmd '.mode csv' ".import $dir/$t.csv $t"
	done
	t1=$(now)
	echo "$t1 - $t0" | bc >>"$dir/reffrom"
done
python3 "$top"/tests/cli/dbcmp.py "$dir/crm.db" "$dir/back.db" >"$dir/cmp" || { cat "$dir/cmp"; exit 1; }
for w in to from; do
	crm=$(median <"$dir/$w")
	ref=$(median <"$dir/ref$w")
	printf '%-28s crm db copy %6.2f s (%8.0f rows/s)   sqlite3|psql \\copy %6.2f s (%8.0f rows/s)   ratio %.2f\n' \
		"$([ $w = to ] && echo 'SQLite -> PostgreSQL' || echo 'PostgreSQL -> SQLite')" \
		"$crm" "$(echo "$rows / $crm" | bc -l)" "$ref" "$(echo "$rows / $ref" | bc -l)" "$(echo "$ref / $crm" | bc -l)"
done
echo "(the round trip gives every table back the same: $(tail -1 "$dir/cmp"))"

echo "== import: $N contacts from CSV, runs: $RUNS (median)"
head -n $((N / 10 + 1)) "$dir/c.csv" >"$dir/tenth.csv"
cols=$(head -1 "$dir/c.csv" | tr -d '\r' | sed 's/[^,]*/"&" text/g')
# timed FILE CMD...: run CMD, add its seconds to FILE.
timed() {
	f=$1
	shift
	t0=$(now)
	"$@"
	t1=$(now)
	echo "$t1 - $t0" | bc >>"$f"
}
for r in $(seq "$RUNS"); do
	rm -f "$dir/i.db"*
	crm --db "$dir/i.db" init 2>/dev/null
	timed "$dir/isq" crm-import --db "$dir/i.db" -q -t contact --output none "$dir/c.csv"
	newdb i
	crm --db "$(url i)" init 2>/dev/null
	timed "$dir/ipg" crm-import --db "$(url i)" -q -t contact --output none "$dir/c.csv"
	newdb b
	psql -q "$(url b)" -c "CREATE TABLE t ($cols)"
	timed "$dir/iref" psql -q "$(url b)" -c "\\copy t from '$dir/c.csv' csv header"
done
[ "$(crm-db count "$(url i)" | jq .rows.contacts)" = "$N" ] || { echo "pg.sh: PostgreSQL import lost rows" >&2; exit 1; }
for r in $(seq "$RUNS"); do
	timed "$dir/usq" crm-import --db "$dir/i.db" -q -t contact --output none "$dir/tenth.csv"
	timed "$dir/upg" crm-import --db "$(url i)" -q -t contact --output none "$dir/tenth.csv"
done
sq=$(median <"$dir/isq"); pq=$(median <"$dir/ipg"); ref=$(median <"$dir/iref")
printf '%-34s %9.0f rows/s  (%s s)\n' "SQLite: crm-import" "$(echo "$N / $sq" | bc -l)" "$sq"
printf '%-34s %9.0f rows/s  (%s s)  ratio to SQLite %.2f\n' "PostgreSQL: crm-import" \
	"$(echo "$N / $pq" | bc -l)" "$pq" "$(echo "$sq / $pq" | bc -l)"
printf '%-34s %9.0f rows/s  (%s s)  crm-import on PostgreSQL: ratio %.2f\n' "PostgreSQL: psql \\copy, bare table" \
	"$(echo "$N / $ref" | bc -l)" "$ref" "$(echo "$ref / $pq" | bc -l)"
sq=$(median <"$dir/usq"); pq=$(median <"$dir/upg")
printf 're-import of %d unchanged rows      SQLite %9.0f rows/s   PostgreSQL %9.0f rows/s   ratio %.2f\n' \
	$((N / 10)) "$(echo "$N / 10 / $sq" | bc -l)" "$(echo "$N / 10 / $pq" | bc -l)" "$(echo "$sq / $pq" | bc -l)"

S=${BENCH_PG_SCORE_ROWS:-$N}
echo "== score: a generated CRM of $S contacts with deals and interactions, one run each"
"$top"/scripts/gen-sample -n "$S" "$dir/sample" >/dev/null
newdb s
for db in "$dir/s.db" "$(url s)"; do
	crm --db "$db" init 2>/dev/null
	t0=$(now)
	crm-import --db "$db" -q --output none "$dir"/sample/*
	t1=$(now)
	crm-score --db "$db" -t contact train -q >"$dir/model.json"
	t2=$(now)
	crm-score --db "$db" -t contact --all -q >"$dir/scores.ndjson"
	t3=$(now)
	printf '%-10s import %7.1f s   train %6.1f s (AUC %s)   crm-score --all %6.1f s (%d scored, %8.0f records/s)\n' \
		"$(case $db in postgresql*) echo PostgreSQL ;; *) echo SQLite ;; esac)" \
		"$(echo "$t1 - $t0" | bc)" "$(echo "$t2 - $t1" | bc)" "$(jq -r .auc "$dir/model.json")" \
		"$(echo "$t3 - $t2" | bc)" "$(wc -l <"$dir/scores.ndjson")" \
		"$(echo "$(wc -l <"$dir/scores.ndjson") / ($t3 - $t2)" | bc -l)"
	echo "$t3 - $t2" | bc >>"$dir/stimes"
done
printf 'crm-score --all, PostgreSQL against SQLite: ratio %.2f\n' \
	"$(echo "$(head -1 "$dir/stimes") / $(tail -1 "$dir/stimes")" | bc -l)"

echo "== events: an event's time to its crm-events --follow line, median of 20 commits"
latency() {	# DB WRITER: seconds from each event's time ("at") to its line
	crm-events --db "$1" --follow -f ndjson --limit 20 2>/dev/null |
		while IFS= read -r l; do printf '%s %s\n' "$(date +%s.%N)" "$l"; done >"$dir/ev" &
	pid=$!
	sleep 1
	for i in $(seq 20); do
		$2 "update contacts set title = 'bench $i' where id = (select min(id) from contacts)"
		sleep 0.3
	done
	wait "$pid"
	python3 -c '
import sys, json, datetime, statistics
d = []
for l in open(sys.argv[1]):
    t, j = l.split(" ", 1)
    at = datetime.datetime.strptime(json.loads(j)["at"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=datetime.timezone.utc)
    d.append(float(t) - at.timestamp())
print(statistics.median(d))' "$dir/ev"
}
pgw() { psql -q "$(url c)" -c "$1"; }
sqw() { sqlite3 "$dir/crm.db" "$1"; }
newdb c
crm-db copy -q "$dir/crm.db" "$(url c)" >/dev/null
lp=$(latency "$(url c)" pgw)
ls=$(latency "$dir/crm.db" sqw)
printf 'PostgreSQL (LISTEN/NOTIFY) %.4f s   SQLite (polling every 0.2 s) %.4f s   ratio %.1f\n' "$lp" "$ls" "$(echo "$ls / $lp" | bc -l)"

echo "== pgbench on the same server (scale 10, 8 clients, 10 s): what PostgreSQL does here"
psql -q "$admin" -c "CREATE DATABASE bench" >/dev/null
"$bin"/pgbench -q -i -s 10 -h 127.0.0.1 -p "$port" -U postgres bench >/dev/null 2>&1
for mode in read-write select-only; do
	tps=$("$bin"/pgbench $([ $mode = select-only ] && echo -S) -c 8 -j 2 -T 10 -h 127.0.0.1 -p "$port" \
		-U postgres bench 2>/dev/null | sed -n 's/^tps = \([0-9.]*\).*/\1/p' | head -1)
	printf '%-12s %10.0f transactions/s\n' "$mode" "$tps"
done
