#!/bin/sh
# scale.sh - millions of interactions without slower answers.
#
# The same generated CRM of BENCH_SCALE_CONTACTS contacts (default 20000)
# twice: with 100,000 interactions and with BENCH_SCALE_INTERACTIONS
# (default 10,000,000), on SQLite and on PostgreSQL (a throwaway cluster
# on loopback, when PostgreSQL is installed). Each is imported (timed),
# its lead model trained and every open lead scored; then crm-serve
# answers 50 connections for BENCH_SCALE_SECONDS (default 20) each of
#   reads    GET a contact, /v1/leads/top and next-action, in turn, each
#            rep asking about their own leads
#   rescore  POST /v1/interactions only: each write rescores its contact
# and the p50 and p99 at the large size are printed beside the small
# one's, with their ratio (the aim: about 1, the latency kept).
. "$(dirname "$0")/lib.sh"
N=${BENCH_SCALE_CONTACTS:-20000}
BIG=${BENCH_SCALE_INTERACTIONS:-10000000}
SECS=${BENCH_SCALE_SECONDS:-20}
command -v wrk >/dev/null || { echo "scale.sh: wrk is not installed (apt-get install wrk)" >&2; exit 1; }
srv= pg=
trap 'if [ -n "$srv" ]; then kill "$srv" 2>/dev/null || true; fi
      if [ -n "$pg" ]; then "$top"/scripts/pg-cluster stop "$pg"; rm -rf "$pg"; fi; rm -rf "$dir"' EXIT
ulimit -n 65536 2>/dev/null || ulimit -n 4096

"$top"/scripts/gen-sample -n "$N" -i 100000 "$dir/small" >/dev/null
"$top"/scripts/gen-sample -n "$N" -i "$BIG" "$dir/big" >/dev/null

# load DB DIR: import DIR into DB, train, score; the import's seconds.
load() {
	crm --db "$1" init 2>/dev/null
	t0=$(now)
	crm-import --db "$1" -q --output none "$2"/* 2>/dev/null
	t1=$(now)
	crm-score --db "$1" -t contact train -q >/dev/null
	crm-score --db "$1" -t contact --all -q >/dev/null
	echo "$t1 - $t0" | bc
}

# reps DB: five reps, a token each, and their open leads, for serve.lua.
reps() {
	crm-export --db "$1" -t contact -f csv --fields id,owner,outcome | tail -n +2 |
		awk -F, '$2 != "" && $3 == "" { print $2 "," $1 }' >"$dir/open.csv"
	printf 'reps = {\n' >"$dir/reps.lua"
	cut -d, -f1 "$dir/open.csv" | sort -u | while read -r owner; do
		tok=$(CRM_DB=$1 crm-serve token add "$owner" 2>/dev/null)
		ids=$(awk -F, -v o="$owner" '$1 == o { printf "%s\"%s\"", (n++ ? "," : ""), $2 }' "$dir/open.csv")
		printf '  { token = "%s", ids = { %s } },\n' "$tok" "$ids" >>"$dir/reps.lua"
	done
	printf '}\n' >>"$dir/reps.lua"
}

# measure DB LABEL: crm-serve on DB, the reads and the rescores; a JSON
# line each on stdout.
measure() {
	reps "$1"
	CRM_DB=$1 crm-serve --listen 127.0.0.1:0 --rate 0 --no-webhooks 2>"$dir/serve.log" &
	srv=$!
	for _ in $(seq 200); do grep -q listening "$dir/serve.log" 2>/dev/null && break; sleep 0.05; done
	U=$(sed -n 's/.*listening on //p' "$dir/serve.log")
	for run in reads rescore; do
		env REPS="$dir/reps.lua" RUN="$2-$run" $([ $run = rescore ] && echo WRITE_EVERY=1) \
			wrk -t2 -c50 -d"${SECS}s" --timeout 10s -s "$top/tests/bench/serve.lua" "$U" 2>/dev/null |
			grep '^{' | jq -c --arg r "$run" --arg s "$2" '. + {run: $r, size: $s}'
	done
	kill "$srv"
	wait "$srv" 2>/dev/null || true
	srv=
}

backends="sqlite"
if bin=$("$top"/scripts/pg-cluster bindir 2>/dev/null); then
	pg=$(mktemp -d /tmp/crm-bench-scale.XXXXXX)
	"$top"/scripts/pg-cluster start "$pg" >/dev/null
	port=$(cat "$pg/port")
	admin="postgresql://postgres@127.0.0.1:$port/postgres"
	psql -q "$admin" -c "CREATE DATABASE small OWNER crm" -c "CREATE DATABASE big OWNER crm"
	backends="sqlite postgresql"
else
	echo "scale.sh: PostgreSQL is not installed: SQLite only"
fi
echo "== $N contacts with 100000 and with $BIG interactions; $SECS s of 50 connections a run"
for b in $backends; do
	for size in small big; do
		if [ "$b" = sqlite ]; then db=$dir/$size.db; else db=postgresql://crm@127.0.0.1:$port/$size; fi
		secs=$(load "$db" "$dir/$size")
		rows=$(crm-db count "$db" | jq .rows.interactions)
		printf '%-10s %-5s import %8.1f s (%d interactions, %.0f rows/s)\n' "$b" "$size" "$secs" "$rows" \
			"$(echo "($rows + $N) / $secs" | bc -l)"
		measure "$db" "$size" >"$dir/$b-$size.json"
		jq -rs --arg b "$b" --arg s "$size" \
			'"\($b)\t\($s)\t\(.[0].p50_ms)\t\(.[0].p99_ms)\t\(.[1].p50_ms)\t\(.[1].p99_ms)"' "$dir/$b-$size.json" |
			awk -F'\t' '{ printf "%-10s %-5s reads p50 %.2f ms, p99 %.2f ms; rescore p50 %.2f ms, p99 %.2f ms\n", $1, $2, $3, $4, $5, $6 }'
		rm -f "$dir/$size.db"*
	done
	printf '%-10s %-8s %12s %12s %12s %12s %9s %9s\n' "$b" run p50_100k p99_100k "p50_big" "p99_big" "p50 x" "p99 x"
	for run in reads rescore; do
		s=$(jq -c "select(.run == \"$run\")" "$dir/$b-small.json")
		l=$(jq -c "select(.run == \"$run\")" "$dir/$b-big.json")
		printf '%s\n%s\n' "$s" "$l" | jq -rs --arg b "$b" --arg r "$run" \
			'"\($b)\t\($r)\t\(.[0].p50_ms)\t\(.[0].p99_ms)\t\(.[1].p50_ms)\t\(.[1].p99_ms)\t\(.[1].p50_ms / .[0].p50_ms)\t\(.[1].p99_ms / .[0].p99_ms)\t\(.[0].errors + .[0].http_errors + .[1].errors + .[1].http_errors)"' |
			awk -F'\t' '{ printf "%-10s %-8s %9.2f ms %9.2f ms %9.2f ms %9.2f ms %9.2f %9.2f%s\n", $1, $2, $3, $4, $5, $6, $7, $8, ($9 > 0 ? "  (" $9 " errors)" : "") }'
	done
done
