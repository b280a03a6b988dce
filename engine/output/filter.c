/* filter.c — the display filter (-Y): a recursive-descent parser of the expression language in
 * filter.h into a small tree of nodes, resolved against a log's columns once, and its evaluation
 * on the record being written (values read through ms_output_get, nothing copied but the text a
 * regular expression needs NUL-terminated). */
#include "output/filter.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { N_OR, N_AND, N_NOT, N_EXISTS, N_CMP };
enum { OP_EQ, OP_NE, OP_LT, OP_LE, OP_GT, OP_GE, OP_RE, OP_NRE, OP_CONTAINS };

/* One side of a comparison: a field (column index) or a literal. */
typedef struct operand {
    int field;          /* column, or -1 for a literal */
    char *text;         /* literal: its text (strings unescaped, numbers as written); owned */
    size_t len;
    bool is_num;        /* literal: a number (or true/false) */
    double num;
    bool exact;         /* literal: a non-negative integer, held exactly in u */
    uint64_t u;
} operand;

typedef struct node {
    int kind;           /* N_* */
    int a, b;           /* children (N_OR, N_AND: both; N_NOT: a) */
    int op;             /* N_CMP: OP_* */
    operand l, r;       /* N_CMP: sides; N_EXISTS: l */
    bool has_re;
    regex_t re;         /* OP_RE / OP_NRE: the right side compiled */
} node;

struct ms_filter {
    node *nodes;
    int n, cap;
    int root;
    char *scratch;      /* NUL-terminated copies for regexec */
    size_t scratch_cap;
};

/* ---- parsing ---------------------------------------------------------------------------- */

enum { T_END, T_LP, T_RP, T_AND, T_OR, T_NOT, T_OP, T_IDENT, T_STR, T_NUM, T_TRUE, T_FALSE, T_BAD };

typedef struct parser {
    const char *src;
    size_t pos;         /* where the current token starts */
    size_t next;        /* where it ends */
    int tok, op;
    char *text;         /* T_IDENT / T_STR / T_NUM: the token's text (owned until taken) */
    size_t len;
    const ms_field_def *fields;
    int nfields;
    const char *log;
    ms_filter *f;
    ms_err *err;
    bool failed;
} parser;

static void fail_at(parser *p, size_t at, const char *what)
{
    if (p->failed)
        return;
    p->failed = true;
    ms_fail(p->err, MS_EINVAL, "-Y: %s at column %zu of '%s'", what, at + 1, p->src);
}

