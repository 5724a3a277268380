#include "db.h"

#include <mysql.h>
#include <errmsg.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "metrics_db.h"

#define STMT_CACHE 96
#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 5000
/* A connection that answered a statement this recently is not polled for a
 * close before the next step (see closed_while_idle). */
#define IDLE_CHECK_AFTER_MS 100
#define NO_CELL ((size_t)-1)
#define SCRATCH_KEEP (256 * 1024) /* result text kept for reuse between queries */

typedef struct {
    const char *key; /* the caller's pointer the last time: usually a string literal */
    char *sql;       /* own copy of the statement text */
    size_t len;
    uint64_t hash;
    MYSQL_STMT *stmt;
} cached_stmt_t;

/* Buffers db_query reuses from one result to the next, so that a result
 * costs one allocation (its own block) instead of one per cell. */
typedef struct {
    MYSQL_BIND *bind; /* one row: a text buffer per column */
    unsigned long *len;
    my_bool *is_null, *error;
    int ncols_cap;
    char *row; /* the columns' buffers, back to back */
    size_t row_cap;
    char *text; /* every cell of the result, NUL-terminated, back to back */
    size_t text_cap;
    struct cell_at {
        size_t off, len; /* off NO_CELL for NULL */
    } * cell;
    size_t cell_cap;
    char *names; /* the columns' names back to back, then one kind byte each */
    size_t names_cap;
} result_scratch_t;

struct db_conn {
    db_params_t params;
    MYSQL *mysql;
    int up;
    int lost;
    int in_tx;
    unsigned err;
    char errmsg[512];
    uint64_t affected, insert_id;
    cached_stmt_t cache[STMT_CACHE];
    int ncache;
    long long retry_at_ms;  /* earliest time of the next connect attempt */
    long long failed_at_ms; /* when the last failed attempt started */
    int backoff_ms;
    long long last_ok_ms; /* the last statement that got its answer */
    result_scratch_t scratch;
};

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int tls_on;
static const char *tls_ca_file;

void db_set_tls(int on, const char *ca_file)
{
    tls_on = on;
    tls_ca_file = ca_file && *ca_file ? ca_file : NULL;
}

void db_apply_tls(MYSQL *m)
{
    if (!tls_on)
        return;
    my_bool yes = 1;
    mysql_optionsv(m, MYSQL_OPT_SSL_ENFORCE, &yes);
    mysql_optionsv(m, MYSQL_OPT_SSL_VERIFY_SERVER_CERT, &yes);
    if (tls_ca_file)
        mysql_optionsv(m, MYSQL_OPT_SSL_CA, tls_ca_file);
}

/* When a connection of this process last connected. Every connection of
 * the gateway reaches the same server, so one that connects proves the
 * server is back: the others stop backing off and try on their next job,
 * instead of answering 503 for up to BACKOFF_MAX_MS after a restart. */
static _Atomic long long last_connect_ok_ms;

static void connected_at(long long t)
{
    long long seen = atomic_load(&last_connect_ok_ms);
    while (seen < t && !atomic_compare_exchange_weak(&last_connect_ok_ms, &seen, t))
        ;
}

int db_library_init(void)
{
    return mysql_library_init(0, NULL, NULL);
}

void db_library_end(void)
{
    mysql_library_end();
}

void db_thread_init(void)
{
    mysql_thread_init();
}

void db_thread_end(void)
{
    mysql_thread_end();
}

static char *dup_or_null(const char *s)
{
    return s && *s ? strdup(s) : NULL;
}

db_conn_t *db_conn_new(const db_params_t *p)
{
    db_conn_t *c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    c->params = *p;
    c->params.unix_socket = dup_or_null(p->unix_socket);
    c->params.host = dup_or_null(p->host);
    c->params.user = dup_or_null(p->user);
    c->params.password = dup_or_null(p->password);
    c->params.database = dup_or_null(p->database);
    c->backoff_ms = BACKOFF_MIN_MS;
    return c;
}

static void close_conn(db_conn_t *c)
{
    for (int i = 0; i < c->ncache; i++) {
        mysql_stmt_close(c->cache[i].stmt);
        free(c->cache[i].sql);
    }
    c->ncache = 0;
    c->in_tx = 0;
    if (c->mysql)
        mysql_close(c->mysql);
    c->mysql = NULL;
    c->up = 0;
}

