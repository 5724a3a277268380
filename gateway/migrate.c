#include "migrate.h"

#include <dirent.h>
#include <errmsg.h>
#include <mysql.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "roles.h"

typedef struct {
    long long version;
    char name[256];
} migration_t;

static int cmp_migration(const void *a, const void *b)
{
    long long x = ((const migration_t *)a)->version, y = ((const migration_t *)b)->version;
    return x < y ? -1 : x > y;
}

/* Lists NNN_*.sql files sorted by number; returns the count or -1. */
static int list_migrations(const char *dir, migration_t **out)
{
    DIR *d = opendir(dir);
    if (!d)
        return -1;
    int n = 0, cap = 16;
    migration_t *list = malloc(sizeof(*list) * (size_t)cap);
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t len = strlen(e->d_name);
        char *end;
        long long v = strtoll(e->d_name, &end, 10);
        if (end == e->d_name || *end != '_' || len < 5 || strcmp(e->d_name + len - 4, ".sql") != 0)
            continue;
        if (n == cap)
            list = realloc(list, sizeof(*list) * (size_t)(cap *= 2));
        list[n].version = v;
        snprintf(list[n].name, sizeof(list[n].name), "%s", e->d_name);
        n++;
    }
    closedir(d);
    qsort(list, (size_t)n, sizeof(*list), cmp_migration);
    *out = list;
    return n;
}

long long migrate_latest_file_version(const char *dir)
{
    migration_t *list = NULL;
    int n = list_migrations(dir, &list);
    long long v = n > 0 ? list[n - 1].version : -1;
    free(list);
    return v;
}

static MYSQL *connect_db(const gw_config_t *cfg, int multi)
{
    MYSQL *m = mysql_init(NULL);
    unsigned timeout = (unsigned)((cfg->db_connect_timeout_ms + 999) / 1000);
    mysql_options(m, MYSQL_OPT_CONNECT_TIMEOUT, &timeout);
    mysql_options(m, MYSQL_SET_CHARSET_NAME, "utf8mb4");
    const char *sock = cfg->db_socket && *cfg->db_socket ? cfg->db_socket : NULL;
    if (!mysql_real_connect(m, sock ? NULL : cfg->db_host, cfg->db_user, cfg->db_password, cfg->db_name,
                            sock ? 0 : (unsigned)cfg->db_port, sock, multi ? CLIENT_MULTI_STATEMENTS : 0)) {
        fprintf(stderr, "migrate: cannot connect to the database: %s\n", mysql_error(m));
        mysql_close(m);
        return NULL;
    }
    return m;
}

static int query(MYSQL *m, const char *sql)
{
    if (mysql_query(m, sql) != 0) {
        fprintf(stderr, "migrate: %s\n", mysql_error(m));
        return -1;
    }
    MYSQL_RES *r = mysql_store_result(m);
    mysql_free_result(r);
    return 0;
}

static char *read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)len + 1);
    if (buf && fread(buf, 1, (size_t)len, f) != (size_t)len) {
        free(buf);
        buf = NULL;
    }
    if (buf)
        buf[len] = '\0';
    fclose(f);
    return buf;
}

/* Runs a file of several statements; drains every result. */
static int run_script(MYSQL *m, const char *sql)
{
    if (mysql_query(m, sql) != 0)
        return -1;
    do {
        MYSQL_RES *r = mysql_store_result(m);
        mysql_free_result(r);
        if (mysql_errno(m))
            return -1;
    } while (mysql_next_result(m) == 0);
    return mysql_errno(m) ? -1 : 0;
}

static int applied(MYSQL *m, long long version)
{
    char q[128];
    snprintf(q, sizeof(q), "SELECT 1 FROM schema_migrations WHERE version = %lld", version);
    if (mysql_query(m, q) != 0)
        return -1;
    MYSQL_RES *r = mysql_store_result(m);
    int found = r && mysql_num_rows(r) > 0;
    mysql_free_result(r);
    return found;
}

