-- The one line scripts/bench reads from every wrk run (loaded by intake.lua and reads.lua):
-- requests, seconds, non-2xx answers, socket errors, p50/p95/p99 (µs).
function done(summary, latency, requests)
    local errors = summary.errors
    io.write(string.format("RESULT %d %.3f %d %d %d %d %d\n",
        summary.requests, summary.duration / 1e6, errors.status,
        errors.connect + errors.read + errors.write + errors.timeout,
        latency:percentile(50), latency:percentile(95), latency:percentile(99)))
end
