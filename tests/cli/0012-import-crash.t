#!/bin/sh
# crm-import: kill -9 in the middle leaves a consistent database, and a
# re-run completes the import without duplicates.
# backends: sqlite postgresql
. "$(dirname "$0")/lib.sh"

"$TOP"/scripts/gen-sample --contacts 60000 -s 7 >big.csv
crm init 2>/dev/null
crm-import -t contact --batch 500 big.csv >out.ndjson 2>/dev/null &
pid=$!
# Wait until some batches have committed, then kill without warning.
i=0
while [ "$(dbsql 'select count(*) from contacts' 2>/dev/null || echo 0)" -lt 2000 ] && [ $i -lt 200 ]; do
	sleep 0.05; i=$((i + 1))
done
kill -9 $pid 2>/dev/null
wait $pid 2>/dev/null
n=$(q 'select count(*) from contacts')
ok "$([ "$n" -gt 0 ] && [ "$n" -lt 60000 ] && echo 0 || echo 1)" "killed part-way ($n of 60000 rows in)"
is "$(q 'PRAGMA integrity_check')" "ok" "integrity_check ok after kill -9"
is "$(q 'select count(*) % 500 from contacts')" "0" "only whole batches committed"
is "$(q 'select count(*) from events')" "$n" "events match the committed rows"
lines=$(wc -l <out.ndjson | tr -d ' ')
ok "$([ "$lines" -le "$n" ] && echo 0 || echo 1)" "no record was reported that did not commit ($lines <= $n)"

crm-import -t contact big.csv >/dev/null 2>err
ok $? "re-run succeeds"
like "$(cat err)" "$((60000 - n)) inserted, 0 updated, $n unchanged" "re-run completes the rest"
is "$(q 'select count(*), count(distinct external_id) from contacts')" "60000|60000" "no duplicates"
is "$(q 'PRAGMA integrity_check')" "ok" "integrity_check ok at the end"
done_testing
