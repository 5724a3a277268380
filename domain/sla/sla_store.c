#include "domain/sla/sla_store.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/log.h"
#include "gateway/utf8.h"

/* ---- the kinds ---- */

static const sla_kind_t *kinds[SLA_STORE_MAX_KINDS];
static int nkinds;

int sla_kind_register(const sla_kind_t *k)
{
    const char *why = NULL;
    if (!k || !k->name || strlen(k->name) >= SLA_STORE_KIND_LEN || k->nclocks < 1 ||
        k->nclocks > SLA_STORE_MAX_CLOCKS || !k->lock || !k->fire || nkinds == SLA_STORE_MAX_KINDS ||
        sla_kind_find(k->name))
        goto Bad;
    for (int i = 0; i < k->nclocks; i++)
        if (!k->clocks[i] || strlen(k->clocks[i]) >= SLA_STORE_KIND_LEN || sla_ladder_check(&k->ladders[i], &why) != 0)
            goto Bad;
    kinds[nkinds++] = k;
    return 0;
Bad:
    log_error("sla", "kind %s not registered%s%s", k && k->name ? k->name : "(null)", why ? ": " : "", why ? why : "");
    return -1;
}

const sla_kind_t *sla_kind_find(const char *name)
{
    for (int i = 0; name && i < nkinds; i++)
        if (!strcmp(kinds[i]->name, name))
            return kinds[i];
    return NULL;
}

/* ---- the calendar in use ----
 * Readers take a reference; a reload publishes a new copy and frees the old
 * one once its last reader released it. */
typedef struct cal_ref {
    sla_calendar_t *cal;
    int refs;
    struct cal_ref *next; /* retired copies still borrowed */
} cal_ref_t;

static pthread_mutex_t cal_mu = PTHREAD_MUTEX_INITIALIZER;
static cal_ref_t *cal_cur, *cal_retired;
static long long cal_version;
static cJSON *cal_base; /* the shipped document: weekly pattern, hours, years to seed */

static int cal_publish(sla_calendar_t *cal, long long version)
{
    cal_ref_t *r = calloc(1, sizeof(*r));
    if (!r)
        return -1;
    r->cal = cal;
    pthread_mutex_lock(&cal_mu);
    cal_ref_t *old = cal_cur;
    cal_cur = r;
    cal_version = version;
    if (old) {
        if (old->refs == 0) {
            sla_calendar_free(old->cal);
            free(old);
        } else {
            old->next = cal_retired;
            cal_retired = old;
        }
    }
    pthread_mutex_unlock(&cal_mu);
    return 0;
}

const sla_calendar_t *sla_calendar_current(void)
{
    pthread_mutex_lock(&cal_mu);
    const sla_calendar_t *c = NULL;
    if (cal_cur) {
        cal_cur->refs++;
        c = cal_cur->cal;
    }
    pthread_mutex_unlock(&cal_mu);
    return c;
}

void sla_calendar_release(const sla_calendar_t *cal)
{
    if (!cal)
        return;
    pthread_mutex_lock(&cal_mu);
    if (cal_cur && cal_cur->cal == cal)
        cal_cur->refs--;
    else
        for (cal_ref_t **p = &cal_retired; *p; p = &(*p)->next)
            if ((*p)->cal == cal) {
                cal_ref_t *r = *p;
                if (--r->refs == 0) {
                    *p = r->next;
                    sla_calendar_free(r->cal);
                    free(r);
                }
                break;
            }
    pthread_mutex_unlock(&cal_mu);
}

long long sla_calendar_loaded_version(void)
{
    pthread_mutex_lock(&cal_mu);
    long long v = cal_version;
    pthread_mutex_unlock(&cal_mu);
    return v;
}

