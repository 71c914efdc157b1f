#!/bin/sh
# crm-dedupe: merges, moved links, merged ids that still resolve, undo
# (also after later edits), the review queue, kill -9 mid-run.
# backends: sqlite postgresql
. "$(dirname "$0")/lib.sh"
F=$TOP/tests/fixtures
id() { q "select id from contacts where external_id='$1'"; }

crm-import -q -t contact "$F"/people.csv >/dev/null
printf 'kind,occurred_at,contact\ncall,2024-01-01T10:00:00Z,P02\nemail,2024-01-02T10:00:00Z,P03\n' |
	crm-import -q -t interaction >/dev/null
printf 'Opportunity ID,Contact ID,Amount,Stage\nO1,P05,100,Open\n' | crm-import -q -t deal >/dev/null

crm-dedupe --all >run.ndjson 2>err
ok $? "crm-dedupe --all merges"
like "$(cat err)" "4 records merged" "four records merged into three"
is "$(q "select group_concat(external_id) from (select external_id from contacts where merged_into is null and external_id like 'P0%' order by external_id)")" "P01,P04,P06,P08,P09" "survivors and untouched records"
is "$(q "select count(*) from contacts where merged_into = '$(id P01)'")" "2" "P02 and P03 point at P01"
is "$(q "select count(*) from interactions where contact_id = '$(id P01)'")" "2" "their interactions moved to P01"
is "$(q "select contact_id from deals where external_id='O1'")" "$(id P04)" "the deal moved to the survivor"
is "$(q "select json_extract(attrs,'\$.emails') from contacts where external_id='P01'")" '["will.turner+crm@acme.example.com","wturner@mail.example.org"]' "other emails kept as alternates"
is "$(q "select count(*) from merges where status='merged'")" "4" "every merge logged"
like "$(crm-dedupe merges | head -1)" '"decisions":[{"field"' "merges list with their decisions"
is "$(crm-dedupe merges | jq -s 'length')" "4" "crm-dedupe merges lists them"
is "$(q 'select count(*) from events where op = '"'update'"' and entity_id = '"'$(id P02)'"'')" "1" "the merge is in the event log"

# A merged record's external id still lands on the survivor.
printf 'Contact ID,Job Title\nP03,Architect\n' | crm-import -t contact >out 2>/dev/null
is "$(jq -r .id out)" "$(id P01)" "re-importing P03 updates P01"

# Undo after a later edit of the survivor.
printf 'Contact ID,City\nP01,Cambridge\n' | crm-import -q -t contact >/dev/null
m=$(q "select id from merges where merged_id='$(id P02)'")
crm-dedupe undo "$m" >out
ok $? "undo"
like "$(cat out)" '"status":"undone"' "says undone"
is "$(q "select coalesce(merged_into,'live')||'|'||first_name||'|'||email from contacts where external_id='P02'")" "live|Bill|will.turner+crm@acme.example.com" "P02 is back as it was"
is "$(q "select c.external_id from interactions i join contacts c on c.id=i.contact_id where i.kind='call'")" "P02" "with its call"
is "$(q "select city||'|'||title from contacts where external_id='P01'")" "Cambridge|Architect" "P01 keeps the edits made since"
crm-dedupe undo "$m" 2>err; is "$?" "65" "undoing twice: exit 65"
like "$(cat err)" "already undone" "says why"
crm-dedupe undo m_nosuch 2>err; is "$?" "65" "unknown merge: exit 65"

# A chain: undo the later merge first. P10, made the more complete of
# the two, survives; P01, which holds P03, is merged away.
printf 'Contact ID,Job Title,Lead Source,Region,Segment\nP10,Director,referral,East,SMB\n' | crm-import -q -t contact >/dev/null
crm-dedupe merge "$(id P01)" "$(id P10)" >m2.json
ok $? "manual merge"
m2=$(jq -r .id m2.json)
like "$m2" "m_" "names the merge it made"
surv=$(q "select survivor_id from merges where id='$m2'")
first=$(q "select id from merges where merged_id='$(id P03)'")
is "$surv" "$(id P10)" "the more complete record survives"
crm-dedupe undo "$first" 2>err
is "$?" "65" "undo refused while the survivor is merged away"
like "$(cat err)" "undo that merge first" "says what to do"
crm-dedupe undo "$m2" >/dev/null
ok $? "undo the manual merge"
crm-dedupe undo "$first" >/dev/null
ok $? "then the earlier one"
is "$(q "select count(*) from contacts where merged_into is not null and external_id in ('P02','P03','P10')")" "0" "all three live again"
is "$(q 'PRAGMA integrity_check')" "ok" "integrity ok"

