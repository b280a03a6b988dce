-- redis_commands.lua — sample parser, reader style, for a line protocol: Redis RESP.
-- Logs one record per client command (name, argument count, first key) with the type and the
-- first line of the server's reply, paired in order (Redis answers in order, pipelined or not).
-- Run: moonshark -s samples/redis_commands.lua capture.pcap --json
--
-- What it shows: r:line for a text protocol, r:skip for payloads we do not keep, a queue in
-- `conn` shared by the two directions, pcall + moonshark.is_gap to survive lost bytes.

moonshark.log{ name = "redis", fields = {
  {"ts", "time"}, {"uid", "string"},
  {"id.orig_h", "addr"}, {"id.orig_p", "port"}, {"id.resp_h", "addr"}, {"id.resp_p", "port"},
  {"command", "string"}, {"args", "count"}, {"key", "string"},
  {"reply_type", "string"}, {"reply", "string"},
} }

local LINE_MAX = 4096
local KEEP = 128           -- bytes of a bulk string kept for the log (the rest is skipped)

local p = moonshark.protocol{ name = "redis", tcp_ports = {6379} }

local function emit(conn, cmd)
  local id = conn.id
  moonshark.emit("redis", {
    ts = cmd.ts, uid = conn.uid,
    ["id.orig_h"] = id.orig_h, ["id.orig_p"] = id.orig_p,
    ["id.resp_h"] = id.resp_h, ["id.resp_p"] = id.resp_p,
    command = cmd.command, args = cmd.args, key = cmd.key,
    reply_type = cmd.reply_type, reply = cmd.reply,
  })
end

local function queue(conn)
  conn.redis = conn.redis or { cmds = {}, head = 1, tail = 0, ended = 0 }
  return conn.redis
end

-- Reads one bulk string "$len\r\n<bytes>\r\n" whose header line is `line`; keeps up to KEEP bytes.
local function bulk(r, line)
  local len = tonumber(line:match("^%$(%-?%d+)$"))
  if not len then error("bad bulk header: " .. line) end
  if len < 0 then return nil end               -- null bulk string
  local keep = math.min(len, KEEP)
  local s = keep > 0 and r:read(keep) or ""
  if not s then return nil end
  r:skip(len - keep + 2)                       -- rest of the payload and its CRLF
  return s
end

-- One command: an array of bulk strings, or an inline command line.
local function read_command(r)
  local line = r:line(LINE_MAX)
  if not line then return nil end
  if line:sub(1, 1) == "*" then
    local n = tonumber(line:sub(2))
    if not n then error("bad array header: " .. line) end
    local words = {}
    for i = 1, n do
      local h = r:line(LINE_MAX)
      if not h then return nil end
      words[i] = bulk(r, h)
    end
    return words, n
  end
  local words = {}
  for w in line:gmatch("%S+") do words[#words + 1] = w end
  return words, #words
end

function p.client(r)
  local q = queue(r.conn)
  while true do
    if not r:peek(1) then break end
    local ts = r:time()
    local ok, words, n = pcall(read_command, r)
    if not ok then
      if not moonshark.is_gap(words) then error(words, 0) end
    elseif not words then
      break
    elseif n > 0 then
      q.tail = q.tail + 1
      q.cmds[q.tail] = { ts = ts, command = words[1] and words[1]:upper() or "", args = n - 1, key = words[2] }
    end
  end
  q.ended = q.ended + 1
  if q.ended == 2 then
    for i = q.head, q.tail do emit(r.conn, q.cmds[i]) end
  end
end

local REPLY_TYPES = { ["+"] = "simple", ["-"] = "error", [":"] = "integer", ["$"] = "bulk", ["*"] = "array",
                      ["_"] = "null", ["#"] = "boolean", [","] = "double", ["%"] = "map", ["~"] = "set",
                      [">"] = "push", ["="] = "verbatim", ["!"] = "bulk_error", ["("] = "bignum",
                      ["|"] = "attribute" }

-- Skips the rest of a reply whose first line is `line` (nested aggregates included, up to a
-- depth where we give up on the connection).
local function skip_reply(r, line, depth)
  depth = depth or 0
  if depth > 32 then error("reply nested too deep") end
  local t = line:sub(1, 1)
  local n = tonumber(line:sub(2))
  if t == "$" or t == "=" or t == "!" then
    if n and n >= 0 then r:skip(n + 2) end
  elseif (t == "*" or t == "~" or t == ">" or t == "%" or t == "|") and n and n > 0 then
    if t == "%" or t == "|" then n = n * 2 end
    for _ = 1, n do
      local l = r:line(LINE_MAX)
      if not l then return end
      skip_reply(r, l, depth + 1)
    end
  end
end

function p.server(r)
  local q = queue(r.conn)
  while true do
    local ok, line = pcall(r.line, r, LINE_MAX)
    if not ok then
      if not moonshark.is_gap(line) then error(line, 0) end
    elseif not line then
      break
    else
      local cmd = q.cmds[q.head]
      if cmd and not cmd.reply_type then
        cmd.reply_type = REPLY_TYPES[line:sub(1, 1)] or "unknown"
        cmd.reply = line:sub(1, KEEP)
        emit(r.conn, cmd)
        q.cmds[q.head] = nil
        q.head = q.head + 1
      end
      skip_reply(r, line)
    end
  end
  q.ended = q.ended + 1
  if q.ended == 2 then
    for i = q.head, q.tail do emit(r.conn, q.cmds[i]) end
  end
end
