-- raises_on_short.lua — a parser that raises only on some segmentations (tests/e2e/check.sh): it
-- indexes a 4-byte field without checking that 4 bytes were presented.
local p = moonshark.protocol{ name = "raises_on_short", tcp_ports = {80, 8080} }
function p.on_data(conn, dir, b)
  if #b < 4 then error("read past the end of the view: only " .. #b .. " bytes") end
  return nil
end
