/* wechat.c: WeChat's message push (the mini-program console's
 * Development -> message push, 消息推送).
 *
 *   GET  /api/v1/wechat/push?signature&timestamp&nonce&echostr[&msg_signature]   URL verification
 *   POST /api/v1/wechat/push?signature&timestamp&nonce[&openid][&encrypt_type=aes&msg_signature]   an event
 *
 * Every request is signed with the push Token: signature = hex(sha1(sorted
 * [Token, timestamp, nonce] concatenated)). The timestamp must be within
 * PUSH_MAX_SKEW_S of this server's clock, and an event's nonce must not have
 * been accepted before: the nonce is inserted into wechat_push_nonces in the
 * same transaction that processes the event, so a replay is refused and
 * processed at most once, whichever process it reaches, while a push whose
 * processing failed (5xx) can still be retried by WeChat with its nonce.
 *
 * Two modes, chosen by wechat_push_aes_key (read per request, so a reload
 * can change it): empty = plaintext (JSON body), set = safe mode, where the
 * body is {"ToUserName", "Encrypt"}, msg_signature = hex(sha1(sorted [Token,
 * timestamp, nonce, Encrypt])) is checked and Encrypt is decrypted
 * (gateway/wechat_push_crypto.h), its appid checked against wechat_appid.
 * In safe mode plaintext events are refused. The URL verification GET is
 * accepted in both forms: echostr echoed (signature), or echostr encrypted
 * and answered decrypted (msg_signature, safe mode only).
 *
 * Only the JSON message format is supported. The event handled is
 * wxa_media_check (the photo content check); others are acknowledged and
 * ignored. The reply is the text "success", as WeChat expects; a database
 * failure answers 5xx so that WeChat retries, and verdicts are deduplicated
 * by trace_id too (gateway/media_check.h).
 *
 * Query parameters: every defect of a signed request is refused as such
 * (403 and its metric), not as a 400, so the signed parameters are read
 * raw (query_value, query_int_value); only echostr and encrypt_type,
 * read after the signature, follow the 400 contract of query.h. */
#include <cjson/cJSON.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gateway/call.h"
#include "gateway/config.h"
#include "gateway/db.h"
#include "gateway/log.h"
#include "gateway/media_check.h"
#include "gateway/metrics.h"
#include "gateway/query.h"
#include "gateway/utf8.h"
#include "gateway/wechat_push_crypto.h"
#include "handlers/handlers.h"

#define PUSH_MAX_SKEW_S 300 /* 5 minutes either way */
#define NONCE_MAX 64        /* wechat_push_nonces.nonce */
#define ECHOSTR_MAX 512
#define TIMESTAMP_MAX 999999999999999999LL /* 18 digits */

typedef struct {
    char signature[WXPC_SIG_HEX + 2];
    char timestamp[24];
    char nonce[NONCE_MAX + 2];
    long long ts;
} signed_query_t;

typedef struct {
    char trace_id[128];
    char suggest[16];
    char label[16];
} verdict_t;

typedef struct {
    char nonce[NONCE_MAX + 1];
    long long ts;
    int has_verdict; /* a wxa_media_check event */
    verdict_t v;
} push_t;

static void reply_text(gw_call_t *c, const char *text, size_t len)
{
    char *body = malloc(len + 1);
    if (!body) {
        call_fail(c, ERR_OVERLOADED, NULL, NULL);
        return;
    }
    memcpy(body, text, len);
    body[len] = '\0';
    call_ok_raw(c, "text/plain; charset=utf-8", body, len);
}

/* Fails the call (403) and counts it. */
static int refuse(gw_call_t *c, metrics_push_t why, const char *field, const char *message)
{
    metrics_wechat_push(why);
    log_warn("wechat_push", "push refused from ip=%s: %s", c->client_ip, message);
    call_fail(c, ERR_FORBIDDEN, field, "%s", message);
    return -1;
}

/* A signed parameter as it came (URL-decoded), cut to outsz - 1 bytes: a
 * longer value cannot match its signature or its limit, and is refused as
 * such. 1 present (even empty), 0 absent. */
static int signed_param(const gw_call_t *c, const char *name, char *out, size_t outsz)
{
    return query_value(c, name, out, outsz, NULL) != 0;
}

