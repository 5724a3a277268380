/* tls_conn_cost: the heap an idle server-side TLS connection keeps in
 * OpenSSL, by call site.
 *
 *   tls_conn_cost [--conns N] [--top N] [--tickets N] [--no-ticket]
 *                 [--identity callback|swap|ctx] [--groups LIST]
 *                 [--ciphersuites LIST] [--client-max-tls12] [--rsa]
 *                 [--session-cache on|off] [--free-buffers] [--chain]
 *
 * Sets up a server SSL_CTX the way gateway/server.c does (TLS 1.2 minimum,
 * its TLS 1.2 and 1.3 suites in its order (--ciphersuites replaces the TLS
 * 1.3 list), no compression or renegotiation, SSL_MODE_RELEASE_BUFFERS, the identity
 * given per handshake by a certificate callback from an SSL_CTX of its own,
 * ALPN http/1.1), then, N times: a client (OpenSSL's defaults, SNI
 * "localhost", as bench/idle_conns) connects through an in-memory BIO of
 * the kind h2o uses, sends one small request, reads a small response and the
 * session tickets, and is freed; the server SSL is kept, idle. --chain adds
 * an intermediate certificate to the identity, as a real certificate chain
 * has. Every
 * allocation OpenSSL makes goes through CRYPTO_set_mem_functions and is
 * counted by its file:line, so what the kept connections hold is
 * attributed to the code that allocated it. Prints, per connection, the
 * bytes asked for, the bytes glibc's malloc spends on them (chunk header and
 * rounding to 16), the number of blocks, the sites that hold most, and the
 * CPU time of the server's side of a handshake.
 *
 * --identity: callback (the gateway: SSL_use_cert_and_key from the identity
 * SSL_CTX in the certificate callback), swap (SSL_set_SSL_CTX to the
 * identity SSL_CTX in the callback), ctx (certificate and key set on the
 * server SSL_CTX itself, no callback). Built by bench/run.sh; no network. */
#define _GNU_SOURCE
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- allocation accounting ------------------------------------------------ */

#define SITES_MAX 4096

typedef struct {
    const char *file;
    int line;
    long long live_bytes, live_chunk, live_blocks;
    long long mark_bytes, mark_chunk, mark_blocks;
} site_t;

typedef struct {
    uint32_t site;
    uint32_t pad;
    size_t size;
} hdr_t; /* 16 bytes: keeps the block 16-aligned */

static site_t sites[SITES_MAX];
static int nsites;

static size_t glibc_chunk(size_t n)
{
    size_t c = (n + 8 + 15) & ~(size_t)15;
    return c < 32 ? 32 : c;
}

static uint32_t site_of(const char *file, int line)
{
    for (int i = 0; i < nsites; i++)
        if (sites[i].line == line && (sites[i].file == file || (file && sites[i].file && !strcmp(sites[i].file, file))))
            return (uint32_t)i;
    if (nsites == SITES_MAX)
        return SITES_MAX - 1;
    sites[nsites].file = file;
    sites[nsites].line = line;
    return (uint32_t)nsites++;
}

static void account(uint32_t s, size_t n, int sign)
{
    sites[s].live_bytes += sign * (long long)n;
    sites[s].live_chunk += sign * (long long)glibc_chunk(n);
    sites[s].live_blocks += sign;
}

static void *cm_malloc(size_t n, const char *file, int line)
{
    hdr_t *h = malloc(sizeof(hdr_t) + n);
    if (!h)
        return NULL;
    h->site = site_of(file, line);
    h->size = n;
    account(h->site, n, 1);
    return h + 1;
}

static void cm_free(void *p, const char *file, int line)
{
    (void)file;
    (void)line;
    if (!p)
        return;
    hdr_t *h = (hdr_t *)p - 1;
    account(h->site, h->size, -1);
    free(h);
}

static void *cm_realloc(void *p, size_t n, const char *file, int line)
{
    if (!p)
        return cm_malloc(n, file, line);
    hdr_t *h = (hdr_t *)p - 1;
    uint32_t s = h->site;
    size_t old = h->size;
    hdr_t *nh = realloc(h, sizeof(hdr_t) + n);
    if (!nh)
        return NULL;
    account(s, old, -1);
    nh->site = site_of(file, line);
    nh->size = n;
    account(nh->site, n, 1);
    return nh + 1;
}

static void mark(void)
{
    for (int i = 0; i < nsites; i++) {
        sites[i].mark_bytes = sites[i].live_bytes;
        sites[i].mark_chunk = sites[i].live_chunk;
        sites[i].mark_blocks = sites[i].live_blocks;
    }
}

