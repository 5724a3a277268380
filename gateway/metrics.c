/* metrics.c: see metrics.h and metrics_db.h.
 *
 * Every labelled family lives in a fixed-size open-addressing table of
 * series keyed by their rendered label text ("method=\"GET\",route=...").
 * The hot path (a label set seen before) takes no lock: it hashes the key,
 * probes slots whose `ready` flag was published with release order, and
 * bumps relaxed atomic counters. Only a first sighting takes the table's
 * mutex to insert. Slots are never removed, so a published slot's hash and
 * labels are immutable and may be read without the lock.
 *
 * Cardinality is bounded: past `limit` distinct label sets new keys fold
 * into a coarser key (route="other", endpoint="other", ...); past `hard`
 * even those go to one fixed overflow series. No memory is allocated except
 * by metrics_render(). */
#if !defined(_GNU_SOURCE) && !defined(_POSIX_C_SOURCE)
#define _POSIX_C_SOURCE 200809L
#endif
#include "metrics.h"
#include "media_budget.h"
#include "metrics_db.h"
#include "wechat_client.h"
#include "ratelimit.h"
#include "router.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LABELS_MAX 256
#define NBUCKETS 12
#define DB_THREADS_MAX 64

static const double bucket_le[NBUCKETS] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5};
static const char *const bucket_le_text[NBUCKETS] = {"0.001", "0.0025", "0.005", "0.01", "0.025", "0.05",
                                                     "0.1",   "0.25",   "0.5",   "1",    "2.5",   "5"};

typedef struct {
    _Atomic int ready; /* set with release once hash and labels are written */
    uint64_t hash;
    char labels[LABELS_MAX];
    _Atomic uint64_t count;
} series_t;

typedef struct {
    _Atomic uint64_t sum_ns;
    _Atomic uint64_t buckets[NBUCKETS + 1]; /* per bucket, not cumulative; last is +Inf */
} hist_t;

typedef struct {
    series_t *slots;
    hist_t *hist;    /* parallel to slots; histogram tables only */
    unsigned *order; /* slot indexes in insertion order, for stable output */
    unsigned cap;    /* power of two */
    unsigned limit;  /* distinct label sets before folding */
    unsigned hard;   /* absolute maximum; < cap so every probe meets an empty slot */
    _Atomic unsigned n;
    pthread_mutex_t lock;
    series_t overflow;
    hist_t overflow_hist;
} table_t;

static series_t req_slots[1024];
static unsigned req_order[1024];
static table_t req_table = {
    .slots = req_slots,
    .order = req_order,
    .cap = 1024,
    .limit = 512,
    .hard = 768,
    .lock = PTHREAD_MUTEX_INITIALIZER,
    .overflow = {.labels = "method=\"other\",route=\"other\",status=\"other\""},
};

static series_t dur_slots[256];
static hist_t dur_hist[256];
static unsigned dur_order[256];
static table_t dur_table = {
    .slots = dur_slots,
    .hist = dur_hist,
    .order = dur_order,
    .cap = 256,
    .limit = 128,
    .hard = 160,
    .lock = PTHREAD_MUTEX_INITIALIZER,
    .overflow = {.labels = "route=\"other\""}, /* unreachable: the fold key always fits */
};

static series_t wx_slots[512];
static unsigned wx_order[512];
static table_t wx_table = {
    .slots = wx_slots,
    .order = wx_order,
    .cap = 512,
    .limit = 256,
    .hard = 384,
    .lock = PTHREAD_MUTEX_INITIALIZER,
    .overflow = {.labels = "endpoint=\"other\",result=\"other\""},
};

static series_t notif_slots[128];
static unsigned notif_order[128];
static table_t notif_table = {
    .slots = notif_slots,
    .order = notif_order,
    .cap = 128,
    .limit = 64,
    .hard = 96,
    .lock = PTHREAD_MUTEX_INITIALIZER,
    .overflow = {.labels = "outcome=\"other\""}, /* unreachable: the fold key always fits */
};

static series_t bg_slots[64];
static unsigned bg_order[64];
static table_t bg_table = {
    .slots = bg_slots,
    .order = bg_order,
    .cap = 64,
    .limit = 32,
    .hard = 48,
    .lock = PTHREAD_MUTEX_INITIALIZER,
    .overflow = {.labels = "job=\"other\""}, /* unreachable: the fold key always fits */
};

