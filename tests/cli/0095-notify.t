#!/bin/sh
# crm-notify: Slack's payload shape, delivery to a stand-in webhook on
# loopback, retries on 429 and 5xx, Slack down reported as exit 69, the
# webhook URL kept out of argv and messages.
. "$(dirname "$0")/lib.sh"

out=$(crm-notify --print --title "Nightly run" --status fail --field "Contacts=1,204" \
	--field "Audit=fail" "Scoring *failed*: the model file is missing.")
is "$(printf '%s\n' "$out" | jq -r '[.blocks[].type] | join(" ")')" "header section section context" \
	"header, body, fields, context"
is "$(printf '%s\n' "$out" | jq -r '.blocks[0].text.text')" ":x: Nightly run" "the status is an icon in the header"
is "$(printf '%s\n' "$out" | jq -r '.blocks[2].fields[0].text')" "*Contacts*
1,204" "a field is a bold label and its value"
like "$(printf '%s\n' "$out" | jq -r .text)" "Nightly run: Scoring *failed*" "the fallback text carries title and body"
long=$(awk 'BEGIN { for (i = 0; i < 500; i++) printf "line %d of a long report\n", i }')
n=$(echo "$long" | crm-notify --print | jq '[.blocks[] | select(.type == "section") | .text.text | length] | (max < 3000) and (add > 10000)')
is "$n" "true" "a long text from stdin is cut into sections under Slack's limit, nothing lost"

start() {	# start FAILURES [STATUS]
	rm -f port log
	python3 "$TOP/tests/cli/slack-receiver.py" port log "$@" &
	srv=$!
	for _ in $(seq 50); do [ -s port ] && break; sleep 0.1; done
	hook=http://127.0.0.1:$(cat port)/services/T000/B000/secretpart
	printf '%s\n' "$hook" >hookfile
}
start 0
crm-notify --webhook-file hookfile --title "Import" --status ok "12 rows imported" 2>err
is "$?" "0" "delivered: exit 0 $(cat err)"
is "$(jq -r .status log)" "200" "the stand-in accepted the payload as valid"
is "$(jq -r '.payload.blocks[1].text.text' log)" "12 rows imported" "the text arrived"
kill $srv; wait $srv 2>/dev/null

start 2 503
CRM_SLACK_WEBHOOK=$hook crm-notify --title "Retry" "after two 503s" 2>err
is "$?" "0" "two 503s, then delivered"
is "$(jq -r .status log | tr '\n' ' ')" "503 503 200 " "retried with backoff"
kill $srv; wait $srv 2>/dev/null

start 1 429
t0=$(date +%s)
crm-notify --webhook-file hookfile "rate limited" 2>err
is "$?" "0" "429, then delivered"
is "$(jq -r .status log | tr '\n' ' ')" "429 200 " "waited as Retry-After said"
kill $srv; wait $srv 2>/dev/null

crm-notify --webhook-file hookfile --retries 1 "Slack is down" 2>err
is "$?" "69" "Slack down: exit 69"
like "$(cat err)" "webhook at 127.0.0.1" "the host is named"
case $(cat err) in *secretpart*) r=1 ;; *) r=0 ;; esac
ok $r "the webhook's secret path is not in the message"
crm-notify 2>err </dev/null
is "$?" "2" "nothing to send: usage error"
done_testing
