#!/bin/sh
# demo.sh - generate a sample CRM, import it into a fresh database, find
# duplicates, train a deal model, and show what matters now: the top
# deals, why, and what to do. Run through 'make demo'; leaves demo/crm.db.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
: "${CRM_BUILD:=$top/build}"
PATH=$CRM_BUILD:$PATH
dir=${DEMO_DIR:-$top/demo}

rm -rf "$dir"
mkdir -p "$dir"
"$top"/scripts/gen-sample -n "${DEMO_CONTACTS:-5000}" "$dir/sample"
export CRM_DB="$dir/crm.db"
crm init
echo "== crm import $dir/sample/*" >&2
crm import --rejects "$dir/rejects.ndjson" "$dir"/sample/* >"$dir/imported.ndjson"

sql() { sqlite3 -header -column "$CRM_DB" "$1"; echo; }
echo
echo "== records"
sql "SELECT 'accounts' AS type, count(*) AS n FROM accounts UNION ALL
     SELECT 'contacts', count(*) FROM contacts UNION ALL
     SELECT 'deals', count(*) FROM deals UNION ALL
     SELECT 'interactions', count(*) FROM interactions UNION ALL
     SELECT 'events', count(*) FROM events"
echo "== lead conversion by source (closed leads)"
sql "SELECT lead_source, count(*) AS leads,
            printf('%.1f%%', 100.0 * avg(outcome = 'converted')) AS converted
     FROM contacts WHERE outcome IS NOT NULL GROUP BY 1 ORDER BY avg(outcome = 'converted') DESC"
echo "== pipeline by stage"
sql "SELECT stage, count(*) AS deals, printf('%,d', sum(amount)) AS amount
     FROM deals GROUP BY 1 ORDER BY sum(amount) DESC"
echo "== most engaged open leads"
sql "SELECT c.first_name || ' ' || c.last_name AS contact, c.company,
            count(*) AS touches, sum(i.subject = '/pricing') AS pricing_views
     FROM interactions i JOIN contacts c ON c.id = i.contact_id
     WHERE c.outcome IS NULL
     GROUP BY c.id ORDER BY pricing_views DESC, touches DESC LIMIT 5"
echo "== duplicates (crm dedupe --all)"
crm dedupe --all -q >"$dir/matches.ndjson"
sql "SELECT count(*) AS merged FROM merges"
echo "== a deal model from the won/lost history (crm score train)"
crm score train 2>&1 >/dev/null | sed 's/^crm-score: //'
echo
echo "== what matters now: the top open deals, why, and what to do"
crm score --all -q | head -3 | crm explain --next-action -f table
echo "== patterns worth knowing (crm explain --patterns)"
crm explain --patterns -f table 2>/dev/null | head -4
echo
echo "== is the lead model fair? (crm audit bias: gender is left out, the lead source is a proxy)"
crm score weight attrs.Gender -t contact --exclude --who demo --why "protected attribute" -q >/dev/null
crm score train -t contact -q >/dev/null && crm score -t contact --all -q >/dev/null
crm audit bias --by gender --what-if exclude:lead_source --report "$dir/audit.html" -q |
	jq -r 'if .type == "group" then "  \(.group): \(.selected) of \(.n) selected, impact ratio \(.disparate_impact) \(.disparate_impact_ci // []) \(.verdict)"
	elif .type == "what_if" then "  without lead_source: lowest ratio \(.before.min_ratio) -> \(.after.min_ratio), AUC cost \(.auc_cost)"
	elif .type == "audit" then "  verdict: \(.verdict)" else empty end'
echo "  report: $dir/audit.html"
echo
echo "== a call, transcribed and analysed (crm transcribe): the rep's tasks come out of it"
lead=$(sqlite3 "$CRM_DB" "SELECT email FROM contacts WHERE email IS NOT NULL AND owner IS NOT NULL AND outcome IS NULL LIMIT 1")
crm transcribe -f table -c "$lead" --at "$(date -u +%F)" "$top/tests/data/calls/c03.txt"
sql "SELECT owner, due_at, title FROM tasks WHERE origin = 'call'"
echo
echo "Database: $CRM_DB   (try: crm export --db $CRM_DB -t deal -w stage=Negotiation)"
