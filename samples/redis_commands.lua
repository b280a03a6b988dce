-- redis_commands.lua — sample parser, reader style, for Redis's protocol (RESP2 and RESP3).
-- One record per client command (name, argument count, first key) with the reply the server gave
-- it (type and a short text); messages the server pushes (pub/sub, client-side caching) get a
-- record of their own, tagged "push". Written from docs/lua-api.md alone, and tested with
-- `moonshark test samples/redis_commands.lua tests/cases/redis` (docs/lua-api.md, "Testing").
-- Run: moonshark -s samples/redis_commands.lua capture.pcap --json
--
-- What it shows:
-- * r:line / r:read / r:skip for a length-prefixed text protocol (bulk payloads are skipped in C
--   beyond the first KEEP bytes);
-- * pairing two directions whose bytes may arrive in either order: each side queues what it read
--   and whichever completes a pair emits it, so the records do not depend on how the two
--   directions were interleaved (`moonshark check` holds it to that);
-- * pcall + moonshark.is_gap to survive lost bytes without losing the pairing's determinism.

local write = moonshark.log{ name = "redis", fields = {
  {"ts", "time"}, {"uid", "string"},
  {"id.orig_h", "addr"}, {"id.orig_p", "port"}, {"id.resp_h", "addr"}, {"id.resp_p", "port"},
  {"command", "string"}, {"args", "count"}, {"key", "string"},
  {"reply_type", "string"}, {"reply", "string"}, {"replies", "count"}, {"tags", "set"},
} }

local LINE_MAX = 65536      -- a RESP header line, or an inline command
local KEEP = 64             -- bytes of a bulk string kept for the log; the rest is skipped in C
local MAX_ARGS = 1048576    -- Redis's own limit on a multibulk's length
local MAX_BULK = 512 << 20  -- and on a bulk string's
local MAX_DEPTH = 16        -- nesting of aggregate replies we follow

local p = moonshark.protocol{ name = "redis", tcp_ports = {6379},
  detect = function(b, dir)
    -- a multibulk command: "*<digits>\r\n$<digits>\r\n"
    return dir == moonshark.CLIENT and b:find("^%*%d+\r\n%$%d+\r\n") ~= nil
  end }

-- ---------------------------------------------------------------------------------------------
-- Shared state: commands and replies in the order each side read them.

local function state(conn)
  local st = conn.redis
  if not st then
    st = { cmds = {}, ncmd = 0, cmd_head = 1,      -- commands read, the first not yet answered
           reps = {}, nrep = 0, rep_head = 1,      -- replies read, the first not yet paired
           client_stop = nil, server_stop = nil,   -- why a side stopped early: "gap", "bad_command"/"bad_reply"
           ended = 0 }
    conn.redis = st
  end
  return st
end

local function emit(conn, ts, cmd, rep, nreplies, tags)
  local id = conn.id
  write(ts, conn.uid, id.orig_h, id.orig_p, id.resp_h, id.resp_p,
        cmd and cmd.name, cmd and cmd.args, cmd and cmd.key,
        rep and rep.type, rep and rep.text, nreplies, tags)
end

-- How many replies a command takes: subscriptions one per channel named; an UNSUBSCRIBE without
-- channels one per channel it drops, which only the replies tell: replies of its own kind up to
-- one whose count is 0 (nothing left) or up to a reply of another kind. Returns the number of
-- replies, or nil while the replies read so far do not say yet (at the end, `final`, they do).
local SUBSCRIBE = { SUBSCRIBE = true, PSUBSCRIBE = true, SSUBSCRIBE = true }
local UNSUBSCRIBE = { UNSUBSCRIBE = true, PUNSUBSCRIBE = true, SUNSUBSCRIBE = true }
local function replies_of(cmd, st, final)
  local have = st.nrep - st.rep_head + 1
  local want = 1
  if SUBSCRIBE[cmd.name] or (UNSUBSCRIBE[cmd.name] and cmd.args > 0) then
    want = math.max(cmd.args, 1)
  elseif UNSUBSCRIBE[cmd.name] then
    local kind = cmd.name:lower()
    for k = 0, have - 1 do
      local rep = st.reps[st.rep_head + k]
      if k > 0 and rep.kind ~= kind then return k end
      if rep.kind ~= kind or rep.count == 0 then return k + 1 end
    end
    if final and have > 0 then return have end
    return nil
  end
  if have < want then return nil end
  return want
