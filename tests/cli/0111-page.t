#!/bin/sh
# The "what matters now" page in headless Chromium: it loads with the top
# leads and their reasons, a real click on a lead shows its factors and
# next action, and a task made through the API appears live from the
# event stream. The screenshot is kept in $CRM_BUILD/artifacts.
# backends: sqlite postgresql
. "$(dirname "$0")/lib.sh"

command -v chromium >/dev/null || skip_all "no chromium"
command -v curl >/dev/null || skip_all "no curl"

"$TOP"/scripts/gen-sample -n 2000 -s 7 sample
crm-import -q sample/* >/dev/null
crm-score train -q -t contact >/dev/null
crm-score --all -q -t contact >/dev/null
tok=$(crm-serve token add ana --user "Ana Ruiz" 2>/dev/null)
# A call whose summary is longer than the page shows.
cid=$(q "select id from contacts where outcome is null and owner = 'Ana Ruiz' limit 1")
cat >call.txt <<'CALL'
Priya: Hi Gareth, thanks for making time after Thursday's demo.
Gareth: The team liked it. I'm not sure about the budget though, maybe next year for the stores.
Priya: Understood. I'll send the revised quote by Friday, and I will book a call with your finance lead next week.
Gareth: We need to check with legal first. Could you send the security questionnaire too?
Priya: Of course. I'll send the questionnaire tomorrow and we will follow up on Monday.
CALL
crm-transcribe -q -c "$cid" --rep Priya --at "$(date -u +%F)" call.txt >/dev/null 2>&1

serve_start

page=$(curl -s -D headers "$U/")
like "$page" "What matters now" "/ serves the page"
like "$(cat headers)" "Content-Security-Policy: default-src 'self'" "which may load nothing from elsewhere"
case $page in *"http://"*|*"https://"*) r=1 ;; *) r=0 ;; esac
ok $r "and names no external resource"
is "$(printf '%s' "$page" | wc -c | awk '{ print ($1 < 20000) }')" "1" "small: $(printf '%s' "$page" | wc -c) bytes"

mkdir -p "$CRM_BUILD/artifacts"
shot=$CRM_BUILD/artifacts/serve-page.png
rm -f "$shot"
python3 "$TOP/tests/cli/cdp.py" "$U" "$tok" "$shot" >seen.json 2>cdp.err
ok $? "chromium drove the page $(tail -1 cdp.err)"
sub=$(jq -r '.calls | fromjson | .[0]' seen.json)
like "$sub" "Agreed: Priya will send the revised quote" "the call's summary says what was agreed"
case $sub in *"Hi Gareth"*) r=1 ;; *) r=0 ;; esac
ok $r "not the transcript's opening"
case $sub in *.|*…) r=0 ;; *) r=1 ;; esac
ok $r "a long summary cut where a sentence ends or with an ellipsis: ...$(printf '%s' "$sub" | tail -c 60)"
is "$(jq .leads seen.json)" "$(curl -s -H "Authorization: Bearer $tok" "$U/v1/leads/top?limit=8" | jq '.data | length')" "the top leads are listed"
first=$(curl -s -H "Authorization: Bearer $tok" "$U/v1/leads/top?limit=1" | jq -r '.data[0] | .first_name + " " + .last_name')
is "$(jq -r .first_lead seen.json)" "$first" "highest score first"
is "$(jq '.reasons >= 1 and .reasons <= 3' seen.json)" "true" "each with 1 to 3 reasons"
# What the rep sees: scores that differ, a name on every lead, reasons in
# plain words (no exponent), one line per fact (no subject twice).
is "$(jq -r '.scores | fromjson | (unique | length) > 1' seen.json)" "true" "scores differ: $(jq -r '.scores | fromjson | join(" ")' seen.json)"
is "$(jq -r '.names | fromjson | map(select(length > 2 and (test("^c_") | not) and test(" "))) | length' seen.json)" "$(jq .leads seen.json)" "every lead named"
is "$(jq -r '.why | fromjson | flatten | map(select(test("[0-9]e[+-]?[0-9]"))) | length' seen.json)" "0" "no number in exponent form"
is "$(jq -r '.why | fromjson | map(map(split(" ")[0:2] | join(" ")) | (length - (unique | length))) | add' seen.json)" "0" \
	"no lead tells one subject twice"
is "$(jq -r .who seen.json)" "Ana Ruiz (rep)" "the page knows whose it is"
is "$(jq -r .address seen.json)" "$U/" "the token left the address bar"
like "$(jq -r .action seen.json)" "Next: " "clicking a lead shows its next best action"
is "$(jq '.factors > 0' seen.json)" "true" "and its driving factors ($(jq .factors seen.json))"
like "$(jq -r .detail seen.json)" "Score " "with its score"
is "$(jq .selected seen.json)" "1" "the clicked lead is marked"
is "$(jq .live_task seen.json)" "true" "a new task appears live from the event stream ($(jq .live_ms seen.json) ms)"
is "$(jq '.errors | length' seen.json)" "0" "no script errors"
test -s "$shot" && [ "$(head -c 8 "$shot" | od -An -c | tr -d ' ')" = "211PNG\r\n032\n" ]
ok $? "a screenshot is kept: $shot"
kill $srv; wait $srv 2>/dev/null
grep -q "Sanitizer" serve.log
ok $((! $?)) "the server stopped cleanly $(grep -m1 Sanitizer serve.log)"
done_testing
