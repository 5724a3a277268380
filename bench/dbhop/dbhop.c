/* dbhop: the database hop measured alone. A minimal HTTPS server (h2o, TLS
 * from the gateway's configuration file) that answers GET /r/<user>/<ticket>
 * with the owner's cold ticket read: repair_detail_for_caller of
 * domain/repairs/repair_view.c (the ticket, the caller's relation to it,
 * its timeline and photos in one statement, rendered by gateway/db_json.c)
 * in the gateway's envelope (response_envelope), with no cache and no
 * session check. The database is reached in one of three ways:
 *
 *   worker  the gateway's model: a gateway/workers.c pool of `conns`
 *           threads per loop, each with a blocking gateway/db.c connection,
 *           the result posted back to the loop with
 *           h2o_multithread_send_message (what gateway/call.c does);
 *   coro    MariaDB's non-blocking API under the same straight-line step:
 *           each step runs on a stack of its own on the loop (coro_pool.c),
 *           `conns` connections per loop, and db.c's calls switch back to
 *           the loop while MariaDB waits (nb_calls.h);
 *   async   the same API driven by a hand-written state machine on the
 *           loop (execute, store; then db.c reads the stored rows), `conns`
 *           connections per loop: the least the loop can do per request.
 *
 *   dbhop --config gateway.conf --mode worker|coro|async --loops N
 *         --conns N --port P [--stack-kb 256]
 *
 * The MariaDB, TLS and media-URL settings come from the configuration file
 * (the one tools/devstack writes for the bench's stack). Prints "ready" once
 * every loop listens; runs until SIGTERM. Driven by bench/dbhop/run.py.
 *
 * This file includes gateway/db.c, with its server calls renamed to
 * nb_calls.h's, and domain/repairs/repair_view.c, whose statement the state
 * machine of mode "async" runs itself: the library's copies of both are
 * then left out by the linker. */
#define NB_RENAME_CALLS
#include "nb_calls.h"

#include "gateway/db.c"

#undef mysql_real_connect
#undef mysql_real_query
#undef mysql_stmt_prepare
#undef mysql_stmt_execute
#undef mysql_stmt_store_result
#undef mysql_close

#include "domain/repairs/repair_view.c"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/ssl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include "coro_pool.h"
#include "gateway/call_internal.h"
#include "gateway/config.h"
#include "gateway/media_url.h"
#include "gateway/workers.h"

typedef enum { MODE_WORKER, MODE_ASYNC, MODE_CORO } hop_mode_t;

static struct {
    hop_mode_t mode;
    int loops, conns, port;
    int view; /* --read view: repair_view_read (worker, coro), else the live detail */
    size_t stack_bytes;
    db_params_t db;
} opt = {.loops = 1, .conns = 4, .stack_bytes = 256 * 1024};

typedef struct nb_pool nb_pool_t;

typedef struct hop_loop {
    pthread_t tid;
    h2o_context_t ctx;
    h2o_multithread_queue_t *queue;
    h2o_multithread_receiver_t done_receiver;
    h2o_accept_ctx_t accept;
    worker_pool_t *workers;
    coro_pool_t *coro;
    nb_pool_t *nb;
} hop_loop_t;

/* One request. Freed by whichever comes last of h2o disposing the request
 * and the driver giving it back (busy = 0). */
typedef struct hop_req {
    pool_job_t job;
    coro_job_t cjob;
    h2o_multithread_message_t msg;
    struct hop_req *next; /* mode async: waiting for a connection */
    long long enqueued_ms;
    hop_loop_t *loop;
    h2o_req_t *req; /* NULL once disposed */
    int busy;
    long long ticket;
    gw_call_t call; /* call.user.id: the caller */
} hop_req_t;

static h2o_globalconf_t globalconf;
static SSL_CTX *ssl_ctx;
static pthread_barrier_t ready;
static _Thread_local hop_loop_t *this_loop;

/* ---- the read, the same for every mode ---- */

/* The answer from repair_detail_for_caller's result, as the gateway's
 * GET /api/v1/repairs/:id answers it (handlers/repairs/repairs.c, show). */
