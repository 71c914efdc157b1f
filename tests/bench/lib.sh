# lib.sh - how every bench script starts: strict mode, the source tree in
# $top, the build first on PATH, and a scratch folder $dir removed at exit
# (a script that starts servers sets its own trap, removing $dir too).
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
: "${CRM_BUILD:=$top/build}"
PATH=$CRM_BUILD:$PATH
dir=$(mktemp -d "${TMPDIR:-/tmp}/crm-bench.XXXXXX")
trap 'rm -rf "$dir"' EXIT

# now: the time in seconds with nanoseconds. median: of numbers on
# stdin, one or more to a line.
now() { date +%s.%N; }
median() { tr ' ' '\n' | grep . | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
