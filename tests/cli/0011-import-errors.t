#!/bin/sh
# crm-import: bad input is reported with file, line and reason, and every
# row is accounted for: in the database or in the rejects file.
# backends: sqlite postgresql
. "$(dirname "$0")/lib.sh"
F=$TOP/tests/fixtures

crm-import -t contact -r rej.ndjson "$F"/bad-contacts.csv >out 2>err
is "$?" "65" "rejected rows: exit 65"
like "$(cat err)" "7 rows: 2 inserted, 0 updated, 0 unchanged, 5 rejected" "summary counts"
is "$(q "select group_concat(external_id) from contacts")" "B1,B7" "the good rows landed"
is "$(wc -l <rej.ndjson | tr -d ' ')" "5" "five rejects written"
r() { jq -r "select(.line == $1) | .reason" rej.ndjson; }
like "$(r 3)" "malformed quoting" "line 3: bad quoting"
like "$(r 4)" "expected 5 fields, found 3" "line 4: short row"
like "$(r 5)" "column 'created_at': day out of range: '2024-02-30'" "line 5: impossible date"
like "$(r 6)" "column 'email': email has no '@': 'not-an-email'" "line 6: bad email"
like "$(r 7)" "column 'consent': unknown consent 'perhaps'" "line 7: bad enum"
is "$(jq -r 'select(.line == 3) | .raw' rej.ndjson)" 'B2,Bad Quote,"bad"quote@example.com,2024-01-01,yes' "raw text kept"
is "$(jq -r '.file' rej.ndjson | sort -u)" "$F/bad-contacts.csv" "file named"

crm-import -t contact "$F"/bad-utf8.csv >/dev/null 2>err
is "$?" "65" "invalid UTF-8: exit 65"
like "$(cat err)" "bad-utf8.csv:2: column 'name': invalid UTF-8 at byte 7" "reported on stderr without --rejects"
is "$(q "select count(*) from contacts where email='good3@example.com'")" "1" "the next row landed"

crm-import -t deal "$F"/bad-deals.csv >/dev/null 2>err
like "$(cat err)" "bad-deals.csv:2: column 'amount': not a number: 'abc'" "bad number"
like "$(cat err)" "bad-deals.csv:3: column 'account': unknown account 'No Such Account'" "unknown reference"
like "$(cat err)" "3 rows: 0 inserted" "X3 refers to an account that is not there either"

printf '{"type":"contact","email":"j1@example.com"}\n{"type":"contact",\n[1,2]\n{"type":"contact","email":["x"]}\n{"email":"nokind@example.com"}\n{"type":"contact","email":"j2@example.com"}\n' >in.ndjson
crm-import -r rej2.ndjson in.ndjson >/dev/null 2>err
is "$?" "65" "NDJSON with bad lines: exit 65"
like "$(cat err)" "6 rows: 2 inserted, 0 updated, 0 unchanged, 4 rejected" "every line accounted for"
like "$(jq -r 'select(.line==2).reason' rej2.ndjson)" "expected near end of file" "broken JSON at line 2, its reason without the file and line twice"
like "$(jq -r 'select(.line==3).reason' rej2.ndjson)" "not a JSON object" "array at line 3"
like "$(jq -r 'select(.line==4).reason' rej2.ndjson)" '"email": expected a string or number' "array for a field at line 4"
like "$(jq -r 'select(.line==5).reason' rej2.ndjson)" 'no "type"' "no type at line 5"

# A line over the cap is rejected, not loaded into memory.
awk 'BEGIN { printf "{\"type\":\"contact\",\"email\":\"big@example.com\",\"note\":\""; for (i = 0; i < 300000; i++) printf "xxxxxxxxxx"; print "\"}"; print "{\"type\":\"contact\",\"email\":\"after@example.com\"}" }' >big.ndjson
crm-import --max-line 1M big.ndjson >/dev/null 2>err
like "$(cat err)" "big.ndjson:1: line longer than 1048576 bytes" "line over --max-line rejected"
is "$(q "select count(*) from contacts where email in ('big@example.com','after@example.com')")" "1" "the next line still imported"
crm-import big.ndjson >/dev/null 2>err
is "$(q "select length(json_extract(attrs,'$.note')) from contacts where email='big@example.com'")" "3000000" "a 3 MB record imports under the default cap"

# The memory of a record is capped, not only its line: 21 MB of nested
# empty arrays is refused before a tree is built (it took 3.5 GB).
awk 'BEGIN { printf "{\"type\":\"contact\",\"email\":\"nest@example.com\",\"attrs\":{\"a\":["; for (i = 0; i < 7000000; i++) printf (i ? ",[]" : "[]"); print "]}}"; print "{\"type\":\"contact\",\"email\":\"nest-after@example.com\"}" }' >nest.ndjson
/usr/bin/time -f %M -o mem crm-import nest.ndjson >/dev/null 2>err
like "$(cat err)" "nest.ndjson:1: record too big: 7000009 values" "a record of 7 million values is refused, with its reason"
is "$(q "select count(*) from contacts where email like 'nest%'")" "1" "the next record lands"
kb=$(tail -1 mem); is "$((kb < 200000))" "1" "in bounded memory ($kb KB)"
printf '%s\n' '[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]' >deep.ndjson
crm-import deep.ndjson >/dev/null 2>err
like "$(cat err)" "nested deeper than 64 levels" "nesting is capped"
# A key given twice is a reject, not the last one silently.
printf '%s\n' '{"type":"contact","type":"deal","name":"Twice","email":"twice@example.com"}' >dup.ndjson
crm-import dup.ndjson >/dev/null 2>err
is "$?" "65" "a key given twice: exit 65"
like "$(cat err)" "duplicate object key" "with its reason"
is "$(q "select count(*) from deals where name = 'Twice'") $(q "select count(*) from contacts where email = 'twice@example.com'")" "0 0" "and nothing landed"

