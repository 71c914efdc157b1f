#!/bin/sh
# serve.sh - crm-serve under load, with wrk on loopback.
#
# A CRM of BENCH_SERVE_CONTACTS contacts (default 100000) and ten times as
# many interactions, a trained and scored lead model, five reps with a
# token each. Then, 500 connections for BENCH_SERVE_SECONDS (default 60):
#   cold:   GET a contact, /v1/leads/top and next-action, in turn, each
#           rep asking about their own records, just after the start;
#   reads:  the same once every lead has been explained (target: 0 errors,
#           p99 < 50 ms);
#   mixed:  the same with 10% POST /v1/interactions, each rescoring its
#           contact (target p99 < 200 ms), as fast as answers come back;
#   users:  the mixed load of 500 users who wait 50-150 ms between
#           requests (target p99 < 200 ms); every acknowledged write of
#           both counted in the database afterwards (no lost writes).
# The reference, measured in the same run, is GET /v1/health: the server
# and the loop without the database. Last, a soak of BENCH_SOAK_SECONDS
# (default 1800; 0 skips it) at 100 connections of the mixed load,
# sampling the server's memory and open descriptors every 30 s.
# The rate limit is off: this measures capacity, not the limit.
. "$(dirname "$0")/lib.sh"
N=${BENCH_SERVE_CONTACTS:-100000}
SECS=${BENCH_SERVE_SECONDS:-60}
SOAK=${BENCH_SOAK_SECONDS:-1800}
CONNS=${BENCH_SERVE_CONNECTIONS:-500}
command -v wrk >/dev/null || { echo "serve.sh: wrk is not installed (apt-get install wrk)" >&2; exit 1; }
trap 'if [ -n "$srv" ]; then kill "$srv" 2>/dev/null || true; fi; rm -rf "$dir"' EXIT
srv=
ulimit -n 65536 2>/dev/null || ulimit -n 4096

export CRM_DB="$dir/crm.db"
. "$top/tests/bench/serve-lib.sh"
serve_load "$N"

crm-serve --listen 127.0.0.1:0 --rate 0 --threads 4 --no-webhooks ${BENCH_SERVE_LOG:+--access-log} 2>"$dir/serve.log" &
srv=$!
for _ in $(seq 100); do grep -q listening "$dir/serve.log" 2>/dev/null && break; sleep 0.05; done
U=$(sed -n 's/.*listening on //p' "$dir/serve.log")
export REPS="$dir/reps.lua"

run() {	# run LABEL CONNS SECONDS [ENV...] - one wrk run, its JSON line on stdout
	label=$1 c=$2 s=$3
	shift 3
	env RUN="$label" "$@" wrk -t2 -c"$c" -d"${s}s" --timeout 10s -s "$top/tests/bench/serve.lua" "$U" 2>/dev/null | grep '^{' |
		jq -c --arg l "$label" '. + {run: $l}'
}
# Cold: the first minute after a start, every explanation computed anew.
cold=$(run cold "$CONNS" "$SECS")
# Warm: a server that has been up a while has explained each lead once
# (the warm-up asks for every lead's next action, once per thread).
run warm 50 30 WARM_ALL=1 >/dev/null
ref=$(run health "$CONNS" "$SECS" ONLY=/v1/health)
reads=$(run reads "$CONNS" "$SECS")
before=$(sqlite3 "$CRM_DB" "select count(*) from interactions where external_id like 'bench-%'")
mixed=$(run mixed "$CONNS" "$SECS" WRITE_EVERY=10)
# The load of 500 users: each waits 50-150 ms between requests, so the
# load is what the users ask, not how fast answers come back (a closed
# loop saturates the server and measures its queue).
users=$(run users "$CONNS" "$SECS" WRITE_EVERY=10 PACE_MS=100)
after=$(sqlite3 "$CRM_DB" "select count(*) from interactions where external_id like 'bench-%'")