void db_conn_free(db_conn_t *c)
{
    if (!c)
        return;
    close_conn(c);
    free(c->scratch.bind);
    free(c->scratch.len);
    free(c->scratch.is_null);
    free(c->scratch.error);
    free(c->scratch.row);
    free(c->scratch.text);
    free(c->scratch.cell);
    free(c->scratch.names);
    free((char *)c->params.unix_socket);
    free((char *)c->params.host);
    free((char *)c->params.user);
    free((char *)c->params.password);
    free((char *)c->params.database);
    free(c);
}

static void set_error(db_conn_t *c, unsigned err, const char *msg)
{
    c->err = err;
    snprintf(c->errmsg, sizeof(c->errmsg), "%s", msg ? msg : "");
    /* Any client-side communication error means the connection is unusable:
     * drop it (and its statements) and let the next job reconnect. */
    if (err == CR_SERVER_GONE_ERROR || err == CR_SERVER_LOST || err == CR_CONNECTION_ERROR ||
        err == CR_CONN_HOST_ERROR || err == CR_COMMANDS_OUT_OF_SYNC ||
        err == 4031 /* ER_CLIENT_INTERACTION_TIMEOUT */ || err == 1927 /* ER_CONNECTION_KILLED */ ||
        err == 1053 /* ER_SERVER_SHUTDOWN */) {
        c->lost = 1;
        log_warn("db", "connection lost (%u: %s)", err, c->errmsg);
        close_conn(c);
    }
}

int db_conn_is_up(const db_conn_t *c)
{
    return c->up;
}

/* Between steps a connection has nothing to read. A readable or hung-up
 * socket means the server closed it while it sat idle (a restart,
 * wait_timeout, KILL): better to notice now, with one poll() and no round
 * trip, than to fail the step's first statement with "server has gone away".
 * A connection that answered within the last IDLE_CHECK_AFTER_MS is trusted
 * without the poll: under load that saves a system call a step, and a
 * server that goes away meanwhile fails the statement as it would anyway. */
static int closed_while_idle(db_conn_t *c)
{
    if (now_ms() - c->last_ok_ms < IDLE_CHECK_AFTER_MS)
        return 0;
    struct pollfd p = {.fd = (int)mysql_get_socket(c->mysql), .events = POLLIN};
    if (p.fd < 0)
        return 1;
    return poll(&p, 1, 0) > 0;
}

int db_conn_ensure(db_conn_t *c)
{
    c->lost = 0;
    c->err = 0;
    if (c->up) {
        if (!closed_while_idle(c))
            return 0;
        log_warn("db", "the server closed an idle connection; reconnecting");
        close_conn(c);
    }
    long long now = now_ms();
    if (now < c->retry_at_ms && atomic_load(&last_connect_ok_ms) <= c->failed_at_ms) {
        c->lost = 1;
        c->err = CR_CONNECTION_ERROR;
        snprintf(c->errmsg, sizeof(c->errmsg), "database unavailable (reconnect backing off)");
        return -1;
    }
    c->mysql = mysql_init(NULL);
    if (!c->mysql)
        return -1;
    unsigned ct = (unsigned)((c->params.connect_timeout_ms + 999) / 1000);
    unsigned qt = (unsigned)((c->params.query_timeout_ms + 999) / 1000);
    mysql_options(c->mysql, MYSQL_OPT_CONNECT_TIMEOUT, &ct);
    mysql_options(c->mysql, MYSQL_OPT_READ_TIMEOUT, &qt);
    mysql_options(c->mysql, MYSQL_OPT_WRITE_TIMEOUT, &qt);
    mysql_options(c->mysql, MYSQL_SET_CHARSET_NAME, "utf8mb4");
    db_apply_tls(c->mysql);
    /* No MYSQL_OPT_RECONNECT: it silently drops prepared statements. */
    if (!mysql_real_connect(c->mysql, c->params.unix_socket ? NULL : c->params.host, c->params.user, c->params.password,
                            c->params.database, c->params.unix_socket ? 0 : (unsigned)c->params.port,
                            c->params.unix_socket, 0)) {
        unsigned e = mysql_errno(c->mysql);
        snprintf(c->errmsg, sizeof(c->errmsg), "%s", mysql_error(c->mysql));
        mysql_close(c->mysql);
        c->mysql = NULL;
        c->err = e;
        c->lost = 1;
        c->failed_at_ms = now;
        c->retry_at_ms = now + c->backoff_ms;
        c->backoff_ms = c->backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : c->backoff_ms * 2;
        log_warn("db", "connect failed (%u: %s); next try in %d ms", e, c->errmsg, c->backoff_ms);
        metrics_db_connect(0);
        return -1;
    }
    /* Bounded lock waits, so a stuck row never pins a worker for long, and
     * READ COMMITTED so conditional updates see the latest committed rows. */
    const char *init =
        "SET SESSION innodb_lock_wait_timeout = 5, SESSION tx_isolation = 'READ-COMMITTED', time_zone = '+00:00'";
    if (mysql_real_query(c->mysql, init, strlen(init)) != 0) {
        set_error(c, mysql_errno(c->mysql), mysql_error(c->mysql));
        log_error("db", "session set-up failed (%u: %s)", c->err, c->errmsg);
        close_conn(c);
        c->lost = 1;
        metrics_db_connect(0);
        return -1;
    }
    c->up = 1;
    c->backoff_ms = BACKOFF_MIN_MS;
    c->retry_at_ms = 0;
    c->last_ok_ms = now_ms();
    connected_at(c->last_ok_ms);
    metrics_db_connect(1);
    return 0;
}

