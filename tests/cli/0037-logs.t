#!/bin/sh
# Logs for journald and log shippers: one line a message, as text for
# people, as key=value fields (logfmt, the default under systemd) or as
# JSON; levels; no secret in any of them.
. "$(dirname "$0")/lib.sh"
unset CRM_LOG_FORMAT
printf 'first_name,email\nAda,ada@example.com\nBob,"not an ""address"""\n' >c.csv

crm-import -q -t contact c.csv >/dev/null 2>text.err
is "$(cat text.err)" "crm-import: c.csv:3: column 'email': space in email: 'not an \"address\"'" "text: for people, as before"

crm-import -q -t contact --log-format logfmt c.csv >/dev/null 2>fmt.err
like "$(cat fmt.err)" "level=warn prog=crm-import msg=\"c.csv:3: column 'email': space in email: 'not an \\\"address\\\"'\"" \
	"logfmt: level, program and the message quoted, its quotes escaped"
like "$(cat fmt.err)" "time=20" "with the time"
is "$(grep -vc '^time=[0-9T:.Z-]* level=[a-z]* prog=[a-z-]* msg=".*"$' fmt.err)" "0" "every line key=value fields"

crm-import -q -t contact --log-format json c.csv >/dev/null 2>json.err
is "$(jq -r '[.level, .prog, .msg] | join("|")' json.err)" "warn|crm-import|c.csv:3: column 'email': space in email: 'not an \"address\"'" \
	"json: one object a line"

JOURNAL_STREAM=8:1234 crm-import -q -t contact c.csv >/dev/null 2>j.err
like "$(cat j.err)" "level=warn prog=crm-import" "under systemd (JOURNAL_STREAM), logfmt by default"
CRM_LOG_FORMAT=json crm-export --db "$T/nosuch.db" >/dev/null 2>e.err
is "$?:$(jq -r .level e.err)" "66:error" "CRM_LOG_FORMAT for every tool; a tool that stops says error"
crm --log-format json export --db "$T/nosuch.db" >/dev/null 2>d.err
is "$(jq -r .prog d.err)" "crm-export" "the dispatcher passes the format to the tool it runs"
crm-import --log-format xml c.csv 2>x.err
is "$?" "2" "an unknown format is a usage error"

# A server's lines, and no secret in them.
crm-serve token add ops --role admin >tok 2>/dev/null
crm-serve --listen 127.0.0.1:0 --access-log --log-format json 2>serve.log &
srv=$!
trap 'kill $srv 2>/dev/null; rm -rf "$T"' EXIT
for _ in $(seq 100); do grep -q listening serve.log 2>/dev/null && break; sleep 0.05; done
U=$(jq -r 'select(.msg | startswith("listening on ")) | .msg[13:]' serve.log)
like "$U" "http://127.0.0.1:" "crm-serve: 'listening' as an info line of JSON"
curl -s -H "Authorization: Bearer $(cat tok)" "$U/v1/contacts?limit=1" >/dev/null
curl -s -H "Authorization: Bearer crm_wrongwrongwrong" "$U/v1/contacts" >/dev/null
sleep 0.3
kill $srv; wait $srv 2>/dev/null
is "$(jq -r .level serve.log | sort -u | tr '\n' ' ')" "info " "its lines are info"
is "$(jq -r 'select(.msg | test(" contacts [0-9]+ ")) | .msg | split(" ")[2]' serve.log | sort | tr '\n' ' ')" "200 401 " \
	"each request in the access log, with its status"
is "$(grep -c "$(cat tok)" serve.log):$(grep -c crm_wrongwrongwrong serve.log)" "0:0" "no token in the log, right or wrong"
is "$(jq -r .msg serve.log | tail -1)" "stopping" "and its stop"
done_testing
