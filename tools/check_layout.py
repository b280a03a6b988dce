#!/usr/bin/env python3
"""check_layout.py — fails when an #include points the wrong way (run by `make lint`).

The engine is laid out by stage (engine/README.md): each stage may include only the stages
below it, the Lua bridge may include the engine but never the command line, and inside lua/
the files form a DAG over state.h. Quoted includes must name their folder ("tcp/tcp.h",
"lua/reader.h") so the direction can be read off the line. Tests, tools and benchmarks may
include anything. Prints one line per violation; exit status 1 when there is any.
"""
import os
import re
import sys

# What each engine stage may include besides itself (a DAG: checked below).
STAGES = {
    "common": set(),
    "capture": {"common"},
    "decode": {"common", "capture"},
    "flow": {"common", "capture", "decode"},
    "tcp": {"common", "capture", "decode", "flow"},
    "output": {"common"},
    "dispatch": {"common", "capture", "decode", "flow", "tcp"},
    # reader thread, rings, workers and the merged output (--threads): dispatch and below, never
    # lua/ (workers get their parser through dispatch/parser.h from a factory the CLI passes in)
    "pipeline": {"common", "capture", "decode", "flow", "tcp", "output", "dispatch"},
    "cli": {"common", "capture", "decode", "flow", "tcp", "output", "dispatch", "pipeline", "lua"},
}
ENGINE_BELOW_CLI = set(STAGES) - {"cli"}

# Inside lua/: what each file (by stem) may include besides itself. ms_lua.h is the public API.
LUA_FILES = {
    "ms_lua": set(),
    "embedded_lua": set(),
    "state": {"ms_lua"},
    "budget": {"state", "ms_lua"},
    "bytes": {"state", "ms_lua"},
    "emit": {"state", "ms_lua"},
    "reader": {"state", "ms_lua", "inflate", "sniff"},
    "inflate": set(),
    "proto": {"state", "ms_lua"},
    "text": set(),
    "digest": set(),
    "sniff": {"state", "ms_lua"},
    "conn": {"state", "ms_lua", "budget", "bytes", "reader", "proto", "sniff"},
    "parser_ops": {"ms_lua"},
    "runtime": {"state", "ms_lua", "budget", "bytes", "digest", "emit", "reader", "proto", "text", "conn",
                "embedded_lua", "sniff"},
}

INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"')


def acyclic(graph):
    state = {}

    def visit(n):
        if state.get(n) == 1:
            return False
        if state.get(n) == 2:
            return True
        state[n] = 1
        ok = all(visit(m) for m in graph.get(n, ()) if m in graph)
        state[n] = 2
        return ok

    return all(visit(n) for n in graph)


def unit_of(path):
    """('engine', stage) or ('lua', stem) or None for unconstrained files."""
    parts = path.split("/")
    if parts[0] == "engine" and len(parts) >= 3:
        return ("engine", parts[1])
    if parts[0] == "lua" and len(parts) == 2:
        return ("lua", os.path.splitext(parts[1])[0])
    return None


def resolve(top, including, name):
    for base in (os.path.dirname(including), "engine", "."):
        cand = os.path.normpath(os.path.join(base, name))
        if os.path.isfile(os.path.join(top, cand)):
            return cand
    return None


def main():
    top = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
    problems = []
    if not acyclic(STAGES) or not acyclic(LUA_FILES):
        problems.append("tools/check_layout.py: the rule tables themselves have a cycle")
    for d in sorted(os.listdir(os.path.join(top, "engine"))):
        if os.path.isdir(os.path.join(top, "engine", d)) and d not in STAGES:
            problems.append(f"engine/{d}/: a folder the layout rules do not know (add it to STAGES)")
    for root, _, names in os.walk(top):
        rel_root = os.path.relpath(root, top)
        if rel_root.startswith((".git", "build")):
            continue
        for n in sorted(names):
            if not n.endswith((".c", ".h")):
                continue
            path = os.path.normpath(os.path.join(rel_root, n))
            me = unit_of(path)
            if me is None:
                continue
            if me[0] == "lua" and me[1] not in LUA_FILES:
                problems.append(f"{path}: a lua/ file the layout rules do not know (add it to LUA_FILES)")
                continue
            with open(os.path.join(top, path), encoding="utf-8", errors="replace") as f:
                for lineno, line in enumerate(f, 1):
                    m = INCLUDE.match(line)
                    if not m:
                        continue
                    name = m.group(1)
                    if "/" not in name:
                        problems.append(f"{path}:{lineno}: include \"{name}\" without its folder "
                                        f"(write \"FOLDER/{name}\" so its direction shows)")
                        continue
                    target = resolve(top, path, name)
                    if target is None:
                        problems.append(f"{path}:{lineno}: include \"{name}\" names no file")
                        continue
                    them = unit_of(target)
                    if them is None or them == me:
                        continue
                    where = f"{path}:{lineno}: {me[0]}/{me[1]} includes \"{name}\""
                    if me[0] == "engine":
                        allowed = STAGES[me[1]]
                        if them[0] == "lua" and "lua" not in allowed:
                            problems.append(f"{where}: the engine must not depend on the Lua bridge "
                                            "(call parsers through dispatch/parser.h)")
                        elif them[0] == "engine" and them[1] not in allowed:
                            problems.append(f"{where}: {me[1]} may include only "
                                            f"{', '.join(sorted(allowed)) or 'nothing'}")
                    else:
                        if them[0] == "engine" and them[1] not in ENGINE_BELOW_CLI:
                            problems.append(f"{where}: the Lua bridge must not depend on the command line")
                        elif them[0] == "lua" and them[1] not in LUA_FILES[me[1]]:
                            problems.append(f"{where}: lua/{me[1]} may include only "
                                            f"{', '.join(sorted(LUA_FILES[me[1]])) or 'nothing in lua/'}")
    for p in problems:
        print(p)
    if problems:
        print(f"check_layout: {len(problems)} include(s) point the wrong way (rules: tools/check_layout.py)")
        return 1
    print("check_layout: every include points down the stages")
    return 0


if __name__ == "__main__":
    sys.exit(main())
