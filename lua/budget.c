/* budget.c — the instruction budget per call into Lua: a count hook, armed lazily by a CPU-time
 * timer (or always on with opts.exact_budget), and enter/leave bookkeeping around every call. */
#define _GNU_SOURCE /* SIGEV_THREAD_ID, gettid: each thread's timer signals that thread */
#include "lua/budget.h"

#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

void ms_lua_budget_hook(lua_State *L, lua_Debug *ar)
{
    (void)ar;
    ms_lua *rt = ms_lua_of(L);
    rt->instr += MS_LUA_HOOK_STEP;
    if (rt->instr > rt->budget) {
        rt->stats.budget_hits++;
        rt->instr = 0; /* the handler and any pcall in the script get a fresh budget */
        luaL_error(L, "instruction budget exceeded (%I instructions in one call)", (lua_Integer)rt->budget);
    }
}

/* A count hook makes the VM check a trap on every instruction (about 12% of `moonshark http`).
 * By default the hook is armed only for a call that is still running after a tick of CPU time:
 * a SIGVTALRM timer on the CPU time of the thread that made the runtime looks at that thread's
 * runtime in a call; when the same
 * call is seen on two ticks, it installs the count hook on the thread running Lua (lua_sethook is
 * safe from a signal handler), and the call then has `budget` more instructions. Threads resumed
 * from Lua (coroutine.resume / wrap) are tracked so the innermost one gets the hook. With
 * opts.exact_budget, or when the timer cannot be set, the hook counts every instruction.
 * Runtimes of different threads (moonshark --threads: one per worker) each have their own timer
 * and the handler sees only its own thread's runtime; a runtime is used by the thread that made it. */
#define MS_LUA_TICK_US 10000

static _Thread_local ms_lua *volatile g_current; /* runtime whose call this thread's timer looks at */
static pthread_mutex_t g_action_lock = PTHREAD_MUTEX_INITIALIZER;
static int g_timer_users;              /* runtimes using the timer, all threads (under the lock) */
static struct sigaction g_old_action;

static void hook_thread(ms_lua *rt, int slot)
{
    lua_sethook(rt->threads[slot], ms_lua_budget_hook, LUA_MASKCOUNT, MS_LUA_HOOK_STEP);
    rt->hooked[slot] = 1;
}

static void unhook_thread(ms_lua *rt, int slot)
{
    if (rt->hooked[slot]) {
        rt->hooked[slot] = 0;
        lua_sethook(rt->threads[slot], NULL, 0, 0);
    }
}

static void on_tick_signal(int sig)
{
    (void)sig;
    ms_lua *rt = g_current;
    if (!rt || !rt->in_call || rt->armed)
        return;
    if (rt->call_seq != rt->seen_seq) {
        rt->seen_seq = rt->call_seq;
        return;
    }
    int n = rt->nthreads;
    if (n <= 0)
        return;
    rt->instr = 0;
    rt->armed = 1;
    hook_thread(rt, n - 1);
}

static bool timer_start(ms_lua *rt)
{
    pthread_mutex_lock(&g_action_lock);
    if (g_timer_users == 0) {
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = on_tick_signal;
        sa.sa_flags = SA_RESTART;
        sigemptyset(&sa.sa_mask);
        if (sigaction(SIGVTALRM, &sa, &g_old_action) != 0) {
            pthread_mutex_unlock(&g_action_lock);
            return false;
        }
    }
    g_timer_users++;
    pthread_mutex_unlock(&g_action_lock);
    struct sigevent ev;
    memset(&ev, 0, sizeof ev);
    ev.sigev_notify = SIGEV_THREAD_ID;
    ev.sigev_signo = SIGVTALRM;
    ev._sigev_un._tid = gettid();
    struct itimerspec it = { { 0, MS_LUA_TICK_US * 1000 }, { 0, MS_LUA_TICK_US * 1000 } };
    if (timer_create(CLOCK_THREAD_CPUTIME_ID, &ev, &rt->budget_timer) != 0) {
        pthread_mutex_lock(&g_action_lock);
        if (--g_timer_users == 0)
            sigaction(SIGVTALRM, &g_old_action, NULL);
        pthread_mutex_unlock(&g_action_lock);
        return false;
    }
    if (timer_settime(rt->budget_timer, 0, &it, NULL) != 0) {
        timer_delete(rt->budget_timer);
        pthread_mutex_lock(&g_action_lock);
        if (--g_timer_users == 0)
            sigaction(SIGVTALRM, &g_old_action, NULL);
        pthread_mutex_unlock(&g_action_lock);
        return false;
    }
    return true;
}

