-- http.lua — HTTP/1.0 and 1.1 request log (Zeek http.log fields), reader style on both directions.
-- One record per request, with its response when one is seen; requests never answered are
-- emitted when the connection ends. Bodies are skipped on the C side (r:skip), never read into Lua.
-- Field semantics are documented in docs/http-log.md.

local CLIENT, SERVER = moonshark.CLIENT, moonshark.SERVER

local LINE_MAX = 16384        -- request line / status line / chunk-size line
local HEADER_MAX = 65536      -- all header lines of one message (and of a chunked trailer)
local MAX_PENDING = 256       -- transactions waiting for their other half, per connection
local BIG = 1 << 62           -- a Content-Length or chunk size too large to be real

local write_http = moonshark.log{ name = "http", fields = {
  {"ts", "time"}, {"uid", "string"},
  {"id.orig_h", "addr"}, {"id.orig_p", "port"}, {"id.resp_h", "addr"}, {"id.resp_p", "port"},
  {"trans_depth", "count"}, {"method", "string"}, {"host", "string"}, {"uri", "string"},
  {"referrer", "string"}, {"version", "string"}, {"user_agent", "string"}, {"origin", "string"},
  {"request_body_len", "count"}, {"response_body_len", "count"},
  {"status_code", "count"}, {"status_msg", "string"}, {"info_code", "count"}, {"info_msg", "string"},
  {"tags", "set"}, {"username", "string"}, {"password", "string"}, {"proxied", "set"},
  {"orig_fuids", "set"}, {"orig_filenames", "set"}, {"orig_mime_types", "set"},
  {"resp_fuids", "set"}, {"resp_filenames", "set"}, {"resp_mime_types", "set"},
}, table = { "ts", "method", "host", "uri", "status_code", "response_body_len", "id.orig_h",  -- (daily)
             "id.resp_h", "id.resp_p", "user_agent" } }  -- what a narrow table keeps longest

-- ---------------------------------------------------------------------------------------------
-- Line grammar
--
-- Each message goes through these once. In this Lua every call into a C function (string.byte,
-- sub, find, ...) costs several hundred machine instructions, so the common shapes
-- (`GET /x HTTP/1.1`, `HTTP/1.1 200 OK`) are taken with one pattern call that has no
-- character sets and no backtracking; anything else goes to the general patterns, which decide
-- what is accepted and what is returned (the quick forms accept only lines on which both give
-- the same answer).

local find, sub, lower, upper = string.find, string.sub, string.lower, string.upper
local match, tonumber = string.match, tonumber

-- Small memo tables for values that repeat across messages (methods, media types); bounded so
-- hostile input cannot grow them. Callers look in the table first and call the function only on
-- a miss.
local MEMO_MAX = 512
local function memo(fn)
  local cache, n = {}, 0
  return cache, function(v)
    local r = cache[v]
    if r == nil then
      r = fn(v)
      if n < MEMO_MAX then cache[v] = r; n = n + 1 end
    end
    return r
  end
end

-- The version keyword "HTTP/", in upper or in lower case (R6; mixed case is not taken): at
-- position i of s, or the first one at or after i.
local function is_keyword(s, i)
  local k = sub(s, i, i + 4)
  return k == "HTTP/" or k == "http/"
end
local function keyword_at(s, i)
  local u, l = find(s, "HTTP/", i, true), find(s, "http/", i, true)
  if u and l then return u < l and u or l end
  return u or l
end

-- Upper-case form of a method (compared with "HEAD", "CONNECT"): UPPER[m] or upper_method(m).
local UPPER, upper_method = memo(upper)

-- The quick forms: the line is split at its spaces in C (moonshark.split), and each piece is
-- checked against a memo of what the general pattern says of it (methods, versions, codes and
-- reasons repeat across messages; targets do not). A Lua pattern with captures costs about 3,500
-- instructions on a request line, the split and the lookups about a third of that. The quick
-- forms accept only lines on which the general patterns give the same answer.
local split = moonshark.split
local TOKEN, token_of = memo(function(m) return match(m, "^[%w!#$%%&'*+%.^_`|~-]+$") ~= nil end)
-- "HTTP/1.1" (and blanks or a CR after it) at the end of a request line
local REQ_LINE_VERSION, req_line_version_of = memo(function(v)
  local major, minor = match(v, "^[Hh][Tt][Tt][Pp]/(%d)%.(%d)")
  if major and not is_keyword(v, 1) then major = nil end
  return major and (major .. "." .. minor) or false
end)
-- "HTTP/1.1" before the code of a status line
local STATUS_LINE_VERSION, status_line_version_of = memo(function(v)
  local major, minor = match(v, "^[Hh][Tt][Tt][Pp]/(%d)%.(%d)[^ \t]*$")
  if major and not is_keyword(v, 1) then major = nil end
  return major and (major .. "." .. minor) or false
end)
-- three digits as a number
local CODE, code_of = memo(function(c) return match(c, "^%d%d%d$") and tonumber(c) or false end)
-- a reason phrase without the blanks around it
local REASON, reason_of = memo(function(r) return (r:gsub("^[ \t]+", ""):gsub("[ \t\r]+$", "")) end)