# The review queue: uncertain pairs wait, rejected pairs stay apart.
crm-import --db r.db -q -t contact "$F"/people.csv >/dev/null
crm-dedupe --db r.db --all --auto-merge 1 --review 0.5 -q >/dev/null
n=$(crm-dedupe --db r.db review | wc -l | tr -d ' ')
ok "$([ "$n" -ge 1 ] && echo 0 || echo 1)" "pairs below --auto-merge queued ($n)"
rid=$(crm-dedupe --db r.db review | jq -r .id | head -1)
a=$(crm-dedupe --db r.db review | jq -r .a_id | head -1)
crm-dedupe --db r.db reject "$rid"
ok $? "reject"
crm-dedupe --db r.db --all --auto-merge 0.5 --review 0.5 -q >/dev/null
is "$(sqlite3 r.db "select coalesce(merged_into,'live') from contacts where id='$a'" | grep -c live)" "1" "a rejected pair is not merged later"
crm-import --db r2.db -q -t contact "$F"/people.csv >/dev/null
crm-dedupe --db r2.db --all --auto-merge 1 --review 0.5 -q >/dev/null
rid=$(crm-dedupe --db r2.db review | jq -r .id | head -1)
crm-dedupe --db r2.db accept "$rid" >out
like "$(cat out)" '"survivor_id"' "accept merges the pair"
is "$(sqlite3 r2.db "select count(*) from merges where reason='review'")" "1" "logged as a reviewed merge"
is "$(crm-dedupe --db r2.db review | grep -c "$rid")" "0" "no longer open"
# Decisions teach: the next run takes them as labels, merged records or not.
crm-dedupe --db r.db --all --auto-merge 1 --review 0.5 -n >/dev/null 2>err
like "$(cat err)" "1 from decisions in the review queue" "a rejection is a label the next run learns from"
crm-dedupe --db r2.db --all --auto-merge 1 --review 0.5 -n >/dev/null 2>err
like "$(cat err)" "(1 matches; 1 from decisions in the review queue)" "an acceptance too, though its pair was merged"

# Dry run changes nothing.
crm-import --db d.db -q -t contact "$F"/people.csv >/dev/null
crm-dedupe --db d.db --all -n -q >/dev/null
is "$(sqlite3 d.db 'select count(*) from merges')|$(sqlite3 d.db 'select count(*) from contacts where merged_into is not null')" "0|0" "--dry-run merges nothing"

# From a pipe: new records checked against the database, passed on with
# their match; other records and keys untouched.
head -9 "$F"/people.csv | crm-import --db pipe.db -q -t contact >/dev/null
{ head -1 "$F"/people.csv; echo 'N1,Wiliam,Turner,will.turner@acme.example.com,,Acme,Boston,1980-02-11'
  echo 'N2,Zed,Quux,zed@quux.example.com,,Quux,Oslo,1970-01-01'; } |
	crm-import --db pipe.db -t contact 2>/dev/null |
	jq -c '. + {"note": "kept"}' >new.ndjson
echo '{"type":"deal","id":"d_x","amount":1}' >>new.ndjson
crm-dedupe --db pipe.db <new.ndjson >piped.ndjson 2>err
ok $? "crm-dedupe reads records from a pipe"
is "$(wc -l <piped.ndjson | tr -d ' ')" "3" "every record passed on"
is "$(jq -r 'select(.external_id=="N1") | .duplicate.action' piped.ndjson)" "merge" "the new Wiliam Turner is a duplicate"
is "$(jq -r 'select(.external_id=="N1") | .duplicate.merged_into' piped.ndjson)" "$(sqlite3 pipe.db "select id from contacts where external_id='P01'")" "merged into the existing record"
is "$(jq -r 'select(.external_id=="N2") | .duplicate.action' piped.ndjson)" "distinct" "a new person is distinct"
is "$(jq -r 'select(.external_id=="N2") | .note' piped.ndjson)" "kept" "unknown keys pass through"
is "$(jq -r 'select(.type=="deal") | .amount' piped.ndjson)" "1" "other record types pass through"
is "$(sqlite3 pipe.db "select count(*) from contacts where merged_into is not null")" "1" "only pairs with a new record were acted on"

# Accounts.
printf 'Account ID,Company Name,Website,Country\nA1,Acme Widgets Inc,acme.example.com,US\nA2,ACME Widgets,acme.example.com,US\nA3,Globex GmbH,globex.example.com,DE\n' >acc.csv
crm-import --db acc.db -q -t account acc.csv >/dev/null
crm-dedupe --db acc.db -t account --all -q >/dev/null
is "$(sqlite3 acc.db "select count(*) from accounts where merged_into is not null")" "1" "two spellings of one company merged"
is "$(sqlite3 acc.db "select name from accounts where merged_into is null order by name" | tr '\n' ' ')" "Acme Widgets Inc Globex GmbH " "the other kept"

# kill -9 in the middle of merging: no half-merged record; a rerun goes on.
"$TOP"/scripts/gen-people -n 30000 -d 0.3 -s 5 >people.csv
crm-import --db k.db -q -t contact --output none people.csv
crm-dedupe --db k.db --all -q >/dev/null 2>&1 &
pid=$!
i=0
while [ "$(sqlite3 k.db 'select count(*) from merges' 2>/dev/null || echo 0)" -lt 1000 ] && [ $i -lt 600 ]; do
	sleep 0.05; i=$((i + 1))
done
kill -9 $pid 2>/dev/null; wait $pid 2>/dev/null
n=$(sqlite3 k.db 'select count(*) from merges')
is "$(sqlite3 k.db 'PRAGMA integrity_check')" "ok" "integrity ok after kill -9 ($n merges in)"
is "$(sqlite3 k.db "select count(*) from contacts c where merged_into is not null and not exists (select 1 from merges m where m.merged_id = c.id and m.status = 'merged')")" "0" "every merged record has its merge logged"
is "$(sqlite3 k.db "select count(*) from merges m where status = 'merged' and not exists (select 1 from contacts c where c.id = m.merged_id and c.merged_into = m.survivor_id)")" "0" "every logged merge happened"
crm-dedupe --db k.db --all -q >/dev/null 2>&1
ok $? "rerun completes"
is "$(sqlite3 k.db "select count(*) from (select merged_id from merges where status='merged' group by merged_id having count(*) > 1)")" "0" "nothing merged twice"
done_testing