static uint64_t fnv1a(const char *s, size_t len)
{
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < len; i++)
        h = (h ^ (unsigned char)s[i]) * 1099511628211ULL;
    return h;
}

static MYSQL_STMT *prepare(db_conn_t *c, const char *sql)
{
    /* Statements are string literals, so the pointer finds the entry
     * without hashing the text (up to 1 KB); strcmp still confirms it, as a
     * caller may build statements in a reused buffer. */
    for (int i = 0; i < c->ncache; i++)
        if (c->cache[i].key == sql && strcmp(c->cache[i].sql, sql) == 0)
            return c->cache[i].stmt;
    size_t len = strlen(sql);
    uint64_t h = fnv1a(sql, len);
    for (int i = 0; i < c->ncache; i++)
        if (c->cache[i].hash == h && c->cache[i].len == len && memcmp(c->cache[i].sql, sql, len) == 0) {
            c->cache[i].key = sql;
            return c->cache[i].stmt;
        }
    char *copy = strdup(sql);
    MYSQL_STMT *st = copy ? mysql_stmt_init(c->mysql) : NULL;
    if (!st) {
        free(copy);
        set_error(c, mysql_errno(c->mysql), mysql_error(c->mysql));
        return NULL;
    }
    if (mysql_stmt_prepare(st, sql, len) != 0) {
        set_error(c, mysql_stmt_errno(st), mysql_stmt_error(st));
        log_error("db", "prepare failed: %s", c->errmsg);
        mysql_stmt_close(st);
        free(copy);
        return NULL;
    }
    /* db_query sizes its buffers from the longest value of each column. */
    my_bool update_max = 1;
    mysql_stmt_attr_set(st, STMT_ATTR_UPDATE_MAX_LENGTH, &update_max);
    if (c->ncache == STMT_CACHE) { /* evict the oldest */
        mysql_stmt_close(c->cache[0].stmt);
        free(c->cache[0].sql);
        memmove(&c->cache[0], &c->cache[1], sizeof(c->cache[0]) * (STMT_CACHE - 1));
        c->ncache--;
    }
    c->cache[c->ncache] = (cached_stmt_t){.key = sql, .sql = copy, .len = len, .hash = h, .stmt = st};
    c->ncache++;
    return st;
}

/* A statement whose result broke off with an error (say, a subquery that
 * returned two rows for the third row of the result) leaves the client
 * library expecting more of that result: the next execution of it would
 * wait out the read timeout and drop the connection. Closing it and
 * preparing it again on next use costs one round trip, and only on errors. */
