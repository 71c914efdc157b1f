#!/bin/sh
# A fleet: three crm-serve processes over one PostgreSQL database, as
# behind a load balancer. A write through one node is in the event
# streams of the others; a token made or revoked with the CLI holds on
# every node; a webhook is delivered once across the fleet; writes through
# all three nodes, an import and dedupe's merges at the same time lose and
# double nothing;
# and a node killed with -9 mid-write loses no write it acknowledged.
. "$(dirname "$0")/lib.sh"

command -v curl >/dev/null || skip_all "no curl"
pg_start
CRM_DB=$(pg_newdb fleet)
export CRM_DB
crm init 2>/dev/null
"$TOP"/scripts/gen-sample -n 1000 -s 7 sample
crm-import -q sample/* >/dev/null
crm-score train -q -t contact >/dev/null
crm-score --all -q -t contact >/dev/null
adm=$(crm-serve token add root --role admin 2>/dev/null)
ana=$(crm-serve token add ana --user "Ana Ruiz" 2>/dev/null)

node() {	# node N - start node N on a free port; its URL in ./uN, pid in ./pN
	crm-serve --listen 127.0.0.1:0 --rate 0 --hook-backoff 0.2 2>"serve$1.log" &
	echo $! >"p$1"
	for _ in $(seq 100); do grep -q listening "serve$1.log" 2>/dev/null && break; sleep 0.05; done
	sed -n 's/.*listening on //p' "serve$1.log" >"u$1"
}
url() { cat "u$1"; }
pq() { psql -q -X -At "$CRM_DB" -c "$1"; }
status() {	# status N TOKEN PATH - the HTTP status of a GET on node N
	curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $2" "$(url "$1")$3"
}
post() {	# post N TOKEN PATH BODY - status, then the body, on one line
	curl -s -w ' %{http_code}' -X POST -H "Authorization: Bearer $2" \
		-H 'Content-Type: application/json' --data-binary "$4" "$(url "$1")$3"
}
node 1; node 2; node 3
for n in 1 2 3; do
	is "$(curl -s "$(url $n)/v1/health" | jq -r .status)" "ok" "node $n is up"
done

# --- the event stream across nodes ---------------------------------------------------------
for n in 2 3; do
	curl -s -N --max-time 20 -H "Authorization: Bearer $adm" "$(url $n)/v1/events" >"stream$n" &
	echo $! >"s$n"
done
sleep 0.5
out=$(post 1 "$adm" /v1/contacts '{"first_name":"Nodo","last_name":"Uno","email":"nodo@example.org","owner":"Ana Ruiz"}')
like "$out" " 201" "a contact written through node 1"
id=$(printf '%s' "${out% *}" | jq -r .id)
for n in 2 3; do
	for _ in $(seq 50); do grep -q "$id" "stream$n" && break; sleep 0.1; done
	like "$(grep '^data:' "stream$n" | grep "$id")" "\"op\":\"insert\"" "is in node $n's event stream"
	kill "$(cat "s$n")" 2>/dev/null
done
is "$(status 3 "$ana" "/v1/contacts/$id")" "200" "and readable through node 3"

# --- tokens: made and revoked with the CLI, on every node ----------------------------------
tmp=$(crm-serve token add temp --role admin 2>/dev/null)
is "$(status 1 "$tmp" /v1/me)$(status 2 "$tmp" /v1/me)$(status 3 "$tmp" /v1/me)" "200200200" \
	"a new token works on every node at once"
crm-serve token revoke temp 2>/dev/null
sleep 2.5
is "$(status 1 "$tmp" /v1/me)$(status 2 "$tmp" /v1/me)$(status 3 "$tmp" /v1/me)" "401401401" \
	"a revoked one is refused by every node within two seconds"

# --- a webhook is delivered once across the fleet -----------------------------------------
rm -f port hook.log
python3 "$TOP/tests/cli/hook-receiver.py" port hook.log 0 200 0.1 &
rcv=$!
for _ in $(seq 50); do [ -s port ] && break; sleep 0.1; done
pq "update scores set score = 10" >/dev/null
crm-serve hook add "http://127.0.0.1:$(cat port)/hooks/crm" --events score.crossed --threshold 50 >/dev/null 2>&1
pq "update scores set score = 90 where entity_id in (select entity_id from scores order by entity_id limit 20)" >/dev/null
for _ in $(seq 150); do [ "$(cat hook.log 2>/dev/null | wc -l)" -ge 20 ] && break; sleep 0.1; done
sleep 2	# time for a second delivery of any of them, were there one
is "$(jq -r '.headers | to_entries[] | select(.key | test("Delivery"; "i")) | .value' hook.log | sort -u | wc -l | tr -d ' ')" "20" \
	"20 crossings, 20 deliveries"
is "$(wc -l <hook.log | tr -d ' ')" "20" "each once, though three nodes deliver"
is "$(pq "select count(*) from webhook_deliveries where status = 'delivered'")" "20" "all marked delivered"
kill $rcv; wait $rcv 2>/dev/null

# --- writes through three nodes and an import, at the same time -----------------------------
# people with duplicates among them, for dedupe to merge meanwhile
"$TOP"/scripts/gen-people -n 1500 -d 0.3 -s 5 >people.csv
crm-import -q -s people -t contact --output none people.csv
before=$(pq "select count(*) from contacts")
for n in 1 2 3; do
	(
		for i in $(seq 60); do
			post "$n" "$adm" /v1/contacts "{\"first_name\":\"N$n\",\"last_name\":\"W$i\",\"email\":\"n$n.w$i@example.org\",\"owner\":\"Ana Ruiz\"}"
			echo
		done >"w$n.out"
	) &
	echo $! >"w$n"
done
crm-dedupe --all -q >dedupe.ndjson 2>dedupe.err &
dd=$!
"$TOP"/scripts/gen-sample -n 300 -s 99 more
crm-import -q -s batch -t contact more/contacts.csv >imported.ndjson 2>import.err
ok $? "an import beside them"
wait $dd
ok $? "and crm-dedupe --all merging at the same time $(head -c 200 dedupe.err)"
for n in 1 2 3; do wait "$(cat "w$n")"; done
is "$(cat w1.out w2.out w3.out | grep -c ' 201$')" "180" "every write through a node: 201"
imp=$(jq -s 'map(select(.status == "inserted")) | length' imported.ndjson)
is "$(pq "select count(*) from contacts")" "$((before + 180 + imp))" "every row landed once ($imp imported)"
is "$(pq "select count(distinct email) from contacts where email like 'n_.w%@example.org'")" "180" \
	"none of the API's doubled or lost"
is "$(pq "select count(*) from contacts c where email like 'n_.w%@example.org' and \
	(select count(*) from events e where e.entity = 'contact' and e.entity_id = c.id and e.op = 'insert') != 1")" "0" \
	"and each has one insert event"
m=$(pq "select count(*) from merges")
ok "$([ "$m" -gt 0 ] && echo 0 || echo 1)" "dedupe merged records meanwhile ($m)"
is "$(pq "select count(*) from (select merged_id from merges where status = 'merged' group by merged_id having count(*) > 1) x")" "0" \
	"no record merged twice"
is "$(pq "select count(*) from merges m where status = 'merged' and not exists (select 1 from contacts c where c.id = m.merged_id and c.merged_into = m.survivor_id)")" "0" \
	"every logged merge happened"

# --- kill -9 of a node mid-write loses no acknowledged write -------------------------------
(
	i=0
	while [ $i -lt 400 ]; do
		i=$((i + 1))
		r=$(post 3 "$adm" /v1/contacts "{\"first_name\":\"K\",\"last_name\":\"L$i\",\"email\":\"k.$i@example.org\",\"owner\":\"Ana Ruiz\"}")
		case $r in *" 201") printf '%s\n' "${r% *}" | jq -r .id ;; esac
	done >acked
) &
wl=$!
sleep 2
kill -9 "$(cat p3)"
wait $wl 2>/dev/null
n=$(wc -l <acked | tr -d ' ')
ok "$([ "$n" -gt 0 ] && [ "$n" -lt 400 ] && echo 0 || echo 1)" "node 3 killed with -9 after $n acknowledged writes"
missing=0
for c in $(cat acked); do
	[ "$(pq "select count(*) from contacts where id = '$c'")" = 1 ] || missing=$((missing + 1))
done
is "$missing" "0" "every acknowledged write is in the database"
is "$(status 1 "$adm" /v1/me)$(status 2 "$adm" /v1/me)" "200200" "the other nodes go on serving"
is "$(post 2 "$adm" /v1/contacts '{"first_name":"After","last_name":"Kill","owner":"Ana Ruiz"}' | tail -1 | tr -d ' ')" "201" \
	"and writing"

for n in 1 2; do
	kill "$(cat "p$n")"; wait "$(cat "p$n")" 2>/dev/null
	grep -q Sanitizer "serve$n.log"
	ok $((! $?)) "node $n stopped cleanly"
done
done_testing
