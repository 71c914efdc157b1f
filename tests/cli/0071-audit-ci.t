#!/bin/sh
# crm-audit --format junit and github: one test case per check or group,
# failures carrying their figures, valid JUnit XML (Ant's schema, and as a
# JUnit reader reads it), workflow annotations; exit codes unchanged.
. "$(dirname "$0")/lib.sh"
export USER=tester
XSD=$TOP/tests/fixtures/junit-ant.xsd

# The planted proxy bias of 0070: referrals convert more, mostly men.
"$TOP"/scripts/gen-sample -n 3000 -s 5 biased
crm-import -q biased/* >/dev/null
crm-score weight attrs.Gender --exclude --why "protected attribute" -t contact -q >/dev/null
crm-score train -t contact -q >/dev/null
crm-score -t contact --all -q >/dev/null

crm-audit bias --by gender --no-store >bias.ndjson 2>/dev/null
want_rc=$?
crm-audit bias --by gender --no-store -f junit >bias.xml 2>/dev/null
is "$?" "$want_rc" "junit: the exit status of the NDJSON run ($want_rc)"
xmllint --noout --schema "$XSD" bias.xml 2>err
is "$?" "0" "valid against Ant's JUnit schema $(head -c 300 err)"
groups=$(jq -s '[.[] | select(.type == "group")] | length' bias.ndjson)
bad=$(jq -s '[.[] | select(.type == "group" and .verdict == "violation")] | length' bias.ndjson)
small=$(jq -s '[.[] | select(.type == "group" and .verdict == "small")] | length' bias.ndjson)
# An independent reader: junitparser (Debian's python3-junitparser).
read_junit() {
	/usr/bin/python3 - "$1" <<'PY'
import sys
from junitparser import JUnitXml, Failure, Skipped
suite = JUnitXml.fromfile(sys.argv[1])
cases = list(suite)
fail = [c for c in cases if any(isinstance(r, Failure) for r in c.result)]
skip = [c for c in cases if any(isinstance(r, Skipped) for r in c.result)]
print(len(cases), len(fail), len(skip), suite.tests, suite.failures)
for c in fail:
    print("FAIL", c.classname, c.name, c.result[0].message)
PY
}
read_junit bias.xml >read.txt 2>err
is "$(head -1 read.txt)" "$groups $bad $small $groups $bad" \
	"a JUnit reader finds $groups cases, $bad failed, $small skipped, and the suite's counts agree"
f=$(jq -c 'select(.type == "group" and .group == "F")' bias.ndjson)
di=$(echo "$f" | jq -r '.disparate_impact | tostring | .[0:5]')
like "$(grep 'FAIL crm-audit.bias.gender F' read.txt)" "selection rate ratio to the reference $di" \
	"the women's failure carries the impact ratio ($di) and its interval"
like "$(grep 'FAIL crm-audit.bias.gender F' read.txt)" "$(echo "$f" | jq -r '.disparate_impact_ci[1] | tostring | .[0:5]')" "its upper bound too"
is "$(grep -c '<property name="verdict" value="fail"/>' bias.xml)" "1" "the run's verdict as a property"

# The schema check can fail: a report without its system-out is refused.
sed '/<system-out>/d' bias.xml >broken.xml
xmllint --noout --schema "$XSD" broken.xml 2>/dev/null
is "$?" "3" "and a report that breaks the schema is refused (xmllint exit 3)"

# GitHub workflow commands: an error per failed group, a notice.
crm-audit bias --by gender --no-store -f github >gh.txt 2>/dev/null
is "$?" "$want_rc" "github: the same exit status"
is "$(grep -c '^::error title=crm-audit.bias.gender F::' gh.txt)" "1" "an error annotation for the women's group"
is "$(grep -c '^::error ' gh.txt)" "$bad" "one per failed group ($bad)"
like "$(tail -1 gh.txt)" "::notice title=crm-audit bias::$groups checked, $bad failed, $small skipped: fail" "a notice with the verdict"

# Quality: every check a test case; a passing run exits 0 and says so.
crm-audit quality --no-store >q.ndjson 2>/dev/null
qrc=$?
crm-audit quality --no-store -f junit >q.xml 2>/dev/null
is "$?" "$qrc" "quality junit: the NDJSON run's exit status ($qrc)"
xmllint --noout --schema "$XSD" q.xml 2>/dev/null
is "$?" "0" "valid"
is "$(read_junit q.xml | head -1 | cut -d' ' -f1)" "$(jq -s '[.[] | select(.type == "check")] | length' q.ndjson)" \
	"a test case per check"
# A threshold this data breaks: the failure names the numbers.
dup=$(jq -r 'select(.check == "duplicates.contacts") | "\(.count) of \(.total)"' q.ndjson)
crm-audit quality --no-store --max duplicates.contacts=0 -f junit >q2.xml 2>/dev/null
is "$?" "1" "a failing check: exit 1"
like "$(grep -A1 'name="duplicates.contacts"' q2.xml)" "($dup), at most 0\"" "its failure says the count ($dup) and the threshold it broke"

# A character XML cannot hold in an attribute, and one it must escape.
printf 'first_name,last_name,email,Gender\nA,B,ab@x.example,"F&<\\"x"\n' | crm-import -q -t contact >/dev/null
crm-audit bias --by gender --no-store --min-group 1 -f junit >esc.xml 2>/dev/null
xmllint --noout --schema "$XSD" esc.xml 2>/dev/null
is "$?" "0" "group names with & < \" are escaped"

crm-audit history -f junit 2>err
is "$?" "2" "history has no JUnit form: a usage error"
like "$(cat err)" "--format junit: for bias, quality, privacy and trail" "saying so"
done_testing
