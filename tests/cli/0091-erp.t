#!/bin/sh
# crm-import --erp: orders and invoices become won deals of the right
# account, found by id, domain, a contact's email or the company name
# (exactly or approximately); what is not revenue or has no account is
# rejected with the reason; importing again duplicates nothing.
# backends: sqlite postgresql
. "$(dirname "$0")/lib.sh"

cat >accounts.csv <<'EOF2'
account_id,name,domain,industry
A-100,Acme Corporation,acme.com,manufacturing
A-200,Globex GmbH,globex.de,retail
A-300,Initech LLC,initech.com,software
A-400,Acme Logistics,acmelogistics.com,transport
A-500,Globex Inc,globex.com,retail
EOF2
cat >contacts.csv <<'EOF2'
email,first_name,account
pat@initech.com,Pat,Initech LLC
EOF2
crm-import -q accounts.csv contacts.csv >/dev/null
acc() { q "select id from accounts where external_id = '$1'"; }

cat >orders.csv <<'EOF2'
Invoice No,Invoice Date,Customer,Customer Name,Website,Email,Net Amount,Currency,Status,Type
INV-1,2026-01-15,A-100,,,,"1.200,50",EUR,paid,Invoice
INV-2,2026-02-01,,Whatever Trading,https://www.globex.de/shop,,3400,EUR,paid,Invoice
INV-3,2026-02-03,,,,pat@initech.com,"$2,500.00",USD,paid,Invoice
INV-4,2026-02-05,,"ACME Corp.",,,999,USD,paid,Invoice
INV-5,2026-02-06,,Globex,,,100,EUR,open,Invoice
INV-6,2026-02-07,,Umbrella Ltd,,,500,USD,paid,Invoice
INV-7,2026-02-08,A-200,,,,200,EUR,cancelled,Invoice
INV-8,2026-02-09,A-200,,,,-200,EUR,paid,Credit Note
INV-9,2026-02-10,,Acme,,,50,USD,paid,Invoice
EOF2
crm-import --erp --output ndjson -r rejects.ndjson orders.csv >out.ndjson 2>err
is "$?" "65" "some rows are not revenue: exit 65"
got=$(jq -r '"\(.external_id) \(.account_id) \(.amount) \(.outcome) \(.closed_at) \(.attrs.erp_match)"' out.ndjson)
is "$(echo "$got" | sed -n 1p)" "INV-1 $(acc A-100) 1200.5 won 2026-01-15 id" "by the account's id; a European amount"
is "$(echo "$got" | sed -n 2p)" "INV-2 $(acc A-200) 3400 won 2026-02-01 domain" "by the website's domain, whatever the name says"
is "$(echo "$got" | sed -n 3p)" "INV-3 $(acc A-300) 2500 won 2026-02-03 contact" "by a contact's email; a dollar amount"
is "$(echo "$got" | sed -n 4p)" "INV-4 $(acc A-100) 999 won 2026-02-05 company name" "'ACME Corp.' is Acme Corporation, not Acme Logistics"
is "$(echo "$got" | sed -n 5p)" "INV-9 $(acc A-100) 50 won 2026-02-10 company name" "'Acme' too"
is "$(jq -r '"\(.line) \(.reason)"' rejects.ndjson | tr '\n' '|')" \
	"6 'Globex' could be 2 accounts|7 no account matches 'Umbrella Ltd'|8 status 'cancelled' is not revenue|9 a Credit Note is not revenue|" \
	"rejected with reasons: 'Globex', which two accounts could be; an unknown company; a cancellation; a credit note"
is "$(q "select count(*) || ' ' || sum(amount) from deals where source = 'erp' and outcome = 'won'")" "5 8149.5" \
	"five won deals, the revenue summed"
crm-import --erp -q orders.csv >/dev/null 2>&1
is "$(q "select count(*) from deals")" "5" "imported again: no duplicates"

printf '{"order_id": 77, "date": "2026-03-01", "total": 1500, "customer_name": "Initech"}\n{"order_id": "78", "date": "2026-03-02", "total": "300", "customer_name": "Inittech Ltd"}\n' >orders.ndjson
crm-import --erp --output ndjson orders.ndjson >nd.out 2>err
is "$(jq -r '"\(.external_id) \(.account_id) \(.amount)"' nd.out | tr '\n' '|')" "77 $(acc A-300) 1500|78 $(acc A-300) 300|" \
	"NDJSON orders, numeric ids and amounts"
like "$(jq -r 'select(.external_id == "78") | .attrs.erp_match' nd.out)" "similar name 0.9" "a misspelt name is matched approximately"
is "$(q "select count(*) from deals where account_id = '$(acc A-100)' and outcome = 'won'")" "3" \
	"Acme's history now holds its three invoices, for scoring"
done_testing
