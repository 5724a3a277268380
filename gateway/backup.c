#include "backup.h"

#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <mysql.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "media_store.h"
#include "migrate.h"

#define DUMP_FILE "database.sql"
#define MEDIA_LIST "media.sha256"
#define MANIFEST "manifest.json"
#define MANIFEST_MAX (64 * 1024 * 1024)
#define MAX_TABLES 256
#define FORMAT_VERSION 1

/* ---- SHA-256 ---- */

static void hex_of(const unsigned char *d, size_t n, char *out)
{
    static const char hex[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = hex[d[i] >> 4];
        out[2 * i + 1] = hex[d[i] & 15];
    }
    out[2 * n] = '\0';
}

/* SHA-256 (hex) and size of a file; 0 or -1. */
static int sha256_file(const char *path, char out[65], long long *bytes)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return -1;
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    int rc = -1;
    unsigned char buf[65536];
    size_t n;
    *bytes = 0;
    if (!md || EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1)
        goto Exit;
    while ((n = fread(buf, 1, sizeof(buf), f)) > 0) {
        EVP_DigestUpdate(md, buf, n);
        *bytes += (long long)n;
    }
    if (ferror(f))
        goto Exit;
    unsigned char d[32];
    unsigned dl = sizeof(d);
    EVP_DigestFinal_ex(md, d, &dl);
    hex_of(d, dl, out);
    rc = 0;
Exit:
    EVP_MD_CTX_free(md);
    fclose(f);
    return rc;
}

/* ---- counting rows in a dump ---- */

/* mariadb-dump starts each INSERT at the start of a line ("INSERT INTO `t`
 * VALUES" then "(...),(...);", on one line or one row a line) and escapes
 * line breaks inside strings; a row is a '(' at depth 0 outside a quoted
 * string, up to the ';' that ends the statement. Fed in chunks. */
typedef struct {
    int state; /* 0 start of line, 1 rest of a line that is not an INSERT, 2 inside VALUES */
    char head[128];
    size_t hlen;
    int in_quote, escape, depth, table;
    int ntables;
    char names[MAX_TABLES][65];
    long long rows[MAX_TABLES];
    int overflow;
} row_counter_t;

static const char INSERT_HEAD[] = "INSERT INTO `";
static const char VALUES_HEAD[] = "` VALUES";
static int counter_table(row_counter_t *rc, const char *name, size_t len)
{
    for (int i = 0; i < rc->ntables; i++)
        if (strlen(rc->names[i]) == len && memcmp(rc->names[i], name, len) == 0)
            return i;
    if (rc->ntables == MAX_TABLES || len >= sizeof(rc->names[0])) {
        rc->overflow = 1;
        return -1;
    }
    memcpy(rc->names[rc->ntables], name, len);
    rc->names[rc->ntables][len] = '\0';
    rc->rows[rc->ntables] = 0;
    return rc->ntables++;
}

static const char CREATE_HEAD[] = "CREATE TABLE `";

/* "CREATE TABLE `t`": a table, counted even when it has no rows. */
static void counter_create(row_counter_t *rc)
{
    size_t ch = sizeof(CREATE_HEAD) - 1;
    if (memcmp(rc->head, CREATE_HEAD, rc->hlen < ch ? rc->hlen : ch) != 0) {
        rc->state = 1;
        return;
    }
    const char *tick = rc->hlen > ch ? memchr(rc->head + ch, '`', rc->hlen - ch) : NULL;
    if (tick) {
        counter_table(rc, rc->head + ch, (size_t)(tick - rc->head - ch));
        rc->state = 1;
    } else if (rc->hlen == sizeof(rc->head)) {
        rc->state = 1;
    }
}

