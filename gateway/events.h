/* events.h: writing notification events into the outbox.
 *
 * Call events_emit inside the transaction that makes the business change, so
 * the event exists if and only if the change committed. The dispatcher
 * (handlers/notifications*) delivers it later; nothing here talks to WeChat.
 *
 * Kinds (the payload keys each kind carries are listed in miniprogram-api.md):
 *   repair.assigned        to the engineer a ticket was assigned to
 *   repair.dispatched      to the owner: an engineer was assigned
 *   repair.accepted        to the owner: the engineer accepted
 *   repair.resolved        to the owner: work done, please rate
 *   repair.escalated       to the person a breached ticket was escalated to
 *   repair.reminder        to the assignee before a deadline
 *   repair.followup        to the supervisor: a poor rating needs a visit
 *   repair.filed_for_you   to the owner: the service desk filed a ticket for them
 *   lead.assigned          to the agent a lead was assigned to
 *   lead.contact_overdue   to the sales manager: first contact is late
 *   referral.stage_changed to the referrer
 *   reward.approved        to the referrer
 *   survey.invite          to an owner a survey asks (domain/surveys/)
 *
 * Every event may carry the project it is about (notification_events.
 * project_id): supervisors see and retry only their projects' events; an
 * event without a project is for admins only.
 */
#ifndef GW_EVENTS_H
#define GW_EVENTS_H
#include <cjson/cJSON.h>

#include "db.h"

/* payload is borrowed (serialised here). The project is taken from a
 * numeric "project_id" in the payload, else from what the event refers to
 * (ref_type repair, lead, referral or reward: that row's project), else
 * none. Returns 0 or -1 (db error). */
int events_emit(db_conn_t *db, const char *kind, long long user_id, const char *ref_type, long long ref_id,
                const cJSON *payload);
/* As events_emit with the project given (project_id > 0); 0 derives it as
 * events_emit does. */
int events_emit_project(db_conn_t *db, const char *kind, long long user_id, const char *ref_type, long long ref_id,
                        long long project_id, const cJSON *payload);

#endif
