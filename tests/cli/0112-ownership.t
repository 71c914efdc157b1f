#!/bin/sh
# Ownership is part of identity: two reps, a manager and an admin over
# POST, PATCH, upserts by every key, and dedupe. After each step, nobody
# reaches a record they could not reach before, owners change only when
# the caller may give records away, and a merge never moves a record to
# the rep who entered the later copy.
# backends: sqlite postgresql
. "$(dirname "$0")/lib.sh"

command -v curl >/dev/null || skip_all "no curl"

crm init 2>/dev/null
printf '%s\n' '{"type":"user","name":"Dev Patel","team":"east"}' '{"type":"user","name":"Ana Ruiz","team":"east"}' \
	'{"type":"user","name":"Wes Long","team":"west"}' | crm-import -q - >/dev/null
dev=$(crm-serve token add dev --user "Dev Patel" 2>/dev/null)
ana=$(crm-serve token add ana --user "Ana Ruiz" 2>/dev/null)
mgr=$(crm-serve token add mia --role manager --team east 2>/dev/null)
wmg=$(crm-serve token add walt --role manager --team west 2>/dev/null)
adm=$(crm-serve token add root --role admin 2>/dev/null)
serve_start --rate 0 --no-webhooks

send() {	# send TOKEN METHOD PATH BODY - body to stdout, status to ./status
	curl -s -o body -w '%{http_code}' -X "$2" -H "Authorization: Bearer $1" \
		-H 'Content-Type: application/json' --data-binary "$4" "$U$3" >status
	cat body
}
get() {
	curl -s -o body -w '%{http_code}' -H "Authorization: Bearer $1" "$U$2" >status
	cat body
}
owners() {	# every record's owner, for the "nobody gained anything" checks
	q "select id || ' ' || coalesce(owner, '-') from contacts union all
		select id || ' ' || coalesce(owner, '-') from deals union all
		select id || ' ' || coalesce(owner, '-') from tasks union all
		select id || ' ' || coalesce(contact_id, '-') from interactions order by 1"
}

# Dev's records, by every key the API upserts on.
send "$dev" POST /v1/contacts '{"external_id":"HS-1001","first_name":"Maria","last_name":"Lopez","email":"maria@lopez.example","phone":"+1 415 555 0101","company":"Lopez Ltd"}' >c.json
is "$(cat status) $(jq -r .owner c.json)" "201 Dev Patel" "Dev creates a contact by external id"
maria=$(jq -r .id c.json)
send "$dev" POST /v1/contacts '{"first_name":"Kim","email":"kim@byemail.example"}' >k.json
kim=$(jq -r .id k.json)
send "$dev" POST /v1/deals "{\"external_id\":\"D-1\",\"name\":\"Lopez renewal\",\"contact_id\":\"$maria\",\"amount\":5000}" >d.json
deal=$(jq -r .id d.json)
send "$dev" POST /v1/tasks "{\"external_id\":\"T-1\",\"title\":\"Send the quote\",\"contact_id\":\"$maria\"}" >t.json
task=$(jq -r .id t.json)
send "$dev" POST /v1/interactions "{\"external_id\":\"I-1\",\"kind\":\"call\",\"contact_id\":\"$maria\",\"occurred_at\":\"2026-11-01T10:00:00Z\"}" >i.json
ix=$(jq -r .id i.json)
is "$(cat status)" "201" "and a deal, a task and an interaction on it"
send "$ana" POST /v1/contacts '{"first_name":"Zed","email":"zed@ana.example"}' >z.json
anas=$(jq -r .id z.json)
before=$(owners)

