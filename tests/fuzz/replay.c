/* replay.c: runs a fuzz driver without libFuzzer, over files.
 *
 *   build/tests/test_fuzz_<name> [FILE|DIR]...
 *
 * Without arguments it replays tests/fuzz/regressions/<name>/ (every input
 * that once crashed the driver) and tests/fuzz/corpus/<name>/ (the seeds),
 * relative to the current directory (tests/run-all.sh runs from the
 * repository root). Each folder (or file argument) is one check; a crash
 * or a sanitizer report on any input ends the run, which prove counts as a
 * failure. It speaks TAP like the unit tests (tests/unit/test.h): one
 * "ok N - folder" line a check, then the plan; tests/run-unit.sh runs it.
 * FUZZ_NAME is set by the Makefile. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"

#ifndef FUZZ_NAME
#error "FUZZ_NAME must name the driver"
#endif

/* Drivers without a set-up do not define it. */
__attribute__((weak)) int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    return 0;
}

static int passed, failed;

/* 0, or -1 when the file cannot be read. */
static int replay_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    unsigned char *buf = NULL;
    long size;
    int rc = -1;
    if (!f || fseek(f, 0, SEEK_END) != 0 || (size = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0) {
        printf("# %s: cannot read\n", path);
        goto Exit;
    }
    /* An exact-size heap copy, as libFuzzer passes it: a read past the end
     * is a sanitizer report in the asan build. */
    buf = malloc(size ? (size_t)size : 1);
    if (!buf || fread(buf, 1, (size_t)size, f) != (size_t)size) {
        printf("# %s: cannot read\n", path);
        goto Exit;
    }
    LLVMFuzzerTestOneInput(buf, (size_t)size);
    rc = 0;
Exit:
    free(buf);
    if (f)
        fclose(f);
    return rc;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Files of a folder in name order (so a run is reproducible); a missing
 * folder is empty. Returns the number of inputs replayed, -1 if one could
 * not be read. */
static long replay_dir(const char *dir)
{
    DIR *d = opendir(dir);
    char **names = NULL;
    size_t n = 0, cap = 0;
    long done = 0;
    struct dirent *e;
    if (!d)
        return 0;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 64;
            char **grown = realloc(names, cap * sizeof(*names));
            if (!grown)
                abort();
            names = grown;
        }
        size_t len = strlen(dir) + strlen(e->d_name) + 2;
        if (!(names[n] = malloc(len)))
            abort();
        snprintf(names[n], len, "%s/%s", dir, e->d_name);
        n++;
    }
    closedir(d);
    qsort(names, n, sizeof(*names), by_name);
    for (size_t i = 0; i < n; i++) {
        struct stat st;
        if (stat(names[i], &st) == 0 && S_ISREG(st.st_mode) && done >= 0)
            done = replay_file(names[i]) == 0 ? done + 1 : -1;
        free(names[i]);
    }
    free(names);
    return done;
}

/* One check: a file or every file of a folder. */
static void replay_path(const char *path, int must_exist)
{
    struct stat st;
    long n;
    if (stat(path, &st) != 0) {
        if (must_exist) {
            printf("not ok %d - %s: no such file or folder\n", passed + failed + 1, path);
            failed++;
        }
        return;
    }
    n = S_ISDIR(st.st_mode) ? replay_dir(path) : replay_file(path) == 0 ? 1 : -1;
    if (n < 0 || (n == 0 && must_exist)) {
        printf("not ok %d - %s: %s\n", passed + failed + 1, path, n == 0 ? "no inputs" : "an input could not be read");
        failed++;
        return;
    }
    printf("ok %d - %s: %ld input%s replayed\n", passed + failed + 1, path, n, n == 1 ? "" : "s");
    passed++;
}

int main(int argc, char **argv)
{
    LLVMFuzzerInitialize(&argc, &argv);
    if (argc > 1) {
        for (int i = 1; i < argc; i++)
            replay_path(argv[i], 1);
    } else {
        replay_path("tests/fuzz/regressions/" FUZZ_NAME, 0); /* none yet is fine */
        replay_path("tests/fuzz/corpus/" FUZZ_NAME, 1);     /* the seeds must be there */
    }
    printf("1..%d\n", passed + failed);
    return failed ? 1 : 0;
}
