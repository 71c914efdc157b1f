#!/bin/sh
# crm-export: filters, formats, and the round trip import -> export -> import.
# backends: sqlite postgresql
. "$(dirname "$0")/lib.sh"
F=$TOP/tests/fixtures

crm-import -q "$F"/accounts.csv "$F"/contacts.csv "$F"/deals.csv "$F"/interactions.ndjson >/dev/null
crm-export >all.ndjson
ok $? "export everything"
is "$(wc -l <all.ndjson | tr -d ' ')" "12" "12 records"
is "$(jq -r .type all.ndjson | uniq | tr '\n' ' ')" "account contact deal interaction " "in dependency order"
is "$(jq -c -S 'select(.external_id == "C3") | .attrs' all.ndjson)" '{"Favourite Colour":"blue, dark","Postcode":75001}' "custom fields in the record"

is "$(crm-export -t deal -w 'amount>=3000' | jq -r .external_id | sort | tr '\n' ' ')" "O1 O2 " "numeric filter"
is "$(crm-export -t contact -w 'email~INITECH' | jq -r .external_id)" "C2" "contains, any case"
is "$(crm-export -t contact -w 'attrs.Favourite Colour=green' | jq -r .external_id)" "C1" "filter on a custom field"
is "$(crm-export -t deal -w 'closed_at=' | jq -r .external_id)" "O2" "empty value: missing"
is "$(crm-export -t deal -w 'closed_at!=' | wc -l | tr -d ' ')" "2" "!= empty: present"
is "$(crm-export -t contact -w 'outcome=converted' -w 'consent=granted' | jq -r .external_id)" "C1" "filters combine with AND"
is "$(crm-export -t contact --since 2000-01-01 | wc -l | tr -d ' ')" "3" "--since"
is "$(crm-export -t contact --since 2999-01-01 | wc -l | tr -d ' ')" "0" "--since in the future"
crm-export -t contact -w 'nosuch=1' 2>err
is "$?" "2" "unknown filter field: exit 2"
like "$(cat err)" "contacts have no field 'nosuch'" "says which"
crm-export -w "email=x' OR 1=1 --" | wc -l >n
is "$(tr -d ' ' <n)" "0" "filter values are bound, not SQL"

# CSV
crm-export -t contact -f csv >contacts.csv
is "$(head -1 contacts.csv)" "id,source,external_id,first_name,last_name,email,phone,title,company,account_id,lifecycle_stage,lead_source,owner,consent,outcome,outcome_at,country,city,merged_into,created_at,updated_at,consent_basis,consent_source,consent_at,attrs.Favourite Colour,attrs.Postcode" "CSV header: columns then attrs.KEY"
like "$(grep C3 contacts.csv)" '"blue, dark",75001' "CSV quoting"
crm-export -f csv 2>err; is "$?" "2" "CSV needs one type"
crm-export -t contact --fields id,email,attrs.Postcode -f csv >few.csv
is "$(sed -n 2p few.csv | cut -d, -f2-)" "ann.lee@acme.example.com,04011" "--fields picks columns"

# Round trip through NDJSON into a fresh database: same records.
crm-import --db fresh.db -q all.ndjson >/dev/null
ok $? "NDJSON export imports into a fresh database"
norm() { jq -c -S 'del(.updated_at, .status)' | sort; }
crm-export --db fresh.db | norm >b
norm <all.ndjson >a
is "$(cmp a b >/dev/null && echo same || diff a b | head -5)" "same" "the same records, ids and custom fields"

# Round trip through CSV per type.
for t in account contact deal interaction; do
	crm-export -t $t -f csv >$t.csv
	crm-import --db fresh2.db -t $t -q $t.csv >/dev/null
done
crm-export --db fresh2.db | norm >c
is "$(cmp a c >/dev/null && echo same || diff a c | head -5)" "same" "CSV round trip too (custom fields as attrs.KEY columns)"

# A closed pipe ends quietly with status 0.
st crm-export 2>err | st head -c 0
stages_ok 2 "a reader that leaves: crm-export's status 0 too"
is "$(cat err)" "" "and quietly"
if [ -w /dev/full ]; then
	crm-export >/dev/full 2>err
	is "$?" "74" "write error: exit 74"
else
	skip "a write error: /dev/full is not writable here"
fi
done_testing