static bool is_ident_start(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static bool is_ident_char(char c)
{
    return is_ident_start(c) || (c >= '0' && c <= '9') || c == '.' || c == '-';
}

static const struct {
    const char *word;
    int tok, op;
} words[] = {
    { "and", T_AND, 0 }, { "or", T_OR, 0 }, { "not", T_NOT, 0 }, { "true", T_TRUE, 0 },
    { "false", T_FALSE, 0 }, { "contains", T_OP, OP_CONTAINS }, { "matches", T_OP, OP_RE },
    { "eq", T_OP, OP_EQ }, { "ne", T_OP, OP_NE }, { "lt", T_OP, OP_LT }, { "le", T_OP, OP_LE },
    { "gt", T_OP, OP_GT }, { "ge", T_OP, OP_GE },
};

static const struct {
    const char *sym;
    int tok, op;
} symbols[] = { /* longest first */
    { "==", T_OP, OP_EQ }, { "!=", T_OP, OP_NE }, { "<=", T_OP, OP_LE }, { ">=", T_OP, OP_GE },
    { "!~", T_OP, OP_NRE }, { "&&", T_AND, 0 }, { "||", T_OR, 0 }, { "<", T_OP, OP_LT },
    { ">", T_OP, OP_GT }, { "~", T_OP, OP_RE }, { "=", T_OP, OP_EQ }, { "!", T_NOT, 0 },
    { "(", T_LP, 0 }, { ")", T_RP, 0 },
};

/* A quoted string from s[0] (the quote); backslash escapes \\ \" \' \n \t \r \xHH, any other
 * backslash is kept with the character after it. */
static bool lex_string(parser *p, const char *s, size_t *used)
{
    char q = s[0];
    size_t i = 1, n = 0;
    char *out = malloc(strlen(s) + 1);
    if (!out) {
        fail_at(p, p->pos, "out of memory");
        return false;
    }
    while (s[i] && s[i] != q) {
        char c = s[i++];
        if (c == '\\' && s[i]) {
            char e = s[i++];
            if (e == 'n')
                c = '\n';
            else if (e == 't')
                c = '\t';
            else if (e == 'r')
                c = '\r';
            else if (e == 'x' && s[i] && s[i + 1]) {
                char hex[3] = { s[i], s[i + 1], 0 };
                char *end;
                long v = strtol(hex, &end, 16);
                if (*end) {
                    free(out);
                    fail_at(p, p->pos + i - 2, "\\x needs two hex digits");
                    return false;
                }
                c = (char)v;
                i += 2;
            } else if (e == '\\' || e == '"' || e == '\'') {
                c = e;
            } else {
                out[n++] = '\\'; /* kept: a regular expression's \. or \d reads as written */
                c = e;
            }
        }
        out[n++] = c;
    }
    if (s[i] != q) {
        free(out);
        fail_at(p, p->pos, "a string without its closing quote");
        return false;
    }
    out[n] = '\0';
    p->text = out;
    p->len = n;
    *used = i + 1;
    return true;
}

static void lex(parser *p)
{
    free(p->text);
    p->text = NULL;
    const char *s = p->src + p->next;
    while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')
        s++;
    p->pos = (size_t)(s - p->src);
    p->op = 0;
    size_t used = 0;
    if (!*s) {
        p->tok = T_END;
    } else if (*s == '"' || *s == '\'') {
        p->tok = lex_string(p, s, &used) ? T_STR : T_BAD;
    } else if ((*s >= '0' && *s <= '9') || ((*s == '-' || *s == '+' || *s == '.') && s[1] >= '0' && s[1] <= '9')) {
        char *end;
        errno = 0;
        (void)strtod(s, &end);
        used = (size_t)(end - s);
        p->tok = T_NUM;
        p->text = strndup(s, used);
        p->len = used;
    } else if (is_ident_start(*s)) {
        while (is_ident_char(s[used]))
            used++;
        p->tok = T_IDENT;
        for (size_t k = 0; k < MS_ARRAY_LEN(words); k++)
            if (strlen(words[k].word) == used && strncmp(s, words[k].word, used) == 0) {
                p->tok = words[k].tok;
                p->op = words[k].op;
            }
        if (p->tok == T_IDENT) {
            p->text = strndup(s, used);
            p->len = used;
        }
    } else {
        p->tok = T_BAD;
        for (size_t k = 0; k < MS_ARRAY_LEN(symbols); k++) {
            size_t n = strlen(symbols[k].sym);
            if (strncmp(s, symbols[k].sym, n) == 0) {
                p->tok = symbols[k].tok;
                p->op = symbols[k].op;
                used = n;
                break;
            }
        }
        if (p->tok == T_BAD) {
            char what[64];
            snprintf(what, sizeof what, "unexpected '%c'", *s);
            fail_at(p, p->pos, what);
        }
    }
    if ((p->tok == T_IDENT || p->tok == T_NUM) && !p->text)
        fail_at(p, p->pos, "out of memory");
    p->next = p->pos + used;
}

static int new_node(parser *p, int kind)
{
    ms_filter *f = p->f;
    if (f->n == f->cap) {
        int cap = f->cap ? f->cap * 2 : 16;
        node *nn = realloc(f->nodes, (size_t)cap * sizeof *nn);
        if (!nn) {
            fail_at(p, p->pos, "out of memory");
            return -1;
        }
        f->nodes = nn;
        f->cap = cap;
    }
    node *n = &f->nodes[f->n];
    memset(n, 0, sizeof *n);
    n->kind = kind;
    n->l.field = n->r.field = -1;
    return f->n++;
}

static int find_field(parser *p, const char *name)
{
    if (!p->fields)
        return 0; /* syntax check only */
    for (int i = 0; i < p->nfields; i++)
        if (strcmp(p->fields[i].name, name) == 0)
            return i;
    return -1;
}

/* The value at the current token into *o (taking the token's text). */
static bool parse_value(parser *p, operand *o)
{
    memset(o, 0, sizeof *o);
    o->field = -1;
    switch (p->tok) {
    case T_IDENT: {
        int idx = find_field(p, p->text);
        if (idx < 0) {
            if (!p->failed) {
                p->failed = true;
                ms_filter_unknown_field(p->err, "-Y", p->text, p->log, p->fields, p->nfields);
            }
            return false;
        }
        o->field = idx;
        break;
    }
    case T_STR:
        o->text = p->text;
        o->len = p->len;
        p->text = NULL;
        break;
    case T_NUM: {
        char *end;
        o->num = strtod(p->text, &end);
        if (*end || !isfinite(o->num)) {
            fail_at(p, p->pos, "not a number");
            return false;
        }
        o->is_num = true;
        if (p->text[0] >= '0' && p->text[0] <= '9' && strspn(p->text, "0123456789") == p->len) {
            errno = 0;
            unsigned long long v = strtoull(p->text, NULL, 10);
            o->exact = errno == 0;
            o->u = v;
        }
        o->text = p->text;
        o->len = p->len;
        p->text = NULL;
        break;
    }
    case T_TRUE:
    case T_FALSE:
        o->is_num = o->exact = true;
        o->u = p->tok == T_TRUE;
        o->num = (double)o->u;
        o->text = strdup(p->tok == T_TRUE ? "T" : "F");
        o->len = 1;
        if (!o->text) {
            fail_at(p, p->pos, "out of memory");
            return false;
        }
        break;
    default:
        fail_at(p, p->pos, p->tok == T_END ? "expected a field or a value at the end" : "expected a field or a value");
        return false;
    }
    lex(p);
    return true;
}

static int parse_or(parser *p);

static int parse_cmp(parser *p)
{
    size_t at = p->pos;
    operand l;
    if (!parse_value(p, &l))
        return -1;
    if (p->tok != T_OP) {
        if (l.field < 0) { /* a lone literal is no test */
            free(l.text);
            fail_at(p, at, "a value alone is no test (compare it with a field)");
            return -1;
        }
        int n = new_node(p, N_EXISTS);
        if (n < 0)
            return -1;
        p->f->nodes[n].l = l;
        return n;
    }
    int op = p->op;
    size_t op_at = p->pos;
    lex(p);
    operand r;
    if (!parse_value(p, &r)) {
        free(l.text);
        return -1;
    }
    int n = new_node(p, N_CMP);
    if (n < 0) {
        free(l.text);
        free(r.text);
        return -1;
    }
    node *nd = &p->f->nodes[n];
    nd->op = op;
    nd->l = l;
    nd->r = r;
    if (op == OP_RE || op == OP_NRE) {
        if (r.field >= 0 || r.is_num) {
            fail_at(p, op_at, "the right side of ~ must be a quoted regular expression");
            return -1;
        }
        int rc = regcomp(&nd->re, r.text, REG_EXTENDED | REG_NOSUB);
        if (rc != 0) {
            char why[128], msg[192];
            regerror(rc, &nd->re, why, sizeof why);
            snprintf(msg, sizeof msg, "bad regular expression (%s)", why);
            fail_at(p, op_at, msg);
            return -1;
        }
        nd->has_re = true;
    }
    return n;
}

static int parse_unary(parser *p)
{
    if (p->failed)
        return -1;
    if (p->tok == T_NOT) {
        lex(p);
        int a = parse_unary(p);
        if (a < 0)
            return -1;
        int n = new_node(p, N_NOT);
        if (n >= 0)
            p->f->nodes[n].a = a;
        return n;
    }
    if (p->tok == T_LP) {
        size_t at = p->pos;
        lex(p);
        int n = parse_or(p);
        if (n < 0)
            return -1;
        if (p->tok != T_RP) {
            fail_at(p, at, "a '(' without its ')'");
            return -1;
        }
        lex(p);
        return n;
    }
    return parse_cmp(p);
}

/* A left-associative chain of operands joined by tok (kind N_AND or N_OR), each read by sub. */
static int parse_chain(parser *p, int tok, int kind, int (*sub)(parser *))
{
    int a = sub(p);
    while (a >= 0 && p->tok == tok) {
        lex(p);
        int b = sub(p);
        if (b < 0)
            return -1;
        int n = new_node(p, kind);
        if (n < 0)
            return -1;
        p->f->nodes[n].a = a;
        p->f->nodes[n].b = b;
        a = n;
    }
    return a;
}

static int parse_and(parser *p)
{
    return parse_chain(p, T_AND, N_AND, parse_unary);
}

static int parse_or(parser *p)
{
    return parse_chain(p, T_OR, N_OR, parse_and);
}

ms_filter *ms_filter_new(const char *expr, const ms_field_def *fields, int nfields, const char *log,
                         ms_err *err)
{
    ms_filter *f = calloc(1, sizeof *f);
    if (!f) {
        ms_fail(err, MS_ENOMEM, "-Y: out of memory");
        return NULL;
    }
    parser p = { .src = expr, .fields = fields, .nfields = nfields, .log = log ? log : "", .f = f, .err = err };
    lex(&p);
    if (p.tok == T_END && !p.failed)
        fail_at(&p, 0, "an empty filter");
    f->root = p.failed ? -1 : parse_or(&p);
    if (f->root >= 0 && p.tok != T_END)
        fail_at(&p, p.pos, p.tok == T_RP ? "a ')' without its '('" : "expected and, or or the end");
    free(p.text);
    if (p.failed || f->root < 0) {
        ms_filter_free(f);
        return NULL;
    }
    return f;
}

void ms_filter_free(ms_filter *f)
{
    if (!f)
        return;
    for (int i = 0; i < f->n; i++) {
        free(f->nodes[i].l.text);
        free(f->nodes[i].r.text);
        if (f->nodes[i].has_re)
            regfree(&f->nodes[i].re);
    }
    free(f->nodes);
    free(f->scratch);
    free(f);
}

int ms_filter_unknown_field(ms_err *err, const char *opt, const char *name, const char *log,
                            const ms_field_def *fields, int nfields)
{
    char list[MS_ERR_MAX];
    size_t n = 0;
    list[0] = '\0';
    for (int i = 0; i < nfields && n + 1 < sizeof list; i++) {
        int w = snprintf(list + n, sizeof list - n, "%s%s", i ? " " : "", fields[i].name);
        if (w < 0)
            break;
        n += (size_t)w;
    }
    return ms_fail(err, MS_EINVAL, "%s: the %s log has no field '%s' (its fields: %s)", opt, log, name, list);
}

/* ---- evaluation ------------------------------------------------------------------------- */

/* One value an operand yields: text, and a number when it has one. */
typedef struct value {
    const char *s;
    size_t len;
    bool is_num;
    double num;
    bool exact;         /* a non-negative integer held in u */
    uint64_t u;
    char buf[48];       /* text of a number field */
} value;

static bool numeric_type(ms_field_type t)
{
    return t != MS_FIELD_STRING && t != MS_FIELD_ADDR && t != MS_FIELD_SET;
}

/* The value of a non-set field, its text as it prints in TSV. */
static void field_value_of(const ms_output_value *v, value *out)
{
    memset(out, 0, sizeof *out);
    out->is_num = numeric_type(v->type);
    int n = 0;
    switch (v->type) {
    case MS_FIELD_COUNT:
    case MS_FIELD_PORT:
        out->exact = true;
        out->u = v->u;
        out->num = (double)v->u;
        n = snprintf(out->buf, sizeof out->buf, "%" PRIu64, v->u);
        break;
    case MS_FIELD_INT:
        out->exact = v->i >= 0;
        out->u = (uint64_t)v->i;
        out->num = (double)v->i;
        n = snprintf(out->buf, sizeof out->buf, "%" PRId64, v->i);
        break;
    case MS_FIELD_DOUBLE:
        out->num = v->d;
        n = snprintf(out->buf, sizeof out->buf, "%.6f", v->d);
        break;
    case MS_FIELD_TIME:
        out->num = (double)v->u / 1e9;
        n = snprintf(out->buf, sizeof out->buf, "%.6f", out->num);
        break;
    case MS_FIELD_INTERVAL:
        out->num = (double)v->i / 1e9;
        n = snprintf(out->buf, sizeof out->buf, "%.6f", out->num);
        break;
    case MS_FIELD_BOOL:
        out->exact = true;
        out->u = v->b;
        out->num = v->b;
        n = snprintf(out->buf, sizeof out->buf, "%s", v->b ? "T" : "F");
        break;
    default:
        out->s = v->str;
        out->len = v->len;
        return;
    }
    out->s = out->buf;
    out->len = n > 0 ? (size_t)n : 0;
}

static int compare_text(const value *a, const value *b)
{
    size_t n = MS_MIN(a->len, b->len);
    int c = n ? memcmp(a->s, b->s, n) : 0;
    if (c)
        return c;
    return a->len < b->len ? -1 : a->len > b->len;
}

static bool contains(const char *hay, size_t n, const char *needle, size_t m)
{
    if (m == 0)
        return true;
    for (size_t i = 0; i + m <= n; i++)
        if (hay[i] == needle[0] && memcmp(hay + i, needle, m) == 0)
            return true;
    return false;
}

/* a OP b for one pair of values, OP_NE and OP_NRE taken as their positive forms. */
static bool holds(ms_filter *f, const node *nd, const value *a, const value *b)
{
    int op = nd->op;
    if (op == OP_RE || op == OP_NRE) {
        if (a->len + 1 > f->scratch_cap) {
            size_t cap = MS_MAX(a->len + 1, 2 * f->scratch_cap);
            char *s = realloc(f->scratch, cap);
            if (!s)
                return false;
            f->scratch = s;
            f->scratch_cap = cap;
        }
        memcpy(f->scratch, a->s, a->len);
        f->scratch[a->len] = '\0';
        return regexec(&nd->re, f->scratch, 0, NULL, 0) == 0;
    }
    if (op == OP_CONTAINS)
        return contains(a->s, a->len, b->s, b->len);
    int c;
    if (a->is_num && b->is_num)
        c = a->exact && b->exact ? (a->u < b->u ? -1 : a->u > b->u) : (a->num < b->num ? -1 : a->num > b->num);
    else
        c = compare_text(a, b);
    switch (op) {
    case OP_EQ:
    case OP_NE: return c == 0;
    case OP_LT: return c < 0;
    case OP_LE: return c <= 0;
    case OP_GT: return c > 0;
    default: return c >= 0;
    }
}

/* The values of an operand: *n of them (0 when the field is unset); value k into *out. */
static uint32_t operand_count(const ms_output *o, const operand *op, ms_output_value *fv)
{
    if (op->field < 0)
        return 1;
    if (!ms_output_get(o, op->field, fv))
        return 0;
    return fv->type == MS_FIELD_SET ? fv->nitems : 1;
}

static void operand_value(const ms_output *o, const operand *op, const ms_output_value *fv, uint32_t k, value *out)
{
    if (op->field < 0) {
        memset(out, 0, sizeof *out);
        out->s = op->text;
        out->len = op->len;
        out->is_num = op->is_num;
        out->num = op->num;
        out->exact = op->exact;
        out->u = op->u;
    } else if (fv->type == MS_FIELD_SET) {
        memset(out, 0, sizeof *out);
        ms_output_item(o, op->field, k, &out->s, &out->len);
    } else {
        field_value_of(fv, out);
    }
}

static bool eval(ms_filter *f, const ms_output *o, int i)
{
    const node *nd = &f->nodes[i];
    switch (nd->kind) {
    case N_OR: return eval(f, o, nd->a) || eval(f, o, nd->b);
    case N_AND: return eval(f, o, nd->a) && eval(f, o, nd->b);
    case N_NOT: return !eval(f, o, nd->a);
    case N_EXISTS: {
        ms_output_value fv;
        return ms_output_get(o, nd->l.field, &fv);
    }
    default: break;
    }
    ms_output_value lv, rv;
    uint32_t nl = operand_count(o, &nd->l, &lv), nr = operand_count(o, &nd->r, &rv);
    if (nl == 0 || nr == 0)
        return false; /* an unset field (or an empty set) compares false */
    bool any = false;
    for (uint32_t a = 0; a < nl && !any; a++) {
        value va, vb;
        operand_value(o, &nd->l, &lv, a, &va);
        for (uint32_t b = 0; b < nr && !any; b++) {
            operand_value(o, &nd->r, &rv, b, &vb);
            any = holds(f, nd, &va, &vb);
        }
    }
    return nd->op == OP_NE || nd->op == OP_NRE ? !any : any;
}

bool ms_filter_match(const ms_filter *f, const ms_output *out)
{
    return eval((ms_filter *)f, out, f->root); /* only the regex scratch changes */
}