int sla_calendar_init(const char *path)
{
    FILE *f = fopen(path, "rb");
    char *text = NULL;
    size_t len = 0;
    sla_error_t err;
    if (!f) {
        log_error("sla", "calendar %s: cannot open", path);
        return -1;
    }
    text = malloc(SLA_CAL_MAX_TEXT + 1);
    if (text)
        len = fread(text, 1, SLA_CAL_MAX_TEXT + 1, f);
    fclose(f);
    if (!text || len > SLA_CAL_MAX_TEXT) {
        log_error("sla", "calendar %s: unreadable or over %d bytes", path, SLA_CAL_MAX_TEXT);
        free(text);
        return -1;
    }
    sla_calendar_t *cal = sla_calendar_parse(text, len, &err);
    cJSON_Delete(cal_base);
    cal_base = cal ? cJSON_ParseWithLength(text, len) : NULL;
    free(text);
    if (!cal || !cal_base) {
        log_error("sla", "calendar %s: %s", path, cal ? "out of memory" : err.message);
        sla_calendar_free(cal);
        return -1;
    }
    if (cal_publish(cal, 0) != 0) {
        sla_calendar_free(cal);
        return -1;
    }
    return 0;
}

void sla_calendar_shutdown(void)
{
    pthread_mutex_lock(&cal_mu);
    if (cal_cur) {
        sla_calendar_free(cal_cur->cal);
        free(cal_cur);
        cal_cur = NULL;
    }
    while (cal_retired) {
        cal_ref_t *r = cal_retired;
        cal_retired = r->next;
        sla_calendar_free(r->cal);
        free(r);
    }
    pthread_mutex_unlock(&cal_mu);
    cJSON_Delete(cal_base);
    cal_base = NULL;
}

cJSON *sla_calendar_document(cJSON *years)
{
    cJSON *doc = cal_base ? cJSON_Duplicate(cal_base, 1) : cJSON_CreateObject();
    if (!doc) {
        cJSON_Delete(years);
        return NULL;
    }
    cJSON_DeleteItemFromObjectCaseSensitive(doc, "years");
    cJSON_DeleteItemFromObjectCaseSensitive(doc, "note");
    cJSON_AddItemToObject(doc, "years", years);
    return doc;
}

cJSON *sla_calendar_shipped_year(int year)
{
    cJSON *y, *ys = cal_base ? cJSON_GetObjectItemCaseSensitive(cal_base, "years") : NULL;
    cJSON_ArrayForEach(y, ys)
    {
        cJSON *n = cJSON_GetObjectItemCaseSensitive(y, "year");
        if (cJSON_IsNumber(n) && (int)n->valuedouble == year)
            return y;
    }
    return NULL;
}

/* Seeds the shipped years the table lacks (an administrator's edit is
 * kept), bumping the version when it added one. 0 or -1. */
static int cal_seed(db_conn_t *db)
{
    cJSON *y, *ys = cal_base ? cJSON_GetObjectItemCaseSensitive(cal_base, "years") : NULL;
    int added = 0;
    cJSON_ArrayForEach(y, ys)
    {
        cJSON *src = cJSON_GetObjectItemCaseSensitive(y, "source");
        char *h = cJSON_PrintUnformatted(cJSON_GetObjectItemCaseSensitive(y, "holidays"));
        char *w = cJSON_PrintUnformatted(cJSON_GetObjectItemCaseSensitive(y, "workdays"));
        int rc = h && w ? db_exec(db, "INSERT IGNORE INTO sla_calendar_years (year, source, holidays, workdays)"
                                      " VALUES (?, ?, ?, ?)",
                                  DB_ARGS(DB_INT((long long)cJSON_GetObjectItemCaseSensitive(y, "year")->valuedouble),
                                          DB_STR(cJSON_IsString(src) ? src->valuestring : NULL), DB_STR(h), DB_STR(w)))
                        : -1;
        free(h);
        free(w);
        if (rc != 0)
            return -1;
        added += (int)db_affected_rows(db);
    }
    if (added && db_exec(db, "UPDATE sla_calendar_version SET version = version + 1 WHERE id = 1", DB_NOARGS) != 0)
        return -1;
    return 0;
}