/* Reads and checks signature, timestamp and nonce: the signature over the
 * Token, and the timestamp's freshness. -1 with the call failed. */
static int signed_query_or_fail(gw_call_t *c, signed_query_t *q)
{
    const char *token = gw_cfg->wechat_push_token;
    char want[WXPC_SIG_HEX + 1];

    memset(q, 0, sizeof *q);
    if (!token || !*token) {
        call_fail(c, ERR_FORBIDDEN, NULL, "message push is not configured (wechat_push_token)");
        return -1;
    }
    if (!signed_param(c, "signature", q->signature, sizeof q->signature) ||
        !signed_param(c, "timestamp", q->timestamp, sizeof q->timestamp) ||
        !signed_param(c, "nonce", q->nonce, sizeof q->nonce))
        return refuse(c, METRICS_PUSH_BAD_SIGNATURE, NULL, "signature, timestamp and nonce are required");
    if (!*q->nonce || strlen(q->nonce) > NONCE_MAX)
        return refuse(c, METRICS_PUSH_BAD_SIGNATURE, "nonce", "nonce must be 1-64 characters");
    const char *parts[3] = {token, q->timestamp, q->nonce};
    if (wxpc_signature(parts, 3, want) != 0) {
        call_fail(c, ERR_INTERNAL, NULL, NULL);
        return -1;
    }
    if (!wxpc_signature_equal(q->signature, want))
        return refuse(c, METRICS_PUSH_BAD_SIGNATURE, "signature", "the push signature is invalid");
    /* Checked after the signature, so an unsigned request learns nothing. */
    if (query_int_value(c, "timestamp", 0, TIMESTAMP_MAX, &q->ts) != 1)
        return refuse(c, METRICS_PUSH_STALE, "timestamp", "timestamp must be a number of seconds");
    long long now = (long long)time(NULL);
    if (q->ts < now - PUSH_MAX_SKEW_S || q->ts > now + PUSH_MAX_SKEW_S)
        return refuse(c, METRICS_PUSH_STALE, "timestamp",
                      "timestamp is more than 5 minutes away from the server's clock");
    return 0;
}

/* Safe mode: checks msg_signature over `encrypted` and decrypts it. On 0,
 * *plain is malloc'ed (the caller frees it); -1 with the call failed. */
static int open_encrypted_or_fail(gw_call_t *c, const signed_query_t *q, const char *encrypted, const char *field,
                                  char **plain, size_t *plain_len)
{
    char msg_sig[WXPC_SIG_HEX + 2], want[WXPC_SIG_HEX + 1];
    unsigned char key[WXPC_KEY_BYTES];

    *plain = NULL;
    if (!signed_param(c, "msg_signature", msg_sig, sizeof msg_sig))
        return refuse(c, METRICS_PUSH_BAD_SIGNATURE, "msg_signature", "safe mode requires msg_signature");
    const char *parts[4] = {gw_cfg->wechat_push_token, q->timestamp, q->nonce, encrypted};
    if (wxpc_signature(parts, 4, want) != 0) {
        call_fail(c, ERR_INTERNAL, NULL, NULL);
        return -1;
    }
    if (!wxpc_signature_equal(msg_sig, want))
        return refuse(c, METRICS_PUSH_BAD_SIGNATURE, "msg_signature", "the push msg_signature is invalid");
    if (wxpc_key_decode(gw_cfg->wechat_push_aes_key, key) != 0) { /* checked at start; a reload could break it */
        call_fail(c, ERR_INTERNAL, NULL, "wechat_push_aes_key is not a valid EncodingAESKey");
        return -1;
    }
    wxpc_err_t err = wxpc_decrypt(key, encrypted, strlen(encrypted), (size_t)gw_cfg->json_max_bytes * 2,
                                  gw_cfg->wechat_appid, plain, plain_len);
    OPENSSL_cleanse(key, sizeof key);
    if (err == WXPC_ERR_NOMEM) {
        call_fail(c, ERR_OVERLOADED, NULL, NULL);
        return -1;
    }
    if (err != WXPC_OK)
        return refuse(c, METRICS_PUSH_BAD_ENCRYPTION, field, wxpc_strerror(err));
    return 0;
}

