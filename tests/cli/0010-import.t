#!/bin/sh
# crm-import: mapping, references, custom fields, upserts, output.
# backends: sqlite postgresql
. "$(dirname "$0")/lib.sh"
F=$TOP/tests/fixtures

crm-import "$F"/deals.csv "$F"/interactions.ndjson "$F"/contacts.csv "$F"/accounts.csv >out.ndjson 2>err
ok $? "four files import (given in the wrong order)"
like "$(cat err)" "12 rows: 12 inserted, 0 updated, 0 unchanged, 0 rejected" "summary on stderr"
is "$(wc -l <out.ndjson | tr -d ' ')" "12" "one NDJSON record per row"
like "$(head -1 out.ndjson)" '{"type":"account","status":"inserted","' "accounts went first"

is "$(q "select count(*) from accounts")" "3" "3 accounts"
is "$(q "select employees || '|' || revenue from accounts where external_id='A1'")" "1200|5000000.0" "numbers with separators"
is "$(q "select revenue from accounts where external_id='A2'")" "750000.0" "currency sign dropped"
is "$(q "select p.name from accounts a join accounts p on p.id = a.parent_id where a.external_id='A1'")" "Globex Holdings" "parent named later in the file is linked"
is "$(q "select json_extract(attrs,'$.Tier') from accounts where external_id='A3'")" "gold" "unmapped column kept in attrs"

is "$(q "select first_name||'|'||last_name||'|'||email from contacts where external_id='C1'")" "Ann|Lee|ann.lee@acme.example.com" "full name split, email lower-cased"
is "$(q "select lifecycle_stage||'|'||consent||'|'||outcome||'|'||created_at from contacts where external_id='C1'")" "mql|granted|converted|2024-03-14" "enums and M/D/YYYY date"
is "$(q "select a.external_id from contacts c join accounts a on a.id=c.account_id where c.external_id='C1'")" "A1" "company resolved to its account"
is "$(q "select coalesce(account_id,'none')||'|'||company from contacts where external_id='C3'")" "none|NewCo SAS" "unknown company kept as text"
is "$(q "select created_at from contacts where external_id='C3'")" "2024-06-01" "dotted date is day first"
is "$(q "select json_extract(attrs,'$.Postcode')||'|'||json_type(attrs,'$.Postcode')||'|'||json_extract(attrs,'$.\"Favourite Colour\"') from contacts where external_id='C3'")" "75001|integer|blue, dark" "custom fields typed, quoted comma kept"
is "$(q "select json_type(attrs,'$.Postcode') from contacts where external_id='C1'")" "text" "a leading zero stays text"
is "$(q "select first_name from contacts where external_id='C3'")" "Chloé" "UTF-8 names"

is "$(q "select a.external_id||'|'||c.external_id||'|'||d.outcome||'|'||d.amount from deals d join accounts a on a.id=d.account_id join contacts c on c.id=d.contact_id where d.external_id='O1'")" "A1|C1|won|12000.0" "deal refs by name and email, outcome from stage"
is "$(q "select a.name from deals d join accounts a on a.id=d.account_id where d.external_id='O2'")" "Initech Ltd" "account by external id"
is "$(q "select coalesce(account_id,'none')||'|'||outcome||'|'||created_at from deals where external_id='O3'")" "none|lost|2024-05-03" "empty account on a deal is fine"
is "$(q "select count(*) from deal_stages")" "3" "stage history started"

is "$(q "select kind||'|'||occurred_at from interactions where json_extract(attrs,'$.duration_s')=420")" "call|2024-05-01T08:00:00Z" "epoch time, kind, custom number"
is "$(q "select i.occurred_at from interactions i join contacts c on c.id=i.contact_id where c.external_id='C2' and i.kind='email_open'")" "2024-05-02T07:30:00Z" "offset converted to UTC; contact by external id"
is "$(q "select json_extract(attrs,'$.utm.source') from interactions where kind='page_view'")" "ads" "nested custom JSON kept"
is "$(q "select d.external_id from interactions i join deals d on d.id=i.deal_id")" "O2" "interaction linked to its deal"
is "$(q "select count(*) from events where op='insert'")" "12" "one event per new record"
events=$(q "select count(*) from events")

