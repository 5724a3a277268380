/* idle_conns: opens N keep-alive HTTPS connections to the gateway, makes one
 * GET on each (so the server holds a real, used HTTP/1.1 connection), then
 * leaves them idle until SIGTERM or SIGINT.
 *
 *   idle_conns HOST PORT COUNT CA_FILE [PATH]
 *
 * Prints "ready open=N failed=M" once every connection is idle or failed,
 * "status open=N" when it gets SIGUSR1, and "final open=N" on exit, where
 * open counts the connections the server has not closed. One thread, epoll,
 * at most PARALLEL handshakes at a time so the listen backlog never
 * overflows. Built by bench/run.sh; loopback load only. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#define PARALLEL 256
#define RESP_MAX 4096

typedef enum { ST_CONNECTING, ST_HANDSHAKE, ST_WRITE, ST_READ, ST_IDLE, ST_CLOSED } state_t;

typedef struct {
    int fd;
    SSL *ssl;
    state_t st;
    size_t got;
    char resp[RESP_MAX];
} conn_t;

static volatile sig_atomic_t stop_flag, status_flag;
static struct sockaddr_in addr;
static SSL_CTX *ctx;
static char request[512];
static int epfd;
static int open_count, failed_count, idle_count, in_progress;

static void on_signal(int sig)
{
    if (sig == SIGUSR1)
        status_flag = 1;
    else
        stop_flag = 1;
}

static void arm(conn_t *c, unsigned events)
{
    struct epoll_event ev = {.events = events, .data.ptr = c};
    epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &ev);
}

static void fail(conn_t *c)
{
    if (c->st == ST_CLOSED)
        return;
    if (c->st == ST_IDLE) {
        idle_count--;
        open_count--;
    } else {
        failed_count++;
        in_progress--;
    }
    c->st = ST_CLOSED;
    epoll_ctl(epfd, EPOLL_CTL_DEL, c->fd, NULL);
    SSL_free(c->ssl);
    c->ssl = NULL;
    close(c->fd);
}

static int start_conn(conn_t *c)
{
    memset(c, 0, sizeof(*c));
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c->fd < 0)
        return -1;
    int on = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
    if (connect(c->fd, (struct sockaddr *)&addr, sizeof(addr)) != 0 && errno != EINPROGRESS) {
        close(c->fd);
        return -1;
    }
    c->st = ST_CONNECTING;
    struct epoll_event ev = {.events = EPOLLOUT, .data.ptr = c};
    epoll_ctl(epfd, EPOLL_CTL_ADD, c->fd, &ev);
    in_progress++;
    return 0;
}

/* A full response: headers, then Content-Length bytes of body. */
static int response_complete(conn_t *c)
{
    c->resp[c->got] = '\0';
    char *end = strstr(c->resp, "\r\n\r\n");
    if (!end)
        return 0;
    char *cl = strcasestr(c->resp, "\r\ncontent-length:");
    size_t body = cl ? strtoul(cl + 17, NULL, 10) : 0;
    return (size_t)(c->resp + c->got - (end + 4)) >= body;
}