printf '\ncrm-serve on %s contacts, %d connections, %d s each (wrk, loopback, 2 cores shared with wrk)\n' "$N" "$CONNS" "$SECS"
printf '%-8s %10s %9s %9s %9s %9s %7s %12s\n' run requests req/s p50_ms p99_ms max_ms errors target
for j in "$ref" "$cold" "$reads" "$mixed" "$users"; do
	printf '%s\n' "$j" | jq -r '[.run, .requests, .rps, .p50_ms, .p99_ms, .max_ms, (.errors + .http_errors),
		(if .run == "reads" or .run == "cold" then "p99<50" elif .run == "mixed" or .run == "users" then "p99<200" else "reference" end)] | @tsv' |
		awk -F'\t' '{ printf "%-8s %10d %9d %9.2f %9.2f %9.2f %7d %12s\n", $1, $2, $3, $4, $5, $6, $7, $8 }'
done
printf '%s\n' "$reads" | jq -r --argjson r "$(printf '%s' "$ref" | jq .p99_ms)" \
	'"reads p99 \(.p99_ms) ms: ratio to target (50 ms) \(.p99_ms / 50 * 100 | round / 100), to the health reference \(.p99_ms / $r * 100 | round / 100)"'
printf '%s\n' "$mixed" | jq -r --argjson r "$(printf '%s' "$ref" | jq .p99_ms)" \
	'"mixed p99 \(.p99_ms) ms: ratio to target (200 ms) \(.p99_ms / 200 * 100 | round / 100), to the health reference \(.p99_ms / $r * 100 | round / 100)"'
printf '%s\n' "$users" | jq -r '"500 users (10% writes, 50-150 ms between requests): \(.rps) req/s, p99 \(.p99_ms) ms: ratio to target (200 ms) \(.p99_ms / 200 * 100 | round / 100)"'
acked=$(( $(printf '%s' "$mixed" | jq .acked) + $(printf '%s' "$users" | jq .acked) ))
printf 'writes: %d acknowledged (201), %d new rows in the database: %s\n' "$acked" $((after - before)) \
	"$([ "$acked" -le $((after - before)) ] && echo "none lost" || echo "LOST $((acked - after + before))")"

if [ "$SOAK" -gt 0 ]; then
	every=$((SOAK / 60))
	[ "$every" -lt 5 ] && every=5
	[ "$every" -gt 30 ] && every=30
	printf '\nsoak: %d s at 100 connections, 10%% writes; server memory and descriptors every %d s\n' "$SOAK" "$every"
	run soak 100 "$SOAK" WRITE_EVERY=10 >"$dir/soak.json" &
	w=$!
	printf '%6s %10s %5s\n' secs rss_kib fds
	i=0
	while kill -0 $w 2>/dev/null; do
		rss=$(awk '/^VmRSS/ { print $2 }' /proc/$srv/status)
		fds=$(ls /proc/$srv/fd | wc -l)
		printf '%6d %10d %5d\n' $((i * every)) "$rss" "$fds" | tee -a "$dir/soak.txt"
		i=$((i + 1))
		sleep "$every"
	done
	wait $w
	# Against the second sample: the first is taken before the load warms up.
	awk 'NR == 1 { f0 = $3; r1 = $2 } NR == 2 { r1 = $2; t1 = $1 } { r = $2; f = $3; if ($2 > m) m = $2 }
	     END { printf "soak: rss %d KiB at %d s, %d KiB at the end (%+.1f%%), peak %d KiB; open fds %d -> %d\n",
	           r1, t1, r, 100 * (r - r1) / r1, m, f0, f }' "$dir/soak.txt"
	jq -r '"soak: \(.requests) requests, \(.rps) req/s, p99 \(.p99_ms) ms, \(.errors + .http_errors) errors"' "$dir/soak.json"
fi
[ -n "${BENCH_SERVE_LOG:-}" ] && grep -v " 20[01] " "$dir/serve.log" | sort | uniq -c | sort -rn | head -5
kill $srv
wait $srv 2>/dev/null || true
srv=
