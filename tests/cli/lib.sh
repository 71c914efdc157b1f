# lib.sh - a small TAP library for the command tests (mblaze's habit).
# Source it; it sets up PATH to the build, a temp dir, and helpers.
set -u

: "${CRM_BUILD:=$(cd "$(dirname "$0")/../.." && pwd)/build}"
PATH=$CRM_BUILD:$PATH
export PATH
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
		echo "not ok $_n - $2"
		_failed=$((_failed + 1))
	fi
}

is() {	# is GOT WANT DESCRIPTION
	_n=$((_n + 1))
	if [ "$1" = "$2" ]; then
		echo "ok $_n - $3"
	else
		echo "not ok $_n - $3"
		printf '#        got: %s\n#   expected: %s\n' "$1" "$2"
		_failed=$((_failed + 1))
	fi
}

like() {	# like GOT SUBSTRING DESCRIPTION
	_n=$((_n + 1))
	case $1 in
	*"$2"*) echo "ok $_n - $3" ;;
	*)	echo "not ok $_n - $3"
		printf '#   %s\n#   does not contain: %s\n' "$1" "$2" | head -20
		_failed=$((_failed + 1)) ;;
	esac
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
	sqlite3 "$CRM_DB" "$1"
}
