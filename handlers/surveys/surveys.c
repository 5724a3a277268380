/* surveys.c: the owner's side of surveys (问卷), in the mini-program.
 *
 *   GET  /api/v1/surveys?cursor=&limit=    the caller's surveys waiting for an answer
 *   GET  /api/v1/surveys/:id               one survey sent to the caller, with its questions
 *   POST /api/v1/surveys/:id/answers       {answers: [{question_id, value}, ...]}
 *
 * Only an owner the survey was sent to sees it (anyone else: 404, as for a
 * missing survey) and answers it, once: the recipient row is locked and
 * marked answered in the transaction that stores the answers, so of two
 * answers at the same moment one is stored and the other is 409
 * SURVEY_ANSWERED. A survey closed or past its deadline takes no answer
 * (409 SURVEY_CLOSED). Every answer is checked against its question and
 * every required question must be answered; the first defect is a 400
 * naming the field (answers[2].value), and nothing is stored. */
#include <stdlib.h>
#include <string.h>

#include "domain/surveys/survey_store.h"
#include "gateway/call.h"
#include "gateway/db_json.h"
#include "gateway/json_util.h"
#include "gateway/query.h"
#include "gateway/roles.h"
#include "handlers/handlers.h"

static void list_pending(gw_call_t *c, db_conn_t *db)
{
    static const char *const keys[] = {"id"};
    page_t page;
    if (page_or_fail(c, 1, &page) != 0)
        return;
    db_rows_t *r =
        db_query(db,
                 "SELECT s.id, s.title, s.intro, p.name AS project_name,"
                 " FLOOR(UNIX_TIMESTAMP(s.deadline_at)) AS deadline_at,"
                 " FLOOR(UNIX_TIMESTAMP(r.created_at)) AS sent_at,"
                 " (SELECT COUNT(*) FROM survey_questions q WHERE q.survey_id = s.id) AS question_count"
                 " FROM survey_recipients r JOIN surveys s ON s.id = r.survey_id"
                 " JOIN projects p ON p.id = s.project_id"
                 " WHERE r.user_id = ? AND r.status = 'sent' AND r.answered_at IS NULL"
                 " AND s.state = 'open' AND s.deadline_at > NOW(3) AND s.id < ?"
                 " ORDER BY s.id DESC LIMIT ?",
                 DB_ARGS(DB_INT(c->user.id), DB_INT(page_key(&page, 0, PAGE_KEY_MAX)), DB_INT(page.limit + 1)));
    if (!r) {
        call_fail_db(c);
        return;
    }
    page_respond(c, &page, r, NULL, NULL, keys);
    db_rows_free(r);
}

/* The caller's recipient row of survey id with its survey's state: NULL
 * answered (404 when the survey was not sent to the caller, or the db
 * error). With `lock`, only the recipient row is locked (FOR UPDATE): two
 * answers of one owner are ordered, answers of different owners never wait
 * on each other, and a send's batch (which locks the survey row) never
 * waits on an answer. */
static db_rows_t *recipient_or_fail(gw_call_t *c, db_conn_t *db, long long id, int lock)
{
    long long recipient = 0;
    int rc =
        db_query_int(db, &recipient,
                     lock ? "SELECT id FROM survey_recipients WHERE survey_id = ? AND user_id = ? AND status = 'sent'"
                            " FOR UPDATE"
                          : "SELECT id FROM survey_recipients WHERE survey_id = ? AND user_id = ? AND status = 'sent'",
                     DB_ARGS(DB_INT(id), DB_INT(c->user.id)));
    if (rc < 0) {
        call_fail_db(c);
        return NULL;
    }
    if (rc == 0) {
        call_fail(c, ERR_NOT_FOUND, NULL, "survey %lld not found", id);
        return NULL;
    }
    db_rows_t *r = db_query(db,
                            "SELECT r.id, FLOOR(UNIX_TIMESTAMP(r.answered_at)) AS answered_at, s.state,"
                            " s.deadline_at > NOW(3) AS before_deadline"
                            " FROM survey_recipients r JOIN surveys s ON s.id = r.survey_id WHERE r.id = ?",
                            DB_ARGS(DB_INT(recipient)));
    if (!r || r->nrows != 1) {
        db_rows_free(r);
        call_fail_db(c);
        return NULL;
    }
    return r;
}

