#include "static_files.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "metrics.h"
#include "server.h"
#include "workers.h"

typedef struct {
    char *name; /* relative to the folder: "index.html", "assets/index-abc.js" */
    char *data;
    size_t len;
    const char *content_type;
    int immutable; /* under assets/: the name changes with the content */
} static_file_t;

struct static_set {
    atomic_int refs;
    static_file_t *files; /* sorted by name */
    size_t count, cap;
    size_t bytes;
    const static_file_t *index;
};

static const struct {
    const char *ext;
    const char *type;
} content_types[] = {
    {".html", "text/html; charset=utf-8"},
    {".js", "text/javascript; charset=utf-8"},
    {".mjs", "text/javascript; charset=utf-8"},
    {".css", "text/css; charset=utf-8"},
    {".json", "application/json; charset=utf-8"},
    {".map", "application/json; charset=utf-8"},
    {".svg", "image/svg+xml"},
    {".png", "image/png"},
    {".jpg", "image/jpeg"},
    {".jpeg", "image/jpeg"},
    {".gif", "image/gif"},
    {".webp", "image/webp"},
    {".ico", "image/x-icon"},
    {".woff2", "font/woff2"},
    {".woff", "font/woff"},
    {".ttf", "font/ttf"},
    {".txt", "text/plain; charset=utf-8"},
};

/* The extension of the last segment ("" when it has none). */
static const char *extension_of(const char *path, size_t len)
{
    for (size_t i = len; i > 0; i--) {
        if (path[i - 1] == '/')
            return "";
        if (path[i - 1] == '.')
            return path + i - 1;
    }
    return "";
}

static const char *content_type_of(const char *name)
{
    const char *ext = extension_of(name, strlen(name));
    for (size_t i = 0; i < sizeof(content_types) / sizeof(content_types[0]); i++)
        if (!strcasecmp(ext, content_types[i].ext))
            return content_types[i].type;
    return "application/octet-stream";
}

static void set_free(static_set_t *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->count; i++) {
        free(s->files[i].name);
        free(s->files[i].data);
    }
    free(s->files);
    free(s);
}

void static_set_release(static_set_t *s)
{
    if (s && atomic_fetch_sub(&s->refs, 1) == 1)
        set_free(s);
}

size_t static_set_count(const static_set_t *s)
{
    return s ? s->count : 0;
}

size_t static_set_bytes(const static_set_t *s)
{
    return s ? s->bytes : 0;
}

/* Reads one regular file (opened relative to its folder, without following
 * a link) into the set. 0, or -1 with *why. */
static int add_file(static_set_t *s, int dirfd, const char *entry, const char *rel, const char **why)
{
    int rc = -1;
    char *data = NULL, *name = NULL;
    int fd = openat(dirfd, entry, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0) {
        *why = "a file of the folder cannot be read";
        goto Exit;
    }
    if (s->count == STATIC_MAX_FILES) {
        *why = "the folder has more files than the console may hold (STATIC_MAX_FILES)";
        goto Exit;
    }
    if ((size_t)st.st_size > STATIC_MAX_BYTES - s->bytes) {
        *why = "the folder's files are larger than the console may hold (STATIC_MAX_BYTES)";
        goto Exit;
    }
    size_t len = (size_t)st.st_size;
    if (!(data = malloc(len ? len : 1)) || !(name = strdup(rel))) {
        *why = "out of memory";
        goto Exit;
    }
    for (size_t got = 0; got < len;) {
        ssize_t n = read(fd, data + got, len - got);
        if (n <= 0) {
            if (n < 0 && errno == EINTR)
                continue;
            *why = "a file of the folder cannot be read whole";
            goto Exit;
        }
        got += (size_t)n;
    }
    if (s->count == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 32;
        static_file_t *files = realloc(s->files, cap * sizeof(*files));
        if (!files) {
            *why = "out of memory";
            goto Exit;
        }
        s->files = files;
        s->cap = cap;
    }
    s->files[s->count++] = (static_file_t){.name = name,
                                           .data = data,
                                           .len = len,
                                           .content_type = content_type_of(rel),
                                           .immutable = !strncmp(rel, "assets/", 7)};
    s->bytes += len;
    name = data = NULL;
    rc = 0;
Exit:
    if (fd >= 0)
        close(fd);
    free(name);
    free(data);
    return rc;
}

