#!/bin/sh
# sql2c.sh OUT.c [-n NAME] FILE.sql... - embed numbered migrations as C
# strings: the array NAME (default crm_migrations) and its length, named
# with "nmigrations" for "migrations" (crm_nmigrations, crm_pg_nmigrations).
# The file names sort in migration order: 0001-name.sql, 0002-name.sql...
set -eu
out=$1; shift
name=crm_migrations
if [ "${1:-}" = -n ]; then name=$2; shift 2; fi
count=$(echo "$name" | sed 's/migrations$/nmigrations/')
{
	echo '/* Generated from lib/sql/NNNN-name.sql by scripts/sql2c.sh; do not edit. */'
	echo '#include <stddef.h>'; echo "extern const char *const $name[]; extern const size_t $count;"
	echo "const char *const $name[] = {"
	for f in "$@"; do
		printf '\t/* %s */\n' "$(basename "$f")"
		sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/^/\t"/' -e 's/$/\\n"/' "$f"
		printf '\t,\n'
	done
	echo '};'
	echo "const size_t $count = sizeof($name) / sizeof($name[0]);"
} >"$out.tmp"
mv "$out.tmp" "$out"