static void answer(gw_call_t *c, int rc, cJSON *d)
{
    if (rc < 0)
        call_fail_db(c);
    else if (rc == 0)
        call_fail(c, ERR_NOT_FOUND, NULL, "no such repair ticket");
    else
        call_ok(c, 200, d);
}

/* Straight-line step code, as a handler writes it (modes worker and coro),
 * framed as gateway/call.c frames a DB step. */
static void read_ticket(db_conn_t *db, hop_req_t *r, int expired)
{
    gw_call_t *c = &r->call;
    if (expired) {
        call_fail(c, ERR_OVERLOADED, NULL, "server is busy; retry later");
        return;
    }
    c->db = db;
    if (db_conn_ensure(db) != 0) {
        call_fail(c, ERR_DB_UNAVAILABLE, NULL, NULL);
    } else if (opt.view) {
        /* The gateway's read since the stored views: one statement with the
         * caller's checks, the view copied into the response. */
        char *json = NULL;
        repair_detail_meta_t meta;
        int rc = repair_view_read(c, db, r->ticket, &json, &meta);
        answer(c, rc < 0 ? -1 : rc, rc == 1 ? cJSON_CreateRaw(json) : NULL);
        free(json);
        db_end_step(db);
    } else {
        cJSON *d;
        int rc = repair_detail_for_caller(c, db, r->ticket, &d, NULL);
        answer(c, rc, d);
        db_end_step(db);
    }
    c->db = NULL;
}

/* ---- answering ---- */

static void free_req(hop_req_t *r)
{
    cJSON_Delete(r->call.data);
    free(r);
}

static void on_req_disposed(void *p)
{
    hop_req_t *r = *(hop_req_t **)p;
    r->req = NULL;
    if (!r->busy)
        free_req(r);
}

static void send_call(h2o_req_t *req, gw_call_t *c)
{
    cJSON *env = response_envelope(c);
    char *body = env ? cJSON_PrintUnformatted(env) : NULL;
    cJSON_Delete(env);
    req->res.status = body ? c->status : 500;
    req->res.reason = req->res.status < 400 ? "OK" : "Error";
    size_t len = body ? strlen(body) : 0;
    req->res.content_length = len;
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL,
                   H2O_STRLIT("application/json; charset=utf-8"));
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CACHE_CONTROL, NULL, H2O_STRLIT("no-store"));
    if (c->retry_after_s)
        h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_RETRY_AFTER, NULL, H2O_STRLIT("1"));
    /* h2o_send_inline copies the body into the request's pool. */
    h2o_send_inline(req, body ? body : "", len);
    free(body);
}

/* The driver gives the request back (loop thread). */
static void finish(hop_req_t *r)
{
    r->busy = 0;
    if (r->req)
        send_call(r->req, &r->call); /* h2o disposes it later: then it is freed */
    else
        free_req(r);
}

static void finish_failed(hop_req_t *r, err_code_t err)
{
    call_fail(&r->call, err, NULL, NULL);
    finish(r);
}

/* ---- mode worker ---- */

static void worker_run(pool_job_t *job, void *worker_ctx, int expired)
{
    hop_req_t *r = H2O_STRUCT_FROM_MEMBER(hop_req_t, job, job);
    read_ticket(worker_ctx, r, expired);
    h2o_multithread_send_message(&r->loop->done_receiver, &r->msg);
}

static void on_worker_done(h2o_multithread_receiver_t *receiver, h2o_linklist_t *messages)
{
    (void)receiver;
    while (!h2o_linklist_is_empty(messages)) {
        h2o_multithread_message_t *msg = H2O_STRUCT_FROM_MEMBER(h2o_multithread_message_t, link, messages->next);
        h2o_linklist_unlink(&msg->link);
        finish(H2O_STRUCT_FROM_MEMBER(hop_req_t, msg, msg));
    }
}

static void *worker_init(void *arg, int index)
{
    (void)arg;
    (void)index;
    db_thread_init();
    return db_conn_new(&opt.db);
}