/* Adds the regular files of the folder `fd` (its path relative to the root
 * in `prefix`) and of its subfolders. Takes fd. */
static int add_folder(static_set_t *s, int fd, const char *prefix, int depth, const char **why)
{
    DIR *d = fdopendir(fd);
    if (!d) {
        close(fd);
        *why = "a folder of the console cannot be read";
        return -1;
    }
    int rc = 0;
    struct dirent *e;
    while (rc == 0 && (e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue; /* ".", "..", and dot-files are never served */
        char rel[512];
        int n = snprintf(rel, sizeof(rel), "%s%s", prefix, e->d_name);
        if (n < 0 || (size_t)n >= sizeof(rel) - 1) {
            *why = "a file name in the console folder is too long";
            rc = -1;
            break;
        }
        struct stat st;
        if (fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
            *why = "a file of the folder cannot be read";
            rc = -1;
        } else if (S_ISREG(st.st_mode)) {
            rc = add_file(s, dirfd(d), e->d_name, rel, why);
        } else if (S_ISDIR(st.st_mode)) {
            if (depth >= STATIC_MAX_DEPTH) {
                *why = "the console folder is nested deeper than STATIC_MAX_DEPTH";
                rc = -1;
                break;
            }
            int sub = openat(dirfd(d), e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            if (sub < 0) {
                *why = "a folder of the console cannot be read";
                rc = -1;
                break;
            }
            rel[n] = '/';
            rel[n + 1] = '\0';
            rc = add_folder(s, sub, rel, depth + 1, why);
        } /* links, sockets, devices: skipped */
    }
    closedir(d);
    return rc;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(((const static_file_t *)a)->name, ((const static_file_t *)b)->name);
}

static const static_file_t *find(const static_set_t *s, const char *name, size_t len)
{
    size_t lo = 0, hi = s->count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const char *m = s->files[mid].name;
        int cmp = strncmp(m, name, len);
        if (cmp == 0 && m[len] != '\0')
            cmp = 1; /* m is longer: it sorts after */
        if (cmp == 0)
            return &s->files[mid];
        if (cmp < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

static_set_t *static_set_load(const char *dir, const char **why)
{
    static_set_t *s = calloc(1, sizeof(*s));
    if (!s) {
        *why = "out of memory";
        return NULL;
    }
    atomic_init(&s->refs, 1);
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        *why = "the folder cannot be opened";
        goto Fail;
    }
    if (add_folder(s, fd, "", 0, why) != 0)
        goto Fail;
    if (s->count)
        qsort(s->files, s->count, sizeof(*s->files), by_name);
    if (!(s->index = find(s, "index.html", 10))) {
        *why = "the folder has no index.html";
        goto Fail;
    }
    return s;
Fail:
    set_free(s);
    return NULL;
}

void static_set_answer(const static_set_t *s, const char *method, const char *path, size_t path_len,
                       static_answer_t *out)
{
    static const char not_found[] = "not found\n", not_allowed[] = "only GET and HEAD are allowed here\n";
    *out = (static_answer_t){404, not_found, sizeof(not_found) - 1, "text/plain; charset=utf-8", "no-store"};
    if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0) {
        *out = (static_answer_t){405, not_allowed, sizeof(not_allowed) - 1, "text/plain; charset=utf-8", "no-store"};
        return;
    }
    size_t plen = sizeof(STATIC_PREFIX) - 1;
    if (!s || path_len < plen || memcmp(path, STATIC_PREFIX, plen) != 0 || (path_len > plen && path[plen] != '/'))
        return;
    const char *rel = path + plen + (path_len > plen ? 1 : 0);
    size_t rel_len = path_len - (size_t)(rel - path);
    const static_file_t *f = rel_len ? find(s, rel, rel_len) : NULL;
    if (!f && *extension_of(rel, rel_len) == '\0')
        f = s->index; /* a client-side route */
    if (!f)
        return;
    *out = (static_answer_t){200, f->data, f->len, f->content_type,
                             f->immutable ? "public, max-age=31536000, immutable" : "no-cache"};
}

/* ---- the process's set ---- */

static pthread_mutex_t current_lock = PTHREAD_MUTEX_INITIALIZER;
static static_set_t *current;

static static_set_t *acquire(void)
{
    pthread_mutex_lock(&current_lock);
    static_set_t *s = current;
    if (s)
        atomic_fetch_add(&s->refs, 1);
    pthread_mutex_unlock(&current_lock);
    return s;
}

static void install(static_set_t *s)
{
    pthread_mutex_lock(&current_lock);
    static_set_t *old = current;
    current = s;
    pthread_mutex_unlock(&current_lock);
    static_set_release(old);
}

void static_files_init(const char *dir)
{
    if (!*dir)
        return;
    const char *why = NULL;
    static_set_t *s = static_set_load(dir, &why);
    if (!s) {
        log_warn("console", "console_dir %s: %s; /console/ answers 404 until a reload loads it", dir, why);
        return;
    }
    log_info("console", "console_dir %s: %zu files, %zu bytes", dir, s->count, s->bytes);
    install(s);
}

int static_files_reload(const char *dir)
{
    const char *why = NULL;
    static_set_t *s = *dir ? static_set_load(dir, &why) : NULL;
    if (!s && *dir) {
        log_error("console", "reload: console_dir %s: %s; the files in use stay", dir, why);
        return -1;
    }
    install(s);
    log_info("console", "reload: console_dir %s: %zu files", dir, static_set_count(s));
    return 0;
}

void static_files_shutdown(void)
{
    install(NULL);
}

/* ---- serving ---- */

static void release_on_dispose(void *p)
{
    static_set_release(*(static_set_t **)p);
}

static void add_header(h2o_req_t *req, const h2o_token_t *token, const char *value)
{
    h2o_add_header(&req->pool, &req->res.headers, token, NULL, value, strlen(value));
}

static void add_header_by_name(h2o_req_t *req, const char *name, size_t name_len, const char *value)
{
    h2o_add_header_by_str(&req->pool, &req->res.headers, name, name_len, 0, NULL, value, strlen(value));
}

static int on_req(h2o_handler_t *self, h2o_req_t *req)
{
    (void)self;
    long long started = monotonic_ms();
    char method[8];
    size_t mlen = req->method.len < sizeof(method) - 1 ? req->method.len : sizeof(method) - 1;
    memcpy(method, req->method.base, mlen);
    method[mlen] = '\0';
    static_set_t *s = acquire();
    static_answer_t a;
    static_set_answer(s, method, req->path_normalized.base, req->path_normalized.len, &a);
    if (s) { /* the body points into the set: held until h2o is done with the request */
        static_set_t **slot = h2o_mem_alloc_shared(&req->pool, sizeof(*slot), release_on_dispose);
        *slot = s;
    }
    req->res.status = a.status;
    req->res.reason = a.status == 200 ? "OK" : a.status == 405 ? "Method Not Allowed" : "Not Found";
    req->res.content_length = a.len;
    add_header(req, H2O_TOKEN_CONTENT_TYPE, a.content_type);
    add_header(req, H2O_TOKEN_CACHE_CONTROL, a.cache_control);
    add_header_by_name(req, H2O_STRLIT("content-security-policy"), STATIC_CSP);
    add_header_by_name(req, H2O_STRLIT("x-content-type-options"), "nosniff");
    add_header_by_name(req, H2O_STRLIT("referrer-policy"), "no-referrer");
    if (a.status == 405)
        add_header(req, H2O_TOKEN_ALLOW, "GET, HEAD");
    metrics_request(method, "/console/*", a.status, (double)(monotonic_ms() - started) / 1000.0);
    static h2o_generator_t generator = {NULL, NULL}; /* one final send: nothing to proceed or stop */
    /* HEAD: the headers (and the length) of GET, no body. */
    h2o_iovec_t body = h2o_iovec_init(a.body, strcmp(method, "HEAD") ? a.len : 0);
    h2o_start_response(req, &generator);
    h2o_send(req, &body, 1, H2O_SEND_STATE_FINAL);
    return 0;
}

void static_files_register(struct st_h2o_hostconf_t *host)
{
    h2o_pathconf_t *path = h2o_config_register_path(host, STATIC_PREFIX, 0);
    h2o_handler_t *handler = h2o_create_handler(path, sizeof(*handler));
    handler->on_req = on_req;
}
