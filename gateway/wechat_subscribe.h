/* wechat_subscribe.h: subscribe-message sends for the notification outbox.
 *
 * wx_send_subscribe (wechat_client.h) retries -1, 5xx and transport failures
 * itself. The outbox needs the opposite: it counts every attempt on the
 * event's row and schedules the next one with its own backoff, so a retry
 * survives a restart and is visible to staff. wx_subscribe_send_once makes
 * exactly one send attempt. A rejected access token (40001/40014/42001) is
 * still handled as everywhere else: the shared token is invalidated (if it is
 * still the one that failed), fetched once, and the send replayed once.
 *
 * Blocking; call it from a worker or background thread, never from an event
 * loop. It uses the WeChat client's per-thread connection (freed by
 * wx_client_thread_cleanup). */
#ifndef GW_WECHAT_SUBSCRIBE_H
#define GW_WECHAT_SUBSCRIBE_H
#include <stddef.h>

#include "wechat_client.h"

/* Digits of an int64 plus sign and NUL. */
#define WX_MSGID_MAX 24

/* Results of wx_subscribe_send_once. */
#define WX_SEND_OK 0
#define WX_SEND_FAILED (-1)   /* the send got an answer or failed on the wire: see st */
#define WX_SEND_NO_TOKEN (-2) /* no access token could be had; nothing was sent */

/* json_body: the complete request body (touser, template_id, page, data).
 * On WX_SEND_OK, msgid holds WeChat's msgid exactly as sent (it exceeds a
 * double's exact range, so it is copied as digits, never through a double),
 * or "" if the reply had none. st->attempts counts every HTTP request made,
 * token fetches included. */
int wx_subscribe_send_once(const char *json_body, char msgid[WX_MSGID_MAX], wx_status_t *st);

#endif
