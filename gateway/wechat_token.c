/* wechat_token.c: the process-wide WeChat access token.
 *
 * /cgi-bin/token issues a new token on every call and retires the previous
 * one (after a grace period), so the process must fetch as rarely as
 * possible: one cached token, refreshed ahead of expiry by exactly one
 * thread at a time (single flight). Threads that need a token while a fetch
 * is running wait on the condition variable and take its result, success or
 * failure, instead of starting fetches of their own. While the cached token
 * is stale but not yet expired, other threads keep using it during the
 * refresh instead of waiting. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* explicit_bzero */
#endif
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "metrics.h"
#include "wechat_client_internal.h"

#define TOKEN_DEFAULT_TTL_S 7200 /* when the reply omits expires_in */
#define TOKEN_MAX_MARGIN_S 300

static struct {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    char token[WX_TOKEN_MAX]; /* "" = none */
    int64_t refresh_at;       /* monotonic ms: refresh from here on */
    int64_t expires_at;       /* monotonic ms: unusable from here on */
    int fetching;             /* a thread is fetching right now */
    unsigned long gen;        /* bumped when a fetch finishes */
    int last_ok;              /* outcome of the last finished fetch */
    wx_status_t last_err;     /* its failure, handed to the waiters */
    int64_t cooldown_until;   /* no new fetch before this after a configuration error */
} tc = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};

static atomic_long token_fetches; /* HTTP requests to /cgi-bin/token */

static int64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

long wx_token_fetch_count(void)
{
    return atomic_load(&token_fetches);
}

/* One /cgi-bin/token call (with wx_call's retries). The query holds the
 * secret, so it is wiped before it is freed. */
static int fetch_token(char *tok, size_t toksz, long long *ttl_s, wx_status_t *st)
{
    const wx_config_t *cfg = wx_config();
    wx_res_t res = {0};
    const cJSON *at, *ei;
    char *query;
    int rc = -1;

    query = wx_query("grant_type", "client_credential", "appid", cfg->appid, "secret",
                     cfg->secret, (char *)NULL);
    if (!query) {
        wx_status_set(st, WX_ERR_TRANSPORT, "out of memory");
        goto Exit;
    }
    wx_req_t req = {.endpoint = "token", .path = "/cgi-bin/token", .query = query};
    if (wx_call(&req, &res, st) != 0)
        goto Exit;
    at = cJSON_GetObjectItemCaseSensitive(res.json, "access_token");
    if (!cJSON_IsString(at) || !at->valuestring[0] || strlen(at->valuestring) >= toksz) {
        wx_status_set(st, WX_ERR_PARSE, "token reply without a usable access_token");
        goto Exit;
    }
    ei = cJSON_GetObjectItemCaseSensitive(res.json, "expires_in");
    *ttl_s = TOKEN_DEFAULT_TTL_S;
    if (ei && (wx_json_int(ei, ttl_s) != 0 || *ttl_s <= 0)) {
        wx_status_set(st, WX_ERR_PARSE, "token reply with a bad expires_in");
        goto Exit;
    }
    strcpy(tok, at->valuestring);
    rc = 0;
Exit:
    if (query) {
        explicit_bzero(query, strlen(query));
        free(query);
    }
    if (res.raw)
        explicit_bzero(res.raw, res.raw_len);
    wx_res_free(&res);
    return rc;
}

/* Caller holds tc.mu. */
static int usable(int64_t now)
{
    return tc.token[0] && now < tc.expires_at;
}

/* A token call that fails for a reason no retry can fix (wrong secret or
 * appid, the server's IP not whitelisted, the daily quota spent) is not
 * repeated for a while: every request would otherwise fetch again and burn
 * the token endpoint's daily quota. */
static int64_t cooldown_ms(int errcode)
{
    switch (errcode) {
    case 40001: case 40002: case 40013: case 40125: case 40164: case 40243:
        return 30000;
    case 45009:
        return 300000;
    default:
        return 0;
    }
}

static void copy_failure(wx_status_t *st)
{
    st->errcode = tc.last_err.errcode;
    st->http_status = tc.last_err.http_status;
    snprintf(st->errmsg, sizeof st->errmsg, "%s", tc.last_err.errmsg);
}

