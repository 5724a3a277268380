/* repairs_service.c: the service desk files a repair ticket on a caller's
 * behalf.
 *
 *   POST /api/v1/service/repairs   {user_id, unit_id, channel, category, description, contact_phone?,
 *                                   preferred_time?, photo_ids?} (Idempotency-Key header)
 *
 * A service-desk member (客服) or supervisor of the unit's project, or an
 * admin, files for an owner: the unit must be one of the owner's (from the
 * roster) in a project whose desk the caller works, else 404 naming
 * user_id (no owner of the caller's projects) or unit_id. The filing is the
 * owner's own filing (domain/repairs/repair_file.h): the same text check,
 * transaction, dispatch, clocks and events, plus the filing's row (channel,
 * who filed it) and the owner's repair.filed_for_you notification. The
 * ticket is the owner's: they see it in their list marked filed_for_you,
 * confirm it, correct it before an engineer accepts it, and rate it. */
#include <string.h>

#include "gateway/call.h"
#include "gateway/json_util.h"
#include "gateway/query.h"
#include "gateway/roles.h"
#include "handlers/handlers.h"
#include "domain/repairs/repair_file.h"

/* Body check (loop): the owner's fields, then whom and by which channel. */
static void check_file(gw_call_t *c)
{
    repair_file_req_t *q = repair_file_body_or_fail(c);
    long long user_id;
    if (!q || json_int_or_fail(c, c->body, "user_id", 1, 1LL << 53, &user_id) != 0)
        return;
    if (!(q->channel = json_enum_or_fail(c, c->body, "channel", repair_file_channels)))
        return;
    q->owner_user_id = user_id;
}

static const route_t routes[] = {
    {"POST", "/api/v1/service/repairs", ROLE_SERVICE | ROLE_SUPERVISOR | ROLE_ADMIN, BODY_JSON,
     LOOP_STEP(repair_file_start), BODY_CHECK(check_file), .wechat = WX_TEXT_CHECK},
};

void repairs_service_register(void)
{
    ROUTES_REGISTER(routes);
}
