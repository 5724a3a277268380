/* surveys_admin.c: owner surveys (问卷) for staff.
 *
 *   GET   /api/v1/admin/surveys?project=&state=&phase=&cursor=&limit=
 *   POST  /api/v1/admin/surveys                {project_id, title, intro?, phase?, questions?}
 *   GET   /api/v1/admin/surveys/:id
 *   PATCH /api/v1/admin/surveys/:id            {title?, intro?, phase?, questions?}   (drafts only)
 *   POST  /api/v1/admin/surveys/:id/send       {sample_percent? | sample_count?, seed?, open_days?}
 *   POST  /api/v1/admin/surveys/:id/close
 *   GET   /api/v1/admin/surveys/:id/results
 *   GET   /api/v1/admin/surveys/:id/texts?question=&cursor=&limit=
 *
 * A project's supervisors and admins write; the project's service-desk
 * staff (客服) read the list, a survey and its results as well, since they
 * call owners back about them; a survey of a project the caller may not
 * see is answered 404 (domain/surveys/survey_store.h).
 *
 * Sending chooses the owners of the project in the survey's phase on
 * today's Asia/Shanghai date, all or a sample taken in the order of a seed
 * (stored at the first send; the body may name it so a sample can be
 * reproduced), and asks them batch by batch, each batch one transaction
 * (survey_send_batch: recorded, contact claimed, invitation in the
 * outbox). A send that stopped part-way (a crash, the request's deadline:
 * 202 with state "sending") is finished by sending again, with the same
 * sample and seed; nobody is asked twice or lost. Every change (create,
 * update, send, close) commits with its audit row. */
#include <openssl/rand.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "domain/leads/lead_access.h"
#include "domain/surveys/survey_store.h"
#include "gateway/audit.h"
#include "gateway/call.h"
#include "gateway/config.h"
#include "gateway/db_json.h"
#include "gateway/json_util.h"
#include "gateway/query.h"
#include "gateway/roles.h"
#include "handlers/handlers.h"

#define MANAGE (ROLE_SUPERVISOR | ROLE_ADMIN)
#define READ (ROLE_SUPERVISOR | ROLE_ADMIN | ROLE_SERVICE)

/* ---- the body of a create or an edit, checked on the loop ---- */

typedef struct {
    long long project_id;
    char title[SURVEY_TITLE_MAX * 4 + 1]; /* "": not given */
    const char *intro;                    /* points into c->body */
    int intro_present;
    const char *phase;      /* static name, NULL: not given */
    const cJSON *questions; /* c->body's, NULL: not given */
} survey_form_t;

static int check_fields_or_fail(gw_call_t *c, survey_form_t *f, int create)
{
    int present;
    if (json_trimmed_or_fail(c, c->body, "title", create, 1, SURVEY_TITLE_MAX, f->title, sizeof f->title, &present) !=
            0 ||
        json_text_or_fail(c, c->body, "intro", 0, 1, SURVEY_INTRO_MAX, &f->intro, &f->intro_present) != 0)
        return -1;
    if (cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(c->body, "intro")))
        f->intro_present = 1; /* null clears it */
    const cJSON *phase = cJSON_GetObjectItemCaseSensitive(c->body, "phase");
    if (phase && !cJSON_IsNull(phase)) {
        survey_phase_t p = cJSON_IsString(phase) ? survey_phase_from_name(phase->valuestring) : SURVEY_PHASE_INVALID;
        if (p == SURVEY_PHASE_INVALID) {
            call_fail(c, ERR_INVALID_FIELD, "phase", "phase must be one of all, prospective, run_in, stable, veteran");
            return -1;
        }
        f->phase = survey_phase_name(p);
    } else if (phase) {
        call_fail(c, ERR_INVALID_FIELD, "phase", "phase cannot be null");
        return -1;
    }
    const cJSON *q = cJSON_GetObjectItemCaseSensitive(c->body, "questions");
    if (q) {
        char field[64], msg[256];
        if (survey_questions_check(q, field, sizeof field, msg, sizeof msg) != 0) {
            call_fail(c, ERR_INVALID_FIELD, field, "%s", msg);
            return -1;
        }
        f->questions = q;
    }
    return 0;
}

