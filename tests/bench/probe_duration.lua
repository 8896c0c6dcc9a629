-- wrk script for the timing-truth benchmark: keeps probe_duration_seconds of every /probe answer
-- whose probe succeeded, counts the others, and writes the durations (one a line, then
-- "# failed N") to the file named by $BENCH_DURATIONS when the run ends.
local threads = {}

function setup(thread)
    table.insert(threads, thread)
end

function init(args)
    durations = {}
    count = 0
    failed = 0
end

function response(status, headers, body)
    local value = body:match("\nprobe_duration_seconds ([%d%.eE%+%-]+)")
    if status == 200 and value and body:find("\nprobe_success 1", 1, true) then
        count = count + 1
        durations[count] = value
    else
        failed = failed + 1
    end
end

function done(summary, latency, requests)
    local out = assert(io.open(os.getenv("BENCH_DURATIONS"), "w"))
    local bad = 0
    for _, thread in ipairs(threads) do
        for _, value in ipairs(thread:get("durations")) do
            out:write(value, "\n")
        end
        bad = bad + thread:get("failed")
    end
    out:write("# failed ", bad, "\n")
    out:close()
end
