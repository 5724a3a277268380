/* fuzz_media_url.c: a signed photo URL as the gateway checks it: the real
 * route table, then the GET /media/:id/:variant route's first step (on the
 * event loop: the query, the expiry and the HMAC; no I/O).
 *
 * Input: the request target, "/media/<id>/<variant>?exp=<s>&sig=<hex>".
 *
 * Calls: router_match, call_new, the route's start step (which calls
 * call_param_id, call_query and media_url_verify), call_free; and
 * media_url_verify / media_url_sign_until directly.
 * Properties: the step either fails the call (403 or 404) or continues to
 * its database step, and it continues only for a URL whose signature is the
 * one media_url_sign_until makes for that id, variant and expiry (any case
 * of hex) and which has not expired. */
#include <ctype.h>
#include <string.h>
#include <time.h>

#include "../../gateway/call.h"
#include "../../gateway/media_url.h"
#include "../../gateway/router.h"
#include "fuzz.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_gateway_init(); /* also sets the media URL key (media_register) */
    return 0;
}

static void check_accepted(const gw_call_t *c)
{
    long long id = strtoll(call_param(c, "id"), NULL, 10);
    const char *variant = call_param(c, "variant");
    char exp_s[32], sig[96], want[256];
    /* As the step reads them: URL-decoded. */
    FUZZ_CHECK(call_query(c, "exp", exp_s, sizeof(exp_s)) && call_query(c, "sig", sig, sizeof(sig)));
    long long exp = strtoll(exp_s, NULL, 10);
    FUZZ_CHECK(exp >= (long long)time(NULL) - 1);
    FUZZ_CHECK(media_url_sign_until(id, variant, exp, want, sizeof(want)) == 0);
    const char *want_sig = strstr(want, "&sig=") + 5;
    FUZZ_CHECK(strlen(sig) == strlen(want_sig));
    for (size_t i = 0; sig[i]; i++)
        FUZZ_CHECK(tolower((unsigned char)sig[i]) == want_sig[i]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *q = memchr(data, '?', size);
    size_t plen = q ? (size_t)(q - data) : size;
    route_params_t params;
    char allow[64];
    int status = 0;
    const route_t *r = router_match("GET", 3, (const char *)data, plen, &params, &status, allow, sizeof(allow));
    if (r && !strncmp(r->pattern, "/media/", 7)) {
        FUZZ_CHECK(r->pool == POOL_LOOP); /* otherwise this step would need a database */
        gw_call_t *c = call_new();
        if (!c)
            abort();
        c->route = r;
        c->params = params;
        c->query = q ? fuzz_strndup(q + 1, size - plen - 1) : NULL;
        r->start(c);
        if (c->next) {
            FUZZ_CHECK(c->err == ERR_NONE);
            check_accepted(c);
        } else {
            FUZZ_CHECK(c->err != ERR_NONE && (c->status == 403 || c->status == 404));
        }
        call_free(c);
    }

    /* The verifier alone, on an id, a variant, an expiry and a sig taken
     * from the input. */
    if (size >= 9) {
        long long id, exp;
        memcpy(&id, data, 4);
        id &= 0xffffffff;
        memcpy(&exp, data + 4, 4);
        exp &= 0xffffffff;
        const char *variant = data[8] & 1 ? "thumb" : (data[8] & 2) ? "full" : "original";
        char *sig = fuzz_strndup(data + 9, size - 9);
        int rc = media_url_verify(id, variant, exp, sig, FUZZ_NOW);
        FUZZ_CHECK(rc == 0 || rc == -1 || rc == -2);
        if (rc != -1) {
            char want[256];
            FUZZ_CHECK(media_url_sign_until(id, variant, exp, want, sizeof(want)) == 0);
            FUZZ_CHECK(strlen(sig) == 64);
            FUZZ_CHECK(rc == 0 ? exp >= FUZZ_NOW : exp < FUZZ_NOW);
        }
        free(sig);
    }
    return 0;
}