/* At start of line: is the head so far still an INSERT head? Switches state when decided. */
static void counter_head(row_counter_t *rc)
{
    size_t ih = sizeof(INSERT_HEAD) - 1, vh = sizeof(VALUES_HEAD) - 1;
    if (rc->head[0] == 'C') {
        counter_create(rc);
        return;
    }
    if (rc->hlen <= ih) {
        if (memcmp(rc->head, INSERT_HEAD, rc->hlen) != 0)
            rc->state = 1;
        return;
    }
    const char *name = rc->head + ih;
    const char *tick = memchr(name, '`', rc->hlen - ih);
    if (!tick) {
        if (rc->hlen == sizeof(rc->head))
            rc->state = 1;
        return;
    }
    size_t after = rc->hlen - (size_t)(tick - rc->head);
    if (after < vh) {
        if (memcmp(tick, VALUES_HEAD, after) != 0)
            rc->state = 1;
        return;
    }
    if (memcmp(tick, VALUES_HEAD, vh) != 0) {
        rc->state = 1;
        return;
    }
    rc->table = counter_table(rc, name, (size_t)(tick - name));
    rc->state = rc->table < 0 ? 1 : 2;
    rc->in_quote = rc->escape = rc->depth = 0;
}

static void counter_feed(row_counter_t *rc, const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char ch = p[i];
        if (rc->state != 2 && ch == '\n') {
            rc->state = 0;
            rc->hlen = 0;
            continue;
        }
        switch (rc->state) {
        case 0:
            rc->head[rc->hlen++] = ch;
            counter_head(rc);
            break;
        case 1:
            break;
        case 2:
            if (rc->escape)
                rc->escape = 0;
            else if (rc->in_quote) {
                if (ch == '\\')
                    rc->escape = 1;
                else if (ch == '\'')
                    rc->in_quote = 0;
            } else if (ch == '\'')
                rc->in_quote = 1;
            else if (ch == '(') {
                if (rc->depth++ == 0)
                    rc->rows[rc->table]++;
            } else if (ch == ')')
                rc->depth--;
            else if (ch == ';' && rc->depth == 0)
                rc->state = 1;
            break;
        }
    }
}

/* ---- the mariadb client programs ---- */

/* Appends `key = "value"` to an option file; -1 for a value the format cannot carry. */
static int opt_line(char *buf, size_t bufsz, const char *key, const char *value)
{
    if (strpbrk(value, "\"\n\r"))
        return -1;
    size_t len = strlen(buf);
    char esc[1024];
    size_t o = 0;
    for (const char *p = value; *p; p++) {
        if (o + 3 >= sizeof(esc))
            return -1;
        if (*p == '\\')
            esc[o++] = '\\';
        esc[o++] = *p;
    }
    esc[o] = '\0';
    int n = snprintf(buf + len, bufsz - len, "%s=\"%s\"\n", key, esc);
    return n < 0 || (size_t)n >= bufsz - len ? -1 : 0;
}

/* The [client] options of the migration user, in a pipe whose read end is
 * returned (the client reads it as --defaults-extra-file=/dev/fd/N). */
static int client_options_fd(const gw_config_t *cfg)
{
    char opts[4096] = "[client]\n", password[1024];
    const char *user;
    if (migrate_db_login(cfg, &user, password, sizeof(password)) != 0)
        return -1;
    int bad = opt_line(opts, sizeof(opts), "user", user) || opt_line(opts, sizeof(opts), "password", password);
    if (*cfg->db_socket)
        bad = bad || opt_line(opts, sizeof(opts), "socket", cfg->db_socket);
    else {
        char port[16];
        snprintf(port, sizeof(port), "%d", cfg->db_port);
        bad = bad || opt_line(opts, sizeof(opts), "host", cfg->db_host) || opt_line(opts, sizeof(opts), "port", port);
    }
    if (cfg->db_tls) {
        bad = bad || opt_line(opts, sizeof(opts), "ssl", "1") ||
              opt_line(opts, sizeof(opts), "ssl-verify-server-cert", "1");
        if (*cfg->db_tls_ca_file)
            bad = bad || opt_line(opts, sizeof(opts), "ssl-ca", cfg->db_tls_ca_file);
    }
    bad = bad || opt_line(opts, sizeof(opts), "default-character-set", "utf8mb4");
    if (bad) {
        OPENSSL_cleanse(password, sizeof(password));
        fprintf(stderr, "backup: the database user, password or address holds a character the client options "
                        "cannot carry (\" or a line break)\n");
        return -1;
    }
    int p[2];
    if (pipe2(p, O_CLOEXEC) != 0)
        return -1;
    size_t len = strlen(opts); /* far below a pipe's buffer: the write never blocks */
    ssize_t w = write(p[1], opts, len);
    OPENSSL_cleanse(opts, sizeof(opts));
    OPENSSL_cleanse(password, sizeof(password));
    close(p[1]);
    if (w != (ssize_t)len) {
        close(p[0]);
        return -1;
    }
    return p[0];
}

