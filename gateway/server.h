/* server.h: event-loop threads, listeners, TLS and graceful shutdown.
 *
 * One h2o event loop per thread, each with its own SO_REUSEPORT listeners
 * and its own pool of database workers; one SSL_CTX shared by all. The
 * WeChat and CPU pools are shared by the whole process. */
#ifndef GW_SERVER_H
#define GW_SERVER_H
#define H2O_USE_LIBUV 0
#include <h2o.h>
#include <pthread.h>

#include "router.h"
#include "workers.h"

/* The listeners a loop thread may have: the API's, and the uploads' own
 * (see README, Limits). The names are the hand-over's kinds (handover.h). */
typedef enum { LISTEN_TLS, LISTEN_PLAIN, LISTEN_UPLOAD_TLS, LISTEN_UPLOAD_PLAIN, LISTEN__COUNT } listen_kind_t;
extern const char *const listen_kind_names[LISTEN__COUNT];

struct gw_thread {
    int index;
    pthread_t tid;
    h2o_context_t ctx;
    /* The upload listeners' context (upload_https_port/upload_http_port): the
     * same loop, another h2o configuration, whose body limit is
     * max_body_bytes instead of api_max_body_bytes. */
    h2o_context_t upload_ctx;
    int has_upload_ctx;
    h2o_multithread_queue_t *queue;
    h2o_multithread_receiver_t done_receiver; /* calls coming back from workers */
    h2o_multithread_receiver_t wake_receiver; /* shutdown nudge */
    worker_pool_t *db_pool;
    /* One listener of each kind (listen_kind_t), NULL when not configured. */
    h2o_accept_ctx_t accept[LISTEN__COUNT];
    h2o_socket_t *listener[LISTEN__COUNT];
    int fd[LISTEN__COUNT];        /* the listeners' sockets, -1 if none (handed to a successor) */
    int inherited[LISTEN__COUNT]; /* sockets taken over from a predecessor, or -1 */
    size_t inflight;
    int stopping; /* stopping for good: new requests get 503 SHUTTING_DOWN */
    int exiting;  /* the loop drains and ends (stopping, or handed over) */
};

/* Runs the server until SIGTERM/SIGINT, or until a successor started by
 * SIGUSR2 accepts (handover.h); returns the exit code. SIGHUP calls the
 * reload hook. */
int server_run(void);
/* The event-loop thread running the caller (NULL off the loops). */
struct gw_thread *server_this_thread(void);
/* Called on the main thread for SIGHUP; reloads what can change while
 * serving (certificate, secrets). Returns 0 or -1 (what failed is logged). */
void server_set_reload_hook(int (*hook)(void));
/* New handshakes use this certificate chain and key from now on; open
 * connections keep theirs. A certificate that cannot be loaded, does not
 * match the key, has expired or is not valid yet is refused with a log line
 * and the one in use stays: -1. */
int server_reload_tls(const char *cert_file, const char *key_file);
worker_pool_t *server_pool(struct gw_thread *t, pool_kind_t kind);
/* Is this peer address (text) one of the trusted proxies? */
int server_is_trusted_proxy(const char *ip);
/* Migration version the code expects (highest file in schema_dir). */
long long server_expected_schema_version(void);

#endif