static void worker_fini(void *ctx)
{
    db_conn_free(ctx);
    db_thread_end();
}

/* ---- mode coro ---- */

static void coro_run(coro_job_t *job, db_conn_t *db, int expired)
{
    read_ticket(db, H2O_STRUCT_FROM_MEMBER(hop_req_t, cjob, job), expired);
}

static void coro_done(coro_job_t *job)
{
    finish(H2O_STRUCT_FROM_MEMBER(hop_req_t, cjob, job));
}

/* ---- mode async: the state machine ---- */

typedef struct {
    nb_pool_t *pool;
    db_conn_t *db;
    nb_waiter_t waiter; /* forget() drops the watch; wait() polls (connecting) */
    loop_watch_t watch;
    MYSQL_STMT *st;
    enum { PH_EXECUTE, PH_STORE } phase;
    int rc;
    hop_req_t *r; /* NULL when free */
    db_param_t params[4];
    MYSQL_BIND binds[4];
} nb_conn_t;

struct nb_pool {
    loop_timeouts_t timeouts;
    nb_conn_t *conns;
    int n;
    hop_req_t *head, *tail;
    int queued, dispatching;
};

static void nb_dispatch(nb_pool_t *p);

static void nb_finish(nb_conn_t *k)
{
    hop_req_t *r = k->r;
    k->r = NULL;
    loop_watch_idle(&k->watch);
    finish(r);
    nb_dispatch(k->pool);
}

static void nb_fail(nb_conn_t *k)
{
    nb_waiter = &k->waiter; /* a lost connection is closed: its watch goes */
    set_error(k->db, mysql_stmt_errno(k->st), mysql_stmt_error(k->st));
    nb_waiter = NULL;
    k->r->call.db = k->db;
    call_fail_db(&k->r->call);
    k->r->call.db = NULL;
    nb_finish(k);
}

/* The statement is executed and its result stored: db.c reads the rows
 * (nb_replay) and repair_view.c renders them, as on a worker. */
static void nb_render(nb_conn_t *k)
{
    gw_call_t *c = &k->r->call;
    cJSON *d;
    c->db = k->db;
    nb_replay = k->st;
    int rc = repair_detail_for_caller(c, k->db, k->r->ticket, &d, NULL);
    nb_replay = NULL;
    answer(c, rc, d);
    c->db = NULL;
    nb_finish(k);
}

/* Runs the request's statement until MariaDB waits (a watch is armed) or
 * the rows are there. events: what woke it, 0 to start a phase. */
static void nb_step(nb_conn_t *k, int events)
{
    for (;;) {
        int ev;
        if (k->phase == PH_EXECUTE)
            ev = events ? mysql_stmt_execute_cont(&k->rc, k->st, events) : mysql_stmt_execute_start(&k->rc, k->st);
        else
            ev = events ? mysql_stmt_store_result_cont(&k->rc, k->st, events)
                        : mysql_stmt_store_result_start(&k->rc, k->st);
        if (ev) {
            h2o_timeout_t *t = NULL;
            if (ev & MYSQL_WAIT_TIMEOUT)
                t = loop_timeouts_get(&k->pool->timeouts, (int)mysql_get_timeout_value_ms(k->db->mysql));
            if (loop_watch_arm(&k->watch, (int)mysql_get_socket(k->db->mysql), ev, t) != 0)
                nb_fail(k);
            return;
        }
        events = 0;
        if (k->rc != 0) {
            nb_fail(k);
            return;
        }
        if (k->phase == PH_STORE) {
            nb_render(k);
            return;
        }
        k->phase = PH_STORE;
    }
}

static void nb_on_events(loop_watch_t *w, int events)
{
    nb_step(H2O_STRUCT_FROM_MEMBER(nb_conn_t, watch, w), events);
}

