/* wechat_subscribe.c: many subscribe sends in flight on one libcurl multi
 * handle (see the header).
 *
 * Each slot is one send: its easy handle (kept across sends, so connections
 * and TLS sessions are reused through the multi handle's cache), the URL with
 * the access token it used, the reply buffer and the error text. A slot's
 * token is kept so that a 40001/42001 invalidates the shared token only if it
 * is still that one (wx_token_invalidate compares), which is what turns a
 * hundred sends rejected together into one refresh.
 *
 * A token fetch blocks (wx_token_get: single flight, retries). Done on the
 * thread that serves the transfers it would stall them, and curl would then
 * time out answers that had arrived meanwhile. So while sends are in
 * flight, a send that needs a new token is parked and one short-lived
 * thread fetches it; its end wakes the poll (curl_multi_wakeup), and the
 * parked sends go out with the token or fail with the fetch's error. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* asprintf, explicit_bzero */
#endif
#include "wechat_subscribe.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "metrics.h"
#include "wechat_client_internal.h"

#define SEND_PATH "/cgi-bin/message/subscribe/send"
#define ENDPOINT "subscribe_send"

typedef enum { SLOT_FREE, SLOT_PARKED, SLOT_WIRE } slot_state_t;

typedef struct {
    CURL *h;
    slot_state_t state;
    int replayed;
    void *ud;
    const char *body; /* borrowed from the caller until reported */
    char *url;        /* holds the token: wiped before it is freed */
    struct curl_slist *hdrs;
    wx_buf_t b;
    wx_status_t st;
    struct timespec t0;
    char token[WX_TOKEN_MAX];
    char errbuf[CURL_ERROR_SIZE];
} slot_t;

struct wx_sender {
    CURLM *m;
    slot_t *slots;
    int *free_slots; /* stack of idle slot indexes */
    int n_free;
    int *parked; /* slots waiting for the token fetch, in order */
    int n_parked;
    int max;
    int in_flight; /* added and not yet reported: on the wire or parked */
    int fetching;  /* a fetcher thread was started and not yet joined */
    pthread_t fetcher;
    pthread_mutex_t mu; /* guards the fetch_* fields below */
    int fetch_done, fetch_rc;
    wx_status_t fetch_st;
    char fetch_token[WX_TOKEN_MAX];
};

static double since(const struct timespec *t0)
{
    struct timespec t;

    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)(t.tv_sec - t0->tv_sec) + (double)(t.tv_nsec - t0->tv_nsec) / 1e9;
}

wx_sender_t *wx_sender_new(int max_in_flight)
{
    wx_sender_t *s = NULL;

    if (!wx_config() || max_in_flight < 1 || max_in_flight > WX_SENDER_MAX)
        goto Error;
    s = calloc(1, sizeof *s);
    if (!s)
        goto Error;
    pthread_mutex_init(&s->mu, NULL);
    s->max = max_in_flight;
    s->slots = calloc((size_t)max_in_flight, sizeof *s->slots);
    s->free_slots = calloc((size_t)max_in_flight, sizeof *s->free_slots);
    s->parked = calloc((size_t)max_in_flight, sizeof *s->parked);
    s->m = curl_multi_init();
    if (!s->slots || !s->free_slots || !s->parked || !s->m)
        goto Error;
    /* HTTP/1.1 has one request per connection at a time: as many connections
     * as sends, all kept for reuse. */
    curl_multi_setopt(s->m, CURLMOPT_MAX_TOTAL_CONNECTIONS, (long)max_in_flight);
    curl_multi_setopt(s->m, CURLMOPT_MAXCONNECTS, (long)max_in_flight);
    for (int i = 0; i < max_in_flight; i++)
        s->free_slots[s->n_free++] = max_in_flight - 1 - i;
    return s;
Error:
    log_error("wechat", "wx_sender_new(%d): %s", max_in_flight,
              wx_config() ? "out of memory or bad size" : "client not initialised");
    wx_sender_free(s);
    return NULL;
}

/* Forgets the slot's request: the URL (with its token), headers, reply. */
static void slot_clear(slot_t *x)
{
    if (x->url) {
        explicit_bzero(x->url, strlen(x->url));
        free(x->url);
        x->url = NULL;
    }
    curl_slist_free_all(x->hdrs);
    x->hdrs = NULL;
    free(x->b.data);
    memset(&x->b, 0, sizeof x->b);
    explicit_bzero(x->token, sizeof x->token);
}

void wx_sender_free(wx_sender_t *s)
{
    if (!s)
        return;
    if (s->fetching) /* bounded by the token call's own timeouts */
        pthread_join(s->fetcher, NULL);
    for (int i = 0; s->slots && i < s->max; i++) {
        slot_t *x = &s->slots[i];
        if (x->state == SLOT_WIRE && s->m)
            curl_multi_remove_handle(s->m, x->h);
        slot_clear(x);
        if (x->h)
            curl_easy_cleanup(x->h);
    }
    if (s->m)
        curl_multi_cleanup(s->m);
    explicit_bzero(s->fetch_token, sizeof s->fetch_token);
    pthread_mutex_destroy(&s->mu);
    free(s->slots);
    free(s->free_slots);
    free(s->parked);
    free(s);
}