static void show_survey(gw_call_t *c, db_conn_t *db)
{
    long long id;
    if (call_param_id_or_fail(c, "id", &id) != 0)
        return;
    db_rows_t *r = recipient_or_fail(c, db, id, 0);
    if (!r)
        return;
    cJSON *o = survey_json(db, id, 1, 0);
    if (!o) {
        db_rows_free(r);
        call_fail_db(c);
        return;
    }
    /* what the owner needs: no sample, no staff fields */
    cJSON_DeleteItemFromObjectCaseSensitive(o, "sample_percent");
    cJSON_DeleteItemFromObjectCaseSensitive(o, "sample_count");
    cJSON_DeleteItemFromObjectCaseSensitive(o, "created_at");
    cJSON_DeleteItemFromObjectCaseSensitive(o, "closed_at");
    cJSON_DeleteItemFromObjectCaseSensitive(o, "phase");
    cJSON_DeleteItemFromObjectCaseSensitive(o, "phase_label");
    cJSON_AddBoolToObject(o, "answered", !db_is_null(r, 0, "answered_at"));
    if (db_is_null(r, 0, "answered_at"))
        cJSON_AddNullToObject(o, "answered_at");
    else
        cJSON_AddNumberToObject(o, "answered_at", (double)db_get_int(r, 0, "answered_at"));
    cJSON_AddBoolToObject(o, "open", strcmp(db_get(r, 0, "state"), "open") == 0 && db_get_int(r, 0, "before_deadline"));
    db_rows_free(r);
    call_ok(c, 200, o);
}

/* ---- answering ---- */

static void check_answers(gw_call_t *c)
{
    static const char *const known[] = {"answers", NULL};
    static const char *const item_known[] = {"question_id", "value", NULL};
    const cJSON *answers = cJSON_GetObjectItemCaseSensitive(c->body, "answers"), *a;
    if (json_known_fields_or_fail(c, c->body, known) != 0)
        return;
    if (!answers) {
        call_fail(c, ERR_MISSING_FIELD, "answers", "answers is required");
        return;
    }
    if (!cJSON_IsArray(answers) || cJSON_GetArraySize(answers) > SURVEY_QUESTIONS_MAX) {
        call_fail(c, ERR_INVALID_FIELD, "answers", "answers must be an array of at most %d answers",
                  SURVEY_QUESTIONS_MAX);
        return;
    }
    int i = 0;
    cJSON_ArrayForEach(a, answers)
    {
        char field[48];
        const cJSON *it;
        snprintf(field, sizeof field, "answers[%d]", i);
        if (!cJSON_IsObject(a)) {
            call_fail(c, ERR_INVALID_FIELD, field, "%s must be an object {question_id, value}", field);
            return;
        }
        cJSON_ArrayForEach(it, a)
        {
            int known_field = 0;
            for (int k = 0; item_known[k]; k++)
                known_field |= strcmp(item_known[k], it->string) == 0;
            if (!known_field) {
                snprintf(field, sizeof field, "answers[%d].%.24s", i, it->string);
                call_fail(c, ERR_INVALID_FIELD, field, "%s is not a field of an answer", field);
                return;
            }
        }
        snprintf(field, sizeof field, "answers[%d].question_id", i);
        const cJSON *q = cJSON_GetObjectItemCaseSensitive(a, "question_id");
        if (!cJSON_IsNumber(q) || q->valuedouble < 1 || q->valuedouble > 9007199254740992.0 ||
            q->valuedouble != (double)(long long)q->valuedouble) {
            call_fail(c, q ? ERR_INVALID_FIELD : ERR_MISSING_FIELD, field, "%s must be a question's id", field);
            return;
        }
        for (const cJSON *b = answers->child; b != a; b = b->next)
            if (cJSON_GetObjectItemCaseSensitive(b, "question_id")->valuedouble == q->valuedouble) {
                call_fail(c, ERR_INVALID_FIELD, field, "%s answers a question answered before", field);
                return;
            }
        i++;
    }
}

/* The given answer to question id and its index, or NULL. */
static const cJSON *answer_to(const cJSON *answers, long long id, int *index)
{
    const cJSON *a;
    int i = 0;
    cJSON_ArrayForEach(a, answers)
    {
        if ((long long)cJSON_GetObjectItemCaseSensitive(a, "question_id")->valuedouble == id) {
            *index = i;
            return a;
        }
        i++;
    }
    return NULL;
}

