-- tls_sni.lua — sample parser, callback style, for a binary length-prefixed protocol: TLS records.
-- Logs one record per TLS connection: the record version, the ClientHello's server name (SNI) and
-- ALPN list, and the version and cipher suite the server chose.
-- Run: moonshark -s samples/tls_sni.lua capture.pcap --json
--
-- What it shows: on_data with the bytes view (b:u8, b:u16be, b:sub), returning how many bytes
-- were consumed so that an incomplete record comes back with the next data; state in `conn`.

moonshark.log{ name = "tls", fields = {
  {"ts", "time"}, {"uid", "string"},
  {"id.orig_h", "addr"}, {"id.orig_p", "port"}, {"id.resp_h", "addr"}, {"id.resp_p", "port"},
  {"version", "string"}, {"server_name", "string"}, {"alpn", "set"}, {"cipher", "string"},
  {"established", "bool"},
} }

local MAX_RECORD = 16384 + 2048   -- TLSCiphertext limit: anything larger is not TLS
local HANDSHAKE, CLIENT_HELLO, SERVER_HELLO = 22, 1, 2

local VERSIONS = { [0x0300] = "SSLv3", [0x0301] = "TLSv10", [0x0302] = "TLSv11", [0x0303] = "TLSv12",
                   [0x0304] = "TLSv13" }

local p = moonshark.protocol{ name = "tls", tcp_ports = {443, 8443, 993, 995, 465},
  detect = function(b, dir)
    -- a handshake record of a known version
    return #b >= 3 and b:u8(1) == HANDSHAKE and b:u8(2) == 3 and b:u8(3) <= 4
  end }

local function state(conn)
  conn.tls = conn.tls or { alpn = {} }
  return conn.tls
end

local function emit(conn, st)
  if st.emitted then return end
  st.emitted = true
  local id = conn.id
  moonshark.emit("tls", {
    ts = st.ts, uid = conn.uid,
    ["id.orig_h"] = id.orig_h, ["id.orig_p"] = id.orig_p,
    ["id.resp_h"] = id.resp_h, ["id.resp_p"] = id.resp_p,
    version = st.version, server_name = st.sni, alpn = st.alpn,
    cipher = st.cipher and string.format("0x%04x", st.cipher) or nil,
    established = st.cipher ~= nil,
  })
end

-- Walks the extensions of a hello in msg (a string) from offset i to the end. The ALPN list is the
-- client's offer (a TLS 1.2 ServerHello repeats the one protocol chosen: not added again).
local function extensions(st, msg, i, from_client)
  if i + 1 > #msg then return end
  local ext_end = math.min(#msg, i + 1 + string.unpack(">I2", msg, i))
  i = i + 2
  while i + 3 <= ext_end do
    local etype, elen = string.unpack(">I2I2", msg, i)
    local body = i + 4
    if body + elen - 1 > ext_end then return end
    if etype == 0 and elen >= 5 then          -- server_name: list of (type, len, name)
      local nlen = string.unpack(">I2", msg, body + 3)
      if msg:byte(body + 2) == 0 and body + 4 + nlen <= body + elen then
        st.sni = msg:sub(body + 5, body + 4 + nlen)
      end
    elseif etype == 16 and elen >= 2 and from_client then -- ALPN: list of length-prefixed names
      local j, stop = body + 2, body + elen
      while j < stop do
        local l = msg:byte(j)
        st.alpn[#st.alpn + 1] = msg:sub(j + 1, j + l)
        j = j + 1 + l
      end
    elseif etype == 43 and elen == 2 then     -- supported_versions in a ServerHello
      local v = string.unpack(">I2", msg, body)
      st.version = VERSIONS[v] or string.format("0x%04x", v)
    end
    i = body + elen
  end
end

-- A handshake message (type, then the body as a string).
local function handshake(st, dir, mtype, msg)
  if dir == moonshark.CLIENT and mtype == CLIENT_HELLO and #msg >= 38 then
    -- version(2) random(32) session_id(1+n) cipher_suites(2+n) compression(1+n) extensions
    local i = 35
    i = i + 1 + msg:byte(i)
    if i + 1 > #msg then return end
    i = i + 2 + string.unpack(">I2", msg, i)
    if i > #msg then return end
    i = i + 1 + msg:byte(i)
    extensions(st, msg, i, true)
  elseif dir == moonshark.SERVER and mtype == SERVER_HELLO and #msg >= 38 then
    local v = string.unpack(">I2", msg, 1)
    st.version = st.version or VERSIONS[v] or string.format("0x%04x", v)
    local i = 35
    i = i + 1 + msg:byte(i)
    if i + 2 > #msg then return end
    st.cipher = string.unpack(">I2", msg, i)
    i = i + 3
    local before = st.version
    st.version = nil
    extensions(st, msg, i, false)
    st.version = st.version or before
  end
end

-- The record is written once the server's side is over (its hello read, or nothing more to read
-- there), or at the close. What the client sends never ends it: the two directions may come in
-- any order, and the record must not depend on which one came first (`moonshark check`).
local function side_over(conn, st, dir)
  st.over[dir] = true
  if dir == moonshark.SERVER then emit(conn, st) end
end

function p.on_data(conn, dir, b)
  local st = state(conn)
  st.over = st.over or {}
  if st.over[dir] or st.emitted then return nil end
  -- capture time: moonshark.now() where the runtime has it, else the connection's start
  st.ts = st.ts or (moonshark.now and moonshark.now()) or conn.start_time
  local off = 1
  while off + 4 <= #b do
    local ctype, major, len = b:u8(off), b:u8(off + 1), b:u16be(off + 3)
    if major ~= 3 or len > MAX_RECORD then side_over(conn, st, dir); return nil end  -- not TLS (any more)
    if off + 4 + len > #b then break end       -- incomplete record: keep it for next time
    if ctype == HANDSHAKE and len >= 4 then
      -- the first handshake message of the record (hellos come first in their flight)
      local mtype = b:u8(off + 5)
      local mlen = (b:u8(off + 6) << 16) | b:u16be(off + 7)
      handshake(st, dir, mtype, b:sub(off + 9, off + 8 + math.min(mlen, len - 4)))
    elseif ctype == 20 or ctype == 23 then
      -- change_cipher_spec or application data: the hellos are over on this side (an alert
      -- may come before the ServerHello, so it does not end anything)
      side_over(conn, st, dir)
      return nil
    end
    off = off + 5 + len
  end
  if dir == moonshark.SERVER and st.cipher then
    side_over(conn, st, dir)                   -- the ServerHello is the last thing we want
    return nil
  end
  return off - 1
end

function p.on_gap(conn, dir, n)
  local st = state(conn)
  st.over = st.over or {}
  side_over(conn, st, dir)
end

function p.on_close(conn, reason)
  local st = conn.tls
  if st and (st.version or st.sni) then emit(conn, st) end
end