int migrate_run(const gw_config_t *cfg)
{
    migration_t *list = NULL;
    int n = list_migrations(cfg->schema_dir, &list), rc = -1, count = 0;
    if (n < 0) {
        fprintf(stderr, "config: schema_dir: cannot read %s\n", cfg->schema_dir);
        return -1;
    }
    MYSQL *m = connect_db(cfg, 1);
    if (!m)
        goto Exit;
    if (query(m, "SELECT GET_LOCK('gateway_migrate', 60)") != 0)
        goto Exit;
    if (query(m, "CREATE TABLE IF NOT EXISTS schema_migrations ("
                 " version BIGINT NOT NULL PRIMARY KEY,"
                 " name VARCHAR(255) NOT NULL,"
                 " applied_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3)"
                 ") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4") != 0)
        goto Exit;
    for (int i = 0; i < n; i++) {
        int done = applied(m, list[i].version);
        if (done < 0) {
            fprintf(stderr, "migrate: %s\n", mysql_error(m));
            goto Exit;
        }
        if (done)
            continue;
        char path[1024];
        snprintf(path, sizeof(path), "%s/%s", cfg->schema_dir, list[i].name);
        char *sql = read_file(path);
        if (!sql) {
            fprintf(stderr, "migrate: cannot read %s\n", path);
            goto Exit;
        }
        int ok = run_script(m, sql);
        free(sql);
        if (ok != 0) {
            fprintf(stderr, "migrate: %s failed: %s\n", list[i].name, mysql_error(m));
            goto Exit;
        }
        char q[1200], esc[520];
        mysql_real_escape_string(m, esc, list[i].name, (unsigned long)strlen(list[i].name));
        snprintf(q, sizeof(q), "INSERT INTO schema_migrations (version, name) VALUES (%lld, '%s')", list[i].version,
                 esc);
        if (query(m, q) != 0)
            goto Exit;
        printf("migrate: applied %s\n", list[i].name);
        count++;
    }
    printf("migrate: %d applied, schema at version %lld\n", count, n ? list[n - 1].version : 0);
    rc = 0;
Exit:
    if (m) {
        query(m, "SELECT RELEASE_LOCK('gateway_migrate')");
        mysql_close(m);
    }
    free(list);
    return rc;
}

int migrate_grant(const gw_config_t *cfg, const char *openid, const char *role, long long project_id)
{
    if (!role_from_name(role) || !strcmp(role, "buyer") || !strcmp(role, "owner")) {
        fprintf(stderr, "grant: --role must be agent, engineer, supervisor or admin\n");
        return -1;
    }
    MYSQL *m = connect_db(cfg, 0);
    if (!m)
        return -1;
    int rc = -1;
    /* Bound parameters even here: the openid comes from the command line. */
    MYSQL_STMT *st = mysql_stmt_init(m);
    const char *ins = "INSERT INTO users (openid) VALUES (?) ON DUPLICATE KEY UPDATE id = LAST_INSERT_ID(id)";
    MYSQL_BIND b[3];
    memset(b, 0, sizeof(b));
    unsigned long olen = (unsigned long)strlen(openid), rlen = (unsigned long)strlen(role);
    b[0].buffer_type = MYSQL_TYPE_STRING;
    b[0].buffer = (void *)openid;
    b[0].buffer_length = olen;
    if (mysql_stmt_prepare(st, ins, strlen(ins)) || mysql_stmt_bind_param(st, b) || mysql_stmt_execute(st))
        goto Exit;
    long long uid = (long long)mysql_stmt_insert_id(st);
    mysql_stmt_close(st);
    st = mysql_stmt_init(m);
    const char *grant = "INSERT IGNORE INTO staff_roles (user_id, role, project_id) VALUES (?, ?, ?)";
    memset(b, 0, sizeof(b));
    b[0].buffer_type = MYSQL_TYPE_LONGLONG;
    b[0].buffer = &uid;
    b[1].buffer_type = MYSQL_TYPE_STRING;
    b[1].buffer = (void *)role;
    b[1].buffer_length = rlen;
    b[2].buffer_type = MYSQL_TYPE_LONGLONG;
    b[2].buffer = &project_id;
    if (mysql_stmt_prepare(st, grant, strlen(grant)) || mysql_stmt_bind_param(st, b) || mysql_stmt_execute(st))
        goto Exit;
    printf("grant: user %lld has role %s%s\n", uid, role, project_id ? " on the project" : "");
    rc = 0;
Exit:
    if (rc != 0)
        fprintf(stderr, "grant: %s\n", st ? mysql_stmt_error(st) : mysql_error(m));
    if (st)
        mysql_stmt_close(st);
    mysql_close(m);
    return rc;
}
