/* wechat_token.c: the WeChat access token, shared by every gateway process.
 *
 * The token comes from POST /cgi-bin/stable_token, which hands every caller
 * the same token while it is valid (WeChat renews it 5 minutes before it
 * expires, with an overlap). Several processes therefore share one token
 * without talking to each other, and none retires another's, which
 * /cgi-bin/token did on every fetch.
 *
 * Within a process: one cached token, refreshed ahead of expiry by exactly
 * one thread at a time (single flight). Threads that need a token while a
 * fetch is running wait on the condition variable and take its result,
 * success or failure, instead of starting fetches of their own. While the
 * cached token is stale but not yet expired, other threads keep using it
 * during the refresh instead of waiting.
 *
 * When WeChat rejects the token (40001, 42001), the cached one is dropped
 * only if it is still the one that failed (compare-and-invalidate), and the
 * next fetch may force a refresh (force_refresh: a new token, the old one
 * dead at once). Forcing is decided across processes by the force gate
 * (wechat_token_gate.c: a row lock in the database), so two processes that
 * both saw the token rejected force once between them, and the other one
 * fetches the new token normally; without a gate, at most one forced
 * refresh per interval per process. 40014 (a malformed token) only refreshes.
 *
 * A fetch that fails for a reason no retry can fix (wrong secret, IP not
 * whitelisted, the daily quota) is not repeated for 30 s (5 min for 45009),
 * so a burst of requests cannot burn the daily quota. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* explicit_bzero */
#endif
#include <openssl/evp.h>
#include <openssl/sha.h>
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
#define FORCE_DEFAULT_INTERVAL_S 60

static struct {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    char token[WX_TOKEN_MAX];              /* "" = none */
    int64_t refresh_at;                    /* monotonic ms: refresh from here on */
    int64_t expires_at;                    /* monotonic ms: unusable from here on */
    int fetching;                          /* a thread is fetching right now */
    unsigned long gen;                     /* bumped when a fetch finishes */
    int last_ok;                           /* outcome of the last finished fetch */
    wx_status_t last_err;                  /* its failure, handed to the waiters */
    int64_t cooldown_until;                /* no new fetch before this after a configuration error */
    char rejected_fp[WX_TOKEN_FP_HEX + 1]; /* the token WeChat rejected: the next fetch may force */
    int64_t forced_at;                     /* monotonic ms of this process's last forced refresh; 0 = none */
    wx_force_gate_t gate;                  /* begin == NULL: no cross-process gate */
} tc = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};

static atomic_long token_fetches; /* HTTP requests to the token endpoint */
static atomic_long token_forced;  /* forced refreshes WeChat answered with a token */

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

long wx_token_forced_count(void)
{
    return atomic_load(&token_forced);
}

void wx_token_set_force_gate(const wx_force_gate_t *gate)
{
    pthread_mutex_lock(&tc.mu);
    if (gate)
        tc.gate = *gate;
    else
        memset(&tc.gate, 0, sizeof tc.gate);
    pthread_mutex_unlock(&tc.mu);
}

int wx_token_fingerprint(const char *token, char out[WX_TOKEN_FP_HEX + 1])
{
    unsigned char d[SHA256_DIGEST_LENGTH];
    unsigned int n = 0;

    if (EVP_Digest(token, strlen(token), d, &n, EVP_sha256(), NULL) != 1 || n != SHA256_DIGEST_LENGTH)
        return -1;
    for (unsigned i = 0; i < n; i++)
        snprintf(out + 2 * i, 3, "%02x", d[i]);
    return 0;
}

/* One /cgi-bin/stable_token call. A forced one makes one HTTP attempt (no
 * retries): the force gate is held meanwhile, and a lost reply must not
 * turn into a second forced refresh. The body holds the secret, so it is
 * wiped before it is freed. */
static int fetch_token(int force, char *tok, size_t toksz, long long *ttl_s, wx_status_t *st)
{
    const wx_config_t *cfg = wx_config();
    wx_res_t res = {0};
    const cJSON *at, *ei;
    char *body = NULL;
    int rc = -1;

    cJSON *o = cJSON_CreateObject();
    if (!o || !cJSON_AddStringToObject(o, "grant_type", "client_credential") ||
        !cJSON_AddStringToObject(o, "appid", cfg->appid) || !cJSON_AddStringToObject(o, "secret", cfg->secret) ||
        !cJSON_AddBoolToObject(o, "force_refresh", force) || !(body = cJSON_PrintUnformatted(o))) {
        wx_status_set(st, WX_ERR_TRANSPORT, "out of memory");
        goto Exit;
    }
    wx_req_t req = {.endpoint = "stable_token", .path = "/cgi-bin/stable_token", .body = body, .no_retry = force};
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
    if (o) {
        /* the secret also sits in the tree's strings */
        cJSON *s = cJSON_GetObjectItemCaseSensitive(o, "secret");
        if (cJSON_IsString(s))
            explicit_bzero(s->valuestring, strlen(s->valuestring));
        cJSON_Delete(o);
    }
    if (body) {
        explicit_bzero(body, strlen(body));
        free(body);
    }
    if (res.raw)
        explicit_bzero(res.raw, res.raw_len);
    wx_res_free(&res);
    return rc;
}

