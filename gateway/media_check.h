/* media_check.h: WeChat's asynchronous content check of uploaded photos
 * (WeChat's security.mediaCheckAsync, version 2: POST /wxa/media_check_async
 * with a public https URL of the image; WeChat fetches it and pushes the
 * verdict to the message push within 30 minutes).
 *
 * An upload is submitted with a long-lived signed absolute URL under
 * public_base_url (empty: no submission, the upload stays 'unchecked').
 * WeChat answers with a trace_id at once and pushes the verdict later
 * (handlers/ops/wechat.c). States of uploads.check_status:
 *   unchecked -> pending (submitted, trace_id recorded) -> pass | review | risky
 * 'risky' also sets hidden = 1. A failed submission, a verdict that never
 * comes (MEDIA_CHECK_RESULT_WAIT_S) and a "could not download" verdict are
 * resubmitted by the retry job with a growing delay, MEDIA_CHECK_MAX_ATTEMPTS
 * times at most.
 *
 * The verdict and the submission meet in media_check_results, one row per
 * trace_id whose primary key serialises them: a push that arrives before its
 * submission recorded the trace_id is applied then, and a retried push is
 * recognised as a duplicate. */
#ifndef GW_MEDIA_CHECK_H
#define GW_MEDIA_CHECK_H
#include <stddef.h>

#include "db.h"
#include "wechat_client.h"

#define MEDIA_CHECK_SCENE 3            /* WeChat scene "forum": content other people see */
#define MEDIA_CHECK_RESULT_WAIT_S 3600 /* WeChat promises a verdict within 30 minutes */
#define MEDIA_CHECK_MAX_ATTEMPTS 8

/* 1 if public_base_url is configured. */
int media_check_enabled(void);

/* Blocking WeChat call (POOL_WECHAT step or background job). 0 with
 * trace_id filled, or -1 with *st describing the failure. */
int media_check_submit(long long upload_id, const char *openid, char *trace_id, size_t trace_size, wx_status_t *st);

/* Own transaction: marks the upload pending under trace_id and applies a
 * verdict that already arrived. 0 or -1 (db error). */
int media_check_record_submission(db_conn_t *db, long long upload_id, const char *trace_id);

/* Own transaction: stores a pushed verdict and applies it to the upload.
 * suggest: "pass", "review", "risky", or "error" (WeChat could not fetch the
 * photo; it is resubmitted). *duplicate = 1 when this trace_id already had a
 * verdict. *changed = uploads updated. 0 or -1 (db error). */
int media_check_store_result(db_conn_t *db, const char *trace_id, const char *suggest, const char *label,
                             int *duplicate, int *changed);
/* The same inside the caller's open transaction (nothing committed or
 * rolled back here), so that a push's nonce and its verdict are one. */
int media_check_store_result_in_tx(db_conn_t *db, const char *trace_id, const char *suggest, const char *label,
                                   int *duplicate, int *changed);

/* Background job: resubmits uploads whose check is due. */
void media_check_retry_job(db_conn_t *db);

#endif
