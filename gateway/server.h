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

struct gw_thread {
    int index;
    pthread_t tid;
    h2o_context_t ctx;
    h2o_multithread_queue_t *queue;
    h2o_multithread_receiver_t done_receiver; /* calls coming back from workers */
    h2o_multithread_receiver_t wake_receiver; /* shutdown nudge */
    worker_pool_t *db_pool;
    h2o_accept_ctx_t accept_tls, accept_plain;
    h2o_socket_t *listener_tls, *listener_plain;
    int fd_tls, fd_plain;  /* the listeners' sockets, -1 if none (handed to a successor) */
    int inherited_tls, inherited_plain; /* sockets taken over from a predecessor, or -1 */
    size_t inflight;
    int stopping;          /* stopping for good: new requests get 503 SHUTTING_DOWN */
    int exiting;           /* the loop drains and ends (stopping, or handed over) */
};

/* Runs the server until SIGTERM/SIGINT, or until a successor started by
 * SIGUSR2 accepts (handover.h); returns the exit code. SIGHUP calls the
 * reload hook. */
int server_run(void);
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
