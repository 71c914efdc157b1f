#!/bin/sh
# fleet.sh - crm-serve as one, two and three processes, over an SQLite file
# and over PostgreSQL, side by side in one run.
#
# The CRM of serve.sh (serve-lib.sh) at BENCH_FLEET_CONTACTS contacts
# (default 20000), copied to a throwaway PostgreSQL cluster on loopback
# with crm db copy. For each backend and each number of processes: a
# warm-up of every process, then BENCH_FLEET_SECONDS (default 20) of reads
# and of the mixed load (10% writes, each rescoring its contact) with 500
# connections split evenly between the processes, one wrk for each. The
# processes, wrk and PostgreSQL share this machine's cores, so besides
# req/s and p99 (the worst of the processes') the table gives requests per
# CPU-second of the servers (crm-serve's, and on PostgreSQL the cluster's
# too). Every acknowledged write is counted in the database afterwards.
# Reference: pgbench's select-only and simple-update TPS on the same server.
# All of wrk's connections come from one address, as a load balancer's do,
# and the servers run with their default options.
. "$(dirname "$0")/lib.sh"
N=${BENCH_FLEET_CONTACTS:-20000}
SECS=${BENCH_FLEET_SECONDS:-20}
CONNS=${BENCH_SERVE_CONNECTIONS:-500}
command -v wrk >/dev/null || { echo "fleet.sh: wrk is not installed (apt-get install wrk)" >&2; exit 1; }
"$top"/scripts/pg-cluster bindir >/dev/null 2>&1 || { echo "fleet.sh: PostgreSQL is not installed: skipped"; exit 0; }
pg=$(mktemp -d /tmp/crm-bench-pg.XXXXXX)
pids=
trap 'for p in $pids; do kill "$p" 2>/dev/null || true; done; "$top"/scripts/pg-cluster stop "$pg"; rm -rf "$pg" "$dir"' EXIT
ulimit -n 65536 2>/dev/null || ulimit -n 4096
"$top"/scripts/pg-cluster start "$pg" >/dev/null
port=$(cat "$pg/port")
admin="postgresql://postgres@127.0.0.1:$port/postgres"
pgurl="postgresql://crm@127.0.0.1:$port/fleet"
psql -q "$admin" -c "CREATE DATABASE fleet OWNER crm"

export CRM_DB="$dir/crm.db"
. "$top/tests/bench/serve-lib.sh"
serve_load "$N"
crm-db copy -q "$CRM_DB" "$pgurl" >/dev/null
export REPS="$dir/reps.lua"
hz=$(getconf CLK_TCK)

# ticks PID... - CPU time used so far (user + system), in clock ticks
ticks() {
	for p in "$@"; do awk '{ print $14 + $15 }' "/proc/$p/stat" 2>/dev/null || echo 0; done |
		awk '{ s += $1 } END { print s + 0 }'
}
# The cluster's processes: the postmaster and its children.
pg_pids() {
	pm=$(head -1 "$pg/data/postmaster.pid")
	echo "$pm $(pgrep -P "$pm" | tr '\n' ' ')"
}
# start DB K - K crm-serve processes on DB; their pids in $pids, URLs in $dir/urls
start() {
	: >"$dir/urls"
	pids=
	for k in $(seq "$2"); do
		crm-serve --db "$1" --listen 127.0.0.1:0 --rate 0 --threads 4 --no-webhooks 2>"$dir/serve$k.log" &
		pids="$pids $!"
		for _ in $(seq 200); do grep -q listening "$dir/serve$k.log" 2>/dev/null && break; sleep 0.05; done
		sed -n 's/.*listening on //p' "$dir/serve$k.log" >>"$dir/urls"
	done
}
stop() {
	for p in $pids; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
	pids=
}
# load LABEL SECONDS [ENV...] - one wrk a process, CONNS split between
# them; one JSON line: the sums, the worst p99, and servers' CPU seconds
load() {
	label=$1 s=$2
	shift 2
	k=$(wc -l <"$dir/urls")
	srv="$pids"
	[ "$backend" = postgresql ] && srv="$srv $(pg_pids)"
	c0=$(ticks $srv)
	i=0 wpids=
	while read -r u; do
		i=$((i + 1))
		env RUN="$backend$k$label$i" "$@" wrk -t1 -c$((CONNS / k)) -d"${s}s" --timeout 10s \
			-s "$top/tests/bench/serve.lua" "$u" 2>/dev/null | grep '^{' >"$dir/w$i.json" &
		wpids="$wpids $!"
	done <"$dir/urls"
	for p in $wpids; do wait "$p" || true; done
	c1=$(ticks $srv)
	cat "$dir"/w*.json | jq -sc --arg l "$label" --argjson cpu "$(echo "($c1 - $c0) / $hz" | bc -l)" \
		'{run: $l, requests: (map(.requests) | add), rps: (map(.rps) | add), p99_ms: (map(.p99_ms) | max),
		  p50_ms: (map(.p50_ms) | max), errors: (map(.errors + .http_errors) | add),
		  acked: (map(.acked) | add), cpu_s: $cpu}'
	rm -f "$dir"/w*.json
}
count() {	# count - the benchmark's interactions in the database
	if [ "$backend" = postgresql ]; then
		psql -At "$pgurl" -c "select count(*) from interactions where external_id like 'bench-%'"
	else
		sqlite3 "$CRM_DB" "select count(*) from interactions where external_id like 'bench-%'"
	fi
}

