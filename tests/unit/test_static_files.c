/* The console's static files: what is loaded from the folder and what each
 * request path is answered with (gateway/static_files.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gateway/static_files.h"
#include "test.h"

static char root[64];

static void write_file(const char *rel, const char *content)
{
    char path[256];
    snprintf(path, sizeof(path), "%s/%s", root, rel);
    FILE *f = fopen(path, "w");
    if (f) {
        fputs(content, f);
        fclose(f);
    }
}

static void make_folder(void)
{
    snprintf(root, sizeof(root), "/tmp/gw-static-XXXXXX");
    if (!mkdtemp(root))
        abort();
    char path[256];
    snprintf(path, sizeof(path), "%s/assets", root);
    mkdir(path, 0755);
    write_file("index.html", "<!doctype html><title>console</title>");
    write_file("favicon.ico", "ICO");
    write_file("assets/index-AbC123.js", "console.log(1)");
    write_file("assets/index-AbC123.css", "body{}");
    write_file(".hidden", "secret");
    /* a link out of the folder is never followed */
    snprintf(path, sizeof(path), "%s/assets/passwd.js", root);
    if (symlink("/etc/passwd", path) != 0)
        abort();
}

static void remove_folder(void)
{
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
    if (system(cmd) != 0)
        printf("# could not remove %s\n", root);
}

static static_answer_t answer(const static_set_t *s, const char *method, const char *path)
{
    static_answer_t a;
    static_set_answer(s, method, path, strlen(path), &a);
    return a;
}

static void test_loads_regular_files_only(void)
{
    const char *why = NULL;
    static_set_t *s = static_set_load(root, &why);
    CHECK(s != NULL);
    CHECK_INT(static_set_count(s), 4); /* no dot-file, no link */
    static_set_release(s);
}

static void test_assets_are_immutable(void)
{
    const char *why = NULL;
    static_set_t *s = static_set_load(root, &why);
    static_answer_t a = answer(s, "GET", "/console/assets/index-AbC123.js");
    CHECK_INT(a.status, 200);
    CHECK_STR(a.content_type, "text/javascript; charset=utf-8");
    CHECK_STR(a.cache_control, "public, max-age=31536000, immutable");
    CHECK_INT(a.len, strlen("console.log(1)"));
    CHECK(memcmp(a.body, "console.log(1)", a.len) == 0);
    a = answer(s, "HEAD", "/console/assets/index-AbC123.css");
    CHECK_INT(a.status, 200);
    CHECK_STR(a.content_type, "text/css; charset=utf-8");
    a = answer(s, "GET", "/console/favicon.ico");
    CHECK_INT(a.status, 200);
    CHECK_STR(a.cache_control, "no-cache");
    static_set_release(s);
}

static void test_routes_answer_index(void)
{
    const char *why = NULL;
    static_set_t *s = static_set_load(root, &why);
    const char *paths[] = {"/console", "/console/", "/console/dashboard", "/console/repairs/12", "/console/index.html"};
    for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
        static_answer_t a = answer(s, "GET", paths[i]);
        CHECK_INT(a.status, 200);
        CHECK_STR(a.content_type, "text/html; charset=utf-8");
        CHECK_STR(a.cache_control, "no-cache");
        CHECK(a.len > 0 && memcmp(a.body, "<!doctype html>", 15) == 0);
    }
    static_set_release(s);
}

static void test_missing_and_outside_are_404(void)
{
    const char *why = NULL;
    static_set_t *s = static_set_load(root, &why);
    const char *paths[] = {"/console/assets/missing-1.js",
                           "/console/assets/passwd.js",
                           "/console/.hidden",
                           "/console/../etc/passwd.txt",
                           "/console/assets/../../gateway.conf",
                           "/console/%2e%2e/%2e%2e/etc/hosts.txt",
                           "/consolex/index.html",
                           "/other/index.html"};
    for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
        static_answer_t a = answer(s, "GET", paths[i]);
        if (a.status != 404)
            printf("# %s answered %d\n", paths[i], a.status);
        CHECK_INT(a.status, 404);
    }
    /* an encoded traversal without an extension is a client-side route: index.html, never a file */
    static_answer_t a = answer(s, "GET", "/console/%2e%2e/%2e%2e/etc/passwd");
    CHECK_INT(a.status, 200);
    CHECK(memcmp(a.body, "<!doctype html>", 15) == 0);
    static_set_release(s);
}

static void test_methods(void)
{
    const char *why = NULL;
    static_set_t *s = static_set_load(root, &why);
    CHECK_INT(answer(s, "POST", "/console/").status, 405);
    CHECK_INT(answer(s, "DELETE", "/console/assets/index-AbC123.js").status, 405);
    CHECK_INT(answer(NULL, "GET", "/console/").status, 404); /* nothing loaded */
    static_set_release(s);
}

static void test_refuses_bad_folders(void)
{
    const char *why = NULL;
    CHECK(static_set_load("/nonexistent-console-folder", &why) == NULL);
    CHECK(why != NULL);
    char path[256];
    snprintf(path, sizeof(path), "%s/assets", root); /* no index.html */
    why = NULL;
    CHECK(static_set_load(path, &why) == NULL);
    CHECK_STR(why, "the folder has no index.html");
}

static void test_process_set_reload(void)
{
    static_files_init(root);
    CHECK_INT(static_files_reload("/nonexistent-console-folder"), -1); /* the set in use stays */
    CHECK_INT(static_files_reload(root), 0);
    static_files_shutdown();
}

int main(void)
{
    make_folder();
    RUN(test_loads_regular_files_only);
    RUN(test_assets_are_immutable);
    RUN(test_routes_answer_index);
    RUN(test_missing_and_outside_are_404);
    RUN(test_methods);
    RUN(test_refuses_bad_folders);
    RUN(test_process_set_reload);
    remove_folder();
    return TEST_REPORT();
}
