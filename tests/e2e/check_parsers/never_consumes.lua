-- never_consumes.lua — a parser that stalls (tests/e2e/check.sh): on_data returns 0 every time,
-- so the same bytes are presented again and again, growing, up to the end of the stream.
local p = moonshark.protocol{ name = "never_consumes", tcp_ports = {80, 8080} }
function p.on_data(conn, dir, b) return 0 end
