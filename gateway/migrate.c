#include "migrate.h"

#include <dirent.h>
#include <errno.h>
#include <errmsg.h>
#include <mysql.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
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

int migrate_db_login(const gw_config_t *cfg, const char **user, char *password, size_t passwordsz)
{
    if (!*cfg->migrate_db_user) {
        *user = cfg->db_user;
        return snprintf(password, passwordsz, "%s", cfg->db_password) < (int)passwordsz ? 0 : -1;
    }
    *user = cfg->migrate_db_user;
    password[0] = '\0';
    if (!*cfg->migrate_db_password_file)
        return 0;
    FILE *f = fopen(cfg->migrate_db_password_file, "r");
    if (!f) {
        fprintf(stderr, "config: migrate_db_password_file: cannot open %s: %s\n", cfg->migrate_db_password_file,
                strerror(errno));
        return -1;
    }
    size_t n = fread(password, 1, passwordsz - 1, f);
    fclose(f);
    password[n] = '\0';
    password[strcspn(password, "\r\n")] = '\0';
    return 0;
}

static MYSQL *connect_db(const gw_config_t *cfg, int multi)
{
    const char *user;
    char password[1024];
    if (migrate_db_login(cfg, &user, password, sizeof(password)) != 0)
        return NULL;
    MYSQL *m = mysql_init(NULL);
    unsigned timeout = (unsigned)((cfg->db_connect_timeout_ms + 999) / 1000);
    mysql_options(m, MYSQL_OPT_CONNECT_TIMEOUT, &timeout);
    mysql_options(m, MYSQL_SET_CHARSET_NAME, "utf8mb4");
    db_apply_tls(m);
    const char *sock = cfg->db_socket && *cfg->db_socket ? cfg->db_socket : NULL;
    /* Schema changes need rights the serving user should not have. */
    MYSQL *ok = mysql_real_connect(m, sock ? NULL : cfg->db_host, user, password, cfg->db_name,
                                   sock ? 0 : (unsigned)cfg->db_port, sock, multi ? CLIENT_MULTI_STATEMENTS : 0);
    OPENSSL_cleanse(password, sizeof(password));
    if (!ok) {
        fprintf(stderr, "migrate: cannot connect to the database: %s\n", mysql_error(m));
        mysql_close(m);
        return NULL;
    }
    return m;
}

