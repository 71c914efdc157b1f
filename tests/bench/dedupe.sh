#!/bin/sh
# dedupe.sh - crm-dedupe quality and speed.
#
#   Febrl (../shared/data, when present): precision, recall, F1 with no
#   labels given, against the rec-N ids.
#   N generated contacts (BENCH_DEDUPE_ROWS, default 1000000) with about
#   10% planted duplicates: pairs compared, wall time, peak memory, and
#   precision/recall against the planted truth. Target: < 120 s, < 2 GiB.
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
: "${CRM_BUILD:=$top/build}"
PATH=$CRM_BUILD:$PATH
N=${BENCH_DEDUPE_ROWS:-1000000}
dir=$(mktemp -d "${TMPDIR:-/tmp}/crm-bench.XXXXXX")
trap 'rm -rf "$dir"' EXIT

for f in febrl1 febrl2; do
	src=$top/../shared/data/$f.csv
	[ -f "$src" ] || continue
	crm-import --db "$dir/$f.db" -q -t contact "$src" >/dev/null
	crm-dedupe --db "$dir/$f.db" --all --review 0.5 -q >"$dir/$f.pairs"
	printf '%s: ' "$f"
	"$top"/scripts/dedupe-eval --db "$dir/$f.db" "$dir/$f.pairs" | tail -1
done

"$top"/scripts/gen-people -n "$N" >"$dir/people.csv"
crm-import --db "$dir/p.db" -q -t contact --output none "$dir/people.csv"
/usr/bin/time -f '%e %M' -o "$dir/time" \
	crm-dedupe --db "$dir/p.db" --all --review 0.5 >"$dir/p.pairs" 2>"$dir/err"
read -r secs kb <"$dir/time"
sed -n 1p "$dir/err"
printf 'generated %d contacts: %s s (target < 120), peak %d MiB (target < 2048)\n' \
	"$N" "$secs" $((kb / 1024))
"$top"/scripts/dedupe-eval --db "$dir/p.db" --truth 's/^E\([0-9]*\).*/\1/' "$dir/p.pairs"
