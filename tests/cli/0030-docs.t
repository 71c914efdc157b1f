#!/bin/sh
# Documentation and completion agree with the tools (git's habit): every
# option a tool knows is in its man page and --help, and the reverse.
. "$(dirname "$0")/lib.sh"

for tool in crm-import crm-export crm-dedupe crm-score crm-explain crm-audit crm-transcribe crm-notify crm-serve crm-events crm-key crm-forget crm-purge crm-db crm-doctor; do
	man=$TOP/man/$tool.1
	test -f "$man"
	ok $? "$tool has a man page"
	opts=$("$tool" --complete-options | grep '^--' | sed 's/=$//' | sort)
	help=$("$tool" --help)
	missing=
	for o in $opts; do
		grep -q -- "Fl $o\b\|Fl \\\\$o\b\|Fl -${o#--}\b" "$man" || missing="$missing $o"
	done
	is "$missing" "" "$tool: every option is in the man page"
	missing=
	for o in $opts; do
		case $help in *"$o"*) ;; *) missing="$missing $o" ;; esac
	done
	is "$missing" "" "$tool: every option is in --help"
	# The reverse: options the man page documents exist.
	documented=$(sed -n '/^\.Sh OPTIONS/,/^\.Sh /p' "$man" | grep '^\.It Fl' |
		grep -o 'Fl -[a-z0-9-]*' | sed 's/^Fl -/--/' | sort -u)
	extra=
	for o in $documented; do
		echo "$opts" | grep -qx -- "$o" || extra="$extra $o"
	done
	is "$extra" "" "$tool: the man page documents no option the tool lacks"
	for f in crm.bash _crm crm.fish; do
		grep -q "$tool" "$TOP/completions/$f"
		ok $? "$tool in completions/$f"
	done
done

for m in crm.1 crm-import.1 crm-export.1 crm-dedupe.1 crm-score.1 crm-explain.1 crm-audit.1 crm-transcribe.1 crm-notify.1 crm-serve.1 crm-events.1 crm-key.1 crm-forget.1 crm-purge.1 crm-db.1 crm-doctor.1 crm.db.5; do
	for s in NAME SYNOPSIS DESCRIPTION EXAMPLES "SEE ALSO"; do
		[ "$m" = crm.db.5 ] && [ "$s" = SYNOPSIS ] && continue
		grep -q "^\.Sh $s" "$TOP/man/$m"
		ok $? "$m has $s"
	done
done
if command -v mandoc >/dev/null; then
	mandoc -Tlint -W warning "$TOP"/man/*.[157] >lint 2>&1
	is "$(cat lint)" "" "mandoc -Tlint finds nothing"
else
	skip "mandoc -Tlint: mandoc is not installed (scripts/install-deps installs it)"
fi

# bash completion, run for real.
if command -v bash >/dev/null; then
	got=$(bash -c '. "$1"/completions/crm.bash
		COMP_WORDS=(crm-import --ty); COMP_CWORD=1; _crm_import; echo "${COMPREPLY[*]}"
		COMP_WORDS=(crm import -t co); COMP_CWORD=3; _crm; echo "${COMPREPLY[*]}"
		COMP_WORDS=(crm ded); COMP_CWORD=1; _crm; echo "${COMPREPLY[*]}"
		COMP_WORDS=(crm-export --format ""); COMP_CWORD=2; _crm_export; echo "${COMPREPLY[*]}"' _ "$TOP")
	is "$(echo "$got" | sed -n 1p)" "--type" "bash: crm-import --ty<TAB>"
	is "$(echo "$got" | sed -n 2p)" "contact" "bash: crm import -t co<TAB>"
	is "$(echo "$got" | sed -n 3p)" "dedupe" "bash: crm ded<TAB>"
	is "$(echo "$got" | sed -n 4p)" "ndjson csv table" "bash: crm-export --format <TAB>"
fi
# Prose that mdoc would read as a macro (".It In transit" renders as an
# include directive): an item starting with a callable macro's name.
bad=$(grep -n -E '^\.It (In|At|No|An|Ad|Em|Ap|Ux|Bx) [a-z]' "$TOP"/man/*.[157] | head -3)
is "$bad" "" "no list item begins with a word mdoc takes for a macro"
done_testing
