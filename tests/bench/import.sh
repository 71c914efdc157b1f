#!/bin/sh
# import.sh - crm-import against sqlite3's own .import, same file, same run.
#
# Generates N contacts (BENCH_ROWS, default 1000000) as CSV and as NDJSON,
# then times, BENCH_RUNS times each (default 3), on a fresh database:
#   reference  sqlite3 .import of the CSV into a plain table
#   csv        crm-import of the CSV: upsert, NDJSON records out
#   ndjson     crm-import of the NDJSON: the same
# and prints the median rows/s and the ratio to the reference, and the peak
# memory of crm-import at N/10 and N rows (streaming: it must not grow).
. "$(dirname "$0")/lib.sh"
N=${BENCH_ROWS:-1000000}
RUNS=${BENCH_RUNS:-3}

"$top"/scripts/gen-sample --contacts "$N" >"$dir/c.csv"
"$top"/scripts/gen-sample --contacts "$N" --ndjson >"$dir/c.ndjson"
head -n $((N / 10 + 1)) "$dir/c.csv" >"$dir/small.csv"
echo "rows: $N, CSV $(($(wc -c <"$dir/c.csv") / N)) bytes/row, runs: $RUNS (median)"


time_ref() {
	rm -f "$dir/ref.db"
	t0=$(now)
	sqlite3 "$dir/ref.db" -cmd '.mode csv' ".import $dir/c.csv t"
	t1=$(now)
	echo "$t1 - $t0" | bc
}

time_crm() {	# FILE
	rm -f "$dir/crm.db" "$dir/crm.db-wal" "$dir/crm.db-shm"
	crm --db "$dir/crm.db" init 2>/dev/null
	t0=$(now)
	crm-import --db "$dir/crm.db" -q -t contact "$1" >"$dir/out.ndjson"
	t1=$(now)
	[ "$(wc -l <"$dir/out.ndjson")" -eq "$N" ] || { echo "bench: wrong record count" >&2; exit 1; }
	echo "$t1 - $t0" | bc
}

ref=; csv=; nd=
for i in $(seq "$RUNS"); do
	ref="$ref $(time_ref)"
	csv="$csv $(time_crm "$dir/c.csv")"
	nd="$nd $(time_crm "$dir/c.ndjson")"
done
ref_s=$(echo "$ref" | tr ' ' '\n' | grep . | median)
csv_s=$(echo "$csv" | tr ' ' '\n' | grep . | median)
nd_s=$(echo "$nd" | tr ' ' '\n' | grep . | median)

rate() { echo "$N / $1" | bc; }
printf '%-34s %10s rows/s  (%s s)\n' "sqlite3 .import (reference)" "$(rate "$ref_s")" "$ref_s"
printf '%-34s %10s rows/s  (%s s)  ratio %.2f\n' "crm-import CSV, upsert + NDJSON" "$(rate "$csv_s")" "$csv_s" "$(echo "$ref_s / $csv_s" | bc -l)"
printf '%-34s %10s rows/s  (%s s)  ratio %.2f\n' "crm-import NDJSON, upsert + NDJSON" "$(rate "$nd_s")" "$nd_s" "$(echo "$ref_s / $nd_s" | bc -l)"

mem() {	# FILE -> peak RSS in KiB
	rm -f "$dir/m.db" "$dir/m.db-wal" "$dir/m.db-shm"
	/usr/bin/time -f %M crm-import --db "$dir/m.db" -q -t contact "$1" 2>&1 >/dev/null | tail -1
}
small=$(mem "$dir/small.csv")
big=$(mem "$dir/c.csv")
printf 'peak memory: %s KiB at %d rows, %s KiB at %d rows (ratio %.2f)\n' \
	"$small" $((N / 10)) "$big" "$N" "$(echo "$big / $small" | bc -l)"
