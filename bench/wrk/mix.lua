-- wrk script for R, the read mix: BENCH_MIX names a file of `token<TAB>JSON body` lines (an
-- empty token: anonymous), sent in turn and again from the top. A good answer is a 200 with
-- `"data"` and no `"errors"`. Prints the same BENCH_JSON summary as graphql.lua.

local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  bad = 0
  sample = ""
  requests = {}
  local f = assert(io.open(os.getenv("BENCH_MIX"), "rb"))
  for line in f:lines() do
    local token, body = line:match("^([^\t]*)\t(.*)$")
    if body then
      local headers = { ["Content-Type"] = "application/json" }
      if token ~= "" then headers["Authorization"] = "Bearer " .. token end
      table.insert(requests, wrk.format("POST", wrk.path, headers, body))
    end
  end
  f:close()
  nextrequest = 1
end

function request()
  local this = requests[nextrequest]
  nextrequest = nextrequest % #requests + 1
  return this
end

function response(status, hdrs, resp)
  if status ~= 200 or resp:find('"errors"', 1, true) or not resp:find('"data"', 1, true) then
    bad = bad + 1
    if sample == "" then sample = status .. " " .. resp:sub(1, 300) end
  end
end

function done(summary, latency, requests)
  local total_bad, first = 0, ""
  for _, t in ipairs(threads) do
    total_bad = total_bad + t:get("bad")
    if first == "" then first = t:get("sample") or "" end
  end
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests":%d,"duration_us":%d,"bad":%d,"connect_errors":%d,' ..
    '"read_errors":%d,"write_errors":%d,"status_errors":%d,"timeouts":%d,' ..
    '"p50_us":%d,"p90_us":%d,"p99_us":%d,"max_us":%d,"mean_us":%.1f}\n',
    summary.requests, summary.duration, total_bad, e.connect, e.read, e.write, e.status,
    e.timeout, latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency.max, latency.mean))
  if first ~= "" then
    io.write("BENCH_SAMPLE " .. first:gsub("\n", " ") .. "\n")
  end
end
