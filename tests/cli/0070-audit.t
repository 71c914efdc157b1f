#!/bin/sh
# crm-audit: a planted proxy bias is caught (exit 1), a fair data set
# passes, what-if shows the proxy's effect without touching the active
# model; quality and privacy checks are gates; runs are kept as history.
. "$(dirname "$0")/lib.sh"
export USER=tester

# Referrals convert more and are mostly men; the model never sees Gender.
setup() {	# setup DIR [--fair]
	"$TOP"/scripts/gen-sample -n 3000 -s 5 ${2:-} "$1"
	CRM_DB=$T/$1.db crm-import -q "$1"/* >/dev/null
	CRM_DB=$T/$1.db crm-score weight attrs.Gender --exclude --why "protected attribute" -t contact -q >/dev/null
	CRM_DB=$T/$1.db crm-score train -t contact -q >/dev/null
	CRM_DB=$T/$1.db crm-score -t contact --all -q >/dev/null
}
setup biased
export CRM_DB=$T/biased.db
is "$(q "select count(*) from holdout_scores")" "$(q "select json_extract(metrics, '$.holdout') from models where active = 1")" \
	"the model's holdout predictions are stored with it"

crm-audit bias --by gender >out.ndjson 2>err
is "$?" "1" "planted bias: exit 1"
f=$(jq -c 'select(.type == "group" and .group == "F")' out.ndjson)
is "$(echo "$f" | jq -r .verdict)" "violation" "women's group is a violation"
is "$(echo "$f" | jq -r '.disparate_impact < 0.8 and .disparate_impact_ci[1] < 0.8')" "true" \
	"impact ratio $(echo "$f" | jq -c '[.disparate_impact, .disparate_impact_ci]') below 0.8, interval too"
is "$(echo "$f" | jq -r '.violations | index("disparate_impact") != null')" "true" "named: disparate_impact"
is "$(echo "$f" | jq -r '.parity_difference < 0 and .tpr != null and .calibration_gap_ci != null')" "true" \
	"parity difference, TPR on the holdout, calibration interval"
is "$(jq -r 'select(.type == "group" and .group == "M") | .verdict' out.ndjson)" "reference" "men are the most favoured group"
# The selection rates agree with the stored scores at the printed threshold.
thr=$(jq -r 'select(.type == "audit") | .threshold' out.ndjson)
want=$(q "select count(*) from scores s join contacts c on c.id = s.entity_id where s.model_id = (select id from models where active = 1 and entity = 'contact') and c.outcome is null and json_extract(c.attrs, '$.Gender') = 'F' and s.probability >= $thr - 1e-6")
is "$(echo "$f" | jq -r .selected)" "$want" "selected women counted from the scores table ($want)"
is "$(jq -r 'select(.type == "override") | .feature' out.ndjson)" "attrs.Gender" "overrides in force are listed"
like "$(cat err)" "violation" "a summary on stderr"
is "$(q "select verdict || ' ' || violations from audits where kind = 'bias'")" "fail 1" "the run is stored"

crm-audit bias --by gender --fail-on none >/dev/null; is "$?" "0" "--fail-on none: exit 0"
crm-audit bias --by gender --fail-on calibration --no-store >/dev/null; is "$?" "0" "--fail-on calibration: this model is calibrated enough"
crm-audit bias --by gender --min-group 400 --no-store >small.ndjson; is "$?" "0" "groups below --min-group are not judged"
is "$(jq -r 'select(.type == "group") | .verdict' small.ndjson | sort -u)" "small" "and flagged small"
crm-audit bias --by gender --threshold 101 --no-store >/dev/null 2>&1; is "$?" "2" "a threshold above 100 is a usage error"

# Intersections, numeric bands, any column.
crm-audit bias --by gender --by account.employees --no-store >both.ndjson
is "$(jq -r 'select(.type == "attribute") | .attribute' both.ndjson | tr '\n' '|')" \
	"gender|account.employees|gender & account.employees|" "each attribute and their intersection"
is "$(jq -r 'select(.type == "group" and .attribute == "account.employees") | .group' both.ndjson | grep -c '^\[')" "4" \
	"a numeric attribute is cut into 4 quantile bands"
is "$(jq -r 'select(.type == "group" and .attribute == "gender & account.employees") | .group' both.ndjson | grep -c ' & ')" \
	"8" "2 x 4 intersection groups"
crm-audit bias --by lead_source --no-store >/dev/null; is "$?" "1" "the proxy itself shows the disparity"
crm-audit bias --by nosuchfield --no-store 2>err; is "$?" "2" "unknown attribute: exit 2"
like "$(cat err)" "nosuchfield" "naming it"
crm-audit bias --by email --no-store 2>err; is "$?" "65" "an attribute with thousands of values is refused"
like "$(cat err)" "distinct values" "saying why"

# What if the proxy were left out: measured in memory, nothing changes.
active=$(q "select id from models where active = 1 and entity = 'contact'")
nmodels=$(q "select count(*) from models"); nhold=$(q "select count(*) from holdout_scores")
crm-audit bias --by gender --what-if exclude:lead_source --no-store >wi.ndjson
w=$(jq -c 'select(.type == "what_if")' wi.ndjson)
is "$(echo "$w" | jq -r '.after.min_ratio > .before.min_ratio')" "true" "excluding the proxy raises the impact ratio: $(echo "$w" | jq -c '[.before.min_ratio, .after.min_ratio]')"
is "$(echo "$w" | jq -r '.after.violations < .before.violations')" "true" "and removes the violation"
is "$(echo "$w" | jq -r '.auc_cost > 0 and .auc_cost < 0.2')" "true" "at an AUC cost of $(echo "$w" | jq -r .auc_cost)"
is "$(q "select id from models where active = 1 and entity = 'contact'")" "$active" "the active model is unchanged"
is "$(q "select count(*) || ' ' || (select count(*) from holdout_scores) from models")" "$nmodels $nhold" "nothing stored"
crm-audit bias --by gender --what-if scale:lead_source=0 --no-store >ws.ndjson
is "$(jq -r 'select(.type == "what_if") | .after.min_ratio > .before.min_ratio' ws.ndjson)" "true" "scaling the proxy to 0 helps too (rescored, not retrained)"
crm-audit bias --by gender --what-if frobnicate:x --no-store 2>/dev/null; is "$?" "2" "a bad --what-if is a usage error"

# Records on stdin: scores from a pipe, outcomes where given.
crm-score -t contact --all -q | crm-audit bias --by gender --no-store >pipe.ndjson
is "$?" "1" "scores piped in: exit 1"
is "$(jq -r 'select(.type == "audit") | .scored' pipe.ndjson)" "$(jq -r 'select(.type == "audit") | .scored' out.ndjson)" "the same records"
q "select c.id, h.probability, h.label from holdout_scores h join contacts c on c.id = h.entity_id" |
	awk -F'|' '{ printf "{\"id\":\"%s\",\"probability\":%s,\"outcome\":\"%s\"}\n", $1, $2, $3 ? "converted" : "lost" }' >lab.ndjson
crm-audit bias --by gender --no-store --fail-on tpr <lab.ndjson >lab.out
is "$(jq -r 'select(.type == "group" and .group == "F") | .labelled > 0 and .tpr_difference != null' lab.out)" "true" "outcomes on stdin give TPR"

crm-audit bias --by gender --report report.html >/dev/null 2>&1
is "$?" "1" "--report: the verdict is the same"
like "$(cat report.html)" "<svg" "the report has plots"
like "$(cat report.html)" "four-fifths" "with the four-fifths line"
like "$(cat report.html)" "History" "and the history"
is "$(grep -o '<circle' report.html | wc -l | tr -d ' ')" "$(q "select count(*) from audits where kind = 'bias'")" "one point per stored audit"
is "$(grep -c 'http' report.html)" "0" "self-contained: no external resource"

# A fair data set passes.
setup fair --fair
CRM_DB=$T/fair.db crm-audit bias --by gender >fair.ndjson
is "$?" "0" "fair data: exit 0"
is "$(jq -r 'select(.type == "audit") | .verdict' fair.ndjson)" "pass" "verdict pass"

# Quality gates. Half the converted leads lose their conversion date, as
# exports without lifecycle dates have them.
dbsql "update contacts set outcome_at = null where outcome = 'converted' and
	(select count(*) from contacts c2 where c2.outcome = 'converted' and c2.id < contacts.id) % 2 = 0"
crm-audit quality >qual.ndjson
is "$?" "1" "quality: exit 1 on a failed check"
is "$(jq -r 'select(.check == "leakage.undated_outcome") | .status' qual.ndjson)" "fail" "converted leads without a date are flagged"
crm-audit quality --max leakage.undated_outcome=1 >/dev/null; is "$?" "0" "a threshold per check"
crm-audit quality --max nosuch=1 2>/dev/null; is "$?" "2" "an unknown check is a usage error"
head -1 biased/contacts.csv >dup.csv
sed -n '2,41p' biased/contacts.csv | sed 's/^C/D/' >>dup.csv
crm-import -q --source crm2 dup.csv >/dev/null
crm-audit quality --check duplicates.contacts --max duplicates.contacts=0.01 >dup.ndjson
is "$?" "1" "40 planted duplicates fail the gate"
is "$(jq -r 'select(.type == "check") | .count' dup.ndjson)" "40" "crm-dedupe's linkage finds the 40"
printf 'Contact ID,First Name,E-mail Address\nX1,Ann,ann@example.com\n' >drift.csv
crm-import -q --source crm2 -t contact drift.csv >/dev/null
crm-audit quality --check schema.drift >drift.ndjson
is "$?" "1" "an export whose columns changed fails schema.drift"
is "$(jq -r 'select(.type == "check") | .count' drift.ndjson)" "1" "one source drifted"
printf 'id,first_name,email\nZ1,Bob,bob@\nZ2,Eve,eve@example.com\n' >bad.csv
crm-import -q --source crm3 -t contact bad.csv >/dev/null 2>&1
is "$(crm-audit quality --check import.rejects | jq -r 'select(.type == "check") | .count')" "$(q "select rejected from imports where source = 'crm3'")" "rejects of the latest import are counted"

# Privacy gates.
crm-audit privacy >priv.ndjson; is "$?" "1" "privacy: old interactions fail retention"
n=$(q "select count(*) from interactions where occurred_at < strftime('%Y-%m-%dT%H:%M:%SZ', 'now', '-1095 days')")
is "$(jq -r 'select(.check == "retention.interactions") | .count' priv.ndjson)" "$n" "counted: $n"
is "$(jq -r 'select(.check == "encryption.plaintext") | .status' priv.ndjson)" "skip" "no key configured: skipped"
crm-audit privacy --retain interactions=100000 >/dev/null; is "$?" "0" "--retain sets the period"
crm-audit privacy --retain bogus=1 2>/dev/null; is "$?" "2" "an unknown kind is a usage error"
dbsql "insert into subject_requests (kind, subject, received_at) values ('erasure', 'h1', strftime('%Y-%m-%dT%H:%M:%SZ', 'now', '-45 days'))" >/dev/null
crm-audit privacy --retain interactions=100000 >er.ndjson; is "$?" "1" "an erasure request 45 days old is overdue"
is "$(jq -r 'select(.check == "erasure.overdue") | .count' er.ndjson)" "1" "counted"
crm-key --key-file "$T/k.key" init 2>/dev/null
CRM_KEY_FILE=$T/k.key crm-audit privacy --check encryption.plaintext >enc.ndjson; is "$?" "1" "key configured, plain text stored: fail"
is "$(jq -r 'select(.check == "encryption.plaintext") | .count' enc.ndjson)" "$(q "select count(*) from contacts")" "every plain contact is counted"

# History.
is "$(crm-audit history | wc -l | tr -d ' ')" "$(q "select count(*) from audits")" "history lists every stored run"
is "$(crm-audit history bias | jq -r .kind | sort -u)" "bias" "by kind"
crm-audit 2>/dev/null; is "$?" "2" "no audit named: exit 2"
done_testing
