#!/bin/sh
# scripts/lint-src: the layers of lib/README hold, no include loop, no
# backend branch above lib/store, no command past 300 lines, no kept
# statement keyed by a buffer's address, no test that cannot fail; and each
# check fails when its rule is broken (on a copy of the tree).
. "$(dirname "$0")/lib.sh"

O=$CRM_BUILD "$TOP"/scripts/lint-src >out 2>&1
is "$?:$(cat out)" "0:" "the tree passes, its build's objects too"

# broken DESC PATTERN SAYS: lint-src fails on the changed copy, its
# output holding PATTERN.
broken() {
	tree/scripts/lint-src >out 2>&1
	is "$?" "1" "$1"
	like "$(cat out)" "$2" "$3"
}

copy() {	# copy: a fresh copy of what lint-src reads, in ./tree
	rm -rf tree
	mkdir -p tree/scripts tree/tests
	cp -r "$TOP"/lib "$TOP"/cmd tree/
	cp -r "$TOP"/tests/cli tree/tests/
	cp "$TOP"/scripts/lint-src tree/scripts/
}

copy
sed -i '0,/#include "/s|#include "|#include "api.h"\n#include "|' tree/lib/row.c
broken "an include against the layer order fails" "lib/row.c: row (layer 3) includes api.h (layer 6), above it" "naming the file and the layers"

copy
sed -i '0,/#include "/s|#include "|#include "linkage.h"\n#include "|' tree/lib/dedupe.h
sed -i '0,/#include "/s|#include "|#include "dedupe.h"\n#include "|' tree/lib/linkage.h
broken "two modules of one layer that include each other fail" "include loop" "as a loop"

copy
printf 'int f(struct crm_store *db);\nint f(struct crm_store *db) { return crm_store_kind(db) == CRM_STORE_SQLITE; }\n' >>tree/lib/nba.c
broken "one more backend branch above lib/store fails" "lib/nba.c" "and is shown"

copy
printf 'ok 0 "always"\n' >>tree/tests/cli/0010-import.t
broken "a test that checks a constant fails" '0010-import.t' "naming it"

copy
sed -i '0,/#include "/s|#include "|#include <sqlite3.h>\n#include "|' tree/lib/export.c
broken "SQLite included above lib/store fails" "lib/export.c" "naming the file"

copy
mkdir -p tree/build/lib
printf 'int fb(void);\nint fa(void);\nint fa(void) { return fb(); }\n' >a.c
printf 'int fa(void);\nint fb(void);\nint fb(void) { return fa() + 1; }\n' >b.c
cc -c -o tree/build/lib/util.o a.c && cc -c -o tree/build/lib/row.o b.c
O=$T/tree/build tree/scripts/lint-src >out 2>&1
is "$?" "1" "two modules whose objects call each other fail"
like "$(cat out)" "call loop between modules" "as a call loop"

copy
sed -i 's/{ "webhook-file", O_WEBHOOKFILE, "FILE"/{ "webhook", O_WEBHOOKFILE, "URL"/' tree/cmd/crm-notify.c
broken "an option that takes a secret fails" "crm-notify.c" "naming the tool"

copy
for i in $(seq 310); do echo "/* $i */"; done >>tree/cmd/crm-purge.c
broken "a command past 300 lines fails" "cmd/crm-purge.c: $(($(wc -l <"$TOP"/cmd/crm-purge.c) + 310)) lines" "naming it and its length"

copy
sed -i 's/crm_store_stmt_text(s, q.data, e)) ||/crm_store_stmt(s, q.data, e)) ||/' tree/lib/store/dialect.c
broken "a kept statement of SQL built in a buffer fails" "dialect.c" "naming the file"

copy
touch tree/lib/newmod.c
printf '#include "util.h"\n' >tree/lib/newmod.c
tree/scripts/lint-src >out 2>&1
like "$(cat out)" "'newmod' or 'util' is in no layer" "a module in no layer fails"
done_testing
