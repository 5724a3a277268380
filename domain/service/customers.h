/* customers.h: the service desk's customers (客服工作台): lookup by phone,
 * the full phone on an audited request, and one view of a customer. DB
 * workers only; every function answers the call (handlers/service/
 * customers_service.c holds the routes).
 *
 * Every read is limited to the projects whose desk the caller works
 * (domain/service/desk_scope.h): another project's customers, units,
 * tickets or events never appear, and a customer of no such project is
 * 404 as if they did not exist.
 *
 * A customer is addressed as one of three kinds (miniprogram-api.md,
 * "Service desk"): `user` (a user id: someone who logged in), `owner` (an
 * owners.id: a roster entry, possibly of someone who never logged in) or
 * `lead` (a leads.id). A roster entry or lead with a user is the same
 * person as that user; one without is viewed by its phone alone (units and
 * leads carrying the same phone). */
#ifndef GW_CUSTOMERS_H
#define GW_CUSTOMERS_H
#include "gateway/call.h"

typedef enum { CUSTOMER_USER = 0, CUSTOMER_OWNER, CUSTOMER_LEAD } customer_kind_t;

/* The kinds' names, in the enum's order, NULL-terminated (for
 * query_enum_or_fail). */
extern const char *const customer_kind_names[];

/* At most this many rows of each section in the one view (then next_cursor
 * pages on with ?section=). */
#define CUSTOMER_SECTION_LIMIT 10
/* At most this many matches of each kind in a lookup. */
#define CUSTOMER_LOOKUP_LIMIT 50

/* The lookup: phone is a normalised full phone (gateway/phone.h); project
 * 0 for every project of the caller's desk. Answers {phone_masked,
 * matches: [...]}. */
void customers_lookup(gw_call_t *c, db_conn_t *db, const char *phone, long long project);

/* The one view of customer (kind, id): every section's first
 * CUSTOMER_SECTION_LIMIT rows. section non-NULL: that section alone, paged
 * with the call's cursor and limit (the list contract). */
void customers_view(gw_call_t *c, db_conn_t *db, customer_kind_t kind, long long id, const char *section);

/* The names of the view's sections, NULL-terminated (for
 * query_enum_or_fail). */
extern const char *const customer_section_names[];

/* The full phone of customer (kind, id), with an audit row (who, whom, why:
 * reason) in the same transaction. Answers {phone, phone_masked}; 404 for a
 * customer outside the caller's projects, 409 when no phone is known. */
void customers_reveal_phone(gw_call_t *c, db_conn_t *db, customer_kind_t kind, long long id, const char *reason);

#endif