end

-- Emits every command whose replies are all read. Called by both sides after they add something,
-- so the pairs come out whatever the order in which the two directions arrive.
local function pair(conn, st, final)
  while st.cmd_head <= st.ncmd do
    local cmd = st.cmds[st.cmd_head]
    local n = replies_of(cmd, st, final)
    if not n then return end
    emit(conn, cmd.ts, cmd, st.reps[st.rep_head], n, cmd.tags)
    for k = 0, n - 1 do st.reps[st.rep_head + k] = nil end
    st.rep_head = st.rep_head + n
    st.cmds[st.cmd_head] = nil
    st.cmd_head = st.cmd_head + 1
  end
end

-- At the end: commands never answered, and replies to commands we did not see.
local function finish(conn, st)
  st.ended = st.ended + 1
  if st.ended < 2 then return end
  pair(conn, st, true)
  for k = st.cmd_head, st.ncmd do
    local cmd = st.cmds[k]
    local tags = cmd.tags or {}
    tags[#tags + 1] = "no_reply"
    if st.server_stop then tags[#tags + 1] = st.server_stop end
    emit(conn, cmd.ts, cmd, nil, 0, tags)
  end
  for k = st.rep_head, st.nrep do
    local rep = st.reps[k]
    emit(conn, rep.ts, nil, rep, 1, { "no_command", st.client_stop })
  end
  st.ncmd, st.cmd_head, st.nrep, st.rep_head = 0, 1, 0, 1
end

-- ---------------------------------------------------------------------------------------------
-- Client: commands

-- Reads a bulk string whose header line is `line` ("$<len>"): its first KEEP bytes (the rest is
-- skipped), or nil at the end of the stream. Raises on a malformed header.
local function read_bulk(r, line)
  local len = line:match("^%$(%d+)$")
  len = len and tonumber(len)
  if not len or len > MAX_BULK then error({ bad = "bulk header " .. line:sub(1, 32) }) end
  local keep = math.min(len, KEEP)
  local s = r:read(keep)
  if not s then return nil end
  if r:skip(len - keep) < len - keep then return nil end
  local crlf = r:read(2)
  if crlf ~= "\r\n" then
    if crlf == nil then return nil end
    error({ bad = "bulk string without its CRLF" })
  end
  return s
end

-- One command: { name, args, key, tags } or nil at the end of the stream.
local function read_command(r)
  local line, ts = r:line(LINE_MAX, true)
  while line == "" do line, ts = r:line(LINE_MAX, true) end   -- blank lines between inline commands
  if not line then return nil end
  if line:byte(1) ~= 42 then                                  -- not '*': an inline command
    local words = {}
    for w in line:gmatch("%S+") do words[#words + 1] = w end
    return { ts = ts, name = (words[1] or ""):upper(), args = math.max(#words - 1, 0), key = words[2],
             tags = { "inline" } }
  end
  local n = tonumber(line:match("^%*(%d+)$"))
  if not n or n > MAX_ARGS then error({ bad = "multibulk header " .. line:sub(1, 32) }) end
  local cmd = { ts = ts, name = "", args = math.max(n - 1, 0) }
  for i = 1, n do
    local h = r:line(LINE_MAX)
    if not h then return nil end
    local s = read_bulk(r, h)
    if not s then return nil end
    if i == 1 then cmd.name = s:upper() elseif i == 2 then cmd.key = s end
  end
  return cmd
end

function p.client(r)
  local conn = r.conn
  local st = state(conn)
  while not st.client_stop do
    local ok, cmd = pcall(read_command, r)
    if not ok then
      -- a gap: we cannot know how many commands were lost, so the replies after it cannot be
      -- matched any more; a malformed command: the rest is not RESP. Either way we stop here
      -- (the commands before are paired as usual; the replies left over are logged alone).
      if moonshark.is_gap(cmd) then st.client_stop = "gap"
      elseif type(cmd) == "table" and cmd.bad then st.client_stop = "bad_command"
      else error(cmd, 0) end
      break
    end
    if not cmd then break end
    st.ncmd = st.ncmd + 1
    st.cmds[st.ncmd] = cmd
    pair(conn, st)
  end
  if st.client_stop then r:skip_all() end
  finish(conn, st)
end

-- ---------------------------------------------------------------------------------------------
-- Server: replies

local TYPES = { ["+"] = "simple", ["-"] = "error", [":"] = "integer", ["$"] = "bulk", ["*"] = "array",
                ["_"] = "null", ["#"] = "boolean", [","] = "double", ["("] = "bignum", ["!"] = "bulk_error",
                ["="] = "verbatim", ["%"] = "map", ["~"] = "set", [">"] = "push", ["|"] = "attribute" }

-- Reads one reply whose first line is `line`. Returns a table { type, text, elems } where elems
-- holds the texts of the first three elements of an aggregate, or nil at the end of the stream.
local read_reply
local function read_value(r, line, depth)
  if depth > MAX_DEPTH then error({ bad = "reply nested too deep" }) end
  local t = line:sub(1, 1)
  local kind = TYPES[t]
  if not kind then error({ bad = "unknown reply type " .. line:sub(1, 16) }) end
  local rest = line:sub(2)
  if t == "$" or t == "=" or t == "!" then
    if rest == "-1" then return { type = "null" } end
    local s = read_bulk(r, "$" .. rest)
    if not s then return nil end
    if t == "=" then s = s:sub(5) end                     -- "txt:" before a verbatim string
    return { type = kind, text = s }
  end
  if t == "*" or t == "~" or t == ">" or t == "%" or t == "|" then
    if rest == "-1" then return { type = "null" } end
    local n = tonumber(rest:match("^(%d+)$"))
    if not n or n > MAX_ARGS then error({ bad = "aggregate header " .. line:sub(1, 32) }) end
    if t == "%" or t == "|" then n = n * 2 end
    local v = { type = kind, text = tostring(t == "%" and n // 2 or n), elems = {} }
    for i = 1, n do
      local e = read_reply(r, depth + 1)
      if not e then return nil end
      if i <= 3 then v.elems[i] = e.text or e.type end
    end
    if t == "|" then return read_reply(r, depth) end      -- an attribute precedes the real reply
    return v
  end
  if t == "_" then return { type = "null" } end
  return { type = kind, text = rest }                     -- + - : # , ( : one line
end

read_reply = function(r, depth)
  local line = r:line(LINE_MAX)
  if not line then return nil end
  return read_value(r, line, depth)
end

-- Messages the server sends on its own: RESP3 pushes other than subscription replies, and in
-- RESP2 the "message" arrays of a subscribed connection.
local SUB_REPLIES = { subscribe = true, unsubscribe = true, psubscribe = true, punsubscribe = true,
                      ssubscribe = true, sunsubscribe = true }
local MESSAGES = { message = true, pmessage = true, smessage = true }

function p.server(r)
  local conn = r.conn
  local st = state(conn)
  local subscribed = false   -- known from the server's own replies, so the same in every order
  while true do
    local ok, line, ts = pcall(r.line, r, LINE_MAX, true)
    local rep
    if ok and line then ok, rep = pcall(read_value, r, line, 0) end
    if not ok then
      local e = rep or line
      if moonshark.is_gap(e) then st.server_stop = "gap"
      elseif type(e) == "table" and e.bad then st.server_stop = "bad_reply"
      else error(e, 0) end
      break
    end
    if not line or not rep then break end
    rep.ts = ts
    local first = rep.elems and rep.elems[1]
    first = type(first) == "string" and first:lower() or nil
    if rep.type == "push" and not SUB_REPLIES[first] or
       (subscribed and rep.type == "array" and MESSAGES[first]) then
      local e = rep.elems
      rep.text = table.concat({ e[1], e[2] }, " ")            -- "message news", "invalidate 1"
      emit(conn, ts, nil, rep, nil, { "push" })
    else
      if SUB_REPLIES[first] then
        local e = rep.elems
        rep.kind, rep.count = first, tonumber(e[3])
        rep.text = table.concat({ e[1], e[2], e[3] }, " ")   -- "subscribe news 1"
        subscribed = rep.count ~= nil and rep.count > 0
      end
      st.nrep = st.nrep + 1
      st.reps[st.nrep] = rep
      pair(conn, st)
    end
  end
  if st.server_stop then r:skip_all() end
  finish(conn, st)
end

-- A direction that carried no byte never runs its reader: finish the pairing here.
function p.on_close(conn, reason)
  local st = conn.redis
  if st and st.ended < 2 then st.ended = 1; finish(conn, st) end
end
