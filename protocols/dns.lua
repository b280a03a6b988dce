-- dns.lua — the DNS log (Zeek dns.log fields) over UDP (on_datagram) and TCP (reader style, a
-- 2-byte length before each message, any number of messages per connection). A query and its
-- reply are paired by transaction id within the connection, first query with first reply, in
-- whichever order they arrive; what stays unpaired is logged when the connection ends. Hostile
-- messages (compression loops, pointers out of range, truncated records) are tagged, never fatal.
-- Field semantics and where they differ from Zeek: docs/dns-tls.md.

local byte, sub, lower, unpack = string.byte, string.sub, string.lower, string.unpack
local concat, format = table.concat, string.format

local MAX_PENDING = 256       -- unpaired queries and replies kept per connection
local MAX_ANSWERS = 1000      -- answer records logged per reply (the rest counted in a tag)
local MAX_NAME = 255          -- bytes of a name in wire form (RFC 1035 2.3.4)

local write_dns = moonshark.log{ name = "dns", fields = {
  {"ts", "time"}, {"uid", "string"},
  {"id.orig_h", "addr"}, {"id.orig_p", "port"}, {"id.resp_h", "addr"}, {"id.resp_p", "port"},
  {"proto", "string"}, {"trans_id", "count"}, {"rtt", "interval"}, {"query", "string"},
  {"qclass", "count"}, {"qclass_name", "string"}, {"qtype", "count"}, {"qtype_name", "string"},
  {"rcode", "count"}, {"rcode_name", "string"},
  {"AA", "bool"}, {"TC", "bool"}, {"RD", "bool"}, {"RA", "bool"}, {"Z", "count"},
  {"answers", "set"}, {"TTLs", "set"}, {"rejected", "bool"}, {"tags", "set"},
} }

-- ---- names of numbers (IANA registries; the spellings Zeek logs) ----------------------------

local QTYPES = {
  [1] = "A", [2] = "NS", [3] = "MD", [4] = "MF", [5] = "CNAME", [6] = "SOA", [7] = "MB", [8] = "MG",
  [9] = "MR", [10] = "NULL", [11] = "WKS", [12] = "PTR", [13] = "HINFO", [14] = "MINFO", [15] = "MX",
  [16] = "TXT", [17] = "RP", [18] = "AFSDB", [19] = "X25", [20] = "ISDN", [21] = "RT", [22] = "NSAP",
  [23] = "NSAP-PTR", [24] = "SIG", [25] = "KEY", [26] = "PX", [27] = "GPOS", [28] = "AAAA",
  [29] = "LOC", [30] = "NXT", [31] = "EID", [32] = "NIMLOC", [33] = "SRV", [34] = "ATMA",
  [35] = "NAPTR", [36] = "KX", [37] = "CERT", [38] = "A6", [39] = "DNAME", [40] = "SINK",
  [41] = "OPT", [42] = "APL", [43] = "DS", [44] = "SSHFP", [45] = "IPSECKEY", [46] = "RRSIG",
  [47] = "NSEC", [48] = "DNSKEY", [49] = "DHCID", [50] = "NSEC3", [51] = "NSEC3PARAM", [52] = "TLSA",
  [53] = "SMIMEA", [55] = "HIP", [56] = "NINFO", [57] = "RKEY", [58] = "TALINK", [59] = "CDS",
  [60] = "CDNSKEY", [61] = "OPENPGPKEY", [62] = "CSYNC", [63] = "ZONEMD", [64] = "SVCB",
  [65] = "HTTPS", [99] = "SPF", [100] = "UINFO", [101] = "UID", [102] = "GID", [103] = "UNSPEC",
  [104] = "NID", [105] = "L32", [106] = "L64", [107] = "LP", [108] = "EUI48", [109] = "EUI64",
  [249] = "TKEY", [250] = "TSIG", [251] = "IXFR", [252] = "AXFR", [253] = "MAILB", [254] = "MAILA",
  [255] = "*", [256] = "URI", [257] = "CAA", [32768] = "TA", [32769] = "DLV", [65281] = "WINS",
  [65282] = "WINS-R", [65422] = "XPF", [65521] = "INTEGRITY",
}
local QCLASSES = { [1] = "C_INTERNET", [2] = "C_CSNET", [3] = "C_CHAOS", [4] = "C_HESIOD",
                   [254] = "C_NONE", [255] = "C_ANY" }