static void check_create(gw_call_t *c)
{
    static const char *const known[] = {"project_id", "title", "intro", "phase", "questions", NULL};
    survey_form_t *f = call_state_new_or_fail(c, 1, sizeof(*f), free);
    if (!f || json_known_fields_or_fail(c, c->body, known) != 0 ||
        json_int_or_fail(c, c->body, "project_id", 1, 1LL << 53, &f->project_id) != 0)
        return;
    check_fields_or_fail(c, f, 1);
}

static void check_update(gw_call_t *c)
{
    static const char *const known[] = {"title", "intro", "phase", "questions", NULL};
    survey_form_t *f = call_state_new_or_fail(c, 1, sizeof(*f), free);
    if (!f || json_known_fields_or_fail(c, c->body, known) != 0 || check_fields_or_fail(c, f, 0) != 0)
        return;
    if (!*f->title && !f->intro_present && !f->phase && !f->questions)
        call_fail(c, ERR_MISSING_FIELD, "title", "nothing to change: give title, intro, phase or questions");
}

/* ---- routes ---- */

static void list_surveys(gw_call_t *c, db_conn_t *db)
{
    list_respond(c, db, &survey_admin_list);
}

/* Ends a change made in the open transaction: the audit row (the survey
 * with its questions before and after), the commit, the answer. */
static void finish(gw_call_t *c, db_conn_t *db, int status, const char *action, const survey_ref_t *s, cJSON *before,
                   const cJSON *extra)
{
    cJSON *after = survey_json(db, s->id, 1, 0);
    if (!after || audit_change(db, c->user.id, action, "survey", s->id, s->project_id, before, after, extra) != 0 ||
        db_commit(db) != 0) {
        cJSON_Delete(before);
        cJSON_Delete(after);
        call_fail_db(c);
        return;
    }
    cJSON_Delete(before);
    cJSON_Delete(after);
    cJSON *shown = survey_json(db, s->id, 1, 1);
    if (!shown) {
        call_fail_db(c);
        return;
    }
    call_ok(c, status, shown);
}

static void create_survey(gw_call_t *c, db_conn_t *db)
{
    const survey_form_t *f = c->state;
    if (lead_manages_project_or_fail(c, db, f->project_id, "project_id") != 0)
        return;
    if (db_begin(db) != 0 ||
        db_exec(db, "INSERT INTO surveys (project_id, title, intro, phase, created_by) VALUES (?, ?, ?, ?, ?)",
                DB_ARGS(DB_INT(f->project_id), DB_STR(f->title), DB_STR(f->intro), DB_STR(f->phase ? f->phase : "all"),
                        DB_INT(c->user.id))) != 0) {
        call_fail_db(c);
        return;
    }
    survey_ref_t s = {.id = (long long)db_insert_id(db), .project_id = f->project_id};
    if (f->questions && survey_questions_store(db, s.id, f->questions) != 0) {
        call_fail_db(c);
        return;
    }
    finish(c, db, 201, "survey.create", &s, NULL, NULL);
}

static void show_survey(gw_call_t *c, db_conn_t *db)
{
    survey_ref_t s;
    long long id;
    if (call_param_id_or_fail(c, "id", &id) != 0 || survey_access_or_fail(c, db, id, 0, 0, &s) != 0)
        return;
    cJSON *o = survey_json(db, id, 1, 1);
    if (!o) {
        call_fail_db(c);
        return;
    }
    call_ok(c, 200, o);
}

static void update_survey(gw_call_t *c, db_conn_t *db)
{
    const survey_form_t *f = c->state;
    survey_ref_t s;
    long long id;
    if (call_param_id_or_fail(c, "id", &id) != 0)
        return;
    if (db_begin(db) != 0) {
        call_fail_db(c);
        return;
    }
    if (survey_access_or_fail(c, db, id, 1, 1, &s) != 0)
        return;
    if (strcmp(s.state, "draft") != 0) {
        call_fail(c, ERR_CONFLICT, NULL, "survey %lld was sent: its questions are frozen", id);
        return;
    }
    cJSON *before = survey_json(db, id, 1, 0);
    if (!before ||
        db_exec(db,
                "UPDATE surveys SET title = COALESCE(?, title), intro = IF(? = 1, ?, intro), phase = COALESCE(?, phase)"
                " WHERE id = ?",
                DB_ARGS(DB_STR(*f->title ? f->title : NULL), DB_INT(f->intro_present), DB_STR(f->intro),
                        DB_STR(f->phase), DB_INT(id))) != 0 ||
        (f->questions && survey_questions_store(db, id, f->questions) != 0)) {
        cJSON_Delete(before);
        call_fail_db(c);
        return;
    }
    finish(c, db, 200, "survey.update", &s, before, NULL);
}