/* ---- an in-memory transport like h2o's BIO -------------------------------- */

typedef struct {
    unsigned char buf[256 * 1024];
    size_t len;
} pipe_t;

static pipe_t c2s, s2c; /* one connection at a time: both empty between them */

typedef struct {
    pipe_t *in, *out;
} ends_t;

static ends_t server_ends = {&c2s, &s2c}, client_ends = {&s2c, &c2s};

static int bio_write(BIO *b, const char *data, int len)
{
    pipe_t *p = ((ends_t *)BIO_get_data(b))->out;
    if ((size_t)len > sizeof(p->buf) - p->len)
        return -1;
    memcpy(p->buf + p->len, data, (size_t)len);
    p->len += (size_t)len;
    return len;
}

static int bio_read(BIO *b, char *data, int len)
{
    pipe_t *p = ((ends_t *)BIO_get_data(b))->in;
    BIO_clear_retry_flags(b);
    if (p->len == 0) {
        BIO_set_retry_read(b);
        return -1;
    }
    size_t n = (size_t)len < p->len ? (size_t)len : p->len;
    memcpy(data, p->buf, n);
    memmove(p->buf, p->buf + n, p->len - n);
    p->len -= n;
    return (int)n;
}

static long bio_ctrl(BIO *b, int cmd, long num, void *ptr)
{
    (void)b;
    (void)num;
    (void)ptr;
    return cmd == BIO_CTRL_FLUSH ? 1 : 0;
}

static BIO_METHOD *bio_method;

static BIO *new_bio(ends_t *ends)
{
    BIO *b = BIO_new(bio_method);
    BIO_set_data(b, ends);
    BIO_set_init(b, 1);
    return b;
}

/* ---- the server's set-up, as in gateway/server.c -------------------------- */

enum { ID_CALLBACK, ID_SWAP, ID_CTX };
static int identity_mode = ID_CALLBACK;
static SSL_CTX *identity;

static int cert_cb(SSL *ssl, void *arg)
{
    (void)arg;
    if (identity_mode == ID_SWAP)
        return SSL_set_SSL_CTX(ssl, identity) != NULL;
    STACK_OF(X509) *chain = NULL;
    SSL_CTX_get0_chain_certs(identity, &chain);
    return SSL_use_cert_and_key(ssl, SSL_CTX_get0_certificate(identity), SSL_CTX_get0_privatekey(identity), chain, 1) ==
           1;
}

static int alpn_cb(SSL *ssl, const unsigned char **out, unsigned char *outlen, const unsigned char *in,
                   unsigned int inlen, void *arg)
{
    (void)ssl;
    (void)arg;
    static const unsigned char h11[] = "\x08http/1.1";
    unsigned char *sel;
    if (SSL_select_next_proto(&sel, outlen, h11, sizeof(h11) - 1, in, inlen) != OPENSSL_NPN_NEGOTIATED)
        return SSL_TLSEXT_ERR_NOACK;
    *out = sel;
    return SSL_TLSEXT_ERR_OK;
}

static int make_identity(int rsa, X509 **cert, EVP_PKEY **key)
{
    *key = rsa ? EVP_RSA_gen(2048) : EVP_EC_gen("P-256");
    *cert = X509_new();
    if (!*key || !*cert)
        return -1;
    X509_set_version(*cert, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(*cert), 1);
    X509_gmtime_adj(X509_getm_notBefore(*cert), -60);
    X509_gmtime_adj(X509_getm_notAfter(*cert), 86400);
    X509_NAME *name = X509_get_subject_name(*cert);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)"localhost", -1, -1, 0);
    X509_set_issuer_name(*cert, name);
    X509_set_pubkey(*cert, *key);
    return X509_sign(*cert, *key, EVP_sha256()) > 0 ? 0 : -1;
}

typedef struct {
    int tickets, no_ticket, cache_off;
    const char *groups, *ciphersuites;
} server_opts_t;

/* gateway/server.c's suites: TLS12_CIPHERS and TLS13_SUITES. */
#define TLS12_CIPHERS                                                                                                  \
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"                         \
    "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305"
#define TLS13_SUITES "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256"

