#!/bin/sh
# crm(1)'s conventions, and the messages and options that broke them.
. "$(dirname "$0")/lib.sh"

"$TOP"/scripts/gen-sample -n 1500 -s 3 sample >/dev/null 2>&1
crm-import -q sample/* >/dev/null 2>&1
crm-score train -q -t deal >/dev/null 2>&1
crm-score train -q -t contact >/dev/null 2>&1

# Options that take a count refuse what is not one.
printf 'first_name,email\nA,a@x.example\n' >one.csv
crm-import --batch -5 one.csv >/dev/null 2>err; is "$?" "2" "--batch -5 is a usage error"
crm-explain --top -3 d_0000000000000000 >/dev/null 2>err; is "$?" "2" "--top -3 is a usage error"
crm-forget -n nobody@example.org >/dev/null 2>&1; is "$?" "1" "crm-forget -n (a dry run; no match: exit 1)"
crm-purge -n --retain interactions=30 >p.json 2>/dev/null; is "$(jq -r .interactions p.json | grep -c '^[0-9]')" "1" "crm-purge -n counts"

# Messages.
printf '%s\n' '{"type":"widget","name":"x"}' >w.ndjson
crm-import w.ndjson >/dev/null 2>err
like "$(cat err)" "unknown type 'widget'" "a record of an unknown type is named as such"
crm-events --limit 3 >ev.ndjson 2>err; is "$? $(wc -l <ev.ndjson)" "0 3" "crm-events --limit 3: three events, exit 0"
is "$(cat err)" "" "and no internal message"
cp "$CRM_DB" newer.db
sqlite3 newer.db "PRAGMA user_version = 999"
crm-export --db newer.db -t contact >/dev/null 2>err
like "$(cat err)" "upgrade crm" "a database newer than the build: upgrade crm, not crm init"

# crm-score: -t on models and activate, weights on features that exist.
is "$(crm-score models -t deal | jq -r .entity | sort -u)" "deal" "models -t deal lists deal models only"
cm=$(crm-score models -t contact | jq -r .id | tail -1)
crm-score activate -t deal "$cm" >/dev/null 2>err; is "$?" "2" "activate -t deal of a contact model is refused"
crm-score weight -t deal pricing_view_7d --exclude --why test >/dev/null 2>err; is "$?" "2" "a feature that does not exist is refused"
like "$(cat err)" "close: pricing_views_7d" "naming the close one"
(unset USER; crm-score weight -t deal pricing_views_7d --scale 0.5 --why test >/dev/null 2>err); is "$?" "0" "--who defaults to the trail's user without USER"
is "$(crm-score weights | jq -r 'select(.feature == "pricing_views_7d") | .who' | grep -c .)" "1" "and it is recorded"
# Tables for people, NDJSON for pipes.
crm-score --all -q -t deal -f table >t.txt
like "$(head -1 t.txt)" "rank" "crm-score -f table: a header"
is "$(sed -n 2p t.txt | awk '{print $1}')" "1" "then ranked rows"
if command -v script >/dev/null; then
	script -qc "crm-score --all -q -t deal" /dev/null >tty.txt 2>&1
	like "$(head -1 tty.txt)" "rank" "a table on a terminal by default"
	script -qc "crm-dedupe --all --all-pairs -n -q" /dev/null >tty2.txt 2>&1
	like "$(head -1 tty2.txt)" "probability" "crm-dedupe too"
fi
is "$(crm-score --all -q -t deal | head -1 | jq -r .rank)" "1" "NDJSON in a pipe"
crm-dedupe --all --all-pairs -n -q 2>/dev/null | jq -r .probability | sort -u | head -20 >prob.txt
is "$(jq -n --rawfile p prob.txt '$p | split("\n") | map(select(. != "") | tonumber | type) | unique | join(",")' -r)" "number" "probabilities in a pipe are numbers"
is "$(grep -c -e '0000' -e '9999' prob.txt)" "0" "in their short form ($(head -3 prob.txt | tr '\n' ' '))"
for i in $(seq 100); do printf 'Cap%d,cap%d@x.example\n' "$i" "$i"; done | sed '1i first_name,email' >cap.csv
crm-import --output table cap.csv >cap.txt 2>/dev/null
is "$(wc -l <cap.txt)" "42" "crm-import's table is capped at 40 rows (and a header)"
like "$(tail -1 cap.txt)" "and 60 more" "and says how many more"
# crm-audit bias on records piped in, where no database exists.
awk 'BEGIN { srand(1); for (i = 0; i < 400; i++) { g = i % 2 ? "f" : "m"; p = rand() * (g == "f" ? 0.6 : 1);
	printf "{\"id\":\"x%d\",\"probability\":%.4f,\"attrs\":{\"gender\":\"%s\"},\"outcome\":\"%s\"}\n", i, p, g, rand() < 0.5 ? "won" : "lost" } }' >preds.ndjson
crm-audit --db nowhere.db bias --by gender <preds.ndjson >bias.ndjson 2>err
is "$?" "1" "crm-audit bias on piped records without a database: audited (a violation, exit 1)"
is "$(jq -r 'select(.type == "audit") | .scored' bias.ndjson)" "400" "all 400 records"
[ ! -e nowhere.db ]; ok $? "and no database was made"
# A lead model without signal, active all the same: /v1/leads/top does
# not rank by its score and says why.
crm-score --all -q -t contact >/dev/null
sqlite3 "$CRM_DB" "update models set metrics = json_set(metrics, '\$.signal', json('false')) where entity = 'contact' and active = 1"
tok=$(crm-serve token add lt --role admin 2>/dev/null)
serve_start --rate 0 --no-webhooks
curl -s -H "Authorization: Bearer $tok" "$U/v1/leads/top?limit=5" >top.json
is "$(jq -r '[.informative, .order] | map(tostring) | join(" ")' top.json)" "false latest activity" "leads/top of a model without signal: by latest activity, saying so"
like "$(jq -r .note top.json)" "does not rank records" "with the reason"
kill "$srv"; wait "$srv" 2>/dev/null
done_testing
