#!/bin/sh
# The data subject's rights without field encryption, on either backend:
# export of everything held about a person (and its entry in the audit
# trail), erasure that follows merges and leaves no row, event or
# suppression gap behind, a dry run that changes nothing, a re-import of
# the erased person refused, and retention purges. 0120-privacy.t does the
# same with sealed fields on an SQLite file.
# backends: sqlite postgresql
. "$(dirname "$0")/lib.sh"

unset CRM_KEY_FILE CRM_KEY_STORE
crm init 2>/dev/null
cat >people.csv <<'CSV'
external_id,first_name,last_name,email,phone,company
P1,Rosa,Quintero,rosa.quintero@example.org,+34 911 222 333,Quintero SL
P2,Rosa,Quintero,r.quintero@example.org,+34 911 222 333,Quintero SL
P3,Ann,Leeward,ann.leeward@example.com,+1 415 555 0101,Lee Inc
CSV
cat >acts.csv <<'CSV'
kind,occurred_at,contact email,subject,body
email,2026-10-01T10:00:00Z,rosa.quintero@example.org,Quote,Dear Rosa: your quote
call,2020-10-02T10:00:00Z,r.quintero@example.org,Call,Rosa asked about seats
email,2026-10-04T10:00:00Z,ann.leeward@example.com,Hello Ann,Ann's note
CSV
crm-import -q -t contact people.csv >/dev/null
crm-import -q -t interaction acts.csv >/dev/null
p1=$(q "select id from contacts where external_id = 'P1'")
p2=$(q "select id from contacts where external_id = 'P2'")
crm-dedupe merge "$p1" "$p2" >merge.json 2>/dev/null
ok $? "the two Rosas merged"

# --- access: everything about her, from either id ---------------------------------
crm-export --subject rosa.quintero@example.org >subject.ndjson
ok $? "export --subject"
is "$(jq -r .type subject.ndjson | sort | uniq -c | awk '{ printf "%s:%s ", $2, $1 }')" \
	"contact:2 event:7 interaction:2 merge:1 subject:1 " "both records, their interactions, the merge and the events"
is "$(jq -r 'select(.type == "interaction") | .body' subject.ndjson | sort | tr '\n' '|')" \
	"Dear Rosa: your quote|Rosa asked about seats|" "in full"
is "$(grep -c 'Ann' subject.ndjson)" "0" "and nothing of anyone else"
is "$(q "select count(*) from audit_log where action = 'export-subject'")" "1" "the export is in the audit trail"

# --- erasure ----------------------------------------------------------------------------
crm-forget --dry-run "$p2" >dry.json
is "$(jq -r '[.dry_run, .contacts, .interactions] | join(" ")' dry.json)" "true 2 2" \
	"a dry run counts (from the merged-away id too)"
is "$(q "select count(*) from contacts where external_id in ('P1', 'P2')")" "2" "and erases nothing"
crm-forget rosa.quintero@example.org >receipt.json
ok $? "crm-forget"
is "$(jq -r '[.contacts, .interactions, .merges, .suppressed] | join(" ")' receipt.json)" "2 2 1 3" \
	"the receipt: both records, their interactions, the merge, three identifiers suppressed"
is "$(q "select count(*) from contacts where external_id in ('P1', 'P2')") $(q "select count(*) from interactions where body like '%Rosa%'")" \
	"0 0" "their rows are gone"
is "$(q "select count(*) from events where entity_id in ('$p1', '$p2') and (op not in ('update', 'delete') or payload like '%quintero%' or payload like '%Rosa%')")" \
	"0" "their events went; what the erasure itself logged names no field of theirs"
is "$(q "select count(*) from contacts where external_id = 'P3'") $(q "select count(*) from interactions where subject = 'Hello Ann'")" \
	"1 1" "Ann is untouched"
is "$(q "select count(*) from subject_requests where kind = 'erasure' and done_at is not null")" "1" "the request is closed"
is "$(q "select count(*) from subject_requests where subject like '%rosa%'")" "0" "and names her by keyed hash only"
crm-import -t contact people.csv >again.ndjson 2>again.err
is "$(jq -s 'map(select(.status == "inserted")) | length' again.ndjson)" "0" "a re-import of her rows lands nothing"
like "$(cat again.err)" "2 rejected" "both refused as suppressed"
crm-forget rosa.quintero@example.org >/dev/null 2>err
is "$?" "1" "forgetting her again finds nobody"

# --- retention --------------------------------------------------------------------------
crm-purge --retain interactions=365 --dry-run >dry.json
is "$(jq -r .interactions dry.json)" "0" "a dry run: nothing as old as a year (hers went with her)"
printf 'kind,occurred_at,contact email,subject\ncall,2019-01-01T10:00:00Z,ann.leeward@example.com,Old call\n' |
	crm-import -q -t interaction >/dev/null
crm-purge --retain interactions=365 >purge.json
is "$(jq -r .interactions purge.json) $(q "select count(*) from interactions where subject = 'Old call'")" "1 0" \
	"a purge deletes what is older than its retention"
is "$(q "select action from audit_log order by seq" | tr '\n' ' ')" "export-subject forget purge " \
	"the audit trail: the export, the erasure, the purge"
crm-audit trail >trail.json 2>/dev/null
is "$(jq -r .status trail.json)" "pass" "its chain holds"

# --- the gates ---------------------------------------------------------------------------
dbsql "update contacts set email = 'ann at example', phone = '+1 555 CALL ANN' where external_id = 'P3'" >/dev/null
crm-audit quality --no-store --check invalid.email --check invalid.phone >quality.ndjson
is "$?" "1" "quality: a failed check is exit 1"
is "$(jq -r 'select(.type == "check") | "\(.check)=\(.count)"' quality.ndjson | sort | tr '\n' ' ')" \
	"invalid.email=1 invalid.phone=1 " "the email that is no address, the phone with letters"
crm-audit privacy --no-store --check erasure.overdue --check consent.missing --max consent.missing=1 >privacy.ndjson
is "$?" "0" "privacy: the erasure was carried out in time"
crm-audit quality --check invalid.email -q >/dev/null
is "$(crm-audit history | jq -r .kind | tr '\n' ' ')" "quality " "a stored run is in the history"
done_testing
