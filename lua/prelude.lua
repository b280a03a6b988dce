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

-- Adds tag to the list tags (a new list when tags is nil) unless it is in it already; returns the
-- list. For a log's `tags` set column: `m.tags = moonshark.add_tag(m.tags, "truncated")`.
function moonshark.add_tag(tags, tag)
  if not tags then return { tag } end
  for k = 1, #tags do if tags[k] == tag then return tags end end
  tags[#tags + 1] = tag
  return tags
end

-- The tags of the lists a and b (either may be nil) without repeats, a's first; nil when both
-- are nil. Neither list is changed (one of them is returned as it is when the other is nil).
function moonshark.merge_tags(a, b)
  if not b then return a end
  if not a then return b end
  local out = { table.unpack(a) }
  for k = 1, #b do out = moonshark.add_tag(out, b[k]) end
  return out
end
