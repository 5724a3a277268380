#include "server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "background.h"
#include "call_internal.h"
#include "config.h"
#include "db.h"
#include "log.h"
#include "memory_trim.h"
#include "metrics_db.h"
#include "request.h"
#include "wechat_client.h"

static h2o_globalconf_t globalconf;
static SSL_CTX *ssl_ctx;
static struct gw_thread *threads;
static int nthreads;
static worker_pool_t *wechat_pool, *cpu_pool;
static pthread_barrier_t ready_barrier;
static atomic_int startup_failed;
static atomic_int threads_draining; /* loop threads not yet through their in-flight calls */
static h2o_multithread_message_t wake_msgs[256];
static trim_activity_t *activity; /* one per loop thread, indexed like threads */

/* Memory freed by a burst goes back to the system once nothing has started
 * and nothing has been in flight for this long (more than one tick of the
 * loops' one-second timer, so a tick that is a little late cannot hide a
 * request), and after TRIM_BACKSTOP_MS of work without such a pause. */
#define TRIM_QUIET_MS 1500
#define TRIM_BACKSTOP_MS 30000
#define TRIM_POLL_NS (500 * 1000000L)

/* ALPN list with only http/1.1: HTTP/2 is opt-in (see README). */
static const h2o_iovec_t http11_only[] = {{H2O_STRLIT("http/1.1")}, {NULL, 0}};

worker_pool_t *server_pool(struct gw_thread *t, pool_kind_t kind)
{
    switch (kind) {
    case POOL_DB:
        return t->db_pool;
    case POOL_WECHAT:
        return wechat_pool;
    case POOL_CPU:
        return cpu_pool;
    default:
        return NULL;
    }
}

int server_is_trusted_proxy(const char *ip)
{
    const char *list = gw_cfg->trusted_proxies;
    size_t n = strlen(ip);
    if (!n)
        return 0;
    for (const char *p = list; p && *p;) {
        while (*p == ' ' || *p == ',')
            p++;
        const char *e = p;
        while (*e && *e != ',' && *e != ' ')
            e++;
        if ((size_t)(e - p) == n && strncmp(p, ip, n) == 0)
            return 1;
        p = e;
    }
    return 0;
}

/* Mozilla's "intermediate" TLS 1.2 list: ECDHE key exchange, AEAD ciphers. */
#define TLS12_CIPHERS                                                                                    \
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"            \
    "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305"

static SSL_CTX *make_ssl_ctx(void)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    if (!ctx)
        return NULL;
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
    /* TLS 1.2: AEAD suites with forward secrecy only (ECDHE with AES-GCM or
     * ChaCha20-Poly1305). No CBC suite (LUCKY13 and its kin), no static RSA
     * key exchange. TLS 1.3 keeps OpenSSL's suites, all of them AEAD. */
    if (SSL_CTX_set_cipher_list(ctx, TLS12_CIPHERS) != 1) {
        fprintf(stderr, "tls: cannot set the TLS 1.2 cipher suites\n");
        goto Error;
    }
    /* Idle keep-alive connections give their read/write buffers back:
     * about half the memory of an idle TLS connection. */
    SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
    if (SSL_CTX_use_certificate_chain_file(ctx, gw_cfg->tls_cert_file) != 1) {
        fprintf(stderr, "config: tls_cert_file: cannot load %s\n", gw_cfg->tls_cert_file);
        goto Error;
    }
    if (SSL_CTX_use_PrivateKey_file(ctx, gw_cfg->tls_key_file, SSL_FILETYPE_PEM) != 1 ||
        SSL_CTX_check_private_key(ctx) != 1) {
        fprintf(stderr, "config: tls_key_file: cannot load %s or it does not match the certificate\n",
                gw_cfg->tls_key_file);
        goto Error;
    }
    h2o_ssl_register_alpn_protocols(ctx, gw_cfg->http2 ? h2o_alpn_protocols : http11_only);
    return ctx;
Error:
    ERR_clear_error();
    SSL_CTX_free(ctx);
    return NULL;
}

