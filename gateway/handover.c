#include "handover.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <systemd/sd-daemon.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

#define ENV_LISTENERS "GATEWAY_INHERIT_LISTENERS"
#define ENV_READY_FD "GATEWAY_HANDOVER_FD"
#define MAX_INHERITED 512

extern char **environ;

static char **saved_argv;

typedef struct {
    char kind[8];
    int fd;
    int taken;
} inherited_t;

static inherited_t inherited[MAX_INHERITED];
static int ninherited = -1; /* -1: the environment was not read yet */

void handover_set_argv(char **argv)
{
    saved_argv = argv;
}

/* "https=3,4;http=5,6" into inherited[]; fds that are not numbers are ignored. */
static void read_inherited(void)
{
    ninherited = 0;
    const char *v = getenv(ENV_LISTENERS);
    if (!v)
        return;
    char kind[8] = "";
    const char *p = v;
    while (*p && ninherited < MAX_INHERITED) {
        const char *eq = strchr(p, '=');
        const char *semi = strchr(p, ';');
        if (!semi)
            semi = p + strlen(p);
        if (eq && eq < semi && (size_t)(eq - p) < sizeof(kind)) {
            memcpy(kind, p, (size_t)(eq - p));
            kind[eq - p] = '\0';
            for (const char *q = eq + 1; q < semi && ninherited < MAX_INHERITED;) {
                char *end;
                long fd = strtol(q, &end, 10);
                if (end == q)
                    break;
                if (fd > 2 && fd < INT_MAX) {
                    snprintf(inherited[ninherited].kind, sizeof(inherited[0].kind), "%s", kind);
                    inherited[ninherited].fd = (int)fd;
                    inherited[ninherited].taken = 0;
                    ninherited++;
                }
                q = *end == ',' ? end + 1 : end;
                if (q < semi && *end != ',')
                    break;
            }
        }
        p = *semi ? semi + 1 : semi;
    }
    unsetenv(ENV_LISTENERS);
}

/* A listening TCP socket bound to this port? */
static int is_listener_on(int fd, int port)
{
    int accepting = 0;
    socklen_t len = sizeof(accepting);
    struct sockaddr_storage ss;
    socklen_t slen = sizeof(ss);
    if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &accepting, &len) != 0 || !accepting)
        return 0;
    if (getsockname(fd, (struct sockaddr *)&ss, &slen) != 0 || ss.ss_family != AF_INET)
        return 0;
    return ntohs(((struct sockaddr_in *)&ss)->sin_port) == port;
}

int handover_listeners(const char *kind, int port, int *fds, int max)
{
    if (ninherited < 0)
        read_inherited();
    int n = 0;
    for (int i = 0; i < ninherited; i++) {
        inherited_t *h = &inherited[i];
        if (h->taken || strcmp(h->kind, kind) != 0)
            continue;
        h->taken = 1;
        if (n < max && port > 0 && is_listener_on(h->fd, port)) {
            fcntl(h->fd, F_SETFD, FD_CLOEXEC);
            fcntl(h->fd, F_SETFL, O_NONBLOCK);
            fds[n++] = h->fd;
        } else {
            log_warn("server", "inherited %s socket %d does not listen on port %d; closed", kind, h->fd, port);
            close(h->fd);
        }
    }
    return n;
}

void handover_ready(void)
{
    if (ninherited < 0)
        read_inherited();
    /* Inherited sockets nobody took (that kind is switched off now): left
     * open, connections would wait in them forever. */
    for (int i = 0; i < ninherited; i++)
        if (!inherited[i].taken) {
            inherited[i].taken = 1;
            close(inherited[i].fd);
        }
    const char *v = getenv(ENV_READY_FD);
    if (v) {
        int fd = atoi(v);
        unsetenv(ENV_READY_FD);
        if (fd > 2) {
            if (write(fd, "1", 1) != 1)
                log_warn("server", "cannot tell the previous process that this one is ready: %s", strerror(errno));
            close(fd);
            log_info("server", "took over from the previous process");
        }
    }
    sd_notifyf(0, "READY=1\nMAINPID=%lu", (unsigned long)getpid());
}

void handover_notify_reloading(void)
{
    sd_notify(0, "RELOADING=1");
}

void handover_notify_reloaded(void)
{
    sd_notify(0, "READY=1");
}

void handover_notify_stopping(void)
{
    sd_notify(0, "STOPPING=1");
}

/* The binary to start: argv[0] as given, or found on PATH as a shell would. */
static int resolve_binary(char *out, size_t outsz)
{
    const char *name = saved_argv ? saved_argv[0] : NULL;
    if (!name || !*name)
        return -1;
    if (strchr(name, '/')) {
        int n = snprintf(out, outsz, "%s", name);
        return n < 0 || (size_t)n >= outsz ? -1 : 0;
    }
    const char *path = getenv("PATH");
    for (const char *p = path ? path : "/usr/sbin:/usr/bin:/sbin:/bin"; *p;) {
        const char *colon = strchr(p, ':');
        size_t len = colon ? (size_t)(colon - p) : strlen(p);
        int n = snprintf(out, outsz, "%.*s/%s", (int)len, p, name);
        if (n > 0 && (size_t)n < outsz && access(out, X_OK) == 0)
            return 0;
        p += len;
        if (*p == ':')
            p++;
    }
    return -1;
}

