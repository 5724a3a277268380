#include "domain/surveys/survey_store.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "domain/service/contact_limit.h"
#include "gateway/db_json.h"
#include "gateway/events.h"
#include "gateway/metrics.h"
#include "gateway/roles.h"
#include "gateway/utf8.h"

/* True when user ? is an admin or holds one of the roles in the project of
 * `project_col`; the roles are a SQL list of quoted names. Two parameters,
 * both the user id. */
#define SURVEY_ROLE_IN(project_col, roles)                                                                             \
    "(EXISTS (SELECT 1 FROM staff_roles sr WHERE sr.user_id = ? AND sr.role = 'admin' AND sr.project_id = 0)"          \
    " OR " project_col " IN (SELECT sr.project_id FROM staff_roles sr WHERE sr.user_id = ? AND sr.role IN (" roles     \
    ")))"
#define SURVEY_READS(project_col) SURVEY_ROLE_IN(project_col, "'supervisor', 'service'")

/* ---- access ---- */

int survey_access_or_fail(gw_call_t *c, db_conn_t *db, long long id, int manage, int lock, survey_ref_t *out)
{
    db_rows_t *r = db_query(db,
                            lock ? "SELECT id, project_id, state FROM surveys WHERE id = ? FOR UPDATE"
                                 : "SELECT id, project_id, state FROM surveys WHERE id = ?",
                            DB_ARGS(DB_INT(id)));
    if (!r) {
        call_fail_db(c);
        return -1;
    }
    int found = r->nrows == 1;
    if (found) {
        out->id = id;
        out->project_id = db_get_int(r, 0, "project_id");
        utf8_copy(out->state, sizeof out->state, db_get(r, 0, "state"));
    }
    db_rows_free(r);
    long long allowed = 0;
    if (found) {
        int rc = db_query_int(db, &allowed,
                              manage ? "SELECT " SURVEY_ROLE_IN("?", "'supervisor'") : "SELECT " SURVEY_READS("?"),
                              DB_ARGS(DB_INT(c->user.id), DB_INT(out->project_id), DB_INT(c->user.id)));
        if (rc < 0) {
            call_fail_db(c);
            return -1;
        }
    }
    if (!found || !allowed) {
        call_fail(c, ERR_NOT_FOUND, NULL, "survey %lld not found", id);
        return -1;
    }
    return 0;
}

/* ---- rendering ---- */

#define SURVEY_SELECT                                                                                                  \
    "SELECT s.id, s.project_id, p.name AS project_name, s.title, s.intro, s.phase, s.state,"                           \
    " s.sample_percent, s.sample_count, FLOOR(UNIX_TIMESTAMP(s.deadline_at)) AS deadline_at,"                          \
    " FLOOR(UNIX_TIMESTAMP(s.created_at)) AS created_at, FLOOR(UNIX_TIMESTAMP(s.sent_at)) AS sent_at,"                 \
    " FLOOR(UNIX_TIMESTAMP(s.closed_at)) AS closed_at"

#define SURVEY_COUNTS                                                                                                  \
    ", (SELECT COUNT(*) FROM survey_questions q WHERE q.survey_id = s.id) AS question_count,"                          \
    " (SELECT COUNT(*) FROM survey_recipients r WHERE r.survey_id = s.id AND r.status = 'sent') AS recipients,"        \
    " (SELECT COUNT(*) FROM survey_recipients r WHERE r.survey_id = s.id AND r.status = 'skipped') AS skipped,"        \
    " (SELECT COUNT(*) FROM survey_recipients r WHERE r.survey_id = s.id AND r.answered_at IS NOT NULL) AS responses"

static void add_phase_label(cJSON *o)
{
    const cJSON *phase = cJSON_GetObjectItemCaseSensitive(o, "phase");
    const char *label = cJSON_IsString(phase) ? survey_phase_label(phase->valuestring) : NULL;
    cJSON_AddStringToObject(o, "phase_label", label ? label : "");
}

