/* customers_service.c: the service desk's customers (客服工作台).
 *
 *   GET  /api/v1/service/customers?phone=&project=          find a caller by their full phone
 *   GET  /api/v1/service/customers/:id?kind=&section=       one view of a customer (a section paged)
 *   POST /api/v1/service/customers/:id/phone {kind?, reason} the full phone, audited
 *
 * For service-desk members (客服) and supervisors, within the projects
 * where they hold the role, and admins everywhere (domain/service/
 * desk_scope.h). The lookup takes a full phone only (a part of one could
 * enumerate customers) and answers the matches masked: users, roster
 * entries and leads with that phone, each with its project. The full phone
 * is a separate request that names its reason and leaves an audit row. The
 * lookup and the reveal have their own rate class (rate_customers_*): they
 * tell who is a customer. domain/service/customers.h does the work. */
#include <stdlib.h>
#include <string.h>

#include "gateway/call.h"
#include "gateway/json_util.h"
#include "gateway/phone.h"
#include "gateway/query.h"
#include "gateway/roles.h"
#include "handlers/handlers.h"
#include "domain/service/customers.h"

#define DESK (ROLE_SERVICE | ROLE_SUPERVISOR | ROLE_ADMIN)

static void lookup(gw_call_t *c, db_conn_t *db)
{
    const char *in;
    long long project;
    char phone[24];
    if (query_string_or_fail(c, "phone", 32, &in) != 0 || query_id_or_fail(c, "project", &project) != 0)
        return;
    if (!in) {
        call_fail(c, ERR_MISSING_FIELD, "phone", "phone is required: the caller's full phone number");
        return;
    }
    if (phone_normalise(in, phone, sizeof(phone)) != 0) {
        call_fail(
            c, ERR_INVALID_FIELD, "phone",
            "phone must be a full phone number (11 digits, or +<country code><number>); parts of one are refused");
        return;
    }
    customers_lookup(c, db, phone, project);
}

/* ?kind= (user by default): 0 with *kind, or -1 with the call failed. */
static int kind_or_fail(gw_call_t *c, customer_kind_t *kind)
{
    const char *k;
    if (query_enum_or_fail(c, "kind", customer_kind_names, "user", &k) != 0)
        return -1;
    for (int i = 0; customer_kind_names[i]; i++)
        if (!strcmp(customer_kind_names[i], k))
            *kind = (customer_kind_t)i;
    return 0;
}

static void view(gw_call_t *c, db_conn_t *db)
{
    long long id;
    customer_kind_t kind = CUSTOMER_USER;
    const char *section;
    if (call_param_id_or_fail(c, "id", &id) != 0 || kind_or_fail(c, &kind) != 0 ||
        query_enum_or_fail(c, "section", customer_section_names, NULL, &section) != 0)
        return;
    customers_view(c, db, kind, id, section);
}

typedef struct {
    customer_kind_t kind;
    const char *reason; /* into c->body */
} reveal_form_t;

static void check_reveal(gw_call_t *c)
{
    static const char *const known[] = {"kind", "reason", NULL};
    reveal_form_t *f = call_state_new_or_fail(c, 1, sizeof(*f), free);
    const char *kind;
    int present;
    if (!f || json_known_fields_or_fail(c, c->body, known) != 0 ||
        json_opt_string_or_fail(c, c->body, "kind", 1, 8, &kind) != 0 ||
        json_text_or_fail(c, c->body, "reason", 1, 2, 200, &f->reason, &present) != 0)
        return;
    f->kind = CUSTOMER_USER;
    if (kind) {
        int found = 0;
        for (int i = 0; customer_kind_names[i]; i++)
            if (!strcmp(customer_kind_names[i], kind)) {
                f->kind = (customer_kind_t)i;
                found = 1;
            }
        if (!found)
            call_fail(c, ERR_INVALID_FIELD, "kind", "kind must be user, owner or lead");
    }
}

static void reveal(gw_call_t *c, db_conn_t *db)
{
    const reveal_form_t *f = c->state;
    long long id;
    if (call_param_id_or_fail(c, "id", &id) != 0)
        return;
    customers_reveal_phone(c, db, f->kind, id, f->reason);
}

static const route_t routes[] = {
    {"GET", "/api/v1/service/customers", DESK, BODY_NONE, DB_STEP(lookup), .rate = RATE_CUSTOMERS},
    {"GET", "/api/v1/service/customers/:id", DESK, BODY_NONE, DB_STEP(view)},
    {"POST", "/api/v1/service/customers/:id/phone", DESK, BODY_JSON, DB_STEP(reveal), BODY_CHECK(check_reveal),
     .rate = RATE_CUSTOMERS},
};

void customers_service_register(void)
{
    ROUTES_REGISTER(routes);
}