/* Appends "kind=fd,fd" to buf, after a ';' unless buf holds only "NAME=". */
static int append_fds(char *buf, size_t bufsz, const char *kind, const int *fds, int n)
{
    size_t len = strlen(buf);
    if (n == 0)
        return 0;
    int w = snprintf(buf + len, bufsz - len, "%s%s=", buf[len - 1] == '=' ? "" : ";", kind);
    if (w < 0 || (size_t)w >= bufsz - len)
        return -1;
    len += (size_t)w;
    for (int i = 0; i < n; i++) {
        w = snprintf(buf + len, bufsz - len, "%s%d", i ? "," : "", fds[i]);
        if (w < 0 || (size_t)w >= bufsz - len)
            return -1;
        len += (size_t)w;
    }
    return 0;
}

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits for the successor's byte: 1 ready, 0 it closed the pipe first, -1 timed out. */
static int wait_ready(int fd, int timeout_ms)
{
    long long deadline = now_ms() + timeout_ms;
    for (;;) {
        long long left = deadline - now_ms();
        if (left <= 0)
            return -1;
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        int r = poll(&pfd, 1, (int)left);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return r < 0 ? 0 : -1;
        char c;
        ssize_t n = read(fd, &c, 1);
        if (n < 0 && errno == EINTR)
            continue;
        return n == 1;
    }
}

int handover_spawn(const handover_group_t *groups, int ngroups, int timeout_ms)
{
    int nfds = 0;
    for (int g = 0; g < ngroups; g++)
        nfds += groups[g].n;
    char binary[PATH_MAX], ready_env[64];
    char *listen_env = NULL;
    char **envp = NULL;
    int pipefd[2] = {-1, -1}, rc = -1;
    pid_t pid = -1;
    if (resolve_binary(binary, sizeof(binary)) != 0) {
        log_error("server", "hand-over: cannot find the binary to start (argv[0])");
        return -1;
    }
    size_t envsz = 64 + (size_t)ngroups * 16 + (size_t)nfds * 12;
    listen_env = malloc(envsz);
    size_t nenv = 0;
    while (environ && environ[nenv])
        nenv++;
    envp = calloc(nenv + 3, sizeof(*envp));
    if (!listen_env || !envp)
        goto Exit;
    snprintf(listen_env, envsz, "%s=", ENV_LISTENERS);
    for (int g = 0; g < ngroups; g++)
        if (append_fds(listen_env, envsz, groups[g].kind, groups[g].fds, groups[g].n) != 0)
            goto Exit;
    if (pipe2(pipefd, O_CLOEXEC) != 0) {
        log_error("server", "hand-over: pipe: %s", strerror(errno));
        goto Exit;
    }
    snprintf(ready_env, sizeof(ready_env), "%s=%d", ENV_READY_FD, pipefd[1]);
    size_t k = 0;
    for (size_t i = 0; i < nenv; i++)
        if (strncmp(environ[i], ENV_LISTENERS "=", sizeof(ENV_LISTENERS)) != 0 &&
            strncmp(environ[i], ENV_READY_FD "=", sizeof(ENV_READY_FD)) != 0)
            envp[k++] = environ[i];
    envp[k++] = listen_env;
    envp[k++] = ready_env;
    envp[k] = NULL;

    pid = fork();
    if (pid < 0) {
        log_error("server", "hand-over: fork: %s", strerror(errno));
        goto Exit;
    }
    if (pid == 0) {
        /* Only async-signal-safe calls between fork and exec. */
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        for (int g = 0; g < ngroups; g++)
            for (int i = 0; i < groups[g].n; i++)
                fcntl(groups[g].fds[i], F_SETFD, 0);
        fcntl(pipefd[1], F_SETFD, 0);
        execve(binary, saved_argv, envp);
        _exit(127);
    }
    close(pipefd[1]);
    pipefd[1] = -1;
    log_info("server", "hand-over: started %s as pid %d; waiting for it to accept", binary, (int)pid);
    int ready = wait_ready(pipefd[0], timeout_ms);
    if (ready == 1) {
        log_info("server", "hand-over: pid %d accepts; this process stops accepting and drains", (int)pid);
        rc = 0;
        goto Exit;
    }
    if (ready < 0) {
        log_error("server", "hand-over: pid %d was not ready within %d ms; stopping it", (int)pid, timeout_ms);
        kill(pid, SIGTERM);
    }
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    log_error("server", "hand-over failed: the new process exited (%s %d) before it was ready; this one keeps serving",
              WIFEXITED(status) ? "code" : "signal", WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
Exit:
    if (pipefd[0] >= 0)
        close(pipefd[0]);
    if (pipefd[1] >= 0)
        close(pipefd[1]);
    free(listen_env);
    free(envp);
    return rc;
}
