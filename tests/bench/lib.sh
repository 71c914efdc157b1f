# lib.sh - how every bench script starts: strict mode, the source tree in
# $top, the build first on PATH, and a scratch folder $dir removed at exit
# (a script that starts servers sets its own trap, removing $dir too).
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
: "${CRM_BUILD:=$top/build}"
PATH=$CRM_BUILD:$PATH
dir=$(mktemp -d "${TMPDIR:-/tmp}/crm-bench.XXXXXX")
trap 'rm -rf "$dir"' EXIT
