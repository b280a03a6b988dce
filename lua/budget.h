/* budget.h — the instruction budget per call into Lua (budget.c): a count hook armed lazily by a
 * CPU-time timer, or always on with exact_budget. Builds on state.h only. */
#ifndef MS_LUA_BUDGET_H
#define MS_LUA_BUDGET_H

#include "lua/state.h"

/* Around every call into Lua (pcall or resume of `thread`): resets the budget, and for the lazy
 * budget tells the timer which thread runs. */
void ms_lua_enter(ms_lua *rt, lua_State *thread);
void ms_lua_leave(ms_lua *rt);
void ms_lua_budget_hook(lua_State *L, lua_Debug *ar);
void ms_lua_budget_start(ms_lua *rt);               /* after lua_newstate: timer or always-on hook */
void ms_lua_budget_stop(ms_lua *rt);                /* before lua_close */
int ms_lua_budget_track_coroutines(lua_State *L);   /* lua_CFunction: wraps coroutine.resume/wrap */

#endif
