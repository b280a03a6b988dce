-- dns_queries.lua — sample parser for UDP: one record per DNS message (on_datagram).
-- Logs the transaction id, whether it is a query or a response, the question (name, type) and,
-- for responses, the rcode and the answer count.
-- Run: moonshark -s samples/dns_queries.lua capture.pcap --json
--
-- What it shows: on_datagram with the bytes view, bounds-checked reads (b:u16be returns nil past
-- the end), name decoding with compression pointers and a loop guard.

moonshark.log{ name = "dns_msg", fields = {
  {"ts", "time"}, {"uid", "string"},
  {"id.orig_h", "addr"}, {"id.orig_p", "port"}, {"id.resp_h", "addr"}, {"id.resp_p", "port"},
  {"trans_id", "count"}, {"qr", "bool"}, {"opcode", "count"}, {"query", "string"},
  {"qtype", "count"}, {"qtype_name", "string"}, {"rcode", "count"}, {"answers", "count"},
} }

local QTYPES = { [1] = "A", [2] = "NS", [5] = "CNAME", [6] = "SOA", [12] = "PTR", [15] = "MX",
                 [16] = "TXT", [28] = "AAAA", [33] = "SRV", [35] = "NAPTR", [41] = "OPT", [43] = "DS",
                 [46] = "RRSIG", [47] = "NSEC", [48] = "DNSKEY", [64] = "SVCB", [65] = "HTTPS",
                 [252] = "AXFR", [255] = "*" }

local p = moonshark.protocol{ name = "dns_queries", udp_ports = {53, 5353} }

-- Decodes the name at offset i (1-based). Returns the name and the offset after it (after the
-- first pointer when compressed), or nil when the name runs off the message or loops.
local function read_name(b, i)
  local labels, after, hops = {}, nil, 0
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
      if hops > 32 then return nil end
      i = (ptr & 0x3fff) + 1
    elseif len >= 0x40 then
      return nil                       -- reserved label types
    else
      if i + len > #b then return nil end
      labels[#labels + 1] = b:sub(i + 1, i + len)
      if #labels > 127 then return nil end
      i = i + 1 + len
    end
  end
  return table.concat(labels, "."), after
end

function p.on_datagram(conn, dir, b)
  if #b < 12 then return end
  local id = conn.id
  local flags = b:u16be(3)
  local qdcount, ancount = b:u16be(5), b:u16be(7)
  local rec = {
    ts = moonshark.now and moonshark.now() or nil,  -- capture time, where the runtime offers it
    uid = conn.uid,
    ["id.orig_h"] = id.orig_h, ["id.orig_p"] = id.orig_p,
    ["id.resp_h"] = id.resp_h, ["id.resp_p"] = id.resp_p,
    trans_id = b:u16be(1), qr = (flags & 0x8000) ~= 0, opcode = (flags >> 11) & 0xf,
  }
  if rec.qr then
    rec.rcode = flags & 0xf
    rec.answers = ancount
  end
  if qdcount >= 1 then
    local name, after = read_name(b, 13)
    if name then
      rec.query = name == "" and "." or name
      rec.qtype = b:u16be(after)
      rec.qtype_name = rec.qtype and QTYPES[rec.qtype] or nil
    end
  end
  moonshark.emit("dns_msg", rec)
end
