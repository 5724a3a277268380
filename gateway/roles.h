/* roles.h: user roles as bits, so a route can allow several. */
#ifndef GW_ROLES_H
#define GW_ROLES_H

enum {
    ROLE_BUYER = 1u << 0,      /* every logged-in user */
    ROLE_OWNER = 1u << 1,      /* from the owner roster */
    ROLE_AGENT = 1u << 2,      /* granted per project */
    ROLE_ENGINEER = 1u << 3,   /* granted per project */
    ROLE_SUPERVISOR = 1u << 4, /* granted per project */
    ROLE_ADMIN = 1u << 5,      /* global */
    ROLE_SERVICE = 1u << 6,    /* 客服: the service desk, granted per project */
};
#define ROLE_ANY 0x80000000u /* route flag: any logged-in user */
#define ROLE_STAFF (ROLE_AGENT | ROLE_ENGINEER | ROLE_SUPERVISOR | ROLE_ADMIN | ROLE_SERVICE)
#define ROLE_LAST ROLE_SERVICE /* the highest role bit, for loops over every role */

/* "owner" -> ROLE_OWNER; 0 if unknown. */
unsigned role_from_name(const char *name);
const char *role_name(unsigned role_bit);

#endif