static void discard_stmt(db_conn_t *c, MYSQL_STMT *st)
{
    for (int i = 0; i < c->ncache; i++)
        if (c->cache[i].stmt == st) {
            mysql_stmt_close(st);
            free(c->cache[i].sql);
            memmove(&c->cache[i], &c->cache[i + 1], sizeof(c->cache[0]) * (size_t)(c->ncache - i - 1));
            c->ncache--;
            return;
        }
}

static int bind_params(db_conn_t *c, MYSQL_STMT *st, const db_param_t *params, int n, MYSQL_BIND *b)
{
    if ((int)mysql_stmt_param_count(st) != n) {
        set_error(c, 0, "parameter count mismatch");
        log_error("db", "parameter count mismatch: statement wants %lu, given %d", mysql_stmt_param_count(st), n);
        return -1;
    }
    memset(b, 0, sizeof(*b) * (size_t)n);
    for (int i = 0; i < n; i++) {
        switch (params[i].type) {
        case DBP_NULL:
            b[i].buffer_type = MYSQL_TYPE_NULL;
            break;
        case DBP_INT:
            b[i].buffer_type = MYSQL_TYPE_LONGLONG;
            b[i].buffer = (void *)&params[i].i;
            break;
        case DBP_DOUBLE:
            b[i].buffer_type = MYSQL_TYPE_DOUBLE;
            b[i].buffer = (void *)&params[i].d;
            break;
        case DBP_STR:
            b[i].buffer_type = MYSQL_TYPE_STRING;
            b[i].buffer = (void *)params[i].s;
            b[i].buffer_length = (unsigned long)params[i].len;
            break;
        }
    }
    if (n && mysql_stmt_bind_param(st, b) != 0) {
        set_error(c, mysql_stmt_errno(st), mysql_stmt_error(st));
        return -1;
    }
    return 0;
}

static MYSQL_STMT *run(db_conn_t *c, const char *sql, const db_param_t *params, int n)
{
    if (!c->up && db_conn_ensure(c) != 0)
        return NULL;
    c->err = 0;
    MYSQL_STMT *st = prepare(c, sql);
    if (!st)
        return NULL;
    MYSQL_BIND binds[n > 0 ? n : 1];
    if (bind_params(c, st, params, n, binds) != 0)
        return NULL;
    if (mysql_stmt_execute(st) != 0) {
        set_error(c, mysql_stmt_errno(st), mysql_stmt_error(st));
        return NULL;
    }
    c->last_ok_ms = now_ms();
    c->affected = mysql_stmt_affected_rows(st);
    c->insert_id = mysql_stmt_insert_id(st);
    return st;
}

void db_in_list_args(db_param_t *params, const long long *ids, int n)
{
    for (int i = 0; i < DB_IN_LIST_SIZE; i++)
        params[i] = DB_INT(ids[i < n ? i : 0]);
}

/* A CALL answers with its result sets and then the status of the CALL
 * itself: every one of them must be read before the connection takes the
 * next statement. An error raised after a result set (a statement of the
 * procedure that failed after an earlier one answered rows) is the
 * statement's error. 0 or -1. */
static int drain_results(db_conn_t *c, MYSQL_STMT *st)
{
    while (mysql_stmt_more_results(st)) {
        int rc = mysql_stmt_next_result(st);
        if (rc > 0) {
            set_error(c, mysql_stmt_errno(st), mysql_stmt_error(st));
            return -1;
        }
        if (rc < 0)
            break;
        if (mysql_stmt_field_count(st) > 0) {
            if (mysql_stmt_store_result(st) != 0) {
                set_error(c, mysql_stmt_errno(st), mysql_stmt_error(st));
                return -1;
            }
            mysql_stmt_free_result(st);
        }
    }
    return 0;
}

int db_exec(db_conn_t *c, const char *sql, const db_param_t *params, int nparams)
{
    MYSQL_STMT *st = run(c, sql, params, nparams);
    if (!st)
        return -1;
    /* A statement that returns rows must be drained before the next one;
     * an error while draining is the statement's error. */
    if (mysql_stmt_field_count(st) > 0) {
        if (mysql_stmt_store_result(st) != 0) {
            set_error(c, mysql_stmt_errno(st), mysql_stmt_error(st));
            discard_stmt(c, st);
            return -1;
        }
        mysql_stmt_free_result(st);
    }
    if (drain_results(c, st) != 0) {
        discard_stmt(c, st);
        return -1;
    }
    return 0;
}