static cJSON *questions_json(db_conn_t *db, long long id)
{
    db_rows_t *r = db_query(db,
                            "SELECT id, position, dimension, kind, required, text, options FROM survey_questions"
                            " WHERE survey_id = ? ORDER BY position",
                            DB_ARGS(DB_INT(id)));
    if (!r)
        return NULL;
    cJSON *a = cJSON_CreateArray();
    for (int i = 0; a && i < r->nrows; i++) {
        cJSON *q = db_row_json(r, i);
        if (!q) {
            cJSON_Delete(a);
            a = NULL;
            break;
        }
        const char *dim = db_get(r, i, "dimension"), *label = survey_dimension_label(dim);
        cJSON_AddStringToObject(q, "dimension_label", label ? label : dim);
        cJSON_ReplaceItemInObject(q, "required", cJSON_CreateBool(db_get_int(r, i, "required") != 0));
        cJSON *opts = db_is_null(r, i, "options") ? cJSON_CreateNull() : cJSON_Parse(db_get(r, i, "options"));
        cJSON_ReplaceItemInObject(q, "options", opts ? opts : cJSON_CreateNull());
        cJSON_AddItemToArray(a, q);
    }
    db_rows_free(r);
    return a;
}

cJSON *survey_json(db_conn_t *db, long long id, int with_questions, int with_counts)
{
    db_rows_t *r =
        db_query(db,
                 with_counts ? SURVEY_SELECT SURVEY_COUNTS
                     " FROM surveys s JOIN projects p ON p.id = s.project_id WHERE s.id = ?"
                             : SURVEY_SELECT " FROM surveys s JOIN projects p ON p.id = s.project_id WHERE s.id = ?",
                 DB_ARGS(DB_INT(id)));
    if (!r)
        return NULL;
    cJSON *o = r->nrows == 1 ? db_row_json(r, 0) : NULL;
    db_rows_free(r);
    if (!o)
        return NULL;
    add_phase_label(o);
    if (with_questions) {
        cJSON *q = questions_json(db, id);
        if (!q) {
            cJSON_Delete(o);
            return NULL;
        }
        cJSON_AddItemToObject(o, "questions", q);
    }
    return o;
}

int survey_questions_store(db_conn_t *db, long long survey_id, const cJSON *questions)
{
    const cJSON *q;
    int pos = 0;
    if (db_exec(db, "DELETE FROM survey_questions WHERE survey_id = ?", DB_ARGS(DB_INT(survey_id))) != 0)
        return -1;
    cJSON_ArrayForEach(q, questions)
    {
        const cJSON *req = cJSON_GetObjectItemCaseSensitive(q, "required");
        const cJSON *opts = cJSON_GetObjectItemCaseSensitive(q, "options");
        char *opts_text = cJSON_IsArray(opts) ? cJSON_PrintUnformatted(opts) : NULL;
        if (cJSON_IsArray(opts) && !opts_text)
            return -1;
        int rc = db_exec(db,
                         "INSERT INTO survey_questions (survey_id, position, dimension, kind, required, text, options)"
                         " VALUES (?, ?, ?, ?, ?, ?, ?)",
                         DB_ARGS(DB_INT(survey_id), DB_INT(++pos),
                                 DB_STR(cJSON_GetObjectItemCaseSensitive(q, "dimension")->valuestring),
                                 DB_STR(cJSON_GetObjectItemCaseSensitive(q, "kind")->valuestring),
                                 DB_INT(req ? cJSON_IsTrue(req) : 1),
                                 DB_STR(cJSON_GetObjectItemCaseSensitive(q, "text")->valuestring), DB_STR(opts_text)));
        free(opts_text);
        if (rc != 0)
            return -1;
    }
    return 0;
}

/* ---- recipients ---- */