/* The stored years as a document's "years" array (new), or NULL. */
static cJSON *cal_stored_years(db_conn_t *db)
{
    db_rows_t *r = db_query(db, "SELECT year, source, holidays, workdays FROM sla_calendar_years ORDER BY year",
                            DB_NOARGS);
    cJSON *years = r ? cJSON_CreateArray() : NULL;
    for (int i = 0; years && i < r->nrows; i++) {
        cJSON *y = cJSON_CreateObject(), *h = cJSON_Parse(db_get(r, i, "holidays")),
              *w = cJSON_Parse(db_get(r, i, "workdays"));
        if (!y || !h || !w) {
            cJSON_Delete(y);
            cJSON_Delete(h);
            cJSON_Delete(w);
            cJSON_Delete(years);
            years = NULL;
            break;
        }
        cJSON_AddNumberToObject(y, "year", (double)db_get_int(r, i, "year"));
        if (!db_is_null(r, i, "source"))
            cJSON_AddStringToObject(y, "source", db_get(r, i, "source"));
        cJSON_AddItemToObject(y, "holidays", h);
        cJSON_AddItemToObject(y, "workdays", w);
        cJSON_AddItemToArray(years, y);
    }
    db_rows_free(r);
    return years;
}

int sla_calendar_refresh(db_conn_t *db)
{
    long long version = 0;
    if (!cal_base)
        return -1;
    if (sla_calendar_loaded_version() == 0) {
        /* First load of this process: add the shipped years the table lacks. */
        if (db_begin(db) != 0 || cal_seed(db) != 0 || db_commit(db) != 0) {
            db_rollback(db);
            log_warn("sla", "calendar: seeding failed: %s", db_error(db));
            return -1;
        }
    }
    if (db_query_int(db, &version, "SELECT version FROM sla_calendar_version WHERE id = 1", DB_NOARGS) != 1)
        return -1;
    if (version == sla_calendar_loaded_version())
        return 0;
    cJSON *doc = sla_calendar_document(cal_stored_years(db));
    sla_error_t err;
    sla_calendar_t *cal = doc ? sla_calendar_from_json(doc, &err) : NULL;
    cJSON_Delete(doc);
    if (!cal) {
        log_error("sla", "calendar version %lld not loaded: %s", version, doc ? err.message : "out of memory");
        return -1;
    }
    if (cal_publish(cal, version) != 0) {
        sla_calendar_free(cal);
        return -1;
    }
    log_info("sla", "calendar version %lld loaded", version);
    return 1;
}

/* ---- the clocks of a subject ---- */

typedef struct {
    long long id;
    int clock_no, round, running, breached;
    long long started_ms, budget_s, due_ms, next_ms; /* due/next: -1 = NULL */
    sla_mode_t mode;
    unsigned fired;
} row_t;

typedef struct {
    const sla_kind_t *kind;
    long long subject_id, project_id, now_ms;
    int round, nrows;
    row_t rows[SLA_STORE_MAX_CLOCKS];
    int npauses;
    long long pause_ms[SLA_MAX_PAUSES][2]; /* start, end (-1 = open) */
    int paused_now;
} subject_t;

#define MS_SQL(col) "CAST(ROUND(UNIX_TIMESTAMP(" col ") * 1000) AS SIGNED)"
#define FROM_MS "FROM_UNIXTIME(? / 1000)"

static int now_ms(db_conn_t *db, long long *out)
{
    return db_query_int(db, out, "SELECT " MS_SQL("NOW(3)"), DB_NOARGS) == 1 ? 0 : -1;
}

/* Loads (and locks) the clock rows of the subject's current round and its
 * pauses. 1 loaded, 0 no clocks, -1 error. */
