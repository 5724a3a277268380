/* phone.h: phone numbers as the users and owners tables store them. */
#ifndef GW_PHONE_H
#define GW_PHONE_H
#include <stddef.h>

/* The stored form of a full phone number: a mainland number as its 11
 * digits (as phone binding stores it; "+86" dropped), any other as
 * +<digits> (7-15 digits); spaces and dashes are dropped. Writes at most
 * outsz bytes (17 always fits). 0, or -1 when `in` is not a full phone
 * number (a part of one included). */
int phone_normalise(const char *in, char *out, size_t outsz);

#endif