/* ---- sending ---- */

typedef struct {
    long long percent, count, seed, open_days;
    int seed_given;
} send_form_t;

static void check_send(gw_call_t *c)
{
    static const char *const known[] = {"sample_percent", "sample_count", "seed", "open_days", NULL};
    int present;
    send_form_t *f = call_state_new_or_fail(c, 1, sizeof(*f), free);
    if (!f || json_known_fields_or_fail(c, c->body, known) != 0 ||
        json_opt_int_or_fail(c, c->body, "sample_percent", 1, 100, &f->percent, &present) != 0 ||
        json_opt_int_or_fail(c, c->body, "sample_count", 1, 1000000, &f->count, &present) != 0 ||
        json_opt_int_or_fail(c, c->body, "seed", 0, 1LL << 53, &f->seed, &f->seed_given) != 0 ||
        json_opt_int_or_fail(c, c->body, "open_days", 1, 365, &f->open_days, &present) != 0)
        return;
    if (f->percent && f->count) {
        call_fail(c, ERR_INVALID_FIELD, "sample_count", "give sample_percent or sample_count, not both");
        return;
    }
    if (!present)
        f->open_days = gw_cfg->survey_open_days;
}

/* First send: draft -> sending with the sample, its seed and the deadline,
 * and the audit row, committed before anyone is asked. */
static int start_sending_or_fail(gw_call_t *c, db_conn_t *db, const survey_ref_t *s)
{
    const send_form_t *f = c->state;
    unsigned long long seed = (unsigned long long)f->seed;
    long long nq = 0;
    if (db_query_int(db, &nq, "SELECT COUNT(*) FROM survey_questions WHERE survey_id = ?", DB_ARGS(DB_INT(s->id))) <
        0) {
        call_fail_db(c);
        return -1;
    }
    if (nq == 0) {
        call_fail(c, ERR_UNPROCESSABLE, "questions", "survey %lld has no questions to send", s->id);
        return -1;
    }
    if (!f->seed_given) {
        unsigned char b[6];
        if (RAND_bytes(b, sizeof b) != 1) {
            call_fail(c, ERR_INTERNAL, NULL, "no random seed");
            return -1;
        }
        seed = 0;
        for (size_t i = 0; i < sizeof b; i++)
            seed = seed << 8 | b[i];
    }
    cJSON *before = survey_json(db, s->id, 0, 0);
    cJSON *extra = cJSON_CreateObject();
    cJSON_AddNumberToObject(extra, "seed", (double)seed);
    if (!before || !extra ||
        db_exec(db,
                "UPDATE surveys SET state = 'sending', sample_percent = ?, sample_count = ?, sample_seed = ?,"
                " deadline_at = NOW(3) + INTERVAL ? DAY, sent_at = NOW(3), sent_by = ? WHERE id = ?",
                DB_ARGS(f->percent ? DB_INT(f->percent) : DB_NULL, f->count ? DB_INT(f->count) : DB_NULL,
                        DB_INT((long long)seed), DB_INT(f->open_days), DB_INT(c->user.id), DB_INT(s->id))) != 0) {
        cJSON_Delete(before);
        cJSON_Delete(extra);
        call_fail_db(c);
        return -1;
    }
    cJSON *after = survey_json(db, s->id, 0, 0);
    int rc =
        after ? audit_change(db, c->user.id, "survey.send", "survey", s->id, s->project_id, before, after, extra) : -1;
    cJSON_Delete(before);
    cJSON_Delete(after);
    cJSON_Delete(extra);
    if (rc != 0) {
        call_fail_db(c);
        return -1;
    }
    return 0;
}

