/* request.h: the h2o handler that turns every request into a call. */
#ifndef GW_REQUEST_H
#define GW_REQUEST_H
#include "server.h"

int request_on_req(h2o_handler_t *self, h2o_req_t *req);

struct gw_call;
/* The parts of request_on_req that tests drive with a request made in
 * process. request_client_ip: the client's address (the peer, or behind a
 * trusted proxy on a plain listener the rightmost X-Forwarded-For entry that
 * is not itself a trusted proxy). request_capture_body: keeps the
 * Content-Type and a copy of a body the route reads, or only that it is too
 * large (judged later, after authentication); -1 with the call failed (out
 * of memory). */
void request_client_ip(h2o_req_t *req, char *out, size_t outsz);
int request_capture_body(struct gw_call *c, h2o_req_t *req);
/* Copies the staff console's cookies (console_session, console_ticket: from
 * every Cookie header), X-CSRF-Token and the User-Agent (cut to whole UTF-8
 * characters) into the call (call.h); each one too long for its field is
 * left empty. */
void request_capture_console(struct gw_call *c, h2o_req_t *req);
/* Judges and parses the body kept by the request (413, 415, 400), for the
 * route's first step: call.c runs it right before that step runs or is
 * queued, so that authentication (and loading the user) comes first. Any
 * thread. 0, or -1 with the call failed. */
int request_body_or_fail(struct gw_call *c);

#endif
