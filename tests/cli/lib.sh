# lib.sh - a small TAP library for the command tests (mblaze's habit).
# Source it; it sets up PATH to the build, a temp dir, and helpers.
set -u

: "${CRM_BUILD:=$(cd "$(dirname "$0")/../.." && pwd)/build}"
PATH=$CRM_BUILD:$PATH
export PATH
# No configuration file of the machine's reaches a test (0036 tests them).
CRM_CONFIG=/dev/null
export CRM_CONFIG
# Messages for people, whatever runs the tests (0037 tests the others).
CRM_LOG_FORMAT=text
export CRM_LOG_FORMAT
TOP=$(cd "$(dirname "$0")/../.." && pwd)
T=$(mktemp -d "${TMPDIR:-/tmp}/crm-test.XXXXXX")
trap 'rm -rf "$T"' EXIT
cd "$T" || exit 1
export CRM_DB="$T/crm.db"
unset NO_COLOR

_n=0
_failed=0

ok() {	# ok CONDITION-EXIT-STATUS DESCRIPTION
	_n=$((_n + 1))
	if [ "$1" -eq 0 ]; then
		echo "ok $_n - $2"
	else
		echo "not ok $_n - $2" | tee /dev/stderr
		_failed=$((_failed + 1))
	fi
}

is() {	# is GOT WANT DESCRIPTION
	_n=$((_n + 1))
	if [ "$1" = "$2" ]; then
		echo "ok $_n - $3"
	else
		{ echo "not ok $_n - $3"
		  printf '#        got: %s\n#   expected: %s\n' "$1" "$2"; } | tee /dev/stderr
		_failed=$((_failed + 1))
	fi
}

like() {	# like GOT SUBSTRING DESCRIPTION
	_n=$((_n + 1))
	case $1 in
	*"$2"*) echo "ok $_n - $3" ;;
	*)	{ echo "not ok $_n - $3"
		  printf '#   %s\n#   does not contain: %s\n' "$1" "$2" | head -20; } | tee /dev/stderr
		_failed=$((_failed + 1)) ;;
	esac
}

fail() {	# fail DESCRIPTION - a check that failed where it was made
	_n=$((_n + 1))
	echo "not ok $_n - $1" | tee /dev/stderr
	_failed=$((_failed + 1))
}

skip() {	# skip REASON - a check not made here, and why (TAP's SKIP)
	_n=$((_n + 1))
	echo "ok $_n # SKIP $1"
}

skip_rest() {	# skip_rest REASON - the checks left are not made here: end
	skip "$1"
	done_testing
	exit
}

# A pipe's every stage, not only its last (dash has no pipefail): run
# each as "st CMD ARGS..." and check them all with stages_ok.
st() {	# st CMD ARGS... - run a stage of a pipe, keeping its exit status
	"$@"
	set -- $? "$1"
	echo "$1 $2" >>"$T/.stages"
	return "$1"
}

stages_ok() {	# stages_ok N DESCRIPTION - the last N stages all exited 0
	is "$(cat "$T/.stages" 2>/dev/null | awk '{ n++; if ($1 != 0) bad = bad " " $2 "=" $1 } END { print n + 0 ":" bad }')" "$1:" "$2"
	rm -f "$T/.stages"
}

skip_all() {
	echo "1..0 # SKIP $1"
	exit 0
}

done_testing() {
	echo "1..$_n"
	[ "$_failed" -eq 0 ]
}

q() {	# q SQL - one value from the test database
	if on_pg; then
		# SQLite's SQL on what the server holds: a copy, cell for
		# cell (0150-db-copy.t checks that it is).
		rm -f "$T/.q.db" "$T/.q.db-wal" "$T/.q.db-shm" "$T/.q.db.keys"
		crm-db copy -q "$CRM_DB" "$T/.q.db" >/dev/null || return 1
		sqlite3 "$T/.q.db" "$1"
	else
		sqlite3 "$CRM_DB" "$1"
	fi
}

keysql() {	# keysql SQL - run SQL on the test database's key store
	if on_pg; then
		psql -q -X -At -v ON_ERROR_STOP=1 "${CRM_DB}_keys" -c "$1"
	else
		sqlite3 "$CRM_DB.keys" "$1"
	fi
}

serve_start() {	# serve_start [OPTION...] - crm-serve on a free port of loopback: $srv, $U
	crm-serve --listen 127.0.0.1:0 "$@" 2>serve.log &
	srv=$!
	for _ in $(seq 100); do grep -q listening serve.log 2>/dev/null && break; sleep 0.05; done
	U=$(sed -n 's/.*listening on //p' serve.log)
}

on_pg() {	# on_pg - is the test's database on PostgreSQL?
	[ "${CRM_TEST_BACKEND:-sqlite}" = postgresql ]
}

dbsql() {	# dbsql SQL - run SQL on the test database itself (in its dialect)
	if on_pg; then
		psql -q -X -At -v ON_ERROR_STOP=1 "$CRM_DB" -c "SET client_min_messages = warning" -c "$1"
	else
		sqlite3 "$CRM_DB" "$1"
	fi
}

# pg_start: a PostgreSQL server for this test. $CRM_TEST_PG (a superuser
# URL of a server's "postgres" database, whose role crm may log in, as
# .ci/run starts it) is used when set; else a throwaway cluster is started (scripts/pg-cluster) and
# stopped at exit. Sets PG_ADMIN (a superuser URL of the server's
# "postgres" database). Skips the whole test when PostgreSQL is missing.
pg_start() {
	if [ -n "${CRM_TEST_PG:-}" ]; then
		PG_ADMIN=$CRM_TEST_PG
		return 0
	fi
	"$TOP"/scripts/pg-cluster bindir >/dev/null 2>&1 || skip_all "PostgreSQL is not installed"
	_pgdir=$(mktemp -d "${TMPDIR:-/tmp}/crm-pg.XXXXXX")
	trap '"$TOP"/scripts/pg-cluster stop "$_pgdir"; rm -rf "$_pgdir" "$T"' EXIT
	"$TOP"/scripts/pg-cluster start "$_pgdir" >/dev/null || { echo "Bail out! cannot start PostgreSQL"; exit 1; }
	PG_ADMIN="postgresql://postgres@127.0.0.1:$(cat "$_pgdir/port")/postgres"
}

# pg_newdb NAME: a new, empty database owned by role crm, NAME and this
# test's process id in its name; prints its URL.
pg_newdb() {
	set -- "t$$_$1"
	psql -q -v ON_ERROR_STOP=1 -v VERBOSITY=terse "$PG_ADMIN" -c "SET client_min_messages = warning" -c "DROP DATABASE IF EXISTS \"$1\"" \
		-c "CREATE DATABASE \"$1\" OWNER crm" >/dev/null || { echo "Bail out! cannot create database $1"; exit 1; }
	echo "$PG_ADMIN" | sed "s,//[^@]*@,//crm@,; s,/postgres\$,/$1,"
}

# CRM_TEST_BACKEND=postgresql (make check's second pass): the test's
# database is a new, empty PostgreSQL database instead of $T/crm.db.
if [ "${CRM_TEST_BACKEND:-sqlite}" = postgresql ]; then
	pg_start
	CRM_DB=$(pg_newdb main)
	export CRM_DB
	# and its key store, a database of its own beside it (crypt.h)
	pg_newdb main_keys >/dev/null
	echo "# on $CRM_DB"
fi