/* Starts prog (mariadb-dump or mariadb) with the client options first and
 * stdin/stdout as given (-1 = inherit). Returns the pid or -1. */
static pid_t spawn_client(const gw_config_t *cfg, const char *prog, const char *const *args, int in_fd, int out_fd)
{
    int opt_fd = client_options_fd(cfg);
    if (opt_fd < 0)
        return -1;
    char opt_arg[64];
    snprintf(opt_arg, sizeof(opt_arg), "--defaults-extra-file=/dev/fd/%d", opt_fd);
    const char *argv[32];
    int n = 0;
    argv[n++] = prog;
    argv[n++] = opt_arg; /* must come first */
    for (int i = 0; args[i] && n < 31; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        if (in_fd >= 0)
            dup2(in_fd, 0);
        if (out_fd >= 0)
            dup2(out_fd, 1);
        fcntl(opt_fd, F_SETFD, 0);
        execvp(prog, (char *const *)argv);
        fprintf(stderr, "backup: cannot run %s: %s\n", prog, strerror(errno));
        _exit(127);
    }
    close(opt_fd);
    if (pid < 0)
        fprintf(stderr, "backup: fork: %s\n", strerror(errno));
    return pid;
}

static int wait_client(pid_t pid, const char *prog)
{
    int status;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            return -1;
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
        return 0;
    fprintf(stderr, "backup: %s failed (%s %d)\n", prog, WIFEXITED(status) ? "exit code" : "signal",
            WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
    return -1;
}

/* ---- photos ---- */

typedef int (*media_visit_t)(const char *key, void *arg);

/* Calls visit for every photo key under dir (<dir>/ab/cd/<key>); temporary
 * files of a write in progress are not photos. 0, or the first non-zero. */
static int walk_media(const char *dir, media_visit_t visit, void *arg)
{
    DIR *d1 = opendir(dir);
    if (!d1)
        return errno == ENOENT ? 0 : -1;
    int rc = 0;
    struct dirent *e1;
    while (rc == 0 && (e1 = readdir(d1))) {
        if (strlen(e1->d_name) != 2 || e1->d_name[0] == '.')
            continue;
        char p2[PATH_MAX - 8];
        if (snprintf(p2, sizeof(p2), "%s/%s", dir, e1->d_name) >= (int)sizeof(p2))
            continue;
        DIR *d2 = opendir(p2);
        if (!d2)
            continue;
        struct dirent *e2;
        while (rc == 0 && (e2 = readdir(d2))) {
            if (strlen(e2->d_name) != 2 || e2->d_name[0] == '.')
                continue;
            char p3[PATH_MAX];
            snprintf(p3, sizeof(p3), "%s/%.2s", p2, e2->d_name);
            DIR *d3 = opendir(p3);
            if (!d3)
                continue;
            struct dirent *e3;
            while (rc == 0 && (e3 = readdir(d3)))
                if (media_key_valid(e3->d_name) && !strncmp(e3->d_name, e1->d_name, 2) &&
                    !strncmp(e3->d_name + 2, e2->d_name, 2))
                    rc = visit(e3->d_name, arg);
            closedir(d3);
        }
        closedir(d2);
    }
    closedir(d1);
    return rc;
}

typedef struct {
    media_store_t *from, *to;
    FILE *list; /* backup: media.sha256 */
    long long files, bytes;
    cJSON *skipped; /* backup: keys whose bytes no longer match */
    uid_t uid;      /* restore as root: owner to give the copies */
    gid_t gid;
    const char *to_dir;
    int chown_to;
} copy_t;

/* Hands the photo, and the two folders above it, to the media_dir's owner. */
static void give_to_owner(const copy_t *c, const char *key)
{
    char p[PATH_MAX];
    snprintf(p, sizeof(p), "%s/%.2s", c->to_dir, key);
    if (lchown(p, c->uid, c->gid) != 0)
        return;
    snprintf(p, sizeof(p), "%s/%.2s/%.2s", c->to_dir, key, key + 2);
    if (lchown(p, c->uid, c->gid) != 0)
        return;
    snprintf(p, sizeof(p), "%s/%.2s/%.2s/%s", c->to_dir, key, key + 2, key);
    if (lchown(p, c->uid, c->gid) != 0)
        fprintf(stderr, "restore: cannot give %s to the media_dir's owner: %s\n", p, strerror(errno));
}

/* Copies one photo; the store names the copy by its SHA-256, so a copy
 * whose name differs from the key means the bytes changed. */
static int copy_photo(const char *key, void *arg)
{
    copy_t *c = arg;
    unsigned char *data = NULL;
    size_t len = 0;
    int got = media_store_get(c->from, key, &data, &len);
    if (got == 1)
        return 0; /* deleted meanwhile (an orphan upload swept) */
    if (got != 0) {
        fprintf(stderr, "backup: cannot read photo %s\n", key);
        return -1;
    }
    char copied[MEDIA_KEY_LEN + 1];
    int rc = media_store_put(c->to, data, len, copied);
    free(data);
    if (rc != 0) {
        fprintf(stderr, "backup: cannot write photo %s\n", key);
        return -1;
    }
    if (strcmp(copied, key) != 0) {
        fprintf(stderr, "backup: photo %s does not match its checksum; not copied\n", key);
        media_store_del(c->to, copied);
        if (c->skipped)
            cJSON_AddItemToArray(c->skipped, cJSON_CreateString(key));
        return c->skipped ? 0 : -1;
    }
    if (c->chown_to)
        give_to_owner(c, key);
    if (c->list)
        fprintf(c->list, "%s  media/%.2s/%.2s/%s\n", key, key, key + 2, key);
    c->files++;
    c->bytes += (long long)len;
    return 0;
}

/* ---- backup ---- */

static int dir_is_empty(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return errno == ENOENT ? 1 : -1;
    struct dirent *e;
    int empty = 1;
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
            empty = 0;
    closedir(d);
    return empty;
}

static void path_in(char *out, size_t outsz, const char *dir, const char *name)
{
    snprintf(out, outsz, "%s/%s", dir, name);
}

/* Runs mariadb-dump into DIR/database.sql, counting rows on the way. */
static int dump_database(const gw_config_t *cfg, const char *dir, row_counter_t *counter, char sha[65],
                         long long *bytes)
{
    char path[PATH_MAX];
    path_in(path, sizeof(path), dir, DUMP_FILE);
    int out = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (out < 0) {
        fprintf(stderr, "backup: cannot create %s: %s\n", path, strerror(errno));
        return -1;
    }
    int p[2];
    if (pipe2(p, O_CLOEXEC) != 0) {
        close(out);
        return -1;
    }
    /* One snapshot for every table, no table locks; rows as hex where binary. */
    /* Tables only (no CREATE DATABASE / USE): restore loads into the
     * database it is configured for, which may have another name. No DROP
     * TABLE either: loading into a database that has tables fails. The
     * stored routines come with the tables (the lead intake is one), as
     * schema_migrations says they exist. */
    const char *args[] = {"--single-transaction",
                          "--quick",
                          "--skip-lock-tables",
                          "--skip-add-locks",
                          "--skip-add-drop-table",
                          "--no-tablespaces",
                          "--hex-blob",
                          "--tz-utc",
                          "--routines",
                          cfg->db_name,
                          NULL};
    pid_t pid = spawn_client(cfg, "mariadb-dump", args, -1, p[1]);
    close(p[1]);
    if (pid < 0) {
        close(p[0]);
        close(out);
        return -1;
    }
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    EVP_DigestInit_ex(md, EVP_sha256(), NULL);
    char buf[65536];
    ssize_t n;
    int rc = 0;
    *bytes = 0;
    while ((n = read(p[0], buf, sizeof(buf))) != 0) {
        if (n < 0) {
            if (errno == EINTR)
                continue;
            rc = -1;
            break;
        }
        EVP_DigestUpdate(md, buf, (size_t)n);
        counter_feed(counter, buf, (size_t)n);
        *bytes += n;
        for (ssize_t off = 0; off < n && rc == 0;) {
            ssize_t w = write(out, buf + off, (size_t)(n - off));
            if (w < 0 && errno != EINTR) {
                fprintf(stderr, "backup: cannot write %s: %s\n", path, strerror(errno));
                rc = -1;
            }
            off += w > 0 ? w : 0;
        }
        if (rc != 0)
            break;
    }
    close(p[0]);
    if (wait_client(pid, "mariadb-dump") != 0)
        rc = -1;
    unsigned char d[32];
    unsigned dl = sizeof(d);
    EVP_DigestFinal_ex(md, d, &dl);
    EVP_MD_CTX_free(md);
    hex_of(d, dl, sha);
    if (fsync(out) != 0)
        rc = -1;
    close(out);
    if (counter->overflow) {
        fprintf(stderr, "backup: more than %d tables or a table name over 64 characters\n", MAX_TABLES);
        rc = -1;
    }
    return rc;
}

static int write_file_atomic(const char *dir, const char *name, const char *text)
{
    char tmp[PATH_MAX], path[PATH_MAX];
    snprintf(tmp, sizeof(tmp), "%s/.%s.tmp", dir, name);
    path_in(path, sizeof(path), dir, name);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return -1;
    size_t len = strlen(text);
    int ok = write(fd, text, len) == (ssize_t)len && fsync(fd) == 0;
    close(fd);
    if (!ok || rename(tmp, path) != 0) {
        unlink(tmp);
        return -1;
    }
    return 0;
}

static void iso_now(char *out, size_t outsz)
{
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(out, outsz, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

int backup_run(const gw_config_t *cfg, const char *dir)
{
    int rc = -1;
    row_counter_t *counter = calloc(1, sizeof(*counter));
    media_store_t *live = NULL, *copy = NULL;
    FILE *list = NULL;
    cJSON *manifest = NULL;
    char *text = NULL;
    if (!counter)
        return -1;
    int empty = dir_is_empty(dir);
    if (empty != 1) {
        fprintf(stderr, "backup: %s %s; give a new or empty folder\n", dir,
                empty < 0 ? "cannot be read" : "is not empty");
        goto Exit;
    }
    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
        fprintf(stderr, "backup: cannot create %s: %s\n", dir, strerror(errno));
        goto Exit;
    }
    char started[32], dump_sha[65], list_sha[65], path[PATH_MAX];
    long long dump_bytes = 0, list_bytes = 0;
    iso_now(started, sizeof(started));
    /* The database first: the photos copied after it include every photo
     * that a row in the dump references. */
    if (dump_database(cfg, dir, counter, dump_sha, &dump_bytes) != 0)
        goto Exit;
    path_in(path, sizeof(path), dir, "media");
    if (mkdir(path, 0700) != 0) {
        fprintf(stderr, "backup: cannot create %s: %s\n", path, strerror(errno));
        goto Exit;
    }
    live = media_store_fs_new(cfg->media_dir);
    copy = media_store_fs_new(path);
    path_in(path, sizeof(path), dir, MEDIA_LIST);
    list = fopen(path, "w");
    manifest = cJSON_CreateObject();
    if (!live || !copy || !list || !manifest) {
        fprintf(stderr, "backup: cannot set up the photo copy\n");
        goto Exit;
    }
    copy_t c = {.from = live, .to = copy, .list = list, .skipped = cJSON_CreateArray()};
    int walked = walk_media(cfg->media_dir, copy_photo, &c);
    int closed = fclose(list);
    list = NULL;
    if (walked != 0 || closed != 0 || sha256_file(path, list_sha, &list_bytes) != 0) {
        fprintf(stderr, "backup: copying the photos from %s failed\n", cfg->media_dir);
        cJSON_Delete(c.skipped);
        goto Exit;
    }
    char finished[32];
    iso_now(finished, sizeof(finished));
    cJSON_AddNumberToObject(manifest, "format", FORMAT_VERSION);
    cJSON_AddStringToObject(manifest, "started_at", started);
    cJSON_AddStringToObject(manifest, "finished_at", finished);
    cJSON *db = cJSON_AddObjectToObject(manifest, "database");
    cJSON_AddStringToObject(db, "name", cfg->db_name);
    cJSON_AddStringToObject(db, "file", DUMP_FILE);
    cJSON_AddNumberToObject(db, "bytes", (double)dump_bytes);
    cJSON_AddStringToObject(db, "sha256", dump_sha);
    cJSON *tables = cJSON_AddObjectToObject(db, "tables");
    long long total = 0;
    for (int i = 0; i < counter->ntables; i++) {
        cJSON_AddNumberToObject(tables, counter->names[i], (double)counter->rows[i]);
        total += counter->rows[i];
    }
    cJSON_AddNumberToObject(db, "rows", (double)total);
    cJSON *media = cJSON_AddObjectToObject(manifest, "media");
    cJSON_AddStringToObject(media, "list", MEDIA_LIST);
    cJSON_AddStringToObject(media, "list_sha256", list_sha);
    cJSON_AddNumberToObject(media, "files", (double)c.files);
    cJSON_AddNumberToObject(media, "bytes", (double)c.bytes);
    cJSON_AddItemToObject(media, "skipped", c.skipped);
    text = cJSON_Print(manifest);
    if (!text || write_file_atomic(dir, MANIFEST, text) != 0) {
        fprintf(stderr, "backup: cannot write %s/%s\n", dir, MANIFEST);
        goto Exit;
    }
    printf("backup: %s: %lld rows in %d tables, %lld photos (%lld bytes)%s\n", dir, total, counter->ntables, c.files,
           c.bytes, cJSON_GetArraySize(c.skipped) ? "; some photos skipped, see above" : "");
    rc = 0;
Exit:
    if (list)
        fclose(list);
    if (live)
        live->ops->destroy(live);
    if (copy)
        copy->ops->destroy(copy);
    cJSON_Delete(manifest);
    free(text);
    free(counter);
    return rc;
}

/* ---- restore ---- */

static cJSON *read_manifest(const char *dir)
{
    char path[PATH_MAX];
    path_in(path, sizeof(path), dir, MANIFEST);
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "restore: %s: %s (an unfinished backup has none)\n", path, strerror(errno));
        return NULL;
    }
    char *buf = malloc(MANIFEST_MAX);
    size_t n = buf ? fread(buf, 1, MANIFEST_MAX, f) : 0;
    fclose(f);
    cJSON *m = buf && n < MANIFEST_MAX ? cJSON_ParseWithLength(buf, n) : NULL;
    free(buf);
    cJSON *fmt = cJSON_GetObjectItem(m, "format");
    if (!m || !cJSON_IsNumber(fmt) || fmt->valueint != FORMAT_VERSION) {
        fprintf(stderr, "restore: %s is not a backup manifest of format %d\n", path, FORMAT_VERSION);
        cJSON_Delete(m);
        return NULL;
    }
    return m;
}

