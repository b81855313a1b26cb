-- wrk script for scripts/bench intake: every request files a case with a fresh Idempotency-Key,
-- as an operator's client does. The token comes from HOTLINE_BENCH_TOKEN.
local token = os.getenv("HOTLINE_BENCH_TOKEN")
-- The case filed, the same one scripts/bench captures and pgbench's floor inserts.
local file = assert(io.open("scripts/lib/bench/intake-case.json", "r"))
local body = file:read("*a"):gsub("%s+$", "")
file:close()
local counter = 0
local prefix

local threads = 0

function setup(thread)
    threads = threads + 1
    thread:set("id", threads)
end

function init(args)
    -- Unique across threads and runs: a rerun against the same database makes new cases.
    prefix = string.format("bench-%d-%d-%d", os.time(), id, math.random(1, 1e9))
end

function request()
    counter = counter + 1
    return wrk.format("POST", "/api/v1/cases", {
        ["Authorization"] = "Bearer " .. token,
        ["Content-Type"] = "application/json",
        ["Idempotency-Key"] = prefix .. "-" .. counter,
    }, body)
end

dofile("scripts/lib/bench/result.lua")
