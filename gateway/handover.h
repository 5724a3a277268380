/* handover.h: replacing the running gateway with a new binary without
 * refusing a connection, and telling systemd where things stand.
 *
 * On SIGUSR2 the running process (the predecessor) starts its own command
 * line again: argv[0] is looked up anew, so it is the binary now installed at
 * that path. The successor receives the predecessor's listening sockets
 * (GATEWAY_INHERIT_LISTENERS) and takes them over: the sockets, and the
 * connections waiting in their accept queues, never close. Once every loop of
 * the successor accepts, it writes one byte to GATEWAY_HANDOVER_FD and tells
 * systemd that it is the main process now (MAINPID=, which needs
 * NotifyAccess=all). Only then does the predecessor stop accepting, finish
 * its in-flight requests and exit. If the successor fails to start, the
 * predecessor logs why and keeps serving.
 *
 * The predecessor calls handover_spawn on its main thread; the successor
 * calls handover_listeners before its loops start and handover_ready after.
 * Outside systemd the sd_notify calls do nothing. */
#ifndef GW_HANDOVER_H
#define GW_HANDOVER_H

/* Remembers the command line to start again (main's argv; must outlive the process). */
void handover_set_argv(char **argv);

/* Successor side. Reads and clears the inherited listeners, once. Copies
 * into fds (at most max) the inherited listening sockets of kind "https" or
 * "http" bound to port, and returns how many. Inherited sockets of another
 * port (the configuration changed) are closed. */
int handover_listeners(const char *kind, int port, int *fds, int max);

/* Successor or first start: every loop accepts. Tells the predecessor (if
 * any) and systemd (READY=1, MAINPID=). */
void handover_ready(void);

/* Predecessor side: starts the successor with these listening sockets and
 * waits up to timeout_ms for it to be ready. 0 when it is (the caller then
 * drains and exits); -1 when it failed or timed out (it is stopped and
 * reaped; the caller keeps serving). */
typedef struct {
    const char *kind; /* "https", "http", ... (server.h listen_kind_names) */
    const int *fds;
    int n;
} handover_group_t;
int handover_spawn(const handover_group_t *groups, int ngroups, int timeout_ms);

/* sd_notify wrappers for the main thread: a reload begins / ended, and the
 * process stops for good (not after a hand-over: the successor is the main
 * process by then). */
void handover_notify_reloading(void);
void handover_notify_reloaded(void);
void handover_notify_stopping(void);

#endif