int wx_sender_in_flight(const wx_sender_t *s)
{
    return s->in_flight;
}

int wx_sender_capacity(const wx_sender_t *s)
{
    return s->max;
}

void wx_sender_wakeup(wx_sender_t *s)
{
    curl_multi_wakeup(s->m);
}

/* Puts the slot's send on the wire with x->token. WX_SEND_OK, or
 * WX_SEND_FAILED (out of memory or curl refused it; x->st says so). */
static int wire(wx_sender_t *s, slot_t *x)
{
    const wx_req_t req = {.endpoint = ENDPOINT, .path = SEND_PATH, .body = x->body, .with_token = 1};
    char *tq = wx_query("access_token", x->token, (char *)NULL);
    int rc = tq ? asprintf(&x->url, "%s" SEND_PATH "?%s", wx_config()->api_base, tq) : -1;

    if (tq) {
        explicit_bzero(tq, strlen(tq));
        free(tq);
    }
    if (rc < 0) {
        x->url = NULL;
        wx_status_set(&x->st, WX_ERR_TRANSPORT, "out of memory");
        return WX_SEND_FAILED;
    }
    if (!x->h && !(x->h = curl_easy_init())) {
        wx_status_set(&x->st, WX_ERR_TRANSPORT, "curl_easy_init failed");
        return WX_SEND_FAILED;
    }
    curl_easy_reset(x->h);
    x->errbuf[0] = '\0';
    if (wx_easy_setup(x->h, &req, x->url, x->errbuf, &x->b, &x->hdrs, &x->st) != 0)
        return WX_SEND_FAILED;
    curl_easy_setopt(x->h, CURLOPT_PRIVATE, (void *)x);
    if (curl_multi_add_handle(s->m, x->h) != CURLM_OK) {
        wx_status_set(&x->st, WX_ERR_TRANSPORT, "curl_multi_add_handle failed");
        return WX_SEND_FAILED;
    }
    x->st.attempts++;
    x->st.http_status = 0;
    x->state = SLOT_WIRE;
    return WX_SEND_OK;
}

static void *fetch_main(void *arg)
{
    wx_sender_t *s = arg;
    char tok[WX_TOKEN_MAX];
    wx_status_t st = {0};
    int rc = wx_token_get(tok, sizeof tok, &st);

    pthread_mutex_lock(&s->mu);
    s->fetch_rc = rc;
    s->fetch_st = st;
    if (rc == 0)
        memcpy(s->fetch_token, tok, sizeof tok);
    s->fetch_done = 1;
    pthread_mutex_unlock(&s->mu);
    explicit_bzero(tok, sizeof tok);
    curl_multi_wakeup(s->m);
    return NULL;
}

/* Sends the slot with a usable token: the cached one, or one fetched here
 * when nothing is in flight that a fetch could stall, or else it parks the
 * slot until a fetcher thread has one. WX_SEND_OK (on the wire or parked),
 * WX_SEND_NO_TOKEN (x->st: the fetch's error) or WX_SEND_FAILED. */
static int start(wx_sender_t *s, slot_t *x)
{
    if (!s->fetching && wx_token_peek(x->token, sizeof x->token))
        return wire(s, x);
    if (!s->fetching && s->in_flight == 0) {
        if (wx_token_get(x->token, sizeof x->token, &x->st) != 0)
            return WX_SEND_NO_TOKEN;
        return wire(s, x);
    }
    if (!s->fetching) {
        s->fetch_done = 0;
        if (pthread_create(&s->fetcher, NULL, fetch_main, s) != 0) {
            wx_status_set(&x->st, WX_ERR_TRANSPORT, "cannot start the token fetch");
            return WX_SEND_NO_TOKEN;
        }
        s->fetching = 1;
    }
    x->state = SLOT_PARKED;
    s->parked[s->n_parked++] = (int)(x - s->slots);
    return WX_SEND_OK;
}

static void release_slot(wx_sender_t *s, slot_t *x)
{
    slot_clear(x);
    x->state = SLOT_FREE;
    x->ud = NULL;
    x->body = NULL;
    s->free_slots[s->n_free++] = (int)(x - s->slots);
}

int wx_sender_add(wx_sender_t *s, const char *json_body, void *ud, wx_status_t *st)
{
    slot_t *x;
    int rc;

    memset(st, 0, sizeof *st);
    if (s->n_free == 0) {
        wx_status_set(st, WX_ERR_TRANSPORT, "sender full (%d in flight)", s->in_flight);
        return WX_SEND_FAILED;
    }
    x = &s->slots[s->free_slots[--s->n_free]];
    memset(&x->st, 0, sizeof x->st);
    x->ud = ud;
    x->body = json_body ? json_body : "";
    x->replayed = 0;
    clock_gettime(CLOCK_MONOTONIC, &x->t0);
    rc = start(s, x);
    if (rc != WX_SEND_OK) {
        *st = x->st;
        release_slot(s, x);
        return rc;
    }
    s->in_flight++;
    metrics_notification_sends_in_flight(s->in_flight);
    return WX_SEND_OK;
}

