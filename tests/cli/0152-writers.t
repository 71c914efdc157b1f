#!/bin/sh
# Writers at once: three crm-import processes with overlapping keys, each
# in batches, against one database; every row lands once, is counted by
# exactly one of them, and has its event.
# backends: sqlite postgresql
. "$(dirname "$0")/lib.sh"

crm init 2>/dev/null
gen() {	# FROM TO TITLE
	awk -v a="$1" -v b="$2" -v t="$3" 'BEGIN {
		print "external_id,email,first_name,last_name,title"
		for (i = a; i <= b; i++) printf "W%d,w%d@example.com,F%d,L%d,%s\n", i, i, i, i, t
	}'
}
gen 1 3000 same >a.csv
gen 2001 5000 same >b.csv
gen 1 5000 same >c.csv
for f in a b c; do
	crm-import -t contact --batch 200 $f.csv >$f.out 2>$f.err &
	eval "pid_$f=$!"
done
st=0
for f in a b c; do
	eval "wait \$pid_$f" || st=$?
done
is "$st" "0" "three writers at once: each exits 0"
sum() { jq -r .status "$@" | sort | uniq -c | awk '{ printf "%s=%s ", $2, $1 }'; }
is "$(cat a.out b.out c.out | wc -l | tr -d ' ')" "11000" "every input row reported once (3000 + 3000 + 5000)"
is "$(cat a.out b.out c.out | jq -r 'select(.status == "inserted") | .external_id' | sort | uniq -d | wc -l | tr -d ' ')" \
	"0" "no key inserted twice"
is "$(cat a.out b.out c.out | jq -r 'select(.status == "inserted")' | jq -s length)" "5000" \
	"5000 inserts in all, whoever got there first"
is "$(cat a.out b.out c.out | jq -r 'select(.status != "inserted" and .status != "unchanged")' | jq -s length)" "0" \
	"the others found them unchanged ($(sum a.out b.out c.out))"
is "$(q "select count(*) || '|' || count(distinct external_id) from contacts")" "5000|5000" \
	"5000 rows in the database, no duplicates"
is "$(q "select count(*) from events where entity = 'contact' and op = 'insert'")" "5000" "an event for each insert"
is "$(q "select count(*) from events where entity = 'contact' and op = 'update'")" "0" "and none for rows unchanged"
for f in a b c; do
	like "$(cat $f.err)" "0 rejected" "$f: nothing rejected"
done

# And changes at once: two writers update disjoint halves, a third all.
gen 1 2500 x >d.csv
gen 2501 5000 y >e.csv
gen 1 5000 z >f.csv
crm-import -t contact --batch 100 -q d.csv >d.out 2>d.err &
p1=$!
crm-import -t contact --batch 100 -q e.csv >e.out 2>e.err &
p2=$!
crm-import -t contact --batch 100 -q f.csv >f.out 2>f.err &
p3=$!
wait $p1 && wait $p2 && wait $p3
ok $? "updates at once: each exits 0"
n=$(cat d.out e.out f.out | jq -r 'select(.status == "updated")' | jq -s length)
is "$(q "select count(*) from events where entity = 'contact' and op = 'update'")" "$n" \
	"an event for each update reported ($n)"
is "$(q "select count(*) from contacts where title not in ('x', 'y', 'z')")" "0" "every row holds a value one of them wrote"
is "$(q "select count(*) from contacts")" "5000" "still 5000 rows"
done_testing
