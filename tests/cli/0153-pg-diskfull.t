#!/bin/sh
# crm-import into PostgreSQL on a full disk (the database's tables in a
# tablespace on a small tmpfs; its catalogs, which every new connection
# writes, on the server's own disk): exit 74, whole batches only, the records reported are those
# committed, every other row rejected with the reason, and a re-run with
# room completes without duplicates. 0014-import-diskfull.t does the same
# for an SQLite file.
. "$(dirname "$0")/lib.sh"
[ "$(id -u)" = 0 ] || skip_all "needs root to mount a small tmpfs"
pg_start
id postgres >/dev/null 2>&1 || skip_all "no postgres user to own the tablespace"
mkdir small
mount -t tmpfs -o size=20M tmpfs small 2>/dev/null || skip_all "cannot mount tmpfs here"
chown postgres small
chmod 711 "$T"
ts="crm_small_$$"
db="t$$_full"
cleanup() {
	psql -q "$PG_ADMIN" -c "SET client_min_messages = warning" -c "DROP DATABASE IF EXISTS \"$db\"" \
		-c "DROP TABLESPACE IF EXISTS $ts" >/dev/null 2>&1
	umount "$T/small" 2>/dev/null
}
trap 'cleanup; [ -n "${_pgdir:-}" ] && "$TOP"/scripts/pg-cluster stop "$_pgdir" && rm -rf "$_pgdir"; rm -rf "$T"' EXIT
psql -q "$PG_ADMIN" -c "CREATE TABLESPACE $ts LOCATION '$T/small'" \
	-c "CREATE DATABASE \"$db\" OWNER crm" \
	-c "ALTER DATABASE \"$db\" SET default_tablespace = $ts" -c "GRANT CREATE ON TABLESPACE $ts TO crm" \
	>/dev/null || { echo "Bail out! no tablespace"; exit 1; }
U=$(echo "$PG_ADMIN" | sed "s,//[^@]*@,//crm@,; s,/postgres\$,/$db,")

"$TOP"/scripts/gen-sample --contacts 60000 -s 3 >c.csv
crm --db "$U" init 2>/dev/null
crm-import --db "$U" -t contact --batch 1000 c.csv >out.ndjson 2>err
is "$?" "74" "disk full: exit 74"
like "$(cat err)" "No space left on device" "says the disk is full"
n=$(psql -At "$U" -c 'select count(*) from contacts')
ok "$([ "$n" -gt 0 ] && [ "$n" -lt 60000 ] && echo 0 || echo 1)" "part landed ($n rows)"
is "$((n % 1000))" "0" "whole batches only"
is "$(psql -At "$U" -c "select count(*) from events where entity = 'contact'")" "$n" "an event for each row, no more"
like "$(cat err)" "$n inserted" "the summary counts only what landed"
like "$(cat err)" "$((60000 - n)) rejected" "and every other row as not written"
is "$(wc -l <out.ndjson | tr -d ' ')" "$n" "records reported = records committed"

mount -o remount,size=200M "$T/small"
crm-import --db "$U" -t contact c.csv >/dev/null 2>err
ok $? "re-run with room succeeds"
like "$(cat err)" "$((60000 - n)) inserted, 0 updated, $n unchanged" "re-run completes the rest"
is "$(psql -At "$U" -c 'select count(*) || $$|$$ || count(distinct external_id) from contacts')" "60000|60000" \
	"complete, no duplicates"
done_testing
