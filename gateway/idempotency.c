#include "idempotency.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "background.h"
#include "config.h"
#include "log.h"

#define KEY_MAX 128

void idempotency_hash(const char *scope, const char *text, char out[65])
{
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int dlen = 0;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    /* The scope is hashed too, with a separator no scope contains. */
    if (!ctx || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1 || EVP_DigestUpdate(ctx, scope, strlen(scope)) != 1 ||
        EVP_DigestUpdate(ctx, "\n", 1) != 1 || EVP_DigestUpdate(ctx, text, strlen(text)) != 1 ||
        EVP_DigestFinal_ex(ctx, digest, &dlen) != 1)
        dlen = 0;
    EVP_MD_CTX_free(ctx);
    for (unsigned i = 0; i < 32; i++)
        snprintf(out + 2 * i, 3, "%02x", i < dlen ? digest[i] : 0);
    out[64] = '\0';
}

int idempotency_key_or_fail(gw_call_t *c)
{
    const char *k = c->idempotency_key;
    if (!k || !*k) {
        call_fail(c, ERR_MISSING_FIELD, "Idempotency-Key", "the Idempotency-Key header is required");
        return -1;
    }
    size_t n = strlen(k);
    int ok = n <= KEY_MAX;
    for (size_t i = 0; ok && i < n; i++)
        ok = k[i] > 0x20 && k[i] < 0x7f;
    if (!ok) {
        call_fail(c, ERR_INVALID_FIELD, "Idempotency-Key", "Idempotency-Key must be 1 to %d visible ASCII characters",
                  KEY_MAX);
        return -1;
    }
    return 0;
}

static const char *SQL_CLAIM = "INSERT INTO idempotency_keys (user_id, scope, idem_key, body_hash) VALUES (?, ?, ?, ?)";
static const char *SQL_STORED =
    "SELECT body_hash, status, response FROM idempotency_keys WHERE user_id = ? AND scope = ? AND idem_key = ?";

/* The key is taken: answers with the stored response or a mismatch. */
static void answer_from_stored(gw_call_t *c, const char *scope, const char *hash)
{
    db_rows_t *r = db_query(c->db, SQL_STORED, DB_ARGS(DB_INT(c->user.id), DB_STR(scope), DB_STR(c->idempotency_key)));
    if (!r) {
        call_fail_db(c);
        return;
    }
    if (r->nrows == 0 || !db_cell(r, 0, 2)) {
        /* Deleted by the purge in between, or stored without a response:
         * either way the original is not available to replay. */
        call_fail(c, ERR_CONFLICT, "Idempotency-Key", "a request with this Idempotency-Key is not finished; retry");
    } else if (strcmp(db_cell(r, 0, 0), hash) != 0) {
        call_fail(c, ERR_UNPROCESSABLE, "Idempotency-Key",
                  "this Idempotency-Key was used with a different request body");
    } else {
        cJSON *data = cJSON_Parse(db_cell(r, 0, 2));
        if (data)
            call_ok(c, 200, data);
        else
            call_fail(c, ERR_INTERNAL, NULL, "the stored response cannot be read");
    }
    db_rows_free(r);
}

idem_result_t idempotency_begin(gw_call_t *c, const char *scope, idem_claim_t *claim)
{
    if (idempotency_key_or_fail(c) != 0)
        return IDEM_ANSWERED;
    char *text = c->body ? cJSON_PrintUnformatted(c->body) : NULL;
    char hash[65];
    idempotency_hash(scope, text ? text : "", hash);
    free(text);
    if (db_begin(c->db) != 0)
        goto DbError;
    /* Blocks while another transaction holds the same key uncommitted. */
    if (db_exec(c->db, SQL_CLAIM,
                DB_ARGS(DB_INT(c->user.id), DB_STR(scope), DB_STR(c->idempotency_key), DB_STR(hash))) == 0) {
        claim->row_id = (long long)db_insert_id(c->db);
        return IDEM_CLAIMED;
    }
    if (db_errno(c->db) != DB_ER_DUP_ENTRY)
        goto DbError;
    db_rollback(c->db);
    answer_from_stored(c, scope, hash);
    return IDEM_ANSWERED;
DbError:
    db_rollback(c->db);
    call_fail_db(c);
    return IDEM_ANSWERED;
}

int idempotency_finish(gw_call_t *c, const idem_claim_t *claim, int status, long long ref_id, const cJSON *data)
{
    char *text = cJSON_PrintUnformatted(data);
    int rc = db_exec(c->db, "UPDATE idempotency_keys SET status = ?, response = ?, ref_id = ? WHERE id = ?",
                     DB_ARGS(DB_INT(status), DB_STR(text ? text : "{}"), DB_INT(ref_id), DB_INT(claim->row_id)));
    free(text);
    return rc;
}

int idempotency_purge(db_conn_t *db, int max_age_s)
{
    if (db_exec(db, "DELETE FROM idempotency_keys WHERE created_at < NOW(3) - INTERVAL ? SECOND LIMIT 1000",
                DB_ARGS(DB_INT(max_age_s))) != 0)
        return -1;
    return (int)db_affected_rows(db);
}

static void purge_job(db_conn_t *db)
{
    int n, total = 0;
    while ((n = idempotency_purge(db, gw_cfg->idempotency_ttl_s)) > 0) {
        total += n;
        if (n < 1000 || background_stopping())
            break;
    }
    if (n < 0)
        log_warn("idempotency", "purge failed: %s", db_error(db));
    if (total > 0)
        log_info("idempotency", "purged %d expired keys", total);
}

void idempotency_register_purge_job(void)
{
    static int registered;
    if (registered)
        return;
    registered = 1;
    background_register("idempotency-purge", 600000, purge_job);
}
