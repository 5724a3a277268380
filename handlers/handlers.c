#include "handlers/handlers.h"

void handlers_register_all(void)
{
    health_register();
    auth_register();
    me_register();
    staff_admin_register();
    users_admin_register();
    uploads_register();
    upload_sweeper_register();
    media_register();
    wechat_register();
    subscriptions_register();
    notifications_register();
    notifications_admin_register();
    notification_dispatcher_register();
    outbox_age_register();
    owners_admin_register();
    units_register();
    repair_categories_register();
    repairs_register();
    repairs_work_register();
    repairs_admin_register();
    repair_followups_admin_register();
    repair_sweeper_register();
    projects_register();
    leads_register();
    leads_me_register();
    leads_admin_register();
    leads_sweeper_register();
    referrals_register();
    referrals_admin_register();
    referrals_agent_register();
    rewards_admin_register();
    projects_admin_register();
    console_register();
}