int wx_token_get(char *out, size_t outsz, wx_status_t *st)
{
    char fresh[WX_TOKEN_MAX];
    long long ttl_s = 0;
    wx_status_t fst;
    int rc = -1, frc;

    pthread_mutex_lock(&tc.mu);
    for (;;) {
        int64_t now = now_ms();
        if (tc.token[0] && now < tc.refresh_at)
            goto Use;
        if (!tc.fetching) {
            if (now < tc.cooldown_until && !usable(now)) {
                copy_failure(st);
                goto Unlock;
            }
            break; /* this thread fetches */
        }
        if (usable(now))
            goto Use; /* stale but valid: no need to wait for the refresh */
        unsigned long gen = tc.gen;
        while (tc.fetching && tc.gen == gen)
            pthread_cond_wait(&tc.cv, &tc.mu);
        if (tc.gen != gen && !tc.last_ok) {
            if (usable(now_ms()))
                goto Use;
            copy_failure(st);
            goto Unlock;
        }
        /* Take the fetched token even if its lifetime is already within
         * the margin: waiting for another fetch would only burn quota. */
        if (tc.token[0])
            goto Use;
        /* Invalidated again before this thread woke up: start over. */
    }

    tc.fetching = 1;
    pthread_mutex_unlock(&tc.mu);
    memset(&fst, 0, sizeof fst);
    frc = fetch_token(fresh, sizeof fresh, &ttl_s, &fst);
    atomic_fetch_add(&token_fetches, fst.attempts);
    st->attempts += fst.attempts;
    pthread_mutex_lock(&tc.mu);

    tc.fetching = 0;
    tc.gen++;
    tc.last_ok = frc == 0;
    if (frc == 0) {
        int64_t now = now_ms(), ttl_ms = ttl_s * 1000;
        /* margin = min(300 s, expires_in / 10) */
        int64_t margin = ttl_ms / 10 < TOKEN_MAX_MARGIN_S * 1000 ? ttl_ms / 10
                                                                 : TOKEN_MAX_MARGIN_S * 1000;
        memcpy(tc.token, fresh, sizeof tc.token);
        tc.expires_at = now + ttl_ms;
        tc.refresh_at = tc.expires_at - margin;
        log_info("wechat", "access token refreshed, expires in %lld s", ttl_s);
        metrics_wechat_token_refresh(1);
    } else {
        metrics_wechat_token_refresh(0);
        tc.cooldown_until = now_ms() + cooldown_ms(fst.errcode);
        tc.last_err = fst;
        snprintf(tc.last_err.errmsg, sizeof tc.last_err.errmsg, "token: %.240s", fst.errmsg);
    }
    pthread_cond_broadcast(&tc.cv);
    explicit_bzero(fresh, sizeof fresh);
    if (frc != 0) {
        if (usable(now_ms())) {
            log_warn("wechat", "access token refresh failed (errcode %d); keeping the current "
                     "token until it expires", fst.errcode);
            goto Use;
        }
        copy_failure(st);
        goto Unlock;
    }
Use:
    if (strlen(tc.token) >= outsz) {
        wx_status_set(st, WX_ERR_PARSE, "access token longer than the buffer");
        goto Unlock;
    }
    strcpy(out, tc.token);
    rc = 0;
Unlock:
    pthread_mutex_unlock(&tc.mu);
    return rc;
}

void wx_token_invalidate(const char *failed)
{
    pthread_mutex_lock(&tc.mu);
    /* Another thread may already have replaced the token that failed for
     * this caller; dropping the new one would cost a second fetch. */
    if (failed && failed[0] && strcmp(tc.token, failed) == 0) {
        explicit_bzero(tc.token, sizeof tc.token);
        tc.refresh_at = tc.expires_at = 0;
    }
    pthread_mutex_unlock(&tc.mu);
}

void wx_token_reset(void)
{
    pthread_mutex_lock(&tc.mu);
    explicit_bzero(tc.token, sizeof tc.token);
    tc.refresh_at = tc.expires_at = 0;
    tc.last_ok = 0;
    tc.cooldown_until = 0;
    memset(&tc.last_err, 0, sizeof tc.last_err);
    pthread_mutex_unlock(&tc.mu);
}
