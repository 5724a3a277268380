/* lead_json.c: see lead_json.h. */
#include "domain/leads/lead_json.h"

#include <stdlib.h>

#include "domain/leads/lead_rules.h"
#include "gateway/db_json.h"
#include "gateway/json_util.h"
#include "gateway/mask.h"

/* Replaces the string o[key] with mask(string). */
static int mask_field(cJSON *o, const char *key, void (*mask)(const char *, char *, size_t))
{
    cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!cJSON_IsString(v))
        return 0;
    char masked[64];
    mask(v->valuestring, masked, sizeof(masked));
    return cJSON_SetValuestring(v, masked) ? 0 : -1;
}

int lead_json_mask_phone(cJSON *o, const char *key)
{
    return mask_field(o, key, mask_phone);
}

int lead_json_mask_name(cJSON *o, const char *key)
{
    return mask_field(o, key, lead_mask_name);
}

int lead_json_amount_display(cJSON *o)
{
    if (!cJSON_IsObject(o))
        return 0;
    const cJSON *kind = cJSON_GetObjectItemCaseSensitive(o, "kind");
    const cJSON *amount = cJSON_GetObjectItemCaseSensitive(o, "amount");
    char shown[32];
    /* db_row_json renders numbers as raw text. */
    long long value = cJSON_IsRaw(amount)      ? strtoll(amount->valuestring, NULL, 10)
                      : cJSON_IsNumber(amount) ? (long long)amount->valuedouble
                                               : 0;
    reward_amount_display(cJSON_IsString(kind) ? kind->valuestring : "", value, shown, sizeof(shown));
    return cJSON_AddStringToObject(o, "amount_display", shown) ? 0 : -1;
}

/* o[key], rendered null because every field of it is NULL, becomes an object
 * of those fields, each null. */
static int keep_object(cJSON *o, const char *key, const char *const fields[])
{
    if (!cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(o, key)))
        return 0;
    cJSON *obj = cJSON_CreateObject();
    if (!obj)
        return -1;
    for (int i = 0; fields[i]; i++)
        if (!cJSON_AddNullToObject(obj, fields[i])) {
            cJSON_Delete(obj);
            return -1;
        }
    if (!cJSON_ReplaceItemInObjectCaseSensitive(o, key, obj)) {
        cJSON_Delete(obj);
        return -1;
    }
    return 0;
}

int lead_json_finish(cJSON *o)
{
    static const char *const interest[] = {"layout", "area", "budget", NULL};
    static const char *const consent[] = {"at", "privacy_notice_version", NULL};
    return lead_json_mask_phone(o, "phone_masked") != 0 || keep_object(o, "interest", interest) != 0 ||
                   keep_object(o, "consent", consent) != 0
               ? -1
               : 0;
}

cJSON *lead_json_row(const db_rows_t *r, int row, void *ud)
{
    (void)ud;
    cJSON *o = db_row_json(r, row);
    if (o && lead_json_finish(o) != 0) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}