static void configure(SSL_CTX *ctx, const server_opts_t *o)
{
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_cipher_list(ctx, TLS12_CIPHERS);
    SSL_CTX_set_ciphersuites(ctx, o->ciphersuites ? o->ciphersuites : TLS13_SUITES);
    SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE |
                                 (o->no_ticket ? SSL_OP_NO_TICKET : 0));
    SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
    SSL_CTX_set_alpn_select_cb(ctx, alpn_cb, NULL);
    if (o->tickets >= 0)
        SSL_CTX_set_num_tickets(ctx, (size_t)o->tickets);
    if (o->cache_off)
        SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
    if (o->groups)
        SSL_CTX_set1_groups_list(ctx, o->groups);
}

static double server_us; /* CPU time spent in the server's handshake calls */

static double now_us(void)
{
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return (double)t.tv_sec * 1e6 + (double)t.tv_nsec / 1e3;
}

/* Runs both ends until neither makes progress; 0 when both are done. */
static int pump(SSL *c, SSL *s)
{
    for (int i = 0; i < 100; i++) {
        int rc = SSL_do_handshake(c);
        double t = now_us();
        int rs = SSL_do_handshake(s);
        server_us += now_us() - t;
        if (rc == 1 && rs == 1)
            return 0;
        if ((rc <= 0 && SSL_get_error(c, rc) != SSL_ERROR_WANT_READ) ||
            (rs <= 0 && SSL_get_error(s, rs) != SSL_ERROR_WANT_READ))
            return -1;
    }
    return -1;
}

static int cmp_site(const void *a, const void *b)
{
    const site_t *x = a, *y = b;
    long long dx = x->live_chunk - x->mark_chunk, dy = y->live_chunk - y->mark_chunk;
    return dx < dy ? 1 : dx > dy ? -1 : 0;
}