static void store_answers(gw_call_t *c, db_conn_t *db)
{
    const cJSON *answers = cJSON_GetObjectItemCaseSensitive(c->body, "answers");
    db_rows_t *rec = NULL, *qs = NULL;
    long long id;
    int stored = 0;
    if (call_param_id_or_fail(c, "id", &id) != 0)
        return;
    if (db_begin(db) != 0) {
        call_fail_db(c);
        return;
    }
    /* The lock orders two answers of one owner: the second sees the first's. */
    if (!(rec = recipient_or_fail(c, db, id, 1)))
        return;
    long long recipient = db_get_int(rec, 0, "id");
    if (!db_is_null(rec, 0, "answered_at")) {
        call_fail(c, ERR_SURVEY_ANSWERED, NULL, "you answered survey %lld already", id);
        goto Exit;
    }
    if (strcmp(db_get(rec, 0, "state"), "open") != 0 || !db_get_int(rec, 0, "before_deadline")) {
        call_fail(c, ERR_SURVEY_CLOSED, NULL, "survey %lld is closed", id);
        goto Exit;
    }
    qs = db_query(db,
                  "SELECT id, position, kind, required, JSON_LENGTH(options) AS noptions FROM survey_questions"
                  " WHERE survey_id = ? ORDER BY position",
                  DB_ARGS(DB_INT(id)));
    if (!qs) {
        call_fail_db(c);
        goto Exit;
    }
    /* Every given answer names a question of this survey. */
    const cJSON *a;
    int i = 0;
    cJSON_ArrayForEach(a, answers)
    {
        long long qid = (long long)cJSON_GetObjectItemCaseSensitive(a, "question_id")->valuedouble;
        int found = 0;
        for (int k = 0; k < qs->nrows && !found; k++)
            found = db_get_int(qs, k, "id") == qid;
        if (!found) {
            char field[48];
            snprintf(field, sizeof field, "answers[%d].question_id", i);
            call_fail(c, ERR_INVALID_FIELD, field, "question %lld is not a question of survey %lld", qid, id);
            goto Exit;
        }
        i++;
    }
    /* Each question: its answer valid, or none when it is optional. */
    for (int k = 0; k < qs->nrows; k++) {
        int index = -1;
        char msg[200], field[48];
        survey_question_t q = {.id = db_get_int(qs, k, "id"),
                               .kind = db_get(qs, k, "kind"),
                               .required = (int)db_get_int(qs, k, "required"),
                               .noptions = (int)db_get_int(qs, k, "noptions")};
        const cJSON *given = answer_to(answers, q.id, &index);
        const cJSON *value = given ? cJSON_GetObjectItemCaseSensitive(given, "value") : NULL;
        if (survey_answer_check(&q, value, msg, sizeof msg) != 0) {
            if (given)
                snprintf(field, sizeof field, "answers[%d].value", index);
            else
                snprintf(field, sizeof field, "answers");
            call_fail(c, given ? ERR_INVALID_FIELD : ERR_MISSING_FIELD, field, "%s (question %lld of the survey)", msg,
                      db_get_int(qs, k, "position"));
            goto Exit;
        }
        if (!value || cJSON_IsNull(value))
            continue;
        int text = strcmp(q.kind, "text") == 0;
        if (db_exec(db,
                    "INSERT INTO survey_answers (survey_id, question_id, recipient_id, value_int, value_text)"
                    " VALUES (?, ?, ?, ?, ?)",
                    DB_ARGS(DB_INT(id), DB_INT(q.id), DB_INT(recipient), text ? DB_NULL : DB_INT(value->valuedouble),
                            text ? DB_STR(value->valuestring) : DB_NULL)) != 0) {
            call_fail_db(c);
            goto Exit;
        }
        stored++;
    }
    if (db_exec(db, "UPDATE survey_recipients SET answered_at = NOW(3) WHERE id = ? AND answered_at IS NULL",
                DB_ARGS(DB_INT(recipient))) != 0 ||
        db_affected_rows(db) != 1 || db_commit(db) != 0) {
        call_fail_db(c);
        goto Exit;
    }
    cJSON *d = cJSON_CreateObject();
    cJSON_AddNumberToObject(d, "survey_id", (double)id);
    cJSON_AddNumberToObject(d, "answers", stored);
    cJSON_AddBoolToObject(d, "answered", 1);
    call_ok(c, 201, d);
Exit:
    db_rows_free(rec);
    db_rows_free(qs);
}

static const route_t routes[] = {
    {"GET", "/api/v1/surveys", ROLE_ANY, BODY_NONE, DB_STEP(list_pending)},
    {"GET", "/api/v1/surveys/:id", ROLE_ANY, BODY_NONE, DB_STEP(show_survey)},
    {"POST", "/api/v1/surveys/:id/answers", ROLE_ANY, BODY_JSON, DB_STEP(store_answers), BODY_CHECK(check_answers)},
};

void surveys_register(void)
{
    ROUTES_REGISTER(routes);
}
