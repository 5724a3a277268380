#include "server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
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
#include "handover.h"
#include "log.h"
#include "memory_trim.h"
#include "metrics_db.h"
#include "ratelimit.h"
#include "request.h"
#include "static_files.h"
#include "wechat_client.h"

static h2o_globalconf_t globalconf, upload_globalconf;
static _Thread_local struct gw_thread *this_thread;
static SSL_CTX *ssl_ctx;
static struct gw_thread *threads;
static int nthreads;
static worker_pool_t *wechat_pool, *cpu_pool;
static pthread_barrier_t ready_barrier;
static atomic_int startup_failed;
static atomic_int threads_draining; /* loop threads not yet through their in-flight calls */
static atomic_int handed_over;      /* a successor accepts on our listening sockets */
static h2o_multithread_message_t wake_msgs[256];
static trim_activity_t *activity; /* one per loop thread, indexed like threads */
static int (*reload_hook)(void);
/* The certificate, chain and key new handshakes use, held by an SSL_CTX of
 * their own so a reload can swap them whole (see cert_cb). */
static SSL_CTX *identity;
static pthread_mutex_t identity_lock = PTHREAD_MUTEX_INITIALIZER;

/* How long a successor may take to accept before the hand-over is given up. */
#define HANDOVER_TIMEOUT_MS 30000

/* Memory freed by a burst goes back to the system once nothing has started
 * and nothing has been in flight for this long (more than one tick of the
 * loops' one-second timer, so a tick that is a little late cannot hide a
 * request), and after TRIM_BACKSTOP_MS of work without such a pause. */
#define TRIM_QUIET_MS 1500
#define TRIM_BACKSTOP_MS 30000
#define TRIM_POLL_NS (500 * 1000000L)

/* ALPN list with only http/1.1: HTTP/2 is opt-in (see README). */
static const h2o_iovec_t http11_only[] = {{H2O_STRLIT("http/1.1")}, {NULL, 0}};

struct gw_thread *server_this_thread(void)
{
    return this_thread;
}

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

/* Loads a certificate chain and its key into an SSL_CTX that only holds
 * them; NULL with the reason in why. */
static SSL_CTX *load_identity(const char *cert_file, const char *key_file, char *why, size_t whysz)
{
    SSL_CTX *c = SSL_CTX_new(TLS_server_method());
    if (!c) {
        snprintf(why, whysz, "tls_cert_file: out of memory");
        return NULL;
    }
    if (SSL_CTX_use_certificate_chain_file(c, cert_file) != 1) {
        snprintf(why, whysz, "tls_cert_file: cannot load %s", cert_file);
        goto Error;
    }
    if (SSL_CTX_use_PrivateKey_file(c, key_file, SSL_FILETYPE_PEM) != 1 || SSL_CTX_check_private_key(c) != 1) {
        snprintf(why, whysz, "tls_key_file: cannot load %s or it does not match the certificate", key_file);
        goto Error;
    }
    X509 *x = SSL_CTX_get0_certificate(c);
    if (X509_cmp_current_time(X509_get0_notAfter(x)) <= 0) {
        snprintf(why, whysz, "tls_cert_file: %s has expired", cert_file);
        goto Error;
    }
    if (X509_cmp_current_time(X509_get0_notBefore(x)) >= 0) {
        snprintf(why, whysz, "tls_cert_file: %s is not valid yet", cert_file);
        goto Error;
    }
    return c;
Error:
    ERR_clear_error();
    SSL_CTX_free(c);
    return NULL;
}

/* Every handshake takes the identity in use at that moment; a connection
 * keeps what it got, so a reload never touches open connections. */
static int cert_cb(SSL *ssl, void *arg)
{
    (void)arg;
    pthread_mutex_lock(&identity_lock);
    STACK_OF(X509) *chain = NULL;
    SSL_CTX_get0_chain_certs(identity, &chain);
    int ok =
        SSL_use_cert_and_key(ssl, SSL_CTX_get0_certificate(identity), SSL_CTX_get0_privatekey(identity), chain, 1) == 1;
    pthread_mutex_unlock(&identity_lock);
    return ok;
}