# Ana upserts by each of Dev's keys.
send "$ana" POST /v1/contacts '{"external_id":"HS-1001"}' >x.json
is "$(cat status)" "201" "Ana's HS-1001 is a record of her own, not Dev's"
is "$(jq -r '.owner + " " + (.id != "'"$maria"'" | tostring)' x.json)" "Ana Ruiz true" "owned by her, another id"
grep -q -e Maria -e maria x.json; ok $((! $?)) "nothing of Dev's record in the answer"
send "$ana" POST /v1/contacts '{"email":"kim@byemail.example","first_name":"Kimberly"}' >/dev/null
is "$(cat status) $(q "select owner || ' ' || first_name from contacts where id = '$kim'")" "201 Dev Patel Kim" "by email: a new record of hers; Dev's keeps owner and name"
send "$ana" POST /v1/deals "{\"external_id\":\"D-1\",\"name\":\"Mine now\",\"contact_id\":\"$anas\"}" >/dev/null
is "$(q "select owner || ' ' || name || ' ' || contact_id from deals where id = '$deal'")" "Dev Patel Lopez renewal $maria" "by a deal's external id: Dev's deal untouched"
send "$ana" POST /v1/tasks "{\"external_id\":\"T-1\",\"title\":\"Mine\",\"contact_id\":\"$anas\"}" >/dev/null
is "$(q "select owner || ' ' || contact_id from tasks where id = '$task'")" "Dev Patel $maria" "by a task's external id: untouched"
send "$ana" POST /v1/interactions "{\"external_id\":\"I-1\",\"kind\":\"call\",\"contact_id\":\"$anas\",\"occurred_at\":\"2026-11-01T10:00:00Z\"}" >/dev/null
is "$(q "select contact_id from interactions where id = '$ix'")" "$maria" "by an interaction's external id: it stays on Dev's contact"
is "$(get "$dev" /v1/contacts | jq -r '[.data[].id] | sort | join(" ")')" "$(printf '%s\n' "$maria" "$kim" | sort | tr '\n' ' ' | sed 's/ $//')" "Dev's list is whole"

# PATCH and explicit ids.
send "$ana" PATCH "/v1/contacts/$maria" '{"first_name":"Taken"}' >/dev/null
is "$(cat status)" "404" "Ana cannot PATCH Dev's contact"
send "$ana" POST /v1/contacts "{\"id\":\"$maria\",\"first_name\":\"Taken\"}" >/dev/null
is "$(cat status)" "400" "nor name its id in a POST"
send "$ana" PATCH "/v1/contacts/$anas" '{"owner":"Dev Patel"}' >/dev/null
is "$(cat status)" "403" "a rep cannot give a record away"
send "$ana" POST /v1/contacts '{"first_name":"Nobody","owner":null}' >/dev/null
is "$(cat status) $(jq -r .error body)" "422 bad_field" "a new record must have an owner"
send "$ana" POST /v1/contacts '{"first_name":"Old","created_at":"2001-01-01T00:00:00Z"}' >/dev/null
is "$(cat status) $(jq -r .error body)" "400 forbidden_field" "created_at is the server's"

# A manager: reaches the team, changes it, cannot take another team's.
send "$mgr" PATCH "/v1/contacts/$maria" '{"title":"CEO"}' >/dev/null
is "$(cat status) $(q "select owner from contacts where id = '$maria'")" "200 Dev Patel" "a manager edits a team record; the owner stays"
send "$mgr" POST /v1/contacts '{"external_id":"HS-1001","first_name":"Maria","owner":"Dev Patel"}' >/dev/null
is "$(cat status) $(q "select count(*) from contacts where external_id = 'HS-1001' and owner = 'Dev Patel'")" "200 1" "a manager's upsert for Dev finds Dev's record (his key)"
send "$wmg" PATCH "/v1/contacts/$maria" '{"owner":"Wes Long"}' >/dev/null
is "$(cat status)" "404" "another team's manager cannot reach it"
# A record moved to Ana by the manager keeps its key: Dev's next upsert
# on that key conflicts instead of taking it back.
send "$mgr" PATCH "/v1/contacts/$kim" '{"owner":"Ana Ruiz"}' >/dev/null
is "$(cat status)" "200" "the manager gives Kim to Ana"
send "$dev" POST /v1/contacts '{"first_name":"Kim","email":"kim@byemail.example"}' >/dev/null
is "$(cat status) $(jq -r .error body)" "409 conflict" "Dev's upsert on the key of a record now Ana's: 409"
grep -q -e Kim -e kim@ body; ok $((! $?)) "without its contents"
is "$(q "select owner from contacts where id = '$kim'")" "Ana Ruiz" "and Ana keeps it"
send "$mgr" PATCH "/v1/contacts/$kim" '{"owner":"Dev Patel"}' >/dev/null

# An admin may give records away.
send "$adm" PATCH "/v1/contacts/$anas" '{"owner":"Wes Long"}' >/dev/null
is "$(cat status) $(q "select owner from contacts where id = '$anas'")" "200 Wes Long" "an admin reassigns"
send "$adm" PATCH "/v1/contacts/$anas" '{"owner":"Ana Ruiz"}' >/dev/null
after=$(owners)
is "$(printf '%s\n' "$before" | while read -r id o; do printf '%s\n' "$after" | grep -q "^$id $o\$" || echo "$id"; done)" "" "after all that, every record of before has its owner and contact of before"