# Idempotent re-run.
crm-import "$F"/accounts.csv "$F"/contacts.csv "$F"/deals.csv "$F"/interactions.ndjson >out2.ndjson 2>err
ok $? "re-run succeeds"
like "$(cat err)" "0 inserted, 0 updated, 12 unchanged" "re-run changes nothing"
is "$(grep -c '"status":"unchanged"' out2.ndjson)" "12" "records say unchanged"
is "$(q "select count(*) from contacts")" "3" "no duplicates"
is "$(q "select count(*) from events")" "$events" "no events for unchanged rows"

# A changed row updates only what it has.
printf 'Contact ID,Lifecycle Stage,Job Title,Shoe Size\nC2,sql,,44\n' >change.csv
crm-import -t contact change.csv >out3.ndjson 2>err
like "$(cat err)" "1 updated" "changed row updated"
like "$(cat out3.ndjson)" '"status":"updated"' "status updated"
is "$(q "select lifecycle_stage||'|'||title||'|'||email||'|'||json_extract(attrs,'$.\"Shoe Size\"') from contacts where external_id='C2'")" "sql|Analyst|bob@initech.example.com|44" "empty cell keeps the old value; attrs merged"
is "$(q "select payload from events where op='update' and entity='contact'")" '{"changed":["lifecycle_stage","attrs"]}' "the event names what changed"

# --map and natural keys.
printf 'Prospect,Mail,Did Buy,Source\nP-9,zed@example.com,1,webinar\n' >mapped.csv
crm-import -t contact --map 'Prospect=external_id,Did Buy=outcome' --map Source=lead_source -q mapped.csv >/dev/null
is "$(q "select external_id||'|'||email||'|'||outcome||'|'||lead_source from contacts where external_id='P-9'")" "P-9|zed@example.com|converted|webinar" "--map overrides"
crm-import -t contact --map 'Nope=favourite' mapped.csv >/dev/null 2>err
is "$?" "2" "--map to an unknown field is a usage error"
like "$(cat err)" "contacts have no field 'favourite'" "and says which"
printf 'email,first_name\nnoid@example.com,Nia\n' | crm-import -t contact -q >/dev/null
printf 'email,first_name\nNoId@Example.com,Nia B\n' | crm-import -t contact -q >/dev/null
is "$(q "select count(*)||'|'||max(first_name) from contacts where email='noid@example.com'")" "1|Nia B" "no external id: email is the key"

# Dry run writes nothing.
before=$(q "select count(*) from contacts")
printf 'email\nnew1@example.com\n' | crm-import -t contact -n >/dev/null 2>err
like "$(cat err)" "1 inserted" "dry run reports"
like "$(cat err)" "dry run" "and says it was one"
is "$(q "select count(*) from contacts")" "$before" "dry run wrote nothing"

# NDJSON from stdin, type per record, unknown keys to attrs.
echo '{"type":"product","name":"Platform","price":"1,000","family":"core","tags":["a","b"]}' | crm-import -q >/dev/null
is "$(q "select price||'|'||series||'|'||json_extract(attrs,'$.tags[1]') from products")" "1000.0|core|b" "NDJSON product with array attr"

# Words that are both record keys and data.
printf 'title,status,due\nCall Ann,done,2024-06-01\n' | crm-import -t task -q >/dev/null
is "$(q "select status||'|'||due_at from tasks where title='Call Ann'")" "done|2024-06-01" "a task's status is data"
printf '{"type":"call","occurred_at":"2024-06-02T10:00:00Z","contact":"C1"}\n' | crm-import -t interaction -q >/dev/null
is "$(q "select count(*) from interactions where kind='call' and occurred_at like '2024-06-02%'")" "1" "an interaction's \"type\": \"call\" is its kind"
printf 'type,occurred_at,email\nmeeting,2024-06-03,ann.lee@acme.example.com\n' | crm-import -t interaction -q >/dev/null
is "$(q "select count(*) from interactions where kind='meeting'")" "1" "so is a CSV type column"
done_testing