int server_reload_tls(const char *cert_file, const char *key_file)
{
    char why[PATH_MAX + 128];
    SSL_CTX *fresh = load_identity(cert_file, key_file, why, sizeof(why));
    if (!fresh) {
        log_error("server", "reload: %s; the certificate in use stays", why);
        return -1;
    }
    char until[64] = "?";
    BIO *b = BIO_new(BIO_s_mem());
    if (b && ASN1_TIME_print(b, X509_get0_notAfter(SSL_CTX_get0_certificate(fresh))) == 1) {
        int n = BIO_read(b, until, sizeof(until) - 1);
        until[n > 0 ? n : 0] = '\0';
    }
    BIO_free(b);
    pthread_mutex_lock(&identity_lock);
    SSL_CTX *old = identity;
    identity = fresh;
    pthread_mutex_unlock(&identity_lock);
    SSL_CTX_free(old);
    log_info("server", "reload: new connections use the certificate in %s (valid until %s)", cert_file, until);
    return 0;
}

void server_set_reload_hook(int (*hook)(void))
{
    reload_hook = hook;
}
/* Mozilla's "intermediate" TLS 1.2 list: ECDHE key exchange, AEAD ciphers. */
#define TLS12_CIPHERS                                                                                                  \
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"                         \
    "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305"

static SSL_CTX *make_ssl_ctx(void)
{
    char why[PATH_MAX + 128];
    if (!(identity = load_identity(gw_cfg->tls_cert_file, gw_cfg->tls_key_file, why, sizeof(why)))) {
        fprintf(stderr, "config: %s\n", why);
        return NULL;
    }
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    if (!ctx) {
        SSL_CTX_free(identity);
        identity = NULL;
        return NULL;
    }
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
    /* TLS 1.2: AEAD suites with forward secrecy only (ECDHE with AES-GCM or
     * ChaCha20-Poly1305). No CBC suite (LUCKY13 and its kin), no static RSA
     * key exchange. TLS 1.3 keeps OpenSSL's suites, all of them AEAD. */
    if (SSL_CTX_set_cipher_list(ctx, TLS12_CIPHERS) != 1) {
        fprintf(stderr, "tls: cannot set the TLS 1.2 cipher suites\n");
        SSL_CTX_free(ctx);
        SSL_CTX_free(identity);
        identity = NULL;
        return NULL;
    }
    /* Idle keep-alive connections give their read/write buffers back:
     * about half the memory of an idle TLS connection. */
    SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
    SSL_CTX_set_cert_cb(ctx, cert_cb, NULL);
    h2o_ssl_register_alpn_protocols(ctx, gw_cfg->http2 ? h2o_alpn_protocols : http11_only);
    return ctx;
}

