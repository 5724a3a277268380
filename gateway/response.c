/* response.c: the one response envelope, the request log line and the
 * request metrics. Every answer of the API leaves through response_send. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "call_internal.h"
#include "log.h"
#include "metrics.h"
#include "workers.h"

cJSON *response_envelope(gw_call_t *c)
{
    cJSON *env = cJSON_CreateObject();
    if (!env)
        return NULL;
    if (c->err == ERR_NONE) {
        cJSON *data = c->data ? c->data : cJSON_CreateObject();
        c->data = NULL;
        if (!data || !cJSON_AddItemToObject(env, "data", data)) {
            cJSON_Delete(data);
            cJSON_Delete(env);
            return NULL;
        }
        if (c->next_cursor)
            cJSON_AddStringToObject(env, "next_cursor", c->next_cursor);
        else if (c->list || cJSON_IsArray(data))
            cJSON_AddNullToObject(env, "next_cursor");
    } else {
        const err_info_t *info = err_info(c->err);
        cJSON *e = cJSON_AddObjectToObject(env, "error");
        cJSON_AddStringToObject(e, "code", info->code);
        cJSON_AddStringToObject(e, "message", c->err_message[0] ? c->err_message : info->message);
        if (c->err_field[0])
            cJSON_AddStringToObject(e, "field", c->err_field);
        if (c->err_details && cJSON_AddItemToObject(e, "details", c->err_details))
            c->err_details = NULL; /* else call_free frees it */
    }
    cJSON_AddStringToObject(env, "request_id", c->request_id);
    return env;
}

/* Header values are copied into the request's pool: h2o may serialise the
 * headers after this function returns. */
static void add_header(h2o_req_t *req, const h2o_token_t *token, const char *value)
{
    h2o_iovec_t v = h2o_strdup(&req->pool, value, SIZE_MAX);
    h2o_add_header(&req->pool, &req->res.headers, token, NULL, v.base, v.len);
}

char *response_prepare(h2o_req_t *req, gw_call_t *c, size_t *len_out, char *fallback, size_t fallback_size)
{
    char *body;
    size_t len;
    const char *ctype = "application/json; charset=utf-8";
    if (c->raw_response && c->err == ERR_NONE) {
        body = c->raw_response;
        len = c->raw_response_len;
        ctype = c->raw_content_type;
        c->raw_response = NULL;
    } else {
        cJSON *env = response_envelope(c);
        body = env ? cJSON_PrintUnformatted(env) : NULL;
        cJSON_Delete(env);
        if (body) {
            len = strlen(body);
        } else {
            len = (size_t)snprintf(fallback, fallback_size,
                                   "{\"error\":{\"code\":\"INTERNAL\",\"message\":\"out of memory while writing the "
                                   "response\"},\"request_id\":\"%s\"}",
                                   c->request_id);
            if (len >= fallback_size) /* cut: only with a fallback buffer too small for the text */
                len = fallback_size - 1;
            c->status = 500;
            c->err = ERR_INTERNAL;
        }
    }
    int status = c->status ? c->status : 500;
    req->res.status = status;
    req->res.reason = status < 400 ? "OK" : "Error";
    req->res.content_length = len; /* keeps keep-alive on error statuses */
    add_header(req, H2O_TOKEN_CONTENT_TYPE, ctype);
    add_header(req, H2O_TOKEN_CACHE_CONTROL, c->cache_control[0] ? c->cache_control : "no-store");
    h2o_iovec_t rid = h2o_strdup(&req->pool, c->request_id, SIZE_MAX);
    h2o_add_header_by_str(&req->pool, &req->res.headers, H2O_STRLIT("x-request-id"), 0, NULL, rid.base, rid.len);
    if (c->retry_after_s > 0) {
        char ra[16];
        snprintf(ra, sizeof(ra), "%d", c->retry_after_s);
        add_header(req, H2O_TOKEN_RETRY_AFTER, ra);
    }
    if (status == 405 && c->allow[0])
        add_header(req, H2O_TOKEN_ALLOW, c->allow);
    for (size_t i = 0; i < sizeof(c->set_cookie) / sizeof(c->set_cookie[0]); i++)
        if (c->set_cookie[i][0])
            add_header(req, H2O_TOKEN_SET_COOKIE, c->set_cookie[i]);
    *len_out = len;
    return body;
}

/* A file answer (call_ok_file): h2o's file handler opens it here and sends
 * it in chunks as the connection drains. 0 sent; -1 the file cannot be
 * opened (the call is then answered as an error). */
static int send_file(h2o_req_t *req, gw_call_t *c)
{
    if (access(c->file_path, R_OK) != 0)
        return -1;
    add_header(req, H2O_TOKEN_CACHE_CONTROL, "no-store");
    h2o_add_header_by_str(&req->pool, &req->res.headers, H2O_STRLIT("x-content-type-options"), 0, NULL,
                          H2O_STRLIT("nosniff"));
    if (c->content_disposition[0])
        add_header(req, H2O_TOKEN_CONTENT_DISPOSITION, c->content_disposition);
    h2o_iovec_t rid = h2o_strdup(&req->pool, c->request_id, SIZE_MAX);
    h2o_add_header_by_str(&req->pool, &req->res.headers, H2O_STRLIT("x-request-id"), 0, NULL, rid.base, rid.len);
    h2o_iovec_t mime = h2o_strdup(&req->pool, c->raw_content_type, SIZE_MAX);
    double seconds = (double)(monotonic_ms() - c->internal->started_ms) / 1000.0;
    /* Log and count before: once sending starts, h2o may dispose the request. */
    metrics_request(c->method, c->route ? c->route->pattern : "unmatched", 200, seconds);
    log_set_request_id(c->request_id);
    log_write(LOG_INFO, "http", "%s %s 200 %.1fms ip=%s user=%lld file", c->method, c->path ? c->path : "-",
              seconds * 1000.0, c->client_ip, c->user.id);
    log_set_request_id(NULL);
    return h2o_file_send(req, 200, "OK", c->file_path, mime, H2O_FILE_FLAG_NO_ETAG);
}

void response_send(h2o_req_t *req, gw_call_t *c)
{
    if (c->file_path && c->err == ERR_NONE) {
        if (send_file(req, c) == 0)
            return;
        /* Gone between the check and now (the expiry sweep): the headers
         * set above go, the error envelope replaces them. */
        req->res.headers = (h2o_headers_t){NULL};
        call_fail(c, ERR_EXPORT_EXPIRED, NULL, "the export's file is gone; start the export again");
    }
    /* When the envelope cannot be built for want of memory: a fixed one. */
    char fallback[160];
    size_t len;
    char *body = response_prepare(req, c, &len, fallback, sizeof(fallback));
    int status = req->res.status;
    /* Log before sending: once the response is out, h2o may dispose the
     * request, and with it the call. */
    double seconds = (double)(monotonic_ms() - c->internal->started_ms) / 1000.0;
    metrics_request(c->method, c->route ? c->route->pattern : "unmatched", status, seconds);
    log_set_request_id(c->request_id);
    log_write(status >= 500 ? LOG_WARN : LOG_INFO, "http", "%s %s %d %.1fms ip=%s user=%lld%s%s", c->method,
              c->path ? c->path : "-", status, seconds * 1000.0, c->client_ip, c->user.id, c->err ? " error=" : "",
              c->err ? err_info(c->err)->code : "");
    log_set_request_id(NULL);
    h2o_send_inline(req, body ? body : fallback, len); /* copies the body */
    free(body);
}
