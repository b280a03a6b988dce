-- dns.lua — DNS log (Zeek dns.log fields) over UDP (on_datagram) and TCP (callback style,
-- 2-byte length prefix). A query and its response are paired by transaction id within the flow;
-- one record per query (with its answer when seen), answers without a query logged alone,
-- unanswered queries logged when the flow ends. Every read is bounds-checked by the bytes view.
-- Times: moonshark.now() (capture time of the packet) where the runtime has it, else the flow's
-- start; rtt only with packet times. Run: moonshark -s protocols/dns.lua capture.pcap

local CLIENT = moonshark.CLIENT

local MAX_PENDING = 64     -- queries waiting for an answer, per flow
local MAX_ANSWERS = 32     -- answer records decoded per message

moonshark.log{ name = "dns", fields = {
  {"ts", "time"}, {"uid", "string"},
  {"id.orig_h", "addr"}, {"id.orig_p", "port"}, {"id.resp_h", "addr"}, {"id.resp_p", "port"},
  {"proto", "string"}, {"trans_id", "count"}, {"rtt", "interval"}, {"query", "string"},
  {"qclass", "count"}, {"qclass_name", "string"}, {"qtype", "count"}, {"qtype_name", "string"},
  {"rcode", "count"}, {"rcode_name", "string"},
  {"AA", "bool"}, {"TC", "bool"}, {"RD", "bool"}, {"RA", "bool"}, {"Z", "count"},
  {"answers", "set"}, {"TTLs", "set"}, {"rejected", "bool"},
} }

local QTYPES = { [1] = "A", [2] = "NS", [5] = "CNAME", [6] = "SOA", [12] = "PTR", [13] = "HINFO",
                 [15] = "MX", [16] = "TXT", [28] = "AAAA", [33] = "SRV", [35] = "NAPTR", [39] = "DNAME",
                 [41] = "OPT", [43] = "DS", [46] = "RRSIG", [47] = "NSEC", [48] = "DNSKEY",
                 [50] = "NSEC3", [52] = "TLSA", [64] = "SVCB", [65] = "HTTPS", [99] = "SPF",
                 [250] = "TSIG", [251] = "IXFR", [252] = "AXFR", [255] = "*", [257] = "CAA" }
local QCLASSES = { [1] = "C_INTERNET", [3] = "C_CHAOS", [4] = "C_HESIOD", [254] = "C_NONE", [255] = "C_ANY" }
local RCODES = { [0] = "NOERROR", [1] = "FORMERR", [2] = "SERVFAIL", [3] = "NXDOMAIN", [4] = "NOTIMP",
                 [5] = "REFUSED", [6] = "YXDOMAIN", [7] = "YXRRSET", [8] = "NXRRSET", [9] = "NOTAUTH",
                 [10] = "NOTZONE" }

