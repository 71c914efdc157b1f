#!/bin/sh
# crm-score: train on history with a planted signal, refuse too little
# history, leave out features known only at the outcome, store, activate,
# detect damage, score open records.
# backends: sqlite postgresql
. "$(dirname "$0")/lib.sh"

"$TOP"/scripts/gen-sample -n 3000 -s 5 sample
crm-import -q sample/* >/dev/null
crm-score train >model.json 2>err
ok $? "crm-score train"
auc=$(jq -r .auc model.json)
is "$(awk -v a="$auc" 'BEGIN { print (a >= 0.65) }')" "1" "the planted engagement signal is found (cross-validated AUC $auc)"
like "$(cat err)" "cross-validated AUC" "metrics on stderr, cross-validated"
like "$(cat err)" "reliability" "with a reliability table"
is "$(jq -r .active model.json)" "true" "the first model is active"
is "$(q "select count(*) from models where active = 1 and entity = 'deal'")" "1" "stored, one active"
is "$(q "select length(blob) < blob_size from models")" "1" "the blob is compressed"
m1=$(jq -r .id model.json)

crm-score --all >scores.ndjson 2>err
ok $? "score the open deals"
n=$(q "select count(*) from deals where outcome is null")
is "$(wc -l <scores.ndjson | tr -d ' ')" "$n" "every open deal scored"
is "$(jq -r 'select(.score < 0 or .score > 100) | .id' scores.ndjson | wc -l | tr -d ' ')" "0" "scores are 0-100"
is "$(head -1 scores.ndjson | jq -r .rank)" "1" "ranked, best first"
is "$(jq -s '[.[].score] | . == (sort | reverse)' scores.ndjson)" "true" "in order of score"
# At one score the lead more engaged this week comes first (said on stderr).
crm-score --all >/dev/null 2>err
like "$(cat err)" "equal scores ranked by engagement this week" "the tie-break is said"
# The table a person reads: who each record is, then why.
crm-score --all -f table -q >table.txt
like "$(head -1 table.txt)" "name                 company              owner          id                  why" "the table names and explains"
top=$(sed -n 2p table.txt)
like "$top" "$(q "select name from deals where id = '$(head -1 scores.ndjson | jq -r .id)'" | cut -c1-20)" "the top deal by its name"
like "$top" "+ " "with its strongest reason"
is "$(jq -s '[.[].rank] == [range(1; length + 1)]' scores.ndjson)" "true" "ranked 1 to n"
is "$(q "select count(*) from scores where model_id = '$m1'")" "$n" "scores written to the database"

# A worse model does not replace the active one without --force.
crm-score train --rounds 1 --depth 1 >m2.json 2>err
is "$(jq -r .active m2.json)" "false" "a one-stump model is not activated ($(jq -c '{auc, active}' m2.json))"
like "$(cat err)" "NOT activated" "a worse model is kept inactive, saying so"
is "$(q "select id from models where active = 1")" "$m1" "the better one stays active"
m2=$(jq -r .id m2.json)
crm-score activate "$m2" >/dev/null
is "$(q "select id from models where active = 1")" "$m2" "activate switches models"
crm-score activate "$m1" >/dev/null
is "$(q "select id from models where active = 1")" "$m1" "and back: rollback is one command"
is "$(crm-score models | jq -s length)" "2" "crm-score models lists both"
crm-score activate m_nosuch 2>err; is "$?" "65" "unknown model: exit 65"

# Admin overrides: recorded with who and why; exclude, scale, clear.
crm-score weight pricing_views_30d --exclude 2>err; is "$?" "2" "an override without a reason is refused"
like "$(cat err)" "--why" "says what is missing"
crm-score weight pricing_views_30d --exclude --why "check the model without it" --who ana >/dev/null 2>&1
ok $? "exclude a feature"
crm-score weight touches_90d --monotone +1 --why "more interest never lowers a score" --who ana >/dev/null 2>&1
ok $? "a monotone constraint"
crm-score train --force -q >m3.json
ok $? "train with the overrides"
m3=$(jq -r .id m3.json)
# The constraint holds in the trees: at every split on touches_90d, no
# leaf below its lower branch outweighs one below its upper branch.
q "select hex(blob) from models where id = '$m3'" | xxd -r -p | zstd -dc >m3.model
fi=$(q "select key from models, json_each(models.features) where models.id = '$m3' and json_extract(value, '\$.name') = 'touches_90d'")
set -- $(python3 "$TOP"/tests/cli/monotone.py m3.model "$fi" 1)
ok $(( $1 > 0 && $2 == 0 ? 0 : 1 )) "the model splits on touches_90d only upward ($1 splits, $2 against the constraint)"
is "$(q "select count(*) from models, json_each(models.features) where models.id = '$m3' and json_extract(value, '\$.name') = 'pricing_views_30d'")" "0" "the excluded feature is not in the new model"
best=$(crm-score --all -q | head -1 | jq -r .id)
crm-score weight touches_30d --scale 0 --why "neutral until audited" --who ben >/dev/null 2>&1
is "$(crm-explain -f ndjson --top 40 "$best" | jq -r '[.factors[].feature] | index("touches_30d")')" "null" "a feature scaled to 0 no longer counts"
crm-score weight touches_30d --clear --why "audited" --who ben >/dev/null 2>&1
is "$(crm-score weights | jq -s 'length')" "4" "every change is kept"
is "$(crm-score weights | jq -r 'select(.in_force == 1) | .feature' | sort | tr '\n' ' ')" "pricing_views_30d touches_90d " "cleared ones are no longer in force"
is "$(crm-score weights | jq -r 'select(.feature == "touches_30d") | .who' | sort -u)" "ben" "with who"
crm-score activate "$m1" >/dev/null

# Records from a pipe: scored and passed on; others untouched.
printf 'Opportunity ID,Contact Email,Product,Stage,Amount,Created Date\nNEW-1,%s,Enterprise,Prospecting,5000,%s\n' \
	"$(q 'select email from contacts limit 1')" "$(date +%F)" | crm-import -q -t deal | jq -c '. + {"note": "kept"}' >new.ndjson
echo '{"type":"account","id":"a_x","name":"X"}' >>new.ndjson
crm-score <new.ndjson >piped.ndjson 2>/dev/null
ok $? "records on stdin"
is "$(wc -l <piped.ndjson | tr -d ' ')" "2" "all passed on"
is "$(jq -r 'select(.external_id == "NEW-1") | (.score >= 0 and .score <= 100)' piped.ndjson)" "true" "the new deal has a score"
is "$(jq -r 'select(.external_id == "NEW-1") | .note' piped.ndjson)" "kept" "its other keys kept"
is "$(jq -r 'select(.type == "account") | .name' piped.ndjson)" "X" "other records untouched"
crm-score </dev/null >all.ndjson 2>/dev/null
is "$(wc -l <all.ndjson | tr -d ' ')" "$(q "select count(*) from deals where outcome is null")" "stdin from /dev/null (cron) scores all open deals"

# Following the event log: the deals an event touches are rescored.
crm-score --all -q >/dev/null
crm-score --follow --once -q >f0.ndjson
is "$(wc -l <f0.ndjson | tr -d ' ')" "0" "nothing new: nothing printed"
low=$(q "select entity_id from scores where model_id = (select id from models where active = 1) order by probability limit 1")
lowscore=$(q "select score from scores where entity_id = '$low' and model_id = (select id from models where active = 1)")
em=$(q "select c.email from deals d join contacts c on c.id = d.contact_id where d.id = '$low'")
{ echo kind,occurred_at,contact,subject
  for h in 1 2 3 4 5 6; do echo "page_view,$(date -u -d "-$h hours" +%Y-%m-%dT%H:%M:%SZ),$em,/pricing"; done; } |
	crm-import -q -t interaction >/dev/null
crm-score --follow --once >f1.ndjson 2>err
ok $? "crm-score --follow --once"
is "$(jq -r "select(.id == \"$low\") | .previous" f1.ndjson | head -1)" "$lowscore" "the lowest deal is rescored, against its published score"
is "$(jq -r "select(.id == \"$low\") | .score > .previous" f1.ndjson | head -1)" "true" "six pricing views raise it"
is "$(jq -r "select(.id == \"$low\") | has(\"ms\") and has(\"seq\")" f1.ndjson | head -1)" "true" "with the event and the time it took"
like "$(cat err)" "rescores" "a summary of rescores"
is "$(q "select score from scores where entity_id = '$low' and model_id = (select id from models where active = 1)")" "$(jq -r "select(.id == \"$low\") | .score" f1.ndjson | tail -1)" "the new score is stored"
crm-score --follow --once -q >f2.ndjson
is "$(wc -l <f2.ndjson | tr -d ' ')" "0" "the next run goes on from where this one stopped"

# A damaged blob is found before use.
if on_pg; then
	dbsql "update models set blob = decode(repeat('00', length(blob)), 'hex') where id = '$m1'"
else
	dbsql "update models set blob = zeroblob(length(blob)) where id = '$m1'"
fi
crm-score --all >/dev/null 2>err
is "$?" "65" "damaged model: exit 65"
like "$(cat err)" "damaged" "says so"

# Too little history is refused with numbers.
printf 'Opportunity ID,Stage,Amount\nX1,Won,10\nX2,Lost,20\n' | crm-import --db small.db -q -t deal >/dev/null
crm-score --db small.db train 2>err
is "$?" "65" "too little history: exit 65"
like "$(cat err)" "2 closed deals (1 won, 1 not); need at least 100 closed with 20 of each" "says what is missing"

# Leads learn from engagement: converted leads carry their conversion
# date, so the lead model sees what they did before it.
crm-score train -t contact --force -q >lm.json
like "$(crm-score --all -q -t contact | head -5 | crm-explain -f ndjson --top 3 | jq -r '.factors[].text')" "this week" \
	"the top leads' reasons include their engagement"
low=$(crm-score --all -q -t contact | tail -1 | jq -r .id)
em=$(crm-export -t contact -w id="$low" | jq -r .email)
before_s=$(crm-score --all -q -t contact | jq -r "select(.id == \"$low\") | .score")
crm-score --follow --once -q -t contact >/dev/null
for i in 1 2 3; do
	printf '{"type":"interaction","kind":"page_view","contact":"%s","occurred_at":"%s","subject":"/pricing"}\n' \
		"$em" "$(date -u -d "$i hours ago" +%Y-%m-%dT%H:%M:%SZ)"
done | crm-import -q - >/dev/null
crm-score --follow --once -t contact >surge.ndjson 2>/dev/null
after_s=$(jq -r "select(.id == \"$low\") | .score" surge.ndjson)
ok "$([ "${after_s:-0}" -gt "$before_s" ]; echo $?)" "a lead whose engagement surges rises ($before_s -> $after_s)"
like "$(crm-explain -f ndjson "$low" | jq -r '.factors[].text')" "this week" "with the surge among its reasons"


# The bias audit over the same database (its custom field found whatever
# its case), on either backend.
crm-score --all -q >/dev/null
crm-audit bias --by gender --no-store >bias.ndjson 2>/dev/null
ok "$([ $? -le 1 ] && echo 0 || echo 1)" "crm-audit bias runs"
is "$(jq -r 'select(.type == "group") | .group' bias.ndjson | sort | tr '\n' ' ')" "F M " "a group for each value of Gender"
is "$(jq -s 'map(select(.type == "group") | .n) | add' bias.ndjson)" \
	"$(q "select count(*) from contacts where merged_into is null and outcome is null and json_extract(attrs, '\$.Gender') in ('F', 'M')")" \
	"over every open lead that has one"

# Maven: the close value is only known at the close, and is left out.
M=$TOP/../shared/data/maven-crm
if [ -f "$M/sales_pipeline.csv" ]; then
	crm-import --db maven.db -q --source maven "$M"/*.csv >/dev/null
	crm-score --db maven.db train >/dev/null 2>err
	like "$(cat err)" "left out amount: set on 100% of closed records but 0% of open ones" "Maven's close value is caught as a leak"
else
	skip "Maven: ../shared/data/maven-crm is not here"
fi
done_testing
