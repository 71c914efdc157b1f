#!/bin/sh
# crm-explain: the factors of a score, in sentences from the record's values.
# backends: sqlite postgresql
. "$(dirname "$0")/lib.sh"

"$TOP"/scripts/gen-sample -n 3000 -s 5 sample
crm-import -q sample/* >/dev/null
crm-score train -q >/dev/null
crm-score --all -q >scores.ndjson
best=$(head -1 scores.ndjson | jq -r .id)
worst=$(tail -1 scores.ndjson | jq -r .id)

crm-explain -f ndjson "$best" >best.json
ok $? "crm-explain ID"
is "$(jq -r .id best.json)" "$best" "names the record"
is "$(jq -r .score best.json)" "$(head -1 scores.ndjson | jq -r .score)" "with the same score"
is "$(jq '.factors | length' best.json)" "3" "the three that matter most by default"
# Named, as a person reads it, and a sentence a rep could repeat.
is "$(jq -r '.name' best.json)" "$(q "select name from deals where id = '$best'")" "the deal's name"
is "$(jq -r '.company' best.json)" "$(q "select a.name from deals d join accounts a on a.id = d.account_id where d.id = '$best'")" "its company"
is "$(jq -r '.owner' best.json)" "$(q "select owner from deals where id = '$best'")" "its owner"
is "$(jq -r .summary best.json | grep -cE "^.+ is (likely|more likely than not|more likely than most) to be won \\(score $(jq -r .score best.json); a typical deal scores [0-9]+\\)\\. Mostly: [a-z]")" "1" \
	"a summary a rep could repeat"
# Plain words: no exponent, and one line per fact (a category and its
# history rate are one reason) for every open record's top factors.
crm-score --all -q | crm-explain -f ndjson --top 10 >all.ndjson
is "$(jq -r '.factors[].text' all.ndjson | grep -cE '[0-9]e[+-]?[0-9]')" "0" "no number in exponent form"
is "$(jq -r '[.factors[].feature | sub("^history\\."; "")] | (length - (unique | length))' all.ndjson | sort -u | tr '\n' ' ')" "0 " \
	"no subject told twice in one explanation"
is "$(jq -r '.factors[] | select(.feature | startswith("history.")) | .text' all.ndjson | grep -vc ': similar deals were won')" "0" \
	"a category's history rate is told in its line"
like "$(jq -r '.factors[].text' best.json)" "pricing page" "the planted signal is among the reasons"
is "$(jq '[.factors[].share] | add <= 1.0001' best.json)" "true" "shares are parts of the whole"
is "$(jq '[.factors[].effect | fabs] | . == (sort | reverse)' best.json)" "true" "strongest first"
like "$(jq -r '.factors[] | select(.feature | startswith("pricing")) | .text' best.json)" "Visited the pricing page" "a sentence, not a feature name"
is "$(jq -r '[.factors[] | select(.feature | startswith("pricing")) | .effect > 0] | all' best.json)" "true" "pricing visits raise the best deal's score"
crm-explain -f ndjson "$worst" | jq -r '.factors[].text' >worst.txt
like "$(cat worst.txt)" "in the last" "the worst deal is explained too"
crm-explain --top 2 -f table "$best" >table.txt
like "$(cat table.txt)" "score" "a table"
is "$(grep -c '%' table.txt)" "2" "with --top 2 factors"
head -3 scores.ndjson | crm-explain -f ndjson | jq -r .id >piped.txt
is "$(wc -l <piped.txt | tr -d ' ')" "3" "records on stdin are explained"
# One record explained fast (history rates stored by the scoring run) is
# explained exactly as by a full build.
ids=$(head -5 scores.ndjson | jq -r .id | tr '\n' ' ')
is "$(q "select count(*) from meta where key like 'history.%'")" "1" "crm-score --all stores the history rates"
# shellcheck disable=SC2086
crm-explain -f ndjson --top 40 --next-action $ids >fast.ndjson
dbsql "delete from meta where key like 'history.%'"
# shellcheck disable=SC2086
crm-explain -f ndjson --top 40 --next-action $ids >full.ndjson
is "$(cmp fast.ndjson full.ndjson >/dev/null && echo same || diff fast.ndjson full.ndjson | head -3)" "same" "the fast path gives the full build's explanation"
crm-score --all -q >/dev/null

# The next best action, with reasons.
crm-explain --next-action -f ndjson "$best" >nba.json
ok $? "--next-action"
is "$(jq -r '.next_action.action | IN("follow_up","call_now","send_pricing","re_engage","nurture","book_meeting","propose_next_step","none")' nba.json)" "true" "one of the known actions"
is "$(jq '.next_action.reasons | length > 0' nba.json)" "true" "with reasons"
head -40 scores.ndjson | crm-explain --next-action -f ndjson | jq -r 'select(.next_action.action == "call_now") | .next_action.reasons[0]' | head -1 >call.txt
like "$(cat call.txt)" "pricing page" "a call is suggested for a burst of pricing visits"
tomorrow=$(date -u -d tomorrow +%Y-%m-%d)
printf 'title,deal,due_at\nSend the revised quote,%s,%s\n' "$best" "$tomorrow" | crm-import -q -t task >/dev/null
crm-explain --next-action -f ndjson "$best" >nba2.json
is "$(jq -r .next_action.action nba2.json)" "follow_up" "an open task due tomorrow comes first"
like "$(jq -r '.next_action.reasons[0]' nba2.json)" "Send the revised quote" "naming it"
crm-explain --next-action -f table "$best" | grep -c 'next:' >n.txt
is "$(cat n.txt)" "1" "in the table too"

# Patterns: the planted segment is found, with support and significance.
"$TOP"/scripts/gen-sample -n 6000 -s 1 pat
crm-import --db pat.db -q pat/* >/dev/null
crm-explain --db pat.db --patterns -f ndjson >patterns.json 2>err
ok $? "--patterns"
like "$(cat err)" "segments tested on" "says how many segments were tested"
first=$(head -1 patterns.json)
is "$(echo "$first" | jq -r '.segment | to_entries | map(.value) | sort | join(",")')" "Enterprise,VP Sales" "the planted segment comes first"
is "$(jq -r 'select(.segment.product == "Enterprise" and .segment["contact.title"] == "VP Sales" and .measure == "days_to_close") | .effect < -0.4' patterns.json)" "true" "and closes faster"
is "$(jq -s 'map(.q <= 0.05) | all' patterns.json)" "true" "every pattern passes the false discovery rate"
is "$(jq -s 'map(.n >= 30) | all' patterns.json)" "true" "with enough support"
like "$(echo "$first" | jq -r .text)" "of the time against" "in words"
crm-explain --db pat.db --patterns --alpha 0.000000000001 -f ndjson >strict.json 2>/dev/null
ok "$([ "$(wc -l <strict.json)" -lt "$(wc -l <patterns.json)" ] && echo 0 || echo 1)" "a stricter rate reports fewer"

crm-explain d_nosuchnosuchnosu 2>err; is "$?" "65" "unknown id: exit 65"
crm-explain x_1 2>err; is "$?" "65" "not a deal or contact: exit 65"
done_testing
