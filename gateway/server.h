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
    /* The upload listeners' context (upload_https_port/upload_http_port): the
     * same loop, another h2o configuration, whose body limit is
     * max_body_bytes instead of api_max_body_bytes. */
    h2o_context_t upload_ctx;
    int has_upload_ctx;
    h2o_accept_ctx_t accept_upload_tls, accept_upload_plain;
    h2o_socket_t *listener_upload_tls, *listener_upload_plain;
    h2o_multithread_queue_t *queue;
    h2o_multithread_receiver_t done_receiver; /* calls coming back from workers */
    h2o_multithread_receiver_t wake_receiver; /* shutdown nudge */
    worker_pool_t *db_pool;
    h2o_accept_ctx_t accept_tls, accept_plain;
    h2o_socket_t *listener_tls, *listener_plain;
    size_t inflight;
    int stopping;
};

/* Runs the server until SIGTERM/SIGINT; returns the exit code. */
int server_run(void);
/* The event-loop thread running the caller (NULL off the loops). */
struct gw_thread *server_this_thread(void);
worker_pool_t *server_pool(struct gw_thread *t, pool_kind_t kind);
/* Is this peer address (text) one of the trusted proxies? */
int server_is_trusted_proxy(const char *ip);
/* Migration version the code expects (highest file in schema_dir). */
long long server_expected_schema_version(void);

#endif
