-- prelude.lua — Lua-side helpers every parser may use; loaded into the runtime before any script.
-- (C provides moonshark.protocol, moonshark.log, moonshark.emit, CLIENT, SERVER.)

-- True when err is the error a reader raises for bytes lost in the stream.
function moonshark.is_gap(err)
  return type(err) == "table" and err.kind == "gap"
end

-- True when err is the error a reader raises when a line or header block passes its max.
function moonshark.is_limit(err)
  return type(err) == "table" and err.kind == "limit"
end

-- Splits s at the first run of spaces: "GET / HTTP/1.1" -> "GET", "/ HTTP/1.1".
function moonshark.split_word(s)
  local a, b = s:match("^(%S+)%s+(.*)$")
  if a then return a, b end
  return s, nil
end