int survey_candidates(db_conn_t *db, long long project, survey_phase_t phase, unsigned long long seed,
                      const char *today, survey_candidate_t **out)
{
    char seedtext[24];
    snprintf(seedtext, sizeof seedtext, "%llu", seed);
    *out = NULL;
    /* An owner's earliest unit handed over by today (NULL: none yet); a
     * signed buyer without a unit has none either. */
    db_rows_t *r = db_query(
        db,
        "SELECT x.user_id, DATE_FORMAT(MIN(x.handover), '%Y-%m-%d') AS handover FROM ("
        " SELECT o.user_id, IF(un.handover_date <= ?, un.handover_date, NULL) AS handover"
        " FROM owners o JOIN units un ON un.id = o.unit_id JOIN buildings b ON b.id = un.building_id"
        " WHERE b.project_id = ? AND o.user_id IS NOT NULL"
        " UNION ALL"
        " SELECT l.user_id, NULL FROM leads l WHERE l.project_id = ? AND l.stage = 'signed' AND l.user_id IS NOT NULL"
        ") x JOIN users u ON u.id = x.user_id AND u.disabled = 0"
        " GROUP BY x.user_id ORDER BY SHA2(CONCAT(?, ':', x.user_id), 256), x.user_id",
        DB_ARGS(DB_STR(today), DB_INT(project), DB_INT(project), DB_STR(seedtext)));
    if (!r)
        return -1;
    int n = 0;
    if (r->nrows > 0 && !(*out = calloc((size_t)r->nrows, sizeof **out))) {
        db_rows_free(r);
        return -1;
    }
    for (int i = 0; i < r->nrows; i++) {
        survey_phase_t p = survey_phase_on(db_is_null(r, i, "handover") ? NULL : db_get(r, i, "handover"), today);
        if (p == SURVEY_PHASE_INVALID || (phase != SURVEY_PHASE_ALL && p != phase))
            continue;
        (*out)[n].user_id = db_get_int(r, i, "user_id");
        (*out)[n++].phase = p;
    }
    db_rows_free(r);
    return n;
}

long long survey_sample_size(long long total, int percent, long long count)
{
    if (percent > 0)
        return (total * percent + 99) / 100;
    if (count > 0)
        return count < total ? count : total;
    return total;
}

int survey_send_batch(db_conn_t *db, long long survey_id, long long project, const survey_candidate_t *cands, int n,
                      const cJSON *invite, int *sent, int *skipped)
{
    int batch_sent = 0, batch_skipped = 0;
    db_rows_t *r = NULL;
    if (db_begin(db) != 0)
        return -1;
    /* The survey's row orders two sends of one survey: batches never interleave. */
    r = db_query(db, "SELECT state FROM surveys WHERE id = ? FOR UPDATE", DB_ARGS(DB_INT(survey_id)));
    if (!r)
        goto Fail;
    if (r->nrows != 1 || strcmp(db_get(r, 0, "state"), "sending") != 0) {
        db_rows_free(r);
        db_rollback(db);
        return 1;
    }
    db_rows_free(r);
    for (int i = 0; i < n; i++) {
        long long one;
        int rc = db_query_int(db, &one, "SELECT 1 FROM survey_recipients WHERE survey_id = ? AND user_id = ?",
                              DB_ARGS(DB_INT(survey_id), DB_INT(cands[i].user_id)));
        if (rc < 0)
            goto Fail;
        if (rc == 1)
            continue; /* recorded by an earlier run of this batch */
        int claimed = owner_contact_claim(db, cands[i].user_id, project, "survey", survey_id);
        if (claimed < 0)
            goto Fail;
        if (db_exec(db,
                    "INSERT INTO survey_recipients (survey_id, user_id, status, skip_reason, phase)"
                    " VALUES (?, ?, ?, ?, ?)",
                    DB_ARGS(DB_INT(survey_id), DB_INT(cands[i].user_id), DB_STR(claimed ? "sent" : "skipped"),
                            DB_STR(claimed ? NULL : "contacted_recently"),
                            DB_STR(survey_phase_name(cands[i].phase)))) != 0)
            goto Fail;
        if (claimed) {
            if (events_emit_project(db, "survey.invite", cands[i].user_id, "survey", survey_id, project, invite) != 0)
                goto Fail;
            batch_sent++;
        } else {
            batch_skipped++;
        }
    }
    if (db_commit(db) != 0)
        goto Fail;
    *sent += batch_sent;
    *skipped += batch_skipped;
    metrics_survey_recipients(batch_sent, batch_skipped);
    return 0;
Fail:
    db_rollback(db);
    return -1;
}

/* ---- results ---- */

