#!/bin/sh
# Erasure that a crash cannot undo: crm forget killed (SIGKILL, through
# the CRM_FAULT hook) at every step between its first write and its
# commit. Whatever the step, a shredded person is already suppressed; the
# rerun finishes the erasure under the same request; afterwards nothing
# of theirs opens and a later import refuses them.
. "$(dirname "$0")/lib.sh"

unset CRM_KEY_STORE
export CRM_KEY_FILE="$T/master.key"
EMAIL=erin.crash@example.org
PHONE="+1 212 555 0147"
cat >people.csv <<CSV
first_name,last_name,email,phone
Erin,Crashley,$EMAIL,$PHONE
Other,Person,other@example.org,+1 212 555 0999
CSV
printf 'kind,occurred_at,contact email,subject\ncall,2026-10-02T10:00:00Z,%s,Call with Erin\n' "$EMAIL" >acts.csv

for point in forget-suppressed forget-committed forget-shredded forget-deleted; do
	rm -rf db && mkdir db
	export CRM_DB="$T/db/crm.db"
	rm -f "$CRM_KEY_FILE"
	crm init 2>/dev/null
	crm-key init 2>/dev/null
	crm-import people.csv acts.csv >/dev/null 2>&1
	CRM_FAULT=$point crm-forget "$EMAIL" >/dev/null 2>&1
	is "$?" "137" "$point: crm forget killed there"
	sup=$(sqlite3 "$CRM_DB" "select count(*) from suppressions")
	opens=$(crm-export -t contact 2>/dev/null | grep -c Crashley)
	# The invariant at the kill: unreadable implies suppressed.
	[ "$opens" -eq 1 ] || [ "$sup" -eq 2 ]
	ok $? "$point: if their cells no longer open, email and phone are suppressed (opens $opens, suppressed $sup)"
	crm-forget "$EMAIL" >receipt.json 2>err
	is "$?" "0" "$point: the rerun finishes $(head -c 100 err)"
	is "$(crm-export -t contact 2>/dev/null | jq -r .last_name)" "Person" "$point: only the other person is left"
	is "$(crm-export -t contact -t interaction 2>/dev/null | grep -c -e Erin -e Crashley -e "$EMAIL")" "0" "$point: nothing of theirs opens"
	is "$(sqlite3 "$CRM_DB" "select count(*) from suppressions")" "2" "$point: email and phone suppressed"
	is "$(sqlite3 "$CRM_DB" "select count(*) || ' ' || count(done_at) from subject_requests where kind = 'erasure'")" "1 1" "$point: one request, done"
	is "$(jq .suppressed receipt.json)" "2" "$point: the receipt counts the suppression"
	crm-import people.csv >/dev/null 2>err
	like "$(cat err)" "asked to be erased" "$point: a later import refuses them"
	is "$(crm-export -t contact 2>/dev/null | grep -c Crashley)" "0" "$point: and they are not back"
done
done_testing
