/* handlers.h: each handler file exports one <resource>_register() that adds
 * its static route table to the router. */
#ifndef GW_HANDLERS_H
#define GW_HANDLERS_H

void health_register(void);
void auth_register(void);
void admin_staff_register(void);

/* Registers every resource; called once at start-up. */
void handlers_register_all(void);

#endif