int main(int argc, char **argv)
{
    int conns = 1000, top = 30, rsa = 0, client_tls12 = 0, free_buffers = 0, chain = 0;
    server_opts_t o = {.tickets = -1};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--conns") && v)
            conns = atoi(argv[++i]);
        else if (!strcmp(a, "--top") && v)
            top = atoi(argv[++i]);
        else if (!strcmp(a, "--tickets") && v)
            o.tickets = atoi(argv[++i]);
        else if (!strcmp(a, "--no-ticket"))
            o.no_ticket = 1;
        else if (!strcmp(a, "--session-cache") && v)
            o.cache_off = !strcmp(argv[++i], "off");
        else if (!strcmp(a, "--groups") && v)
            o.groups = argv[++i];
        else if (!strcmp(a, "--ciphersuites") && v)
            o.ciphersuites = argv[++i];
        else if (!strcmp(a, "--identity") && v) {
            i++;
            identity_mode = !strcmp(v, "swap") ? ID_SWAP : !strcmp(v, "ctx") ? ID_CTX : ID_CALLBACK;
        } else if (!strcmp(a, "--rsa"))
            rsa = 1;
        else if (!strcmp(a, "--client-max-tls12"))
            client_tls12 = 1;
        else if (!strcmp(a, "--free-buffers"))
            free_buffers = 1;
        else if (!strcmp(a, "--chain"))
            chain = 1;
        else {
            fprintf(stderr, "tls_conn_cost: unknown argument %s (see the comment at the top of the source)\n", a);
            return 2;
        }
    }
    if (!CRYPTO_set_mem_functions(cm_malloc, cm_realloc, cm_free)) {
        fprintf(stderr, "tls_conn_cost: OpenSSL allocated before the counting started\n");
        return 1;
    }
    bio_method = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "pipe");
    BIO_meth_set_write(bio_method, bio_write);
    BIO_meth_set_read(bio_method, bio_read);
    BIO_meth_set_ctrl(bio_method, bio_ctrl);

    X509 *cert, *inter = NULL;
    EVP_PKEY *key, *inter_key = NULL;
    if (make_identity(rsa, &cert, &key) != 0 || (chain && make_identity(rsa, &inter, &inter_key) != 0)) {
        fprintf(stderr, "tls_conn_cost: cannot make a certificate\n");
        return 1;
    }
    SSL_CTX *server = SSL_CTX_new(TLS_server_method());
    configure(server, &o);
    identity = SSL_CTX_new(TLS_server_method());
    if (identity_mode == ID_SWAP)
        configure(identity, &o); /* the callbacks and options are read from the context swapped in */
    SSL_CTX *holder = identity_mode == ID_CTX ? server : identity;
    if (SSL_CTX_use_certificate(holder, cert) != 1 || SSL_CTX_use_PrivateKey(holder, key) != 1 ||
        (inter && SSL_CTX_add1_chain_cert(holder, inter) != 1)) {
        fprintf(stderr, "tls_conn_cost: cannot use the certificate\n");
        return 1;
    }
    if (identity_mode != ID_CTX)
        SSL_CTX_set_cert_cb(server, cert_cb, NULL);

    SSL_CTX *client = SSL_CTX_new(TLS_client_method());
    SSL_CTX_set_mode(client, SSL_MODE_RELEASE_BUFFERS);
    if (client_tls12)
        SSL_CTX_set_max_proto_version(client, TLS1_2_VERSION);

    SSL **kept = calloc((size_t)conns, sizeof(SSL *));
    static const char req[] = "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: keep-alive\r\n\r\n";
    static const char resp[] = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
    char buf[4096];
    const char *version = "?", *cipher = "?", *group = "?";

    /* One connection first, so lazily built shared state (method and
     * provider caches, the ticket keys) is not counted per connection. */
    for (int round = 0; round < 2; round++) {
        int n = round == 0 ? 1 : conns;
        if (round == 1) {
            mark();
            server_us = 0;
        }
        for (int i = 0; i < n; i++) {
            SSL *s = SSL_new(server), *c = SSL_new(client);
            if (!s || !c)
                goto Fail;
            BIO *sb = new_bio(&server_ends), *cb = new_bio(&client_ends);
            SSL_set_bio(s, sb, sb); /* one BIO both ways, as h2o */
            SSL_set_bio(c, cb, cb);
            SSL_set_accept_state(s);
            SSL_set_connect_state(c);
            SSL_set_tlsext_host_name(c, "localhost");
            if (pump(c, s) != 0)
                goto Fail;
            if (SSL_write(c, req, sizeof(req) - 1) <= 0 || SSL_read(s, buf, sizeof(buf)) <= 0 ||
                SSL_write(s, resp, sizeof(resp) - 1) <= 0 || SSL_read(c, buf, sizeof(buf)) <= 0)
                goto Fail;
            if (free_buffers)
                SSL_free_buffers(s);
            version = SSL_get_version(s);
            cipher = SSL_get_cipher_name(s);
            group = SSL_group_to_name(s, SSL_get_negotiated_group(s));
            SSL_free(c);
            if (round == 1)
                kept[i] = s;
            else
                SSL_free(s);
            if (c2s.len || s2c.len)
                goto Fail;
        }
    }

    double us = server_us / conns;
    long long bytes = 0, chunk = 0, blocks = 0;
    for (int i = 0; i < nsites; i++) {
        bytes += sites[i].live_bytes - sites[i].mark_bytes;
        chunk += sites[i].live_chunk - sites[i].mark_chunk;
        blocks += sites[i].live_blocks - sites[i].mark_blocks;
    }
    printf("TLS_CONN_COST conns=%d version=%s cipher=%s group=%s identity=%s bytes_per_conn=%.0f "
           "glibc_bytes_per_conn=%.0f blocks_per_conn=%.1f server_handshake_us=%.0f\n",
           conns, version, cipher, group ? group : "?",
           identity_mode == ID_SWAP  ? "swap"
           : identity_mode == ID_CTX ? "ctx"
                                     : "callback",
           (double)bytes / conns, (double)chunk / conns, (double)blocks / conns, us);
    qsort(sites, (size_t)nsites, sizeof(site_t), cmp_site);
    printf("%10s %10s %8s  %s\n", "bytes", "glibc", "blocks", "site (per connection)");
    for (int i = 0; i < nsites && i < top; i++) {
        long long db = sites[i].live_bytes - sites[i].mark_bytes, dc = sites[i].live_chunk - sites[i].mark_chunk,
                  dn = sites[i].live_blocks - sites[i].mark_blocks;
        if (!dn && !db)
            continue;
        printf("%10.1f %10.1f %8.2f  %s:%d\n", (double)db / conns, (double)dc / conns, (double)dn / conns,
               sites[i].file ? sites[i].file : "?", sites[i].line);
    }
    for (int i = 0; i < conns; i++)
        SSL_free(kept[i]);
    free(kept);
    SSL_CTX_free(client);
    SSL_CTX_free(server);
    SSL_CTX_free(identity);
    X509_free(cert);
    EVP_PKEY_free(key);
    X509_free(inter);
    EVP_PKEY_free(inter_key);
    BIO_meth_free(bio_method);
    return 0;
Fail:
    ERR_print_errors_fp(stderr);
    fprintf(stderr, "tls_conn_cost: a connection failed\n");
    return 1;
}
