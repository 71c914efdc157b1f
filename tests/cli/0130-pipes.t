#!/bin/sh
# The stage contract over one shared database: a filter sees each record
# as it is when the record reaches it; no stage holds the database while
# it waits for input; a writer never drops rows on contention.
. "$(dirname "$0")/lib.sh"

"$TOP"/scripts/gen-sample -n 2000 -s 7 sample >/dev/null 2>&1
crm-import -q sample/* >/dev/null 2>&1
crm-score train -q -t contact >/dev/null 2>&1
crm-score train -q -t deal >/dev/null 2>&1
crm-score --all -q -t contact >/dev/null 2>&1

# Freshly imported records reach crm-score committed, and are scored.
printf 'first_name,last_name,email,company\n' >new.csv
for i in $(seq 60); do printf 'New%d,Lead,new%d@fresh.example,Acme\n' "$i" "$i" >>new.csv; done
st crm-import --batch 25 new.csv 2>imp.err | st crm-score -t contact >scored.ndjson 2>score.err
stages_ok 2 "crm-import | crm-score: every stage exit 0"
is "$(jq -r 'select(.score != null) | .id' scored.ndjson | wc -l)" "60" "all 60 new contacts scored in the pipe"
like "$(cat score.err)" "60 contacts scored" "and the summary says so"
is "$(q "select count(*) from scores where entity_id in (select id from contacts where email like '%@fresh.example')")" "60" "their scores are stored"

# Records changed upstream are scored with their new values: the pipe's
# scores equal those of a full run right after.
crm-export -t deal -w outcome= --fields id,amount,stage | head -5 | jq -c '{type: "deal", id, amount: ((.amount // 1000) * 3), stage: "Negotiation"}' >changed.ndjson
st crm-import changed.ndjson 2>/dev/null | st crm-score -t deal 2>/dev/null | jq -r 'select(.score != null) | "\(.id) \(.score)"' | sort >pipe.txt
crm-score --all -q -t deal 2>/dev/null | jq -r 'select(.id as $i | $i) | "\(.id) \(.score)"' | sort >all.txt
stages_ok 2 "crm-import | crm-score on changed deals: both exit 0"
is "$(wc -l <pipe.txt)" "5" "five changed deals scored in the pipe"
is "$(join pipe.txt all.txt | awk '$2 != $3' | wc -l)" "0" "each with the score a full run gives right after"

# A dry run upstream: records not in the database are scored from their
# own fields, say so, and score what they score once imported.
printf 'first_name,last_name,email,company\nDry,Run,dry1@dryrun.example,Acme\nDry2,Run,dry2@dryrun.example,Acme\n' >dry.csv
st crm-import -n dry.csv 2>/dev/null | st crm-score -t contact >dry.ndjson 2>dry.err
stages_ok 2 "crm-import -n | crm-score: both exit 0"
is "$(jq -r '[.in_database, (.score != null)] | map(tostring) | join(" ")' dry.ndjson | sort -u)" "false true" "crm-import -n | crm-score: scored from their own fields, saying so"
like "$(cat dry.err)" "2 not in the database, scored from their own fields" "the summary says so"
is "$(q "select count(*) from contacts where email like '%@dryrun.example'")" "0" "and nothing was written"
crm-import dry.csv 2>/dev/null | crm-score -t contact 2>/dev/null | jq -r '.score' >real.txt
is "$(jq -r .score dry.ndjson | tr '\n' ' ')" "$(tr '\n' ' ' <real.txt)" "the same scores as once they are imported"

# A merged id is scored as its survivor; an id nobody has, with a reason.
a=$(jq -r 'select(.first_name == "New1") | .id' scored.ndjson)
b=$(jq -r 'select(.first_name == "New2") | .id' scored.ndjson)
crm-dedupe merge "$a" "$b" >merge.json 2>/dev/null
gone=$(jq -r .merged_id merge.json); surv=$(jq -r .survivor_id merge.json)
printf '{"type":"contact","id":"%s"}\n{"type":"contact","id":"c_0000000000000000"}\n' "$gone" >ids.ndjson
crm-score -t contact ids.ndjson >ids.out 2>/dev/null
is "$(jq -r 'select(.id == "'"$gone"'") | [.merged_into, (.score != null)] | join(" ")' ids.out)" "$surv true" "a merged id: scored as its survivor, saying so"
is "$(jq -r 'select(.id == "c_0000000000000000") | [.score, .reason] | map(tostring) | join(" ")' ids.out)" "null no such record in the database" "an unknown id: score null, with the reason"
is "$(crm-score -t contact - <ids.ndjson 2>/dev/null | wc -l)" "2" "a file operand or - for stdin"

crm-explain -f ndjson "$gone" >ex.json 2>/dev/null
is "$(jq -r '.id + " " + .merged_from' ex.json)" "$surv $gone" "crm-explain of a merged id: the survivor's explanation, saying so"
crm-explain -f ndjson ids.ndjson >ex2.json 2>ex2.err
is "$?" "65" "crm-explain of a file with an unknown id: exit 65"
is "$(jq -r .id ex2.json)" "$surv" "the known one explained"
like "$(cat ex2.err)" "no contact 'c_0000000000000000'" "the unknown one named"

# import | dedupe | score | explain: the merged copies reach the end.
printf 'first_name,last_name,email,company\n' >dup.csv
for i in 3 4 5; do printf 'New%d,Lead,new%d@fresh.example,Acme\n' "$i" "$i" >>dup.csv; done
st crm-import dup.csv 2>/dev/null | st crm-dedupe 2>/dev/null | st crm-score -t contact 2>/dev/null | st crm-explain -f ndjson >chain.json 2>chain.err
stages_ok 4 "crm-import | crm-dedupe | crm-score | crm-explain: every stage exit 0"
is "$(jq -r .type chain.json | sort | uniq -c | awk '{$1 = $1; print}')" "3 explanation" "three explanations reach the end"

# A dry run upstream: records not in the database are still compared, by
# their own fields, and say so.
crm-export -t contact -w email~@ 2>/dev/null | head -12 | jq -r '[.first_name, .last_name, (.email | sub("@"; "+copy@")), .company] | @csv' |
	sed '1i first_name,last_name,email,company' >copies.csv
st crm-import -n --source other copies.csv 2>/dev/null | st crm-dedupe -n >dry.ndjson 2>dry.err
stages_ok 2 "crm-import -n | crm-dedupe -n: both exit 0"
is "$(jq -r .duplicate.action dry.ndjson | sort | uniq -c | awk '{$1 = $1; print}')" "12 merge" "crm-import -n | crm-dedupe -n: the 12 copies are found"
like "$(jq -r '.duplicate.why' dry.ndjson | sort -u)" "not in the database" "each says it was compared by its own fields"
like "$(cat dry.err)" "12 incoming records are not in the database" "and the summary says so"

crm-import -n --source other copies.csv 2>/dev/null >copies.ndjson
is "$(crm-dedupe -n copies.ndjson 2>/dev/null | jq -r .duplicate.action | sort | uniq -c | awk '{$1 = $1; print}')" "12 merge" "crm-dedupe takes a file of records too"

# Follow mode scores records created since the cursor.
crm-score --follow --once -q -t contact >/dev/null
printf 'first_name,last_name,email,company\n' >fol.csv
for i in $(seq 120); do printf 'Fol%d,Low,fol%d@follow.example,Acme\n' "$i" "$i" >>fol.csv; done
crm-import -q fol.csv >/dev/null
crm-score --follow --once -t contact >fol.ndjson 2>fol.err
is "$(jq -r .id fol.ndjson | sort -u | wc -l)" "120" "--follow --once: the 120 new contacts are scored"
is "$(q "select count(*) from scores where entity_id in (select id from contacts where email like '%@follow.example')")" "120" "and their scores stored"
crm-score --all -q -t contact | jq -r 'select(.id) | "\(.id) \(.score)"' | sort >all2.txt
jq -r '"\(.id) \(.score)"' fol.ndjson | sort >fol.txt
is "$(join fol.txt all2.txt | awk '$2 != $3' | wc -l)" "0" "with the scores a full run gives"

# An idle filter holds no lock: a writer with a 1 s bound still gets in.
(sleep 4 | crm-score -t contact >/dev/null 2>&1) &
idle=$!
sleep 1
printf 'first_name,email\nIdle,idle@x.example\n' >idle.csv
crm-import --busy-timeout 1 idle.csv >/dev/null 2>err
is "$?" "0" "a writer is not blocked by an idle crm-score reading a pipe"
wait "$idle"

# Contention: by default a writer waits as long as it takes; with a bound
# it gives up, and every row not written is rejected with its line.
printf 'first_name,last_name,email\n' >busy.csv
for i in $(seq 60); do printf 'B%d,Busy,b%d@busy.example\n' "$i" "$i" >>busy.csv; done
sqlite3 "$CRM_DB" "BEGIN IMMEDIATE; SELECT 1;" ".shell sleep 2" "COMMIT;" >/dev/null &
lock=$!
sleep 0.3
crm-import --batch 20 busy.csv >/dev/null 2>err
is "$?" "0" "the lock held 2 s: the import waits and lands"
is "$(q "select count(*) from contacts where email like '%@busy.example'")" "60" "all 60 rows"
wait "$lock"
# A lock taken after the first batch committed.
printf 'first_name,last_name,email\n' >busy2.csv
for i in $(seq 60); do printf 'C%d,Busy,c%d@busy2.example\n' "$i" "$i" >>busy2.csv; done
{ head -21 busy2.csv; sleep 1.5; tail -n +22 busy2.csv; } | crm-import --batch 20 --busy-timeout 0.5 -r rej.ndjson - >/dev/null 2>err &
imp=$!
sleep 0.7
sqlite3 "$CRM_DB" "BEGIN IMMEDIATE; SELECT 1;" ".shell sleep 2.5" "COMMIT;" >/dev/null &
lock=$!
wait "$imp"; rc=$?
wait "$lock"
is "$rc" "69" "with --busy-timeout it gives up: exit 69"
landed=$(q "select count(*) from contacts where email like '%@busy2.example'")
is "$landed" "20" "the first batch landed"
is "$(wc -l <rej.ndjson)" "40" "the other 40 rows are in the rejects file"
is "$(jq -r .reason rej.ndjson | sort -u)" "not written: database is locked" "with the reason"
is "$(jq -r .line rej.ndjson | sort -n | head -1) $(jq -r .line rej.ndjson | sort -n | tail -1)" "22 61" "and their lines"
like "$(cat err)" "60 rows: 20 inserted, 0 updated, 0 unchanged, 40 rejected" "the summary adds up to the input"
# The API: a write that cannot be committed is an error, never a 2xx.
tok=$(crm-serve token add ops --role admin 2>/dev/null)
serve_start --rate 0 --no-webhooks --busy-timeout 0.5
sqlite3 "$CRM_DB" "BEGIN IMMEDIATE; SELECT 1;" ".shell sleep 2" "COMMIT;" >/dev/null &
lock=$!
sleep 0.3
st=$(curl -s -o api.json -w '%{http_code}' -X POST -H "Authorization: Bearer $tok" -H 'Content-Type: application/json' \
	-d '{"first_name":"Locked","email":"locked@api.example"}' "$U/v1/contacts")
is "$st $(jq -r .error api.json)" "503 busy" "a POST the database cannot take in time: 503"
wait "$lock"
is "$(q "select count(*) from contacts where email = 'locked@api.example'")" "0" "and nothing was written"
st=$(curl -s -o api.json -w '%{http_code}' -X POST -H "Authorization: Bearer $tok" -H 'Content-Type: application/json' \
	-d '{"first_name":"Locked","email":"locked@api.example"}' "$U/v1/contacts")
is "$st" "201" "the same POST once the lock is free: 201"
kill "$srv"; wait "$srv" 2>/dev/null

# A stage fed in bursts while it works on a chunk: the input thread queues
# the next lines meanwhile (under make asan, any use of the queue's memory
# by the stage is an error).
crm-export -t contact | head -600 >burst.ndjson
(for k in 1 2 3 4 5 6; do cat burst.ndjson; sleep 0.05; done) | crm-explain -f ndjson >burst.out 2>burst.err
is "$? $(jq -r 'select(.type == "explanation") | .id' burst.out | wc -l | tr -d ' ')" "0 $((6 * $(wc -l <burst.ndjson)))" \
	"crm-explain fed in bursts: every record explained, in order of arrival"
[ "$(jq -r 'select(.type == "explanation") | .id' burst.out | head -n "$(wc -l <burst.ndjson)")" = "$(jq -r .id burst.ndjson)" ]
ok $? "the first burst's records first, in their order"
done_testing