-- The general request line (docs/http-log.md, rules R1-R4), read as Zeek's analyzer reads it:
-- a token, blanks, then the target: the run of URI characters and whatever follows it up to the
-- first "HTTP/" (either case) after that run, blanks before it trimmed. "HTTP/" with no target
-- before it gives an empty uri. The version is the d.d after "HTTP/" (crud after it ignored;
-- "x" when it is not d.d). No "HTTP/" at all: an HTTP/0.9 line (version nil) whose target is the
-- rest of the line, blanks at the end trimmed (Zeek's scan drops the last character or word
-- there; tshark keeps them, and so do we). Returns method, uri, version, or nil.
local URI_RUN = "^[%w:/?#%[%]@!$&'()*+,;=%-_.~%%]*()"
local function parse_request_line_slow(line)
  local method, rest = match(line, "^([%w!#$%%&'*+%.^_`|~-]+)[ \t]+(.*)$")
  if not method then return nil end
  local run_end = match(rest, URI_RUN)
  if run_end > #rest and is_keyword(rest, 1) then run_end = 1 end  -- no target
  local v = keyword_at(rest, run_end)
  if v then
    local uri = sub(rest, 1, v - 1):gsub("[ \t]+$", "")
    local major, minor = match(rest, "^(%d)%.(%d)", v + 5)
    return method, uri, major and (major .. "." .. minor) or "x"
  end
  local uri = match(rest, "^(.-)[ \t\r]*$")
  if uri == "" or #method < 3 then return nil end
  return method, uri, nil
end

-- method SP request-target SP HTTP/x.y (tabs and repeated spaces tolerated). Returns
-- method, uri, version ("1.1"), or nil.
local function parse_request_line(line)
  -- quick form: a token, one space, a target without spaces, one space, HTTP/x.y; no tab in the
  -- line (a tab next to the target would be trimmed by the general form) and no "TTP/" or "ttp/"
  -- inside the target (the general form would end the target at an "HTTP/" there)
  local method, uri, v = split(line, " ", 3)
  if v and uri ~= "" then
    local version = REQ_LINE_VERSION[v]
    if version == nil then version = req_line_version_of(v) end
    local token = TOKEN[method]
    if token == nil then token = token_of(method) end
    if version and token and not find(line, "\t", 1, true) and not find(uri, "TTP/", 1, true)
       and not find(uri, "ttp/", 1, true) then
      return method, uri, version
    end
  end
  return parse_request_line_slow(line)
end

-- The general status line, read as Zeek (and, for the code, tshark) read it: "HTTP/" in either
-- case, the version's d.d (else the version as sent), then after the first blank run three
-- characters: the code when they are digits, else 0 (as Zeek); the reason after the next blank
-- run. Not a status line: no blank after the version, fewer than three characters after it, or
-- a first code character that is not a digit (where Zeek gives up on the side, we resync).
local function parse_status_line_slow(line)
  if not is_keyword(line, 1) then return nil end
  local major, minor = match(line, "^(%d)%.(%d)", 6)
  local c = match(line, "^[^ \t]*[ \t]+()", 6)
  if not c or #line < c + 2 or not find(line, "^%d", c) then return nil end
  local code = tonumber(match(line, "^%d%d%d", c)) or 0
  local reason = match(line, "^[^ \t]*[ \t]+(.*)$", c + 3) or ""
  local version = major and (major .. "." .. minor) or match(line, "^[^ \t]*", 6)  -- as sent
  return version, code, (reason:gsub("[ \t\r]+$", ""))
end

-- HTTP/x.y SP 3DIGIT [SP reason]. Returns version, code, reason, or nil.
local function parse_status_line(line)
  -- quick form: HTTP/x.y, one space, three digits, then nothing or one space and the reason
  local v, c, reason = split(line, " ", 3)
  if c then
    local version = STATUS_LINE_VERSION[v]
    if version == nil then version = status_line_version_of(v) end
    local code = CODE[c]
    if code == nil then code = code_of(c) end
    if version and code then
      if not reason then return version, code, "" end
      local r = REASON[reason]
      if r == nil then r = reason_of(reason) end
      return version, code, r
    end
  end
  return parse_status_line_slow(line)
end

-- Content-Length value: the last of the (possibly repeated, ", "-joined) header's values, as Zeek
-- and tshark take it; 0 when it holds no number.
local function parse_length(v)
  if not v then return nil end
  -- the usual value, plain digits: tonumber with base 10 takes only blanks, a sign and digits
  -- (no hex, no exponent); 18 digits cannot wrap
  if #v <= 18 then
    local n = tonumber(v, 10)
    if n and n >= 0 then return n end
  end
  -- the last value of a repeated header (as Zeek and tshark take it); its leading digits (Zeek's
  -- reading: "12abc" is 12); no digits at all ("-5", "abc") is not a length: an empty body, as
  -- Zeek reads a bad Content-Length (RFC 9112 6.3 calls the framing invalid)
  local digits = match(match(v, "([^,]*)$"), "^[ \t]*(%d+)")
  if not digits then return 0 end
  if #digits > 18 then return BIG end
  local n = tonumber(digits)
  if n > BIG then return BIG end
  return n
end

-- Transfer-Encoding ends in "chunked" (the only coding that frames a message). Memoised: the
-- same few values repeat on every message.
local CHUNKED, chunked_of = memo(function(v)
  local last = match(lower(v), "([^,]*)$")
  return match(last, "^[ \t]*([^; \t]*)") == "chunked"  -- the final coding, parameters aside
end)

-- Content-Encoding whose first coding is gzip, x-gzip or deflate (what Zeek decodes): the body's
-- length is then counted decoded (r:inflate).
local CODED, coded_of = memo(function(v)
  local t = lower(match(v, "^[ \t]*([^,; \t]*)"))
  return t == "gzip" or t == "x-gzip" or t == "deflate"
end)