static int open_listener(int port)
{
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    if (inet_pton(AF_INET, gw_cfg->listen_host, &addr.sin_addr) != 1) {
        fprintf(stderr, "config: listen_host: \"%s\" is not an IPv4 address\n", gw_cfg->listen_host);
        return -1;
    }
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), on = 1;
    if (fd < 0)
        return -1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on, sizeof(on)); /* one listener per loop thread */
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
    if (bind(fd, (struct sockaddr *)&addr, sizeof(addr)) != 0 || listen(fd, 1024) != 0) {
        log_error("server", "cannot listen on %s:%d: %s", gw_cfg->listen_host, port, strerror(errno));
        close(fd);
        return -1;
    }
    fcntl(fd, F_SETFL, O_NONBLOCK);
    return fd;
}

static void on_accept(h2o_socket_t *listener, const char *err)
{
    if (err)
        return;
    h2o_socket_t *sock = h2o_evloop_socket_accept(listener);
    if (sock)
        h2o_accept(listener->data, sock);
}

static h2o_socket_t *start_listener(struct gw_thread *t, int port, h2o_accept_ctx_t *actx, SSL_CTX *ssl)
{
    int fd = open_listener(port);
    if (fd < 0)
        return NULL;
    actx->ctx = &t->ctx;
    actx->hosts = globalconf.hosts;
    actx->ssl_ctx = ssl;
    h2o_socket_t *sock = h2o_evloop_socket_create(t->ctx.loop, fd, H2O_SOCKET_FLAG_DONT_READ);
    sock->data = actx;
    h2o_socket_read_start(sock, on_accept);
    return sock;
}

static void close_listeners(struct gw_thread *t)
{
    if (t->listener_tls) {
        h2o_socket_read_stop(t->listener_tls);
        h2o_socket_close(t->listener_tls);
        t->listener_tls = NULL;
    }
    if (t->listener_plain) {
        h2o_socket_read_stop(t->listener_plain);
        h2o_socket_close(t->listener_plain);
        t->listener_plain = NULL;
    }
}

static void on_wake(h2o_multithread_receiver_t *receiver, h2o_linklist_t *messages)
{
    struct gw_thread *t = H2O_STRUCT_FROM_MEMBER(struct gw_thread, wake_receiver, receiver);
    while (!h2o_linklist_is_empty(messages)) {
        h2o_linklist_t *l = messages->next;
        h2o_linklist_unlink(l);
    }
    if (!t->stopping) {
        t->stopping = 1;
        close_listeners(t); /* stop accepting; in-flight requests finish */
        h2o_context_request_shutdown(&t->ctx); /* no more keep-alive */
    }
}

static void *db_worker_init(void *arg, int index)
{
    (void)arg;
    (void)index;
    db_params_t p = {
        .unix_socket = gw_cfg->db_socket,
        .host = gw_cfg->db_host,
        .port = gw_cfg->db_port,
        .user = gw_cfg->db_user,
        .password = gw_cfg->db_password,
        .database = gw_cfg->db_name,
        .connect_timeout_ms = gw_cfg->db_connect_timeout_ms,
        .query_timeout_ms = gw_cfg->db_query_timeout_ms,
    };
    db_thread_init();
    return db_conn_new(&p);
}

static void db_worker_fini(void *ctx)
{
    db_conn_free(ctx);
    db_thread_end();
}

static void wechat_worker_fini(void *ctx)
{
    (void)ctx;
    wx_client_thread_cleanup();
}

static void report_pool(h2o_timeout_entry_t *entry);

typedef struct {
    h2o_timeout_t timeout;
    h2o_timeout_entry_t entry;
    struct gw_thread *thread;
} pool_reporter_t;

/* Every second, each loop publishes its DB pool's use for /metrics, and
 * whether it had work since the last tick (for the memory trim). */
static void report_pool(h2o_timeout_entry_t *entry)
{
    pool_reporter_t *r = H2O_STRUCT_FROM_MEMBER(pool_reporter_t, entry, entry);
    int busy, total, queued;
    pool_stats(r->thread->db_pool, &busy, &total, &queued);
    metrics_db_pool(r->thread->index, busy, total, queued);
    trim_activity_tick(&activity[r->thread->index], r->thread->inflight, monotonic_ms());
    if (!r->thread->stopping)
        h2o_timeout_link(r->thread->ctx.loop, &r->timeout, &r->entry);
}

/* h2o keeps the socket buffers a thread freed in a thread-local free list.
 * Hand them back before the loop thread ends: once its thread-local storage
 * is gone nothing points to them (and LeakSanitizer reports them). */
