-- x509.lua — a minimal DER walk of an X.509 certificate (RFC 5280 4.1) for moonshark.x509.names:
-- the subject and issuer as RFC 2253 strings, written the way OpenSSL's XN_FLAG_RFC2253 writes
-- them (what Zeek logs): the RDNs last first, ',' between them and '+' inside one, OpenSSL's short
-- attribute names, values as UTF-8 with ,+"\<>; escaped by a backslash, other bytes past 0x7e
-- and controls as \XX, and values of unknown attribute types or of non-string types as #hex of
-- their DER. Reads nothing but the tbsCertificate's header fields; every read is bounded.

local byte, sub, format, concat, char = string.byte, string.sub, string.format, table.concat, string.char

-- The TLV at position i (not past stop) of s: tag, first and last content positions, next
-- position; nil when it does not fit or is not DER (indefinite or over-long lengths).
local function tlv(s, i, stop)
  if i + 1 > stop then return nil end
  local tag, l = byte(s, i, i + 1)
  if tag & 0x1f == 0x1f then return nil end           -- high tag numbers: none in these fields
  local start = i + 2
  if l >= 0x80 then
    local n = l & 0x7f
    if n == 0 or n > 3 or i + 1 + n > stop then return nil end
    l = 0
    for k = 1, n do l = l * 256 + byte(s, i + 1 + k) end
    start = i + 2 + n
  end
  local last = start + l - 1
  if last > stop then return nil end
  return tag, start, last, last + 1
end

-- OpenSSL's short names for the attribute types seen in certificate names.
local SHORT = {
  ["2.5.4.3"] = "CN", ["2.5.4.4"] = "SN", ["2.5.4.5"] = "serialNumber", ["2.5.4.6"] = "C",
  ["2.5.4.7"] = "L", ["2.5.4.8"] = "ST", ["2.5.4.9"] = "street", ["2.5.4.10"] = "O",
  ["2.5.4.11"] = "OU", ["2.5.4.12"] = "title", ["2.5.4.13"] = "description",
  ["2.5.4.14"] = "searchGuide", ["2.5.4.15"] = "businessCategory", ["2.5.4.16"] = "postalAddress",
  ["2.5.4.17"] = "postalCode", ["2.5.4.18"] = "postOfficeBox", ["2.5.4.20"] = "telephoneNumber",
  ["2.5.4.41"] = "name", ["2.5.4.42"] = "GN", ["2.5.4.43"] = "initials",
  ["2.5.4.44"] = "generationQualifier", ["2.5.4.45"] = "x500UniqueIdentifier",
  ["2.5.4.46"] = "dnQualifier", ["2.5.4.51"] = "houseIdentifier", ["2.5.4.54"] = "dmdName",
  ["2.5.4.65"] = "pseudonym", ["2.5.4.72"] = "role", ["2.5.4.97"] = "organizationIdentifier",
  ["1.2.840.113549.1.9.1"] = "emailAddress", ["1.2.840.113549.1.9.2"] = "unstructuredName",
  ["1.2.840.113549.1.9.8"] = "unstructuredAddress",
  ["0.9.2342.19200300.100.1.1"] = "UID", ["0.9.2342.19200300.100.1.25"] = "DC",
  ["1.3.6.1.4.1.311.60.2.1.1"] = "jurisdictionL", ["1.3.6.1.4.1.311.60.2.1.2"] = "jurisdictionST",
  ["1.3.6.1.4.1.311.60.2.1.3"] = "jurisdictionC",
}

