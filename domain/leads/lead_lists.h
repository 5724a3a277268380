/* lead_lists.h: the staff lists of leads, rewards and referrals, shared by
 * their routes (handlers/leads/leads_admin.c, rewards_admin.c,
 * referrals_admin.c) and the CSV
 * exports (domain/exports/export_kinds.c). See gateway/list_query.h.
 *
 *   lead_admin_list:   ?project_id= (required; supervisor of it or admin)
 *                      &stage= (or state=) &channel= &agent_user_id= &q=
 *                      rendered by lead_json_row (phone masked)
 *   reward_admin_list: ?status= &project=; rewards of the projects the
 *                      caller manages, referrer's phone masked
 *   referral_admin_list: ?stage= &project=; referrals of the projects the
 *                      caller manages, referee's and referrer's phones
 *                      masked, the reward with its amount as shown */
#ifndef GW_LEAD_LISTS_H
#define GW_LEAD_LISTS_H
#include "gateway/list_query.h"

extern const list_def_t lead_admin_list;
extern const list_def_t reward_admin_list;
extern const list_def_t referral_admin_list;

#endif