local B64 = {}
do
  local alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
  for i = 1, 64 do B64[alphabet:byte(i)] = i - 1 end
end

-- Base64 decode (stops at the first character outside the alphabet, e.g. '=').
local function b64decode(s)
  local out, acc, bits = {}, 0, 0
  for i = 1, math.min(#s, 1024) do
    local v = B64[s:byte(i)]
    if not v then break end
    acc = (acc << 6) | v; bits = bits + 6
    if bits >= 8 then
      bits = bits - 8
      out[#out + 1] = string.char((acc >> bits) & 0xff)
    end
  end
  return table.concat(out)
end

-- Zeek: "Basic " credentials give the user name; anything undecodable gives "<problem-decoding>".
local function basic_username(v)
  local cred = v:match("^[ \t]*[Bb][Aa][Ss][Ii][Cc][ \t]+(%S+)")
  if not cred then return nil end
  local userpass = b64decode(cred)
  local user = userpass:match("^([^:]*):")
  return user or "<problem-decoding>"
end

-- Headers that say a proxy is on the path (Zeek's HTTP::proxy_headers), as "NAME -> value".
local PROXY_HEADERS = { "forwarded", "x-forwarded-for", "x-forwarded-from", "client-ip", "via",
                        "xroxy-connection", "proxy-connection" }
local PROXY_PREFIX = {}
for i, name in ipairs(PROXY_HEADERS) do PROXY_PREFIX[i] = name:upper() .. " -> " end
local NPROXY = #PROXY_HEADERS

-- The header names each side reads, as header sets: r:header_values matches the names in C and
-- answers the values in this order (nil when absent), so no header table is made per message.
-- fill_request takes the first 13 request values in this order.
local req_names = { "host", "user-agent", "referer", "origin", "authorization", "content-type" }
for _, name in ipairs(PROXY_HEADERS) do req_names[#req_names + 1] = name end
local NFILL = #req_names
for _, name in ipairs{ "transfer-encoding", "content-length", "upgrade",
                       "content-encoding", "content-disposition" } do  -- (daily: body type, file name)
  req_names[#req_names + 1] = name
end
local REQ_HEADERS = moonshark.header_set(req_names)
local RESP_HEADERS = moonshark.header_set{ "content-type", "transfer-encoding", "content-length",
                                           "content-encoding", "content-disposition" }
local NO_HEADERS = moonshark.header_set{}

-- ---------------------------------------------------------------------------------------------
-- Per-connection state: transactions paired by order (the k-th request with the k-th final
-- response), whichever side gets there first creates the record.

local function state(conn)
  local st = conn.http
  if not st then
    -- every field the parser sets later is named here, so the table is made at its full size
    st = { tx = {}, head = 1, nreq = 0, nresp = 0, ended = {},
           swapped = false, nswaps = 0, emitted_early = 0, cur_req = false, cur_resp = false, late = 0,
           has09 = false }
    conn.http = st
  end
  return st
end

-- A transaction is an array with one slot per field (the constants below), false where a field
-- has no value yet (the log's writer leaves false columns unset). Made by one constructor with
-- all its slots, it never grows, and every later read or write is a plain array access: named
-- fields would make each first assignment insert a new key into a hash table, and a nil slot
-- sends each write through the interpreter's slow path.
local DEPTH <const>, TS <const>, METHOD <const>, URI <const>, REQ_VERSION <const> = 1, 2, 3, 4, 5
local HOST <const>, USER_AGENT <const>, REFERRER <const>, ORIGIN <const> = 6, 7, 8, 9
local USERNAME <const>, PROXIED <const>, ORIG_MIME <const>, REQ_LEN <const> = 10, 11, 12, 13
local REQ_DONE <const>, RESP_TS <const>, VERSION <const>, STATUS_CODE <const> = 14, 15, 16, 17
local STATUS_MSG <const>, INFO_CODE <const>, INFO_MSG <const>, RESP_MIME <const> = 18, 19, 20, 21
local RESP_LEN <const>, RESP_DONE <const>, TAGS <const>, EMITTED <const> = 22, 23, 24, 25
-- (daily) Zeek's file fields: a body's file id and the name Content-Disposition gives it
local ORIG_FUID <const>, RESP_FUID <const>, ORIG_FNAME <const>, RESP_FNAME <const> = 26, 27, 28, 29

local function new_tx(k)
  return { k, false, false, false, false, false, false, false, false, false, false, false,
           false, false, false, false, false, false, false, false, false, false, false, false,
           false, false, false, false, false }
end

local function tx_at(st, k)
  if k < st.head then return new_tx(k) end  -- already emitted: a throwaway
  local tx = st.tx[k]
  if not tx then
    tx = new_tx(k)  -- tx[TAGS] is made by the first tag
    st.tx[k] = tx
  end
  return tx
end

local function tag(tx, name)
  if not tx then return end
  local tags = tx[TAGS]
  if not tags then tags = {}; tx[TAGS] = tags end
  if not tags[name] then
    tags[name] = true
    tags[#tags + 1] = name
  end
end

-- One table per one-item set, refilled for every record: the writer copies the values out at once.
local ORIG_MIME_SET, RESP_MIME_SET = {}, {}
local ORIG_FUID_SET, RESP_FUID_SET, ORIG_FNAME_SET, RESP_FNAME_SET = {}, {}, {}, {}
local function one(set, v) set[1] = v; return v and set or nil end

local function emit(conn, st, tx)
  local id = conn.id
  local oh, op, rh, rp = id.orig_h, id.orig_p, id.resp_h, id.resp_p
  if st.swapped then oh, op, rh, rp = rh, rp, oh, op end
  local tags = tx[TAGS]
  if st.socks then
    local t = {}
    if tags then for i = 1, #tags do t[i] = tags[i] end end
    t[#t + 1] = "socks"
    tags = t
  elseif tags and not tags[1] then
    tags = nil
  end
  local om, rm = tx[ORIG_MIME], tx[RESP_MIME]
  ORIG_MIME_SET[1], RESP_MIME_SET[1] = om, rm
  -- one value per column, in the order of the log's fields above (password: never captured)
  write_http(tx[TS] or tx[RESP_TS], conn.uid, oh, op, rh, rp,
             tx[DEPTH], tx[METHOD], tx[HOST], tx[URI], tx[REFERRER], tx[VERSION], tx[USER_AGENT], tx[ORIGIN],
             tx[REQ_LEN] or 0, tx[RESP_LEN] or 0,
             tx[STATUS_CODE], tx[STATUS_MSG], tx[INFO_CODE], tx[INFO_MSG],
             tags, tx[USERNAME], false, tx[PROXIED],
             one(ORIG_FUID_SET, tx[ORIG_FUID]), one(ORIG_FNAME_SET, tx[ORIG_FNAME]), om and ORIG_MIME_SET or nil,
             one(RESP_FUID_SET, tx[RESP_FUID]), one(RESP_FNAME_SET, tx[RESP_FNAME]), rm and RESP_MIME_SET or nil)
end

-- Emits, in request order, every transaction whose response is finished and whose request is
-- finished too or at least began (Zeek writes a record when its answer ends: a request body still
-- arriving then is logged apart when it ends, see request_done).
local function emit_ready(conn, st)
  while true do
    local tx = st.tx[st.head]
    if not tx or not (tx[RESP_DONE] and (tx[REQ_DONE] or tx[METHOD])) then break end
    tx[EMITTED] = true
    emit(conn, st, tx)
    st.tx[st.head] = nil
    st.head = st.head + 1
  end
  -- A peer that never answers must not make the queue grow without end: emit the oldest.
  while (st.nreq - st.head + 1) > MAX_PENDING do
    local tx = st.tx[st.head]
    if tx then emit(conn, st, tx); st.emitted_early = st.emitted_early + 1 end
    st.tx[st.head] = nil
    st.head = st.head + 1
  end
end

-- End of the connection (or both directions finished): everything still waiting is emitted.
local function flush(conn, st)
  local last = math.max(st.nreq, st.nresp)
  for k = st.head, last do
    local tx = st.tx[k]
    if tx then emit(conn, st, tx) end
    st.tx[k] = nil
  end
  st.head = last + 1
end

local function finish(conn, st, dir)
  st.ended[dir] = true
  if st.ended[CLIENT] and st.ended[SERVER] then flush(conn, st) end
end

-- ---------------------------------------------------------------------------------------------
-- Bodies

-- A message body by its framing headers: chunked (walked by the reader in C: sizes, data,
-- trailers), a Content-Length, or for a response without either, everything up to the close.
-- Returns the decoded length, whether the stream ended (or the framing broke) first, and
-- "bad_chunk" when a chunk size line held no size.
-- (daily) The fourth result is the body's media type, told in C from its first bytes as they are
-- skipped (coding: the Content-Encoding, undone first when gzip or deflate).
local function read_framed(r, te, clen, to_close, coding)
  local sniff = coding or true
  if te then
    local chunked = CHUNKED[te]
    if chunked == nil then chunked = chunked_of(te) end
    if chunked then return r:skip_chunked(LINE_MAX, HEADER_MAX, sniff) end
  end
  local len = clen and parse_length(clen)
  if len then
    if len <= 0 then return 0, false end
    local got, mime = r:skip(len, sniff)
    got = got or 0
    return got, got < len, nil, mime
  end
  if to_close then
    local got, mime = r:skip_all(sniff)
    return got or 0, true, nil, mime
  end
  return 0, false
end

-- The body of a message, its length counted after the content coding too when that is gzip or
-- deflate (Zeek's body lengths are decoded lengths). The fourth value is the body's media type
-- (read_framed); a fifth names a coding that broke ("inflate_error") or a count stopped at its
-- limit ("inflate_limit").
local function read_body(r, te, clen, to_close, ce)
  if ce then
    local coded = CODED[ce]
    if coded == nil then coded = coded_of(ce) end
    if coded and r:inflate() then
      local _, ended, problem, mime = read_framed(r, te, clen, to_close, ce)
      local n, status = r:inflated()
      return n, ended, problem, mime, status and ("inflate_" .. status)
    end
  end
  return read_framed(r, te, clen, to_close, ce)
end

-- (daily) Zeek's file fields of a body that had bytes: its file id and the file name of a
-- Content-Disposition header. The id is numbered by the transaction and side, not by the order
-- bodies end in, so it does not depend on how the two directions interleave.
local function filename_of(v)
  if not v then return nil end
  return match(v, '[Ff][Ii][Ll][Ee][Nn][Aa][Mm][Ee]%s*=%s*"([^"]*)"') or
         match(v, "[Ff][Ii][Ll][Ee][Nn][Aa][Mm][Ee]%*%s*=%s*[%w%-]*'[%w%-]*'([^;%s]+)") or
         match(v, "[Ff][Ii][Ll][Ee][Nn][Aa][Mm][Ee]%s*=%s*([^;%s]+)")
end
local function file_fields(conn, tx, side, n, disposition)
  if not n or n <= 0 then return false, false end
  local k = tx[DEPTH] or (1000000000 + tx.orphan)  -- orphans: numbered apart, in server order
  return moonshark.file_id(conn.uid, 2 * k + side), filename_of(disposition) or false
end

-- ---------------------------------------------------------------------------------------------
-- Requests

-- "NAME -> value" for each proxy header present (at least one is).
local function proxied_list(...)
  local list = {}
  for i = 1, NPROXY do
    local v = select(i, ...)
    if v then list[#list + 1] = PROXY_PREFIX[i] .. v end
  end
  return list
end

-- The request fields that come from headers: the first NFILL values of REQ_HEADERS.
local function fill_request(tx, host, ua, referer, origin, auth, ctype, p1, p2, p3, p4, p5, p6, p7)
  tx[HOST], tx[USER_AGENT], tx[REFERRER], tx[ORIGIN] = host, ua, referer, origin
  if auth then tx[USERNAME] = basic_username(auth) end
  if p1 or p2 or p3 or p4 or p5 or p6 or p7 then
    tx[PROXIED] = proxied_list(p1, p2, p3, p4, p5, p6, p7)
  end
end

-- Without a SYN the engine guesses the client from the first packet; when the guessed client
-- answers first (or the responder's first line is a request), the sides swap roles (once, before
-- any message was parsed, or to follow the other side's swap).
local function may_swap(conn, st)
  if st.swapped then return st.nswaps < 2 end
  -- also with a SYN seen: a first line that is a request on the responder's side (data in a
  -- SYN-ACK, or a capture that mixed up the sides) is read as a request
  return st.nreq == 0 and st.nresp == 0
end

-- After a CONNECT or an Upgrade request, waits for more client bytes and says whether the
-- client side stops: it goes on only when what follows is an HTTP/1 request again (a refused
-- CONNECT, or plain HTTP sent through the tunnel, which tshark and Zeek parse too).
local function client_tunnels(r, st)
  local head = r:peek(24)
  if not head then return true end
  head = head:gsub("^[\r\n]+", "")  -- stray line ends after the request are tolerated
  local method = head:match("^([%w!#$%%&'*+%.^_`|~-]+)[ \t]")
  if not method or head:sub(1, 14) == "PRI * HTTP/2.0" then return true end
  return false
end

-- The request message of tx ended (its body, n bytes, read; or the stream ended). When its record
-- already went out with its answer, the end is logged as Zeek logs it: a record of its own at the
-- next trans_depth, with no method, holding only the request body length.
local function request_done(r, conn, st, tx, n)
  if not tx[EMITTED] then
    tx[REQ_LEN] = n
    tx[REQ_DONE] = true
    emit_ready(conn, st)
    return
  end
  st.late = st.late + 1
  local late = new_tx(math.max(st.nreq, st.nresp) + st.late)
  late[TS], late[REQ_LEN] = r:time(), n
  emit(conn, st, late)
end

-- Reads one request whose line is already parsed. Returns "eof", "stop" or nil (go on).
local function read_request(r, conn, st, method, uri, version, ts)
  st.nreq = st.nreq + 1
  local tx = tx_at(st, st.nreq)
  tx[TS], tx[METHOD], tx[URI], tx[REQ_VERSION] = ts, method, uri, version
  st.cur_req = tx
  if version == nil then
    -- HTTP/0.9: no body, one request per connection. As in Zeek, a header block may follow the
    -- line; the message ends with that block's empty line or with the stream.
    tx[REQ_VERSION] = "0.9"
    st.has09 = true
    r:header_values(HEADER_MAX, NO_HEADERS)
    request_done(r, conn, st, tx, 0)
    return "stop"
  end
  local ok, host, ua, referer, origin, auth, ctype, p1, p2, p3, p4, p5, p6, p7, te, clen, upgrade,
        ce, cdisp = r:header_values(HEADER_MAX, REQ_HEADERS)
  if not ok then request_done(r, conn, st, tx, 0); return "eof" end
  fill_request(tx, host, ua, referer, origin, auth, ctype, p1, p2, p3, p4, p5, p6, p7)
  local n, ended, problem, mime, coding = read_body(r, te, clen, false, ce)
  tx[ORIG_MIME] = mime or false
  tx[ORIG_FUID], tx[ORIG_FNAME] = file_fields(conn, tx, 0, n, cdisp)
  if problem then tag(tx, problem) end
  if coding then tag(tx, coding) end
  request_done(r, conn, st, tx, n)
  if ended then return problem and "resync" or "eof" end
  if (UPPER[method] or upper_method(method)) == "CONNECT" or upgrade then
    if client_tunnels(r, st) then return "stop" end
  end
  return nil
end

-- A request line cut by lost bytes (a capture with a short snap length, or a loss inside the
-- line): when what arrived holds the method, the whole target and then the start of "HTTP/x.y",
-- the request is logged (no version, tagged gap) instead of vanishing.
local function cut_request(conn, st, partial, ts)
  local method, uri, rest = match(partial, "^(%u+) (%S+) (%S*)$")
  if not method or #rest > 8 then return end
  if rest ~= sub("HTTP/1.1", 1, #rest) and rest ~= sub("HTTP/1.0", 1, #rest) then return end
  st.nreq = st.nreq + 1
  local tx = tx_at(st, st.nreq)
  tx[TS], tx[METHOD], tx[URI] = ts, method, uri
  tag(tx, "gap")
  tx[REQ_DONE] = true
  emit_ready(conn, st)
end

-- The request side: request lines, headers, bodies; resyncs at the next full request line after
-- a gap, an over-long line or garbage.
local function run_requests(r, conn, st, resyncing, first_line, first_ts)
  while true do
    local ts, ok, line = first_ts, true, first_line
    first_line = nil
    if not line then
      ok, line, ts = pcall(r.line, r, LINE_MAX, true)  -- the line and the time of its first byte
    end
    if not ok then
      if type(line) ~= "table" then error(line, 0) end
      if line.kind == "limit" then r:skip(LINE_MAX) end
      if line.partial then cut_request(conn, st, line.partial, line.partial_ts) end
      resyncing = true
    elseif line == nil then
      return "eof"
    elseif line ~= "" then
      local method, uri, version = parse_request_line(line)
      if method and not version and (resyncing or not match(method, "^%a+$") or not find(uri, "^/")) then
        method = nil  -- an HTTP/0.9 line only where a request is due: letters, then a path
      end
      if method == "PRI" and uri == "*" and version == "2.0" then
        return "stop"  -- the HTTP/2 connection preface (prior knowledge): not HTTP/1 from here
      elseif method then
        resyncing = false
        local ok2, res = pcall(read_request, r, conn, st, method, uri, version, ts)
        if not ok2 then
          if type(res) ~= "table" then error(res, 0) end
          local tx = st.cur_req
          tag(tx, res.kind == "gap" and "gap" or "header_limit")
          if tx then tx[REQ_DONE] = true end
          emit_ready(conn, st)
          if res.kind == "limit" then r:skip(HEADER_MAX) end
          resyncing = true
        elseif res == "resync" then
          resyncing = true
        elseif res then
          return res
        end
      elseif may_swap(conn, st) and parse_status_line(line) then
        -- We guessed the client wrong: this side answers. Swap roles.
        return "swap", line, ts
      else
        resyncing = true
      end
    end
  end
end

-- ---------------------------------------------------------------------------------------------
-- Responses

local function no_body(tx, code)
  if (code >= 100 and code < 200) or code == 204 or code == 304 then return true end  -- 0: a body
  local m = tx[METHOD]
  return m and (UPPER[m] or upper_method(m)) == "HEAD"
end

-- Reads one response whose status line is parsed. Returns "eof", "stop" or nil (go on).
-- An orphan (found by resynchronising, with no request waiting: its request was lost) is logged
-- on its own, without a trans_depth, and does not take the place of a later request's answer.
local function read_response(r, conn, st, version, code, reason, ts, orphan)
  local tx
  if orphan then
    tx = new_tx(nil)
    tx[TAGS] = { "no_request", no_request = true }
    st.orphans = (st.orphans or 0) + 1
    tx.orphan = st.orphans  -- numbers its file id (it has no trans_depth)
  else
    tx = tx_at(st, st.nresp + 1)
  end
  st.cur_resp = tx
  if code >= 100 and code < 200 and code ~= 101 then
    tx[INFO_CODE], tx[INFO_MSG] = code, reason
    if not r:header_values(HEADER_MAX, NO_HEADERS) then return "eof" end
    return nil
  end
  -- the status line is the answer even when its headers are then cut by a gap (the error
  -- handler logs it with the gap tag)
  if not orphan then st.nresp = st.nresp + 1 end
  tx[RESP_TS] = tx[RESP_TS] or ts
  tx[VERSION], tx[STATUS_CODE], tx[STATUS_MSG] = version, code, reason
  local ok, _, te, clen, ce, cdisp = r:header_values(HEADER_MAX, RESP_HEADERS)
  if not ok then
    tx[RESP_DONE] = true
    if orphan then emit(conn, st, tx) else emit_ready(conn, st) end
    return "eof"
  end
  local method = tx[METHOD]
  if method then method = UPPER[method] or upper_method(method) end
  if (method == "CONNECT" and code >= 200 and code < 300) or code == 101 then
    tag(tx, code == 101 and "upgrade" or "tunnel")
    tx[RESP_LEN] = 0
    tx[RESP_DONE] = true
    if orphan then emit(conn, st, tx) else emit_ready(conn, st) end
    -- what the server sends next is tunnel bytes, unless it is HTTP again (plain HTTP through a
    -- CONNECT tunnel)
    local head = r:peek(8)
    if head and head:gsub("^[\r\n]+", ""):sub(1, 5) == "HTTP/" then return nil end
    return "stop"
  end
  local n, ended, problem, mime, coding = 0, false, nil, nil, nil
  if not no_body(tx, code) then n, ended, problem, mime, coding = read_body(r, te, clen, true, ce) end
  tx[RESP_LEN], tx[RESP_MIME] = n, mime or false
  tx[RESP_FUID], tx[RESP_FNAME] = file_fields(conn, tx, 1, n, cdisp)
  if problem then tag(tx, problem) end
  if coding then tag(tx, coding) end
  tx[RESP_DONE] = true
  if orphan then emit(conn, st, tx) else emit_ready(conn, st) end
  if ended then return problem and "resync" or "eof" end
  return nil
end

-- After bytes of the answers were lost, the next status line found answers one of the requests
-- still waiting, but which one is unknown. Clients that do not pipeline (nearly all) send a request
-- only once the previous answer is complete, so it answers the latest request sent before it;
-- the earlier ones lost their answers in the gap (tagged gap, no status).
local function skip_lost_answers(st, ts)
  local k = st.nresp + 1
  for i = st.nresp + 2, st.nreq do
    local tx = st.tx[i]
    if tx and tx[TS] and ts and tx[TS] <= ts then k = i end
  end
  for i = st.nresp + 1, k - 1 do
    local tx = tx_at(st, i)
    tag(tx, "gap")
    tx[RESP_DONE] = true
  end
  st.nresp = k - 1
end

-- The response side: status lines, headers, bodies; an HTTP/0.9 answer (no status line) is a
-- body up to the close; resyncs at the next status line after a gap or garbage.
local function run_responses(r, conn, st, resyncing, first_line, first_ts)
  local lost = false  -- bytes of this side were lost since the last status line
  while true do
    local line, ts = first_line, first_ts
    first_line = nil
    if not line then
      local ok, head = true, nil
      if st.nresp == 0 or st.has09 then
        -- only the first answer can be HTTP/0.9 (a 0.9 request is always the first one): look at
        -- its first bytes once the request side had its chance to run
        ok, head = pcall(r.peek, r, 5)
        if ok and not head then return "eof" end
      end
      if ok then
        local next_tx = head and st.tx[st.nresp + 1]
        if not resyncing and next_tx and next_tx[REQ_VERSION] == "0.9" then
          ts = r:time()
          -- HTTP/0.9 answer: everything up to the close is the body.
          st.nresp = st.nresp + 1
          next_tx[RESP_TS], next_tx[VERSION], next_tx[STATUS_CODE] = ts, "0.9", 0  -- Zeek's reading
          local n, mime = r:skip_all(true)
          next_tx[RESP_LEN], next_tx[RESP_MIME] = n or 0, mime or false
          next_tx[RESP_FUID] = file_fields(conn, next_tx, 1, n)
          next_tx[RESP_DONE] = true
          emit_ready(conn, st)
          return "eof"
        end
        ok, line, ts = pcall(r.line, r, LINE_MAX, true)
        if ok and line == nil then return "eof" end
      else
        line = head
      end
      if not ok then
        if type(line) ~= "table" then error(line, 0) end
        if line.kind == "limit" then r:skip(LINE_MAX) end
        if line.kind == "gap" then lost = true end
        resyncing = true
        line = false
      end
    end
    if line and line ~= "" then
      local version, code, reason = parse_status_line(line)
      if version then
        -- orphans: found by resync with no request waiting; on a connection seen without its
        -- SYN, answers before any request (their requests went by before the capture began);
        -- far more answers than requests (a peer that only answers must not grow the queue)
        local orphan = (resyncing and st.nresp >= st.nreq) or (conn.client_guessed and st.nreq == 0)
                       or st.nresp - st.nreq >= MAX_PENDING
        if lost and not orphan then skip_lost_answers(st, ts) end
        resyncing, lost = false, false
        local ok2, res = pcall(read_response, r, conn, st, version, code, reason, ts, orphan)
        if not ok2 then
          if type(res) ~= "table" then error(res, 0) end
          local tx = st.cur_resp
          tag(tx, res.kind == "gap" and "gap" or "header_limit")
          if res.kind == "gap" then lost = true end
          if tx and tx[STATUS_CODE] then
            tx[RESP_DONE] = true
            if not tx[DEPTH] then emit(conn, st, tx) end  -- an orphan is not queued
          end
          emit_ready(conn, st)
          if res.kind == "limit" then r:skip(HEADER_MAX) end
          resyncing = true
        elseif res == "resync" then
          resyncing = true
        elseif res then
          return res
        end
      elseif may_swap(conn, st) and parse_request_line(line) then
        return "swap", line, ts
      else
        resyncing = true
      end
    end
  end
end

-- ---------------------------------------------------------------------------------------------
-- The protocol

-- True when the first client bytes are a SOCKS 4 CONNECT or a SOCKS 5 greeting.
local function socks_start(s)
  local v, x = s:byte(1), s:byte(2)
  if v == 4 then return x == 1 and #s >= 9 end
  if v == 5 then return x ~= nil and x >= 1 and x <= 9 and #s == 2 + x end
  return false
end

-- Methods that start an HTTP/1 request (RFC 9110, WebDAV, and a few common extensions), for
-- connections on ports the table does not name (from their first bytes; other methods need the
-- whole first line, see looks_like_http).
local METHODS = {}
for m in ("GET POST HEAD PUT DELETE OPTIONS CONNECT TRACE PATCH PROPFIND PROPPATCH MKCOL COPY MOVE " ..
          "LOCK UNLOCK SEARCH REPORT MKCALENDAR MKACTIVITY CHECKOUT MERGE NOTIFY SUBSCRIBE " ..
          "UNSUBSCRIBE M-SEARCH PURGE QUERY"):gmatch("%S+") do METHODS[m] = true end

local function looks_like_http(bytes, dir)
  local s = bytes:sub(1, 24)
  if s:match("^HTTP/1%.%d ") then return true end
  if dir == CLIENT and socks_start(bytes:sub(1, 16)) then return true end
  local m = s:match("^([%u-]+) [^ \r\n]")
  if m ~= nil and METHODS[m] == true then return true end
  -- any other method (R1) when the whole first line is at hand and reads as a request line with
  -- an HTTP/1.x version: token, blanks, target, blanks, HTTP/1.x, line end
  local line = bytes:sub(1, 1024):match("^([^\r\n]*)[\r\n]")
  return line ~= nil and line:match("^[%w!#$%%&'*+%.^_`|~-]+[ \t]+[^ \t]+[ \t]+HTTP/1%.%d[ \t]*$") ~= nil
end

local p = moonshark.protocol{ name = "http", tcp_ports = {80, 8000, 8080, 3128}, udp_ports = {1900},
                              detect = looks_like_http }

-- HTTP over UDP (SSDP M-SEARCH / NOTIFY on 1900): one request per datagram, no response pairing
-- (answers come from other flows). Tagged "udp".
function p.on_datagram(conn, dir, b)
  local s = b:sub(1, math.min(#b, 8192))
  local line, rest = s:match("^([^\r\n]*)\r?\n(.*)$")
  if not line then return end
  local method, uri, version = parse_request_line(line)
  if not method or not version then return end
  local h = {}
  for l in rest:gmatch("([^\r\n]*)\r?\n") do
    if l == "" then break end
    local name, value = l:match("^([^:]+):[ \t]*(.-)[ \t]*$")
    if name then
      name = name:lower()
      h[name] = h[name] and (h[name] .. ", " .. value) or value
    end
  end
  local st = state(conn)
  st.nreq = st.nreq + 1
  local tx = new_tx(st.nreq)
  tx[TAGS], tx[METHOD], tx[URI] = { "udp" }, method, uri
  tx[TS] = moonshark.now and moonshark.now() or conn.start_time
  local vals = {}
  for i = 1, NFILL do vals[i] = h[req_names[i]] end
  fill_request(tx, table.unpack(vals, 1, NFILL))
  emit(conn, st, tx)
  st.head = st.nreq + 1
end

-- One direction's coroutine: requests or responses by its role; a swap (see may_swap) hands the
-- line that showed it to the other role.
-- HTTP through a SOCKS proxy (as tshark and Zeek decode it): the SOCKS 4/4a/5 handshake before
-- the first request is skipped on both sides. Returns false when the handshake breaks off.
local function skip_socks_client(r, st)
  local v = r:peek(2)
  if v:byte(1) == 4 then
    -- ver cmd port(2) ip(4) user-id NUL [host NUL when ip is 0.0.0.x: SOCKS 4a]
    local nuls = 1
    local head = r:peek(8)
    if head and #head == 8 and head:byte(5) == 0 and head:byte(6) == 0 and head:byte(7) == 0 then
      nuls = 2
    end
    local n = 16
    while true do
      local b = r:peek(n)
      if not b then return false end
      local i, found = 9, 0
      while found < nuls do
        local z = b:find("\0", i, true)
        if not z then break end
        found, i = found + 1, z + 1
      end
      if found == nuls then return r:skip(i - 1) == i - 1 end
      if #b < n or n >= 1024 then return false end
      n = n * 2
    end
  end
  -- SOCKS5: greeting (ver nmethods methods), optional user/password, then the request
  local g = r:read(2)
  if not g or not r:read(g:byte(2)) then return false end
  local req = r:peek(4)
  if req and req:byte(1) == 1 then              -- RFC 1929 user/password sub-negotiation
    local u = r:read(2); if not u then return false end
    local user = r:read(u:byte(2)); if not user then return false end
    st.socks_user = user
    local pl = r:read(1); if not pl or not r:read(pl:byte(1)) then return false end
    req = r:peek(4)
  end
  if not req or #req < 4 then return false end
  local alen = ({ [1] = 4, [4] = 16 })[req:byte(4)]
  if not alen then
    local l = r:peek(5); if not l or #l < 5 then return false end
    alen = 1 + l:byte(5)
  end
  return r:skip(4 + alen + 2) == 4 + alen + 2
end

local function skip_socks_server(r, st)
  if st.socks == 4 then return r:skip(8) == 8 end
  if r:skip(2) ~= 2 then return false end      -- method choice
  local rep = r:peek(4)
  if rep and rep:byte(1) == 1 then              -- user/password status
    if r:skip(2) ~= 2 then return false end
    rep = r:peek(4)
  end
  if not rep or #rep < 4 then return false end
  local alen = ({ [1] = 4, [4] = 16 })[rep:byte(4)]
  if not alen then
    local l = r:peek(5); if not l or #l < 5 then return false end
    alen = 1 + l:byte(5)
  end
  return r:skip(4 + alen + 2) == 4 + alen + 2
end

local function run_side(r, role)
  local conn = r.conn
  local st = state(conn)
  local res, line, ts
  local ok, first = pcall(r.peek, r, 1)
  if ok and first and (first == "\4" or first == "\5") then ok, first = pcall(r.peek, r, 2) end
  if ok and first and role == "req" and st.socks == nil and (first:byte(1) == 4 or first:byte(1) == 5) then
    st.socks = first:byte(1)
    ok = pcall(skip_socks_client, r, st)
    if not ok then finish(conn, st, r.dir); return end
  elseif ok and first and role == "resp" and st.socks then
    ok = pcall(skip_socks_server, r, st)
    if not ok then finish(conn, st, r.dir); return end
  end
  if role == "req" then
    res, line, ts = run_requests(r, conn, st, false)
    if res == "swap" then
      st.swapped = true; st.nswaps = st.nswaps + 1
      run_responses(r, conn, st, false, line, ts)
    end
  else
    res, line, ts = run_responses(r, conn, st, false)
    if res == "swap" then
      st.swapped = true; st.nswaps = st.nswaps + 1
      run_requests(r, conn, st, false, line, ts)
    end
  end
  finish(conn, st, r.dir)
end

function p.client(r) run_side(r, "req") end
function p.server(r) run_side(r, "resp") end

function p.on_close(conn, reason)
  local st = conn.http
  if st then flush(conn, st) end
end

return p
