#!/bin/sh
# The pipe matrix: every pair of filter stages and the README's pipes, on
# an input of three import batches, on a database with trained models,
# while a second writer (crm-serve taking POSTs) works at the same time.
# Every input row lands or is rejected with its reason, every record
# reaches the last stage with its field filled, no stage exits 69, and
# the counts add up.
. "$(dirname "$0")/lib.sh"

command -v curl >/dev/null || skip_all "no curl"
"$TOP"/scripts/gen-sample -n 2000 -s 11 sample >/dev/null 2>&1
crm-import -q sample/* >/dev/null 2>&1
crm-score train -q -t contact >/dev/null 2>&1
crm-score train -q -t deal >/dev/null 2>&1
crm-score --all -q -t contact >/dev/null 2>&1
crm-export -t contact | head -30 >existing.ndjson
# The README's pipes run last, on this database as it is now: their
# counts depend on what it holds (dedupe's model is fitted to it).
crm-db copy -q "$CRM_DB" "$T/readme.db" >/dev/null 2>&1

# The second writer: POSTs through the API all the time.
tok=$(crm-serve token add bot --role admin 2>/dev/null)
serve_start --rate 0 --no-webhooks
(i=0; while [ ! -e stop.writer ]; do i=$((i + 1))
	curl -s -o /dev/null -w '%{http_code}\n' -X POST -H "Authorization: Bearer $tok" -H 'Content-Type: application/json' \
		-d "{\"first_name\":\"Bg$i\",\"email\":\"bg$i@writer.example\"}" "$U/v1/contacts"
done >bg.codes) &
writer=$!

# Input for pipe $1: 150 rows in three batches of 50: 130 new people,
# 15 copies of people already there, 5 rows that are rejected.
input() {
	printf 'first_name,last_name,email,company\n'
	for i in $(seq 130); do printf 'P%sn%d,Matrix,p%s.%d@matrix.example,Acme\n' "$1" "$i" "$1" "$i"; done
	jq -r '[.first_name, .last_name, (.email | sub("@"; "+'"$1"'@")), .company] | @csv' existing.ndjson | head -15
	for i in $(seq 5); do printf 'Bad%d,Row,not-an-email-%d,Acme\n' "$i" "$i"; done
}

stage() {	# stage NAME CMD... - run a stage, its exit status into rc.NAME
	name=$1; shift
	"$@" 2>"err.$name"
	echo $? >"rc.$name"
}

check() {	# check PIPE LASTFIELD
	pipe=$1 field=$2
	is "$(cat rc.import)" "65" "$pipe: import exits 65 (its 5 rejected rows)"
	for f in rc.*; do
		[ "$f" = rc.import ] && continue
		is "$(cat "$f")" "0" "$pipe: ${f#rc.} exits 0 $(head -c 150 "err.${f#rc.}")"
	done
	like "$(cat err.import)" "150 rows: " "$pipe: import read all 150 rows"
	sum=$(sed -n 's/.*150 rows: \([0-9]*\) inserted, \([0-9]*\) updated, \([0-9]*\) unchanged, \([0-9]*\) rejected.*/\1 \2 \3 \4/p' err.import)
	is "$(echo "$sum" | awk '{print $1 + $2 + $3 + $4}')" "150" "$pipe: the counts add up ($sum)"
	is "$(jq -r .line rej.ndjson | wc -l)" "$(echo "$sum" | awk '{print $4}')" "$pipe: every rejected row is in the rejects file"
	case $field in
	score) got=$(jq -r 'select(.type == "contact" and (.score != null or .reason != null)) | .id' out.ndjson | wc -l) ;;
	duplicate) got=$(jq -r 'select(.type == "contact" and .duplicate.action != null) | .id' out.ndjson | wc -l) ;;
	explanation) got=$(jq -r 'select(.type == "explanation") | .id' out.ndjson | wc -l) ;;
	esac
	landed=$(echo "$sum" | awk '{print $1 + $2 + $3}')
	is "$got" "$landed" "$pipe: every record that landed reaches the end with its $field ($got)"
	rm -f rc.* err.* rej.ndjson
}

n=0
for pipe in score dedupe explain dedupe-score score-dedupe dedupe-explain score-explain dedupe-score-explain; do
	n=$((n + 1))
	input "$n" >in.csv
	last=${pipe##*-}
	case $last in score) field=score ;; dedupe) field=duplicate ;; explain) field=explanation ;; esac
	# Build the pipe: import, then each stage.
	cmd="stage import crm-import --batch 50 -r rej.ndjson in.csv"
	for s in $(echo "$pipe" | tr '-' ' '); do
		case $s in
		score) cmd="$cmd | stage score crm-score -t contact" ;;
		dedupe) cmd="$cmd | stage dedupe crm-dedupe" ;;
		explain) cmd="$cmd | stage explain crm-explain -f ndjson" ;;
		esac
	done
	eval "$cmd" >out.ndjson
	check "import | $(echo "$pipe" | sed 's/-/ | /g')" "$field"
done

touch stop.writer; wait "$writer" 2>/dev/null
kill "$srv"; wait "$srv" 2>/dev/null
is "$(grep -v -c '^201$' bg.codes)" "0" "the second writer's $(wc -l <bg.codes) POSTs were all taken (201)"
is "$(q "select count(*) from contacts where email like 'bg%@writer.example'")" "$(grep -c '^201$' bg.codes)" "and all are in the database"

# The README's pipes, as written, on the copy made before the second writer.
CRM_DB=$T/readme.db
export CRM_DB
input 99 >leads.csv
crm-import leads.csv 2>/dev/null | crm-dedupe 2>/dev/null | jq 'select(.duplicate.action != "distinct")' >readme1.out
is "$(jq -r .id readme1.out | sort -u | wc -l)" "15" "README: import | dedupe | jq finds the 15 copies"
crm score train -q >/dev/null 2>&1 && crm score --all 2>/dev/null | head -10 | crm explain --next-action -f ndjson >readme2.out 2>/dev/null
is "$(jq -r 'select(.type == "explanation" and .next_action != null) | .id' readme2.out | wc -l)" "10" "README: score --all | head | explain --next-action: ten with their next action"
crm export -t deal -w stage=Negotiation -w 'amount>10000' >readme3.out 2>/dev/null; ok $? "README: export with filters"

done_testing
