/* wechat_push.c: WeChat's message push (/work/shared/wechat-api.md §7).
 *
 *   GET  /api/v1/wechat/push?signature&timestamp&nonce&echostr   URL verification
 *   POST /api/v1/wechat/push?signature&timestamp&nonce[&openid]  an event (JSON)
 *
 * Both are signed with the push Token: signature = hex(sha1(sorted [Token,
 * timestamp, nonce] concatenated)). Only plaintext mode with the JSON format
 * is supported; safe (AES) mode is refused with 400. The event handled is
 * wxa_media_check (the photo content check); others are acknowledged and
 * ignored. The reply is the text "success", as WeChat expects; a database
 * failure answers 5xx so that WeChat retries, and retries are deduplicated by
 * trace_id (gateway/media_check.h). */
#include <cjson/cJSON.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../gateway/call.h"
#include "../gateway/config.h"
#include "../gateway/log.h"
#include "../gateway/media_check.h"
#include "handlers.h"

typedef struct {
    char trace_id[128];
    char suggest[16];
    char label[16];
} verdict_t;

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Fails the call (403) unless the query carries a valid signature. */
static int check_signature(gw_call_t *c)
{
    const char *token = gw_cfg->wechat_push_token;
    char sig[64], timestamp[32], nonce[64];
    if (!token || !*token) {
        call_fail(c, ERR_FORBIDDEN, NULL, "message push is not configured (wechat_push_token)");
        return -1;
    }
    if (!call_query(c, "signature", sig, sizeof(sig)) || !call_query(c, "timestamp", timestamp, sizeof(timestamp)) ||
        !call_query(c, "nonce", nonce, sizeof(nonce))) {
        call_fail(c, ERR_FORBIDDEN, NULL, "signature, timestamp and nonce are required");
        return -1;
    }
    const char *parts[3] = {token, timestamp, nonce};
    qsort(parts, 3, sizeof(parts[0]), cmp_str);
    unsigned char digest[SHA_DIGEST_LENGTH];
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    int ok = md && EVP_DigestInit_ex(md, EVP_sha1(), NULL) == 1;
    for (int i = 0; ok && i < 3; i++)
        ok = EVP_DigestUpdate(md, parts[i], strlen(parts[i])) == 1;
    ok = ok && EVP_DigestFinal_ex(md, digest, NULL) == 1;
    EVP_MD_CTX_free(md);
    if (!ok) {
        call_fail(c, ERR_INTERNAL, NULL, NULL);
        return -1;
    }
    char want[2 * SHA_DIGEST_LENGTH + 1];
    for (int i = 0; i < SHA_DIGEST_LENGTH; i++)
        snprintf(want + 2 * i, 3, "%02x", digest[i]);
    if (strlen(sig) != 2 * SHA_DIGEST_LENGTH || CRYPTO_memcmp(sig, want, 2 * SHA_DIGEST_LENGTH) != 0) {
        log_warn("wechat_push", "push with a bad signature from ip=%s", c->client_ip);
        call_fail(c, ERR_FORBIDDEN, NULL, "the push signature is invalid");
        return -1;
    }
    return 0;
}

static void reply_text(gw_call_t *c, const char *text)
{
    char *body = strdup(text);
    if (!body) {
        call_fail(c, ERR_OVERLOADED, NULL, NULL);
        return;
    }
    call_ok_raw(c, "text/plain; charset=utf-8", body, strlen(body));
}

/* ---- GET: URL verification ---- */

static void push_verify_url(gw_call_t *c)
{
    char echostr[256];
    if (check_signature(c) != 0)
        return;
    if (!call_query(c, "echostr", echostr, sizeof(echostr)) || !*echostr) {
        call_fail(c, ERR_MISSING_FIELD, "echostr", "echostr is required");
        return;
    }
    reply_text(c, echostr);
}

/* ---- POST: events ---- */

static void push_store_verdict(gw_call_t *c);

/* A number or a numeric string (WeChat sends both) as text. */
static void label_text(const cJSON *v, char *out, size_t outsz)
{
    out[0] = '\0';
    if (cJSON_IsNumber(v))
        snprintf(out, outsz, "%.0f", v->valuedouble);
    else if (cJSON_IsString(v))
        snprintf(out, outsz, "%s", v->valuestring);
}

static double number_or_string(const cJSON *v)
{
    if (cJSON_IsNumber(v))
        return v->valuedouble;
    if (cJSON_IsString(v))
        return strtod(v->valuestring, NULL);
    return 0;
}