static void release_socket_buffer_cache(void)
{
    h2o_mem_recycle_t *cache = &h2o_socket_buffer_prototype.allocator;
    while (cache->cnt > 0)
        free(h2o_mem_alloc_recycle(cache, 0)); /* pops a cached buffer */
}

static void *thread_main(void *arg)
{
    struct gw_thread *t = arg;
    h2o_context_init(&t->ctx, h2o_evloop_create(), &globalconf);
    t->queue = h2o_multithread_create_queue(t->ctx.loop);
    h2o_multithread_register_receiver(t->queue, &t->done_receiver, call_on_worker_done);
    h2o_multithread_register_receiver(t->queue, &t->wake_receiver, on_wake);
    if (gw_cfg->https_port && !(t->listener_tls = start_listener(t, gw_cfg->https_port, &t->accept_tls, ssl_ctx)))
        atomic_store(&startup_failed, 1);
    if (gw_cfg->http_port && !(t->listener_plain = start_listener(t, gw_cfg->http_port, &t->accept_plain, NULL)))
        atomic_store(&startup_failed, 1);
    pool_reporter_t reporter = {.thread = t};
    h2o_timeout_init(t->ctx.loop, &reporter.timeout, 1000);
    reporter.entry.cb = report_pool;
    report_pool(&reporter.entry); /* publish now, so /metrics has the gauges from the start */
    pthread_barrier_wait(&ready_barrier);

    while (!t->stopping)
        h2o_evloop_run(t->ctx.loop, INT32_MAX);
    /* Drain: finish what is in flight. A thread that is done keeps answering
     * its open connections (503 SHUTTING_DOWN) until every thread is done, so
     * a request sent on an idle keep-alive connection gets an answer instead
     * of waiting for the process to exit. */
    long long deadline = monotonic_ms() + gw_cfg->shutdown_timeout_ms;
    int drained = 0;
    while (monotonic_ms() < deadline) {
        if (!drained && t->inflight == 0) {
            drained = 1;
            atomic_fetch_sub(&threads_draining, 1);
        }
        if (drained && t->inflight == 0 && atomic_load(&threads_draining) == 0)
            break;
        h2o_evloop_run(t->ctx.loop, 50);
    }
    if (t->inflight > 0)
        log_warn("server", "thread %d: %zu requests still in flight at shutdown deadline", t->index, t->inflight);
    if (h2o_timeout_is_linked(&reporter.entry))
        h2o_timeout_unlink(&reporter.entry);
    h2o_timeout_dispose(t->ctx.loop, &reporter.timeout);
    release_socket_buffer_cache();
    return NULL;
}

/* Counts the request for the memory trim, on the loop thread that owns the
 * counter, then hands it to the router. */
static int on_req(h2o_handler_t *self, h2o_req_t *req)
{
    struct gw_thread *t = H2O_STRUCT_FROM_MEMBER(struct gw_thread, ctx, req->conn->ctx);
    trim_activity_request(&activity[t->index]);
    return request_on_req(self, req);
}

static void setup_globalconf(void)
{
    h2o_config_init(&globalconf);
    globalconf.server_name = h2o_iovec_init(H2O_STRLIT("gateway"));
    globalconf.max_request_entity_size = (size_t)gw_cfg->max_body_bytes;
    globalconf.http1.upgrade_to_http2 = gw_cfg->http2;
    globalconf.http1.req_timeout = (uint64_t)gw_cfg->idle_timeout_ms;
    globalconf.http2.idle_timeout = (uint64_t)gw_cfg->idle_timeout_ms;
    h2o_hostconf_t *host = h2o_config_register_host(&globalconf, h2o_iovec_init(H2O_STRLIT("default")), 65535);
    h2o_pathconf_t *path = h2o_config_register_path(host, "/", 0);
    h2o_handler_t *handler = h2o_create_handler(path, sizeof(*handler));
    handler->on_req = on_req;
}

/* The main thread waits for SIGTERM/SIGINT. Meanwhile it hands memory that
 * glibc keeps after a burst (image uploads, thousands of TLS connections)
 * back to the system once the burst is over (memory_trim.h), so the
 * footprint returns to its baseline. */
