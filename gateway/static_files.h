/* static_files.h: the staff console's built files, served at /console/.
 *
 * The folder (console_dir) is read whole into memory at start and again on
 * SIGHUP, within fixed bounds (STATIC_MAX_FILES files, STATIC_MAX_BYTES in
 * all, STATIC_MAX_DEPTH folders deep; regular files only, symbolic links and
 * dot-files skipped). A request is answered only from that listing: its
 * path is compared with the names read from the folder, never joined to the
 * folder's path, so no path (encoded dots or not) can reach another file.
 *
 * Answers:
 *   - a listed file: 200 with its content type; files under assets/ carry a
 *     content hash in their name and are cached for a year (immutable);
 *     anything else (index.html) must be revalidated (no-cache);
 *   - /console, /console/ and every path whose last segment has no file
 *     extension: index.html (the client-side routes of the console);
 *   - anything else: 404; a method other than GET or HEAD: 405.
 * Every answer carries the console's Content-Security-Policy,
 * X-Content-Type-Options: nosniff and Referrer-Policy: no-referrer.
 *
 * A loaded set is shared by the loop threads and freed when the last
 * request still sending from it is done, so a reload never pulls a body
 * from under a response. */
#ifndef GW_STATIC_FILES_H
#define GW_STATIC_FILES_H
#include <stddef.h>

#define STATIC_MAX_FILES 1000
#define STATIC_MAX_BYTES (64u * 1024 * 1024)
#define STATIC_MAX_DEPTH 4
/* The path prefix the console is served under. */
#define STATIC_PREFIX "/console"

/* Sent with every console answer. */
#define STATIC_CSP                                                                                                     \
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:;"                             \
    " connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'; object-src 'none'"

typedef struct static_set static_set_t;

/* Reads the folder into a new set: NULL with *why set when the folder
 * cannot be read or is over a bound. A folder without index.html is
 * refused too (nothing could answer the console's routes). */
static_set_t *static_set_load(const char *dir, const char **why);
/* Drops the caller's reference (the set is freed with its last one). */
void static_set_release(static_set_t *s);
size_t static_set_count(const static_set_t *s);
size_t static_set_bytes(const static_set_t *s);

/* What a request for `path` (the normalised path without the query,
 * starting with STATIC_PREFIX) is answered with. body points into the set
 * and lives as long as the caller's reference. */
typedef struct {
    int status; /* 200, 404 or 405 */
    const char *body;
    size_t len;
    const char *content_type;
    const char *cache_control;
} static_answer_t;
void static_set_answer(const static_set_t *s, const char *method, const char *path, size_t path_len,
                       static_answer_t *out);

/* The process's set: loaded by static_files_init (at start; a missing or
 * refused folder is logged and the console answers 404 until a reload
 * loads it) and replaced by static_files_reload (SIGHUP: all or nothing;
 * -1 with the set in use kept when the folder is refused). */
void static_files_init(const char *dir);
int static_files_reload(const char *dir);
void static_files_shutdown(void);

struct st_h2o_hostconf_t;
/* Registers STATIC_PREFIX on the host (server set-up). */
void static_files_register(struct st_h2o_hostconf_t *host);

#endif