static void nb_start(nb_conn_t *k, hop_req_t *r)
{
    k->r = r;
    if (!k->db->up) { /* lost earlier: the probe does not reconnect */
        finish_failed(r, ERR_DB_UNAVAILABLE);
        k->r = NULL;
        return;
    }
    long long me = r->call.user.id;
    k->params[0] = DB_INT(me);
    k->params[1] = DB_INT(me);
    k->params[2] = DB_INT(me);
    k->params[3] = DB_INT(r->ticket);
    k->st = prepare(k->db, SQL_DETAIL); /* prepared at start: found in db.c's cache */
    if (!k->st || bind_params(k->db, k->st, k->params, 4, k->binds) != 0) {
        k->r = NULL;
        finish_failed(r, ERR_INTERNAL);
        return;
    }
    k->phase = PH_EXECUTE;
    nb_step(k, 0);
}

static void nb_dispatch(nb_pool_t *p)
{
    if (p->dispatching)
        return;
    p->dispatching = 1;
    for (int i = 0; i < p->n && p->head; i++) {
        nb_conn_t *k = &p->conns[i];
        if (k->r)
            continue;
        hop_req_t *r = p->head;
        p->head = r->next;
        if (!p->head)
            p->tail = NULL;
        p->queued--;
        if (monotonic_ms() - r->enqueued_ms > gw_cfg->db_queue_timeout_ms)
            finish_failed(r, ERR_OVERLOADED);
        else
            nb_start(k, r);
        i = -1; /* a connection may have come free again: look from the start */
    }
    p->dispatching = 0;
}

static int nb_submit(nb_pool_t *p, hop_req_t *r)
{
    if (p->queued >= gw_cfg->db_queue_max)
        return -1;
    r->next = NULL;
    r->enqueued_ms = monotonic_ms();
    if (p->tail)
        p->tail->next = r;
    else
        p->head = r;
    p->tail = r;
    p->queued++;
    nb_dispatch(p);
    return 0;
}

static void nb_forget(nb_waiter_t *w)
{
    loop_watch_close(&H2O_STRUCT_FROM_MEMBER(nb_conn_t, waiter, w)->watch);
}

/* Connects and prepares with poll() before the loop serves. */
static nb_pool_t *nb_create(h2o_loop_t *loop)
{
    nb_pool_t *p = calloc(1, sizeof(*p));
    if (!p || !(p->conns = calloc((size_t)opt.conns, sizeof(*p->conns))))
        return NULL;
    p->n = opt.conns;
    p->timeouts.loop = loop;
    for (int i = 0; i < p->n; i++) {
        nb_conn_t *k = &p->conns[i];
        k->pool = p;
        k->waiter = (nb_waiter_t){.wait = nb_poll_waiter.wait, .forget = nb_forget};
        loop_watch_init(&k->watch, loop, nb_on_events);
        if (!(k->db = db_conn_new(&opt.db)))
            return NULL;
        nb_waiter = &k->waiter;
        int ok = db_conn_ensure(k->db) == 0 && prepare(k->db, SQL_DETAIL);
        nb_waiter = NULL;
        if (!ok) {
            fprintf(stderr, "dbhop: connect/prepare: %s\n", db_error(k->db));
            return NULL;
        }
    }
    return p;
}

/* ---- the server ---- */

static int parse_path(h2o_req_t *req, long long *user, long long *ticket)
{
    char path[64];
    if (req->path_normalized.len >= sizeof(path))
        return -1;
    memcpy(path, req->path_normalized.base, req->path_normalized.len);
    path[req->path_normalized.len] = '\0';
    char tail;
    return sscanf(path, "/r/%lld/%lld%c", user, ticket, &tail) == 2 && *user > 0 && *ticket > 0 ? 0 : -1;
}

