#!/bin/sh
# nightly.sh - the nightly workflow on a generated CRM of
# BENCH_NIGHTLY_CONTACTS contacts (default 100000) and
# BENCH_NIGHTLY_INTERACTIONS interactions (default 1000000), with planted
# duplicates, ERP invoices and calls: each stage's time, and the total
# against the 5-minute target. The import that loads the CRM first is
# timed too, but it is not part of the night.
. "$(dirname "$0")/lib.sh"
export CRM_BUILD
N=${BENCH_NIGHTLY_CONTACTS:-100000}
I=${BENCH_NIGHTLY_INTERACTIONS:-1000000}

"$top"/scripts/gen-sample -n "$N" -i "$I" --full "$dir/s"
export CRM_DB="$dir/crm.db"
t0=$(date +%s.%N)
crm-import -q --output none "$dir"/s/*.csv "$dir"/s/interactions.ndjson || true
printf 'load: %d contacts, %d interactions imported in %.1f s (not part of the night)\n' \
	"$(sqlite3 "$CRM_DB" 'select count(*) from contacts')" "$(sqlite3 "$CRM_DB" 'select count(*) from interactions')" \
	"$(echo "$(date +%s.%N) - $t0" | bc)"
mkdir -p "$dir/drop" && cp "$dir"/s/erp/*.csv "$dir/drop/"
t0=$(date +%s.%N)
CRM_ERP_DROP=$dir/drop CRM_CALLS_DIR=$dir/s/calls CRM_AUDIT_BY=gender \
	"$top"/scripts/nightly.sh 2>"$dir/night.err" || true
total=$(echo "$(date +%s.%N) - $t0" | bc)
sed 's/^/  /' "$dir/night.err"
printf 'nightly workflow on %d contacts / %d interactions: %.1f s on %d cores (target < 300 s), ratio to target %.2f\n' \
	"$N" "$I" "$total" "$(nproc)" "$(echo "$total / 300" | bc -l)"