static void timer_stop(ms_lua *rt)
{
    if (g_current == rt)
        g_current = NULL;
    /* A tick raised just before the disarm may still be pending; if it were delivered after the
     * old action (often SIG_DFL, which terminates) is back, it would kill the process. Block it,
     * disarm, swallow a pending one, then restore. */
    sigset_t vt, old_mask;
    sigemptyset(&vt);
    sigaddset(&vt, SIGVTALRM);
    pthread_sigmask(SIG_BLOCK, &vt, &old_mask);
    timer_delete(rt->budget_timer);
    const struct timespec zero = { 0, 0 };
    while (sigtimedwait(&vt, NULL, &zero) == SIGVTALRM) {
    }
    pthread_mutex_lock(&g_action_lock);
    if (--g_timer_users == 0)
        sigaction(SIGVTALRM, &g_old_action, NULL);
    pthread_mutex_unlock(&g_action_lock);
    pthread_sigmask(SIG_SETMASK, &old_mask, NULL);
}

/* Out of a call: the timer leaves it alone and no thread keeps the count hook. */
static void disarm(ms_lua *rt)
{
    rt->in_call = 0;
    for (int i = 0; i < rt->nthreads; i++)
        unhook_thread(rt, i);
    rt->armed = 0;
}

void ms_lua_enter(ms_lua *rt, lua_State *thread)
{
    rt->instr = 0;
    rt->stats.calls++;
    if (!rt->lazy_budget)
        return;
    disarm(rt);
    rt->threads[0] = thread;
    rt->hooked[0] = 0;
    rt->nthreads = 1;
    rt->call_seq++;
    g_current = rt;
    rt->in_call = 1;
}

void ms_lua_leave(ms_lua *rt)
{
    if (!rt->lazy_budget)
        return;
    disarm(rt);
    rt->nthreads = 0;
}

/* coroutine.resume, tracking the resumed thread so the budget reaches it. */
static int co_resume(lua_State *L)
{
    ms_lua *rt = ms_lua_of(L);
    lua_State *co = lua_tothread(L, 1);
    luaL_argexpected(L, co, 1, "coroutine");
    int n = rt->nthreads;
    bool track = rt->lazy_budget && rt->in_call && n > 0 && n < MS_LUA_MAX_NEST;
    if (track) {
        rt->threads[n] = co;
        rt->hooked[n] = 0;
        rt->nthreads = n + 1;
        if (rt->armed)
            hook_thread(rt, n);
    }
    lua_pushvalue(L, lua_upvalueindex(1)); /* the original coroutine.resume */
    lua_insert(L, 1);
    int rc = lua_pcall(L, lua_gettop(L) - 1, LUA_MULTRET, 0);
    if (track) {
        unhook_thread(rt, n);
        rt->nthreads = n;
    }
    if (rc != LUA_OK)
        return lua_error(L);
    return lua_gettop(L);
}

/* coroutine.wrap over the tracking resume. */
static const char wrap_lua[] =
    "local resume, create, pack, unpack, error = ...\n"
    "return function(f)\n"
    "  local co = create(f)\n"
    "  return function(...)\n"
    "    local r = pack(resume(co, ...))\n"
    "    if r[1] then return unpack(r, 2, r.n) end\n"
    "    error(r[2], 0)\n"
    "  end\n"
    "end\n";

int ms_lua_budget_track_coroutines(lua_State *L)
{
    lua_getglobal(L, "coroutine");
    int co = lua_gettop(L);
    lua_getfield(L, co, "resume");
    lua_pushcclosure(L, co_resume, 1);
    lua_pushvalue(L, -1);
    lua_setfield(L, co, "resume");
    int resume = lua_gettop(L);
    if (luaL_loadbufferx(L, wrap_lua, sizeof wrap_lua - 1, "=coroutine.wrap", "t") != LUA_OK)
        return lua_error(L);
    lua_pushvalue(L, resume);
    lua_getfield(L, co, "create");
    lua_getglobal(L, "table");
    lua_getfield(L, -1, "pack");
    lua_getfield(L, -2, "unpack");
    lua_remove(L, -3);
    lua_getglobal(L, "error");
    lua_call(L, 5, 1);
    lua_setfield(L, co, "wrap");
    lua_settop(L, co - 1);
    return 0;
}

void ms_lua_budget_start(ms_lua *rt)
{
    rt->lazy_budget = !rt->opts.exact_budget && timer_start(rt);
    rt->timer_on = rt->lazy_budget;
    if (!rt->lazy_budget)
        lua_sethook(rt->L, ms_lua_budget_hook, LUA_MASKCOUNT, MS_LUA_HOOK_STEP);
}

void ms_lua_budget_stop(ms_lua *rt)
{
    rt->in_call = 0;
    rt->armed = 0;
    rt->nthreads = 0;
    if (rt->timer_on)
        timer_stop(rt);
    rt->timer_on = false;
}
