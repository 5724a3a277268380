/* db.h: MariaDB access for code running on a DB worker thread.
 *
 * Each DB worker owns one db_conn_t (a blocking connection with read/write
 * timeouts). Handlers never see the worker: a DB step receives call->db and
 * uses the helpers below. Every statement is a server-side prepared statement
 * with bound parameters, cached per connection; SQL text is never built from
 * input. A transaction is db_begin ... db_commit within one step, so it stays
 * on one pinned connection. */
#ifndef GW_DB_H
#define GW_DB_H
#include <stddef.h>
#include <stdint.h>
#include <string.h>

typedef struct db_conn db_conn_t;

typedef enum { DBP_NULL = 0, DBP_INT, DBP_STR, DBP_DOUBLE } db_param_type_t;

typedef struct {
    db_param_type_t type;
    long long i;
    double d;
    const char *s;
    size_t len;
} db_param_t;

#define DB_INT(v) ((db_param_t){.type = DBP_INT, .i = (long long)(v)})
#define DB_DOUBLE(v) ((db_param_t){.type = DBP_DOUBLE, .d = (double)(v)})
#define DB_STRN(v, n) ((db_param_t){.type = DBP_STR, .s = (v), .len = (n)})
static inline db_param_t db_param_str(const char *s) /* NULL -> SQL NULL */
{
    db_param_t p = {.type = s ? DBP_STR : DBP_NULL, .s = s, .len = s ? strlen(s) : 0};
    return p;
}
#define DB_STR(v) db_param_str(v)
#define DB_NULL ((db_param_t){.type = DBP_NULL})
/* Batches: a fixed " IN (?, ..., ?)" of DB_IN_LIST_SIZE places, so every
 * batch runs the same prepared statement whatever its size. db_in_list_args
 * fills params[0 .. DB_IN_LIST_SIZE) from ids[0 .. n) (1 <= n <= the size)
 * and the unused places with ids[0] again, which an IN list ignores. */
#define DB_IN_LIST_SIZE 32
#define DB_IN_8_ "?, ?, ?, ?, ?, ?, ?, ?"
#define DB_IN_LIST " IN (" DB_IN_8_ ", " DB_IN_8_ ", " DB_IN_8_ ", " DB_IN_8_ ")"
void db_in_list_args(db_param_t *params, const long long *ids, int n);

/* DB_ARGS(DB_INT(1), DB_STR(s)) expands to "array, count" for the calls below. */
#define DB_ARGS(...) (const db_param_t[]){__VA_ARGS__}, (int)(sizeof((db_param_t[]){__VA_ARGS__}) / sizeof(db_param_t))
#define DB_NOARGS NULL, 0

/* What a column holds, from its MYSQL_FIELD: picks the JSON type when a row
 * is rendered (db_json.h). DB_COL_BOOL is a TINYINT(1) column, or an integer
 * expression one digit wide (a comparison, EXISTS, IS NULL); a one-digit
 * integer literal is one too, so select a literal as a string or not at all. */
typedef enum { DB_COL_TEXT = 0, DB_COL_INT, DB_COL_NUMBER, DB_COL_BOOL } db_col_kind_t;

/* Query results, fully buffered; every cell is text or NULL. Columns are
 * read by the name the SELECT gives them (db_get), never by position: the
 * SQL names the JSON. One block: freed whole by db_rows_free. */
typedef struct {
    int nrows, ncols;
    char **cells; /* nrows * ncols */
    size_t *lens;
    const char **names;   /* ncols: the column's alias, or its name */
    unsigned char *kinds; /* ncols: db_col_kind_t */
} db_rows_t;

typedef struct {
    const char *unix_socket; /* or NULL/"" for host:port */
    const char *host;
    int port;
    const char *user;
    const char *password;
    const char *database;
    int connect_timeout_ms;
    int query_timeout_ms;
} db_params_t;

/* Process set-up (before threads) and per-thread set-up of the client library. */
int db_library_init(void);
/* TLS for every connection opened after this call (set once, before the
 * threads): on = require TLS and verify the server's certificate and name,
 * against ca_file (a PEM file; NULL or "" = the system store). The string
 * must outlive the connections. */
void db_set_tls(int on, const char *ca_file);
/* Applies that setting to a MYSQL handle before it connects (migrate.c). */
struct st_mysql;
void db_apply_tls(struct st_mysql *m);
void db_library_end(void);
void db_thread_init(void);
void db_thread_end(void);

db_conn_t *db_conn_new(const db_params_t *params);
void db_conn_free(db_conn_t *c);
/* Connects if not connected. After a failure it waits out a backoff (100 ms
 * doubling to 5 s) before trying again, failing fast meanwhile, unless
 * another connection of the process has connected since that failure (the
 * connections of a process are meant for one server: once it is back, all
 * try at once). Attempts are counted in gateway_db_connects_total. */
int db_conn_ensure(db_conn_t *c);
int db_conn_is_up(const db_conn_t *c);

/* Statements. Return 0 (or a result) on success, -1 (or NULL) on error.
 * A stored procedure is called as a statement ("CALL proc(?, ?)"): db_query
 * returns its first result set, and both read the CALL's further results,
 * so an error the procedure raises after answering rows is still an error. */
int db_exec(db_conn_t *c, const char *sql, const db_param_t *params, int nparams);
db_rows_t *db_query(db_conn_t *c, const char *sql, const db_param_t *params, int nparams);
/* Single-value convenience: first column of the first row; -1 on error,
 * 0 when there is no row, 1 when found. */
int db_query_int(db_conn_t *c, long long *out, const char *sql, const db_param_t *params, int nparams);
uint64_t db_affected_rows(const db_conn_t *c);
uint64_t db_insert_id(const db_conn_t *c);

int db_begin(db_conn_t *c);
int db_commit(db_conn_t *c);
void db_rollback(db_conn_t *c); /* safe to call when no transaction is open */
/* 1 while a transaction is open (db_begin without its commit or rollback). */
int db_in_transaction(const db_conn_t *c);
/* For background jobs after each run: rolls back a forgotten transaction
 * with a warning. (Request steps: call.c, which also fails the call.) */
void db_end_step(db_conn_t *c);

/* The last error: MariaDB errno (0 if none), message, and whether the
 * connection is gone (the caller answers 503 and the worker reconnects). */
unsigned db_errno(const db_conn_t *c);
const char *db_error(const db_conn_t *c);
int db_conn_lost(const db_conn_t *c);
#define DB_ER_DUP_ENTRY 1062
#define DB_ER_LOCK_DEADLOCK 1213
#define DB_ER_LOCK_WAIT_TIMEOUT 1205

/* Cells by column name. A name the result does not have is a programming
 * error: it is logged and reads as NULL. */
int db_col(const db_rows_t *r, const char *name); /* index, or -1 */
const char *db_get(const db_rows_t *r, int row, const char *name);
long long db_get_int(const db_rows_t *r, int row, const char *name); /* 0 for NULL */
size_t db_get_len(const db_rows_t *r, int row, const char *name);    /* bytes; 0 for NULL */
int db_is_null(const db_rows_t *r, int row, const char *name);

/* Positional access, for the database module and code that walks every
 * column (the renderer); handlers read by name. */
const char *db_cell(const db_rows_t *r, int row, int col);
long long db_cell_int(const db_rows_t *r, int row, int col); /* 0 for NULL */
void db_rows_free(db_rows_t *r);

#endif
