#!/bin/sh
# Key rotation beside a running server taking writes: no data key is left
# under a master key that leaves the key file, every sealed cell opens
# afterwards, and the retired key is kept apart until 'crm key retire'.
# backends: sqlite postgresql
. "$(dirname "$0")/lib.sh"

command -v curl >/dev/null || skip_all "no curl"
unset CRM_KEY_STORE
export CRM_KEY_FILE="$T/master.key"

crm init 2>/dev/null
crm-key init 2>/dev/null
printf 'first_name,last_name,email,phone\nAda,Lovelace,ada@example.org,+44 20 7946 0001\n' >p.csv
crm-import p.csv >/dev/null 2>&1
crm-serve token add ops --role admin >tok 2>/dev/null
serve_start --rate 0 --no-webhooks
H="Authorization: Bearer $(cat tok)"

post() {	# post FROM TO - contacts FROM..TO through the API; statuses to posted
	for i in $(seq "$1" "$2"); do
		curl -s -o /dev/null -w '%{http_code}\n' -X POST -H "$H" -H 'Content-Type: application/json' \
			-d "{\"first_name\":\"Rot$i\",\"last_name\":\"Ation\",\"email\":\"rot$i@example.net\",\"phone\":\"+1 415 555 $i\"}" \
			"$U/v1/contacts"
	done >>posted
}

# Before the first rotation the server made its pool of data keys under
# master key 1; writes go on while two rotations run.
post 1 20
post 21 220 &
writer=$!
sleep 0.3
crm-key rotate 2>rot1.err; ok $? "rotate while the server writes: $(cat rot1.err)"
crm-key rotate 2>rot2.err; ok $? "and again"
wait "$writer"
post 221 240
is "$(sort posted | uniq -c | awk '{$1 = $1; print}')" "240 201" "every write was taken (240 created)"
kill "$srv"; wait "$srv" 2>/dev/null

is "$(crm-key status -f ndjson | jq -c '[.version, .stale, .retired]')" "[3,0,2]" "every data key is under master key 3; keys 1 and 2 are retired, kept"
is "$(grep -c '^[0-9]' "$CRM_KEY_FILE")" "1" "the key file holds the current key only"
is "$(grep -c '^[0-9]' "$CRM_KEY_FILE.retired") $(stat -c %a "$CRM_KEY_FILE.retired")" "2 600" "the retired keys sit in a private file of their own"
is "$(keysql "select count(*) from keys where version != 3")" "0" "no data key under a master key that left the key file"

# Every sealed cell opens, with the current key file alone.
mv "$CRM_KEY_FILE.retired" retired.bak
crm-export -t contact >all.ndjson 2>err; ok $? "every contact exports with the current key only $(head -c 200 err)"
is "$(jq -r 'select(.first_name | startswith("Rot")) | .email' all.ndjson | sort -u | wc -l)" "240" "all 240 written during the rotations open"
is "$(jq -r 'select(.first_name == "Rot17") | .phone' all.ndjson)" "+1 415 555 17" "field by field"
sealed=$(q "select count(*) from contacts where email like 'enc:%'")
is "$sealed" "241" "and they are sealed"
mv retired.bak "$CRM_KEY_FILE.retired"

# A process that loaded the key file before a rotation notices it: a
# server started now, then a rotation, then writes through it.
serve_start --rate 0 --no-webhooks
crm-key rotate 2>/dev/null
: >posted
post 241 300
is "$(sort posted | uniq -c | awk '{$1 = $1; print}')" "60 201" "a server from before the rotation keeps writing"
is "$(curl -s -H "$H" "$U/v1/contacts?email=rot250@example.net" | jq -r '.data[0].phone')" "+1 415 555 250" "and reads what it wrote"
kill "$srv"; wait "$srv" 2>/dev/null
is "$(keysql "select count(*) from keys where version != 4")" "0" "its new data keys are under the new master key"

# A key file that lost the current key does not write under an old one.
cp "$CRM_KEY_FILE" cur.key
grep -v '^[0-9]' "$CRM_KEY_FILE" >stale.key
grep '^[0-9]' "$CRM_KEY_FILE.retired" | tail -1 >>stale.key
chmod 600 stale.key
printf 'first_name,email\nStale,stale@example.org\n' >s.csv
crm-import --key-file stale.key s.csv >/dev/null 2>err
is "$?" "65" "an import with a key file from before the rotation is refused"
like "$(cat err)" "wrapped under master key 4, which" "and says why"
is "$(keysql "select count(*) from keys where version != 4")" "0" "and wrapped nothing under the old key"

# Retire: stragglers rewrapped, the retired file wiped and gone.
keysql "select count(*) from keys" >/dev/null
crm-key retire 2>err; ok $? "retire: $(cat err)"
like "$(cat err)" "3 retired master keys removed" "says what it removed"
[ ! -e "$CRM_KEY_FILE.retired" ]; ok $? "the retired file is gone"
crm-export -t contact 2>/dev/null | jq -r .email | grep -c '@' >n
is "$(cat n)" "301" "every cell still opens"
is "$(q "select group_concat(action, ' ') from audit_log where action like 'key-%'")" "key-init key-rotate key-rotate key-rotate key-retire" "each step is in the audit trail"
done_testing
