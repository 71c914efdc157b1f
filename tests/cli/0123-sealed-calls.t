#!/bin/sh
# Calls under the master key: the transcript, its analysis, the summary,
# the task titles and the file name are sealed under the person's data
# key; a word spoken in the call is not in the database, its log or a
# backup in clear; the person's export gives it back in clear with their
# scores' explanations; forget makes every copy unreadable. And a
# database used before its key is sealed by 'crm key seal', in batches,
# finishing after a kill.
. "$(dirname "$0")/lib.sh"

unset CRM_KEY_FILE CRM_KEY_STORE
command -v sqlite3 >/dev/null || skip_all "no sqlite3"
CANARY=Quixotrombone
scan() {	# scan WORD FILE...: how many times WORD is in the files in clear
	cat "$@" 2>/dev/null | grep -a -o "$1" | wc -l
}

# --- sealed from the start ------------------------------------------------
crm-key --key-file "$T/master.key" init 2>/dev/null
export CRM_KEY_FILE=$T/master.key
"$TOP"/scripts/gen-sample -n 300 -s 5 sample >/dev/null 2>&1
crm-import -q sample/accounts.csv sample/contacts.csv sample/deals.csv sample/interactions.ndjson >/dev/null 2>&1
crm-score train -q -t contact >/dev/null 2>&1
crm-score --all -q -t contact >/dev/null 2>&1
C=$(sqlite3 crm.db "select s.entity_id from scores s join contacts c on c.id = s.entity_id where c.email is not null order by s.entity_id limit 1")
E=$(crm-export -t contact -w "id=$C" | jq -r .email)
cat >"$E.txt" <<CALL
Rep: Hi, thanks for making time today. How did the trial go?
Customer: Well. The project is called $CANARY internally, keep that quiet. Could you send me the $CANARY pricing?
Rep: Sure, I'll send the $CANARY pricing by Friday.
Customer: I'm not sure we have budget this year, maybe next year.
CALL
crm-transcribe -q -c "$E" --at 2026-11-30T10:00 "$E.txt" -f ndjson >call.out 2>err
is "$?" "0" "a call transcribed into a sealed database $(cat err)"
I=$(jq -r .interaction call.out)
like "$(jq -r .summary call.out)" "$CANARY" "the analysis said it (on the way out)"
sqlite3 crm.db ".backup backup.db"
is "$(scan "$CANARY" crm.db crm.db-wal backup.db)" "0" "the spoken word is not in the database, its log or a backup in clear"
is "$(scan "$E" crm.db crm.db-wal)" "0" "nor the file name that carries the email"
is "$(sqlite3 crm.db "select substr(body, 1, 4) || substr(analysis, 1, 5) || substr(file, 1, 4) from transcripts")" 'enc:"enc:enc:' \
	"transcript, analysis and file name are sealed cells"
is "$(sqlite3 crm.db "select count(*) from tasks where origin = 'call' and title not like 'enc:%'")" "0" "the call's task titles are sealed"
like "$(crm-transcribe show "$I" -f ndjson | jq -r '.utterances[1].text')" "$CANARY" "with the key the transcript opens"
like "$(crm-export -t task | jq -r 'select(.origin == "call") | .title')" "$CANARY pricing" "and the task titles"
out=$(env -u CRM_KEY_FILE crm-transcribe show "$I" -f ndjson 2>&1)
ok "$([ $? -ne 0 ] && ! echo "$out" | grep -q "$CANARY"; echo $?)" "without the key it does not: $(echo "$out" | head -c 120)"

# The person's own copy: their calls in clear, their scores explained.
crm-export --subject "$E" >subject.ndjson 2>err
is "$?" "0" "subject export $(cat err)"
is "$(jq -r 'select(.type == "transcript") | .utterances[1].text' subject.ndjson | grep -c "$CANARY")" "1" \
	"the export holds the transcript in clear, decompressed"
like "$(jq -r 'select(.type == "transcript") | "\(.file) \(.analysis.summary)"' subject.ndjson)" "$E.txt Rep spoke with Customer. Agreed: Rep will send " \
	"with its file name and analysis opened"
is "$(jq -r 'select(.type == "explanation") | .id' subject.ndjson)" "$C" "and the explanation of their score"
ok "$(jq -e 'select(.type == "explanation") | .factors | length > 0' subject.ndjson >/dev/null; echo $?)" "with its factors"