local RCODES = {
  [0] = "NOERROR", [1] = "FORMERR", [2] = "SERVFAIL", [3] = "NXDOMAIN", [4] = "NOTIMP",
  [5] = "REFUSED", [6] = "YXDOMAIN", [7] = "YXRRSET", [8] = "NXRRSet", [9] = "NOTAUTH",
  [10] = "NOTZONE", [11] = "unassigned-11", [12] = "unassigned-12", [13] = "unassigned-13",
  [14] = "unassigned-14", [15] = "unassigned-15",
}
local OPCODES = { [1] = "iquery", [2] = "server-status", [4] = "notify", [5] = "dynamic-update",
                  [6] = "dso" }

local function qtype_name(t) return QTYPES[t] or ("query-" .. t) end
local function qclass_name(c) return QCLASSES[c] or ("qclass-" .. c) end

-- ---- reading a message (a Lua string; positions are 1-based) -----------------------------------

-- The name at position i of message s: returns the name (lower case, labels joined with ".",
-- "" for the root) and the position after it in the message (after the first pointer when the
-- name is compressed), or nil and a tag. A pointer must point before itself (RFC 1035 4.1.4: to
-- a prior occurrence), so a chain of pointers cannot loop; a loop through labels is cut by the
-- 255-byte limit on the whole name.
local function read_name(s, i)
  local labels, n, after, total = nil, 0, nil, 0
  local last = #s
  while true do
    local len = byte(s, i)
    if not len then return nil, "truncated" end
    if len == 0 then
      after = after or i + 1
      break
    elseif len >= 0xc0 then
      local lo = byte(s, i + 1)
      if not lo then return nil, "truncated" end
      local target = ((len & 0x3f) << 8 | lo) + 1
      if target >= i then return nil, "bad_name" end   -- forward or self pointer
      after = after or i + 2
      i = target
    elseif len >= 0x40 then
      return nil, "bad_name"                              -- reserved label types (RFC 6891 6.2)
    else
      if i + len > last then return nil, "truncated" end
      total = total + len + 1
      if total > MAX_NAME then return nil, "bad_name" end
      n = n + 1
      if n == 1 then labels = {} end
      labels[n] = sub(s, i + 1, i + len)
      i = i + 1 + len
    end
  end
  if n == 0 then return "", after end
  if n == 1 then return lower(labels[1]), after end
  return lower(concat(labels, ".")), after
end

local function ipv4(s, i)
  local a, b, c, d = byte(s, i, i + 3)
  return a .. "." .. b .. "." .. c .. "." .. d
end

-- An IPv6 address as inet_ntop writes it (RFC 5952: lower case, the first longest run of two or
-- more zero groups as "::", an IPv4-mapped or -compatible tail in dotted form).
local function ipv6(s, i)
  local g = { unpack(">I2I2I2I2I2I2I2I2", s, i) }
  g[9] = nil                                           -- unpack's next position
  if g[1] == 0 and g[2] == 0 and g[3] == 0 and g[4] == 0 and g[5] == 0 and
     ((g[6] == 0xffff) or (g[6] == 0 and (g[7] ~= 0 or g[8] > 1))) then
    return (g[6] == 0xffff and "::ffff:" or "::") .. ipv4(s, i + 12)
  end
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
  for k = 1, 8 do g[k] = format("%x", g[k]) end
  if best_at == 0 then return concat(g, ":") end
  return concat(g, ":", 1, best_at - 1) .. "::" .. concat(g, ":", best_at + best_len, 8)
end

