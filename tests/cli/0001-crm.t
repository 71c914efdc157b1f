#!/bin/sh
# crm: the dispatcher, init, help, version.
# backends: sqlite postgresql
. "$(dirname "$0")/lib.sh"

out=$(crm version)
like "$out" "crm 0." "crm version prints the version"
out=$(crm-import --version)
like "$out" "crm-import 0." "tools print their version"

crm init 2>err
ok $? "crm init creates a database"
is "$(q "PRAGMA user_version")" "$(ls "$TOP"/lib/sql/*.sql | wc -l | tr -d " ")" "schema at the latest version"
is "$(q 'PRAGMA journal_mode')" "wal" "in WAL mode"
like "$(cat err)" "schema version 0 -> " "init says what it did"
crm init 2>err
like "$(cat err)" "schema is current" "second init is a no-op"

crm --db other.db init 2>/dev/null
ok $? "--db before the command"
test -f other.db
ok $? "other.db created"

out=$(crm help)
like "$out" "import" "crm help lists commands"
out=$(crm help import)
like "$out" "usage: crm-import" "crm help import shows crm-import's help"

crm nosuch >/dev/null 2>err
is "$?" "2" "unknown command: exit 2"
like "$(cat err)" "'nosuch' is not a crm command" "and says so"

printf 'email\nann@example.com\n' | crm import -t contact -q >out
ok $? "crm import runs crm-import"
like "$(cat out)" '"email":"ann@example.com"' "its output"

crm-import --bogus 2>err
is "$?" "2" "unknown option: exit 2"
like "$(cat err)" "Try 'crm-import --help'" "points to --help"

crm-export --db missing.db 2>err
is "$?" "66" "missing database: exit 66"
like "$(cat err)" "missing.db" "names the file"

done_testing
