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
# The same again on PostgreSQL (a throwaway cluster on loopback; its key
# store a database of its own), when PostgreSQL is installed.
. "$(dirname "$0")/lib.sh"
N=${BENCH_CRYPT_ROWS:-200000}
RUNS=${BENCH_RUNS:-3}
unset CRM_KEY_FILE CRM_KEY_STORE

"$top"/scripts/gen-sample -n "$N" "$dir/sample" >/dev/null
rows=$(cat "$dir"/sample/*.csv "$dir"/sample/*.ndjson | wc -l)
crm-key --key-file "$dir/master.key" --db "$dir/k.db" init 2>/dev/null
echo "encryption: $N contacts, $rows input rows, runs: $RUNS (median)"


# fresh DB: a new, empty database (and its key store's) for the next run
fresh_sqlite() { rm -f "$dir"/crm.db*; echo "$dir/crm.db"; }
fresh_pg() {
	psql -q "$admin" -c "SET client_min_messages = warning" -c "DROP DATABASE IF EXISTS b" \
		-c "DROP DATABASE IF EXISTS b_keys" -c "CREATE DATABASE b OWNER crm" -c "CREATE DATABASE b_keys OWNER crm"
	echo "postgresql://crm@127.0.0.1:$port/b"
}
sealed() {	# sealed DB: how many emails are sealed
	case $1 in
	postgresql://*) psql -At "$1" -c "select count(*) from contacts where email like 'enc:%'" ;;
	*) sqlite3 "$1" "select count(*) from contacts where email like 'enc:%'" ;;
	esac
}

one() {	# BACKEND KEYFILE-or-empty -> "import-seconds score-seconds"
	export CRM_DB="$(fresh_"$1")" CRM_KEY_FILE="$2"
	crm init 2>/dev/null
	t0=$(now)
	crm-import -q --output none "$dir"/sample/*
	t1=$(now)
	crm-score -t contact train -q >/dev/null
	t2=$(now)
	crm-score -t contact --all -q >"$dir/scores.ndjson"
	t3=$(now)
	if [ -n "$2" ] && [ "$(sealed "$CRM_DB")" -eq 0 ]; then
		echo "bench: nothing sealed" >&2; exit 1
	fi
	echo "$(echo "$t1 - $t0" | bc) $(echo "$t3 - $t2" | bc)"
}

run() {	# BACKEND: the runs, off and on, side by side, and the ratios
	ioff=; ion=; soff=; son=
	for i in $(seq "$RUNS"); do
		set -- $(one "$backend" "")
		ioff="$ioff $1"; soff="$soff $2"
		set -- $(one "$backend" "$dir/master.key")
		ion="$ion $1"; son="$son $2"
	done
	for what in import score; do
		if [ $what = import ]; then off=$(echo "$ioff" | median); on=$(echo "$ion" | median)
		else off=$(echo "$soff" | median); on=$(echo "$son" | median); fi
		printf '%-10s %-8s off %7.2f s   on %7.2f s   ratio on/off %.2f (target <= 1.30)\n' \
			"$backend" "$what" "$off" "$on" "$(echo "$on / $off" | bc -l)"
	done
}

backend=sqlite; run sqlite
if "$top"/scripts/pg-cluster bindir >/dev/null 2>&1; then
	pg=$(mktemp -d /tmp/crm-bench-pg.XXXXXX)
	trap '"$top"/scripts/pg-cluster stop "$pg"; rm -rf "$pg" "$dir"' EXIT
	"$top"/scripts/pg-cluster start "$pg" >/dev/null
	port=$(cat "$pg/port")
	admin="postgresql://postgres@127.0.0.1:$port/postgres"
	backend=pg; run pg
fi