static int on_req(h2o_handler_t *self, h2o_req_t *req)
{
    (void)self;
    long long user, ticket;
    if (!h2o_memis(req->method.base, req->method.len, H2O_STRLIT("GET")) || parse_path(req, &user, &ticket) != 0) {
        req->res.status = 404;
        req->res.reason = "Not Found";
        h2o_send_inline(req, H2O_STRLIT("{}"));
        return 0;
    }
    hop_req_t *r = calloc(1, sizeof(*r));
    if (!r) {
        req->res.status = 503;
        req->res.reason = "Service Unavailable";
        h2o_send_inline(req, H2O_STRLIT("{}"));
        return 0;
    }
    hop_loop_t *L = this_loop;
    r->loop = L;
    r->req = req;
    r->call.user.id = user;
    snprintf(r->call.session_id, sizeof(r->call.session_id), "dbhop%d", (int)(user % 1000000));
    r->ticket = ticket;
    r->busy = 1;
    hop_req_t **slot = h2o_mem_alloc_shared(&req->pool, sizeof(*slot), on_req_disposed);
    *slot = r;
    int rc;
    switch (opt.mode) {
    case MODE_WORKER:
        r->job.run = worker_run;
        rc = pool_submit(L->workers, &r->job);
        break;
    case MODE_CORO:
        r->cjob.run = coro_run;
        r->cjob.done = coro_done;
        rc = coro_pool_submit(L->coro, &r->cjob);
        break;
    default:
        rc = nb_submit(L->nb, r);
        break;
    }
    if (rc != 0) /* the queue is full: 503, as call.c answers */
        finish_failed(r, ERR_OVERLOADED);
    return 0;
}

static void on_accept(h2o_socket_t *listener, const char *err)
{
    if (err)
        return;
    h2o_socket_t *sock = h2o_evloop_socket_accept(listener);
    if (sock)
        h2o_accept(listener->data, sock);
}