# Forget: the call goes, and the backup's copy no longer opens.
crm-forget "$E" >/dev/null 2>&1
is "$(sqlite3 crm.db "select count(*) from transcripts; select count(*) from tasks where origin = 'call'" | tr '\n' ' ')" "0 0 " \
	"forget deletes the transcript and its tasks"
out=$(CRM_DB=$T/backup.db crm-transcribe show "$I" -f ndjson 2>&1)
ok "$([ $? -ne 0 ] && ! echo "$out" | grep -q "$CANARY"; echo $?)" "the backup's transcript cannot be opened: its key is shredded ($(echo "$out" | head -c 100))"

# --- a database used before its key ---------------------------------------
unset CRM_KEY_FILE
export CRM_DB=$T/plain.db
printf 'first_name,last_name,email,phone\nQuinta,Zorblatt,quinta@zorb.example,+1 555 0101 999\nQuintana,Zorblatt,quinta.z@zorb.example,+1 555 0101 998\n' >people.csv
printf 'first_name,last_name,email,phone\nAnn,Leeward,ann@example.com,\n' >ann.csv
crm-import -q people.csv ann.csv >/dev/null 2>&1
sed "s/$CANARY/Flibbertigibbet/g" "$E.txt" >call2.txt
crm-transcribe -q -c quinta@zorb.example --at 2026-11-30T10:00 call2.txt -f ndjson >/dev/null 2>&1
crm-dedupe merge $(sqlite3 plain.db "select id from contacts where email like 'quinta%' order by rowid") >merge.out 2>/dev/null
M=$(jq -r .id merge.out)
ok "$([ "$(scan Flibbertigibbet plain.db plain.db-wal)" -gt 0 ] && [ "$(scan Zorblatt plain.db plain.db-wal)" -gt 0 ]; echo $?)" \
	"before the key: names and the call in clear"
crm-key --key-file "$T/k2" init 2>/dev/null
export CRM_KEY_FILE=$T/k2
crm-audit privacy --check encryption.transcripts >audit.ndjson
is "$?:$(jq -r "select(.check) | .count" audit.ndjson)" "1:1" "before sealing, the privacy audit names the transcript in clear"
CRM_FAULT=seal-batch crm-key seal -q --batch 1 >/dev/null 2>&1
is "$?" "137" "crm key seal killed after its first batch"
is "$(sqlite3 plain.db "select count(*) from contacts where first_name like 'enc:%'")" "1" "that batch is sealed, the rest not yet"
crm-key seal --batch 1 >seal.out 2>err
is "$?" "0" "the rerun finishes: $(cat err)"
is "$(scan Flibbertigibbet plain.db plain.db-wal) $(scan Zorblatt plain.db plain.db-wal) $(scan quinta plain.db plain.db-wal)" "0 0 0" \
	"after it no name, email or spoken word is in the file or its log in clear"
is "$(sqlite3 plain.db "select count(*) from contacts where dk is null or (email is not null and email_bi is null)")" "0" \
	"every person has a data key and blind indexes"
is "$(crm-key seal -q 2>/dev/null | jq -r .cells)" "0" "a third run has nothing left to seal"
crm-audit privacy --check encryption.transcripts --check encryption.plaintext >audit.ndjson
is "$?:$(jq -r "select(.check) | .status" audit.ndjson | tr '\n' ' ')" "0:pass pass " "the privacy audit finds nothing in clear"
is "$(crm-export -t contact | jq -r '"\(.first_name) \(.last_name) \(.email) \(.phone)"' | sort | tr '\n' '|')" \
	"Ann Leeward ann@example.com null|Quinta Zorblatt quinta@zorb.example +1 555 0101 999|" "every field opens"
like "$(crm-transcribe show "$(sqlite3 plain.db "select interaction_id from transcripts")" -f ndjson | jq -r '.utterances[1].text')" \
	"Flibbertigibbet" "the call opens"
crm-import ann.csv 2>&1 >/dev/null | grep -o '[0-9]* inserted, [0-9]* updated, [0-9]* unchanged' >reimport
is "$(cat reimport)" "0 inserted, 0 updated, 1 unchanged" "the same file again: unchanged (its natural key became its blind index)"
crm-dedupe undo "$M" >/dev/null 2>&1; ok $? "the merge made in clear is undone after sealing"
is "$(crm-export -t contact | jq -r 'select(.first_name == "Quintana") | .email')" "quinta.z@zorb.example" \
	"its restored row opens (the snapshot was sealed for it)"
done_testing
