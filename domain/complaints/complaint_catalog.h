/* complaint_catalog.h: the complaint categories of a project.
 *
 * project_id 0 holds the defaults (物业服务, 工程质量, 销售承诺, 噪音, 邻里,
 * 其他, schema/029). A project gets its own copy of them the first time its
 * categories are read or used (complaint_catalog_ensure), so every complaint
 * names one of its project's own categories and a supervisor's change to a
 * project's category never touches another project. Each category holds a
 * first-response and a resolution budget per level and whether its clocks
 * count business time. DB workers only, inside the caller's transaction. */
#ifndef GW_COMPLAINT_CATALOG_H
#define GW_COMPLAINT_CATALOG_H
#include "gateway/db.h"

/* Copies the defaults into project_id when it has no category yet (INSERT
 * IGNORE on (project_id, code): two first uses at once copy once). 0 or -1. */
int complaint_catalog_ensure(db_conn_t *db, long long project_id);

/* The active category `code` of the project, its row locked FOR UPDATE when
 * `lock` (filing locks it before the insert: group-complaint detection counts
 * a category's complaints under that lock). 1 found (*id), 0 none, -1 error. */
int complaint_category_find(db_conn_t *db, long long project_id, const char *code, int lock, long long *id);

/* The SELECT list of a category as the API shows it (alias cc):
 * id, code, name, sort_order, active, business_hours, respond.<level>_s,
 * resolve.<level>_s. */
#define COMPLAINT_CATEGORY_COLUMNS                                                                                     \
    "cc.id AS id, cc.project_id AS project_id, cc.code AS code, cc.name AS name, cc.sort_order AS sort_order,"        \
    " cc.active AS active, cc.business_hours AS business_hours, cc.respond_normal_s AS \"respond.normal_s\","          \
    " cc.respond_hot_s AS \"respond.hot_s\", cc.respond_important_s AS \"respond.important_s\","                      \
    " cc.respond_major_s AS \"respond.major_s\", cc.resolve_normal_s AS \"resolve.normal_s\","                        \
    " cc.resolve_hot_s AS \"resolve.hot_s\", cc.resolve_important_s AS \"resolve.important_s\","                      \
    " cc.resolve_major_s AS \"resolve.major_s\""

#endif
