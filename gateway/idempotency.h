/* idempotency.h: Idempotency-Key handling for create requests (DB step only).
 *
 * A client that may retry a create (a mini-program on a flaky network) sends
 * the same `Idempotency-Key` header with every attempt. The first attempt
 * claims (user, scope, key) by inserting a row under a unique key, inside the
 * transaction that creates the object, and stores the response there before
 * committing. A later attempt with the same key:
 *   - gets the stored response again (HTTP 200, the same data);
 *   - or 422 UNPROCESSABLE (field Idempotency-Key) when its body differs;
 * A concurrent attempt blocks on the first one's uncommitted row and then
 * sees the duplicate key once it commits (or takes the key over if the first
 * one rolled back), so two racing requests create one object.
 *
 *     idem_claim_t claim;
 *     if (idempotency_begin(c, "repairs.create", &claim) != IDEM_CLAIMED)
 *         return;                          // answered: replay, mismatch or error
 *     ... the work, in the open transaction ...
 *     if (idempotency_finish(c, &claim, 201, new_id, data) != 0) goto DbError;
 *     if (db_commit(c->db) != 0) goto DbError;
 *     call_ok(c, 201, data);
 */
#ifndef GW_IDEMPOTENCY_H
#define GW_IDEMPOTENCY_H
#include <cjson/cJSON.h>

#include "call.h"

typedef struct {
    long long row_id;
} idem_claim_t;

typedef enum {
    IDEM_CLAIMED = 0,  /* a transaction is open and the key is ours */
    IDEM_ANSWERED = 1, /* the call holds its answer (replay, 422, 400 or a db error); no transaction open */
} idem_result_t;

/* 0 when the Idempotency-Key header is usable (1-128 visible ASCII
 * characters); otherwise -1 with a 400 in the call (missing -> MISSING_FIELD,
 * field "Idempotency-Key"). Lets a route check it before slower steps. */
int idempotency_key_or_fail(gw_call_t *c);
/* Deprecated name (stage 2 of the handler conversion removes it). */
#define idempotency_check_key idempotency_key_or_fail

/* Checks the header, opens a transaction and claims the key for c->user.id
 * with the SHA-256 of the parsed JSON body. Its result is documented above
 * (IDEM_CLAIMED: go on; IDEM_ANSWERED: the call holds its answer, a replay
 * or a failure: return), not the 0/-1 of the ..._or_fail helpers. */
idem_result_t idempotency_begin(gw_call_t *c, const char *scope, idem_claim_t *claim);

/* Stores the response (borrowed) in the claimed row, in the open
 * transaction. 0 or -1 (db error). */
int idempotency_finish(gw_call_t *c, const idem_claim_t *claim, int status, long long ref_id, const cJSON *data);

/* Deletes keys older than max_age_s, a batch at a time. Returns rows deleted or -1. */
int idempotency_purge(db_conn_t *db, int max_age_s);
/* Registers the background job that purges keys older than
 * idempotency_ttl_s. Safe to call from several <resource>_register()
 * functions: the job is registered once. Before background_start(). */
void idempotency_register_purge_job(void);

/* Hex SHA-256 of the text (65 bytes out). Exposed for tests. */
void idempotency_hash(const char *scope, const char *text, char out[65]);

#endif
