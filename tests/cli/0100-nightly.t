#!/bin/sh
# scripts/nightly.sh on a generated CRM: every stage runs and is timed;
# breaking one stage on purpose (the speech server unreachable, Slack
# down) is reported, the other stages still run, and the contact data is
# untouched by the broken one.
# backends: sqlite postgresql
. "$(dirname "$0")/lib.sh"
export CRM_BUILD

"$TOP"/scripts/gen-sample -n 1500 -s 7 --full s
crm-import -q s/accounts.csv s/contacts.csv s/deals.csv s/interactions.ndjson s/duplicates.csv >/dev/null 2>&1
mkdir drop && cp s/erp/invoices.csv drop/
before=$(q "select count(*) from contacts")

CRM_ERP_DROP=$T/drop CRM_CALLS_DIR=$T/s/calls CRM_AUDIT_BY=gender \
	"$TOP"/scripts/nightly.sh 2>run1.err
st=$?
like "$(cat run1.err)" "crm nightly:" "the run ends with a verdict"
is "$(awk '$1 ~ /^(erp|calls|dedupe|train|score|bias|quality)$/ && $2 != "failed" { n++ } END { print n }' run1.err)" "7" \
	"seven stages ran without failing: $(awk '{print $1 "=" $2}' run1.err | tr '\n' ' ')"
ok "$([ $st -le 1 ]; echo $?)" "exit $st: passed, or an audit finding"
is "$(grep -c '^mail *skipped' run1.err)" "1" "mail without a mailbox is skipped, not failed"
ok "$([ "$(q "select count(*) from deals where source = 'erp'")" -gt 0 ]; echo $?)" "the ERP's invoices landed as won deals"
ok "$([ -f drop/done/invoices.csv ]; echo $?)" "the ERP file moved to done/"
ok "$([ "$(q "select count(*) from interactions where kind = 'call' and source = 'transcribe'")" -ge 6 ]; echo $?)" "the calls were transcribed"
ok "$([ "$(q "select count(*) from merges")" -gt 0 ]; echo $?)" "duplicates were merged"
ok "$([ "$(q "select count(*) from scores")" -gt 0 ]; echo $?)" "open records were scored"
is "$(q "select (json_extract(metrics, '$.train') <= (select count(*) from deals where source <> 'erp' and outcome is not null))
	|| ' ' || (instr(features, '\"account.erp_orders\"') > 0) || ' ' || (instr(features, 'erp_match') > 0) from models where entity = 'deal' order by created_at desc limit 1")" "1 1 0" \
	"the deal model learns from opportunities only; ERP invoices come in as the account's purchases before the deal"

# Break the speech stage and Slack; a recording that needs the engine lands.
mkdir calls2
cp "$(ls s/calls/done/*.wav | head -1)" calls2/x@example.com_2026-11-20T09-00.wav
contacts=$(q "select count(*) from contacts")
scores=$(q "select max(computed_at) from scores")
sleep 1
CRM_CALLS_DIR=$T/calls2 CRM_ASR_ENGINE=http CRM_ASR_URL=http://127.0.0.1:9 \
	CRM_SLACK_WEBHOOK=http://127.0.0.1:9/services/x CRM_NIGHTLY_STAGES="calls dedupe score quality" \
	"$TOP"/scripts/nightly.sh 2>run2.err
is "$?" "2" "a failed stage: exit 2"
like "$(grep '^calls' run2.err)" "failed" "the broken stage is reported as failed"
like "$(grep '^calls' run2.err)" "127.0.0.1:9" "with the reason"
is "$(awk '$1 ~ /^(dedupe|score|quality)$/ && $2 != "failed" { n++ } END { print n }' run2.err)" "3" \
	"the stages after it still ran"
like "$(cat run2.err)" "the Slack summary could not be sent" "Slack down is reported, not fatal"
is "$(q "select count(*) from contacts")" "$contacts" "the contact data is untouched"
ok "$([ "$(q "select max(computed_at) from scores")" != "$scores" ]; echo $?)" "scores were refreshed after the broken stage"
ok "$([ -f calls2/x@example.com_2026-11-20T09-00.wav ] && [ ! -e calls2/failed/x@example.com_2026-11-20T09-00.wav ]; echo $?)" \
	"the recording waits for the engine, not in failed/"

# One run at a time: a second one while the first holds the lock refuses
# to start (exit 75), and starts once it is free.
flock "$T/n.lock" sleep 4 &
holder=$!
sleep 0.5
CRM_NIGHTLY_LOCK=$T/n.lock CRM_NIGHTLY_STAGES=quality "$TOP"/scripts/nightly.sh 2>lock.err
is "$?" "75" "a run while another holds the lock: exit 75"
like "$(cat lock.err)" "another run holds $T/n.lock" "saying so"
is "$(grep -c '^quality' lock.err)" "0" "and running nothing"
wait "$holder"
CRM_NIGHTLY_LOCK=$T/n.lock CRM_NIGHTLY_STAGES=quality "$TOP"/scripts/nightly.sh 2>lock2.err
ok "$([ $? -le 1 ]; echo $?)" "once the lock is free, the run goes ahead"
is "$(grep -c '^quality' lock2.err)" "1" "and its stages run"
if ! on_pg; then
	is "$(ls "$CRM_DB".nightly.lock)" "$CRM_DB.nightly.lock" "the lock is kept beside the database by default"
fi

# ci-quality.sh: a gate for CI jobs.
"$TOP"/scripts/ci-quality.sh --check invalid.email >ci.out 2>ci.err
is "$?" "0" "ci-quality: a passing check, exit 0"
like "$(cat ci.out)" "invalid.email" "the check is listed"
dbsql "update contacts set outcome_at = null where outcome = 'converted' and id in (select id from contacts where outcome = 'converted' order by id limit (select count(*) / 2 from contacts where outcome = 'converted'))" >/dev/null	# an export without lifecycle dates
GITHUB_STEP_SUMMARY=$T/summary.md "$TOP"/scripts/ci-quality.sh --check leakage.undated_outcome >ci.out 2>ci.err
is "$?" "1" "ci-quality: a failing check, exit 1 ($(cat ci.out))"
like "$(cat summary.md)" "### Data quality: fail" "the job summary says so"
done_testing