static int check_file(const char *dir, const char *name, const char *want_sha, double want_bytes)
{
    char path[PATH_MAX], sha[65];
    long long bytes;
    path_in(path, sizeof(path), dir, name);
    if (sha256_file(path, sha, &bytes) != 0) {
        fprintf(stderr, "restore: cannot read %s\n", path);
        return -1;
    }
    if (!want_sha || strcmp(sha, want_sha) != 0 || (want_bytes >= 0 && (double)bytes != want_bytes)) {
        fprintf(stderr, "restore: %s does not match the manifest's checksum\n", path);
        return -1;
    }
    return 0;
}

/* Every photo listed is in the backup with the bytes its name says. */
static int check_photos(const char *dir, long long *files)
{
    char path[PATH_MAX], line[256];
    path_in(path, sizeof(path), dir, MEDIA_LIST);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    path_in(path, sizeof(path), dir, "media");
    media_store_t *store = media_store_fs_new(path);
    int rc = store ? 0 : -1;
    *files = 0;
    while (rc == 0 && fgets(line, sizeof(line), f)) {
        line[strcspn(line, " \n")] = '\0';
        unsigned char *data = NULL;
        size_t len = 0;
        char key[MEDIA_KEY_LEN + 1];
        if (!media_key_valid(line) || media_store_get(store, line, &data, &len) != 0) {
            fprintf(stderr, "restore: photo %s is listed but missing from the backup\n", line);
            rc = -1;
        } else {
            media_key_of(data, len, key);
            if (strcmp(key, line) != 0) {
                fprintf(stderr, "restore: photo %s in the backup does not match its checksum\n", line);
                rc = -1;
            }
            (*files)++;
        }
        free(data);
    }
    fclose(f);
    if (store)
        store->ops->destroy(store);
    return rc;
}

