#include "domain/service/contact_limit.h"

#include "gateway/config.h"

int owner_contact_claim(db_conn_t *db, long long user_id, long long project_id, const char *kind, long long ref_id)
{
    long long one;
    /* The users row is the lock: an index gap lock on owner_contacts would
     * let two claimants both pass the check and then deadlock on insert. */
    int rc = db_query_int(db, &one, "SELECT 1 FROM users WHERE id = ? FOR UPDATE", DB_ARGS(DB_INT(user_id)));
    if (rc != 1)
        return rc < 0 ? -1 : 0;
    rc = db_query_int(db, &one, "SELECT 1 FROM owner_contacts WHERE kind = ? AND ref_id = ? AND user_id = ?",
                      DB_ARGS(DB_STR(kind), DB_INT(ref_id), DB_INT(user_id)));
    if (rc != 0)
        return rc < 0 ? -1 : 0;
    if (gw_cfg->owner_contact_min_days > 0) {
        rc = db_query_int(db, &one,
                          "SELECT 1 FROM owner_contacts WHERE user_id = ?"
                          " AND contacted_at > NOW(3) - INTERVAL ? DAY LIMIT 1",
                          DB_ARGS(DB_INT(user_id), DB_INT(gw_cfg->owner_contact_min_days)));
        if (rc != 0)
            return rc < 0 ? -1 : 0;
    }
    if (db_exec(db, "INSERT INTO owner_contacts (user_id, project_id, kind, ref_id) VALUES (?, ?, ?, ?)",
                DB_ARGS(DB_INT(user_id), DB_INT(project_id), DB_STR(kind), DB_INT(ref_id))) != 0)
        return -1;
    return 1;
}

long long owner_contact_last(db_conn_t *db, long long user_id)
{
    long long at = 0;
    int rc = db_query_int(db, &at,
                          "SELECT COALESCE(FLOOR(UNIX_TIMESTAMP(MAX(contacted_at))), 0) FROM owner_contacts"
                          " WHERE user_id = ?",
                          DB_ARGS(DB_INT(user_id)));
    return rc < 0 ? -1 : at;
}
