#include "roles.h"

#include <string.h>

static const struct {
    unsigned bit;
    const char *name;
} names[] = {
    {ROLE_BUYER, "buyer"},           {ROLE_OWNER, "owner"}, {ROLE_AGENT, "agent"},     {ROLE_ENGINEER, "engineer"},
    {ROLE_SUPERVISOR, "supervisor"}, {ROLE_ADMIN, "admin"}, {ROLE_SERVICE, "service"},
};

unsigned role_from_name(const char *name)
{
    for (size_t i = 0; name && i < sizeof(names) / sizeof(names[0]); i++)
        if (strcmp(names[i].name, name) == 0)
            return names[i].bit;
    return 0;
}

const char *role_name(unsigned role_bit)
{
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (names[i].bit == role_bit)
            return names[i].name;
    return NULL;
}