/* A number db_row_json rendered: a wide integer is a raw JSON number. */
static long long survey_json_int(const cJSON *v)
{
    if (cJSON_IsNumber(v))
        return (long long)v->valuedouble;
    return cJSON_IsRaw(v) && v->valuestring ? strtoll(v->valuestring, NULL, 10) : 0;
}

static double ratio(long long part, long long whole)
{
    return whole > 0 ? round((double)part * 10000.0 / (double)whole) / 10000.0 : 0;
}

static double mean(long long sum, long long n)
{
    return n > 0 ? round((double)sum * 100.0 / (double)n) / 100.0 : 0;
}

/* Counts of one question's whole-number answers, by value 0..10. */
typedef struct {
    long long id;
    long long counts[11];
    long long texts;
} qcount_t;

static qcount_t *qcount_find(qcount_t *qc, int n, long long id)
{
    for (int i = 0; i < n; i++)
        if (qc[i].id == id)
            return &qc[i];
    return NULL;
}

static cJSON *distribution(const long long *counts, int lo, int hi, const cJSON *labels)
{
    cJSON *a = cJSON_CreateArray();
    for (int v = lo; a && v <= hi; v++) {
        cJSON *d = cJSON_CreateObject();
        cJSON_AddNumberToObject(d, "value", v);
        if (labels) {
            const cJSON *l = cJSON_GetArrayItem(labels, v);
            cJSON_AddStringToObject(d, "label", cJSON_IsString(l) ? l->valuestring : "");
        }
        cJSON_AddNumberToObject(d, "count", (double)counts[v]);
        cJSON_AddItemToArray(a, d);
    }
    return a;
}

static void add_nps(cJSON *o, const long long *counts, long long expected)
{
    long long pro = counts[9] + counts[10], det = 0, pas = counts[7] + counts[8];
    for (int v = 0; v <= 6; v++)
        det += counts[v];
    long long n = pro + pas + det;
    cJSON_AddNumberToObject(o, "answers", (double)n);
    cJSON_AddNumberToObject(o, "non_response", (double)(expected - n));
    cJSON_AddNumberToObject(o, "response_rate", ratio(n, expected));
    cJSON_AddNumberToObject(o, "promoters", (double)pro);
    cJSON_AddNumberToObject(o, "passives", (double)pas);
    cJSON_AddNumberToObject(o, "detractors", (double)det);
    cJSON_AddNumberToObject(o, "nps", survey_nps(pro, pas, det));
}