static struct {
    _Atomic int seen, busy, total, queued;
} db_pool[DB_THREADS_MAX];
static _Atomic uint64_t db_rejected;
static _Atomic uint64_t deadline_exceeded;
static _Atomic uint64_t db_connects[2];                         /* [ok] */
static _Atomic uint64_t token_refreshes[2];                     /* [ok] */
static _Atomic uint64_t cache_lookups[METRICS_CACHE__COUNT][2]; /* [cache][hit] */
static _Atomic uint64_t pushes[METRICS_PUSH__COUNT];
static _Atomic uint64_t auth_refused[METRICS_AUTH__COUNT];
static _Atomic uint64_t uploads_refused[METRICS_UPLOAD__COUNT];
static _Atomic uint64_t rate_limited[RATE__COUNT][RL_KEY__COUNT];
static _Atomic uint64_t rate_evictions;
static _Atomic uint64_t wechat_rejected[WX__COUNT];
static _Atomic uint64_t repair_check_skipped;
static _Atomic uint64_t survey_recipients[2]; /* sent, skipped */
static _Atomic uint64_t service_customer[2];  /* lookup, reveal */
static _Atomic uint64_t exports_ended[METRICS_EXPORT__COUNT];
static const char *const export_outcomes[METRICS_EXPORT__COUNT] = {"done", "failed", "retried", "expired"};
static const char *const outbox_statuses[] = {"pending", "retrying", "sending"};
#define OUTBOX_STATUSES 3
static _Atomic long long outbox_oldest_s[OUTBOX_STATUSES], outbox_count[OUTBOX_STATUSES];
static _Atomic uint64_t cache_refreshes[METRICS_CACHE__COUNT];
static _Atomic int notif_in_flight;
static hist_t notif_send_hist;

/* ---- label sets ---- */

/* Writes v into dst escaped per the text exposition format (\\, \", \n),
 * never splitting an escape, always NUL-terminated. Other control bytes and
 * non-ASCII bytes become '?' so the output is valid UTF-8 whatever the input
 * (a client controls the method). */
static void escape_label(char *dst, size_t dstsz, const char *v)
{
    size_t o = 0;

    for (; v != NULL && *v != '\0'; v++) {
        unsigned char c = (unsigned char)*v;
        char tmp[2] = {(char)c, '\0'};
        const char *rep = tmp;
        size_t rl;

        if (c == '\\')
            rep = "\\\\";
        else if (c == '"')
            rep = "\\\"";
        else if (c == '\n')
            rep = "\\n";
        else if (c < 0x20 || c >= 0x7f)
            tmp[0] = '?';
        rl = strlen(rep);
        if (o + rl >= dstsz)
            break;
        memcpy(dst + o, rep, rl);
        o += rl;
    }
    dst[o] = '\0';
}

