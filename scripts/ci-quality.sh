#!/bin/sh
# ci-quality.sh - data-quality gates for a CI job.
#
#   ci-quality.sh [--privacy] [--max CHECK=X]... [--check CHECK]...
#
# Runs crm-audit quality (and privacy with --privacy) on $CRM_DB, prints
# each check as a table line, and exits 1 when a check is over its
# threshold (2 when an audit could not run). In GitHub Actions, the table
# also goes to the job summary ($GITHUB_STEP_SUMMARY). Example, a nightly
# snapshot checked before it is published:
#
#   CRM_DB=snapshot.db scripts/ci-quality.sh --max duplicates=0.02 --max invalid_email=0.01
set -u
PATH=${CRM_BUILD:+$CRM_BUILD:}$PATH
privacy=0
args=
while [ $# -gt 0 ]; do
	case $1 in
	--privacy) privacy=1; shift ;;
	--max|--check) args="$args $1 $2"; shift 2 ;;
	-h|--help) sed -n '2,14s/^# \{0,1\}//p' "$0"; exit 0 ;;
	*) echo "ci-quality.sh: unknown argument '$1'" >&2; exit 2 ;;
	esac
done
status=0
out=$(mktemp); trap 'rm -f "$out" "$out.table"' EXIT
audit() {	# audit KIND [args]
	kind=$1; shift
	# shellcheck disable=SC2086
	crm-audit "$kind" "$@" -q >"$out"
	rc=$?
	[ $rc -gt 1 ] && { echo "ci-quality: crm-audit $kind failed (exit $rc)" >&2; status=2; return; }
	[ $rc = 1 ] && [ $status = 0 ] && status=1
	jq -r 'select(.type == "check") | [.check, .status, (.value | tostring), (.max | tostring)] | @tsv' "$out" |
		awk -F '\t' -v k="$kind" '{ printf "%-8s %-24s %-5s %10s  (max %s)\n", k, $1, $2, $3, $4 }' >>"$out.table"
}
: >"$out.table"
# shellcheck disable=SC2086
audit quality $args
[ $privacy = 1 ] && audit privacy
cat "$out.table"
if [ -n "${GITHUB_STEP_SUMMARY:-}" ]; then
	{ echo "### Data quality: $( [ $status = 0 ] && echo pass || echo fail)"; echo '```'; cat "$out.table"; echo '```'; } >>"$GITHUB_STEP_SUMMARY"
fi
rm -f "$out.table"
echo "ci-quality: $( [ $status = 0 ] && echo pass || { [ $status = 1 ] && echo fail || echo error; })" >&2
exit $status
