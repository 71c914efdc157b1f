#!/bin/sh
# demo.sh - generate a sample CRM (with duplicates, ERP invoices and
# calls), import it into a fresh database, run the nightly workflow on it
# (scripts/nightly.sh: ERP, calls, dedupe, train, score, audits), and show
# what matters now: the top deals and leads with their reasons, the tasks
# the calls gave, and the audit verdicts. Run through 'make demo'; leaves
# demo/crm.db.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
: "${CRM_BUILD:=$top/build}"
PATH=$CRM_BUILD:$PATH
export CRM_BUILD
dir=${DEMO_DIR:-$top/demo}

rm -rf "$dir"
mkdir -p "$dir"
"$top"/scripts/gen-sample -n "${DEMO_CONTACTS:-5000}" --full "$dir/sample"
export CRM_DB="$dir/crm.db"
crm init
echo "== crm import (accounts, contacts, deals, interactions, and the same people from another export)" >&2
crm import --rejects "$dir/rejects.ndjson" "$dir"/sample/*.csv "$dir"/sample/interactions.ndjson >"$dir/imported.ndjson"

sql() { sqlite3 -header -column "$CRM_DB" "$1"; echo; }
echo
echo "== the night (scripts/nightly.sh): each stage, its time and verdict"
mkdir -p "$dir/erp-drop"
cp "$dir"/sample/erp/*.csv "$dir/erp-drop/"
# The lead model must not see gender: the audit checks it is fair anyway.
crm score weight attrs.Gender -t contact --exclude --who demo --why "protected attribute" -q >/dev/null
CRM_ERP_DROP=$dir/erp-drop CRM_CALLS_DIR=$dir/sample/calls CRM_AUDIT_BY=gender \
	"$top"/scripts/nightly.sh || true
echo
echo "== records"
sql "SELECT 'accounts' AS type, count(*) AS n FROM accounts UNION ALL
     SELECT 'contacts', count(*) FROM contacts WHERE merged_into IS NULL UNION ALL
     SELECT 'merged duplicates', count(*) FROM merges UNION ALL
     SELECT 'deals (ERP invoices)', count(*) FROM deals WHERE source = 'erp' UNION ALL
     SELECT 'deals (CRM)', count(*) FROM deals WHERE source <> 'erp' UNION ALL
     SELECT 'interactions', count(*) FROM interactions UNION ALL
     SELECT 'calls transcribed', count(*) FROM transcripts"
echo "== what matters now: the top open deals, why, and what to do"
crm score --all -q | head -3 | crm explain --next-action -f table
echo "== the hottest leads, why, and what to do (equal scores: the more engaged this week first)"
crm score -t contact --all -q | head -3 | crm explain --next-action -f table
echo "== patterns worth knowing (crm explain --patterns)"
crm explain --patterns -f table 2>/dev/null | head -4
echo
echo "== what the calls said, and the tasks they gave"
sql "SELECT c.first_name AS contact, CASE t.hesitant WHEN 1 THEN 'hesitant' ELSE '' END AS flag,
            i.body AS summary
     FROM transcripts t JOIN interactions i ON i.id = t.interaction_id JOIN contacts c ON c.id = i.contact_id"
sql "SELECT owner, due_at, substr(title, 1, 80) AS task FROM tasks WHERE origin = 'call' ORDER BY owner, due_at"
echo "== is the lead model fair? (the night's bias audit by gender; what if the lead source went?)"
crm audit bias --by gender --what-if exclude:lead_source --report "$dir/audit.html" -q --no-store |
	jq -r 'if .type == "group" then "  \(.group): \(.selected) of \(.n) selected, impact ratio \(.disparate_impact) \(.disparate_impact_ci // []) \(.verdict)"
	elif .type == "what_if" then "  without lead_source: lowest ratio \(.before.min_ratio) -> \(.after.min_ratio), AUC cost \(.auc_cost)"
	elif .type == "audit" then "  verdict: \(.verdict)" else empty end'
echo "  report: $dir/audit.html"
echo "== data quality (crm audit quality): the checks over their threshold"
crm audit quality -q --no-store | jq -r 'select(.type == "check" and .status == "fail") | "  \(.check): \(.count) of \(.total) (\(.what))"'
echo
echo "Database: $CRM_DB   (try: crm export --db $CRM_DB -t deal -w stage=Negotiation)"
