-- http_uri_filter.lua — a tiny custom HTTP logger: only requests whose URI matches a pattern.
-- The pattern is a Lua pattern: edit PATTERN below, or with --unsafe-lua (os.getenv is off in the
-- sandbox) set MOONSHARK_URI_PATTERN. Default: PHP pages.
-- Run: moonshark -s samples/http_uri_filter.lua capture.pcap --json
--
-- What it shows: the smallest useful reader-style parser — r:line, r:headers, r:skip — on the
-- client side only (no p.server: the server direction is dropped in C), and a gap (lost bytes)
-- caught with pcall + moonshark.is_gap instead of failing the connection.

local PATTERN = "%.[Pp][Hh][Pp]"   -- e.g. "%.exe$", "^/admin", "%.js"
do
  local ok, v = pcall(function() return os.getenv("MOONSHARK_URI_PATTERN") end)
  if ok and v and v ~= "" then PATTERN = v end
end

moonshark.log{ name = "http_match", fields = {
  {"ts", "time"}, {"uid", "string"},
  {"id.orig_h", "addr"}, {"id.orig_p", "port"}, {"id.resp_h", "addr"}, {"id.resp_p", "port"},
  {"method", "string"}, {"host", "string"}, {"uri", "string"}, {"user_agent", "string"},
} }

local p = moonshark.protocol{ name = "http_match", tcp_ports = {80, 8080} }

local function requests(r)
  while true do
    if not r:peek(1) then return end
    local ts = r:time()
    local line = r:line(8192)
    if not line then return end
    local method, uri = line:match("^(%u+) (%S+) HTTP/%d%.%d$")
    if method then
      local h = r:headers(65536)
      if not h then return end
      if uri:find(PATTERN) then
        local id = r.conn.id
        moonshark.emit("http_match", {
          ts = ts, uid = r.conn.uid,
          ["id.orig_h"] = id.orig_h, ["id.orig_p"] = id.orig_p,
          ["id.resp_h"] = id.resp_h, ["id.resp_p"] = id.resp_p,
          method = method, host = h.host, uri = uri, user_agent = h["user-agent"],
        })
      end
      if (h["transfer-encoding"] or ""):lower():find("chunked") then return end  -- keep it tiny
      r:skip(tonumber(h["content-length"] or "0") or 0)
    end
  end
end

function p.client(r)
  local ok, err = pcall(requests, r)
  if not ok and not moonshark.is_gap(err) then error(err, 0) end  -- after a gap: stop there
end