/* inherited: a socket taken over from a predecessor (handover.h), or -1. */
static int open_listener(int port, int inherited)
{
    if (inherited >= 0)
        return inherited;
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

const char *const listen_kind_names[LISTEN__COUNT] = {"https", "http", "upload_https", "upload_http"};

/* The listener of that kind on ctx's loop, on the predecessor's socket when
 * there is one. 0, or -1 when the port cannot be bound. */
static int start_listener(struct gw_thread *t, listen_kind_t kind, h2o_context_t *ctx, int port, SSL_CTX *ssl)
{
    int fd = open_listener(port, t->inherited[kind]);
    t->fd[kind] = fd;
    if (fd < 0)
        return -1;
    h2o_accept_ctx_t *actx = &t->accept[kind];
    actx->ctx = ctx;
    actx->hosts = ctx->globalconf->hosts;
    actx->ssl_ctx = ssl;
    h2o_socket_t *sock = h2o_evloop_socket_create(ctx->loop, fd, H2O_SOCKET_FLAG_DONT_READ);
    sock->data = actx;
    h2o_socket_read_start(sock, on_accept);
    t->listener[kind] = sock;
    return 0;
}

static void close_listener(h2o_socket_t **listener)
{
    if (*listener) {
        h2o_socket_read_stop(*listener);
        h2o_socket_close(*listener);
        *listener = NULL;
    }
}

static void close_listeners(struct gw_thread *t)
{
    for (int k = 0; k < LISTEN__COUNT; k++)
        close_listener(&t->listener[k]);
}

static void on_wake(h2o_multithread_receiver_t *receiver, h2o_linklist_t *messages)
{
    struct gw_thread *t = H2O_STRUCT_FROM_MEMBER(struct gw_thread, wake_receiver, receiver);
    while (!h2o_linklist_is_empty(messages)) {
        h2o_linklist_t *l = messages->next;
        h2o_linklist_unlink(l);
    }
    if (!t->exiting) {
        t->exiting = 1;
        /* After a hand-over the successor serves on; requests still arriving
         * on this process's open connections are answered, not turned away. */
        t->stopping = !atomic_load(&handed_over);
        close_listeners(t);                    /* stop accepting; in-flight requests finish */
        h2o_context_request_shutdown(&t->ctx); /* no more keep-alive */
        if (t->has_upload_ctx)
            h2o_context_request_shutdown(&t->upload_ctx);
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
    if (!r->thread->exiting)
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
    this_thread = t;
    h2o_context_init(&t->ctx, h2o_evloop_create(), &globalconf);
    t->queue = h2o_multithread_create_queue(t->ctx.loop);
    h2o_multithread_register_receiver(t->queue, &t->done_receiver, call_on_worker_done);
    h2o_multithread_register_receiver(t->queue, &t->wake_receiver, on_wake);
    for (int k = 0; k < LISTEN__COUNT; k++)
        t->fd[k] = -1;
    if (gw_cfg->https_port && start_listener(t, LISTEN_TLS, &t->ctx, gw_cfg->https_port, ssl_ctx) != 0)
        atomic_store(&startup_failed, 1);
    if (gw_cfg->http_port && start_listener(t, LISTEN_PLAIN, &t->ctx, gw_cfg->http_port, NULL) != 0)
        atomic_store(&startup_failed, 1);
    if (gw_cfg->upload_https_port || gw_cfg->upload_http_port) {
        h2o_context_init(&t->upload_ctx, t->ctx.loop, &upload_globalconf);
        t->has_upload_ctx = 1;
        if (gw_cfg->upload_https_port &&
            start_listener(t, LISTEN_UPLOAD_TLS, &t->upload_ctx, gw_cfg->upload_https_port, ssl_ctx) != 0)
            atomic_store(&startup_failed, 1);
        if (gw_cfg->upload_http_port &&
            start_listener(t, LISTEN_UPLOAD_PLAIN, &t->upload_ctx, gw_cfg->upload_http_port, NULL) != 0)
            atomic_store(&startup_failed, 1);
    }
    pool_reporter_t reporter = {.thread = t};
    h2o_timeout_init(t->ctx.loop, &reporter.timeout, 1000);
    reporter.entry.cb = report_pool;
    report_pool(&reporter.entry); /* publish now, so /metrics has the gauges from the start */
    pthread_barrier_wait(&ready_barrier);

    while (!t->exiting)
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
    trim_activity_request(&activity[this_thread->index]);
    return request_on_req(self, req);
}

/* h2o 2.2.5 reads a whole request body before any handler runs, and its
 * only limit is max_request_entity_size, per configuration (so per
 * listener), checked against Content-Length before reading (413) and
 * while reading a chunked body. The main listeners read at most
 * api_max_body_bytes; the upload listeners, when configured, read up to
 * max_body_bytes. Route limits are checked after authentication
 * (request.c). */
static void setup_globalconf(h2o_globalconf_t *gc, int max_body_bytes)
{
    h2o_config_init(gc);
    gc->server_name = h2o_iovec_init(H2O_STRLIT("gateway"));
    gc->max_request_entity_size = (size_t)max_body_bytes;
    gc->http1.upgrade_to_http2 = gw_cfg->http2;
    gc->http1.req_timeout = (uint64_t)gw_cfg->idle_timeout_ms;
    gc->http2.idle_timeout = (uint64_t)gw_cfg->idle_timeout_ms;
    h2o_hostconf_t *host = h2o_config_register_host(gc, h2o_iovec_init(H2O_STRLIT("default")), 65535);
    static_files_register(host); /* /console/: the staff console's files */
    h2o_pathconf_t *path = h2o_config_register_path(host, "/", 0);
    h2o_handler_t *handler = h2o_create_handler(path, sizeof(*handler));
    handler->on_req = on_req;
}

/* The main thread waits for SIGTERM/SIGINT/SIGHUP/SIGUSR2. Meanwhile it hands memory that
 * glibc keeps after a burst (image uploads, thousands of TLS connections)
 * back to the system once the burst is over (memory_trim.h), so the
 * footprint returns to its baseline. */
static int wait_for_signal(void)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    sigaddset(&set, SIGUSR2);
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

static void reload(void)
{
    log_info("server", "signal %d: reloading the certificate and secrets", SIGHUP);
    handover_notify_reloading();
    int rc = reload_hook ? reload_hook() : 0;
    log_info("server", "reload %s", rc == 0 ? "done" : "partly refused; see above");
    handover_notify_reloaded();
}

/* Starts the successor on this process's listening sockets; 0 once it accepts. */
static int hand_over(void)
{
    static int fds[LISTEN__COUNT][256];
    handover_group_t groups[LISTEN__COUNT];
    for (int k = 0; k < LISTEN__COUNT; k++) {
        groups[k] = (handover_group_t){.kind = listen_kind_names[k], .fds = fds[k], .n = 0};
        for (int i = 0; i < nthreads; i++)
            if (threads[i].fd[k] >= 0)
                fds[k][groups[k].n++] = threads[i].fd[k];
    }
    return handover_spawn(groups, LISTEN__COUNT, HANDOVER_TIMEOUT_MS);
}

/* Serves, reloading on SIGHUP, until SIGTERM/SIGINT or a hand-over. */
static void serve_until_stopped(void)
{
    for (;;) {
        int sig = wait_for_signal();
        if (sig == SIGHUP) {
            reload();
            continue;
        }
        if (sig == SIGUSR2) {
            log_info("server", "signal %d: handing over to a new process", sig);
            if (hand_over() != 0)
                continue;
            atomic_store(&handed_over, 1);
            log_info("server", "draining in-flight requests");
            return;
        }
        handover_notify_stopping();
        log_info("server", "signal %d: draining in-flight requests", sig);
        return;
    }
}

int server_run(void)
{
    signal(SIGPIPE, SIG_IGN);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    sigaddset(&set, SIGUSR2);
    pthread_sigmask(SIG_BLOCK, &set, NULL); /* threads inherit: only main waits for them */

    if ((gw_cfg->https_port || gw_cfg->upload_https_port) && !(ssl_ctx = make_ssl_ctx()))
        return 2;
    setup_globalconf(&globalconf, gw_cfg->api_max_body_bytes ? gw_cfg->api_max_body_bytes : gw_cfg->max_body_bytes);
    setup_globalconf(&upload_globalconf, gw_cfg->max_body_bytes);
    nthreads = gw_cfg->threads ? gw_cfg->threads : (int)sysconf(_SC_NPROCESSORS_ONLN);
    if (nthreads < 1)
        nthreads = 1;
    if (nthreads > 256)
        nthreads = 256;
    /* Every socket taken over from a predecessor needs a loop that accepts
     * on it: the connections queued there would wait forever otherwise. */
    static int inherited[LISTEN__COUNT][256];
    const int ports[LISTEN__COUNT] = {gw_cfg->https_port, gw_cfg->http_port, gw_cfg->upload_https_port,
                                      gw_cfg->upload_http_port};
    int ninherited[LISTEN__COUNT], most = 0;
    for (int k = 0; k < LISTEN__COUNT; k++) {
        ninherited[k] = handover_listeners(listen_kind_names[k], ports[k], inherited[k], 256);
        most = ninherited[k] > most ? ninherited[k] : most;
    }
    if (most > nthreads) {
        nthreads = most;
        log_info("server", "%d threads: one for each listening socket taken over", nthreads);
    }

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

    if (ratelimit_init() != 0) {
        log_error("server", "out of memory for %d rate-limit buckets", gw_cfg->rate_limit_entries);
        free(threads);
        free(activity);
        SSL_CTX_free(ssl_ctx);
        return 1;
    }

    /* A WeChat job may wait for a worker about as long as one call with its
     * retries may take; past that the client has likely given up. Each
     * class of WeChat work has its share of the pool (router.h wx_class_t). */
    int wechat_wait_ms = gw_cfg->wechat_timeout_ms * (gw_cfg->wechat_max_retries + 1);
    const gw_share_t *share_cfg[WX__COUNT] = {
        [WX_OTHER] = &gw_cfg->wechat_share_other,
        [WX_LOGIN] = &gw_cfg->wechat_share_login,
        [WX_PHONE] = &gw_cfg->wechat_share_phone,
        [WX_TEXT_CHECK] = &gw_cfg->wechat_share_text_check,
        [WX_MEDIA_CHECK] = &gw_cfg->wechat_share_media_check,
        [WX_QR] = &gw_cfg->wechat_share_qr,
    };
    pool_share_t wechat_shares[WX__COUNT];
    for (int i = 0; i < WX__COUNT; i++)
        wechat_shares[i] = (pool_share_t){share_cfg[i]->threads, share_cfg[i]->queue};
    _Static_assert(WX__COUNT <= POOL_CLASSES_MAX, "the WeChat pool needs a class per wx_class_t");
    pool_config_t wc = {.name = "wechat",
                        .threads = gw_cfg->wechat_workers,
                        .queue_max = 1024,
                        .queue_timeout_ms = wechat_wait_ms < 5000 ? 5000 : wechat_wait_ms,
                        .nclasses = WX__COUNT,
                        .shares = wechat_shares,
                        .thread_fini = wechat_worker_fini};
    wechat_pool = pool_create(&wc);
    int ncpu = (int)sysconf(_SC_NPROCESSORS_ONLN);
    pool_config_t cc = {.name = "cpu", .threads = ncpu > 0 ? ncpu : 1, .queue_max = 256, .queue_timeout_ms = 10000};
    cpu_pool = pool_create(&cc);

    atomic_store(&threads_draining, nthreads);
    pthread_barrier_init(&ready_barrier, NULL, (unsigned)nthreads + 1);
    for (int i = 0; i < nthreads; i++) {
        threads[i].index = i;
        for (int k = 0; k < LISTEN__COUNT; k++)
            threads[i].inherited[k] = i < ninherited[k] ? inherited[k][i] : -1;
        pool_config_t dc = {.name = "db",
                            .threads = gw_cfg->db_pool_size,
                            .queue_max = gw_cfg->db_queue_max,
                            .queue_timeout_ms = gw_cfg->db_queue_timeout_ms,
                            .thread_init = db_worker_init,
                            .thread_fini = db_worker_fini};
        threads[i].db_pool = pool_create(&dc);
        pthread_create(&threads[i].tid, NULL, thread_main, &threads[i]);
    }
    pthread_barrier_wait(&ready_barrier);
    int rc = 0;
    if (atomic_load(&startup_failed)) {
        rc = 1;
    } else {
        log_info("server", "listening: https=%s:%d http=%s:%d uploads https=%d http=%d threads=%d http2=%s",
                 gw_cfg->listen_host, gw_cfg->https_port, gw_cfg->listen_host, gw_cfg->http_port,
                 gw_cfg->upload_https_port, gw_cfg->upload_http_port, nthreads, gw_cfg->http2 ? "on" : "off");
        background_start();
        handover_ready();
        serve_until_stopped();
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
    ratelimit_shutdown();
    free(activity);
    SSL_CTX_free(ssl_ctx);
    SSL_CTX_free(identity);
    identity = NULL;
    log_info("server", "stopped");
    return rc;
}