static int load(db_conn_t *db, const char *kind, long long subject_id, subject_t *s)
{
    memset(s, 0, sizeof(*s));
    s->kind = sla_kind_find(kind);
    s->subject_id = subject_id;
    if (!s->kind) {
        log_error("sla", "unknown kind %s", kind ? kind : "(null)");
        return -1;
    }
    if (now_ms(db, &s->now_ms) != 0)
        return -1;
    db_rows_t *r = db_query(db,
                            "SELECT id, clock_no, round, project_id, " MS_SQL("started_at") " AS started_ms, budget_s,"
                            " mode, state, fired, breached, " MS_SQL("due_at") " AS due_ms, " MS_SQL("next_at")
                            " AS next_ms FROM sla_clocks WHERE kind = ? AND subject_id = ?"
                            " AND round = (SELECT MAX(round) FROM sla_clocks WHERE kind = ? AND subject_id = ?)"
                            " ORDER BY clock_no FOR UPDATE",
                            DB_ARGS(DB_STR(kind), DB_INT(subject_id), DB_STR(kind), DB_INT(subject_id)));
    if (!r)
        return -1;
    for (int i = 0; i < r->nrows && s->nrows < SLA_STORE_MAX_CLOCKS; i++) {
        int no = (int)db_get_int(r, i, "clock_no");
        if (no < 0 || no >= s->kind->nclocks)
            continue;
        row_t *w = &s->rows[s->nrows++];
        w->id = db_get_int(r, i, "id");
        w->clock_no = no;
        w->round = s->round = (int)db_get_int(r, i, "round");
        s->project_id = db_get_int(r, i, "project_id");
        w->started_ms = db_get_int(r, i, "started_ms");
        w->budget_s = db_get_int(r, i, "budget_s");
        w->mode = !strcmp(db_get(r, i, "mode"), "business") ? SLA_BUSINESS : SLA_NATURAL;
        w->running = !strcmp(db_get(r, i, "state"), "running");
        w->fired = (unsigned)db_get_int(r, i, "fired");
        w->breached = (int)db_get_int(r, i, "breached");
        w->due_ms = db_is_null(r, i, "due_ms") ? -1 : db_get_int(r, i, "due_ms");
        w->next_ms = db_is_null(r, i, "next_ms") ? -1 : db_get_int(r, i, "next_ms");
    }
    db_rows_free(r);
    if (s->nrows == 0)
        return 0;
    r = db_query(db,
                 "SELECT " MS_SQL("started_at") " AS start_ms, " MS_SQL("COALESCE(ended_at, planned_end_at)")
                 " AS end_ms FROM sla_pauses WHERE kind = ? AND subject_id = ? AND round = ? ORDER BY started_at, id",
                 DB_ARGS(DB_STR(kind), DB_INT(subject_id), DB_INT(s->round)));
    if (!r)
        return -1;
    for (int i = 0; i < r->nrows && s->npauses < SLA_MAX_PAUSES; i++) {
        long long a = db_get_int(r, i, "start_ms"), b = db_is_null(r, i, "end_ms") ? -1 : db_get_int(r, i, "end_ms");
        s->pause_ms[s->npauses][0] = a;
        s->pause_ms[s->npauses][1] = b;
        s->npauses++;
        if (a <= s->now_ms && (b < 0 || s->now_ms < b))
            s->paused_now = 1;
    }
    db_rows_free(r);
    return 1;
}

/* The engine works in whole seconds: each clock counts from its start's
 * second, and its answers get the start's milliseconds back, so a natural
 * clock's due time is exactly start + budget. */
typedef struct {
    sla_clock_t c;
    sla_pause_t pauses[SLA_MAX_PAUSES];
    long long frac_ms; /* engine instant t is t * 1000 + frac_ms in unix ms */
    long long now;     /* s->now_ms on the same scale, rounded down */
} engine_clock_t;

/* Unix ms on a clock's scale (floor, also before 1970's second). */
static long long on_scale(long long ms, long long frac_ms)
{
    long long d = ms - frac_ms;
    return d >= 0 ? d / 1000 : -((-d + 999) / 1000);
}

static int engine_clock(const subject_t *s, const row_t *w, const sla_calendar_t *cal, engine_clock_t *e)
{
    memset(e, 0, sizeof(*e));
    long long start = w->started_ms / 1000;
    e->frac_ms = w->started_ms % 1000;
    e->now = on_scale(s->now_ms, e->frac_ms);
    e->c.start = start;
    e->c.budget_s = w->budget_s < 0 ? 0 : w->budget_s > SLA_MAX_BUDGET_S ? SLA_MAX_BUDGET_S : w->budget_s;
    e->c.mode = w->mode;
    e->c.cal = cal;
    long long last_end = start;
    for (int i = 0; i < s->npauses; i++) {
        long long a = on_scale(s->pause_ms[i][0], e->frac_ms),
                  b = s->pause_ms[i][1] < 0 ? SLA_NEVER : on_scale(s->pause_ms[i][1], e->frac_ms);
        if (a < last_end)
            a = last_end; /* rounding to seconds must not make pauses overlap or precede the start */
        if (b != SLA_NEVER && b <= a)
            continue;
        e->pauses[e->c.npauses].start = a;
        e->pauses[e->c.npauses].end = b;
        e->c.npauses++;
        if (b == SLA_NEVER)
            break; /* only the last may be open */
        last_end = b;
    }
    e->c.pauses = e->pauses;
    const char *why;
    if (sla_clock_check(&e->c, &why) != 0) {
        log_warn("sla", "%s %lld clock %d: %s", s->kind->name, s->subject_id, w->clock_no, why);
        return -1;
    }
    return 0;
}