-- The dotted form of the OID whose content is s[i .. last]; nil when malformed.
local function oid_text(s, i, last)
  if i > last then return nil end
  local parts, v = {}, 0
  for k = i, last do
    local b = byte(s, k)
    v = v * 128 + (b & 0x7f)
    if v > 2 ^ 53 then return nil end
    if b < 0x80 then
      if #parts == 0 then
        local first = v < 80 and v // 40 or 2
        parts[1], parts[2] = first, v - first * 40
      else
        parts[#parts + 1] = v
      end
      v = 0
    elseif k == last then
      return nil                                       -- the last byte continues
    end
  end
  for k = 1, #parts do parts[k] = format("%d", parts[k]) end
  return concat(parts, ".")
end

local function utf8_char(cp)
  if cp < 0x80 then return char(cp) end
  if cp < 0x800 then return char(0xc0 | cp >> 6, 0x80 | cp & 0x3f) end
  if cp < 0x10000 then return char(0xe0 | cp >> 12, 0x80 | (cp >> 6) & 0x3f, 0x80 | cp & 0x3f) end
  return char(0xf0 | cp >> 18, 0x80 | (cp >> 12) & 0x3f, 0x80 | (cp >> 6) & 0x3f, 0x80 | cp & 0x3f)
end

-- The characters of a string value as code points: UTF8String decoded, BMPString two bytes
-- each, UniversalString four, every other string type one byte each (OpenSSL reads T61String
-- and the rest as Latin-1). nil for an undecodable value.
local function code_points(tag, s, i, last)
  local cps = {}
  if tag == 0x0c then
    local k = i
    while k <= last do
      local b = byte(s, k)
      local n, cp = 0, b
      if b >= 0xf0 and b < 0xf8 then n, cp = 3, b & 0x07
      elseif b >= 0xe0 then n, cp = 2, b & 0x0f
      elseif b >= 0xc0 then n, cp = 1, b & 0x1f
      elseif b >= 0x80 then return nil end
      if k + n > last then return nil end
      for j = 1, n do
        local c = byte(s, k + j)
        if c & 0xc0 ~= 0x80 then return nil end
        cp = cp << 6 | c & 0x3f
      end
      cps[#cps + 1] = cp
      k = k + 1 + n
    end
  elseif tag == 0x1e then
    if (last - i + 1) % 2 ~= 0 then return nil end
    for k = i, last, 2 do cps[#cps + 1] = byte(s, k) << 8 | byte(s, k + 1) end
  elseif tag == 0x1c then
    if (last - i + 1) % 4 ~= 0 then return nil end
    for k = i, last, 4 do
      local a, b, c, d = byte(s, k, k + 3)
      cps[#cps + 1] = a << 24 | b << 16 | c << 8 | d
    end
  else
    for k = i, last do cps[#cps + 1] = byte(s, k) end
  end
  return cps
end

-- ASN.1 string types OpenSSL prints as text (the others it dumps as #hex).
local TEXT_TYPES = { [0x0c] = true, [0x12] = true, [0x13] = true, [0x14] = true, [0x15] = true,
                     [0x16] = true, [0x17] = true, [0x18] = true, [0x19] = true, [0x1a] = true,
                     [0x1b] = true, [0x1c] = true, [0x1e] = true }
local SPECIAL = { [","] = true, ["+"] = true, ['"'] = true, ["\\"] = true, ["<"] = true,
                  [">"] = true, [";"] = true }

local function hex_der(s, from, last)
  return "#" .. (sub(s, from, last):gsub(".", function(c) return format("%02X", byte(c)) end))
end

-- The RFC 2253 text of the value whose TLV starts at `from` (tag, content i..last).
local function value_text(s, from, tag, i, last, known_type)
  if not known_type or not TEXT_TYPES[tag] then return hex_der(s, from, last) end
  local cps = code_points(tag, s, i, last)
  if not cps then return hex_der(s, from, last) end
  local out = {}
  for k = 1, #cps do
    local cp = cps[k]
    local c = cp < 0x80 and char(cp) or nil
    if c and SPECIAL[c] then
      out[#out + 1] = "\\" .. c
    elseif c and (c == "#" or c == " ") and k == 1 then
      out[#out + 1] = "\\" .. c
    elseif c == " " and k == #cps then
      out[#out + 1] = "\\ "
    elseif cp < 0x20 or cp == 0x7f then
      out[#out + 1] = format("\\%02X", cp)
    elseif cp >= 0x80 then
      out[#out + 1] = (utf8_char(cp):gsub(".", function(b) return format("\\%02X", byte(b)) end))
    else
      out[#out + 1] = c
    end
  end
  return concat(out)
end

-- The RFC 2253 text of the Name whose content is s[i .. last]; nil when malformed.
local function name_text(s, i, last)
  local avas = {}                                      -- {text, rdn index} in DER order
  local rdn = 0
  while i <= last do
    local tag, si, sl, nexti = tlv(s, i, last)
    if tag ~= 0x31 then return nil end                 -- RelativeDistinguishedName: SET
    rdn = rdn + 1
    local j = si
    while j <= sl do
      local t2, ai, al, nextj = tlv(s, j, sl)
      if t2 ~= 0x30 then return nil end                -- AttributeTypeAndValue: SEQUENCE
      local t3, oi, ol, vpos = tlv(s, ai, al)
      if t3 ~= 0x06 then return nil end
      local oid = oid_text(s, oi, ol)
      if not oid then return nil end
      local t4, vi, vl = tlv(s, vpos, al)
      if not t4 then return nil end
      local short = SHORT[oid]
      avas[#avas + 1] = { (short or oid) .. "=" .. value_text(s, vpos, t4, vi, vl, short ~= nil), rdn }
      j = nextj
    end
    i = nexti
  end
  local out = {}
  for k = #avas, 1, -1 do
    if k < #avas then out[#out + 1] = (avas[k][2] == avas[k + 1][2]) and "+" or "," end
    out[#out + 1] = avas[k][1]
  end
  return concat(out)
end

-- subject, issuer of the DER certificate der (strings, "" for an empty name), or nil and a
-- reason when the certificate's header cannot be read.
local function names(der)
  local n = #der
  local tag, ci, cl = tlv(der, 1, n)
  if tag ~= 0x30 then return nil, "not a certificate" end
  local t2, ti, tl = tlv(der, ci, cl)
  if t2 ~= 0x30 then return nil, "no tbsCertificate" end
  local pos = ti
  local t, _, _, nextp = tlv(der, pos, tl)
  if t == 0xa0 then pos = nextp; t, _, _, nextp = tlv(der, pos, tl) end   -- [0] version
  if t ~= 0x02 then return nil, "no serial number" end
  pos = nextp
  t, _, _, nextp = tlv(der, pos, tl)                   -- signature AlgorithmIdentifier
  if t ~= 0x30 then return nil, "no signature algorithm" end
  local ti2, ii, il, after_issuer = tlv(der, nextp, tl)
  if ti2 ~= 0x30 then return nil, "no issuer" end
  local tv, _, _, after_validity = tlv(der, after_issuer, tl)
  if tv ~= 0x30 then return nil, "no validity" end
  local ts, si, sl = tlv(der, after_validity, tl)
  if ts ~= 0x30 then return nil, "no subject" end
  local subject, issuer = name_text(der, si, sl), name_text(der, ii, il)
  if not subject or not issuer then return nil, "bad name" end
  return subject, issuer
end

moonshark.x509 = { names = names }
