/* fuzz_wechat_push.c: an event pushed by WeChat (POST /api/v1/wechat/push),
 * through the real route table and the route's first step (on the event
 * loop: the signature, the mode, the JSON body and the wxa_media_check
 * fields; no I/O). The message parsing is not a function of its own, so the
 * step is driven whole, with a correctly signed query.
 *
 * Input: one byte of flags, then the body.
 *   flags & 1: add encrypt_type=raw      flags & 2: add encrypt_type=aes
 *   flags & 4: a wrong signature         flags & 8: add openid=o_fuzz
 *
 * Calls: router_match, call_new, the route's start step, call_free.
 * Properties: the step either answers (200 "success", or an error 4xx) or
 * continues to its database step; it continues only for a correctly signed
 * push in plaintext mode; a wrong signature is always 403. */
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <string.h>
#include <time.h>

#include "../../gateway/call.h"
#include "../../gateway/router.h"
#include "fuzz.h"

static const route_t *push_route;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_gateway_init();
    route_params_t params;
    char allow[64];
    int status;
    static const char path[] = "/api/v1/wechat/push";
    push_route = router_match("POST", 4, path, sizeof(path) - 1, &params, &status, allow, sizeof(allow));
    if (!push_route || push_route->pool != POOL_LOOP) {
        fprintf(stderr, "fuzz: POST %s is not a loop-step route any more; update this driver\n", path);
        exit(2);
    }
    return 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* hex(sha1(sorted [token, timestamp, nonce] concatenated)) */
static void push_signature(const char *timestamp, const char *nonce, char out[2 * SHA_DIGEST_LENGTH + 1])
{
    const char *parts[3] = {FUZZ_PUSH_TOKEN, timestamp, nonce};
    unsigned char digest[SHA_DIGEST_LENGTH];
    qsort(parts, 3, sizeof(parts[0]), cmp_str);
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    if (!md || EVP_DigestInit_ex(md, EVP_sha1(), NULL) != 1)
        abort();
    for (int i = 0; i < 3; i++)
        if (EVP_DigestUpdate(md, parts[i], strlen(parts[i])) != 1)
            abort();
    if (EVP_DigestFinal_ex(md, digest, NULL) != 1)
        abort();
    EVP_MD_CTX_free(md);
    for (int i = 0; i < SHA_DIGEST_LENGTH; i++)
        snprintf(out + 2 * i, 3, "%02x", digest[i]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static unsigned long long nonce_counter;
    if (size < 1)
        return 0;
    unsigned flags = data[0];
    char timestamp[32], nonce[32], sig[2 * SHA_DIGEST_LENGTH + 1], query[256];
    /* A fresh nonce and the current time: a push as WeChat sends it, which
     * replay protection must let through. */
    snprintf(timestamp, sizeof(timestamp), "%lld", (long long)time(NULL));
    snprintf(nonce, sizeof(nonce), "%llu", ++nonce_counter);
    push_signature(timestamp, nonce, sig);
    if (flags & 4)
        sig[0] = sig[0] == '0' ? '1' : '0';
    snprintf(query, sizeof(query), "signature=%s&timestamp=%s&nonce=%s%s%s%s", sig, timestamp, nonce,
             flags & 1 ? "&encrypt_type=raw" : "", flags & 2 ? "&encrypt_type=aes" : "",
             flags & 8 ? "&openid=o_fuzz" : "");

    gw_call_t *c = call_new();
    if (!c)
        abort();
    c->route = push_route;
    snprintf(c->method, sizeof(c->method), "POST");
    snprintf(c->client_ip, sizeof(c->client_ip), "127.0.0.1");
    c->query = fuzz_strndup((const uint8_t *)query, strlen(query));
    c->raw = fuzz_strndup(data + 1, size - 1);
    c->raw_len = size - 1;
    push_route->start(c);
    if (c->next) {
        FUZZ_CHECK(c->err == ERR_NONE && !(flags & 4));
    } else if (c->err == ERR_NONE) {
        FUZZ_CHECK(c->status == 200 && c->raw_response && !(flags & 4));
    } else {
        FUZZ_CHECK(c->status >= 400 && c->status < 500);
        FUZZ_CHECK(!(flags & 4) || c->status == 403);
    }
    call_free(c);
    return 0;
}