static long long to_ms(long long t, long long frac_ms)
{
    return t == SLA_NEVER ? -1 : t * 1000 + frac_ms;
}

/* Derives due, next and breached of every clock from the stored state and
 * `held` (per clock: steps due that the kind could not send yet, looked
 * past), and writes the rows that changed. 0 or -1. */
static int recompute(db_conn_t *db, subject_t *s, const unsigned *held)
{
    const sla_calendar_t *cal = sla_calendar_current();
    int rc = 0;
    for (int i = 0; i < s->nrows && rc == 0; i++) {
        row_t *w = &s->rows[i];
        engine_clock_t e;
        long long due = -1, next = -1;
        int breached = w->breached;
        if (engine_clock(s, w, cal, &e) == 0) {
            due = to_ms(sla_clock_at(&e.c, e.c.budget_s), e.frac_ms);
            if (w->running) {
                sla_status_t st;
                sla_next_t nx;
                if (sla_clock_status(&e.c, e.now, &st) == 0 && st.state == SLA_BREACHED)
                    breached = 1;
                const sla_ladder_t *l = &s->kind->ladders[w->clock_no];
                if (sla_ladder_next(l, &e.c, w->fired | (held ? held[i] : 0), e.now, &nx) == 0 && nx.kind == SLA_NEXT_AT)
                    next = to_ms(nx.at, e.frac_ms);
            }
        } else if (!w->running)
            due = w->due_ms;
        if (due == w->due_ms && next == w->next_ms && breached == w->breached)
            continue;
        w->due_ms = due;
        w->next_ms = next;
        w->breached = breached;
        rc = db_exec(db,
                     "UPDATE sla_clocks SET due_at = " FROM_MS ", next_at = " FROM_MS ", breached = ? WHERE id = ?",
                     DB_ARGS(due < 0 ? DB_NULL : DB_INT(due), next < 0 ? DB_NULL : DB_INT(next), DB_INT(breached),
                             DB_INT(w->id)));
    }
    sla_calendar_release(cal);
    if (rc == 0 && s->kind->mirror)
        rc = s->kind->mirror(db, s->subject_id);
    return rc;
}

int sla_store_sync(db_conn_t *db, const char *kind, long long subject_id)
{
    subject_t s;
    int rc = load(db, kind, subject_id, &s);
    return rc <= 0 ? rc : recompute(db, &s, NULL);
}

int sla_store_start_round(db_conn_t *db, const char *kind, long long subject_id, long long project_id, int round,
                          const sla_budget_t *budgets, unsigned running_mask)
{
    const sla_kind_t *k = sla_kind_find(kind);
    long long exists = 0;
    if (!k)
        return -1;
    int rc = db_query_int(db, &exists, "SELECT 1 FROM sla_clocks WHERE kind = ? AND subject_id = ? AND round >= ?"
                                       " LIMIT 1 FOR UPDATE",
                          DB_ARGS(DB_STR(kind), DB_INT(subject_id), DB_INT(round)));
    if (rc != 0)
        return rc < 0 ? -1 : 0;
    /* The earlier rounds end here, with any pause still open. */
    if (db_exec(db,
                "UPDATE sla_clocks SET state = IF(state = 'running', 'stopped', state),"
                " stopped_at = COALESCE(stopped_at, NOW(3)), next_at = NULL WHERE kind = ? AND subject_id = ?",
                DB_ARGS(DB_STR(kind), DB_INT(subject_id))) != 0 ||
        db_exec(db, "UPDATE sla_pauses SET ended_at = NOW(3) WHERE kind = ? AND subject_id = ? AND ended_at IS NULL",
                DB_ARGS(DB_STR(kind), DB_INT(subject_id))) != 0)
        return -1;
    for (int i = 0; i < k->nclocks; i++) {
        int run = (running_mask >> i) & 1;
        if (db_exec(db,
                    "INSERT INTO sla_clocks (kind, subject_id, round, clock_no, clock, project_id, started_at, budget_s,"
                    " mode, state, stopped_at) VALUES (?, ?, ?, ?, ?, ?, NOW(3), ?, ?, ?, IF(?, NULL, NOW(3)))",
                    DB_ARGS(DB_STR(kind), DB_INT(subject_id), DB_INT(round), DB_INT(i), DB_STR(k->clocks[i]),
                            DB_INT(project_id), DB_INT(budgets[i].budget_s),
                            DB_STR(budgets[i].mode == SLA_BUSINESS ? "business" : "natural"),
                            DB_STR(run ? "running" : "met"), DB_INT(run))) != 0)
            return -1;
    }
    return sla_store_sync(db, kind, subject_id);
}

