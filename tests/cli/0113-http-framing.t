#!/bin/sh
# crm-serve and HTTP framing: what request smuggling and stalled clients
# are made of is answered at once with 400 (413 for a body over the
# limit) and a closed connection; a balancer's keep-alive pool (many idle
# connections of one address) is kept, and idle connections are shut only
# near the connection limit, never starving real requests; the media type
# is matched exactly.
# backends: sqlite postgresql
. "$(dirname "$0")/lib.sh"

command -v python3 >/dev/null || skip_all "no python3"
crm init 2>/dev/null
tok=$(crm-serve token add ops --role admin 2>/dev/null)
ulimit -n 4096 2>/dev/null
serve() {	# serve [OPTION...] - crm-serve on a free port: $srv, $port
	rm -f serve.log
	crm-serve --listen 127.0.0.1:0 --rate 0 --no-webhooks --timeout 10 "$@" 2>serve.log &
	srv=$!
	for _ in $(seq 100); do grep -q listening serve.log 2>/dev/null && break; sleep 0.05; done
	port=$(sed -n 's/.*listening on http:\/\/127.0.0.1://p' serve.log)
}
serve
probe() { python3 "$TOP/tests/cli/http-probe.py" "$port" "$tok" "$@"; }

fast() {	# fast "STATUS closed SECONDS" - answered in under two seconds?
	set -- $1
	awk -v s="$3" 'BEGIN { exit !(s < 2) }' && echo "$1 $2"
}
is "$(fast "$(probe frame good)")" "201 open" "a well-formed POST: 201, kept alive"
is "$(fast "$(probe frame two-lengths)")" "400 closed" "two different Content-Length headers: 400, closed"
is "$(fast "$(probe frame length-and-chunked)")" "400 closed" "Content-Length with Transfer-Encoding: 400, closed (no smuggled second request)"
is "$(fast "$(probe frame bare-cr)")" "400 closed" "a bare CR in a header: 400, closed"
# A NUL in a header value: libmicrohttpd 0.9.75 (Debian 12) ends the value
# there before crm-serve sees it, so it cannot be refused here; crm-serve(1)
# says what a proxy in front must do.
is "$(fast "$(probe frame no-host)")" "400 closed" "HTTP/1.1 without Host: 400, closed"
is "$(fast "$(probe frame unknown-coding)")" "400 closed" "an unknown transfer coding: 400 at once, not at the timeout"
is "$(fast "$(probe frame huge-length)")" "413 closed" "Content-Length 99,999,999,999: 413 at once, not at the timeout"
is "$(fast "$(probe frame bad-length)")" "400 closed" "a Content-Length that is not a number: 400"
is "$(curl -s -o /dev/null -w '%{http_code}' -X POST -H "Authorization: Bearer $tok" -H 'Content-Type: application/jsonp' -d '{}' "http://127.0.0.1:$port/v1/contacts")" "415" "application/jsonp is not JSON: 415"
is "$(curl -s -o /dev/null -w '%{http_code}' -X POST -H "Authorization: Bearer $tok" -H 'Content-Type: application/json; charset=utf-8' -d '{"first_name":"Ct"}' "http://127.0.0.1:$port/v1/contacts")" "201" "application/json with a charset is"

# A balancer's pool: 1,100 idle connections from this address, then 50
# real requests from it, with the default options.
got=$(probe idle 1100 50)
is "$got" "50 1100" "with 1,100 idle connections of one address open, 50 of 50 requests answered and all 1,100 kept"
is "$(curl -s "http://127.0.0.1:$port/metrics" -H "Authorization: Bearer $tok" | sed -n 's/^crm_http_idle_closed_total //p')" "0" "no idle connection was closed"
kill "$srv"; wait "$srv" 2>/dev/null
grep -q Sanitizer serve.log; ok $((! $?)) "the server stopped cleanly"