MYSQL *migrate_connect(const gw_config_t *cfg)
{
    return connect_db(cfg, 0);
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

/* 1 once this process holds the migration lock (waiting up to 60 s for
 * another migrator), else 0 with the reason printed. */
static int take_lock(MYSQL *m)
{
    if (mysql_query(m, "SELECT GET_LOCK('gateway_migrate', 60)") != 0) {
        fprintf(stderr, "migrate: %s\n", mysql_error(m));
        return 0;
    }
    MYSQL_RES *r = mysql_store_result(m);
    MYSQL_ROW row = r ? mysql_fetch_row(r) : NULL;
    int held = row && row[0] && strcmp(row[0], "1") == 0;
    mysql_free_result(r);
    if (!held)
        fprintf(stderr, "migrate: another migration still holds the lock; try again later\n");
    return held;
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
    if (!take_lock(m))
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

typedef struct {
    int found; /* a row came back */
    unsigned long long affected, insert_id;
} stmt_result_t;

/* Runs one prepared statement with bound parameters; returns 0 or -1. */
static int run_stmt(MYSQL *m, const char *sql, MYSQL_BIND *binds, stmt_result_t *res)
{
    MYSQL_STMT *st = mysql_stmt_init(m);
    int rc = -1;
    if (!st || mysql_stmt_prepare(st, sql, strlen(sql)) || (binds && mysql_stmt_bind_param(st, binds)) ||
        mysql_stmt_execute(st) || mysql_stmt_store_result(st)) {
        fprintf(stderr, "grant: %s\n", st ? mysql_stmt_error(st) : mysql_error(m));
        goto Exit;
    }
    res->found = mysql_stmt_num_rows(st) > 0;
    res->affected = mysql_stmt_affected_rows(st);
    res->insert_id = mysql_stmt_insert_id(st);
    rc = 0;
Exit:
    if (st)
        mysql_stmt_close(st);
    return rc;
}

static MYSQL_BIND bind_int(long long *v)
{
    MYSQL_BIND b;
    memset(&b, 0, sizeof(b));
    b.buffer_type = MYSQL_TYPE_LONGLONG;
    b.buffer = v;
    return b;
}

static MYSQL_BIND bind_str(const char *s)
{
    MYSQL_BIND b;
    memset(&b, 0, sizeof(b));
    b.buffer_type = MYSQL_TYPE_STRING;
    b.buffer = (void *)s;
    b.buffer_length = (unsigned long)strlen(s);
    return b;
}

int migrate_grant(const gw_config_t *cfg, const char *openid, const char *role, long long project_id)
{
    /* The same rules as POST /api/v1/admin/staff. */
    unsigned bit = role_from_name(role);
    if (!(bit & ROLE_STAFF)) {
        fprintf(stderr, "grant: --role must be agent, engineer, supervisor, service or admin\n");
        return -1;
    }
    if (bit == ROLE_ADMIN && project_id != 0) {
        fprintf(stderr, "grant: admin is a global role; omit --project\n");
        return -1;
    }
    if (bit != ROLE_ADMIN && project_id <= 0) {
        fprintf(stderr, "grant: --project (a project id) is required for %s\n", role);
        return -1;
    }
    if (!*openid || strlen(openid) > 128) {
        fprintf(stderr, "grant: --openid must be 1 to 128 characters\n");
        return -1;
    }
    MYSQL *m = connect_db(cfg, 0);
    if (!m)
        return -1;
    int rc = -1;
    stmt_result_t res;
    long long uid = 0;
    /* Bound parameters even here: the openid comes from the command line.
     * The user, the role and the audit row commit together. */
    if (query(m, "START TRANSACTION") != 0)
        goto Exit;
    if (project_id) {
        MYSQL_BIND b[] = {bind_int(&project_id)};
        if (run_stmt(m, "SELECT 1 FROM projects WHERE id = ?", b, &res) != 0)
            goto Exit;
        if (!res.found) {
            fprintf(stderr, "grant: project %lld does not exist\n", project_id);
            goto Exit;
        }
    }
    MYSQL_BIND ub[] = {bind_str(openid)};
    if (run_stmt(m, "INSERT INTO users (openid) VALUES (?) ON DUPLICATE KEY UPDATE id = LAST_INSERT_ID(id)", ub,
                 &res) != 0)
        goto Exit;
    uid = (long long)res.insert_id;
    MYSQL_BIND rb[] = {bind_int(&uid), bind_str(role), bind_int(&project_id)};
    if (run_stmt(m, "INSERT IGNORE INTO staff_roles (user_id, role, project_id) VALUES (?, ?, ?)", rb, &res) != 0)
        goto Exit;
    if (res.affected > 0) {
        MYSQL_BIND ab[] = {bind_int(&uid), bind_str(role), bind_int(&project_id)};
        if (run_stmt(m,
                     "INSERT INTO audit_log (actor_user_id, action, target_type, target_id, detail)"
                     " VALUES (NULL, 'staff.grant', 'user', ?, JSON_OBJECT('role', ?, 'project_id', ?, 'via', 'cli'))",
                     ab, &res) != 0)
            goto Exit;
    }
    if (query(m, "COMMIT") != 0)
        goto Exit;
    printf("grant: user %lld has role %s%s\n", uid, role, project_id ? " on the project" : "");
    rc = 0;
Exit:
    if (rc != 0)
        mysql_query(m, "ROLLBACK");
    mysql_close(m);
    return rc;
}
