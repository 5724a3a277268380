/* repair_catalog.h: which repair categories a project uses.
 *
 * repair_categories rows with project_id 0 are the defaults; a project with
 * no category of its own uses them, and once it has one it uses only its
 * own. The first change an administrator makes to a project's categories
 * (repair_catalog_own) copies every default into the project (same code,
 * name, clocks, warranty, order and active flag) and moves the project's
 * tickets and dispatch rules from each default to its copy, so that from
 * then on every ticket and rule of the project names one of its own
 * categories, and a later change of the defaults no longer reaches it.
 * Defaults added afterwards are not copied into projects that already own
 * their categories. Categories are never deleted (tickets keep naming
 * them); one is retired by making it inactive. */
#ifndef GW_REPAIR_CATALOG_H
#define GW_REPAIR_CATALOG_H
#include "gateway/db.h"

/* SQL: the project_id of the category rows project `p` uses (p itself, or 0
 * for the defaults). `p` is an SQL expression: "?" (one parameter) or a
 * column. Example: "... WHERE c.project_id = " REPAIR_CATEGORY_SET("b.project_id"). */
#define REPAIR_CATEGORY_SET(p)                                                                                         \
    "(SELECT COALESCE(MAX(cs.project_id), 0) FROM repair_categories cs WHERE cs.project_id = " p ")"

/* DB worker, inside the caller's transaction: makes sure project_id owns
 * its categories (see above), locking the project row first so that two
 * first changes cannot both copy. 1 copied now, 0 already owned, -1 db
 * error (the caller rolls back). */
int repair_catalog_own(db_conn_t *db, long long project_id);

#endif
