#!/bin/sh
# sql2c.sh OUT.c FILE.sql... - embed numbered migrations as C strings.
# The file names sort in migration order: 0001-name.sql, 0002-name.sql...
set -eu
out=$1; shift
{
	echo '/* Generated from lib/sql/NNNN-name.sql by scripts/sql2c.sh; do not edit. */'
	echo '#include <stddef.h>'; echo 'extern const char *const crm_migrations[]; extern const size_t crm_nmigrations;'
	echo 'const char *const crm_migrations[] = {'
	for f in "$@"; do
		printf '\t/* %s */\n' "$(basename "$f")"
		sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/^/\t"/' -e 's/$/\\n"/' "$f"
		printf '\t,\n'
	done
	echo '};'
	echo 'const size_t crm_nmigrations = sizeof(crm_migrations) / sizeof(crm_migrations[0]);'
} >"$out.tmp"
mv "$out.tmp" "$out"