# Nothing changed silently: a NUL in a CSV field, an unclosed quote (only
# its record is lost, the 15 rows after it land), UTF-16 input, a number
# too small to hold.
{ printf 'first_name,last_name,email\n'
  printf 'Nul,Byte,r7@x.example.com\000.attacker.com\n'
  printf 'Open,"Quote,open@example.com\n'
  for i in $(seq 15); do printf 'After%d,Row,after%d@example.com\n' "$i" "$i"; done; } >silent.csv
crm-import -t contact -r silent-rej.ndjson silent.csv >/dev/null 2>err
is "$?" "65" "NUL and unclosed quote: exit 65"
is "$(jq -r '"\(.line) \(.reason)"' silent-rej.ndjson | tr '\n' '|')" "2 field 3 holds a NUL byte|3 unterminated quoted field (the lines after it are read again)|" "each is one reject, with its reason"
is "$(q "select count(*) from contacts where email like 'r7@%'")" "0" "the NUL-cut address is not stored"
is "$(q "select count(*) from contacts where first_name like 'After%'")" "15" "the 15 rows after the unclosed quote land"
printf 'first_name,email\nAnn,ann@u16.example\n' | iconv -f UTF-8 -t UTF-16 >u16.csv
crm-import u16.csv >/dev/null 2>err
is "$?" "65" "UTF-16 input: exit 65"
like "$(cat err)" "u16.csv: UTF-16 text; crm reads UTF-8" "named as what it is"
printf '%s\n' '{"type":"deal","name":"Tiny","amount":1e-400}' >tiny.ndjson
crm-import tiny.ndjson >/dev/null 2>err
like "$(cat err)" "tiny.ndjson:1: a number too small to hold" "1e-400 is a reject, not 0"
is "$(q "select count(*) from deals where name = 'Tiny'")" "0" "and nothing landed"

# Rows written 64 to a statement: a constraint failure inside such a group
# rejects that row only, and a key repeated in one group updates.
if on_pg; then
	dbsql "CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS \$\$ BEGIN
		IF new.email = 'no@policy.example' THEN RAISE EXCEPTION 'refused by policy' USING ERRCODE = 'check_violation'; END IF;
		RETURN new; END \$\$;
		CREATE TRIGGER refuse BEFORE INSERT ON contacts FOR EACH ROW EXECUTE FUNCTION refuse()"
else
	dbsql "CREATE TRIGGER refuse BEFORE INSERT ON contacts WHEN new.email = 'no@policy.example' BEGIN SELECT RAISE(ABORT, 'refused by policy'); END"
fi
{ echo external_id,email,title
  for i in $(seq 1 40); do echo "G$i,g$i@example.com,t$i"; done
  echo "G99,no@policy.example,x"
  echo "G5,g5@example.com,changed"
  for i in $(seq 41 60); do echo "G$i,g$i@example.com,t$i"; done; } >group.csv
crm-import -t contact group.csv >out 2>err
is "$?" "65" "a refused row: exit 65"
like "$(cat err)" "62 rows: 60 inserted, 1 updated, 0 unchanged, 1 rejected" "the others landed, the repeat updated"
like "$(cat err)" "group.csv:42: refused by policy" "the refused row named with its reason"
is "$(q "select count(*) from contacts where external_id like 'G%'")" "60" "60 rows in"
is "$(q "select title from contacts where external_id='G5'")" "changed" "the later row of a repeated key wins"
is "$(grep -c '"status":"updated"' out)" "1" "and is reported as updated"
if on_pg; then dbsql "DROP TRIGGER refuse ON contacts"; else dbsql "DROP TRIGGER refuse"; fi

# Usage errors.
crm-import -t nosuch x.csv 2>err; is "$?" "2" "unknown type: exit 2"
crm-import nosuchfile.csv 2>err; is "$?" "66" "missing input: exit 66"
like "$(cat err)" "nosuchfile.csv: No such file or directory" "names the file"
printf 'a,b\n1,2\n' | crm-import 2>err; is "$?" "2" "cannot tell the type: exit 2"
like "$(cat err)" "use --type" "says how to fix it"
printf 'name\nx\n' | crm-import -t account -f xml 2>err; is "$?" "2" "unknown format: exit 2"

# Output to a full disk: exit 74, rows committed before stay consistent.
if [ -w /dev/full ]; then
	crm-import -t contact "$F"/contacts.csv >/dev/full 2>err
	is "$?" "74" "write error on stdout: exit 74"
else
	skip "a write error on stdout: /dev/full is not writable here"
fi
# A closed pipe stops the output quietly, not the import.
crm-import -t account -r /dev/null "$F"/accounts.csv 2>err | head -c 10 >/dev/null
is "$(q "select count(*) from accounts")" "3" "import finished although the reader left"

# Read-only database file (as root, run by nobody: root writes anyway).
if on_pg; then
	skip "a read-only database file: SQLite's"
else
	cp "$CRM_DB" ro.db; chmod 444 ro.db
	as=""
	if [ "$(id -u)" = 0 ]; then
		cp "$(command -v crm-import)" ro-import
		chmod 755 "$T" ro-import
		as="setpriv --reuid=65534 --regid=65534 --clear-groups ./ro-import"
	fi
	printf 'email\nro@example.com\n' | ${as:-crm-import} --db ro.db -t contact >/dev/null 2>err
	is "$?" "74" "a read-only database is refused: exit 74"
	like "$(cat err)" "ro.db: attempt to write a readonly database" "naming the file and why"
	is "$(sqlite3 ro.db "select count(*) from contacts where email = 'ro@example.com'")" "0" "and nothing is written"
fi
done_testing