static int query_count(MYSQL *m, const char *sql, long long *out)
{
    if (mysql_query(m, sql) != 0) {
        fprintf(stderr, "restore: %s\n", mysql_error(m));
        return -1;
    }
    MYSQL_RES *r = mysql_store_result(m);
    MYSQL_ROW row = r ? mysql_fetch_row(r) : NULL;
    int ok = row && row[0];
    *out = ok ? strtoll(row[0], NULL, 10) : -1;
    mysql_free_result(r);
    return ok ? 0 : -1;
}

static int valid_table_name(const char *s)
{
    if (!*s || strlen(s) > 64)
        return 0;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') || *s == '_'))
            return 0;
    return 1;
}

static int has_photo(const char *key, void *arg)
{
    (void)key;
    (void)arg;
    return 1;
}

int restore_run(const gw_config_t *cfg, const char *dir)
{
    int rc = -1, in = -1;
    MYSQL *m = NULL;
    media_store_t *from = NULL, *to = NULL;
    cJSON *man = read_manifest(dir);
    if (!man)
        return -1;
    cJSON *db = cJSON_GetObjectItem(man, "database"), *media = cJSON_GetObjectItem(man, "media");
    cJSON *tables = cJSON_GetObjectItem(db, "tables");
    cJSON *bytes = cJSON_GetObjectItem(db, "bytes"), *files = cJSON_GetObjectItem(media, "files");
    if (!cJSON_IsObject(tables) || !cJSON_IsNumber(bytes) || !cJSON_IsNumber(files)) {
        fprintf(stderr, "restore: the manifest lacks the database or media section\n");
        goto Exit;
    }
    /* 1. The backup is whole: nothing is touched otherwise. */
    long long photos = 0;
    if (check_file(dir, DUMP_FILE, cJSON_GetStringValue(cJSON_GetObjectItem(db, "sha256")), bytes->valuedouble) != 0 ||
        check_file(dir, MEDIA_LIST, cJSON_GetStringValue(cJSON_GetObjectItem(media, "list_sha256")), -1) != 0 ||
        check_photos(dir, &photos) != 0)
        goto Exit;
    if ((double)photos != files->valuedouble) {
        fprintf(stderr, "restore: %lld photos listed, the manifest says %.0f\n", photos, files->valuedouble);
        goto Exit;
    }
    cJSON *t;
    cJSON_ArrayForEach(t, tables) if (!valid_table_name(t->string) || !cJSON_IsNumber(t))
    {
        fprintf(stderr, "restore: the manifest names a table badly\n");
        goto Exit;
    }
    /* 2. The target is empty: a restore never merges into live data. */
    if (!(m = migrate_connect(cfg)))
        goto Exit;
    long long ntables;
    if (query_count(m, "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = DATABASE()", &ntables) != 0)
        goto Exit;
    if (ntables != 0) {
        fprintf(stderr, "restore: database %s already has %lld tables; restore into an empty database\n", cfg->db_name,
                ntables);
        goto Exit;
    }
    if (walk_media(cfg->media_dir, has_photo, NULL) != 0) {
        fprintf(stderr, "restore: %s already holds photos; restore into an empty media_dir\n", cfg->media_dir);
        goto Exit;
    }
    /* 3. The rows. */
    char path[PATH_MAX];
    path_in(path, sizeof(path), dir, DUMP_FILE);
    if ((in = open(path, O_RDONLY | O_CLOEXEC)) < 0)
        goto Exit;
    const char *args[] = {"--batch", cfg->db_name, NULL};
    pid_t pid = spawn_client(cfg, "mariadb", args, in, -1);
    if (pid < 0 || wait_client(pid, "mariadb") != 0) {
        fprintf(stderr, "restore: loading %s failed; drop what was created before trying again\n", path);
        goto Exit;
    }
    /* 4. The photos, owned like media_dir when run as root. */
    if (mkdir(cfg->media_dir, 0750) != 0 && errno != EEXIST) {
        fprintf(stderr, "restore: cannot create %s: %s\n", cfg->media_dir, strerror(errno));
        goto Exit;
    }
    path_in(path, sizeof(path), dir, "media");
    from = media_store_fs_new(path);
    to = media_store_fs_new(cfg->media_dir);
    struct stat sb;
    if (!from || !to || stat(cfg->media_dir, &sb) != 0)
        goto Exit;
    copy_t c = {.from = from,
                .to = to,
                .uid = sb.st_uid,
                .gid = sb.st_gid,
                .to_dir = cfg->media_dir,
                .chown_to = geteuid() == 0 && sb.st_uid != 0};
    if (walk_media(path, copy_photo, &c) != 0 || c.files != photos) {
        fprintf(stderr, "restore: copying the photos into %s failed\n", cfg->media_dir);
        goto Exit;
    }
    /* 5. Every table holds the rows the backup counted. */
    int bad = 0;
    long long total = 0;
    cJSON_ArrayForEach(t, tables)
    {
        char q[160];
        long long n;
        snprintf(q, sizeof(q), "SELECT COUNT(*) FROM `%s`", t->string);
        if (query_count(m, q, &n) != 0 || (double)n != t->valuedouble) {
            fprintf(stderr, "restore: table %s has %lld rows; the backup has %.0f\n", t->string, n, t->valuedouble);
            bad = 1;
        }
        total += n;
    }
    long long version = -1;
    query_count(m, "SELECT COALESCE(MAX(version), -1) FROM schema_migrations", &version);
    if (bad)
        goto Exit;
    printf("restore: %lld rows in %d tables, %lld photos; schema at version %lld\n", total, cJSON_GetArraySize(tables),
           c.files, version);
    rc = 0;
Exit:
    if (in >= 0)
        close(in);
    if (m)
        mysql_close(m);
    if (from)
        from->ops->destroy(from);
    if (to)
        to->ops->destroy(to);
    cJSON_Delete(man);
    return rc;
}
