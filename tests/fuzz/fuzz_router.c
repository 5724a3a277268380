/* fuzz_router.c: method + path dispatch over the gateway's real route table
 * (every handler's table, registered by handlers_register_all).
 *
 * Input: "<METHOD> <path>", e.g. "GET /api/v1/repairs/42". Without a space
 * the method is GET and the whole input is the path. The path is passed
 * without a terminating NUL, as h2o hands it over.
 *
 * Calls: router_match (with an Allow buffer of the server's size, a tiny one
 * and none), call_param.
 * Properties: a match has the asked method and at most ROUTER_MAX_PARAMS
 * captured values, each non-empty, NUL-terminated, without '/', and a
 * substring of the path; no match is 404 or 405, and 405 lists the methods
 * within the buffer. */
#include <string.h>

#include "../../gateway/call.h"
#include "../../gateway/router.h"
#include "fuzz.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_gateway_init();
    return 0;
}

static void check_match(const char *method, size_t mlen, const char *path, size_t plen, size_t allow_size)
{
    route_params_t params;
    char allow[64];
    int status = 0;
    memset(&params, 0xAA, sizeof(params)); /* whatever a stack frame holds */
    const route_t *r = router_match(method, mlen, path, plen, &params, &status, allow, allow_size);
    if (r) {
        FUZZ_CHECK(strlen(r->method) == mlen && memcmp(r->method, method, mlen) == 0);
        FUZZ_CHECK(params.count >= 0 && params.count <= ROUTER_MAX_PARAMS);
        for (int i = 0; i < params.count; i++) {
            size_t vlen = strnlen(params.value[i], sizeof(params.value[i]));
            FUZZ_CHECK(vlen > 0 && vlen < sizeof(params.value[i]));
            FUZZ_CHECK(!memchr(params.value[i], '/', vlen));
            FUZZ_CHECK(memmem(path, plen, params.value[i], vlen) != NULL);
            FUZZ_CHECK(params.name[i] != NULL);
        }
        gw_call_t call;
        memset(&call, 0, sizeof(call));
        call.params = params;
        for (int i = 0; i < params.count; i++) {
            char name[64];
            size_t n = strcspn(params.name[i], "/");
            if (n >= sizeof(name))
                continue;
            memcpy(name, params.name[i], n);
            name[n] = '\0';
            FUZZ_CHECK(call_param(&call, name) != NULL);
        }
    } else {
        FUZZ_CHECK(status == 404 || status == 405);
        if (allow_size) {
            FUZZ_CHECK(strnlen(allow, allow_size) < allow_size);
            FUZZ_CHECK(status == 404 || allow_size < 4 || allow[0] != '\0');
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *sp = memchr(data, ' ', size);
    const char *method = sp ? (const char *)data : "GET";
    size_t mlen = sp ? (size_t)(sp - data) : 3;
    size_t plen = sp ? size - mlen - 1 : size;
    /* An exact-size copy without a NUL: a read past the path is a
     * sanitizer report. */
    char *path = malloc(plen ? plen : 1);
    if (!path)
        abort();
    memcpy(path, sp ? (const char *)sp + 1 : (const char *)data, plen);
    check_match(method, mlen, path, plen, 64); /* the size gw_call_t.allow has */
    check_match(method, mlen, path, plen, 5);
    check_match(method, mlen, path, plen, 0);
    free(path);
    return 0;
}
