#!/bin/sh
# crm-import on a full disk: exit 74, whole batches only, integrity ok,
# the summary counts what did not land, and a re-run with room completes.
. "$(dirname "$0")/lib.sh"
[ "$(id -u)" = 0 ] || skip_all "needs root to mount a small tmpfs"
mkdir small
mount -t tmpfs -o size=3M tmpfs small 2>/dev/null || skip_all "cannot mount tmpfs here"
trap 'umount "$T/small" 2>/dev/null; rm -rf "$T"' EXIT

"$TOP"/scripts/gen-sample --contacts 30000 -s 3 >c.csv
crm --db small/crm.db init 2>/dev/null
crm-import --db small/crm.db -t contact --batch 1000 c.csv >out.ndjson 2>err
is "$?" "74" "disk full: exit 74"
like "$(cat err)" "database or disk is full" "says the disk is full"
n=$(sqlite3 small/crm.db 'select count(*) from contacts')
ok "$([ "$n" -gt 0 ] && [ "$n" -lt 30000 ] && echo 0 || echo 1)" "part landed ($n rows)"
is "$(sqlite3 small/crm.db 'PRAGMA integrity_check')" "ok" "integrity_check ok"
is "$((n % 1000))" "0" "whole batches only"
like "$(cat err)" "$n inserted" "the summary counts only what landed"
like "$(cat err)" "not written" "and what did not"
is "$(wc -l <out.ndjson | tr -d ' ')" "$n" "records reported = records committed"

cp small/crm.db big.db
[ -f small/crm.db-wal ] && cp small/crm.db-wal big.db-wal
crm-import --db big.db -t contact c.csv >/dev/null 2>err
ok $? "re-run with room succeeds"
is "$(sqlite3 big.db 'select count(*), count(distinct external_id) from contacts')" "30000|30000" "complete, no duplicates"
done_testing