static int grow(void **p, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return 0;
    size_t n = *cap ? *cap : 16;
    while (n < need)
        n *= 2;
    void *q = realloc(*p, n * elem);
    if (!q)
        return -1;
    *p = q;
    *cap = n;
    return 0;
}

/* See db_col_kind_t. An integer expression has no source table; a literal
 * of one digit is indistinguishable from a comparison and counts as one. */
static db_col_kind_t col_kind(const MYSQL_FIELD *f)
{
    switch (f->type) {
    case MYSQL_TYPE_TINY:
        return f->length == 1 ? DB_COL_BOOL : DB_COL_INT;
    case MYSQL_TYPE_LONG:
    case MYSQL_TYPE_LONGLONG:
        if (f->length == 1 && (!f->org_table || !*f->org_table))
            return DB_COL_BOOL;
        return DB_COL_INT;
    case MYSQL_TYPE_SHORT:
    case MYSQL_TYPE_INT24:
    case MYSQL_TYPE_YEAR:
        return DB_COL_INT;
    case MYSQL_TYPE_DECIMAL:
    case MYSQL_TYPE_NEWDECIMAL:
    case MYSQL_TYPE_FLOAT:
    case MYSQL_TYPE_DOUBLE:
        return DB_COL_NUMBER;
    default:
        return DB_COL_TEXT;
    }
}

/* Binds the scratch row of c to the statement's result: every column as
 * text, in a buffer as long as the column's longest value (known after
 * mysql_stmt_store_result, STMT_ATTR_UPDATE_MAX_LENGTH). */
static int bind_row(db_conn_t *c, MYSQL_STMT *st, const MYSQL_FIELD *fields, int ncols)
{
    result_scratch_t *s = &c->scratch;
    if (ncols > s->ncols_cap) {
        size_t n = (size_t)ncols;
        MYSQL_BIND *b = realloc(s->bind, n * sizeof(*b));
        if (b)
            s->bind = b;
        unsigned long *l = realloc(s->len, n * sizeof(*l));
        if (l)
            s->len = l;
        my_bool *nu = realloc(s->is_null, n * sizeof(*nu));
        if (nu)
            s->is_null = nu;
        my_bool *er = realloc(s->error, n * sizeof(*er));
        if (er)
            s->error = er;
        if (!b || !l || !nu || !er)
            return -1;
        s->ncols_cap = ncols;
    }
    size_t total = 0;
    for (int i = 0; i < ncols; i++) {
        size_t cap = fields[i].max_length + 1;
        total += cap < 64 ? 64 : cap; /* numbers and dates as text */
    }
    if (grow((void **)&s->row, &s->row_cap, total, 1) != 0)
        return -1;
    memset(s->bind, 0, sizeof(*s->bind) * (size_t)ncols);
    size_t at = 0;
    for (int i = 0; i < ncols; i++) {
        size_t cap = fields[i].max_length + 1;
        cap = cap < 64 ? 64 : cap;
        s->bind[i].buffer_type = MYSQL_TYPE_STRING;
        s->bind[i].buffer = s->row + at;
        s->bind[i].buffer_length = (unsigned long)cap;
        s->bind[i].length = &s->len[i];
        s->bind[i].is_null = &s->is_null[i];
        s->bind[i].error = &s->error[i];
        at += cap;
    }
    if (mysql_stmt_bind_result(st, s->bind) != 0) {
        set_error(c, mysql_stmt_errno(st), mysql_stmt_error(st));
        return -1;
    }
    return 0;
}

/* Appends the current row's cells to the scratch text. A value longer than
 * its buffer (not expected: the buffers fit the longest value) is fetched
 * again whole. */