int sla_store_set_running(db_conn_t *db, const char *kind, long long subject_id, unsigned running_mask)
{
    subject_t s;
    int rc = load(db, kind, subject_id, &s);
    if (rc <= 0)
        return rc;
    for (int i = 0; i < s.nrows; i++) {
        row_t *w = &s.rows[i];
        int run = (running_mask >> w->clock_no) & 1;
        if (run == w->running)
            continue;
        w->running = run;
        if (db_exec(db,
                    "UPDATE sla_clocks SET state = ?, stopped_at = IF(?, NULL, NOW(3)),"
                    " breached = breached OR (? = 0 AND due_at < NOW(3)) WHERE id = ?",
                    DB_ARGS(DB_STR(run ? "running" : "met"), DB_INT(run), DB_INT(run), DB_INT(w->id))) != 0)
            return -1;
    }
    return recompute(db, &s, NULL);
}

int sla_store_stop(db_conn_t *db, const char *kind, long long subject_id, int clock)
{
    sla_clock_info_t info[SLA_STORE_MAX_CLOCKS];
    unsigned mask = 0;
    if (sla_store_info(db, kind, subject_id, info, SLA_STORE_MAX_CLOCKS) != 0)
        return -1;
    for (int i = 0; i < SLA_STORE_MAX_CLOCKS; i++)
        if (info[i].exists && info[i].running && i != clock)
            mask |= 1u << i;
    return sla_store_set_running(db, kind, subject_id, mask);
}

int sla_store_stop_all(db_conn_t *db, const char *kind, long long subject_id)
{
    if (db_exec(db, "UPDATE sla_pauses SET ended_at = NOW(3) WHERE kind = ? AND subject_id = ? AND ended_at IS NULL"
                    " AND (planned_end_at IS NULL OR planned_end_at > NOW(3))",
                DB_ARGS(DB_STR(kind), DB_INT(subject_id))) != 0)
        return -1;
    subject_t s;
    int rc = load(db, kind, subject_id, &s);
    if (rc <= 0)
        return rc;
    if (db_exec(db,
                "UPDATE sla_clocks SET state = IF(state = 'running', 'stopped', state),"
                " stopped_at = COALESCE(stopped_at, NOW(3)) WHERE kind = ? AND subject_id = ? AND round = ?",
                DB_ARGS(DB_STR(kind), DB_INT(subject_id), DB_INT(s.round))) != 0)
        return -1;
    for (int i = 0; i < s.nrows; i++)
        s.rows[i].running = 0;
    return recompute(db, &s, NULL);
}

