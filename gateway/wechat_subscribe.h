/* wechat_subscribe.h: subscribe-message sends for the notification outbox,
 * many at a time on one thread.
 *
 * wx_send_subscribe (wechat_client.h) makes one blocking call and retries
 * -1, 5xx and transport failures itself. The outbox needs something else:
 * it counts every attempt on the event's row and schedules the next one with
 * its own backoff, so a retry survives a restart and is visible to staff, and
 * it keeps many sends in flight, because WeChat takes 100-300 ms a call and
 * one send at a time caps delivery at a few messages a second.
 *
 * A wx_sender_t is a libcurl multi handle owned by one thread: that thread
 * adds sends (wx_sender_add) and drives them (wx_sender_run), which reports
 * each finished send once through a callback. Each send is one HTTP attempt
 * with the client's timeouts (wechat_timeout_ms, wechat_connect_timeout_ms),
 * on connections the handle keeps alive and reuses. A rejected access token
 * (40001/40014/42001) is handled as everywhere else: the shared token is
 * invalidated only if it is still the one that failed (so many sends that
 * failed with one token cause one refresh), a usable token is fetched once
 * (single flight), and that send is replayed once; the replay is part of the
 * same attempt. -1, 5xx, timeouts and transport errors are reported, not
 * retried: the outbox's retry and backoff take them.
 *
 * A send that needs a new access token while others are in flight waits
 * for it without stalling them: a short-lived thread fetches it
 * (wx_token_get, single flight) and wakes the poll. With nothing in flight
 * the fetch runs on the calling thread. Never use a sender on an event-loop
 * thread. */
#ifndef GW_WECHAT_SUBSCRIBE_H
#define GW_WECHAT_SUBSCRIBE_H
#include <stddef.h>

#include "wechat_client.h"

/* Digits of an int64 plus sign and NUL. */
#define WX_MSGID_MAX 24

/* Results of a send. */
#define WX_SEND_OK 0
#define WX_SEND_FAILED (-1)   /* the send got an answer or failed on the wire: see st */
#define WX_SEND_NO_TOKEN (-2) /* no access token could be had; nothing was sent */

#define WX_SENDER_MAX 1024 /* most sends one sender keeps in flight */

typedef struct wx_sender wx_sender_t;

/* One finished send, as reported by wx_sender_run. */
typedef struct {
    void *ud;                 /* as given to wx_sender_add */
    int rc;                   /* WX_SEND_OK, WX_SEND_FAILED or WX_SEND_NO_TOKEN */
    wx_status_t st;           /* attempts: HTTP requests made for this send: its replay, and a
                                token fetch made on the calling thread, included */
    char msgid[WX_MSGID_MAX]; /* on WX_SEND_OK: WeChat's msgid exactly as sent (it exceeds a
                                double's exact range, so copied as digits), or "" if none */
    double seconds;           /* from wx_sender_add to the answer */
} wx_sent_t;

typedef void (*wx_sent_fn)(const wx_sent_t *sent, void *ctx);

/* A sender for up to max_in_flight (1..WX_SENDER_MAX) sends at a time, or
 * NULL (out of memory, or the WeChat client is not initialised). */
wx_sender_t *wx_sender_new(int max_in_flight);
/* Abandons the sends still in flight (they are not reported) and closes the
 * connections. NULL is ignored. */
void wx_sender_free(wx_sender_t *s);

/* Starts one send. json_body (touser, template_id, page, data) is borrowed:
 * it must stay unchanged until the send is reported. Returns WX_SEND_OK (it
 * will be reported by wx_sender_run), WX_SEND_NO_TOKEN (nothing was sent:
 * st holds the token fetch's error) or WX_SEND_FAILED (nothing was sent: the
 * sender is full or out of memory; st says which). A send parked for a
 * token fetch counts as in flight; if no token comes, it is reported with
 * rc WX_SEND_NO_TOKEN (nothing was sent). */
int wx_sender_add(wx_sender_t *s, const char *json_body, void *ud, wx_status_t *st);
int wx_sender_in_flight(const wx_sender_t *s);
/* max_in_flight, as created. */
int wx_sender_capacity(const wx_sender_t *s);
/* Drives the transfers: waits up to timeout_ms (0 = not at all) for one to
 * progress or for wx_sender_wakeup, then calls fn once for each send that
 * finished. Returns how many were reported, or -1 (curl failure). */
int wx_sender_run(wx_sender_t *s, int timeout_ms, wx_sent_fn fn, void *ctx);
/* Ends a wait in wx_sender_run early; the only function any thread may call. */
void wx_sender_wakeup(wx_sender_t *s);

#endif