/* The invitation's payload: what the subscribe message shows. */
static cJSON *invite_payload(db_conn_t *db, long long id, long long *project, survey_phase_t *phase,
                             unsigned long long *seed, int *percent, long long *count)
{
    db_rows_t *r = db_query(db,
                            "SELECT s.project_id, p.name AS project, s.title, s.phase, s.sample_seed, s.sample_percent,"
                            " s.sample_count, FLOOR(UNIX_TIMESTAMP(s.deadline_at)) AS deadline"
                            " FROM surveys s JOIN projects p ON p.id = s.project_id WHERE s.id = ?",
                            DB_ARGS(DB_INT(id)));
    if (!r || r->nrows != 1) {
        db_rows_free(r);
        return NULL;
    }
    *project = db_get_int(r, 0, "project_id");
    *phase = survey_phase_from_name(db_get(r, 0, "phase"));
    *seed = (unsigned long long)db_get_int(r, 0, "sample_seed");
    *percent = (int)db_get_int(r, 0, "sample_percent");
    *count = db_get_int(r, 0, "sample_count");
    /* The deadline as Asia/Shanghai wall time, as the message shows it. */
    time_t t = (time_t)(db_get_int(r, 0, "deadline") + 8 * 3600);
    struct tm tm;
    char when[32] = "";
    gmtime_r(&t, &tm);
    strftime(when, sizeof when, "%Y-%m-%d %H:%M", &tm);
    cJSON *p = cJSON_CreateObject();
    if (p) {
        cJSON_AddNumberToObject(p, "survey_id", (double)id);
        cJSON_AddStringToObject(p, "title", db_get(r, 0, "title"));
        cJSON_AddStringToObject(p, "project", db_get(r, 0, "project"));
        cJSON_AddStringToObject(p, "deadline", when);
    }
    db_rows_free(r);
    return p;
}

/* Below this much of the request's time left, a send stops between
 * batches and answers 202: sending again finishes it. */
#define SEND_RESERVE_MS 1500

static void send_survey(gw_call_t *c, db_conn_t *db)
{
    survey_ref_t s;
    long long id, project = 0, count = 0;
    survey_candidate_t *cands = NULL;
    unsigned long long seed = 0;
    survey_phase_t phase = SURVEY_PHASE_ALL;
    int percent = 0, sent = 0, skipped = 0, done = 0;
    cJSON *invite = NULL;

    if (call_param_id_or_fail(c, "id", &id) != 0)
        return;
    if (db_begin(db) != 0) {
        call_fail_db(c);
        return;
    }
    if (survey_access_or_fail(c, db, id, 1, 1, &s) != 0)
        return;
    if (strcmp(s.state, "open") == 0 || strcmp(s.state, "closed") == 0) {
        call_fail(c, ERR_CONFLICT, NULL, "survey %lld was already sent (%s)", id, s.state);
        return;
    }
    if (strcmp(s.state, "draft") == 0 && start_sending_or_fail(c, db, &s) != 0)
        return;
    if (db_commit(db) != 0) {
        call_fail_db(c);
        return;
    }

    char today[11];
    survey_shanghai_date((long long)time(NULL), today);
    invite = invite_payload(db, id, &project, &phase, &seed, &percent, &count);
    int n = invite ? survey_candidates(db, project, phase, seed, today, &cands) : -1;
    if (n < 0) {
        call_fail_db(c);
        goto Exit;
    }
    int take = (int)survey_sample_size(n, percent, count), batch = gw_cfg->survey_send_batch;
    for (int at = 0; at < take; at += batch) {
        if (at > 0 && call_remaining_ms(c) < SEND_RESERVE_MS)
            break;
        int rc = survey_send_batch(db, id, project, cands + at, take - at < batch ? take - at : batch, invite, &sent,
                                   &skipped);
        if (rc < 0) {
            call_fail_db(c);
            goto Exit;
        }
        if (rc == 1) { /* closed while sending: stop */
            take = at;
            break;
        }
        if (at + batch >= take)
            done = 1;
    }
    if (take == 0)
        done = 1;
    if (done &&
        db_exec(db, "UPDATE surveys SET state = 'open' WHERE id = ? AND state = 'sending'", DB_ARGS(DB_INT(id))) != 0) {
        call_fail_db(c);
        goto Exit;
    }
    cJSON *d = cJSON_CreateObject();
    cJSON *sv = survey_json(db, id, 0, 1);
    if (!d || !sv) {
        cJSON_Delete(d);
        cJSON_Delete(sv);
        call_fail_db(c);
        goto Exit;
    }
    cJSON_AddItemToObject(d, "survey", sv);
    cJSON_AddNumberToObject(d, "chosen", take);
    cJSON_AddNumberToObject(d, "sent_now", sent);
    cJSON_AddNumberToObject(d, "skipped_now", skipped);
    cJSON_AddBoolToObject(d, "done", done);
    call_ok(c, done ? 200 : 202, d);
Exit:
    free(cands);
    cJSON_Delete(invite);
}

