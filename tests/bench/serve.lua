-- serve.lua - the requests of the serve benchmarks (serve.sh, fleet.sh), for
-- wrk: reps from $REPS, each asking about their own leads; $WRITE_EVERY,
-- $ONLY, $WARM_ALL and $PACE_MS shape the mix (see serve.sh).
dofile(os.getenv("REPS"))
-- Counters are globals of each thread's state, read back in done().
local threads = {}
n, posts, acked, bad = 0, 0, 0, 0
local write_every = tonumber(os.getenv("WRITE_EVERY") or "0")
local path_only = os.getenv("ONLY")
-- $PACE_MS: each connection waits this long between requests, as a user
-- thinks: the load is set by the users, not by how fast answers come.
local pace = tonumber(os.getenv("PACE_MS") or "0")
if pace > 0 then
	function delay()
		return math.random(math.floor(pace / 2), pace + math.floor(pace / 2))
	end
end
function setup(thread)
	thread:set("tid", #threads + 1)
	table.insert(threads, thread)
end
function init(args)
	math.randomseed(os.time() * 7 + (tid or 0))
end
function request()
	n = n + 1
	local rep = reps[(n % #reps) + 1]
	local id = rep.ids[math.random(#rep.ids)]
	local h = { ["Authorization"] = "Bearer " .. rep.token }
	if path_only then
		return wrk.format("GET", path_only, h)
	end
	if os.getenv("WARM_ALL") then	-- every lead once, in turn
		local k = math.floor(n / #reps)
		rep = reps[(n % #reps) + 1]
		id = rep.ids[(k % #rep.ids) + 1]
		return wrk.format("GET", "/v1/contacts/" .. id .. "/next-action", { ["Authorization"] = "Bearer " .. rep.token })
	end
	if write_every > 0 and n % write_every == 0 then
		posts = posts + 1
		h["Content-Type"] = "application/json"
		local body = string.format('{"kind":"web_visit","contact_id":"%s","occurred_at":"2026-11-20T10:00:00Z","external_id":"bench-%s-%d-%d","subject":"/pricing","attrs":{"url":"https://example.com/pricing"}}',
			id, os.getenv("RUN") or "x", tid, posts)
		return wrk.format("POST", "/v1/interactions", h, body)
	end
	local k = n % 3
	if k == 0 then
		return wrk.format("GET", "/v1/contacts/" .. id, h)
	elseif k == 1 then
		return wrk.format("GET", "/v1/leads/top", h)
	end
	return wrk.format("GET", "/v1/contacts/" .. id .. "/next-action", h)
end
function response(status, headers, body)
	if status == 201 then
		acked = acked + 1
	elseif status >= 400 then
		bad = bad + 1
	end
end
function done(summary, latency, requests)
	local a, p, b = 0, 0, 0
	for _, t in ipairs(threads) do
		a = a + (t:get("acked") or 0)
		p = p + (t:get("posts") or 0)
		b = b + (t:get("bad") or 0)
	end
	local e = summary.errors
	io.write(string.format('{"requests":%d,"seconds":%.1f,"rps":%.0f,"p50_ms":%.2f,"p90_ms":%.2f,"p99_ms":%.2f,"max_ms":%.2f,"errors":%d,"http_errors":%d,"posts":%d,"acked":%d}\n',
		summary.requests, summary.duration / 1e6, summary.requests / (summary.duration / 1e6),
		latency:percentile(50) / 1000, latency:percentile(90) / 1000, latency:percentile(99) / 1000,
		latency.max / 1000, e.connect + e.read + e.write + e.timeout, e.status + b, p, a))
end
