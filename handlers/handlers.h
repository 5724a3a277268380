/* handlers.h: each handler file exports one <resource>_register() that adds
 * its static route table to the router. */
#ifndef GW_HANDLERS_H
#define GW_HANDLERS_H

void health_register(void);
void auth_register(void);
void me_register(void);
void staff_admin_register(void);
void users_admin_register(void);
void uploads_register(void);
void upload_sweeper_register(void);
void media_register(void);
void wechat_register(void);
void subscriptions_register(void);
void notifications_register(void);
void notifications_admin_register(void);
void notification_dispatcher_register(void);
void owners_admin_register(void);
void units_register(void);
void repair_categories_register(void);
void repairs_register(void);
void repairs_work_register(void);
void repairs_admin_register(void);
void repair_followups_admin_register(void);
void repair_sweeper_register(void);
void sla_sweeper_register(void);
void repairs_pause_register(void);
void sla_calendar_admin_register(void);
void projects_register(void);
void leads_register(void);
void leads_me_register(void);
void leads_admin_register(void);
void leads_sweeper_register(void);
void followups_service_register(void);
void followups_admin_register(void);
void satisfaction_sweeper_register(void);
void referrals_register(void);
void referrals_admin_register(void);
void referrals_agent_register(void);
void rewards_admin_register(void);
void projects_admin_register(void);
void buildings_admin_register(void);
void units_admin_register(void);
void audit_admin_register(void);
void outbox_age_register(void);
void console_register(void);
void lead_channel_rules_admin_register(void);
void repair_categories_admin_register(void);
void dispatch_groups_admin_register(void);
void dispatch_rules_admin_register(void);
void dispatch_preview_admin_register(void);
void stats_admin_register(void);
void exports_admin_register(void);
void export_runner_register(void);
void surveys_register(void);
void surveys_admin_register(void);
void repairs_service_register(void);
void customers_service_register(void);
void complaints_register(void);
void complaints_admin_register(void);
void complaints_service_register(void);
void complaint_categories_register(void);
void complaint_categories_admin_register(void);
void complaint_incidents_admin_register(void);
void complaint_sweeper_register(void);

/* Registers every resource; called once at start-up. */
void handlers_register_all(void);

#endif