cJSON *survey_results_json(db_conn_t *db, long long survey_id)
{
    cJSON *out = NULL, *questions = NULL, *dims = NULL;
    db_rows_t *agg = NULL;
    qcount_t *qc = NULL;
    int nq = 0;
    long long recipients, responses, skipped;

    cJSON *survey = survey_json(db, survey_id, 1, 1);
    if (!survey)
        goto Exit;
    agg = db_query(
        db,
        "SELECT COALESCE(SUM(status = 'sent'), 0) AS recipients, COALESCE(SUM(status = 'skipped'), 0) AS skipped,"
        " COALESCE(SUM(answered_at IS NOT NULL), 0) AS responses FROM survey_recipients WHERE survey_id = ?",
        DB_ARGS(DB_INT(survey_id)));
    if (!agg)
        goto Exit;
    recipients = db_get_int(agg, 0, "recipients");
    skipped = db_get_int(agg, 0, "skipped");
    responses = db_get_int(agg, 0, "responses");
    db_rows_free(agg);
    agg = NULL;
    questions = cJSON_DetachItemFromObjectCaseSensitive(survey, "questions");
    nq = cJSON_GetArraySize(questions);
    if (nq > 0 && !(qc = calloc((size_t)nq, sizeof *qc)))
        goto Exit;
    for (int i = 0; i < nq; i++)
        qc[i].id = survey_json_int(cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(questions, i), "id"));
    agg = db_query(db,
                   "SELECT question_id, value_int, value_text IS NOT NULL AS is_text, COUNT(*) AS n FROM survey_answers"
                   " WHERE survey_id = ? GROUP BY question_id, value_int, value_text IS NOT NULL",
                   DB_ARGS(DB_INT(survey_id)));
    if (!agg)
        goto Exit;
    for (int i = 0; i < agg->nrows; i++) {
        qcount_t *q = qcount_find(qc, nq, db_get_int(agg, i, "question_id"));
        long long v = db_get_int(agg, i, "value_int");
        if (!q)
            continue;
        if (db_get_int(agg, i, "is_text"))
            q->texts += db_get_int(agg, i, "n");
        else if (!db_is_null(agg, i, "value_int") && v >= 0 && v <= 10)
            q->counts[v] += db_get_int(agg, i, "n");
    }

    /* Each question: its answers beside the recipients who gave none. */
    long long dim_counts[16][11] = {{0}}, dim_questions[16] = {0}, nps_counts[11] = {0}, nps_questions = 0;
    for (int i = 0; i < nq; i++) {
        cJSON *q = cJSON_GetArrayItem(questions, i);
        const char *kind = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(q, "kind"));
        const char *dim = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(q, "dimension"));
        long long n = qc[i].texts, sum = 0;
        int lo = 0, hi = -1;
        if (strcmp(kind, "scale") == 0)
            lo = 1, hi = 5;
        else if (strcmp(kind, "nps") == 0)
            lo = 0, hi = 10;
        else if (strcmp(kind, "choice") == 0)
            lo = 0, hi = cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(q, "options")) - 1;
        for (int v = lo; v <= hi && v <= 10; v++) {
            n += qc[i].counts[v];
            sum += v * qc[i].counts[v];
        }
        cJSON_DeleteItemFromObjectCaseSensitive(q, "required");
        if (strcmp(kind, "nps") == 0) {
            add_nps(q, qc[i].counts, recipients);
            for (int v = 0; v <= 10; v++)
                nps_counts[v] += qc[i].counts[v];
            nps_questions++;
        } else {
            cJSON_AddNumberToObject(q, "answers", (double)n);
            cJSON_AddNumberToObject(q, "non_response", (double)(recipients - n));
            cJSON_AddNumberToObject(q, "response_rate", ratio(n, recipients));
        }
        if (hi >= lo) {
            if (strcmp(kind, "choice") != 0)
                cJSON_AddNumberToObject(q, "average", mean(sum, n));
            cJSON_AddItemToObject(
                q, "distribution",
                distribution(qc[i].counts, lo, hi,
                             strcmp(kind, "choice") == 0 ? cJSON_GetObjectItemCaseSensitive(q, "options") : NULL));
        }
        if (strcmp(kind, "scale") == 0) {
            for (int d = 0; SURVEY_DIMENSION_NAMES[d] && d < 16; d++) {
                if (strcmp(SURVEY_DIMENSION_NAMES[d], dim) != 0)
                    continue;
                dim_questions[d]++;
                for (int v = 1; v <= 5; v++)
                    dim_counts[d][v] += qc[i].counts[v];
            }
        }
    }

    /* Each dimension: its scale questions' answers pooled. */
    if (!(dims = cJSON_CreateArray()))
        goto Exit;
    for (int d = 0; SURVEY_DIMENSION_NAMES[d] && d < 16; d++) {
        if (!dim_questions[d])
            continue;
        long long n = 0, sum = 0, expected = recipients * dim_questions[d];
        for (int v = 1; v <= 5; v++) {
            n += dim_counts[d][v];
            sum += v * dim_counts[d][v];
        }
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "dimension", SURVEY_DIMENSION_NAMES[d]);
        cJSON_AddStringToObject(o, "label", survey_dimension_label(SURVEY_DIMENSION_NAMES[d]));
        cJSON_AddNumberToObject(o, "questions", (double)dim_questions[d]);
        cJSON_AddNumberToObject(o, "answers", (double)n);
        cJSON_AddNumberToObject(o, "non_response", (double)(expected - n));
        cJSON_AddNumberToObject(o, "response_rate", ratio(n, expected));
        cJSON_AddNumberToObject(o, "average", mean(sum, n));
        cJSON_AddItemToObject(o, "distribution", distribution(dim_counts[d], 1, 5, NULL));
        cJSON_AddItemToArray(dims, o);
    }

    out = cJSON_CreateObject();
    if (!out)
        goto Exit;
    cJSON_AddItemToObject(out, "survey", survey);
    survey = NULL;
    cJSON_AddNumberToObject(out, "recipients", (double)recipients);
    cJSON_AddNumberToObject(out, "skipped", (double)skipped);
    cJSON_AddNumberToObject(out, "responses", (double)responses);
    cJSON_AddNumberToObject(out, "non_response", (double)(recipients - responses));
    cJSON_AddNumberToObject(out, "response_rate", ratio(responses, recipients));
    cJSON_AddItemToObject(out, "dimensions", dims);
    dims = NULL;
    if (nps_questions) {
        cJSON *nps = cJSON_CreateObject();
        cJSON_AddNumberToObject(nps, "questions", (double)nps_questions);
        add_nps(nps, nps_counts, recipients * nps_questions);
        cJSON_AddItemToObject(out, "nps", nps);
    } else {
        cJSON_AddNullToObject(out, "nps");
    }
    cJSON_AddItemToObject(out, "questions", questions);
    questions = NULL;