/* After WeChat rejected the token with fingerprint fp: force a refresh if
 * the gate (or, without one, this process's own interval) allows it, else
 * fetch normally. A forced refresh that fails falls back to a normal fetch
 * once the gate is released. */
static int fetch_after_rejection(const char *fp, int64_t last_forced, char *tok, size_t toksz, long long *ttl_s,
                                 wx_status_t *st, int *forced)
{
    const wx_config_t *cfg = wx_config();
    wx_force_gate_t gate;
    int may, rc;

    *forced = 0;
    pthread_mutex_lock(&tc.mu);
    gate = tc.gate;
    pthread_mutex_unlock(&tc.mu);
    int64_t interval_ms =
        (int64_t)(cfg->force_interval_s > 0 ? cfg->force_interval_s : FORCE_DEFAULT_INTERVAL_S) * 1000;
    if (gate.begin)
        may = gate.begin(gate.ud, fp);
    else
        may = !last_forced || now_ms() - last_forced >= interval_ms;
    if (may != 1) {
        if (may < 0)
            log_warn("wechat", "cannot coordinate a forced token refresh; fetching the stable token instead");
        else
            log_info("wechat", "access token rejected; another refresh already replaced it, fetching it");
        return fetch_token(0, tok, toksz, ttl_s, st);
    }
    rc = fetch_token(1, tok, toksz, ttl_s, st);
    if (gate.end)
        gate.end(gate.ud, rc == 0);
    if (rc == 0) {
        *forced = 1;
        atomic_fetch_add(&token_forced, 1);
        log_info("wechat", "access token rejected; forced a refresh of the stable token");
        return 0;
    }
    log_warn("wechat", "forced token refresh failed (errcode %d); fetching the stable token instead", st->errcode);
    int attempts = st->attempts;
    memset(st, 0, sizeof *st);
    st->attempts = attempts;
    return fetch_token(0, tok, toksz, ttl_s, st);
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
    case 40001:
    case 40002:
    case 40013:
    case 40125:
    case 40164:
    case 40243:
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
    char fresh[WX_TOKEN_MAX], fp[WX_TOKEN_FP_HEX + 1] = "";
    long long ttl_s = 0;
    int64_t last_forced;
    wx_status_t fst;
    int rc = -1, frc, forced = 0;

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
    memcpy(fp, tc.rejected_fp, sizeof fp);
    tc.rejected_fp[0] = '\0'; /* one forced refresh per rejection */
    last_forced = tc.forced_at;
    pthread_mutex_unlock(&tc.mu);
    memset(&fst, 0, sizeof fst);
    if (fp[0])
        frc = fetch_after_rejection(fp, last_forced, fresh, sizeof fresh, &ttl_s, &fst, &forced);
    else
        frc = fetch_token(0, fresh, sizeof fresh, &ttl_s, &fst);
    atomic_fetch_add(&token_fetches, fst.attempts);
    st->attempts += fst.attempts;
    pthread_mutex_lock(&tc.mu);

    tc.fetching = 0;
    tc.gen++;
    tc.last_ok = frc == 0;
    if (forced)
        tc.forced_at = now_ms();
    if (frc == 0) {
        int64_t now = now_ms(), ttl_ms = ttl_s * 1000;
        /* margin = min(300 s, expires_in / 10) */
        int64_t margin = ttl_ms / 10 < TOKEN_MAX_MARGIN_S * 1000 ? ttl_ms / 10 : TOKEN_MAX_MARGIN_S * 1000;
        memcpy(tc.token, fresh, sizeof tc.token);
        tc.expires_at = now + ttl_ms;
        tc.refresh_at = tc.expires_at - margin;
        log_info("wechat", "access token %s, expires in %lld s", forced ? "force-refreshed" : "fetched", ttl_s);
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
            log_warn("wechat",
                     "access token refresh failed (errcode %d); keeping the current "
                     "token until it expires",
                     fst.errcode);
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

int wx_token_peek(char *out, size_t outsz)
{
    int ok;

    pthread_mutex_lock(&tc.mu);
    ok = tc.token[0] && now_ms() < tc.refresh_at && strlen(tc.token) < outsz;
    if (ok)
        strcpy(out, tc.token);
    pthread_mutex_unlock(&tc.mu);
    return ok;
}

void wx_token_invalidate(const char *failed, int errcode)
{
    char fp[WX_TOKEN_FP_HEX + 1];
    int have_fp =
        failed && failed[0] && (errcode == 40001 || errcode == 42001) && wx_token_fingerprint(failed, fp) == 0;

    pthread_mutex_lock(&tc.mu);
    /* Another thread may already have replaced the token that failed for
     * this caller; dropping the new one would cost a second fetch. */
    if (failed && failed[0] && strcmp(tc.token, failed) == 0) {
        explicit_bzero(tc.token, sizeof tc.token);
        tc.refresh_at = tc.expires_at = 0;
        if (have_fp)
            memcpy(tc.rejected_fp, fp, sizeof fp);
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
    tc.rejected_fp[0] = '\0';
    tc.forced_at = 0;
    memset(&tc.last_err, 0, sizeof tc.last_err);
    pthread_mutex_unlock(&tc.mu);
}
