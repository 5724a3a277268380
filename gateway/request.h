/* request.h: the h2o handler that turns every request into a call. */
#ifndef GW_REQUEST_H
#define GW_REQUEST_H
#include "server.h"

int request_on_req(h2o_handler_t *self, h2o_req_t *req);

#endif
