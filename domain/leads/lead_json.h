/* lead_json.h: the few lines the lead, referral and reward views add to a
 * row that db_row_json (gateway/db_json.h) rendered from their SELECT.
 *
 * The SELECT is the shape of the answer: the column fragments below alias
 * every column by its field (a dotted alias nests it), so a view is its
 * SELECT plus lead_json_finish. What SQL cannot say stays here: the masks,
 * and the objects a lead view always shows even when every field is NULL
 * (db_row_json renders those as null). */
#ifndef GW_LEAD_JSON_H
#define GW_LEAD_JSON_H
#include <cjson/cJSON.h>

#include "gateway/db.h"

/* A lead's fields shared by every view of it (a lead l joined to its
 * project p): id, project {id, name}, name, phone_masked (the phone until
 * lead_json_finish masks it), phone_verified. */
#define LEAD_HEAD_COLUMNS                                                                                              \
    "l.id, l.project_id AS `project.id`, p.name AS `project.name`, l.name, l.phone AS phone_masked, l.phone_verified"
/* interest {layout, area, budget}. */
#define LEAD_INTEREST_COLUMNS                                                                                          \
    "l.interest_layout AS `interest.layout`, l.interest_area AS `interest.area`,"                                      \
    " l.interest_budget AS `interest.budget`"
/* consent {at, privacy_notice_version}. */
#define LEAD_CONSENT_COLUMNS                                                                                           \
    "FLOOR(UNIX_TIMESTAMP(l.consent_at)) AS `consent.at`,"                                                             \
    " l.privacy_notice_version AS `consent.privacy_notice_version`"

/* A referral's reward {status, kind, amount} (a referral_rewards w, LEFT
 * JOINed: null when there is none); lead_json_amount_display adds the
 * amount as shown. */
#define LEAD_REWARD_COLUMNS "w.status AS `reward.status`, w.kind AS `reward.kind`, w.amount AS `reward.amount`"

/* Adds amount_display ("¥5000.00", "200积分") to o from its kind and amount;
 * nothing when o is not an object (a null reward). 0, or -1 when memory
 * runs out. */
int lead_json_amount_display(cJSON *o);

/* Replaces the string o[key] with its masked form (a phone: 139****5678; a
 * person's name: 张*); null or absent stays as it is. 0, or -1 when memory
 * runs out. */
int lead_json_mask_phone(cJSON *o, const char *key);
int lead_json_mask_name(cJSON *o, const char *key);

/* For a rendered lead: masks phone_masked, and shows interest and consent
 * (when selected) as objects even when every field is NULL. 0, or -1 when
 * memory runs out. */
int lead_json_finish(cJSON *o);

/* A row of a lead view as db_row_json renders it, finished by
 * lead_json_finish: a page_render_fn (gateway/query.h) for the lead lists.
 * NULL when memory runs out. */
cJSON *lead_json_row(const db_rows_t *r, int row, void *ud);

#endif