static int wait_for_signal(void)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    const struct timespec poll = {.tv_nsec = TRIM_POLL_NS};
    memory_trim_t trim = {.quiet_ms = TRIM_QUIET_MS, .backstop_ms = TRIM_BACKSTOP_MS};
    for (;;) {
        int sig = sigtimedwait(&set, NULL, &poll);
        if (sig > 0)
            return sig;
        if (errno != EAGAIN)
            continue; /* interrupted */
        long long now = monotonic_ms();
        if (memory_trim_due(&trim, trim_activity_latest(activity, nthreads), now)) {
            malloc_trim(0);
            log_debug("server", "memory trimmed in %lld ms", monotonic_ms() - now);
        }
    }
}

int server_run(void)
{
    signal(SIGPIPE, SIG_IGN);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, NULL); /* threads inherit: only main waits for them */

    if (gw_cfg->https_port && !(ssl_ctx = make_ssl_ctx()))
        return 2;
    setup_globalconf();
    nthreads = gw_cfg->threads ? gw_cfg->threads : (int)sysconf(_SC_NPROCESSORS_ONLN);
    if (nthreads < 1)
        nthreads = 1;
    if (nthreads > 256)
        nthreads = 256;

    threads = calloc((size_t)nthreads, sizeof(*threads));
    activity = aligned_alloc(_Alignof(trim_activity_t), (size_t)nthreads * sizeof(*activity));
    if (!threads || !activity) {
        log_error("server", "out of memory");
        free(threads);
        free(activity);
        SSL_CTX_free(ssl_ctx);
        return 1;
    }
    for (int i = 0; i < nthreads; i++)
        trim_activity_init(&activity[i], monotonic_ms());

    /* A WeChat job may wait for a worker about as long as one call with its
     * retries may take; past that the client has likely given up. */
    int wechat_wait_ms = gw_cfg->wechat_timeout_ms * (gw_cfg->wechat_max_retries + 1);
    pool_config_t wc = {.name = "wechat", .threads = gw_cfg->wechat_workers, .queue_max = 1024,
                        .queue_timeout_ms = wechat_wait_ms < 5000 ? 5000 : wechat_wait_ms,
                        .thread_fini = wechat_worker_fini};
    wechat_pool = pool_create(&wc);
    int ncpu = (int)sysconf(_SC_NPROCESSORS_ONLN);
    pool_config_t cc = {.name = "cpu", .threads = ncpu > 0 ? ncpu : 1, .queue_max = 256, .queue_timeout_ms = 10000};
    cpu_pool = pool_create(&cc);

    atomic_store(&threads_draining, nthreads);
    pthread_barrier_init(&ready_barrier, NULL, (unsigned)nthreads + 1);
    for (int i = 0; i < nthreads; i++) {
        threads[i].index = i;
        pool_config_t dc = {.name = "db", .threads = gw_cfg->db_pool_size, .queue_max = gw_cfg->db_queue_max,
                            .queue_timeout_ms = gw_cfg->db_queue_timeout_ms, .thread_init = db_worker_init,
                            .thread_fini = db_worker_fini};
        threads[i].db_pool = pool_create(&dc);
        pthread_create(&threads[i].tid, NULL, thread_main, &threads[i]);
    }
    pthread_barrier_wait(&ready_barrier);
    int rc = 0;
    if (atomic_load(&startup_failed)) {
        rc = 1;
    } else {
        log_info("server", "listening: https=%s:%d http=%s:%d threads=%d http2=%s", gw_cfg->listen_host,
                 gw_cfg->https_port, gw_cfg->listen_host, gw_cfg->http_port, nthreads, gw_cfg->http2 ? "on" : "off");
        background_start();
        int sig = wait_for_signal();
        log_info("server", "signal %d: draining in-flight requests", sig);
    }
    background_stop();
    for (int i = 0; i < nthreads; i++)
        h2o_multithread_send_message(&threads[i].wake_receiver, &wake_msgs[i]);
    for (int i = 0; i < nthreads; i++)
        pthread_join(threads[i].tid, NULL);
    /* Workers finish queued jobs; their results are no longer delivered. */
    pool_destroy(wechat_pool);
    pool_destroy(cpu_pool);
    for (int i = 0; i < nthreads; i++)
        pool_destroy(threads[i].db_pool);
    pthread_barrier_destroy(&ready_barrier);
    free(activity);
    SSL_CTX_free(ssl_ctx);
    log_info("server", "stopped");
    return rc;
}
