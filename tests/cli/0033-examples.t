#!/bin/sh
# The manual's examples are tests (jq's habit): every option a crm tool is
# given in an EXAMPLES section exists, and every example that needs
# nothing outside a sample database (no mail server, no Slack, no cron,
# no files of the reader's own) runs on one without a usage error.
. "$(dirname "$0")/lib.sh"

command -v python3 >/dev/null || skip_all "no python3"
python3 "$TOP/tests/cli/examples.py" check "$TOP/man" >bad.txt
ok $? "every option in every EXAMPLES section is one the tool knows $(head -3 bad.txt)"

"$TOP"/scripts/gen-sample -n 1500 -s 4 sample >/dev/null 2>&1
crm-import -q sample/* >/dev/null 2>&1
crm-score train -q -t deal >/dev/null 2>&1
crm-score train -q -t contact >/dev/null 2>&1
crm-score --all -q >/dev/null 2>&1
unset CRM_SLACK_WEBHOOK
ln -s "$TOP/scripts" scripts	# crm(7)'s examples run in the source tree
python3 "$TOP/tests/cli/examples.py" "$TOP/man" >all.txt
ran=0
while IFS="$(printf '\t')" read -r page ex; do
	# What needs more than a sample database is only checked above.
	case $ex in
	[0-9*]*|*...*|*--follow*|*--watch*|*--imap*|*curl*|*localhost*|*'$(cat'*|*/srv*|*/etc/*|*/var/*|\
	*--url*|*.wav*|*.vtt*|*.csv*|*.ndjson*|*.db*|*.url*|*.html*|*'export '*|*crm-notify*|*crm-serve*|\
	*'key '*|*'crm key'*|*dedupe-eval*|*' r_'*|*--what-if*|*nightly.sh*|*systemctl*) continue ;;
	esac
	timeout 120 sh -c "$ex" >out 2>err </dev/null
	rc=$?
	ran=$((ran + 1))
	case $rc in
	2|126|127|124) fail "$page: '$ex' ran (exit $rc: $(head -c 200 err))" ;;
	*) grep -q -i -e "unknown option" -e "unrecognized option" -e "invalid option" err
	   ok $((! $?)) "$page: '$ex' runs (exit $rc)" ;;
	esac
done <all.txt
[ "$ran" -ge 15 ]; ok $? "at least 15 examples ran ($ran)"
done_testing
