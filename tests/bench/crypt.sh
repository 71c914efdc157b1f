#!/bin/sh
# crypt.sh - import and scoring with field encryption on, against the same
# work with it off, side by side in one run.
#
# Generates a sample CRM of N contacts (BENCH_CRYPT_ROWS, default 200000)
# with their accounts, deals and interactions, then, BENCH_RUNS times each
# (default 3), on a fresh database with and without a master key:
#   import   crm-import of every file (contacts sealed, messages sealed)
#   score    crm-score --all of the contact model (trained once per database)
# and prints the medians and the ratio on/off (target: at most 1.3).
. "$(dirname "$0")/lib.sh"
N=${BENCH_CRYPT_ROWS:-200000}
RUNS=${BENCH_RUNS:-3}
unset CRM_KEY_FILE CRM_KEY_STORE

"$top"/scripts/gen-sample -n "$N" "$dir/sample" >/dev/null
rows=$(cat "$dir"/sample/*.csv "$dir"/sample/*.ndjson | wc -l)
crm-key --key-file "$dir/master.key" --db "$dir/k.db" init 2>/dev/null
echo "encryption: $N contacts, $rows input rows, runs: $RUNS (median)"


one() {	# KEYFILE-or-empty -> "import-seconds score-seconds"
	rm -f "$dir"/crm.db*
	export CRM_DB="$dir/crm.db" CRM_KEY_FILE="$1"
	crm init 2>/dev/null
	t0=$(now)
	crm-import -q --output none "$dir"/sample/*
	t1=$(now)
	crm-score -t contact train -q >/dev/null
	t2=$(now)
	crm-score -t contact --all -q >"$dir/scores.ndjson"
	t3=$(now)
	if [ -n "$1" ]; then
		[ "$(sqlite3 "$dir/crm.db" "select count(*) from contacts where email like 'enc:%'")" -gt 0 ] ||
			{ echo "bench: nothing sealed" >&2; exit 1; }
	fi
	echo "$(echo "$t1 - $t0" | bc) $(echo "$t3 - $t2" | bc)"
}

ioff=; ion=; soff=; son=
for i in $(seq "$RUNS"); do
	set -- $(one "")
	ioff="$ioff $1"; soff="$soff $2"
	set -- $(one "$dir/master.key")
	ion="$ion $1"; son="$son $2"
done
for what in import score; do
	if [ $what = import ]; then off=$(echo "$ioff" | median); on=$(echo "$ion" | median)
	else off=$(echo "$soff" | median); on=$(echo "$son" | median); fi
	printf '%-8s off %7.2f s   on %7.2f s   ratio on/off %.2f (target <= 1.30)\n' \
		"$what" "$off" "$on" "$(echo "$on / $off" | bc -l)"
done