static int append_row(db_conn_t *c, MYSQL_STMT *st, int ncols, size_t *used, struct cell_at *cell)
{
    result_scratch_t *s = &c->scratch;
    for (int col = 0; col < ncols; col++) {
        if (s->is_null[col]) {
            cell[col].off = NO_CELL;
            continue;
        }
        size_t len = s->len[col];
        if (grow((void **)&s->text, &s->text_cap, *used + len + 1, 1) != 0)
            return -1;
        char *dst = s->text + *used;
        if (s->error[col]) {
            MYSQL_BIND whole = {
                .buffer_type = MYSQL_TYPE_STRING, .buffer = dst, .buffer_length = (unsigned long)len + 1};
            if (mysql_stmt_fetch_column(st, &whole, (unsigned)col, 0) != 0) {
                set_error(c, mysql_stmt_errno(st), mysql_stmt_error(st));
                return -1;
            }
        } else {
            memcpy(dst, s->bind[col].buffer, len);
        }
        dst[len] = '\0';
        cell[col].off = *used;
        cell[col].len = len;
        *used += len + 1;
    }
    return 0;
}

/* The result is one block: the db_rows_t, its cell pointers and lengths,
 * then the text of the cells. */
db_rows_t *db_query(db_conn_t *c, const char *sql, const db_param_t *params, int nparams)
{
    MYSQL_STMT *st = run(c, sql, params, nparams);
    if (!st)
        return NULL;
    result_scratch_t *s = &c->scratch;
    db_rows_t *r = NULL;
    if (mysql_stmt_store_result(st) != 0) {
        set_error(c, mysql_stmt_errno(st), mysql_stmt_error(st));
        discard_stmt(c, st); /* closed: nothing of it is left to free or drain */
        return NULL;
    }
    MYSQL_RES *meta = mysql_stmt_result_metadata(st);
    if (!meta) {
        set_error(c, 0, "statement returns no rows");
        goto Exit;
    }
    int ncols = (int)mysql_num_fields(meta);
    int nrows = (int)mysql_stmt_num_rows(st);
    size_t ncells = (size_t)nrows * (size_t)ncols;
    const MYSQL_FIELD *fields = mysql_fetch_fields(meta);
    int bound = bind_row(c, st, fields, ncols);
    size_t names_len = 0;
    for (int i = 0; i < ncols; i++)
        names_len += fields[i].name_length + 1;
    if (bound != 0 || grow((void **)&s->cell, &s->cell_cap, ncells + 1, sizeof(*s->cell)) != 0 ||
        grow((void **)&s->names, &s->names_cap, names_len + (size_t)ncols, 1) != 0) {
        mysql_free_result(meta);
        goto Exit;
    }
    /* Names and kinds are copied now: the metadata goes with meta. */
    size_t names_at = 0;
    for (int i = 0; i < ncols; i++) {
        s->names[names_len + (size_t)i] = (char)col_kind(&fields[i]);
        memcpy(s->names + names_at, fields[i].name, fields[i].name_length);
        s->names[names_at + fields[i].name_length] = '\0';
        names_at += fields[i].name_length + 1;
    }
    mysql_free_result(meta);
    size_t used = 0;
    for (int row = 0; row < nrows; row++) {
        memset(s->error, 0, (size_t)ncols);
        int rc = mysql_stmt_fetch(st);
        if (rc == 1 || rc == MYSQL_NO_DATA) {
            set_error(c, mysql_stmt_errno(st), mysql_stmt_error(st));
            goto Exit;
        }
        if (append_row(c, st, ncols, &used, s->cell + (size_t)row * (size_t)ncols) != 0)
            goto Exit;
    }
    /* Pointer arrays first (aligned), then the bytes: kinds, names, cells. */
    r = malloc(sizeof(*r) + ncells * (sizeof(char *) + sizeof(size_t)) + (size_t)ncols * sizeof(char *) + names_len +
               (size_t)ncols + used);
    if (!r)
        goto Exit;
    r->nrows = nrows;
    r->ncols = ncols;
    r->cells = (char **)(r + 1);
    r->lens = (size_t *)(r->cells + ncells);
    r->names = (const char **)(r->lens + ncells);
    char *names = (char *)(r->names + ncols);
    memcpy(names, s->names, names_len + (size_t)ncols);
    r->kinds = (unsigned char *)names + names_len;
    for (int i = 0, at = 0; i < ncols; i++) {
        r->names[i] = names + at;
        at += (int)strlen(names + at) + 1;
    }
    char *text = names + names_len + ncols;
    if (used)
        memcpy(text, s->text, used);
    for (size_t i = 0; i < ncells; i++) {
        int null = s->cell[i].off == NO_CELL;
        r->cells[i] = null ? NULL : text + s->cell[i].off;
        r->lens[i] = null ? 0 : s->cell[i].len;
    }
Exit:
    if (c->up) /* a lost connection took its statements with it (set_error) */
        mysql_stmt_free_result(st);
    if (c->up && drain_results(c, st) != 0) {
        free(r);
        r = NULL;
        discard_stmt(c, st);
    }
    if (s->text_cap > SCRATCH_KEEP) { /* after a rare big result */
        free(s->text);
        s->text = NULL;
        s->text_cap = 0;
    }
    return r;
}

