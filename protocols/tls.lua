-- tls.lua — the TLS log (Zeek ssl.log fields), reader style on both directions: TLS records are
-- read whole however the segments cut them, handshake messages are joined across records, and
-- each side is followed until its first encrypted record. One record per connection, written
-- when both sides are past their handshake (or at the end): versions, cipher, curve, SNI, ALPN,
-- certificate chains (TLS 1.2 and older), JA3, JA3S and JA4 fingerprints. Every field depends on
-- one direction's bytes only (ssl_history and last_alert on capture times), so the record does
-- not depend on how the two directions interleave. Fields: docs/dns-tls.md.

local CLIENT, SERVER = moonshark.CLIENT, moonshark.SERVER
local names, x509 = moonshark.tls_names, moonshark.x509
local md5, sha256 = moonshark.md5, moonshark.sha256
local byte, sub, unpack, format = string.byte, string.sub, string.unpack, string.format
local concat, sort = table.concat, table.sort

local MAX_RECORD = 16384 + 2048   -- TLSCiphertext limit (RFC 5246 6.2.3)
local MAX_HANDSHAKE = 1 << 20     -- bytes of one handshake message kept (certificate chains)
local MAX_CERTS = 32              -- certificates kept of one chain
local MAX_HISTORY = 100           -- letters of ssl_history (Zeek's max_ssl_history_length)

local write_ssl = moonshark.log{ name = "ssl", fields = {
  {"ts", "time"}, {"uid", "string"},
  {"id.orig_h", "addr"}, {"id.orig_p", "port"}, {"id.resp_h", "addr"}, {"id.resp_p", "port"},
  {"version", "string"}, {"cipher", "string"}, {"curve", "string"}, {"server_name", "string"},
  {"resumed", "bool"}, {"last_alert", "string"}, {"next_protocol", "string"},
  {"established", "bool"}, {"ssl_history", "string"},
  {"cert_chain_fps", "set"}, {"client_cert_chain_fps", "set"},
  {"subject", "string"}, {"issuer", "string"}, {"client_subject", "string"},
  {"client_issuer", "string"}, {"ja3", "string"}, {"ja3s", "string"}, {"ja4", "string"},
  {"tags", "set"},
} }

-- GREASE (RFC 8701): 0x?a?a with both bytes equal. Left out of every fingerprint.
local function grease(v) return v & 0x0f0f == 0x0a0a and v >> 8 == v & 0xff end

local add_tag, merge_tags = moonshark.add_tag, moonshark.merge_tags

-- The 16-bit values of s[i .. last] (a list in a hello), GREASE left out when drop_grease.
local function u16_list(s, i, last, drop_grease)
  local out = {}
  for k = i, last - 1, 2 do
    local v = unpack(">I2", s, k)
    if not (drop_grease and grease(v)) then out[#out + 1] = v end
  end
  return out
end

-- ---- fingerprints ---------------------------------------------------------------------------

local JA4_VERSIONS = { [0x0304] = "13", [0x0303] = "12", [0x0302] = "11", [0x0301] = "10",
                       [0x0300] = "s3", [0x0002] = "s2", [0xfeff] = "d1", [0xfefd] = "d2",
                       [0xfefc] = "d3" }

local function alnum(c) return c and ((c >= 0x30 and c <= 0x39) or (c >= 0x41 and c <= 0x5a) or
                                      (c >= 0x61 and c <= 0x7a)) end

-- JA4 part a's last two characters: first and last of the first ALPN value, or of its hex
-- form when either is not alphanumeric; "00" without one.
local function ja4_alpn(v)
  if not v or v == "" then return "00" end
  local f, l = byte(v, 1), byte(v, #v)
  if alnum(f) and alnum(l) then return string.char(f, l) end
  local h = format("%02x", f) .. format("%02x", l)
  return sub(h, 1, 1) .. sub(h, 4, 4)
end

local function hex4_list(list)
  local out = {}
  for k = 1, #list do out[k] = format("%04x", list[k]) end
  return out
end

local function two_digits(n) return format("%02d", n > 99 and 99 or n) end

-- JA4 (FoxIO's TLS client fingerprint over TCP) of a parsed ClientHello.
local function ja4(ch)
  local version = ch.version
  if ch.versions then
    local best = nil
    for _, v in ipairs(ch.versions) do if not grease(v) and (not best or v > best) then best = v end end
    version = best or version
  end
  local exts, sorted_exts = 0, {}
  for _, e in ipairs(ch.exts) do
    exts = exts + 1
    if e ~= 0x0000 and e ~= 0x0010 then sorted_exts[#sorted_exts + 1] = e end
  end
  local ciphers = {}
  for k, c in ipairs(ch.ciphers) do ciphers[k] = c end
  sort(ciphers)
  sort(sorted_exts)
  local a = "t" .. (JA4_VERSIONS[version] or "00") .. (ch.has_sni and "d" or "i") ..
            two_digits(#ciphers) .. two_digits(exts) .. ja4_alpn(ch.alpn and ch.alpn[1])
  local b = #ciphers > 0 and sub(sha256(concat(hex4_list(ciphers), ",")), 1, 12) or "000000000000"
  local c = "000000000000"
  if #sorted_exts > 0 then
    local text = concat(hex4_list(sorted_exts), ",")
    if ch.sigalgs and #ch.sigalgs > 0 then text = text .. "_" .. concat(hex4_list(ch.sigalgs), ",") end
    c = sub(sha256(text), 1, 12)
  end
  return a .. "_" .. b .. "_" .. c
end

local function dashed(list) return concat(list, "-") end

-- ---- hellos ---------------------------------------------------------------------------------

-- Calls fn(type, data_first, data_last) for each extension of the block at position i of s;
-- returns the list of extension types (all of them, GREASE too). Stops at a malformed one.
local function extensions(s, i, fn)
  local types = {}
  if i + 1 > #s then return types end
  local stop = i + 1 + unpack(">I2", s, i)
  if stop > #s then stop = #s end
  i = i + 2
  while i + 3 <= stop do
    local t, l = unpack(">I2I2", s, i)
    local first, last = i + 4, i + 3 + l
    if last > stop then break end
    types[#types + 1] = t
    fn(t, first, last)
    i = last + 1
  end
  return types
end

-- The names of an ALPN list (ext 16) in s[i .. last].
local function alpn_list(s, i, last)
  local out, j = {}, i + 2
  while j <= last do
    local l = byte(s, j)
    if j + l > last then break end
    out[#out + 1] = sub(s, j + 1, j + l)
    j = j + 1 + l
  end
  return out
end

-- Parses a ClientHello body into a table (fields left nil that it could not reach).
local function client_hello(b)
  local ch = { exts = {}, ciphers = {} }
  ch.version = unpack(">I2", b, 1)
  local i = 35
  local sid = byte(b, i)
  ch.session_id = sub(b, i + 1, i + sid)
  i = i + 1 + sid
  local cs_len = unpack(">I2", b, i)
  if i + 1 + cs_len > #b then error("cipher list past the hello") end
  ch.all_ciphers = u16_list(b, i + 2, i + 1 + cs_len, false)
  for _, c in ipairs(ch.all_ciphers) do if not grease(c) then ch.ciphers[#ch.ciphers + 1] = c end end
  i = i + 2 + cs_len
  i = i + 1 + byte(b, i)                               -- compression methods
  local types = extensions(b, i, function(t, first, last)
    if t == 0 then
      ch.has_sni = true
      -- server_name_list: (type, length, name)...; the first host_name (RFC 6066 3)
      local j = first + 2
      while j + 2 <= last do
        local nt, nl = byte(b, j), unpack(">I2", b, j + 1)
        if j + 2 + nl > last then break end
        if nt == 0 and not ch.sni then ch.sni = sub(b, j + 3, j + 2 + nl) end
        j = j + 3 + nl
      end
    elseif t == 10 and last >= first + 1 then
      ch.groups = u16_list(b, first + 2, math.min(last, first + 1 + unpack(">I2", b, first)), true)
    elseif t == 11 and last >= first then
      ch.formats = { byte(b, first + 1, math.min(last, first + byte(b, first))) }
    elseif t == 13 and last >= first + 1 then
      ch.sigalgs = u16_list(b, first + 2, math.min(last, first + 1 + unpack(">I2", b, first)), true)
    elseif t == 16 and last >= first + 1 then
      ch.alpn = alpn_list(b, first, last)
    elseif t == 43 and last >= first then
      ch.versions = u16_list(b, first + 1, math.min(last, first + byte(b, first)), false)
    elseif t == 35 and last >= first then
      ch.ticket = true                                 -- a non-empty SessionTicket
    elseif t == 41 then
      ch.psk = true
    end
  end)
  for _, t in ipairs(types) do if not grease(t) then ch.exts[#ch.exts + 1] = t end end
  local gr, fm = ch.groups or {}, ch.formats or {}
  ch.ja3 = ch.version .. "," .. dashed(ch.ciphers) .. "," .. dashed(ch.exts) .. "," .. dashed(gr) ..
           "," .. dashed(fm)
  return ch
end

-- The random a HelloRetryRequest carries (RFC 8446 4.1.3).
local HRR_RANDOM = "\xcf\x21\xad\x74\xe5\x9a\x61\x11\xbe\x1d\x8c\x02\x1e\x65\xb8\x91" ..
                   "\xc2\xa2\x11\x16\x7a\xbb\x8c\x5e\x07\x9e\x09\xe2\xc8\xa8\x33\x9c"

local function server_hello(b)
  local sh = {}
  sh.version = unpack(">I2", b, 1)
  sh.hrr = sub(b, 3, 34) == HRR_RANDOM
  local i = 35
  if sh.version >= 0x7f00 and sh.version <= 0x7f15 then
    -- TLS 1.3 drafts up to 21: no session id and no compression method
    sh.session_id = ""
    sh.cipher = unpack(">I2", b, i)
    i = i + 2
  else
    local sid = byte(b, i)
    sh.session_id = sub(b, i + 1, i + sid)
    i = i + 1 + sid
    sh.cipher = unpack(">I2", b, i)
    i = i + 3                                          -- cipher, compression method
  end
  local exts = {}
  local types = extensions(b, i, function(t, first, last)
    if t == 43 and last == first + 1 then
      sh.selected = unpack(">I2", b, first)
    elseif (t == 51 or t == 40) and last >= first + 1 then
      sh.group = unpack(">I2", b, first)               -- key_share (40 in drafts), or the HRR's group
    elseif t == 16 and last >= first + 1 then
      sh.alpn = alpn_list(b, first, last)[1]
    elseif t == 41 then
      sh.psk = true
    end
  end)
  for _, t in ipairs(types) do if not grease(t) then exts[#exts + 1] = t end end
  sh.ja3s = sh.version .. "," .. sh.cipher .. "," .. dashed(exts)
  return sh
end

-- The DER certificates of a Certificate message (TLS 1.3 form when tls13: a request context and
-- extensions per certificate).
local function certificates(b, tls13)
  local certs, i = {}, 1
  if tls13 then i = i + 1 + byte(b, 1) end
  local stop = i + 2 + unpack(">I3", b, i)
  if stop > #b then stop = #b end
  i = i + 3
  while i + 2 <= stop and #certs < MAX_CERTS do
    local l = unpack(">I3", b, i)
    if i + 2 + l > stop then break end
    certs[#certs + 1] = sub(b, i + 3, i + 2 + l)
    i = i + 3 + l
    if tls13 then i = i + 2 + unpack(">I2", b, i) end
  end
  return certs
end

-- ---- per-side reading ----------------------------------------------------------------------

local LETTERS = { [0] = "h", [1] = "c", [2] = "s", [3] = "v", [4] = "t", [5] = "e", [6] = "j",
                  [8] = "o", [11] = "x", [12] = "k", [13] = "r", [14] = "n", [15] = "y", [16] = "g",
                  [20] = "f", [21] = "w", [22] = "u", [23] = "a", [24] = "p", [254] = "m" }

local function state(conn)
  local st = conn.tls
  if not st then
    st = { [CLIENT] = { hist = {} }, [SERVER] = { hist = {} } }
    conn.tls = st
  end
  return st
end

local function letter(sd, dir, ts, l)
  local h = sd.hist
  if #h < MAX_HISTORY then h[#h + 1] = { ts, dir, #h + 1, dir == CLIENT and l:upper() or l } end
end

-- TLS 1.3, its drafts (0x7fNN), Google's experiments (0x7eNN) and Facebook's drafts (0xfbNN).
local function tls13_family(v)
  return v == 0x0304 or (v >= 0x7e00 and v <= 0x7fff) or (v >> 8) == 0xfb
end

-- One complete handshake message of side dir.
local function handshake(st, sd, dir, mtype, body, ts)
  local l = LETTERS[mtype] or "z"
  if dir == CLIENT then
    if mtype == 1 then
      local ok, ch = pcall(client_hello, body)
      if not ok then sd.tags = add_tag(sd.tags, "bad_hello") end
      if ok and not st.ch then st.ch = ch end
      if ok and ch.psk then st.client_psk = true end  -- a second hello (after an HRR) may offer one
    elseif mtype == 11 then
      local ok, certs = pcall(certificates, body, false)
      if ok then st.client_certs = st.client_certs or certs else sd.tags = add_tag(sd.tags, "bad_certificate") end
    elseif mtype == 16 then
      sd.kex = true
    end
  else
    if mtype == 2 then
      local ok, sh = pcall(server_hello, body)
      if not ok then
        sd.tags = add_tag(sd.tags, "bad_hello")
      else
        if sh.hrr then l = "j" end
        if not st.sh or st.sh.hrr then st.sh = sh end  -- the real ServerHello over an HRR
        -- after a TLS 1.3 ServerHello (not a retry request) the server writes only ciphertext
        sd.tls13 = not sh.hrr and tls13_family(sh.selected or sh.version)
      end
    elseif mtype == 11 then
      local tls13 = st.sh and (st.sh.selected or st.sh.version) == 0x0304
      local ok, certs = pcall(certificates, body, tls13)
      if ok then st.server_certs = st.server_certs or certs else sd.tags = add_tag(sd.tags, "bad_certificate") end
    elseif mtype == 12 and st.sh then
      -- ServerKeyExchange of an (EC)DHE suite: ECParameters first (RFC 8422 5.4): named_curve
      local cname = names.ciphers[st.sh.cipher] or ""
      if cname:find("ECDH", 1, true) and byte(body, 1) == 3 and #body >= 3 then
        sd.curve = unpack(">I2", body, 2)
      end
    end
  end
  letter(sd, dir, ts, l)
end

-- Joins the handshake bytes of records into messages (RFC 5246 6.2.1: a message may span
-- records, a record may hold several). Parts are kept in a list and joined once, so a message
-- cut into many records costs its length, not its length squared; a message longer than
-- MAX_HANDSHAKE is passed over (counted in its letter, tagged) without being kept.
local function handshake_bytes(st, sd, dir, b, ts)
  local pos, n = 1, #b
  while pos <= n do
    if not sd.need then
      local take = math.min(4 - sd.have, n - pos + 1)
      sd.parts[#sd.parts + 1] = sub(b, pos, pos + take - 1)
      sd.have = sd.have + take
      pos = pos + take
      if sd.have == 4 then
        local head = concat(sd.parts)
        sd.mtype = byte(head, 1)
        local mlen = unpack(">I3", head, 2)
        sd.need = 4 + mlen
        sd.drop = mlen > MAX_HANDSHAKE
        if sd.drop then sd.tags = add_tag(sd.tags, "handshake_limit") end
        sd.parts = sd.drop and {} or { head }
      end
    else
      local take = math.min(sd.need - sd.have, n - pos + 1)
      if not sd.drop then sd.parts[#sd.parts + 1] = sub(b, pos, pos + take - 1) end
      sd.have = sd.have + take
      pos = pos + take
    end
    if sd.need and sd.have == sd.need then
      if sd.drop then
        letter(sd, dir, ts, LETTERS[sd.mtype] or "z")
      else
        handshake(st, sd, dir, sd.mtype, sub(concat(sd.parts), 5), ts)
      end
      sd.parts, sd.have, sd.need, sd.drop = {}, 0, nil, false
    end
  end
end

-- Reads one direction's records until it turns encrypted, ends, or stops being TLS.
local function read_records(r, st, sd, dir)
  sd.parts, sd.have = {}, 0
  while true do
    local head = r:peek(5)
    if not head then return end
    local ts = r:time()
    if #head < 5 then sd.tags = add_tag(sd.tags, "truncated"); return end
    local ctype, major, len = byte(head, 1), byte(head, 2), unpack(">I2", head, 4)
    if major ~= 3 or len > MAX_RECORD or ctype < 20 or (ctype > 24 and not sd.first_ts) then
      sd.tags = add_tag(sd.tags, sd.first_ts and "bad_record" or "not_tls")
      return
    end
    sd.first_ts = sd.first_ts or ts
    local encrypted = ctype == 23 or (sd.tls13 and ctype ~= 20)
    if sd.ccs and not encrypted then
      -- after a CCS, records are ciphertext (TLS 1.2 and older) unless this is TLS 1.3's
      -- compatibility CCS before a second ClientHello or the ServerHello after a retry request:
      -- a plaintext hello whose length fills the record (a ciphertext almost never looks so)
      local h = r:peek(9)
      local m = #h == 9 and byte(h, 6)
      encrypted = not (ctype == 22 and (m == 1 or m == 2) and unpack(">I3", h, 7) == len - 4)
    end
    if encrypted then
      sd.encrypted = true                              -- application data, or after its CCS
      return
    end
    local rec = r:read(5 + len)
    if not rec then sd.tags = add_tag(sd.tags, "truncated"); return end
    if ctype == 22 then
      handshake_bytes(st, sd, dir, sub(rec, 6), ts)
    elseif ctype == 20 then
      letter(sd, dir, ts, "i")
      sd.ccs = true
      -- a client resuming with a session ticket sends no key exchange before its CCS (Zeek's rule)
      if dir == CLIENT and st.ch and st.ch.ticket and not sd.kex and
         (st.ch.session_id == "" or st.ch.session_id == string.rep("\0", 32)) then
        sd.ticket_resumed = true
      end
    elseif ctype == 21 then
      for k = 6, #rec - 1, 2 do
        letter(sd, dir, ts, "l")
        sd.alert, sd.alert_ts = byte(rec, k + 1), ts
      end
    elseif ctype == 24 then
      letter(sd, dir, ts, "b")
    else
      letter(sd, dir, ts, "q")
    end
  end
end

-- ---- the record ------------------------------------------------------------------------------

local function merged_history(c, s)
  local all = {}
  for _, e in ipairs(c.hist) do all[#all + 1] = e end
  for _, e in ipairs(s.hist) do all[#all + 1] = e end
  sort(all, function(a, b)
    if a[1] ~= b[1] then return a[1] < b[1] end
    if a[2] ~= b[2] then return a[2] < b[2] end
    return a[3] < b[3]
  end)
  local out = {}
  for k = 1, math.min(#all, MAX_HISTORY) do out[k] = all[k][4] end
  return concat(out)
end

local function chain(certs)
  if not certs or #certs == 0 then return nil end
  local fps = {}
  for k, der in ipairs(certs) do fps[k] = sha256(der) end
  local subject, issuer = x509.names(certs[1])
  return fps, subject, issuer
end

local function log(conn, st)
  if st.logged then return end
  st.logged = true
  local c, s, ch, sh = st[CLIENT], st[SERVER], st.ch, st.sh
  local id = conn.id
  local ts = c.first_ts
  if not ts or (s.first_ts and s.first_ts < ts) then ts = s.first_ts end
  local version, cipher, curve, resumed, next_protocol, ja3s = nil, nil, nil, false, nil, nil
  if sh then
    local v = sh.selected or sh.version
    version = names.version(v)
    cipher = names.cipher(sh.cipher)
    if sh.group then curve = names.group(sh.group) end
    next_protocol = sh.alpn
    ja3s = md5(sh.ja3s)
    if ch then
      -- TLS 1.3 and its drafts and experiments echo the client's session id without resuming
      if not tls13_family(v) and #ch.session_id > 0 and ch.session_id ~= string.rep("\0", 32) and
         sh.session_id == ch.session_id then
        resumed = true
      end
      if st.client_psk and sh.psk then resumed = true end
    end
  end
  if s.curve then curve = names.group(s.curve) end
  if c.ticket_resumed then resumed = true end
  local alert, alert_ts = c.alert, c.alert_ts
  if s.alert and (not alert or s.alert_ts >= alert_ts) then alert = s.alert end
  local fps, subject, issuer = chain(st.server_certs)
  local cfps, csubject, cissuer = chain(st.client_certs)
  local tags = merge_tags(c.tags, s.tags)
  write_ssl(ts, conn.uid, id.orig_h, id.orig_p, id.resp_h, id.resp_p,
    version, cipher, curve, ch and ch.sni, resumed, alert and names.alert(alert), next_protocol,
    (c.encrypted and s.encrypted) or false, merged_history(c, s),
    fps, cfps, subject, issuer, csubject, cissuer,
    ch and md5(ch.ja3), ja3s, ch and ja4(ch), tags)
end

local function side(r)
  local conn, dir = r.conn, r.dir
  local st = state(conn)
  local sd = st[dir]
  local ok, err = pcall(read_records, r, st, sd, dir)
  if not ok then
    if not moonshark.is_gap(err) then error(err, 0) end
    sd.tags = add_tag(sd.tags, "gap")
  end
  sd.done = true
  local other = st[dir ~ 1]
  if other.done and (st[CLIENT].first_ts or st[SERVER].first_ts) then log(conn, st) end
  r:skip_all()
end

-- ---- the protocol ------------------------------------------------------------------------------

-- A TLS handshake record with a ClientHello or ServerHello, or an SSL 2.0-framed ClientHello.
local function looks_like_tls(b, dir)
  local t, major, minor = b:u8(1), b:u8(2), b:u8(3)
  if t == 22 and major == 3 and minor and minor <= 4 then
    local m = b:u8(6)
    return m == 1 or m == 2
  end
  return false
end

local p = moonshark.protocol{ name = "tls",
  tcp_ports = {443, 563, 585, 614, 636, 853, 989, 990, 992, 993, 995, 465, 5223, 8443},
  detect = looks_like_tls }

p.client = side
p.server = side

function p.on_close(conn, reason)
  local st = conn.tls
  if st and not st.logged and (st[CLIENT].first_ts or st[SERVER].first_ts) then log(conn, st) end
end

return p
