/* survey_store.h: owner surveys in the database (schema/031): who may
 * touch a survey, its rendering, its questions, choosing and asking its
 * recipients, and its results. DB workers only.
 *
 * Access: a survey belongs to its project. Its supervisors and every admin
 * manage it (create, edit, send, close); the project's service-desk staff
 * (客服, `service`) read it and its results, since they call owners back
 * about them; nobody else sees it (404, as for a missing survey). Owners
 * see only the surveys they were sent (handlers/surveys/surveys.c). */
#ifndef GW_SURVEY_STORE_H
#define GW_SURVEY_STORE_H
#include <cjson/cJSON.h>

#include "domain/surveys/survey_model.h"
#include "gateway/call.h"
#include "gateway/list_query.h"

typedef struct {
    long long id, project_id;
    char state[12]; /* draft, sending, open, closed */
} survey_ref_t;

/* Loads survey `id` (locked FOR UPDATE inside a transaction the caller
 * opened when lock) and checks the caller: manage (supervisor of its
 * project or admin) or, when !manage, read (those or the project's
 * service staff). 0 with *out; -1 answered: 404 "survey <id> not found"
 * for a survey the caller may not see as for a missing one, or the db
 * error. */
int survey_access_or_fail(gw_call_t *c, db_conn_t *db, long long id, int manage, int lock, survey_ref_t *out);

/* The survey as the API shows it, with its questions in order (with_
 * questions) and, for staff (with_counts), its recipients / skipped /
 * responses counts. NULL on a db error or a missing survey. Caller frees. */
cJSON *survey_json(db_conn_t *db, long long id, int with_questions, int with_counts);

/* Inside the caller's transaction: replaces the survey's questions by
 * `questions` (checked by survey_questions_check). 0 or -1 (db error). */
int survey_questions_store(db_conn_t *db, long long survey_id, const cJSON *questions);

/* One owner the survey may ask, in the order of the survey's seed. */
typedef struct {
    long long user_id;
    survey_phase_t phase;
} survey_candidate_t;

/* The owners of `project` in `phase` (SURVEY_PHASE_ALL: any phase) on
 * `today` (Asia/Shanghai, "YYYY-MM-DD"), enabled users only, ordered by a
 * hash of (seed, user id), so that a sample is the first n and the same
 * seed gives the same owners. *out (malloc'ed, the caller frees; NULL when
 * empty) and the count, or -1 on a db error / out of memory. */
int survey_candidates(db_conn_t *db, long long project, survey_phase_t phase, unsigned long long seed,
                      const char *today, survey_candidate_t **out);

/* How many of `total` owners a sample takes: percent (1-100, rounded up)
 * or count (at most total); both 0: everyone. */
long long survey_sample_size(long long total, int percent, long long count);

/* Records, asks and notifies cands[0..n) in ONE transaction of its own:
 * for each owner not yet recorded, claims the contact limit (domain/service/
 * contact_limit.h) and records them 'sent' with a survey.invite event, or
 * 'skipped' (contacted_recently). Owners recorded before are left as they
 * are, so a batch repeated after a crash neither loses nor doubles anyone.
 * invite: the event payload (borrowed). *sent / *skipped are increased by
 * this batch's new rows. 0; 1 when the survey is no longer 'sending'
 * (closed meanwhile: nothing written); -1 on a db error (rolled back). */
int survey_send_batch(db_conn_t *db, long long survey_id, long long project, const survey_candidate_t *cands, int n,
                      const cJSON *invite, int *sent, int *skipped);

/* The results of a survey (miniprogram-api.md, "Surveys"): counts, each
 * question's answers with non-response, scores per dimension, NPS. NULL on
 * a db error. Caller frees. */
cJSON *survey_results_json(db_conn_t *db, long long survey_id);

/* GET /api/v1/admin/surveys and its CSV export kind "surveys". */
extern const list_def_t survey_admin_list;

#endif