# Dedupe: Ana enters a copy of Dev's contact (same name, email, phone).
send "$ana" POST /v1/contacts '{"first_name":"Maria","last_name":"Lopez","email":"maria@lopez.example","phone":"+1 415 555 0101","company":"Lopez Ltd"}' >copy.json
copy=$(jq -r .id copy.json)
for i in $(seq 14); do
	send "$dev" POST /v1/interactions "{\"kind\":\"email\",\"contact_id\":\"$maria\",\"occurred_at\":\"2026-10-$(printf %02d "$i")T10:00:00Z\",\"subject\":\"note $i\"}" >/dev/null
done
# A merge made by another process while the server runs: the server's
# writes follow it at once, none lands on the merged-away record.
send "$dev" POST /v1/contacts '{"first_name":"Pat","last_name":"Merge","email":"pat@merge.example","phone":"+1 415 555 0177","title":"CTO"}' >p1.json
send "$dev" POST /v1/contacts '{"first_name":"Pat","email":"pat2@merge.example"}' >p2.json
p1=$(jq -r .id p1.json); p2=$(jq -r .id p2.json)
send "$dev" POST /v1/interactions "{\"kind\":\"note\",\"contact_id\":\"$p2\",\"occurred_at\":\"2026-11-02T10:00:00Z\",\"subject\":\"before\"}" >/dev/null
crm-dedupe merge "$p1" "$p2" >/dev/null 2>&1
for i in 1 2 3; do
	send "$dev" POST /v1/interactions "{\"kind\":\"note\",\"contact_id\":\"$p2\",\"occurred_at\":\"2026-11-0${i}T11:00:00Z\",\"subject\":\"after $i\"}" >after$i.json
done
is "$(jq -r .contact_id after1.json after2.json after3.json | sort -u)" "$p1" "after a merge by another process, the server writes to the survivor"
is "$(q "select count(*) from interactions where contact_id = '$p2'")" "0" "nothing lands on the merged-away contact"
is "$(get "$dev" "/v1/contacts/$p2" | jq -r '.id + " " + .merged_from')" "$p1 $p2" "GET of a merged id: the survivor, saying so"
send "$dev" DELETE "/v1/contacts/$p2" '' >/dev/null
is "$(cat status) $(jq -r .error body)" "409 merged" "DELETE through a merged id is refused"
is "$(crm-export -t contact -w id="$p2" | jq -r .id)" "$p1" "crm-export -w id= of a merged id: the survivor"
kill "$srv"; wait "$srv" 2>/dev/null
crm-dedupe --all >pairs.ndjson 2>dd.err; ok $? "dedupe --all: $(head -c 160 dd.err)"
is "$(jq -r --arg a "$maria" --arg b "$copy" 'select((.a == $a and .b == $b) or (.a == $b and .b == $a)) | .action + " / " + .why' pairs.ndjson)" "review / two owners: Dev Patel and Ana Ruiz" "the sure pair of two owners goes to review, saying why"
is "$(q "select count(*) from contacts where id in ('$maria', '$copy') and merged_into is null") $(q "select owner from contacts where id = '$maria'")" "2 Dev Patel" "nothing merged; Dev keeps his contact"
is "$(q "select count(*) from interactions where contact_id = '$maria'")" "15" "with its interactions"
crm-dedupe review | jq -c --arg a "$maria" --arg b "$copy" 'select([.a_id, .b_id] | sort == ([$a, $b] | sort))' >rev.json
is "$(jq -r .reason rev.json)" "two owners: Dev Patel and Ana Ruiz" "the review queue says two owners meet"
# An admin decides: the record stays with the one who had it first.
rid=$(jq -r .id rev.json)
crm-dedupe accept "$rid" >acc.json 2>/dev/null; ok $? "an admin accepts the pair"
surv=$(jq -r .survivor_id acc.json)
is "$(q "select owner from contacts where id = '$surv'")" "Dev Patel" "the survivor is owned by who had it first"
is "$(q "select count(*) from audit_log where action = 'merge-across-owners' and detail like '%Dev Patel%Ana Ruiz%'")" "1" "the merge across owners is in the audit trail"
is "$(q "select json_extract(value, '\$.why') from merges, json_each(decisions) where json_extract(value, '\$.field') = 'owner'")" "owned first" "and its decision says why"
done_testing