static void step(conn_t *c, unsigned events)
{
    if (c->st == ST_IDLE) {
        /* An idle connection only becomes readable when the server closes it. */
        char buf[256];
        int n = SSL_read(c->ssl, buf, sizeof(buf));
        if (n <= 0 && SSL_get_error(c->ssl, n) != SSL_ERROR_WANT_READ)
            fail(c);
        return;
    }
    if (c->st == ST_CONNECTING) {
        int err = 0;
        socklen_t len = sizeof(err);
        getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
        if (err || (events & (EPOLLERR | EPOLLHUP))) {
            fail(c);
            return;
        }
        c->ssl = SSL_new(ctx);
        SSL_set_fd(c->ssl, c->fd);
        SSL_set_tlsext_host_name(c->ssl, "localhost");
        SSL_set_connect_state(c->ssl);
        c->st = ST_HANDSHAKE;
    }
    if (c->st == ST_HANDSHAKE) {
        int r = SSL_do_handshake(c->ssl);
        if (r != 1) {
            int e = SSL_get_error(c->ssl, r);
            if (e == SSL_ERROR_WANT_READ)
                arm(c, EPOLLIN);
            else if (e == SSL_ERROR_WANT_WRITE)
                arm(c, EPOLLOUT);
            else
                fail(c);
            return;
        }
        c->st = ST_WRITE;
    }
    if (c->st == ST_WRITE) {
        int r = SSL_write(c->ssl, request, (int)strlen(request));
        if (r <= 0) {
            int e = SSL_get_error(c->ssl, r);
            if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
                arm(c, e == SSL_ERROR_WANT_READ ? EPOLLIN : EPOLLOUT);
            else
                fail(c);
            return;
        }
        c->st = ST_READ;
        arm(c, EPOLLIN);
        return;
    }
    if (c->st == ST_READ) {
        for (;;) {
            if (c->got >= RESP_MAX - 1) {
                fail(c);
                return;
            }
            int n = SSL_read(c->ssl, c->resp + c->got, (int)(RESP_MAX - 1 - c->got));
            if (n <= 0) {
                if (SSL_get_error(c->ssl, n) != SSL_ERROR_WANT_READ)
                    fail(c);
                return;
            }
            c->got += (size_t)n;
            if (response_complete(c))
                break;
        }
        if (strncmp(c->resp, "HTTP/1.1 200", 12) != 0) {
            fail(c);
            return;
        }
        c->st = ST_IDLE;
        in_progress--;
        idle_count++;
        open_count++;
        arm(c, EPOLLIN | EPOLLRDHUP);
    }
}

int main(int argc, char **argv)
{
    if (argc < 5) {
        fprintf(stderr, "usage: idle_conns HOST PORT COUNT CA_FILE [PATH]\n");
        return 2;
    }
    int count = atoi(argv[3]);
    const char *path = argc > 5 ? argv[5] : "/healthz";
    addr.sin_family = AF_INET;
    addr.sin_port = htons((uint16_t)atoi(argv[2]));
    if (count <= 0 || inet_pton(AF_INET, argv[1], &addr.sin_addr) != 1) {
        fprintf(stderr, "idle_conns: bad host or count\n");
        return 2;
    }
    struct rlimit rl;
    getrlimit(RLIMIT_NOFILE, &rl);
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
    if ((rlim_t)count + 64 > rl.rlim_cur) {
        fprintf(stderr, "idle_conns: the fd limit %llu is too low for %d connections\n",
                (unsigned long long)rl.rlim_cur, count);
        return 1;
    }
    snprintf(request, sizeof(request), "GET %s HTTP/1.1\r\nHost: %s:%s\r\nConnection: keep-alive\r\n\r\n", path,
             argv[1], argv[2]);
    signal(SIGPIPE, SIG_IGN);
    struct sigaction sa = {.sa_handler = on_signal};
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGUSR1, &sa, NULL);

    ctx = SSL_CTX_new(TLS_client_method());
    SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS); /* keep this process small */
    if (SSL_CTX_load_verify_locations(ctx, argv[4], NULL) != 1) {
        fprintf(stderr, "idle_conns: cannot load %s\n", argv[4]);
        return 1;
    }
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    conn_t *conns = calloc((size_t)count, sizeof(conn_t));
    epfd = epoll_create1(EPOLL_CLOEXEC);
    int next = 0, reported = 0;
    struct epoll_event evs[512];
    while (!stop_flag) {
        while (next < count && in_progress < PARALLEL) {
            if (start_conn(&conns[next]) != 0) {
                conns[next].st = ST_CLOSED;
                failed_count++;
            }
            next++;
        }
        if (!reported && next == count && in_progress == 0) {
            printf("ready open=%d failed=%d\n", open_count, failed_count);
            fflush(stdout);
            reported = 1;
        }
        if (status_flag) {
            status_flag = 0;
            printf("status open=%d\n", open_count);
            fflush(stdout);
        }
        int n = epoll_wait(epfd, evs, 512, 200);
        for (int i = 0; i < n; i++)
            step(evs[i].data.ptr, evs[i].events);
    }
    printf("final open=%d\n", open_count);
    fflush(stdout);
    for (int i = 0; i < count; i++)
        if (conns[i].st != ST_CLOSED) {
            SSL_free(conns[i].ssl);
            close(conns[i].fd);
        }
    free(conns);
    SSL_CTX_free(ctx);
    close(epfd);
    return 0;
}