-- The name at offset i (1-based) of the message b: returns name and the offset after it (after
-- the first pointer when compressed), or nil when it runs off the message, loops or is too long.
local function read_name(b, i)
  local labels, after, hops, len_total = {}, nil, 0, 0
  while true do
    local len = b:u8(i)
    if not len then return nil end
    if len == 0 then
      after = after or i + 1
      break
    elseif len >= 0xc0 then
      local ptr = b:u16be(i)
      if not ptr then return nil end
      after = after or i + 2
      hops = hops + 1
      if hops > 64 then return nil end
      i = (ptr & 0x3fff) + 1
    elseif len >= 0x40 then
      return nil
    else
      if i + len > #b then return nil end
      labels[#labels + 1] = b:sub(i + 1, i + len)
      len_total = len_total + len + 1
      if len_total > 255 then return nil end
      i = i + 1 + len
    end
  end
  return table.concat(labels, "."), after
end

local function ipv4(b, i)
  return string.format("%d.%d.%d.%d", b:u8(i), b:u8(i + 1), b:u8(i + 2), b:u8(i + 3))
end

local function ipv6(b, i)
  local g = {}
  for k = 0, 7 do g[k + 1] = b:u16be(i + 2 * k) end
  -- the longest run of two or more zero groups becomes "::" (RFC 5952)
  local best_at, best_len, at, len = 0, 1, 0, 0
  for k = 1, 8 do
    if g[k] == 0 then
      if len == 0 then at = k end
      len = len + 1
      if len > best_len then best_at, best_len = at, len end
    else
      len = 0
    end
  end
  local parts = {}
  for k = 1, 8 do parts[k] = string.format("%x", g[k]) end
  if best_at == 0 then return table.concat(parts, ":") end
  local left = table.concat(parts, ":", 1, best_at - 1)
  local right = table.concat(parts, ":", best_at + best_len, 8)
  return left .. "::" .. right
end

-- A string seen through the same bounds-checked methods as the bytes view (TCP messages are cut
-- out of the stream as strings).
local SV = {}
SV.__index = SV
SV.__len = function(v) return #v.s end
function SV:u8(i) if i >= 1 and i <= #self.s then return self.s:byte(i) end end
function SV:u16be(i) if i >= 1 and i + 1 <= #self.s then return (string.unpack(">I2", self.s, i)) end end
function SV:u32be(i) if i >= 1 and i + 3 <= #self.s then return (string.unpack(">I4", self.s, i)) end end
function SV:sub(i, j) return self.s:sub(i, j) end

-- Decodes a DNS message; returns a table or nil when it is not one.
local function parse(b)
  if #b < 12 then return nil end
  local m = { id = b:u16be(1), flags = b:u16be(3), qd = b:u16be(5), an = b:u16be(7) }
  local off = 13
  if m.qd >= 1 then
    local name, after = read_name(b, off)
    if not name then return nil end
    m.query = name == "" and "<root>" or name
    m.qtype, m.qclass = b:u16be(after), b:u16be(after + 2)
    if not m.qclass then return nil end
    off = after + 4
    for _ = 2, math.min(m.qd, 16) do     -- further questions (rare): skipped
      local _n, a = read_name(b, off)
      if not a then return m end
      off = a + 4
    end
  end
  if (m.flags & 0x8000) ~= 0 then
    m.answers, m.ttls = {}, {}
    for _ = 1, math.min(m.an, MAX_ANSWERS) do
      local _n, a = read_name(b, off)
      if not a then break end
      local rtype, ttl, rdlen = b:u16be(a), b:u32be(a + 4), b:u16be(a + 8)
      if not rdlen or a + 9 + rdlen > #b then break end
      local rd = a + 10
      local v
      if rtype == 1 and rdlen == 4 then v = ipv4(b, rd)
      elseif rtype == 28 and rdlen == 16 then v = ipv6(b, rd)
      elseif rtype == 5 or rtype == 2 or rtype == 12 or rtype == 39 then v = read_name(b, rd)
      elseif rtype == 15 and rdlen > 2 then v = read_name(b, rd + 2)
      elseif rtype == 16 and rdlen >= 1 then
        local l = b:u8(rd)
        v = "TXT " .. l .. " " .. b:sub(rd + 1, rd + math.min(l, rdlen - 1))
      else v = "<" .. (QTYPES[rtype] or tostring(rtype)) .. ">" end
      if v then
        m.answers[#m.answers + 1] = v
        m.ttls[#m.ttls + 1] = string.format("%.0f", ttl)
      end
      off = rd + rdlen
    end
  end
  return m
end

local function flow(conn)
  conn.dns = conn.dns or { pending = {}, order = {}, head = 1 }
  return conn.dns
end

local function emit(conn, q, r)
  local id = conn.id
  local m = q or r
  local rec = {
    ts = q and q.ts or r.ts, uid = conn.uid,
    ["id.orig_h"] = id.orig_h, ["id.orig_p"] = id.orig_p, ["id.resp_h"] = id.resp_h, ["id.resp_p"] = id.resp_p,
    proto = conn.proto, trans_id = m.id, query = m.query,
    qclass = m.qclass, qclass_name = m.qclass and QCLASSES[m.qclass] or nil,
    qtype = m.qtype, qtype_name = m.qtype and QTYPES[m.qtype] or nil,
    RD = ((q or r).flags & 0x0100) ~= 0, Z = ((q or r).flags >> 4) & 0x7,
    AA = false, TC = false, RA = false, rejected = false,
  }
  if r then
    rec.rcode = r.flags & 0xf
    rec.rcode_name = RCODES[rec.rcode]
    rec.AA = (r.flags & 0x0400) ~= 0
    rec.TC = (r.flags & 0x0200) ~= 0
    rec.RA = (r.flags & 0x0080) ~= 0
    rec.answers = r.answers[1] and r.answers or nil
    rec.TTLs = r.ttls[1] and r.ttls or nil
    rec.rejected = rec.rcode ~= 0 and not r.answers[1]
    if q and moonshark.now and q.ts and r.ts then rec.rtt = r.ts - q.ts end  -- needs packet times
  end
  moonshark.emit("dns", rec)
end

-- One message of direction dir at time ts.
local function message(conn, dir, b, ts)
  local m = parse(b)
  if not m then return end
  m.ts = ts
  local f = flow(conn)
  local is_response = (m.flags & 0x8000) ~= 0
  if not is_response then
    local key = m.id
    if f.pending[key] then emit(conn, f.pending[key], nil) end   -- a retry replaces the first
    f.pending[key] = m
    f.order[#f.order + 1] = key
    if #f.order - f.head + 1 > MAX_PENDING then
      local old = f.order[f.head]
      f.order[f.head] = nil
      f.head = f.head + 1
      if f.pending[old] then emit(conn, f.pending[old], nil); f.pending[old] = nil end
    end
  else
    local q = f.pending[m.id]
    f.pending[m.id] = nil
    emit(conn, q, m)
  end
end

local p = moonshark.protocol{ name = "dns", tcp_ports = {53}, udp_ports = {53, 5353, 5355} }

local function now(conn)
  return moonshark.now and moonshark.now() or conn.start_time
end

function p.on_datagram(conn, dir, b)
  message(conn, dir, b, now(conn))
end

-- TCP: messages with a 2-byte length prefix; an incomplete one comes back with the next data.
function p.on_data(conn, dir, b)
  conn.dns_broken = conn.dns_broken or {}
  if conn.dns_broken[dir] then return nil end
  local off = 1
  while off + 1 <= #b do
    local len = b:u16be(off)
    if off + 1 + len > #b then break end
    message(conn, dir, setmetatable({ s = b:sub(off + 2, off + 1 + len) }, SV), now(conn))
    off = off + 2 + len
  end
  return off - 1
end

function p.on_gap(conn, dir, n)
  -- lost bytes break the length framing of this direction: give it up
  conn.dns_broken = conn.dns_broken or {}
  conn.dns_broken[dir] = true
end

function p.on_close(conn, reason)
  local f = conn.dns
  if not f then return end
  for i = f.head, #f.order do
    local key = f.order[i]
    if key and f.pending[key] then emit(conn, f.pending[key], nil); f.pending[key] = nil end
  end
end

return p