int db_query_int(db_conn_t *c, long long *out, const char *sql, const db_param_t *params, int nparams)
{
    db_rows_t *r = db_query(c, sql, params, nparams);
    if (!r)
        return -1;
    int found = r->nrows > 0;
    if (found)
        *out = db_cell_int(r, 0, 0);
    db_rows_free(r);
    return found;
}

uint64_t db_affected_rows(const db_conn_t *c)
{
    return c->affected;
}

uint64_t db_insert_id(const db_conn_t *c)
{
    return c->insert_id;
}

static int simple(db_conn_t *c, const char *q)
{
    if (!c->up && db_conn_ensure(c) != 0)
        return -1;
    if (mysql_real_query(c->mysql, q, strlen(q)) != 0) {
        set_error(c, mysql_errno(c->mysql), mysql_error(c->mysql));
        return -1;
    }
    c->last_ok_ms = now_ms();
    return 0;
}

int db_begin(db_conn_t *c)
{
    if (simple(c, "START TRANSACTION") != 0)
        return -1;
    c->in_tx = 1;
    return 0;
}

int db_commit(db_conn_t *c)
{
    int rc = simple(c, "COMMIT");
    c->in_tx = 0;
    return rc;
}

void db_rollback(db_conn_t *c)
{
    if (c->up && c->mysql)
        mysql_real_query(c->mysql, "ROLLBACK", 8);
    c->in_tx = 0;
}

int db_in_transaction(const db_conn_t *c)
{
    return c && c->in_tx;
}

void db_end_step(db_conn_t *c)
{
    if (c && c->in_tx) {
        log_warn("db", "a step left a transaction open; rolled back");
        db_rollback(c);
    }
}

unsigned db_errno(const db_conn_t *c)
{
    return c->err;
}

const char *db_error(const db_conn_t *c)
{
    return c->errmsg;
}

int db_conn_lost(const db_conn_t *c)
{
    return c->lost;
}

int db_col(const db_rows_t *r, const char *name)
{
    if (!r)
        return -1;
    for (int i = 0; i < r->ncols; i++)
        if (!strcmp(r->names[i], name))
            return i;
    return -1;
}

/* A misspelt name must not pass for a NULL unnoticed. */
static int col_or_log(const db_rows_t *r, const char *name)
{
    int col = db_col(r, name);
    if (col < 0 && r)
        log_error("db", "the result has no column \"%s\"", name);
    return col;
}

const char *db_get(const db_rows_t *r, int row, const char *name)
{
    return db_cell(r, row, col_or_log(r, name));
}

long long db_get_int(const db_rows_t *r, int row, const char *name)
{
    return db_cell_int(r, row, col_or_log(r, name));
}

size_t db_get_len(const db_rows_t *r, int row, const char *name)
{
    int col = col_or_log(r, name);
    return db_cell(r, row, col) ? r->lens[row * r->ncols + col] : 0;
}

int db_is_null(const db_rows_t *r, int row, const char *name)
{
    return db_cell(r, row, col_or_log(r, name)) == NULL;
}

const char *db_cell(const db_rows_t *r, int row, int col)
{
    if (!r || row < 0 || row >= r->nrows || col < 0 || col >= r->ncols)
        return NULL;
    return r->cells[row * r->ncols + col];
}

long long db_cell_int(const db_rows_t *r, int row, int col)
{
    const char *s = db_cell(r, row, col);
    return s ? strtoll(s, NULL, 10) : 0;
}

void db_rows_free(db_rows_t *r)
{
    free(r); /* one block (db_query) */
}
