#include "handlers/handlers.h"

void handlers_register_all(void)
{
    health_register();
    auth_register();
    admin_staff_register();
    uploads_register();
    media_register();
    wechat_push_register();
    subscriptions_register();
    notifications_inbox_register();
    notifications_admin_register();
    notification_dispatcher_register();
    owners_import_register();
    units_register();
    repair_categories_register();
    repairs_register();
    repairs_work_register();
    repairs_admin_register();
    repair_followups_admin_register();
    repair_sweeper_register();
    projects_register();
    leads_register();
    leads_agent_register();
    leads_me_register();
    leads_admin_register();
    leads_stats_register();
    leads_sweeper_register();
    referral_codes_register();
    referrals_register();
    referrals_admin_register();
    rewards_register();
}