int sla_store_pause(db_conn_t *db, const char *kind, long long subject_id, long long planned_end_ms,
                    const char *reason, long long actor_user_id)
{
    subject_t s;
    int rc = load(db, kind, subject_id, &s), running = 0;
    if (rc <= 0)
        return rc;
    for (int i = 0; i < s.nrows; i++)
        running |= s.rows[i].running;
    if (!running || s.paused_now || s.npauses >= SLA_MAX_PAUSES)
        return 0;
    size_t reason_len = reason ? utf8_prefix_bytes(reason, strlen(reason), SLA_PAUSE_REASON_MAX) : 0;
    if (db_exec(db,
                "INSERT INTO sla_pauses (kind, subject_id, round, started_at, planned_end_at, reason, actor_user_id)"
                " VALUES (?, ?, ?, " FROM_MS ", " FROM_MS ", ?, ?)",
                DB_ARGS(DB_STR(kind), DB_INT(subject_id), DB_INT(s.round), DB_INT(s.now_ms),
                        planned_end_ms > s.now_ms ? DB_INT(planned_end_ms) : DB_NULL, reason ? DB_STRN(reason, reason_len) : DB_NULL,
                        actor_user_id ? DB_INT(actor_user_id) : DB_NULL)) != 0)
        return -1;
    s.pause_ms[s.npauses][0] = s.now_ms;
    s.pause_ms[s.npauses][1] = planned_end_ms > s.now_ms ? planned_end_ms : -1;
    s.npauses++;
    s.paused_now = 1;
    return recompute(db, &s, NULL) == 0 ? 1 : -1;
}

int sla_store_resume(db_conn_t *db, const char *kind, long long subject_id)
{
    subject_t s;
    int rc = load(db, kind, subject_id, &s);
    if (rc <= 0)
        return rc;
    if (!s.paused_now)
        return 0;
    if (db_exec(db,
                "UPDATE sla_pauses SET ended_at = " FROM_MS " WHERE kind = ? AND subject_id = ? AND round = ?"
                " AND ended_at IS NULL",
                DB_ARGS(DB_INT(s.now_ms), DB_STR(kind), DB_INT(subject_id), DB_INT(s.round))) != 0)
        return -1;
    s.pause_ms[s.npauses - 1][1] = s.now_ms;
    s.paused_now = 0;
    return recompute(db, &s, NULL) == 0 ? 1 : -1;
}

int sla_store_set_budget(db_conn_t *db, const char *kind, long long subject_id, int clock, const sla_budget_t *b)
{
    subject_t s;
    int rc = load(db, kind, subject_id, &s);
    if (rc <= 0)
        return rc;
    for (int i = 0; i < s.nrows; i++)
        if (s.rows[i].clock_no == clock) {
            s.rows[i].budget_s = b->budget_s;
            s.rows[i].mode = b->mode;
            if (db_exec(db, "UPDATE sla_clocks SET budget_s = ?, mode = ? WHERE id = ?",
                        DB_ARGS(DB_INT(b->budget_s), DB_STR(b->mode == SLA_BUSINESS ? "business" : "natural"),
                                DB_INT(s.rows[i].id))) != 0)
                return -1;
        }
    return recompute(db, &s, NULL);
}

int sla_store_info(db_conn_t *db, const char *kind, long long subject_id, sla_clock_info_t *out, int nclocks)
{
    subject_t s;
    memset(out, 0, sizeof(*out) * (size_t)nclocks);
    int rc = load(db, kind, subject_id, &s);
    if (rc <= 0)
        return rc;
    for (int i = 0; i < s.nrows; i++) {
        const row_t *w = &s.rows[i];
        if (w->clock_no >= nclocks)
            continue;
        sla_clock_info_t *o = &out[w->clock_no];
        o->exists = 1;
        o->round = w->round;
        o->running = w->running;
        o->paused = w->running && s.paused_now;
        o->breached = w->breached;
        o->started_at_ms = w->started_ms;
        o->due_at_ms = w->due_ms < 0 ? 0 : w->due_ms;
        o->next_at_ms = w->next_ms < 0 ? 0 : w->next_ms;
        o->budget_s = w->budget_s;
        o->mode = w->mode;
        o->fired = w->fired;
    }
    return 0;
}

int sla_store_paused(db_conn_t *db, const char *kind, long long subject_id, long long *planned_end_ms)
{
    subject_t s;
    int rc = load(db, kind, subject_id, &s);
    if (rc <= 0)
        return rc;
    if (planned_end_ms)
        *planned_end_ms = s.paused_now ? (s.pause_ms[s.npauses - 1][1] < 0 ? 0 : s.pause_ms[s.npauses - 1][1]) : 0;
    return s.paused_now;
}

/* ---- the sweep ---- */