-- "KIND n text" for each character-string of a TXT or SPF record in s[i .. stop-1], joined with
-- spaces as Zeek joins them; nil when a string runs past the record.
local function char_strings(kind, s, i, stop)
  local parts = {}
  while i < stop do
    local l = byte(s, i)
    if i + l > stop - 1 then return nil end
    parts[#parts + 1] = kind .. " " .. l .. " " .. sub(s, i + 1, i + l)
    i = i + 1 + l
  end
  return concat(parts, " ")
end

local function hex(s) return (s:gsub(".", function(c) return format("%02x", byte(c)) end)) end

-- The text Zeek logs for one answer record of type t whose data is s[rd .. rd+rdlen-1], the
-- owner name for NSEC; "" for a record Zeek leaves out (WKS, OPT, TSIG); nil when the data does
-- not fit its type. Types Zeek parses but never logs (HINFO, CAA, SVCB, HTTPS, DNAME) are given
-- a short form of their own here, so that every answer has a TTL beside it.
local function rdata_text(s, t, rd, rdlen, owner)
  local stop = rd + rdlen
  if t == 1 then
    return rdlen == 4 and ipv4(s, rd) or nil
  elseif t == 28 then
    return rdlen == 16 and ipv6(s, rd) or nil
  elseif t == 2 or t == 5 or t == 12 or t == 39 then
    local name, after = read_name(s, rd)
    return name and after <= stop and name or nil
  elseif t == 15 then
    local name, after = read_name(s, rd + 2)
    return rdlen > 2 and name and after <= stop and name or nil
  elseif t == 6 then
    local name = read_name(s, rd)
    return name
  elseif t == 33 then
    local name, after = read_name(s, rd + 6)
    return rdlen > 6 and name and after <= stop and name or nil
  elseif t == 16 then
    return char_strings("TXT", s, rd, stop)
  elseif t == 99 then
    return char_strings("SPF", s, rd, stop)
  elseif t == 13 then
    local cl = byte(s, rd)
    local ol = cl and byte(s, rd + 1 + cl)
    if not ol or rd + 1 + cl + ol >= stop + 1 then return nil end
    return "HINFO " .. sub(s, rd + 1, rd + cl) .. " " .. sub(s, rd + 2 + cl, rd + 1 + cl + ol)
  elseif t == 257 then
    local tl = byte(s, rd + 1)
    if rdlen < 2 or not tl or rd + 2 + tl > stop then return nil end
    return "CAA " .. byte(s, rd) .. " " .. sub(s, rd + 2, rd + 1 + tl) .. " " .. sub(s, rd + 2 + tl, stop - 1)
  elseif t == 64 or t == 65 then
    if rdlen < 3 then return nil end
    local name = read_name(s, rd + 2)
    if not name then return nil end
    return QTYPES[t] .. " " .. unpack(">I2", s, rd) .. " " .. (name == "" and "." or name)
  elseif t == 46 then
    if rdlen < 19 then return nil end
    local signer = read_name(s, rd + 18)
    if not signer then return nil end
    return "RRSIG " .. unpack(">I2", s, rd) .. " " .. (signer == "" and "<Root>" or signer)
  elseif t == 48 then
    return rdlen >= 4 and ("DNSKEY " .. byte(s, rd + 3)) or nil
  elseif t == 47 then
    local name = read_name(s, rd)
    return name and ("NSEC " .. owner .. " " .. name) or nil
  elseif t == 50 then
    return "NSEC3"
  elseif t == 51 then
    return "NSEC3PARAM"
  elseif t == 43 then
    return rdlen >= 4 and ("DS " .. byte(s, rd + 2) .. " " .. byte(s, rd + 3)) or nil
  elseif t == 44 then
    return rdlen >= 2 and ("SSHFP: " .. hex(sub(s, rd + 2, stop - 1))) or nil
  elseif t == 29 then
    return rdlen >= 4 and format("LOC:  %d %d %d", byte(s, rd + 1), byte(s, rd + 2), byte(s, rd + 3)) or nil
  elseif t == 65534 then
    return "BIND9 signing signal"
  elseif t == 11 or t == 41 or t == 250 then
    return ""
  end
  return "<unknown type=" .. t .. ">"
end

local add_tag, merge_tags = moonshark.add_tag, moonshark.merge_tags

-- Decodes message s (the DNS message itself, after any TCP length prefix) seen at time ts.
-- Always returns a table; whatever could not be read is left out and tagged.
local function parse(s, ts)
  local m = { ts = ts }
  if #s < 12 then
    m.id = #s >= 2 and unpack(">I2", s, 1) or nil
    m.tags = add_tag(m.tags, "not_dns")
    return m
  end
  local id, flags, qd, an, ns, ar = unpack(">I2I2I2I2I2I2", s, 1)
  m.id, m.qd, m.an, m.ns, m.ar = id, qd, an, ns, ar
  m.qr = flags & 0x8000 ~= 0
  m.aa = flags & 0x0400 ~= 0
  m.tc = flags & 0x0200 ~= 0
  m.rd = flags & 0x0100 ~= 0
  m.ra = flags & 0x0080 ~= 0
  m.z = (flags >> 4) & 7
  m.rcode = flags & 0xf
  local opcode = (flags >> 11) & 0xf
  if opcode ~= 0 then m.tags = add_tag(m.tags, OPCODES[opcode] or ("opcode-" .. opcode)) end
  local i = 13
  for q = 1, qd do
    local name, after = read_name(s, i)
    if not name then m.tags = add_tag(m.tags, after); return m end
    if after + 3 > #s then m.tags = add_tag(m.tags, "truncated"); return m end
    if q == 1 then
      m.query = name
      m.qtype, m.qclass = unpack(">I2I2", s, after)
    end
    i = after + 4
  end
  if not m.qr then return m end
  local answers, ttls, na = {}, {}, 0
  m.answers, m.ttls = answers, ttls
  for _ = 1, an do
    local owner, after = read_name(s, i)
    if not owner then m.tags = add_tag(m.tags, after); return m end
    if after + 9 > #s then m.tags = add_tag(m.tags, "truncated"); return m end
    local t, _class, ttl, rdlen = unpack(">I2I2I4I2", s, after)
    local rd = after + 10
    if rd + rdlen - 1 > #s then m.tags = add_tag(m.tags, "truncated"); return m end
    local text = rdata_text(s, t, rd, rdlen, owner)
    if not text then
      m.tags = add_tag(m.tags, "bad_rdata")
    elseif text ~= "" then
      if na < MAX_ANSWERS then
        na = na + 1
        answers[na] = text
        ttls[na] = format("%.6f", ttl)
      else
        m.tags = add_tag(m.tags, "answer_limit")
      end
    end
    i = rd + rdlen
  end
  return m
end

-- ---- pairing and logging ---------------------------------------------------------------------

local function log(conn, q, r)
  local id = conn.id
  local m = q or r
  -- the question: the query's, else the reply's (Zeek leaves it unset for a lone reply)
  local asked = (q and q.query and q) or (r and r.query and r) or m
  local tags = merge_tags(q and q.tags, r and r.tags)
  local rcode, rtt, rejected, answers, ttls = nil, nil, false, nil, nil
  if r and r.rcode then
    rcode = r.rcode
    rejected = (r.qd > 0 and r.an + r.ns + r.ar == 0) or (r.qd == 0 and rcode ~= 0)
    if r.answers and r.answers[1] then answers, ttls = r.answers, r.ttls end
    if q and r.ts >= q.ts then rtt = r.ts - q.ts end
  end
  local qtype, qclass = asked.qtype, asked.qclass
  -- RD and Z as the query set them (Zeek's choice), TC as the reply did when there is one
  write_dns(m.ts, conn.uid, id.orig_h, id.orig_p, id.resp_h, id.resp_p, conn.proto, m.id, rtt,
    asked.query, qclass, qclass and qclass_name(qclass), qtype, qtype and qtype_name(qtype),
    rcode, rcode and (RCODES[rcode] or ("rcode-" .. rcode)),
    r and r.aa or false, (r and r.tc) or (q and q.tc) or false, m.rd or false, r and r.ra or false,
    m.z, answers, ttls, rejected, tags)
end

-- Per connection: st.q[id] and st.r[id] hold the unpaired queries and replies of a transaction
-- id in arrival order. A query pairs with the oldest unpaired reply of its id captured no earlier
-- than itself, a reply with the oldest unpaired query captured no later: a reply cannot answer a
-- query sent after it (mDNS, where every message has id 0, would pair anything otherwise). Whole
-- directions may arrive in either order over TCP; the pairs come out the same.
local function state(conn)
  local st = conn.dns
  if not st then
    st = { q = {}, r = {}, pending = 0, seq = 0 }
    conn.dns = st
  end
  return st
end

-- Logs every unpaired message, oldest first (by capture time, then arrival).
local function flush(conn, st)
  local all = {}
  for _, kind in ipairs{ st.q, st.r } do
    for _, list in pairs(kind) do
      for k = 1, #list do all[#all + 1] = list[k] end
    end
  end
  table.sort(all, function(a, b)
    if a.ts ~= b.ts then return a.ts < b.ts end
    return a.seq < b.seq
  end)
  st.q, st.r, st.pending = {}, {}, 0
  for k = 1, #all do
    local m = all[k]
    if m.qr then log(conn, nil, m) else log(conn, m, nil) end
  end
end

-- One message s at time ts; cut: the stream ended inside it.
local function message(conn, s, ts, cut)
  local m = parse(s, ts)
  if cut then m.tags = add_tag(m.tags, "truncated") end
  local st = state(conn)
  if m.qr == nil then log(conn, m, nil); return end     -- not a DNS message: logged, tagged
  st.seq = st.seq + 1
  m.seq = st.seq
  local mine, other = st.q, st.r
  if m.qr then mine, other = st.r, st.q end
  local list = other[m.id]
  if list then
    for k = 1, #list do
      local peer = list[k]
      if (m.qr and peer.ts <= ts) or (not m.qr and peer.ts >= ts) then
        table.remove(list, k)
        if #list == 0 then other[m.id] = nil end
        st.pending = st.pending - 1
        if m.qr then log(conn, peer, m) else log(conn, m, peer) end
        return
      end
    end
  end
  list = mine[m.id]
  if not list then
    list = {}
    mine[m.id] = list
  end
  list[#list + 1] = m
  st.pending = st.pending + 1
  if st.pending > MAX_PENDING then flush(conn, st) end   -- a broken peer or lost traffic
end

-- ---- the protocol ------------------------------------------------------------------------------

local p = moonshark.protocol{ name = "dns", tcp_ports = {53}, udp_ports = {53, 5353, 5355} }

function p.on_datagram(conn, dir, b)
  message(conn, b:str(), moonshark.now())
end

-- TCP: each message is preceded by its length (RFC 1035 4.2.2). A message cut by the end of the
-- stream is still decoded as far as it goes; a gap loses the framing, so the direction stops.
local function tcp_reader(r)
  local conn = r.conn
  while true do
    local ok, err = pcall(function()
      local head = r:peek(2)
      if not head then return false end
      local ts = r:time()
      if #head < 2 then r:skip(#head); return false end
      local len = unpack(">I2", head)
      local whole = r:peek(2 + len)
      r:skip(#whole)
      message(conn, sub(whole, 3), ts, #whole < 2 + len)
      return #whole == 2 + len
    end)
    if not ok then
      if moonshark.is_gap(err) then r:skip_all(); return end
      error(err, 0)
    end
    if not err then return end
  end
end

p.client = tcp_reader
p.server = tcp_reader

function p.on_close(conn, reason)
  local st = conn.dns
  if st and st.pending > 0 then flush(conn, st) end
end

return p
