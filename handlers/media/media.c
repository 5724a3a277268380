/* media.c: serving stored photos through signed URLs.
 *
 *   GET /media/:id/:variant?exp=<unix s>&sig=<hex>   variant: full | thumb
 *
 * No login: the signature is the capability (gateway/media_url.h), handed out
 * only by handlers that decided the caller may see the photo. Steps: loop
 * (check the signature, cheap) -> DB (the row: hidden? which file?) -> CPU
 * (read the file) -> the bytes with the stored content type. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gateway/call.h"
#include "gateway/config.h"
#include "gateway/log.h"
#include "gateway/media_store.h"
#include "gateway/media_url.h"
#include "gateway/query.h"
#include "handlers/handlers.h"

typedef struct {
    long long id;
    long long exp;
    int thumb;
    char key[MEDIA_KEY_LEN + 1];
    char content_type[64];
} media_get_t;

/* exp as signed URLs carry it: at most 18 digits. */
#define MEDIA_EXP_MAX 999999999999999999LL

static void media_lookup(gw_call_t *c, db_conn_t *db);
static void media_read(gw_call_t *c);

/* Loop: an HMAC, no I/O. The URL is a capability, so whatever is wrong with
 * exp or sig is the same 403, never a 400 that tells which part. */
static void media_verify(gw_call_t *c)
{
    long long id, exp = 0;
    if (call_param_id_or_fail(c, "id", &id) != 0)
        return;
    const char *variant = call_param(c, "variant");
    if (!variant || (strcmp(variant, "full") != 0 && strcmp(variant, "thumb") != 0)) {
        call_fail(c, ERR_NOT_FOUND, NULL, "no such variant; use full or thumb");
        return;
    }
    char sig[96];
    size_t sig_len = 0;
    int has_exp = query_int_value(c, "exp", 0, MEDIA_EXP_MAX, &exp);
    int has_sig = query_value(c, "sig", sig, sizeof(sig), &sig_len);
    if (has_exp == 0 || has_sig == 0 || sig_len == 0) {
        call_fail(c, ERR_FORBIDDEN, NULL, "the URL is not signed (exp and sig are required)");
        return;
    }
    if (has_exp < 0 || has_sig < 0) {
        call_fail(c, ERR_FORBIDDEN, NULL, "the URL signature is invalid");
        return;
    }
    switch (media_url_verify(id, variant, exp, sig, (long long)time(NULL))) {
    case 0:
        break;
    case -2:
        call_fail(c, ERR_FORBIDDEN, NULL, "the URL has expired; request the photo again for a fresh URL");
        return;
    default:
        call_fail(c, ERR_FORBIDDEN, NULL, "the URL signature is invalid");
        return;
    }
    media_get_t *m = call_state_new_or_fail(c, 1, sizeof(*m), free);
    if (!m)
        return;
    m->id = id;
    m->exp = exp;
    m->thumb = !strcmp(variant, "thumb");
    call_then_db(c, media_lookup);
}

static void media_lookup(gw_call_t *c, db_conn_t *db)
{
    media_get_t *m = c->state;
    db_rows_t *r = db_query(db, "SELECT sha256, thumb_sha256, content_type, hidden FROM uploads WHERE id = ?",
                            DB_ARGS(DB_INT(m->id)));
    if (!r) {
        call_fail_db(c);
        return;
    }
    /* A photo reported risky by the content check is no longer served. */
    if (r->nrows == 0 || db_get_int(r, 0, "hidden") != 0) {
        call_fail(c, ERR_NOT_FOUND, NULL, "photo not found");
        db_rows_free(r);
        return;
    }
    snprintf(m->key, sizeof(m->key), "%s", db_get(r, 0, m->thumb ? "thumb_sha256" : "sha256"));
    snprintf(m->content_type, sizeof(m->content_type), "%s", m->thumb ? "image/jpeg" : db_get(r, 0, "content_type"));
    db_rows_free(r);
    call_then_cpu(c, media_read);
}

static void media_read(gw_call_t *c)
{
    media_get_t *m = c->state;
    media_store_t *store = media_store_default();
    unsigned char *data = NULL;
    size_t len = 0;
    int rc = store ? media_store_get(store, m->key, &data, &len) : -1;
    if (rc == 1) {
        log_error("media", "upload=%lld has a row but no file %.12s...", m->id, m->key);
        call_fail(c, ERR_NOT_FOUND, NULL, "photo not found");
        return;
    }
    if (rc != 0) {
        call_fail(c, ERR_INTERNAL, NULL, "the photo cannot be read; retry later");
        return;
    }
    long long left = m->exp - (long long)time(NULL);
    snprintf(c->cache_control, sizeof(c->cache_control), "private, max-age=%lld", left > 0 ? left : 0);
    call_ok_raw(c, m->content_type, (char *)data, len);
}

static const route_t routes[] = {
    {"GET", "/media/:id/:variant", 0, BODY_NONE, LOOP_STEP(media_verify)},
};

void media_register(void)
{
    /* Both are idempotent; uploads_register does the same. */
    if (media_url_set_key(gw_cfg->media_url_key, strlen(gw_cfg->media_url_key)) != 0)
        log_error("media", "config: media_url_key: cannot be used as a signing key");
    media_store_open_default(gw_cfg->media_dir);
    ROUTES_REGISTER(routes);
}