static uint64_t hash_labels(const char *s)
{
    uint64_t h = 14695981039346656037ull; /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

/* Returns the published series for labels, or NULL when an unpublished slot
 * ends the probe. Called without the lock (then NULL may just mean "being
 * inserted right now") or with it (then NULL means absent). */
static series_t *probe(table_t *t, const char *labels, uint64_t h, unsigned *slot)
{
    unsigned mask = t->cap - 1, i;

    for (i = (unsigned)h & mask;; i = (i + 1) & mask) {
        series_t *s = &t->slots[i];
        if (!atomic_load_explicit(&s->ready, memory_order_acquire))
            break;
        if (s->hash == h && strcmp(s->labels, labels) == 0)
            return s;
    }
    if (slot != NULL)
        *slot = i;
    return NULL;
}

/* The series for labels; inserted if the table holds fewer than max sets.
 * NULL when absent and the table is that full. */
static series_t *find_or_add(table_t *t, const char *labels, unsigned max)
{
    uint64_t h = hash_labels(labels);
    series_t *s = probe(t, labels, h, NULL);
    unsigned slot, n;

    if (s != NULL)
        return s;
    pthread_mutex_lock(&t->lock);
    s = probe(t, labels, h, &slot);
    n = atomic_load_explicit(&t->n, memory_order_relaxed);
    if (s != NULL || n >= max)
        goto Exit;
    s = &t->slots[slot];
    s->hash = h;
    snprintf(s->labels, sizeof s->labels, "%s", labels);
    atomic_store_explicit(&s->ready, 1, memory_order_release);
    t->order[n] = slot;
    atomic_store_explicit(&t->n, n + 1, memory_order_release);
Exit:
    pthread_mutex_unlock(&t->lock);
    return s;
}

/* After find_or_add(t, key, t->limit) returned NULL: the folded key, or the
 * overflow series when even that no longer fits. */
static series_t *fold(table_t *t, const char *fold_labels)
{
    series_t *s = find_or_add(t, fold_labels, t->hard);
    return s != NULL ? s : &t->overflow;
}

static hist_t *hist_of(table_t *t, series_t *s)
{
    return s == &t->overflow ? &t->overflow_hist : &t->hist[s - t->slots];
}

static void inc(series_t *s)
{
    atomic_fetch_add_explicit(&s->count, 1, memory_order_relaxed);
}

/* ---- recording ---- */

static void hist_add(hist_t *h, double seconds)
{
    int i;

    if (!(seconds > 0)) /* also catches NaN */
        seconds = 0;
    if (seconds > 1e6) /* keeps the ns conversion in range */
        seconds = 1e6;
    for (i = 0; i < NBUCKETS && seconds > bucket_le[i]; i++)
        ;
    atomic_fetch_add_explicit(&h->buckets[i], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&h->sum_ns, (uint64_t)(seconds * 1e9 + 0.5), memory_order_relaxed);
}

static void observe(const char *route_esc, double seconds)
{
    char key[LABELS_MAX];
    series_t *s;

    snprintf(key, sizeof key, "route=\"%s\"", route_esc);
    s = find_or_add(&dur_table, key, dur_table.limit);
    if (s == NULL)
        s = fold(&dur_table, "route=\"other\"");
    hist_add(hist_of(&dur_table, s), seconds);
}

void metrics_request(const char *method, const char *route, int status, double seconds)
{
    char m[32], r[160], key[LABELS_MAX];
    series_t *s;

    escape_label(m, sizeof m, method != NULL ? method : "unknown");
    escape_label(r, sizeof r, route != NULL ? route : "unknown");
    snprintf(key, sizeof key, "method=\"%s\",route=\"%s\",status=\"%d\"", m, r, status);
    s = find_or_add(&req_table, key, req_table.limit);
    if (s == NULL) {
        snprintf(key, sizeof key, "method=\"%s\",route=\"other\",status=\"%d\"", m, status);
        s = fold(&req_table, key);
    }
    inc(s);
    observe(r, seconds);
}

void metrics_wechat_call(const char *endpoint, int errcode)
{
    char e[64], result[32], key[LABELS_MAX];
    series_t *s;

    if (errcode == 0)
        snprintf(result, sizeof result, "ok");
    else if (errcode < -1)
        snprintf(result, sizeof result, "transport_error");
    else
        snprintf(result, sizeof result, "errcode_%d", errcode); /* -1 is WeChat's "system busy" */
    escape_label(e, sizeof e, endpoint != NULL ? endpoint : "unknown");
    snprintf(key, sizeof key, "endpoint=\"%s\",result=\"%s\"", e, result);
    s = find_or_add(&wx_table, key, wx_table.limit);
    if (s == NULL) {
        snprintf(key, sizeof key, "endpoint=\"other\",result=\"%s\"", result);
        s = fold(&wx_table, key);
    }
    inc(s);
}

/* One more in the series {name="value"} of a table with a single label;
 * past the table's limit, in {name="other"}. */
static void inc_single_label(table_t *t, const char *name, const char *value)
{
    char v[64], key[LABELS_MAX];
    series_t *s;

    escape_label(v, sizeof v, value != NULL ? value : "unknown");
    snprintf(key, sizeof key, "%s=\"%s\"", name, v);
    s = find_or_add(t, key, t->limit);
    if (s == NULL) {
        snprintf(key, sizeof key, "%s=\"other\"", name);
        s = fold(t, key);
    }
    inc(s);
}

void metrics_notification(const char *outcome)
{
    inc_single_label(&notif_table, "outcome", outcome);
}

void metrics_background_run(const char *job)
{
    inc_single_label(&bg_table, "job", job);
}

void metrics_notification_sends_in_flight(int n)
{
    atomic_store_explicit(&notif_in_flight, n, memory_order_relaxed);
}

void metrics_notification_send_seconds(double seconds)
{
    hist_add(&notif_send_hist, seconds);
}

void metrics_db_pool(int thread_index, int busy, int total, int queued)
{
    if (thread_index < 0 || thread_index >= DB_THREADS_MAX)
        return;
    atomic_store_explicit(&db_pool[thread_index].busy, busy, memory_order_relaxed);
    atomic_store_explicit(&db_pool[thread_index].total, total, memory_order_relaxed);
    atomic_store_explicit(&db_pool[thread_index].queued, queued, memory_order_relaxed);
    atomic_store_explicit(&db_pool[thread_index].seen, 1, memory_order_relaxed);
}

void metrics_cache_lookup(metrics_cache_t cache, int hit)
{
    if ((unsigned)cache < METRICS_CACHE__COUNT)
        atomic_fetch_add_explicit(&cache_lookups[cache][hit != 0], 1, memory_order_relaxed);
}

void metrics_auth_refused(metrics_auth_refusal_t reason)
{
    if ((unsigned)reason < METRICS_AUTH__COUNT)
        atomic_fetch_add_explicit(&auth_refused[reason], 1, memory_order_relaxed);
}

void metrics_upload_refused(metrics_upload_refusal_t why)
{
    if ((unsigned)why < METRICS_UPLOAD__COUNT)
        atomic_fetch_add_explicit(&uploads_refused[why], 1, memory_order_relaxed);
}

void metrics_rate_limited(int cls, int kind)
{
    if ((unsigned)cls < RATE__COUNT && (unsigned)kind < RL_KEY__COUNT)
        atomic_fetch_add_explicit(&rate_limited[cls][kind], 1, memory_order_relaxed);
}

void metrics_rate_limit_evicted(void)
{
    atomic_fetch_add_explicit(&rate_evictions, 1, memory_order_relaxed);
}

void metrics_wechat_pool_rejected(int cls)
{
    if ((unsigned)cls < WX__COUNT)
        atomic_fetch_add_explicit(&wechat_rejected[cls], 1, memory_order_relaxed);
}

void metrics_outbox_set(const char *status, long long oldest_s, long long count)
{
    for (int k = 0; k < OUTBOX_STATUSES; k++)
        if (!strcmp(status, outbox_statuses[k])) {
            atomic_store_explicit(&outbox_oldest_s[k], oldest_s, memory_order_relaxed);
            atomic_store_explicit(&outbox_count[k], count, memory_order_relaxed);
        }
}

void metrics_export(metrics_export_t outcome)
{
    if ((unsigned)outcome < METRICS_EXPORT__COUNT)
        atomic_fetch_add_explicit(&exports_ended[outcome], 1, memory_order_relaxed);
}

static _Atomic uint64_t sla_steps_fired;
static _Atomic long long sla_calendar_version;

void metrics_sla_steps_fired(unsigned n)
{
    atomic_fetch_add_explicit(&sla_steps_fired, n, memory_order_relaxed);
}

void metrics_sla_calendar_version(long long version)
{
    atomic_store_explicit(&sla_calendar_version, version, memory_order_relaxed);
}

void metrics_repair_check_skipped(void)
{
    atomic_fetch_add_explicit(&repair_check_skipped, 1, memory_order_relaxed);
}

void metrics_survey_recipients(int sent, int skipped)
{
    atomic_fetch_add_explicit(&survey_recipients[0], (uint64_t)(sent > 0 ? sent : 0), memory_order_relaxed);
    atomic_fetch_add_explicit(&survey_recipients[1], (uint64_t)(skipped > 0 ? skipped : 0), memory_order_relaxed);
}

void metrics_service_customer(int reveal)
{
    atomic_fetch_add_explicit(&service_customer[reveal ? 1 : 0], 1, memory_order_relaxed);
}

void metrics_db_connect(int ok)
{
    atomic_fetch_add_explicit(&db_connects[ok != 0], 1, memory_order_relaxed);
}

void metrics_wechat_token_refresh(int ok)
{
    atomic_fetch_add_explicit(&token_refreshes[ok != 0], 1, memory_order_relaxed);
}

void metrics_cache_refreshed(metrics_cache_t cache, unsigned n)
{
    if ((unsigned)cache < METRICS_CACHE__COUNT)
        atomic_fetch_add_explicit(&cache_refreshes[cache], n, memory_order_relaxed);
}

void metrics_call_deadline_exceeded(void)
{
    atomic_fetch_add_explicit(&deadline_exceeded, 1, memory_order_relaxed);
}

void metrics_db_rejected(void)
{
    atomic_fetch_add_explicit(&db_rejected, 1, memory_order_relaxed);
}

/* ---- rendering ---- */

typedef struct {
    char *p;
    size_t len, cap;
    int failed; /* sticky, so callers check once at the end */
} buf_t;

static int bputf(buf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int bputf(buf_t *b, const char *fmt, ...)
{
    va_list ap;
    int n;

    if (b->failed)
        return -1;
    for (;;) {
        va_start(ap, fmt);
        n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
        va_end(ap);
        if (n < 0)
            goto Error;
        if ((size_t)n < b->cap - b->len) {
            b->len += (size_t)n;
            return 0;
        }
        size_t cap = b->cap * 2 > b->len + (size_t)n + 1 ? b->cap * 2 : b->len + (size_t)n + 1;
        char *p = realloc(b->p, cap);
        if (p == NULL)
            goto Error;
        b->p = p;
        b->cap = cap;
    }
Error:
    b->failed = 1;
    return -1;
}

static void header(buf_t *b, const char *name, const char *type, const char *help)
{
    bputf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void render_counters(buf_t *b, table_t *t, const char *name, const char *help)
{
    unsigned n = atomic_load_explicit(&t->n, memory_order_acquire);

    header(b, name, "counter", help);
    for (unsigned i = 0; i < n; i++) {
        series_t *s = &t->slots[t->order[i]];
        bputf(b, "%s{%s} %llu\n", name, s->labels,
              (unsigned long long)atomic_load_explicit(&s->count, memory_order_relaxed));
    }
    if (atomic_load_explicit(&t->overflow.count, memory_order_relaxed) > 0)
        bputf(b, "%s{%s} %llu\n", name, t->overflow.labels,
              (unsigned long long)atomic_load_explicit(&t->overflow.count, memory_order_relaxed));
}

/* labels "" renders a series without labels. */
static void render_one_hist(buf_t *b, const char *name, const char *labels, hist_t *h)
{
    unsigned long long cum = 0, sum_ns;
    const char *sep = labels[0] ? "," : "";
    int i;

    /* Each bucket is read once and summed here, so buckets are cumulative
     * and +Inf equals _count even while other threads keep recording. */
    for (i = 0; i < NBUCKETS; i++) {
        cum += atomic_load_explicit(&h->buckets[i], memory_order_relaxed);
        bputf(b, "%s_bucket{%s%sle=\"%s\"} %llu\n", name, labels, sep, bucket_le_text[i], cum);
    }
    cum += atomic_load_explicit(&h->buckets[NBUCKETS], memory_order_relaxed);
    bputf(b, "%s_bucket{%s%sle=\"+Inf\"} %llu\n", name, labels, sep, cum);
    sum_ns = atomic_load_explicit(&h->sum_ns, memory_order_relaxed);
    if (labels[0]) {
        bputf(b, "%s_sum{%s} %llu.%09llu\n", name, labels, sum_ns / 1000000000ull, sum_ns % 1000000000ull);
        bputf(b, "%s_count{%s} %llu\n", name, labels, cum);
    } else {
        bputf(b, "%s_sum %llu.%09llu\n", name, sum_ns / 1000000000ull, sum_ns % 1000000000ull);
        bputf(b, "%s_count %llu\n", name, cum);
    }
}

static void render_hists(buf_t *b, table_t *t, const char *name, const char *help)
{
    unsigned n = atomic_load_explicit(&t->n, memory_order_acquire);

    header(b, name, "histogram", help);
    for (unsigned i = 0; i < n; i++) {
        unsigned slot = t->order[i];
        render_one_hist(b, name, t->slots[slot].labels, &t->hist[slot]);
    }
}

static void render_db_gauge(buf_t *b, const char *name, const char *help, int which)
{
    header(b, name, "gauge", help);
    for (int i = 0; i < DB_THREADS_MAX; i++) {
        if (!atomic_load_explicit(&db_pool[i].seen, memory_order_relaxed))
            continue;
        int v = atomic_load_explicit(which == 0   ? &db_pool[i].busy
                                     : which == 1 ? &db_pool[i].total
                                                  : &db_pool[i].queued,
                                     memory_order_relaxed);
        bputf(b, "%s{thread=\"%d\"} %d\n", name, i, v);
    }
}

void metrics_wechat_push(metrics_push_t result)
{
    if ((unsigned)result < METRICS_PUSH__COUNT)
        atomic_fetch_add_explicit(&pushes[result], 1, memory_order_relaxed);
}

char *metrics_render(size_t *len)
{
    buf_t b = {.cap = 16384};

    if (len != NULL)
        *len = 0;
    b.p = malloc(b.cap);
    if (b.p == NULL)
        return NULL;

    render_counters(&b, &req_table, "gateway_http_requests_total",
                    "HTTP requests by method, route pattern and status.");
    render_hists(&b, &dur_table, "gateway_http_request_duration_seconds",
                 "HTTP request duration in seconds by route pattern.");
    render_counters(&b, &wx_table, "gateway_wechat_calls_total", "WeChat API calls by endpoint and result.");
    render_counters(&b, &notif_table, "gateway_notifications_total", "Notifications by outcome.");
    header(&b, "gateway_notification_sends_in_flight", "gauge",
           "WeChat subscribe sends of the notification dispatcher in flight now.");
    bputf(&b, "gateway_notification_sends_in_flight %d\n",
          atomic_load_explicit(&notif_in_flight, memory_order_relaxed));
    header(&b, "gateway_notification_send_seconds", "histogram",
           "Time of one notification send, from start to WeChat's answer (a token replay included).");
    render_one_hist(&b, "gateway_notification_send_seconds", "", &notif_send_hist);
    render_db_gauge(&b, "gateway_db_pool_busy", "Database connections in use per loop thread.", 0);
    render_db_gauge(&b, "gateway_db_pool_size", "Database connections open per loop thread.", 1);
    render_db_gauge(&b, "gateway_db_queue_length", "Database jobs waiting for a connection per loop thread.", 2);
    header(&b, "gateway_db_queue_rejected_total", "counter", "Database jobs rejected because the wait queue was full.");
    bputf(&b, "gateway_db_queue_rejected_total %llu\n",
          (unsigned long long)atomic_load_explicit(&db_rejected, memory_order_relaxed));
    header(&b, "gateway_db_connects_total", "counter",
           "Connection attempts to MariaDB; past start-up each one is a reconnect.");
    for (int ok = 1; ok >= 0; ok--)
        bputf(&b, "gateway_db_connects_total{result=\"%s\"} %llu\n", ok ? "ok" : "failed",
              (unsigned long long)atomic_load_explicit(&db_connects[ok], memory_order_relaxed));
    header(&b, "gateway_wechat_token_refreshes_total", "counter", "Fetches of the WeChat access token.");
    for (int ok = 1; ok >= 0; ok--)
        bputf(&b, "gateway_wechat_token_refreshes_total{result=\"%s\"} %llu\n", ok ? "ok" : "failed",
              (unsigned long long)atomic_load_explicit(&token_refreshes[ok], memory_order_relaxed));
    static const char *const cache_names[METRICS_CACHE__COUNT] = {"auth", "repair_detail", "repair_view"};
    header(&b, "gateway_cache_lookups_total", "counter", "In-memory cache lookups by cache and result.");
    for (int k = 0; k < METRICS_CACHE__COUNT; k++)
        for (int hit = 1; hit >= 0; hit--)
            bputf(&b, "gateway_cache_lookups_total{cache=\"%s\",result=\"%s\"} %llu\n", cache_names[k],
                  hit ? "hit" : "miss",
                  (unsigned long long)atomic_load_explicit(&cache_lookups[k][hit], memory_order_relaxed));
    header(&b, "gateway_wechat_token_fetches_total", "counter",
           "HTTP requests for the WeChat access token made by this process.");
    bputf(&b, "gateway_wechat_token_fetches_total %ld\n", wx_token_fetch_count());
    header(&b, "gateway_wechat_token_forced_total", "counter",
           "Forced refreshes of the shared WeChat access token made by this process.");
    bputf(&b, "gateway_wechat_token_forced_total %ld\n", wx_token_forced_count());
    static const char *const push_names[METRICS_PUSH__COUNT] = {"accepted", "bad_signature",  "stale",
                                                                "replayed", "bad_encryption", "mode_refused"};
    header(&b, "gateway_wechat_pushes_total", "counter", "WeChat message pushes by result.");
    for (int k = 0; k < METRICS_PUSH__COUNT; k++)
        bputf(&b, "gateway_wechat_pushes_total{result=\"%s\"} %llu\n", push_names[k],
              (unsigned long long)atomic_load_explicit(&pushes[k], memory_order_relaxed));
    static const char *const refusal_names[METRICS_AUTH__COUNT] = {"revoked", "disabled"};
    header(&b, "gateway_auth_refused_total", "counter",
           "Valid session tokens refused: the session was ended, or the user is disabled.");
    for (int k = 0; k < METRICS_AUTH__COUNT; k++)
        bputf(&b, "gateway_auth_refused_total{reason=\"%s\"} %llu\n", refusal_names[k],
              (unsigned long long)atomic_load_explicit(&auth_refused[k], memory_order_relaxed));
    static const char *const upload_refusal_names[METRICS_UPLOAD__COUNT] = {"quota_count", "quota_bytes",
                                                                            "image_too_large", "decode_busy"};
    header(&b, "gateway_uploads_refused_total", "counter", "Uploads refused before anything was stored, by reason.");
    for (int k = 0; k < METRICS_UPLOAD__COUNT; k++)
        bputf(&b, "gateway_uploads_refused_total{reason=\"%s\"} %llu\n", upload_refusal_names[k],
              (unsigned long long)atomic_load_explicit(&uploads_refused[k], memory_order_relaxed));
    media_budget_t *budget = media_budget_default();
    if (budget) {
        header(&b, "gateway_image_decode_budget_bytes", "gauge",
               "Bytes of the image decode budget reserved now (used) and in all (capacity).");
        bputf(&b, "gateway_image_decode_budget_bytes{state=\"used\"} %zu\n", media_budget_used(budget));
        bputf(&b, "gateway_image_decode_budget_bytes{state=\"capacity\"} %zu\n", budget->capacity);
    }

    header(&b, "gateway_rate_limited_total", "counter",
           "Requests refused by a rate limit, by route class and key (ip or user).");
    for (int k = 0; k < RATE__COUNT; k++)
        for (int kind = 0; kind < RL_KEY__COUNT; kind++)
            bputf(&b, "gateway_rate_limited_total{class=\"%s\",key=\"%s\"} %llu\n", rate_class_name(k),
                  kind == RL_KEY_IP ? "ip" : "user",
                  (unsigned long long)atomic_load_explicit(&rate_limited[k][kind], memory_order_relaxed));
    header(&b, "gateway_rate_limit_evictions_total", "counter",
           "Rate-limit buckets dropped to make room for another client (the table is full).");
    bputf(&b, "gateway_rate_limit_evictions_total %llu\n",
          (unsigned long long)atomic_load_explicit(&rate_evictions, memory_order_relaxed));
    header(&b, "gateway_wechat_pool_rejected_total", "counter",
           "WeChat jobs refused at once because their class was over its share of the pool.");
    for (int k = 0; k < WX__COUNT; k++)
        bputf(&b, "gateway_wechat_pool_rejected_total{class=\"%s\"} %llu\n", wx_class_name(k),
              (unsigned long long)atomic_load_explicit(&wechat_rejected[k], memory_order_relaxed));
    header(&b, "gateway_repair_check_skipped_total", "counter",
           "New repairs stored unchecked because the WeChat pool could not start their text check in time.");
    bputf(&b, "gateway_repair_check_skipped_total %llu\n",
          (unsigned long long)atomic_load_explicit(&repair_check_skipped, memory_order_relaxed));
    header(&b, "gateway_survey_recipients_total", "counter",
           "Owners survey sends recorded: sent (asked) and skipped (asked too recently, the contact limit).");
    bputf(&b, "gateway_survey_recipients_total{status=\"sent\"} %llu\n",
          (unsigned long long)atomic_load_explicit(&survey_recipients[0], memory_order_relaxed));
    bputf(&b, "gateway_survey_recipients_total{status=\"skipped\"} %llu\n",
          (unsigned long long)atomic_load_explicit(&survey_recipients[1], memory_order_relaxed));
    header(&b, "gateway_service_customer_requests_total", "counter",
           "Service-desk customer lookups by phone and full phones shown (each with an audit row).");
    bputf(&b, "gateway_service_customer_requests_total{action=\"lookup\"} %llu\n",
          (unsigned long long)atomic_load_explicit(&service_customer[0], memory_order_relaxed));
    bputf(&b, "gateway_service_customer_requests_total{action=\"reveal\"} %llu\n",
          (unsigned long long)atomic_load_explicit(&service_customer[1], memory_order_relaxed));
    header(&b, "gateway_exports_total", "counter", "CSV exports by how they ended: done, failed, retried, expired.");
    for (int k = 0; k < METRICS_EXPORT__COUNT; k++)
        bputf(&b, "gateway_exports_total{outcome=\"%s\"} %llu\n", export_outcomes[k],
              (unsigned long long)atomic_load_explicit(&exports_ended[k], memory_order_relaxed));
    header(&b, "gateway_cache_refreshes_total", "counter", "Cache entries reloaded ahead of their expiry, by cache.");
    for (int k = 0; k < METRICS_CACHE__COUNT; k++)
        bputf(&b, "gateway_cache_refreshes_total{cache=\"%s\"} %llu\n", cache_names[k],
              (unsigned long long)atomic_load_explicit(&cache_refreshes[k], memory_order_relaxed));
    render_counters(&b, &bg_table, "gateway_background_runs_total",
                    "Completed runs of each background job (sweepers, dispatcher, polls).");
    header(&b, "gateway_notification_outbox_oldest_seconds", "gauge",
           "Age of the oldest unfinished notification event by status (0: none), read every "
           "notification_outbox_age_interval_ms.");
    for (int k = 0; k < OUTBOX_STATUSES; k++)
        bputf(&b, "gateway_notification_outbox_oldest_seconds{status=\"%s\"} %lld\n", outbox_statuses[k],
              atomic_load_explicit(&outbox_oldest_s[k], memory_order_relaxed));
    header(&b, "gateway_notification_outbox_events", "gauge", "Unfinished notification events by status.");
    for (int k = 0; k < OUTBOX_STATUSES; k++)
        bputf(&b, "gateway_notification_outbox_events{status=\"%s\"} %lld\n", outbox_statuses[k],
              atomic_load_explicit(&outbox_count[k], memory_order_relaxed));
    header(&b, "gateway_call_deadline_exceeded_total", "counter",
           "Requests answered 503 DEADLINE_EXCEEDED: their next step would have started after call_deadline_ms.");
    bputf(&b, "gateway_call_deadline_exceeded_total %llu\n",
          (unsigned long long)atomic_load_explicit(&deadline_exceeded, memory_order_relaxed));
    header(&b, "gateway_sla_steps_fired_total", "counter",
           "Service-level reminders and escalation steps this process fired (every kind of ticket).");
    bputf(&b, "gateway_sla_steps_fired_total %llu\n",
          (unsigned long long)atomic_load_explicit(&sla_steps_fired, memory_order_relaxed));
    header(&b, "gateway_sla_calendar_version", "gauge",
           "Version of the business calendar this process counts with (0: the shipped file, not yet the database's).");
    bputf(&b, "gateway_sla_calendar_version %lld\n", atomic_load_explicit(&sla_calendar_version, memory_order_relaxed));

    if (b.failed) {
        free(b.p);
        return NULL;
    }
    if (len != NULL)
        *len = b.len;
    return b.p;
}
