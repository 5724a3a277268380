#include "media_store.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"

void media_key_of(const void *data, size_t len, char *out)
{
    static const char hex[] = "0123456789abcdef";
    unsigned char d[SHA256_DIGEST_LENGTH];
    SHA256(data, len, d);
    for (int i = 0; i < SHA256_DIGEST_LENGTH; i++) {
        out[2 * i] = hex[d[i] >> 4];
        out[2 * i + 1] = hex[d[i] & 15];
    }
    out[MEDIA_KEY_LEN] = '\0';
}

int media_key_valid(const char *key)
{
    if (!key || strlen(key) != MEDIA_KEY_LEN)
        return 0;
    for (int i = 0; i < MEDIA_KEY_LEN; i++)
        if (!((key[i] >= '0' && key[i] <= '9') || (key[i] >= 'a' && key[i] <= 'f')))
            return 0;
    return 1;
}

/* ---- files under a directory ---- */

typedef struct {
    char dir[PATH_MAX / 2];
} fs_store_t;

static int fs_path(const fs_store_t *fs, const char *key, char *out, size_t outsz)
{
    int n = snprintf(out, outsz, "%s/%.2s/%.2s/%s", fs->dir, key, key + 2, key);
    return n < 0 || (size_t)n >= outsz ? -1 : 0;
}

static int mkdir_one(const char *path)
{
    return mkdir(path, 0750) == 0 || errno == EEXIST ? 0 : -1;
}

/* <dir>/ab/cd, created as needed. */
static int fs_make_dirs(const fs_store_t *fs, const char *key)
{
    char p[PATH_MAX];
    snprintf(p, sizeof(p), "%s/%.2s", fs->dir, key);
    if (mkdir_one(p) != 0)
        return -1;
    snprintf(p, sizeof(p), "%s/%.2s/%.2s", fs->dir, key, key + 2);
    return mkdir_one(p);
}

static int write_all(int fd, const unsigned char *p, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

static int fs_put(media_store_t *s, const void *data, size_t len, char *out_key)
{
    fs_store_t *fs = s->impl;
    char path[PATH_MAX], tmp[PATH_MAX];
    int fd = -1, rc = -1;
    media_key_of(data, len, out_key);
    if (fs_path(fs, out_key, path, sizeof(path)) != 0)
        return -1;
    struct stat sb;
    if (stat(path, &sb) == 0 && (size_t)sb.st_size == len)
        return 0; /* the same content is already there */
    if (fs_make_dirs(fs, out_key) != 0) {
        log_error("media", "cannot create the folder for %s: %s", path, strerror(errno));
        return -1;
    }
    unsigned char rnd[8];
    if (RAND_bytes(rnd, sizeof(rnd)) != 1)
        return -1;
    int n = snprintf(tmp, sizeof(tmp), "%s.tmp-%02x%02x%02x%02x%02x%02x%02x%02x", path, rnd[0], rnd[1], rnd[2], rnd[3],
                     rnd[4], rnd[5], rnd[6], rnd[7]);
    if (n < 0 || (size_t)n >= sizeof(tmp))
        return -1;
    fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
    if (fd < 0) {
        log_error("media", "cannot create %s: %s", tmp, strerror(errno));
        return -1;
    }
    if (write_all(fd, data, len) != 0 || fsync(fd) != 0) {
        log_error("media", "cannot write %s: %s", tmp, strerror(errno));
        goto Exit;
    }
    if (close(fd) != 0) {
        fd = -1;
        goto Exit;
    }
    fd = -1;
    if (rename(tmp, path) != 0) {
        log_error("media", "cannot rename %s into place: %s", tmp, strerror(errno));
        goto Exit;
    }
    /* The rename itself survives a crash once its folder is synced. */
    char *slash = strrchr(path, '/');
    *slash = '\0';
    int dfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        fsync(dfd);
        close(dfd);
    }
    rc = 0;
Exit:
    if (fd >= 0)
        close(fd);
    if (rc != 0)
        unlink(tmp);
    return rc;
}

static int fs_get(media_store_t *s, const char *key, unsigned char **data, size_t *len)
{
    fs_store_t *fs = s->impl;
    char path[PATH_MAX];
    *data = NULL;
    *len = 0;
    if (!media_key_valid(key) || fs_path(fs, key, path, sizeof(path)) != 0)
        return -1;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT ? 1 : -1;
    int rc = -1;
    unsigned char *buf = NULL;
    struct stat sb;
    if (fstat(fd, &sb) != 0 || sb.st_size < 0)
        goto Exit;
    size_t size = (size_t)sb.st_size, got = 0;
    if (!(buf = malloc(size ? size : 1)))
        goto Exit;
    while (got < size) {
        ssize_t n = read(fd, buf + got, size - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            goto Exit;
        got += (size_t)n;
    }
    *data = buf;
    *len = size;
    buf = NULL;
    rc = 0;
Exit:
    if (rc != 0)
        log_error("media", "cannot read %s: %s", path, strerror(errno));
    free(buf);
    close(fd);
    return rc;
}

static int fs_del(media_store_t *s, const char *key)
{
    fs_store_t *fs = s->impl;
    char path[PATH_MAX];
    if (!media_key_valid(key) || fs_path(fs, key, path, sizeof(path)) != 0)
        return -1;
    if (unlink(path) != 0 && errno != ENOENT) {
        log_error("media", "cannot delete %s: %s", path, strerror(errno));
        return -1;
    }
    return 0;
}

static void fs_destroy(media_store_t *s)
{
    free(s->impl);
    free(s);
}

static const media_store_ops_t fs_ops = {fs_put, fs_get, fs_del, fs_destroy};

media_store_t *media_store_fs_new(const char *dir)
{
    if (!dir || !*dir || strlen(dir) >= sizeof(((fs_store_t *)0)->dir))
        return NULL;
    /* The root is created like `mkdir -p`; the fan-out folders on demand. */
    char p[PATH_MAX];
    snprintf(p, sizeof(p), "%s", dir);
    for (char *q = p + 1; *q; q++)
        if (*q == '/') {
            *q = '\0';
            if (mkdir_one(p) != 0)
                return NULL;
            *q = '/';
        }
    if (mkdir_one(p) != 0)
        return NULL;
    media_store_t *s = calloc(1, sizeof(*s));
    fs_store_t *fs = calloc(1, sizeof(*fs));
    if (!s || !fs) {
        free(s);
        free(fs);
        return NULL;
    }
    snprintf(fs->dir, sizeof(fs->dir), "%s", dir);
    s->ops = &fs_ops;
    s->impl = fs;
    return s;
}

/* ---- the process-wide store ---- */

static media_store_t *default_store;

int media_store_open_default(const char *dir)
{
    if (default_store)
        return 0;
    default_store = media_store_fs_new(dir);
    if (!default_store) {
        log_error("media", "cannot use media_dir %s: %s", dir, strerror(errno));
        return -1;
    }
    return 0;
}

media_store_t *media_store_default(void)
{
    return default_store;
}