/* One subject, in its own transaction: steps fired, or -1. */
static int sweep_subject(db_conn_t *db, const sla_kind_t *k, long long subject_id)
{
    subject_t s;
    unsigned held[SLA_STORE_MAX_CLOCKS] = {0};
    int fired = 0;
    if (db_begin(db) != 0)
        return -1;
    int rc = k->lock(db, subject_id);
    if (rc == 0) {
        /* Gone, or past clocks: nothing will fire for it again. */
        if (db_exec(db, "UPDATE sla_clocks SET next_at = NULL WHERE kind = ? AND subject_id = ?",
                    DB_ARGS(DB_STR(k->name), DB_INT(subject_id))) != 0)
            goto Error;
        return db_commit(db) == 0 ? 0 : -1;
    }
    if (rc < 0 || (rc = load(db, k->name, subject_id, &s)) < 0)
        goto Error;
    const sla_calendar_t *cal = sla_calendar_current();
    for (int i = 0; rc > 0 && i < s.nrows; i++) {
        row_t *w = &s.rows[i];
        engine_clock_t e;
        unsigned due = 0;
        const sla_ladder_t *l = &k->ladders[w->clock_no];
        if (!w->running || engine_clock(&s, w, cal, &e) != 0 || sla_ladder_due(l, &e.c, w->fired, e.now, &due) != 0 ||
            !due)
            continue;
        long long due_at = to_ms(sla_clock_at(&e.c, e.c.budget_s), e.frac_ms);
        unsigned newly = 0;
        for (int j = 0; j < l->nsteps; j++) {
            const sla_step_t *st = &l->steps[j];
            if (!(due & SLA_STEP_BIT(st->id)))
                continue;
            sla_fire_t f = {.kind = k->name,
                            .subject_id = subject_id,
                            .project_id = s.project_id,
                            .clock = w->clock_no,
                            .clock_name = k->clocks[w->clock_no],
                            .round = w->round,
                            .step = st,
                            .started_at_ms = w->started_ms,
                            .due_at_ms = due_at,
                            .now_ms = s.now_ms};
            int fr = k->fire(db, &f);
            if (fr < 0) {
                sla_calendar_release(cal);
                goto Error;
            }
            if (fr == SLA_FIRE_DONE) {
                newly |= SLA_STEP_BIT(st->id);
                fired++;
            } else
                held[i] |= SLA_STEP_BIT(st->id);
        }
        if (newly) {
            w->fired |= newly;
            if (db_exec(db, "UPDATE sla_clocks SET fired = fired | ? WHERE id = ?",
                        DB_ARGS(DB_INT(newly), DB_INT(w->id))) != 0) {
                sla_calendar_release(cal);
                goto Error;
            }
        }
    }
    sla_calendar_release(cal);
    if (rc > 0) {
        /* The stored next_at has passed: make sure it moves even when
         * nothing was due (a row written before a pause or a calendar
         * change), else the same row would come back every tick. */
        for (int i = 0; i < s.nrows; i++)
            s.rows[i].next_ms = -2;
        if (recompute(db, &s, held) != 0)
            goto Error;
    }
    if (db_commit(db) != 0)
        goto Error;
    return fired;
Error:
    log_warn("sla", "%s %lld: sweep failed: %s", k->name, subject_id, db_error(db));
    db_rollback(db);
    return -1;
}

int sla_store_sweep(db_conn_t *db, int limit)
{
    db_rows_t *r = db_query(db,
                            "SELECT kind, subject_id, MIN(next_at) AS first FROM sla_clocks WHERE next_at <= NOW(3)"
                            " GROUP BY kind, subject_id ORDER BY first LIMIT ?",
                            DB_ARGS(DB_INT(limit)));
    if (!r)
        return -1;
    int total = 0;
    for (int i = 0; i < r->nrows; i++) {
        const sla_kind_t *k = sla_kind_find(db_get(r, i, "kind"));
        if (!k)
            continue; /* a kind this gateway does not know (a newer one's) */
        int n = sweep_subject(db, k, db_get_int(r, i, "subject_id"));
        if (n > 0)
            total += n;
    }
    db_rows_free(r);
    return total;
}
