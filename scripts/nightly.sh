#!/bin/sh
# nightly.sh - the CRM's night: pull mail, import the ERP drop folder,
# transcribe calls, merge duplicates, retrain (a worse model is kept out),
# rescore, audit bias and data quality, and tell Slack.
#
# Each stage is its own process. A stage that fails is reported and the
# others still run: a broken model does not stop the mail, a missing
# speech engine does not stop the scoring. The exit status is 0 when every
# stage passed, 1 when an audit found a violation, 2 when a stage failed.
#
# Settings, from the environment or crm's configuration file (crm config;
# unset ones skip their stage):
#   CRM_DB                the database (default ./crm.db)
#   CRM_IMAP_URL          mailbox; CRM_IMAP_PASSWORD or CRM_IMAP_PASSWORD_FILE
#   CRM_SELF              our addresses or domains, space-separated
#   CRM_ERP_DROP          folder of ERP order/invoice files (moved to done/)
#   CRM_CALLS_DIR         folder of call recordings and transcripts
#   CRM_AUDIT_BY          attribute(s) for the bias audit, space-separated
#   CRM_SLACK_WEBHOOK     or CRM_SLACK_WEBHOOK_FILE: the summary goes there
#   CRM_NIGHTLY_STAGES    only these stages, space-separated
#   CRM_NIGHTLY_LOCK      the lock file (default: the database's path and
#                         .nightly.lock, or one in $TMPDIR for a URL)
# Stages: mail erp calls dedupe train score bias quality.
#
# One run at a time per database: a second one started while the first
# holds the lock (cron and the systemd timer both, a slow night) refuses
# to start, says so and exits 75 (EX_TEMPFAIL: try again later).
set -u
PATH=${CRM_BUILD:+$CRM_BUILD:}$PATH
# crm's configuration files, under the environment (crm config).
eval "$(crm config --sh 2>/dev/null)"

db=${CRM_DB:-crm.db}
case $db in
*://*) lock=${TMPDIR:-/tmp}/crm-nightly.$(printf '%s' "$db" | cksum | cut -d' ' -f1).lock ;;
*) lock=$db.nightly.lock ;;
esac
lock=${CRM_NIGHTLY_LOCK:-$lock}
exec 9>>"$lock" || { echo "crm-nightly: cannot open the lock $lock" >&2; exit 2; }
if ! flock -n 9; then
	echo "crm-nightly: another run holds $lock (started $(cat "$lock.started" 2>/dev/null || echo '?')): not starting" >&2
	exit 75
fi
date -u +%FT%TZ >"$lock.started"
stages=${CRM_NIGHTLY_STAGES:-mail erp calls dedupe train score bias quality}
log=$(mktemp "${TMPDIR:-/tmp}/crm-nightly.XXXXXX")
trap 'rm -f "$log" "$log".* "$lock.started"' EXIT
failed=0 violated=0 summary=

want() { case " $stages " in *" $1 "*) return 0 ;; esac; return 1; }

# run NAME CMD... - time a stage, keep its stderr, record how it went.
run() {
	name=$1; shift
	t0=$(date +%s.%N)
	"$@" >"$log.out" 2>"$log.err"
	rc=$?
	t=$(printf '%.1f' "$(echo "$(date +%s.%N) - $t0" | bc)")
	case $rc in
	0) verdict=ok ;;
	1) verdict=violation; [ "$name" = bias ] || [ "$name" = quality ] || verdict=failed ;;
	*) verdict=failed ;;
	esac
	[ "$verdict" = failed ] && failed=1
	[ "$verdict" = violation ] && violated=1
	last=$(grep -v '^$' "$log.err" | tail -1)
	printf '%-8s %-9s %6ss  %s\n' "$name" "$verdict" "$t" "$last" >&2
	summary="$summary
$(printf '%-8s %-9s %6ss' "$name" "$verdict" "$t")${last:+  $last}"
	return 0
}

skip() {
	printf '%-8s %-9s %6s   %s\n' "$1" skipped - "$2" >&2
	summary="$summary
$(printf '%-8s %-9s' "$1" skipped)  $2"
}

self_args=
for s in ${CRM_SELF:-}; do self_args="$self_args --self $s"; done

if want mail; then
	if [ -n "${CRM_IMAP_URL:-}" ]; then
		# shellcheck disable=SC2086
		run mail crm-import --output none $self_args ${CRM_IMAP_PASSWORD_FILE:+--password-file "$CRM_IMAP_PASSWORD_FILE"} --imap "$CRM_IMAP_URL"
	else
		skip mail "CRM_IMAP_URL not set"
	fi
fi
if want erp; then
	erp_files=
	for f in "${CRM_ERP_DROP:-/nonexistent}"/*.csv "${CRM_ERP_DROP:-/nonexistent}"/*.ndjson; do
		[ -f "$f" ] && erp_files="$erp_files $f"
	done
	if [ -n "$erp_files" ]; then
		mkdir -p "$CRM_ERP_DROP/done"
		# Rows that are not revenue are rejected into the done folder;
		# the stage fails only when the import itself does.
		# shellcheck disable=SC2086
		run erp sh -c 'crm-import --erp --output none -r "$0" "$@"; rc=$?; [ $rc = 65 ] && rc=0; exit $rc' \
			"$CRM_ERP_DROP/done/rejects-$(date +%F).ndjson" $erp_files
		# shellcheck disable=SC2086
		[ "$verdict" = ok ] && mv $erp_files "$CRM_ERP_DROP/done/"
	else
		skip erp "no files in CRM_ERP_DROP"
	fi
fi
if want calls; then
	if [ -n "${CRM_CALLS_DIR:-}" ] && [ -d "$CRM_CALLS_DIR" ]; then
		run calls crm-transcribe -q -f ndjson --watch "$CRM_CALLS_DIR" --once
	else
		skip calls "CRM_CALLS_DIR not set"
	fi
fi
want dedupe && run dedupe crm-dedupe --all -q
if want train; then
	run train sh -c 'crm-score train -t deal -q >/dev/null && crm-score train -t contact -q >/dev/null'
fi
if want score; then
	run score sh -c 'crm-score -t deal --all -q >/dev/null && crm-score -t contact --all -q >/dev/null'
fi
if want bias; then
	if [ -n "${CRM_AUDIT_BY:-}" ]; then
		by=
		for a in $CRM_AUDIT_BY; do by="$by --by $a"; done
		# shellcheck disable=SC2086
		run bias crm-audit bias -t contact $by -q
	else
		skip bias "CRM_AUDIT_BY not set"
	fi
fi
want quality && run quality crm-audit quality -q

status=0
[ "$violated" = 1 ] && status=1
[ "$failed" = 1 ] && status=2
title="crm nightly: $( [ $status = 0 ] && echo passed || { [ $status = 1 ] && echo "audit violation" || echo "a stage failed"; })"
if [ -n "${CRM_SLACK_WEBHOOK:-}${CRM_SLACK_WEBHOOK_FILE:-}" ]; then
	printf '```%s\n```\n' "$summary" |
		crm-notify --title "$title" --status "$( [ $status = 0 ] && echo ok || { [ $status = 1 ] && echo warn || echo fail; })" \
			${CRM_SLACK_WEBHOOK_FILE:+--webhook-file "$CRM_SLACK_WEBHOOK_FILE"} ||
		echo "nightly: the Slack summary could not be sent" >&2
fi
echo "$title" >&2
exit $status
