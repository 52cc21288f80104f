-- wrk script of tests/bench/api.sh: POST /:aid/clusters, then DELETE /:aid/clusters/:cid of the
-- cluster it created, over and over, with at most one request in flight per account.
--
--   wrk -t T -c C -H "Authorization: Bearer <session>" -s clusters.lua URL -- T AID,AID,...
--
-- Creates in one account serialise on the account's row lock (by design), so each thread owns
-- its share of the accounts (account i goes to thread i mod T) and sends a request only to an
-- account that has none in flight: its pending DELETE if the last create answered, else a
-- POST. That is what each pgbench client does in its own account: create, delete, create, ...
-- wrk does not say which connection a response belongs to, so every request carries an
-- X-Request-Id naming its account (runosd echoes it), and response() uses it to put the
-- account back. wrk calls request() once more than it sends in its first thread, to check the
-- script (script_verify_request): that account never comes back, so api.sh gives every thread
-- one account more than its connections. Then an idle account is always there; otherwise (or
-- after a lost response) a POST goes to a busy account, where it waits for the account's lock,
-- and is counted as "shared", which makes the run invalid. done() prints the counts.

local threads = {}
local next_tid = 0

function setup(thread)
	thread:set("tid", next_tid)
	next_tid = next_tid + 1
	table.insert(threads, thread)
end

local mine, state, queue, head, tail
local auth, seq
local body = '{"name":"bench"}'

local function push(aid)
	tail = tail + 1
	queue[tail] = aid
end

local function pop()
	if head > tail then
		return nil
	end
	local aid = queue[head]
	queue[head] = nil
	head = head + 1
	return aid
end

function init(args)
	local nthreads = tonumber(args[1])
	mine, state, queue, head, tail = {}, {}, {}, 1, 0
	local i = 0
	for aid in string.gmatch(args[2] or "", "[^,]+") do
		if i % nthreads == tid then
			table.insert(mine, aid)
			state[aid] = { cid = nil }
			push(aid)
		end
		i = i + 1
	end
	auth = wrk.headers["Authorization"]
	seq = 0
	creates, deletes, failed, shared, unmatched = 0, 0, 0, 0, 0
end

-- 32 characters, like runosd's own trace ids (they end up in audit_events.trace_id).
local function request_id(aid, kind)
	seq = seq + 1
	return string.format("bench-%s-%s-%018d", aid, kind, seq)
end

function request()
	local aid = pop()
	if aid == nil then
		shared = shared + 1
		aid = mine[(shared % #mine) + 1]
		return wrk.format("POST", "/" .. aid .. "/clusters", {
			["Authorization"] = auth,
			["Content-Type"] = "application/json",
			["X-Request-Id"] = string.format("bench-shared-%019d", shared),
		}, body)
	end
	local cid = state[aid].cid
	if cid then
		return wrk.format("DELETE", "/" .. aid .. "/clusters/" .. cid, {
			["Authorization"] = auth,
			["X-Request-Id"] = request_id(aid, "d"),
		})
	end
	return wrk.format("POST", "/" .. aid .. "/clusters", {
		["Authorization"] = auth,
		["Content-Type"] = "application/json",
		["X-Request-Id"] = request_id(aid, "c"),
	}, body)
end

function response(status, headers, resp_body)
	local id = headers["X-Request-Id"] or headers["x-request-id"] or ""
	if string.sub(id, 1, 13) == "bench-shared-" then
		return
	end
	local aid, kind = string.match(id, "^bench%-(%w+)%-(%a)%-")
	local st = aid and state[aid]
	if not st then
		unmatched = unmatched + 1
		return
	end
	if kind == "c" then
		local cid = status == 201 and string.match(resp_body, '"cid"%s*:%s*"(%w+)"')
		if cid then
			creates = creates + 1
			st.cid = cid
		else
			failed = failed + 1
		end
	else
		if status == 204 then
			deletes = deletes + 1
		else
			failed = failed + 1
		end
		-- On a failure the cluster stays; the next create takes another index.
		st.cid = nil
	end
	push(aid)
end

function done(summary, latency, requests)
	local c, d, f, s, u = 0, 0, 0, 0, 0
	for _, t in ipairs(threads) do
		c = c + (t:get("creates") or 0)
		d = d + (t:get("deletes") or 0)
		f = f + (t:get("failed") or 0)
		s = s + (t:get("shared") or 0)
		u = u + (t:get("unmatched") or 0)
	end
	io.write(string.format("clusters.lua: creates %d, deletes %d, failed %d, shared %d, unmatched %d\n",
		c, d, f, s, u))
end
