-- pairs_by_arrival.lua — an order-dependent parser (tests/e2e/check.sh): it pairs each HTTP
-- response with the request most recently read, not with the oldest one waiting, which is right
-- only when every request is answered before the next is read (no pipelining in the replay).
local p = moonshark.protocol{ name = "pairs_by_arrival", tcp_ports = {80, 8080} }
moonshark.log{ name = "pairs", fields = { {"uid", "string"}, {"uri", "string"}, {"status", "count"} } }
function p.client(r)
  while true do
    local line = r:line(8192); if not line then return end
    local h = r:headers(65536); if not h then return end
    r:skip(tonumber(h["content-length"] or "0") or 0)
    r.conn.last_uri = line:match("^%u+ (%S+)")
  end
end
function p.server(r)
  while true do
    local line = r:line(8192); if not line then return end
    local h = r:headers(65536); if not h then return end
    r:skip(tonumber(h["content-length"] or "0") or 0)
    moonshark.emit("pairs", { uid = r.conn.uid, uri = r.conn.last_uri, status = tonumber(line:match(" (%d%d%d)")) })
  end
end
