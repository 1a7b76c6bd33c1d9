-- wrk script: POST a GraphQL body, optionally rotating bearer tokens, and check answers.
-- BENCH_BODY: file with the JSON body; BENCH_HEADERS: file of "Name: value" lines;
-- BENCH_TOKENS: file of access tokens (one per line, used in turn); BENCH_EXPECT: a
-- substring every good answer contains; BENCH_RANDOM_ID: "lo:hi", each request's body gets
-- a random integer in [lo, hi] in place of __RANDOM_ID__ (with BENCH_RANDOM_ID_TYPE, the
-- global id of that type and number: base64 of "Type:n"). BENCH_MIX (R, the read mix):
-- a file of `token<TAB>JSON body` lines (an empty token: anonymous), sent in turn and again
-- from the top instead of BENCH_BODY. A JSON summary is printed on a BENCH_JSON line.

local threads = {}

local B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"

local function base64(data)
  local out = {}
  for i = 1, #data, 3 do
    local a, b, c = data:byte(i, i + 2)
    local n = a * 65536 + (b or 0) * 256 + (c or 0)
    local quad = {}
    for k = 4, 1, -1 do
      quad[k] = B64:sub(n % 64 + 1, n % 64 + 1)
      n = math.floor(n / 64)
    end
    if not b then quad[3] = "=" end
    if not c then quad[4] = "=" end
    table.insert(out, table.concat(quad))
  end
  return table.concat(out)
end

local function read(path)
  local f = assert(io.open(path, "rb"))
  local text = f:read("*a")
  f:close()
  return text
end

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  bad = 0
  sample = ""
  body = read(os.getenv("BENCH_BODY"))
  expect = os.getenv("BENCH_EXPECT") or ""
  headers = { ["Content-Type"] = "application/json" }
  local hpath = os.getenv("BENCH_HEADERS")
  if hpath and hpath ~= "" then
    for line in read(hpath):gmatch("[^\r\n]+") do
      local name, value = line:match("^([^:]+):%s*(.*)$")
      if name then headers[name] = value end
    end
  end
  tokens = {}
  local tpath = os.getenv("BENCH_TOKENS")
  if tpath and tpath ~= "" then
    for token in read(tpath):gmatch("%S+") do table.insert(tokens, token) end
  end
  nexttoken = 1
  local range = os.getenv("BENCH_RANDOM_ID") or ""
  lo, hi = range:match("^(%d+):(%d+)$")
  if lo then
    lo, hi = tonumber(lo), tonumber(hi)
    math.randomseed(os.time())
    local kind = os.getenv("BENCH_RANDOM_ID_TYPE") or ""
    ids = {}
    for n = lo, hi do
      ids[n] = kind ~= "" and base64(kind .. ":" .. n) or tostring(n)
    end
  end
  fixed = wrk.format("POST", wrk.path, headers, body)
  mix = {}
  local mpath = os.getenv("BENCH_MIX")
  if mpath and mpath ~= "" then
    for line in read(mpath):gmatch("[^\n]+") do
      local token, json = line:match("^([^\t]*)\t(.*)$")
      if json then
        local these = { ["Content-Type"] = "application/json" }
        if token ~= "" then these["Authorization"] = "Bearer " .. token end
        table.insert(mix, wrk.format("POST", wrk.path, these, json))
      end
    end
  end
  nextmix = 1
end

function request()
  if #mix > 0 then
    local this = mix[nextmix]
    nextmix = nextmix % #mix + 1
    return this
  end
  if #tokens == 0 and not lo then return fixed end
  if #tokens > 0 then
    headers["Authorization"] = "Bearer " .. tokens[nexttoken]
    nexttoken = nexttoken % #tokens + 1
  end
  local this = body
  if lo then this = body:gsub("__RANDOM_ID__", ids[math.random(lo, hi)]) end
  return wrk.format("POST", wrk.path, headers, this)
end

function response(status, hdrs, resp)
  if status ~= 200 or resp:find('"errors"', 1, true) or not resp:find(expect, 1, true) then
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