/* Reads a wxa_media_check event into v. -1 (call failed) if unusable. */
static int read_media_check(gw_call_t *c, const cJSON *ev, verdict_t *v)
{
    const cJSON *trace = cJSON_GetObjectItemCaseSensitive(ev, "trace_id");
    if (!cJSON_IsString(trace) || !*trace->valuestring || strlen(trace->valuestring) >= sizeof(v->trace_id)) {
        call_fail(c, ERR_INVALID_FIELD, "trace_id", "wxa_media_check needs a trace_id string");
        return -1;
    }
    snprintf(v->trace_id, sizeof(v->trace_id), "%s", trace->valuestring);
    const cJSON *result = cJSON_GetObjectItemCaseSensitive(ev, "result");
    if (cJSON_IsObject(result)) { /* version 2 */
        const cJSON *suggest = cJSON_GetObjectItemCaseSensitive(result, "suggest");
        if (!cJSON_IsString(suggest) || (strcmp(suggest->valuestring, "pass") && strcmp(suggest->valuestring, "review") &&
                                         strcmp(suggest->valuestring, "risky"))) {
            call_fail(c, ERR_INVALID_FIELD, "result.suggest", "result.suggest must be pass, review or risky");
            return -1;
        }
        snprintf(v->suggest, sizeof(v->suggest), "%s", suggest->valuestring);
        label_text(cJSON_GetObjectItemCaseSensitive(result, "label"), v->label, sizeof(v->label));
        return 0;
    }
    /* version 1: isrisky 0/1 and status_code (non-zero: WeChat could not
     * download the photo, e.g. 4294966288 = -1008) */
    if (number_or_string(cJSON_GetObjectItemCaseSensitive(ev, "status_code")) != 0)
        snprintf(v->suggest, sizeof(v->suggest), "error");
    else if (number_or_string(cJSON_GetObjectItemCaseSensitive(ev, "isrisky")) != 0)
        snprintf(v->suggest, sizeof(v->suggest), "risky");
    else
        snprintf(v->suggest, sizeof(v->suggest), "pass");
    return 0;
}

/* POOL_LOOP: signature and JSON parsing, no I/O. */
static void push_receive(gw_call_t *c)
{
    char encrypt_type[32];
    if (check_signature(c) != 0)
        return;
    if (call_query(c, "encrypt_type", encrypt_type, sizeof(encrypt_type)) && strcmp(encrypt_type, "raw") != 0) {
        call_fail(c, ERR_INVALID_FIELD, "encrypt_type",
                  "safe (encrypted) mode is not supported; set the message push to plaintext mode, JSON format");
        return;
    }
    if (c->raw_len > (size_t)gw_cfg->json_max_bytes) {
        call_fail(c, ERR_PAYLOAD_TOO_LARGE, NULL, "push body exceeds %d bytes", gw_cfg->json_max_bytes);
        return;
    }
    cJSON *ev = cJSON_ParseWithLength(c->raw ? c->raw : "", c->raw_len);
    if (!cJSON_IsObject(ev)) {
        cJSON_Delete(ev);
        call_fail(c, ERR_UNSUPPORTED_MEDIA, NULL, "the push body must be a JSON object (message format JSON)");
        return;
    }
    const cJSON *event = cJSON_GetObjectItemCaseSensitive(ev, "Event");
    if (!cJSON_IsString(event) || strcmp(event->valuestring, "wxa_media_check") != 0) {
        log_info("wechat_push", "ignored event %s", cJSON_IsString(event) ? event->valuestring : "(none)");
        cJSON_Delete(ev);
        reply_text(c, "success");
        return;
    }
    verdict_t *v = call_state_new_or_fail(c, 1, sizeof(*v), free);
    if (!v) {
        cJSON_Delete(ev);
        return;
    }
    int rc = read_media_check(c, ev, v);
    cJSON_Delete(ev);
    if (rc == 0)
        call_then(c, POOL_DB, push_store_verdict);
}

static void push_store_verdict(gw_call_t *c)
{
    const verdict_t *v = c->state;
    int duplicate = 0, changed = 0;
    if (media_check_store_result(c->db, v->trace_id, v->suggest, *v->label ? v->label : NULL, &duplicate,
                                 &changed) != 0) {
        call_fail_db(c);
        return;
    }
    if (duplicate)
        log_info("wechat_push", "duplicate media check verdict trace=%s", v->trace_id);
    else
        log_info("wechat_push", "media check trace=%s suggest=%s label=%s uploads=%d", v->trace_id, v->suggest,
                 *v->label ? v->label : "-", changed);
    reply_text(c, "success");
}

static const route_t routes[] = {
    {"GET", "/api/v1/wechat/push", 0, BODY_NONE, POOL_LOOP, push_verify_url},
    {"POST", "/api/v1/wechat/push", 0, BODY_RAW, POOL_LOOP, push_receive},
};

void wechat_push_register(void)
{
    router_add(routes, sizeof(routes) / sizeof(routes[0]));
}