static int listen_on(int port)
{
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0), on = 1;
    if (fd < 0)
        return -1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on, sizeof(on));
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
    if (bind(fd, (struct sockaddr *)&addr, sizeof(addr)) != 0 || listen(fd, 1024) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static void *loop_main(void *arg)
{
    hop_loop_t *L = arg;
    this_loop = L;
    db_thread_init();
    h2o_context_init(&L->ctx, h2o_evloop_create(), &globalconf);
    L->queue = h2o_multithread_create_queue(L->ctx.loop);
    h2o_multithread_register_receiver(L->queue, &L->done_receiver, on_worker_done);
    if (opt.mode == MODE_WORKER) {
        /* The gateway's DB pool (server.c), `conns` threads. */
        pool_config_t pc = {.name = "db",
                            .threads = opt.conns,
                            .queue_max = gw_cfg->db_queue_max,
                            .queue_timeout_ms = gw_cfg->db_queue_timeout_ms,
                            .thread_init = worker_init,
                            .thread_fini = worker_fini};
        L->workers = pool_create(&pc);
    } else if (opt.mode == MODE_CORO) {
        coro_pool_config_t cc = {.conns = opt.conns,
                                 .queue_max = gw_cfg->db_queue_max,
                                 .queue_timeout_ms = gw_cfg->db_queue_timeout_ms,
                                 .stack_bytes = opt.stack_bytes,
                                 .db = &opt.db};
        L->coro = coro_pool_create(L->ctx.loop, &cc);
    } else {
        L->nb = nb_create(L->ctx.loop);
    }
    int fd = listen_on(opt.port);
    if (fd < 0 || (opt.mode == MODE_WORKER && !L->workers) || (opt.mode == MODE_CORO && !L->coro) ||
        (opt.mode == MODE_ASYNC && !L->nb)) {
        fprintf(stderr, "dbhop: cannot start a loop: %s\n", strerror(errno));
        exit(1);
    }
    L->accept.ctx = &L->ctx;
    L->accept.hosts = globalconf.hosts;
    L->accept.ssl_ctx = ssl_ctx;
    h2o_socket_t *sock = h2o_evloop_socket_create(L->ctx.loop, fd, H2O_SOCKET_FLAG_DONT_READ);
    sock->data = &L->accept;
    h2o_socket_read_start(sock, on_accept);
    pthread_barrier_wait(&ready);
    for (;;)
        h2o_evloop_run(L->ctx.loop, INT32_MAX);
    return NULL;
}

/* The gateway's TLS protocol settings (server.c, make_ssl_ctx), with
 * OpenSSL's default suites: the same for every mode. */
static SSL_CTX *make_ssl_ctx(const char *cert, const char *key)
{
    static const h2o_iovec_t http11_only[] = {{H2O_STRLIT("http/1.1")}, {NULL, 0}};
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    if (!ctx || SSL_CTX_use_certificate_chain_file(ctx, cert) != 1 ||
        SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1)
        return NULL;
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
    SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
    h2o_ssl_register_alpn_protocols(ctx, http11_only);
    return ctx;
}

static void usage(void)
{
    fprintf(stderr, "usage: dbhop --config FILE --mode worker|coro|async --loops N --conns N --port P "
                    "[--stack-kb K] [--read detail|view]\n");
    exit(2);
}

int main(int argc, char **argv)
{
    const char *config = NULL;
    opt.mode = -1;
    for (int i = 1; i + 1 < argc; i += 2) {
        const char *k = argv[i], *v = argv[i + 1];
        if (!strcmp(k, "--mode"))
            opt.mode = !strcmp(v, "worker")  ? MODE_WORKER
                       : !strcmp(v, "async") ? MODE_ASYNC
                       : !strcmp(v, "coro")  ? MODE_CORO
                                             : (hop_mode_t)-1;
        else if (!strcmp(k, "--config"))
            config = v;
        else if (!strcmp(k, "--loops"))
            opt.loops = atoi(v);
        else if (!strcmp(k, "--conns"))
            opt.conns = atoi(v);
        else if (!strcmp(k, "--port"))
            opt.port = atoi(v);
        else if (!strcmp(k, "--read"))
            opt.view = !strcmp(v, "view") ? 1 : !strcmp(v, "detail") ? 0 : -1;
        else if (!strcmp(k, "--stack-kb"))
            opt.stack_bytes = (size_t)atoi(v) * 1024;
        else
            usage();
    }
    if ((int)opt.mode < 0 || !config || opt.loops < 1 || opt.loops > 16 || opt.conns < 1 || opt.conns > 64 ||
        opt.port <= 0 || opt.stack_bytes < 65536 || opt.view < 0 || (opt.view && opt.mode == MODE_ASYNC))
        usage();
    static gw_config_t cfg;
    if (config_load(config, &cfg) != 0)
        return 2;
    gw_cfg = &cfg;
    opt.db = (db_params_t){.unix_socket = cfg.db_socket,
                           .host = cfg.db_host,
                           .port = cfg.db_port,
                           .user = cfg.db_user,
                           .password = cfg.db_password,
                           .database = cfg.db_name,
                           .connect_timeout_ms = cfg.db_connect_timeout_ms,
                           .query_timeout_ms = cfg.db_query_timeout_ms};
    signal(SIGPIPE, SIG_IGN);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    db_set_tls(cfg.db_tls, cfg.db_tls_ca_file);
    if (db_library_init() != 0 || media_url_set_key(cfg.media_url_key, strlen(cfg.media_url_key)) != 0 ||
        !(ssl_ctx = make_ssl_ctx(cfg.tls_cert_file, cfg.tls_key_file))) {
        fprintf(stderr, "dbhop: cannot initialise MariaDB, the media key or TLS\n");
        return 1;
    }
    h2o_config_init(&globalconf);
    globalconf.server_name = h2o_iovec_init(H2O_STRLIT("dbhop"));
    h2o_hostconf_t *host = h2o_config_register_host(&globalconf, h2o_iovec_init(H2O_STRLIT("default")), 65535);
    h2o_pathconf_t *path = h2o_config_register_path(host, "/", 0);
    h2o_create_handler(path, sizeof(h2o_handler_t))->on_req = on_req;
    hop_loop_t *loops = calloc((size_t)opt.loops, sizeof(*loops));
    if (!loops)
        return 1;
    pthread_barrier_init(&ready, NULL, (unsigned)opt.loops + 1);
    for (int i = 0; i < opt.loops; i++)
        pthread_create(&loops[i].tid, NULL, loop_main, &loops[i]);
    pthread_barrier_wait(&ready);
    printf("ready\n");
    fflush(stdout);
    int sig;
    sigwait(&set, &sig);
    _exit(0); /* a probe: nothing to drain */
}
