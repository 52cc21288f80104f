-- wrk script of tests/bench/api.sh: POST /:aid/:cid/services/:type over and over, each a new
-- service (a name of its own: names are unique in a cluster) with its service.create job.
--
--   wrk -t T -c C -H "Authorization: Bearer <session>" -s services.lua URL -- AID CID TYPE SALT
--
-- Creates in one cluster do not wait for each other (each holds a share lock of the cluster
-- row), so any connection sends to the one cluster. done() prints how many answered 202.

local threads = {}
local next_tid = 0

function setup(thread)
	thread:set("tid", next_tid)
	next_tid = next_tid + 1
	table.insert(threads, thread)
end

local path, salt, seq, auth

function init(args)
	path = "/" .. args[1] .. "/" .. args[2] .. "/services/" .. args[3]
	salt = args[4] or "0"
	seq = 0
	auth = wrk.headers["Authorization"]
	created, failed = 0, 0
end

function request()
	seq = seq + 1
	return wrk.format("POST", path, { ["Authorization"] = auth, ["Content-Type"] = "application/json" },
		string.format('{"name":"wrk-%s-%d-%d"}', salt, tid, seq))
end

function response(status, headers, body)
	if status == 202 then
		created = created + 1
	else
		failed = failed + 1
	end
end

function done(summary, latency, requests)
	local c, f = 0, 0
	for _, t in ipairs(threads) do
		c = c + (t:get("created") or 0)
		f = f + (t:get("failed") or 0)
	end
	io.write(string.format("services.lua: created %d, failed %d\n", c, f))
end