/* ---- GET: URL verification ---- */

static void push_verify_url(gw_call_t *c)
{
    const char *echostr;
    char *plain = NULL;
    size_t plain_len = 0;
    signed_query_t q;

    if (signed_query_or_fail(c, &q) != 0 || query_string_or_fail(c, "echostr", ECHOSTR_MAX, &echostr) != 0)
        return;
    if (!echostr) {
        call_fail(c, ERR_MISSING_FIELD, "echostr", "echostr is required");
        return;
    }
    if (!signed_param(c, "msg_signature", (char[2]){0}, 2)) { /* plaintext form: echoed as it came */
        reply_text(c, echostr, strlen(echostr));
        return;
    }
    if (!*gw_cfg->wechat_push_aes_key) {
        call_fail(c, ERR_INVALID_FIELD, "msg_signature",
                  "an encrypted echostr needs safe mode: set wechat_push_aes_key");
        return;
    }
    if (open_encrypted_or_fail(c, &q, echostr, "echostr", &plain, &plain_len) != 0)
        return;
    reply_text(c, plain, plain_len);
    free(plain);
}

/* ---- POST: events ---- */

static void push_record(gw_call_t *c, db_conn_t *db);

/* A number or a numeric string (WeChat sends both) as text. */
static void label_text(const cJSON *v, char *out, size_t outsz)
{
    out[0] = '\0';
    if (cJSON_IsNumber(v))
        snprintf(out, outsz, "%.0f", v->valuedouble);
    else if (cJSON_IsString(v))
        utf8_copy(out, outsz, v->valuestring);
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
static int read_media_check_or_fail(gw_call_t *c, const cJSON *ev, verdict_t *v)
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
        if (!cJSON_IsString(suggest) ||
            (strcmp(suggest->valuestring, "pass") && strcmp(suggest->valuestring, "review") &&
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

/* The event as JSON: the body itself (plaintext), or decrypted from its
 * Encrypt member (safe mode). NULL with the call failed. */
static cJSON *read_event_or_fail(gw_call_t *c, const signed_query_t *q, int safe)
{
    cJSON *outer = cJSON_ParseWithLength(c->raw ? c->raw : "", c->raw_len), *ev = NULL;
    char *plain = NULL;
    size_t plain_len = 0;

    if (!cJSON_IsObject(outer)) {
        call_fail(c, ERR_UNSUPPORTED_MEDIA, NULL, "the push body must be a JSON object (message format JSON)");
        goto Exit;
    }
    if (!safe) {
        ev = outer;
        outer = NULL;
        goto Exit;
    }
    const cJSON *enc = cJSON_GetObjectItemCaseSensitive(outer, "Encrypt");
    if (!cJSON_IsString(enc) || !*enc->valuestring) {
        call_fail(c, ERR_MISSING_FIELD, "Encrypt", "a safe-mode push carries its event in Encrypt");
        goto Exit;
    }
    if (open_encrypted_or_fail(c, q, enc->valuestring, "Encrypt", &plain, &plain_len) != 0)
        goto Exit;
    ev = cJSON_ParseWithLength(plain, plain_len);
    if (!cJSON_IsObject(ev)) {
        cJSON_Delete(ev);
        ev = NULL;
        call_fail(c, ERR_UNSUPPORTED_MEDIA, "Encrypt",
                  "the decrypted event must be a JSON object (message format JSON)");
    }
Exit:
    cJSON_Delete(outer);
    free(plain);
    return ev;
}

/* Loop: signatures, freshness, decryption and parsing; no I/O. */
static void push_receive(gw_call_t *c)
{
    static const char *const encrypt_types[] = {"aes", "raw", NULL};
    const char *encrypt_type;
    signed_query_t q;
    cJSON *ev = NULL;

    if (signed_query_or_fail(c, &q) != 0 ||
        query_enum_or_fail(c, "encrypt_type", encrypt_types, "raw", &encrypt_type) != 0)
        return;
    int safe_mode = *gw_cfg->wechat_push_aes_key != '\0';
    int encrypted = strcmp(encrypt_type, "aes") == 0;
    if (encrypted && !safe_mode) {
        metrics_wechat_push(METRICS_PUSH_MODE_REFUSED);
        call_fail(c, ERR_INVALID_FIELD, "encrypt_type",
                  "safe (encrypted) mode is not configured: set wechat_push_aes_key, or set the message push to "
                  "plaintext mode");
        return;
    }
    if (!encrypted && safe_mode) {
        refuse(c, METRICS_PUSH_MODE_REFUSED, "encrypt_type",
               "plaintext pushes are refused: the message push is in safe mode");
        return;
    }
    if (c->raw_len > (size_t)gw_cfg->json_max_bytes) {
        call_fail(c, ERR_PAYLOAD_TOO_LARGE, NULL, "push body exceeds %d bytes", gw_cfg->json_max_bytes);
        return;
    }
    if (!(ev = read_event_or_fail(c, &q, safe_mode)))
        return;
    push_t *p = call_state_new_or_fail(c, 1, sizeof(*p), free);
    if (!p) {
        cJSON_Delete(ev);
        return;
    }
    memcpy(p->nonce, q.nonce, strlen(q.nonce) + 1); /* at most NONCE_MAX, checked */
    p->ts = q.ts;
    const cJSON *event = cJSON_GetObjectItemCaseSensitive(ev, "Event");
    int rc = 0;
    if (cJSON_IsString(event) && strcmp(event->valuestring, "wxa_media_check") == 0) {
        p->has_verdict = 1;
        rc = read_media_check_or_fail(c, ev, &p->v);
    } else {
        char name[64];
        utf8_copy(name, sizeof name, cJSON_IsString(event) ? event->valuestring : "(none)");
        log_info("wechat_push", "ignored event %s", name);
    }
    cJSON_Delete(ev);
    if (rc == 0)
        call_then_db(c, push_record);
}

/* The nonce and the event's effect, in one transaction: a replayed nonce
 * changes nothing, and a failure leaves the nonce free for WeChat's retry. */
static void push_record(gw_call_t *c, db_conn_t *db)
{
    const push_t *p = c->state;
    int duplicate = 0, changed = 0;

    if (db_begin(db) != 0)
        goto DbError;
    /* Rows whose timestamp left the window can no longer be replayed: a
     * replay of them is refused as stale. A minute of margin covers clocks
     * of several gateway hosts that differ a little. */
    if (db_exec(db, "DELETE FROM wechat_push_nonces WHERE push_ts < ? LIMIT 500",
                DB_ARGS(DB_INT((long long)time(NULL) - PUSH_MAX_SKEW_S - 60))) != 0)
        goto DbError;
    if (db_exec(db, "INSERT INTO wechat_push_nonces (nonce, push_ts) VALUES (?, ?)",
                DB_ARGS(DB_STR(p->nonce), DB_INT(p->ts))) != 0) {
        if (db_errno(db) != DB_ER_DUP_ENTRY)
            goto DbError;
        refuse(c, METRICS_PUSH_REPLAYED, "nonce", "this nonce was already used: the push is a replay");
        return;
    }
    if (p->has_verdict && media_check_store_result_in_tx(db, p->v.trace_id, p->v.suggest,
                                                         *p->v.label ? p->v.label : NULL, &duplicate, &changed) != 0)
        goto DbError;
    if (db_commit(db) != 0)
        goto DbError;
    metrics_wechat_push(METRICS_PUSH_ACCEPTED);
    if (p->has_verdict && duplicate)
        log_info("wechat_push", "duplicate media check verdict trace=%s", p->v.trace_id);
    else if (p->has_verdict)
        log_info("wechat_push", "media check trace=%s suggest=%s label=%s uploads=%d", p->v.trace_id, p->v.suggest,
                 *p->v.label ? p->v.label : "-", changed);
    reply_text(c, "success", 7);
    return;
DbError:
    call_fail_db(c);
}

static const route_t routes[] = {
    {"GET", "/api/v1/wechat/push", 0, BODY_NONE, LOOP_STEP(push_verify_url)},
    {"POST", "/api/v1/wechat/push", 0, BODY_RAW, LOOP_STEP(push_receive)},
};

void wechat_register(void)
{
    ROUTES_REGISTER(routes);
}
