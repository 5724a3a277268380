#include "handlers.h"

void handlers_register_all(void)
{
    health_register();
    auth_register();
    admin_staff_register();
}
