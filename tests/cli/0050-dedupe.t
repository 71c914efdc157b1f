#!/bin/sh
# crm-dedupe: candidate pairs, learned weights, probabilities, groups.
# backends: sqlite postgresql
. "$(dirname "$0")/lib.sh"
F=$TOP/tests/fixtures

crm-import -q -t contact "$F"/people.csv >/dev/null
crm-dedupe --all -n --all-pairs >pairs.ndjson 2>err
ok $? "crm-dedupe --all runs"
ext() { q "select external_id from contacts where id='$1'"; }
found=$(jq -r '[.a, .b, .action] | @tsv' pairs.ndjson | while IFS='	' read -r a b act; do
	echo "$(ext "$a")-$(ext "$b"):$act"; done | sort | tr '\n' ' ')
like "$found" "P01-P02:merge" "nickname + plus-tag email + same phone: merge"
like "$found" "P01-P03:merge" "swapped first and last name: merge"
like "$found" "P04-P05:merge" "typo in the surname, same email: merge"
like "$found" "P06-P07:merge" "accent, missing email, same phone: merge"
case $found in *P08-P09:merge*) r=1 ;; *) r=0 ;; esac
ok $r "two different John Smiths are not merged"
is "$(jq -r 'select(.action=="merge") | .group' pairs.ndjson | sort -u | wc -l | tr -d ' ')" "3" "three groups of duplicates"
g=$(jq -r 'select(.action=="merge") | .group' pairs.ndjson | sort | uniq -c | sort -rn | head -1 | awk '{print $1}')
is "$g" "3" "William Turner's three records are one group"
like "$(cat err)" "16 contacts" "summary counts records"
like "$(cat err)" "pairs compared" "and pairs compared"
p=$(jq -r 'select(.fields.last_name.level=="exact") | .fields.last_name.weight' pairs.ndjson | head -1)
is "$(echo "$p > 0" | bc)" "1" "an exact surname adds weight ($p)"
is "$(jq -r '.fields | length' pairs.ndjson | sort -u)" "7" "every compared field explained per pair"

# Explicit fields; bad ones are usage errors.
crm-dedupe --all -n --fields "email:email,last_name:name" -q >/dev/null
ok $? "--fields with comparators"
crm-dedupe --all --fields 'nosuch' 2>err; is "$?" "2" "unknown field: exit 2"
like "$(cat err)" "contacts have no field 'nosuch'" "says which"
crm-dedupe --all --fields 'email:fuzzy' 2>err; is "$?" "2" "unknown comparator: exit 2"
crm-dedupe -n </dev/null >out 2>err; is "$?" "0" "no --all and nothing piped in: nothing to do"
is "$(wc -c <out | tr -d ' ')" "0" "and nothing written"

# Labelled pairs refine the weights: "same surname, not the same person".
P08=$(q "select id from contacts where external_id='P08'")
P09=$(q "select id from contacts where external_id='P09'")
dbsql "update contacts set last_name = 'Smith' where external_id in ('P10','P11','P12','P13','P14','P15','P16')"
for x in P10 P11 P12 P13 P14 P15 P16; do
	printf '{"a":"%s","b":"%s","match":false}\n' "$P09" "$(q "select id from contacts where external_id='$x'")"
done >labels.ndjson
printf '{"a":"%s","b":"%s","match":false}\n' "$P08" "$P09" >>labels.ndjson
pp() { jq -r "select((.a==\"$P08\" and .b==\"$P09\") or (.a==\"$P09\" and .b==\"$P08\")) | .probability"; }
p0=$(crm-dedupe --all -n --all-pairs 2>/dev/null | pp)
echo '{"a":"c_nosuch","b":"c_nosuch2","match":true}' >>labels.ndjson
echo 'garbage' >>labels.ndjson
p1=$(crm-dedupe --all -n --all-pairs --train labels.ndjson 2>err | pp)
like "$(cat err)" "8 labelled pairs (0 matches)" "labels counted"
like "$(cat err)" "labels.ndjson:9: no live record 'c_nosuch'" "unknown ids reported"
like "$(cat err)" "labels.ndjson:10:" "bad lines reported"
is "$(awk -v a="$p1" -v b="$p0" "BEGIN { print (a < b) }")" "1" "labels lower the probability of a pair like the ones labelled distinct ($p0 -> $p1)"

# Records with none of the compared fields are skipped, not matched.
printf 'Contact ID,title\nX1,CEO\nX2,CEO\n' | crm-import -q -t contact >/dev/null
crm-dedupe --all -n --fields "email:email,phone:phone" --all-pairs >p2 2>err
like "$(cat err)" "skipped: none of the compared fields" "empty records reported"
is "$(jq -r 'select(.a != null) | .a' p2 | grep -c "$(q "select id from contacts where external_id='X1'")")" "0" "and never paired"

# A copy with a typo in the first name and nothing else but the surname
# is still compared, in a small list: a name alone is a blocking key
# where it pairs few.
{ cat "$F"/people.csv; echo 'X2,Kwmae,Okafor,,,,,'; } >thin.csv
crm-import --db thin.db -q -t contact thin.csv >/dev/null
crm-dedupe --db thin.db --all -n --all-pairs >thin.pairs 2>err
ok $? "crm-dedupe on a list with thin copies"
a=$(crm-export --db thin.db -t contact -f csv --fields id,external_id | awk -F, '$2 == "P13" { print $1 }')
b=$(crm-export --db thin.db -t contact -f csv --fields id,external_id | awk -F, '$2 == "X2" { print $1 }')
is "$(jq -c "select((.a==\"$a\" and .b==\"$b\") or (.a==\"$b\" and .b==\"$a\")) | .fields.last_name.level" thin.pairs)" \
	'"exact"' "the copy sharing only the surname is a candidate pair"

# Febrl, when the shared data is there: no labels, quality measured.
D=$TOP/../shared/data
if [ -f "$D/febrl1.csv" ]; then
	crm-import --db febrl.db -q -t contact "$D/febrl1.csv" >/dev/null
	crm-dedupe --db febrl.db --all --all-pairs -q >febrl.pairs
	r=$("$TOP"/scripts/dedupe-eval --db febrl.db --json febrl.pairs)
	good=$(echo "$r" | jq '.f1 >= 0.98 and .precision >= 0.99')
	is "$good" "true" "Febrl1: F1 >= 0.98, precision >= 0.99 at 0.98 ($r)"
else
	skip "Febrl1: ../shared/data/febrl1.csv is not here"
fi
done_testing
