#!/bin/sh
# Round trips and the import defects found beside the pipes: export then
# import gives the same records; a file of another type, a --map of a
# missing column and other systems' exports are handled as a user expects.
# backends: sqlite postgresql
. "$(dirname "$0")/lib.sh"

crm init 2>/dev/null
# Formula-guarded CSV cells come back as they were.
printf '%s\n' '{"type":"contact","external_id":"R1","first_name":"@annlee","last_name":"-Lee","title":"=1+2","email":"r1@x.example"}' \
	'{"type":"contact","external_id":"R2","first_name":"'"'"'=quoted","last_name":"+44 20 7946 0958","title":"plain","email":"r2@x.example"}' >in.ndjson
crm-import -q in.ndjson >/dev/null
crm-export -t contact -f csv >out.csv
like "$(cat out.csv)" "\"'@annlee\",\"'-Lee\"" "export guards formula-like cells for spreadsheets"
CRM_DB=b.db crm init 2>/dev/null
CRM_DB=b.db crm-import -q -t contact out.csv >/dev/null 2>&1
a=$(crm-export -t contact | jq -c '[.external_id, .first_name, .last_name, .title]' | sort)
b=$(CRM_DB=b.db crm-export -t contact | jq -c '[.external_id, .first_name, .last_name, .title]' | sort)
is "$b" "$a" "and CSV export then import gives the same records"

# A file of deals given --type contact is refused, naming why.
printf 'opportunity_id,sales_agent,product,account,deal_stage,engage_date,close_date,close_value\n1C1I7A6R,Moses Frase,GTX Plus Basic,Cancity,Won,10/20/2016,3/1/2017,1054\n' >pipeline.csv
crm-import -t contact pipeline.csv >/dev/null 2>err
is "$?" "65" "deals imported as contacts: refused, exit 65"
like "$(cat err)" "its columns are deals'" "saying whose columns they are"
is "$(q "select count(*) from contacts")" "2" "and no empty contact was made"
printf 'note,colour\nx,red\n' >nothing.csv
crm-import -t contact nothing.csv >/dev/null 2>err
like "$(cat err)" "no column identifies a contact" "a file with nothing to identify a record: refused"

# Another system's export: Salesforce's Id is an external id.
printf 'Id,FirstName,LastName,Email,Title,CreatedDate\n0035g00000ABCDEFAA,Ann,Lee,ann@sf.example,CFO,2024-03-01T10:00:00.000+0000\n' >sf.csv
crm-import -t contact --output ndjson sf.csv >sf.out 2>err
is "$(jq -r '[.external_id, .first_name, .last_name, .created_at] | join(" ")' sf.out)" "0035g00000ABCDEFAA Ann Lee 2024-03-01T10:00:00Z" "Salesforce: Id becomes the external id, CamelCase headers map"
crm-import -t contact sf.csv 2>&1 | grep -q "1 unchanged"; ok $? "and a second import finds it"
printf 'Record ID,First Name,Last Name,Email,Create Date,Became a Customer Date\n101,Bo,Ng,bo@hs.example,2024-01-02 10:00,2024-05-01\n' >hs.csv
crm-import --output ndjson hs.csv >hs.out 2>/dev/null
is "$(jq -r '[.external_id, .created_at, .outcome_at] | join(" ")' hs.out)" "101 2024-01-02T10:00:00Z 2024-05-01" "HubSpot: Record ID, Create Date and lifecycle dates map"
crm-import --map 'Nope=email' hs.csv >/dev/null 2>err
is "$?" "2" "--map naming a column the file lacks: a usage error"
like "$(cat err)" "the file has no column 'Nope'" "saying which"

# Latin-1 input: --encoding reads it; without, the reject keeps its bytes.
printf 'first_name,last_name,email\nJos\351,M\374ller,jose@latin.example\n' >l1.csv
crm-import -t contact -r l1-rej.ndjson l1.csv >/dev/null 2>&1
like "$(jq -r .reason l1-rej.ndjson)" "invalid UTF-8" "without --encoding: rejected, saying why"
jq -r .raw_base64 l1-rej.ndjson | base64 -d >row.bin
is "$(od -An -tx1 row.bin | tr -d ' \n')" "$(sed -n 2p l1.csv | tr -d '\n' | od -An -tx1 | tr -d ' \n')" "the rejects file keeps the row's bytes exactly (raw_base64)"
crm-import -t contact --encoding latin1 --output ndjson l1.csv >l1.out 2>/dev/null
is "$(jq -r '.first_name + " " + .last_name' l1.out)" "José Müller" "--encoding latin1 reads it"
printf 'first_name,email\nAnn,ann@u16.example\n' | iconv -f UTF-8 -t UTF-16 >u16.csv
crm-import --encoding UTF-16 --output ndjson u16.csv >u16.out 2>/dev/null
is "$(jq -r .email u16.out)" "ann@u16.example" "--encoding UTF-16 reads UTF-16"

# A record named by its id alone updates it; an unknown id is a reject.
id=$(jq -r .id sf.out)
printf '{"type":"contact","id":"%s","title":"CEO"}\n{"type":"deal","id":"d_0000000000000000","amount":5}\n' "$id" >byid.ndjson
crm-import byid.ndjson >/dev/null 2>err
is "$(q "select title from contacts where id = '$id'")" "CEO" "an id alone names the record to update"
like "$(cat err)" "no deal 'd_0000000000000000'" "an unknown id with nothing else to go by is a reject with its reason"
done_testing
