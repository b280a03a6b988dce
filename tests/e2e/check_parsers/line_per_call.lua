-- line_per_call.lua — a deliberately segmentation-dependent parser (tests/e2e/check.sh): it
-- assumes an HTTP request line arrives whole in one on_data call, as a Wireshark dissector that
-- forgets desegmentation does. Right on most captured packets, wrong when a line is split.
local p = moonshark.protocol{ name = "line_per_call", tcp_ports = {80, 8080} }
moonshark.log{ name = "request_lines", fields = { {"uid", "string"}, {"line", "string"} } }
function p.on_data(conn, dir, b)
  if dir ~= moonshark.CLIENT then return nil end
  local line = b:str():match("^(%u+ [^\r\n]* HTTP/1%.%d)\r\n")
  if line then moonshark.emit("request_lines", { uid = conn.uid, line = line }) end
  return nil   -- "everything consumed": the rest of the segment is never seen again
end