Exit:
    cJSON_Delete(survey);
    cJSON_Delete(questions);
    cJSON_Delete(dims);
    db_rows_free(agg);
    free(qc);
    return out;
}

/* ---- the admin list ---- */

typedef struct {
    long long project;
    const char *state, *phase;
} survey_filter_t;

#define SQL_SURVEYS                                                                                                    \
    SURVEY_SELECT SURVEY_COUNTS                                                                                        \
        " FROM surveys s JOIN projects p ON p.id = s.project_id"                                                       \
        " WHERE " SURVEY_READS("s.project_id") " AND (? = 0 OR s.project_id = ?)"                                      \
                                               " AND (? IS NULL OR s.state = ?) AND (? IS NULL OR s.phase = ?)"        \
                                               " AND s.id < ? ORDER BY s.id DESC LIMIT ?"

static int survey_filter_or_fail(gw_call_t *c, db_conn_t *db, void *filter)
{
    (void)db; /* the statement applies the scope; survey_scope_or_fail tells a refusal */
    survey_filter_t *f = filter;
    return query_id_or_fail(c, "project", &f->project) != 0 ||
                   query_enum_or_fail(c, "state", SURVEY_STATE_NAMES, NULL, &f->state) != 0 ||
                   query_enum_or_fail(c, "phase", SURVEY_PHASE_NAMES, NULL, &f->phase) != 0
               ? -1
               : 0;
}

static int survey_scope_or_fail(gw_call_t *c, db_conn_t *db, const void *filter)
{
    const survey_filter_t *f = filter;
    long long ok = 0;
    if (!f->project)
        return 0;
    if (db_query_int(db, &ok, "SELECT " SURVEY_READS("?"),
                     DB_ARGS(DB_INT(c->user.id), DB_INT(f->project), DB_INT(c->user.id))) < 0) {
        call_fail_db(c);
        return -1;
    }
    if (!ok) {
        call_fail(c, ERR_FORBIDDEN, "project", "you do not supervise or serve project %lld", f->project);
        return -1;
    }
    return 0;
}

static db_rows_t *survey_rows(db_conn_t *db, const gw_call_t *c, const void *filter, long long before, int limit,
                              int count)
{
    const survey_filter_t *f = filter;
    return db_query(db, count ? LIST_COUNT_SQL(SQL_SURVEYS) : SQL_SURVEYS,
                    DB_ARGS(DB_INT(c->user.id), DB_INT(c->user.id), DB_INT(f->project), DB_INT(f->project),
                            DB_STR(f->state), DB_STR(f->state), DB_STR(f->phase), DB_STR(f->phase), DB_INT(before),
                            DB_INT(limit)));
}

static cJSON *survey_render(const db_rows_t *r, int row, void *ud)
{
    (void)ud;
    cJSON *o = db_row_json(r, row);
    if (o)
        add_phase_label(o);
    return o;
}

const list_def_t survey_admin_list = {
    .filter_size = sizeof(survey_filter_t),
    .filter_or_fail = survey_filter_or_fail,
    .rows = survey_rows,
    .render = survey_render,
    .scope_or_fail = survey_scope_or_fail,
};
