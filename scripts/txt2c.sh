#!/bin/sh
# txt2c.sh OUT.c SYMBOL FILE - embed a text file as a C string.
set -eu
out=$1 sym=$2 in=$3
{
	printf '/* Generated from %s by scripts/txt2c.sh; do not edit. */\n' "$in"
	printf 'extern const char %s[];\nconst char %s[] =\n' "$sym" "$sym"
	sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/^/\t"/' -e 's/$/\\n"/' "$in"
	printf '\t;\n'
} >"$out.tmp"
mv "$out.tmp" "$out"