/* Hands the slot's outcome to fn and frees the slot. */
static void report(wx_sender_t *s, slot_t *x, int rc, const char *msgid, wx_sent_fn fn, void *ctx)
{
    wx_sent_t sent = {.ud = x->ud, .rc = rc, .st = x->st};

    if (rc != WX_SEND_OK)
        log_warn("wechat", ENDPOINT " failed: errcode %d, http %d, attempts %d: %s", x->st.errcode, x->st.http_status,
                 x->st.attempts, x->st.errmsg);
    if (msgid)
        snprintf(sent.msgid, sizeof sent.msgid, "%s", msgid);
    sent.seconds = since(&x->t0);
    s->in_flight--;
    metrics_notification_sends_in_flight(s->in_flight);
    metrics_notification_send_seconds(sent.seconds);
    release_slot(s, x);
    fn(&sent, ctx);
}

/* A transfer of x ended with cc: reports it, or replays it once after a
 * rejected token. 1 when reported, 0 when replayed (or parked for it). */
static int finish(wx_sender_t *s, slot_t *x, CURLcode cc, wx_sent_fn fn, void *ctx)
{
    const wx_req_t req = {.endpoint = ENDPOINT, .path = SEND_PATH, .body = x->body, .with_token = 1};
    wx_res_t res = {0};
    char msgid[WX_MSGID_MAX] = "";
    int rc;

    curl_multi_remove_handle(s->m, x->h);
    int ok = wx_easy_result(&req, x->h, cc, x->errbuf, &x->b, &res, &x->st) == 0;
    curl_easy_setopt(x->h, CURLOPT_ERRORBUFFER, NULL);
    metrics_wechat_call(ENDPOINT, x->st.errcode);
    if (ok) {
        long long id = wx_reply_int64(&res, "msgid");
        if (id)
            snprintf(msgid, sizeof msgid, "%lld", id);
    }
    wx_res_free(&res);
    if (!ok && !x->replayed && wx_is_token_error(x->st.errcode)) {
        log_info("wechat", ENDPOINT ": access token rejected (errcode %d, %s); refreshing, replaying once",
                 x->st.errcode, x->st.errmsg);
        wx_token_invalidate(x->token, x->st.errcode);
        x->replayed = 1;
        slot_clear(x);
        /* A replay that cannot start ends the send as wx_call does: it went
         * out once, so it is a failed send with the fetch's error. */
        rc = start(s, x);
        if (rc == WX_SEND_OK)
            return 0;
        report(s, x, WX_SEND_FAILED, NULL, fn, ctx);
        return 1;
    }
    report(s, x, ok ? WX_SEND_OK : WX_SEND_FAILED, ok ? msgid : NULL, fn, ctx);
    return 1;
}

/* Once the fetcher is done: the parked sends go out with its token, or end
 * with its error (no token: nothing was sent, unless it was a replay). */
static int unpark(wx_sender_t *s, wx_sent_fn fn, void *ctx)
{
    int done, rc, reported = 0;

    pthread_mutex_lock(&s->mu);
    done = s->fetch_done;
    pthread_mutex_unlock(&s->mu);
    if (!s->fetching || !done)
        return 0;
    pthread_join(s->fetcher, NULL);
    s->fetching = 0;
    for (int i = 0; i < s->n_parked; i++) {
        slot_t *x = &s->slots[s->parked[i]];
        if (s->fetch_rc == 0) {
            memcpy(x->token, s->fetch_token, sizeof x->token);
            if (wire(s, x) == WX_SEND_OK)
                continue;
            rc = WX_SEND_FAILED;
        } else {
            x->st.errcode = s->fetch_st.errcode;
            x->st.http_status = s->fetch_st.http_status;
            snprintf(x->st.errmsg, sizeof x->st.errmsg, "%s", s->fetch_st.errmsg);
            rc = x->replayed ? WX_SEND_FAILED : WX_SEND_NO_TOKEN;
        }
        report(s, x, rc, NULL, fn, ctx);
        reported++;
    }
    s->n_parked = 0;
    explicit_bzero(s->fetch_token, sizeof s->fetch_token);
    return reported;
}

int wx_sender_run(wx_sender_t *s, int timeout_ms, wx_sent_fn fn, void *ctx)
{
    int running = 0, reported = 0, left = 0;
    CURLMsg *msg;

    if (timeout_ms > 0 && curl_multi_poll(s->m, NULL, 0, timeout_ms, NULL) != CURLM_OK)
        return -1;
    reported += unpark(s, fn, ctx);
    if (curl_multi_perform(s->m, &running) != CURLM_OK)
        return -1;
    while ((msg = curl_multi_info_read(s->m, &left))) {
        slot_t *x = NULL;
        if (msg->msg != CURLMSG_DONE)
            continue;
        CURLcode cc = msg->data.result; /* msg dies when the handle is removed */
        curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&x);
        if (x)
            reported += finish(s, x, cc, fn, ctx);
    }
    return reported;
}