# Near the connection limit, the oldest idle connections make room.
serve --max-connections 600
got=$(probe idle 1100 50)
is "${got% *}" "50" "600 connections at most, 1,100 idle opened: 50 of 50 real requests answered"
closed=$(curl -s "http://127.0.0.1:$port/metrics" -H "Authorization: Bearer $tok" | sed -n 's/^crm_http_idle_closed_total //p')
[ "${closed:-0}" -gt 0 ]; ok $? "idle connections were closed to make room ($closed)"
is "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/v1/health")" "200" "and the server is well afterwards"
kill "$srv"; wait "$srv" 2>/dev/null
grep -q Sanitizer serve.log; ok $((! $?)) "the server stopped cleanly"

# Too many requests at once from one client: refused with 503, the
# requests it has under way kept; behind a trusted balancer the client is
# the one X-Forwarded-For names, not the balancer.
serve --max-active-per-ip 2 --trusted-proxy 127.0.0.1
U=http://127.0.0.1:$port
sse() { curl -s -N -H "Authorization: Bearer $tok" -H "X-Forwarded-For: $1" "$U/v1/events" >"sse.$2" & }
sse 10.0.0.9 a; a=$!
sse 10.0.0.9 b; b=$!
for _ in $(seq 50); do
	[ "$(curl -s "$U/metrics" | sed -n 's/^crm_http_client_requests_in_flight //p')" = 2 ] && break; sleep 0.1
done
# busy CODE XFF - ask as the client XFF names until CODE comes (3 s at most)
busy() {
	for _ in $(seq 30); do
		code=$(curl -s -o body -w '%{http_code}' -H "Authorization: Bearer $tok" -H "X-Forwarded-For: $2" "$U/v1/contacts")
		[ "$code" = "$1" ] && break; sleep 0.1
	done
	echo "$code"
}
is "$(busy 503 10.0.0.9) $(jq -r .error body)" "503 busy" "a third request in flight from one client (once its two streams are under way): 503"
is "$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $tok" -H "X-Forwarded-For: 10.0.0.8" "$U/v1/contacts")" \
	"200" "another client behind the same balancer is served"
is "$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $tok" -H "X-Forwarded-For: 10.0.0.8, 10.0.0.9" "$U/v1/contacts")" \
	"503" "the address the balancer saw counts, not one the client wrote before it"
kill -0 $a && kill -0 $b; ok $? "the client's streams under way are kept"
is "$(curl -s "$U/metrics" | sed -n 's/^crm_http_client_busy_total //p' | awk '{ print ($1 >= 2) }')" "1" "the refusals are counted"
kill $a $b; wait $a $b 2>/dev/null
# A stream learns its client left when it writes to it (the second write
# after the close fails): events wake them.
for i in 1 2 3; do
	curl -s -o /dev/null -X POST -H "Authorization: Bearer $tok" -H 'Content-Type: application/json' \
		-H "X-Forwarded-For: 10.0.0.8" -d "{\"email\":\"wake$i@x.example\"}" "$U/v1/contacts"
	sleep 0.3
done
for _ in $(seq 30); do
	code=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $tok" -H "X-Forwarded-For: 10.0.0.9" "$U/v1/contacts")
	[ "$code" = 200 ] && break; sleep 0.1
done
is "$code" "200" "once they end, the client is served again"
kill "$srv"; wait "$srv" 2>/dev/null
# Without --trusted-proxy, X-Forwarded-For names nobody: the peer counts.
serve --max-active-per-ip 1
U=http://127.0.0.1:$port
sse 10.0.0.9 c; c=$!
for _ in $(seq 50); do	# the metrics never count towards the limit
	[ "$(curl -s "$U/metrics" | sed -n 's/^crm_http_client_requests_in_flight //p')" = 1 ] && break; sleep 0.1
done
is "$(busy 503 10.0.0.1)" "503" "an untrusted peer cannot name another client"
kill $c; wait $c 2>/dev/null
kill "$srv"; wait "$srv" 2>/dev/null
grep -q Sanitizer serve.log; ok $((! $?)) "the server stopped cleanly"
done_testing