static void close_survey(gw_call_t *c, db_conn_t *db)
{
    survey_ref_t s;
    long long id;
    if (call_param_id_or_fail(c, "id", &id) != 0)
        return;
    if (db_begin(db) != 0) {
        call_fail_db(c);
        return;
    }
    if (survey_access_or_fail(c, db, id, 1, 1, &s) != 0)
        return;
    if (strcmp(s.state, "open") != 0 && strcmp(s.state, "sending") != 0) {
        call_fail(c, ERR_CONFLICT, NULL, "survey %lld is %s: only a sent survey closes", id, s.state);
        return;
    }
    cJSON *before = survey_json(db, id, 1, 0);
    if (!before || db_exec(db,
                           "UPDATE surveys SET state = 'closed', closed_at = NOW(3),"
                           " deadline_at = LEAST(COALESCE(deadline_at, NOW(3)), NOW(3)) WHERE id = ?",
                           DB_ARGS(DB_INT(id))) != 0) {
        cJSON_Delete(before);
        call_fail_db(c);
        return;
    }
    finish(c, db, 200, "survey.close", &s, before, NULL);
}

/* ---- results ---- */

static void survey_results(gw_call_t *c, db_conn_t *db)
{
    survey_ref_t s;
    long long id;
    if (call_param_id_or_fail(c, "id", &id) != 0 || survey_access_or_fail(c, db, id, 0, 0, &s) != 0)
        return;
    cJSON *o = survey_results_json(db, id);
    if (!o) {
        call_fail_db(c);
        return;
    }
    call_ok(c, 200, o);
}

/* Free-text answers, newest first, without who wrote them. */
static void survey_texts(gw_call_t *c, db_conn_t *db)
{
    static const char *const keys[] = {"id"};
    survey_ref_t s;
    long long id, question;
    page_t page;
    if (call_param_id_or_fail(c, "id", &id) != 0 || page_or_fail(c, 1, &page) != 0 ||
        query_id_or_fail(c, "question", &question) != 0 || survey_access_or_fail(c, db, id, 0, 0, &s) != 0)
        return;
    db_rows_t *r = db_query(db,
                            "SELECT a.id, a.question_id, q.position AS question_position, a.value_text AS text,"
                            " FLOOR(UNIX_TIMESTAMP(a.created_at)) AS created_at"
                            " FROM survey_answers a JOIN survey_questions q ON q.id = a.question_id"
                            " WHERE a.survey_id = ? AND a.value_text IS NOT NULL AND (? = 0 OR a.question_id = ?)"
                            " AND a.id < ? ORDER BY a.id DESC LIMIT ?",
                            DB_ARGS(DB_INT(id), DB_INT(question), DB_INT(question),
                                    DB_INT(page_key(&page, 0, PAGE_KEY_MAX)), DB_INT(page.limit + 1)));
    if (!r) {
        call_fail_db(c);
        return;
    }
    page_respond(c, &page, r, NULL, NULL, keys);
    db_rows_free(r);
}

static const route_t routes[] = {
    {"GET", "/api/v1/admin/surveys", READ, BODY_NONE, DB_STEP(list_surveys)},
    {"POST", "/api/v1/admin/surveys", MANAGE, BODY_JSON, DB_STEP(create_survey), BODY_CHECK(check_create)},
    {"GET", "/api/v1/admin/surveys/:id", READ, BODY_NONE, DB_STEP(show_survey)},
    {"PATCH", "/api/v1/admin/surveys/:id", MANAGE, BODY_JSON, DB_STEP(update_survey), BODY_CHECK(check_update)},
    {"POST", "/api/v1/admin/surveys/:id/send", MANAGE, BODY_JSON, DB_STEP(send_survey), BODY_CHECK(check_send)},
    {"POST", "/api/v1/admin/surveys/:id/close", MANAGE, BODY_NONE, DB_STEP(close_survey)},
    {"GET", "/api/v1/admin/surveys/:id/results", READ, BODY_NONE, DB_STEP(survey_results)},
    {"GET", "/api/v1/admin/surveys/:id/texts", READ, BODY_NONE, DB_STEP(survey_texts)},
};

void surveys_admin_register(void)
{
    ROUTES_REGISTER(routes);
}
