/* fuzz.h: what the fuzz drivers (tests/fuzz/fuzz_<name>.c) share.
 *
 * Each driver is one file with LLVMFuzzerTestOneInput (and, when it needs a
 * set-up, LLVMFuzzerInitialize). The same file is linked two ways:
 *   - with libFuzzer (clang -fsanitize=fuzzer,address,undefined) by
 *     `make fuzz`, which runs it from its seed corpus tests/fuzz/corpus/<name>;
 *   - with tests/fuzz/replay.c (the normal gcc build, no libFuzzer) into
 *     build/tests/test_fuzz_<name>, which `make test` and `make asan` run over
 *     every seed and every regression input in tests/fuzz/regressions/<name>.
 * Drivers call the gateway's public functions only and keep no state between
 * inputs beyond what their initialisation sets up.
 *
 * FUZZ_CHECK states a property the code must keep for every input; a
 * violation aborts, which libFuzzer reports as a crash (with the input). */
#ifndef GW_FUZZ_H
#define GW_FUZZ_H
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

#define FUZZ_CHECK(cond)                                                                        \
    do {                                                                                        \
        if (!(cond)) {                                                                          \
            fprintf(stderr, "fuzz: property violated at %s:%d: %s\n", __FILE__, __LINE__, #cond); \
            abort();                                                                            \
        }                                                                                       \
    } while (0)

/* The test keys the seeds are signed with (tests/fuzz/seeds.py writes the
 * same values). Never used outside the fuzz drivers. */
#define FUZZ_SESSION_KEYS "t1=fuzz-session-key-one-0123456789abcdef,t0=fuzz-session-key-old-0123456789abcdef"
#define FUZZ_MEDIA_URL_KEY "fuzz-media-url-key-0123456789abcdef0123456789"
#define FUZZ_PUSH_TOKEN "fuzz-push-token"
#define FUZZ_APPID "wxfuzzappid"
/* The "now" of the time-dependent checks, so that an input means the same
 * thing on every run: 2026-01-01T00:00:00Z. Seeds expire in 2100. */
#define FUZZ_NOW 1767225600LL

/* Loads a configuration from defaults plus the keys above (nothing is read
 * from a file; media_dir is a private temporary folder, removed at exit),
 * quiets the log to errors, and registers every handler's real route table
 * (handlers_register_all). Idempotent. Run from the repository root: the
 * notification templates and the schema folder are read relative to it.
 * Exits the process if the configuration does not load. */
void fuzz_gateway_init(void);

/* Log errors only: drivers must not spend their time writing log lines. */
void fuzz_quiet_logs(void);

/* A malloc'ed copy of data with a NUL after it (size + 1 bytes). Aborts on
 * allocation failure. */
char *fuzz_strndup(const uint8_t *data, size_t size);

#endif
