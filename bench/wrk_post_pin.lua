-- wrk script of the pin_creation_http bench row (bench/rows.py).
--
--   wrk -t2 -c32 -d20s -s bench/wrk_post_pin.lua http://127.0.0.1:PORT -- pins POINTS CATEGORY KEYS [PATH]
--       POSTs pins to /api/ideas/ (or PATH), each at the next of the points in the file POINTS
--       (one "lon lat" a line, inside the city), of category CATEGORY (a slug), each with a
--       new Idempotency-Key: KEYS (new for every run), the thread's number and its count
--   wrk -t2 -c32 -d20s -s bench/wrk_post_pin.lua http://127.0.0.1:PORT -- get /healthz
--       GETs the path (the floor: a trivial JSON view on the same server)
--
-- When done it prints one line of JSON: requests, seconds, non-2xx/3xx answers, socket
-- errors and latency percentiles in milliseconds.

local threads = {}

function setup(thread)
    thread:set("id", #threads)
    table.insert(threads, thread)
end

local mode, path, points, category, keys, next_point
local post_path = "/api/ideas/"

function init(args)
    mode = args[1]
    if mode == "get" then
        path = args[2]
        return
    end
    category = args[3]
    keys = args[4]
    post_path = args[5] or post_path
    points = {}
    for line in io.lines(args[2]) do
        local lon, lat = line:match("^(%S+)%s+(%S+)$")
        if lon then
            table.insert(points, { lon, lat })
        end
    end
    -- Each thread starts at another place in the list.
    next_point = (id * 7919) % #points
    wrk.headers["Content-Type"] = "application/json"
end

local sent = 0

function request()
    if mode == "get" then
        return wrk.format("GET", path)
    end
    next_point = next_point % #points + 1
    sent = sent + 1
    local p = points[next_point]
    local body = string.format(
        '{"kind":"idea","title":"Bench pin %d-%d","description":"Sent by wrk.",'
            .. '"category":"%s","location":{"type":"Point","coordinates":[%s,%s]}}',
        id,
        sent,
        category,
        p[1],
        p[2]
    )
    -- Headers given to wrk.format replace wrk.headers: the content type is said again.
    local headers = {
        ["Content-Type"] = "application/json",
        ["Idempotency-Key"] = string.format("%s-%d-%d", keys, id, sent),
    }
    return wrk.format("POST", post_path, headers, body)
end

function done(summary, latency, requests)
    local errors = summary.errors
    io.write(
        string.format(
            '{"requests":%d,"seconds":%.6f,"non_2xx_3xx":%d,"socket_errors":%d,'
                .. '"p50_ms":%.3f,"p90_ms":%.3f,"p99_ms":%.3f,"max_ms":%.3f,"mean_ms":%.3f}\n',
            summary.requests,
            summary.duration / 1e6,
            errors.status,
            errors.connect + errors.read + errors.write + errors.timeout,
            latency:percentile(50) / 1000,
            latency:percentile(90) / 1000,
            latency:percentile(99) / 1000,
            latency.max / 1000,
            latency.mean / 1000
        )
    )
end
