/* request.h: the h2o handler that turns every request into a call. */
#ifndef GW_REQUEST_H
#define GW_REQUEST_H
#include "server.h"

int request_on_req(h2o_handler_t *self, h2o_req_t *req);

struct gw_call;
/* Judges and parses the body kept by the request (413, 415, 400), for the
 * route's first step: call.c runs it right before that step runs or is
 * queued, so that authentication (and loading the user) comes first. Any
 * thread. 0, or -1 with the call failed. */
int request_body_or_fail(struct gw_call *c);

#endif
