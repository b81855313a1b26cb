-- wrk script for scripts/bench reads: each request reads the next path of HOTLINE_BENCH_PATHS
-- (a file, one path per line, cycled; each thread starts at its own place), with the bearer
-- token HOTLINE_BENCH_TOKEN if one is given ("-" for the public reads). Every request comes
-- from an address of its own (X-Forwarded-For, trusted by the service under test), as the
-- public's lookups do.
local token = os.getenv("HOTLINE_BENCH_TOKEN")
local paths = {}
for line in io.lines(os.getenv("HOTLINE_BENCH_PATHS")) do
    if line ~= "" then paths[#paths + 1] = line end
end
local threads = 0
local counter

function setup(thread)
    threads = threads + 1
    thread:set("id", threads)
end

function init(args)
    counter = id * 7919
end

function request()
    counter = counter + 1
    local headers = {
        ["X-Forwarded-For"] = string.format("10.%d.%d.%d", counter % 250, math.floor(counter / 250) % 250, 1 + id),
    }
    if token ~= nil and token ~= "-" then headers["Authorization"] = "Bearer " .. token end
    return wrk.format("GET", paths[1 + counter % #paths], headers)
end

dofile("scripts/lib/bench/result.lua")