printf '\ncrm-serve fleet: %s contacts, %d connections split between the processes, %d s a run\n' "$N" "$CONNS" "$SECS"
printf '(wrk, crm-serve and PostgreSQL share this machine'"'"'s %s cores)\n' "$(nproc)"
printf '%-10s %5s %-6s %9s %8s %8s %8s %6s %7s %9s %s\n' backend procs run requests req/s p50_ms p99_ms errors cpu_s req/cpu_s writes
for backend in sqlite postgresql; do
	db=$CRM_DB
	[ "$backend" = postgresql ] && db=$pgurl
	for k in 1 2 3; do
		start "$db" "$k"
		load warm 10 WARM_ALL=1 >/dev/null
		reads=$(load reads "$SECS")
		before=$(count)
		mixed=$(load mixed "$SECS" WRITE_EVERY=10)
		after=$(count)
		stop
		for j in "$reads" "$mixed"; do
			w=-
			if [ "$(printf '%s' "$j" | jq -r .run)" = mixed ]; then
				a=$(printf '%s' "$j" | jq .acked)
				w=$([ "$a" -le $((after - before)) ] && echo "$a acked, none lost" || echo "LOST $((a - after + before)) of $a")
			fi
			printf '%s\n' "$j" | jq -r --arg b "$backend" --arg k "$k" --arg w "$w" \
				'[$b, $k, .run, .requests, .rps, .p50_ms, .p99_ms, .errors, .cpu_s,
				  (if .cpu_s > 0 then .requests / .cpu_s else 0 end), $w] | @tsv' |
				awk -F'\t' '{ printf "%-10s %5s %-6s %9d %8d %8.2f %8.2f %6d %7.1f %9d %s\n",
					$1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11 }' | tee -a "$dir/table"
		done
	done
done
# The ratio PostgreSQL / SQLite, run by run.
awk '$1 == "sqlite" { r[$2 " " $3] = $5; c[$2 " " $3] = $10 }
     $1 == "postgresql" && r[$2 " " $3] > 0 {
	printf "postgresql/sqlite, %s process(es), %s: req/s %.2f, req/cpu_s %.2f\n", $2, $3, $5 / r[$2 " " $3], $10 / c[$2 " " $3] }' \
	"$dir/table"

# What the same server does for pgbench's own transactions.
createdb -h 127.0.0.1 -p "$port" -U postgres pgb
pgbench -q -i -s 10 -h 127.0.0.1 -p "$port" -U postgres pgb >/dev/null 2>&1
for mode in -S -N; do
	tps=$(pgbench -h 127.0.0.1 -p "$port" -U postgres -c 8 -j 2 -T 10 $mode pgb 2>/dev/null |
		sed -n 's/^tps = \([0-9.]*\) .*/\1/p')
	printf 'reference: pgbench %s, 8 clients, 10 s: %.0f tps\n' \
		"$([ "$mode" = -S ] && echo select-only || echo simple-update)" "$tps"
done
