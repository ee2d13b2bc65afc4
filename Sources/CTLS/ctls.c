/* The TLS connection: context from PEM files, handshake with a deadline, read/write, close. */
#define _GNU_SOURCE
#include "ctls.h"
#include "ctls_cert.h"
#include "ctls_internal.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <pthread.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

struct ctls_conn {
    int fd;
    SSL_CTX *ctx;
    SSL *ssl;
    ctls_status verify; /* filled by verify_cb on the first verification failure */
    unsigned char binding[32]; /* SHA-256 of the context's files and the verify name */
    SSL_SESSION *ticket;       /* the newest session the daemon gave (new_session_cb) */
};

enum { SESSION_MAGIC_LEN = 4, SESSION_HEADER = 4 + 32 };
static const unsigned char session_magic[SESSION_MAGIC_LEN] = {'C', 'T', 'S', '1'};

/* ---- errors ---- */

const int ctls_err_lib_ssl = ERR_LIB_SSL;
const int ctls_ssl_r_wrong_version_number = SSL_R_WRONG_VERSION_NUMBER;
const int ctls_ssl_r_packet_length_too_long = SSL_R_PACKET_LENGTH_TOO_LONG;

static void set_phase(ctls_status *st, ctls_phase phase) {
    if (st != NULL) st->phase = phase;
}

/* OpenSSL's error e as values: its library and reason, and the alert the peer sent when the
 * reason is one (libssl files a received alert as SSL_AD_REASON_OFFSET + its number). */
static void record_openssl_error(ctls_status *st, unsigned long e) {
    if (st == NULL || e == 0) return;
    st->err_lib = ERR_GET_LIB(e);
    st->err_reason = ERR_GET_REASON(e);
    if (st->err_lib == ERR_LIB_SSL && st->err_reason >= SSL_AD_REASON_OFFSET && st->err_reason < SSL_AD_REASON_OFFSET + 256)
        st->alert = st->err_reason - SSL_AD_REASON_OFFSET;
}

static int is_client_cert_alert(int reason) {
    switch (reason) {
    case SSL_R_SSLV3_ALERT_BAD_CERTIFICATE:
    case SSL_R_SSLV3_ALERT_UNSUPPORTED_CERTIFICATE:
    case SSL_R_SSLV3_ALERT_CERTIFICATE_REVOKED:
    case SSL_R_SSLV3_ALERT_CERTIFICATE_EXPIRED:
    case SSL_R_SSLV3_ALERT_CERTIFICATE_UNKNOWN:
    case SSL_R_TLSV1_ALERT_UNKNOWN_CA:
    case SSL_R_TLSV1_ALERT_ACCESS_DENIED:
    case SSL_R_TLSV13_ALERT_CERTIFICATE_REQUIRED:
        return 1;
    default:
        return 0;
    }
}

static void copy_verify_details(const ctls_conn *c, ctls_status *st) {
    if (st == NULL) return;
    st->verify_error = c->verify.verify_error;
    st->cert_depth = c->verify.cert_depth;
    memcpy(st->cert_time, c->verify.cert_time, sizeof(st->cert_time));
    memcpy(st->cert_info, c->verify.cert_info, sizeof(st->cert_info));
}

/* Classifies a failed SSL_* call (ret/sslerr from SSL_get_error, e = errno right after the call). */
static void classify(ctls_conn *c, int sslerr, int e, const char *what, ctls_status *st, char *err,
                     size_t errlen) {
    long verr = c->verify.verify_error;
    if (verr == X509_V_OK && SSL_get_verify_result(c->ssl) != X509_V_OK && !SSL_is_init_finished(c->ssl)) {
        verr = SSL_get_verify_result(c->ssl);
        c->verify.verify_error = verr;
    }
    if (verr != X509_V_OK) {
        copy_verify_details(c, st);
        set_phase(st, CTLS_PHASE_VERIFY);
        ctls_fail(st, ctls_code_for_verify_error(verr), 0, err, errlen,
                  "server certificate verification failed: %s", X509_verify_cert_error_string(verr));
        ERR_clear_error();
        return;
    }
    unsigned long first = 0, e2;
    while ((e2 = ERR_get_error()) != 0) {
        if (ERR_GET_LIB(e2) == ERR_LIB_SSL && is_client_cert_alert(ERR_GET_REASON(e2))) {
            const char *reason = ERR_reason_error_string(e2);
            record_openssl_error(st, e2);
            ctls_fail(st, CTLS_ERR_CLIENT_CERT_REJECTED, 0, err, errlen,
                      "the server refused our client certificate (%s)", reason ? reason : "alert");
            ERR_clear_error();
            return;
        }
        if (first == 0) first = e2;
    }
    if (first != 0) {
        char buf[256];
        ERR_error_string_n(first, buf, sizeof(buf));
        record_openssl_error(st, first);
        ctls_fail(st, CTLS_ERR_OTHER, 0, err, errlen, "%s: %s", what, buf);
        return;
    }
    switch (sslerr) {
    case SSL_ERROR_WANT_READ:
    case SSL_ERROR_WANT_WRITE:
        ctls_fail(st, CTLS_ERR_TIMEOUT, EAGAIN, err, errlen, "%s timed out", what);
        return;
    case SSL_ERROR_ZERO_RETURN:
        ctls_fail(st, CTLS_ERR_CLOSED, 0, err, errlen, "%s: the server closed the connection", what);
        return;
    case SSL_ERROR_SYSCALL:
        if (e == EAGAIN || e == EWOULDBLOCK || e == ETIMEDOUT)
            ctls_fail(st, CTLS_ERR_TIMEOUT, e, err, errlen, "%s timed out", what);
        else if (e == 0)
            ctls_fail(st, CTLS_ERR_CLOSED, 0, err, errlen, "%s: the server closed the connection", what);
        else
            ctls_fail(st, CTLS_ERR_NETWORK, e, err, errlen, "%s: %s", what, strerror(e));
        return;
    default:
        ctls_fail(st, CTLS_ERR_OTHER, 0, err, errlen, "%s failed (SSL error %d)", what, sslerr);
    }
}

/* ---- context ---- */

static int no_password(char *buf, int size, int rwflag, void *u) {
    (void)buf; (void)size; (void)rwflag; (void)u;
    return 0; /* never prompt on a terminal for an encrypted key */
}

/* Reads a whole PEM file (they are a few KB) into a NUL-terminated buffer the caller frees. */
static char *read_pem(const char *kind, const char *path, size_t *len, ctls_status *st, char *err, size_t errlen) {
    if (path == NULL || path[0] == '\0') {
        ctls_fail(st, CTLS_ERR_LOCAL_FILE, 0, err, errlen, "no %s file given", kind);
        return NULL;
    }
    FILE *f = fopen(path, "re");
    if (f == NULL) {
        int e = errno;
        ctls_fail(st, CTLS_ERR_LOCAL_FILE, e, err, errlen, "cannot read %s file %s: %s", kind, path, strerror(e));
        return NULL;
    }
    size_t cap = 8192, n = 0;
    char *buf = malloc(cap + 1);
    while (buf != NULL) {
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (n < cap) break;
        if (cap >= (1u << 20)) break; /* 1 MiB of PEM is not a certificate file: take what we have */
        char *bigger = realloc(buf, cap * 2 + 1);
        if (bigger == NULL) { free(buf); buf = NULL; break; }
        buf = bigger;
        cap *= 2;
    }
    int e = ferror(f) ? errno : 0;
    fclose(f);
    if (buf == NULL || e != 0) {
        free(buf);
        ctls_fail(st, CTLS_ERR_LOCAL_FILE, e, err, errlen, "cannot read %s file %s: %s", kind, path,
                  e ? strerror(e) : "out of memory");
        return NULL;
    }
    buf[n] = '\0';
    *len = n;
    return buf;
}

static void fail_file(const char *problem, const char *path, ctls_status *st, char *err, size_t errlen) {
    char buf[256] = "";
    unsigned long e = ERR_peek_last_error();
    if (e != 0) ERR_error_string_n(e, buf, sizeof(buf));
    ERR_clear_error();
    ctls_fail(st, CTLS_ERR_LOCAL_FILE, 0, err, errlen, "%s %s%s%s", problem, path, buf[0] ? ": " : "", buf);
}

static int verify_cb(int ok, X509_STORE_CTX *x) {
    if (ok) return ok;
    SSL *ssl = X509_STORE_CTX_get_ex_data(x, SSL_get_ex_data_X509_STORE_CTX_idx());
    ctls_conn *c = ssl ? SSL_get_app_data(ssl) : NULL;
    if (c != NULL && c->verify.verify_error == X509_V_OK)
        ctls_record_verify_failure(X509_STORE_CTX_get_current_cert(x), X509_STORE_CTX_get_error(x),
                                   X509_STORE_CTX_get_error_depth(x), &c->verify);
    return ok;
}

/* The CA certificates of a PEM buffer into the context's trust store (certificates only, like
 * SSL_CTX_load_verify_locations with a file). Returns how many were added. */
static int add_cas(SSL_CTX *ctx, const char *pem, size_t len) {
    BIO *b = BIO_new_mem_buf(pem, (int)len);
    if (b == NULL) return 0;
    X509_STORE *store = SSL_CTX_get_cert_store(ctx);
    int n = 0;
    X509 *x;
    while ((x = PEM_read_bio_X509(b, NULL, no_password, NULL)) != NULL) {
        if (X509_STORE_add_cert(store, x) == 1) n++;
        X509_free(x);
    }
    BIO_free(b);
    if (n > 0) ERR_clear_error(); /* the read that ended the loop left "no start line" */
    return n;
}

/* The certificate and its chain from a PEM buffer (SSL_CTX_use_certificate_chain_file's work). */
static int use_chain(SSL_CTX *ctx, const char *pem, size_t len) {
    BIO *b = BIO_new_mem_buf(pem, (int)len);
    if (b == NULL) return 0;
    int ok = 0;
    X509 *leaf = PEM_read_bio_X509_AUX(b, NULL, no_password, NULL);
    if (leaf != NULL && SSL_CTX_use_certificate(ctx, leaf) == 1) {
        ok = 1;
        X509 *ca;
        while ((ca = PEM_read_bio_X509(b, NULL, no_password, NULL)) != NULL) {
            if (SSL_CTX_add0_chain_cert(ctx, ca) != 1) { X509_free(ca); ok = 0; break; }
        }
        if (ok) ERR_clear_error();
    }
    X509_free(leaf);
    BIO_free(b);
    return ok;
}

static EVP_PKEY *read_key(const char *pem, size_t len) {
    BIO *b = BIO_new_mem_buf(pem, (int)len);
    if (b == NULL) return NULL;
    EVP_PKEY *k = PEM_read_bio_PrivateKey(b, NULL, no_password, NULL);
    BIO_free(b);
    return k;
}

/* A session the daemon gave (a TLS 1.3 ticket, after the handshake): kept on its connection for
 * ctls_session_export; OpenSSL's own client cache stays off (sessions are kept per machine). */
static int new_session_cb(SSL *ssl, SSL_SESSION *sess) {
    ctls_conn *c = SSL_get_app_data(ssl);
    if (c == NULL) return 0;
    if (c->ticket != NULL) SSL_SESSION_free(c->ticket);
    c->ticket = sess;
    return 1; /* ours now */
}

/* A context from PEM bytes; paths name the files in error messages. */
static SSL_CTX *build_ctx(const char *ca, const char *ca_pem, size_t ca_len, const char *cert, const char *cert_pem,
                          size_t cert_len, const char *key, const char *key_pem, size_t key_len, ctls_status *st,
                          char *err, size_t errlen) {
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    if (ctx == NULL) {
        fail_file("cannot create a TLS context for", "this connection", st, err, errlen);
        return NULL;
    }
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF | SSL_OP_NO_RENEGOTIATION);
    /* A connection between requests (the keeper's kept ones) gives its 34 KB of record buffers back. */
    SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
    SSL_CTX_set_default_passwd_cb(ctx, no_password);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, verify_cb);
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
    SSL_CTX_sess_set_new_cb(ctx, new_session_cb);
    EVP_PKEY *pkey = NULL;
    if (add_cas(ctx, ca_pem, ca_len) == 0) {
        fail_file("no usable CA certificate in", ca, st, err, errlen);
    } else if (!use_chain(ctx, cert_pem, cert_len)) {
        fail_file("no usable certificate in", cert, st, err, errlen);
    } else if ((pkey = read_key(key_pem, key_len)) == NULL) {
        fail_file("no usable (unencrypted PEM) private key in", key, st, err, errlen);
    } else if (SSL_CTX_use_PrivateKey(ctx, pkey) != 1 || SSL_CTX_check_private_key(ctx) != 1) {
        int reason = ERR_GET_REASON(ERR_peek_last_error());
        if (reason == X509_R_KEY_VALUES_MISMATCH || reason == X509_R_KEY_TYPE_MISMATCH ||
            ERR_peek_last_error() == 0) {
            ERR_clear_error();
            ctls_fail(st, CTLS_ERR_LOCAL_FILE, 0, err, errlen, "the key %s does not match the certificate %s",
                      key, cert);
        } else {
            fail_file("no usable (unencrypted PEM) private key in", key, st, err, errlen);
        }
    } else {
        EVP_PKEY_free(pkey);
        return ctx;
    }
    EVP_PKEY_free(pkey);
    SSL_CTX_free(ctx);
    return NULL;
}

/* Contexts by the bytes of their CA, certificate and key files. Building one costs about 2 ms
 * of CPU with OpenSSL 3 (PEM decoders, key check), and `ls` or a fan-out connects to many
 * daemons whose records hold the same client files under other names: each distinct set is
 * built once per process. Contents, not paths, are the key, so a file rewritten meanwhile
 * (regenerate-certs) gets a new context. A handful of entries at most in practice; capped.
 * An entry's key holds the client key's PEM for the life of the process, as its context holds
 * the key itself; a key that is not kept is wiped before it is freed. */
typedef struct ctx_entry {
    struct ctx_entry *next;
    char *key;
    size_t key_len;
    SSL_CTX *ctx;
} ctx_entry;

static pthread_mutex_t ctx_lock = PTHREAD_MUTEX_INITIALIZER;

/* SHA-256 fetched once. OpenSSL 3.0 looks `EVP_sha256()` up in its provider store again at each
 * EVP_Digest/EVP_DigestInit_ex (a hash table walk under a lock every connection's thread takes):
 * with 20 daemons probed at once by `ls`, those lookups were 7% of the probing threads' CPU. */
static EVP_MD *sha256_fetched;
static pthread_once_t sha256_once = PTHREAD_ONCE_INIT;
static void fetch_sha256(void) { sha256_fetched = EVP_MD_fetch(NULL, "SHA256", NULL); }
static const EVP_MD *sha256(void) {
    pthread_once(&sha256_once, fetch_sha256);
    return sha256_fetched != NULL ? sha256_fetched : EVP_sha256();
}
static ctx_entry *ctx_cache = NULL;
static int ctx_cached = 0;
enum { CTX_CACHE_MAX = 64 };

/* id gets the SHA-256 of the three contents (what a saved session is bound to). */
static SSL_CTX *make_ctx(const char *ca, const char *cert, const char *key, unsigned char id[32], ctls_status *st,
                         char *err, size_t errlen) {
    size_t ca_len = 0, cert_len = 0, key_len = 0;
    char *ca_pem = read_pem("CA", ca, &ca_len, st, err, errlen);
    char *cert_pem = ca_pem ? read_pem("certificate", cert, &cert_len, st, err, errlen) : NULL;
    char *key_pem = cert_pem ? read_pem("key", key, &key_len, st, err, errlen) : NULL;
    SSL_CTX *ctx = NULL;
    if (key_pem == NULL) goto done;

    /* The key: the three contents with their lengths, so no two sets can run together. */
    size_t klen = ca_len + cert_len + key_len + 3 * sizeof(size_t);
    char *k = malloc(klen);
    if (k == NULL) {
        ctls_fail(st, CTLS_ERR_OTHER, ENOMEM, err, errlen, "out of memory");
        goto done;
    }
    char *p = k;
    memcpy(p, &ca_len, sizeof(size_t)); p += sizeof(size_t);
    memcpy(p, &cert_len, sizeof(size_t)); p += sizeof(size_t);
    memcpy(p, &key_len, sizeof(size_t)); p += sizeof(size_t);
    memcpy(p, ca_pem, ca_len); p += ca_len;
    memcpy(p, cert_pem, cert_len); p += cert_len;
    memcpy(p, key_pem, key_len);
    unsigned int idlen = 0;
    if (EVP_Digest(k, klen, id, &idlen, sha256(), NULL) != 1 || idlen != 32) {
        ERR_clear_error();
        memset(id, 0, 32); /* no binding: such a session never matches (see usable_session) */
    }

    pthread_mutex_lock(&ctx_lock);
    for (ctx_entry *e = ctx_cache; e != NULL; e = e->next) {
        if (e->key_len == klen && memcmp(e->key, k, klen) == 0) {
            SSL_CTX_up_ref(e->ctx);
            ctx = e->ctx;
            break;
        }
    }
    if (ctx == NULL) {
        /* Built under the lock: threads that want the same context wait and then share it. */
        ctx = build_ctx(ca, ca_pem, ca_len, cert, cert_pem, cert_len, key, key_pem, key_len, st, err, errlen);
        ctx_entry *e = ctx && ctx_cached < CTX_CACHE_MAX ? malloc(sizeof(*e)) : NULL;
        if (e != NULL) {
            SSL_CTX_up_ref(ctx);
            *e = (ctx_entry){.next = ctx_cache, .key = k, .key_len = klen, .ctx = ctx};
            ctx_cache = e;
            ctx_cached++;
            k = NULL;
        }
    }
    pthread_mutex_unlock(&ctx_lock);
    if (k != NULL) {
        OPENSSL_cleanse(k, klen); /* it holds the private key's PEM */
        free(k);
    }
done:
    free(ca_pem);
    free(cert_pem);
    if (key_pem != NULL) OPENSSL_cleanse(key_pem, key_len);
    free(key_pem);
    return ctx;
}

/* ---- connection ---- */

/* Copies host without [brackets]; for verification also without an IPv6 %zone. */
static void bare_host(const char *host, char *out, size_t outlen, int drop_zone) {
    size_t n = strlen(host);
    if (n >= 2 && host[0] == '[' && host[n - 1] == ']') snprintf(out, outlen, "%.*s", (int)(n - 2), host + 1);
    else snprintf(out, outlen, "%s", host);
    char *pct = strchr(out, '%');
    if (drop_zone && pct != NULL) *pct = '\0';
}

static int is_ip_literal(const char *h) {
    unsigned char buf[16];
    return inet_pton(AF_INET, h, buf) == 1 || inet_pton(AF_INET6, h, buf) == 1;
}

static int set_peer_name(SSL *ssl, const char *host) {
    if (is_ip_literal(host)) return X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), host) == 1;
    SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    return SSL_set_tlsext_host_name(ssl, host) == 1 && SSL_set1_host(ssl, host) == 1;
}

static int set_blocking_with_timeouts(int fd, int timeout_ms) {
    int flags = fcntl(fd, F_GETFL);
    if (flags < 0 || fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) != 0) return -1;
    struct timeval tv = {.tv_sec = timeout_ms / 1000, .tv_usec = (timeout_ms % 1000) * 1000};
    if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) != 0) return -1;
    return setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

static int handshake(ctls_conn *c, int64_t deadline, ctls_status *st, char *err, size_t errlen) {
    for (;;) {
        errno = 0;
        int r = SSL_connect(c->ssl);
        int e = errno;
        if (r == 1) return 1;
        int sslerr = SSL_get_error(c->ssl, r);
        if (sslerr == SSL_ERROR_WANT_READ || sslerr == SSL_ERROR_WANT_WRITE) {
            int w = ctls_wait_fd(c->fd, sslerr == SSL_ERROR_WANT_WRITE, deadline);
            if (w > 0) continue;
            if (w == 0) ctls_fail(st, CTLS_ERR_TIMEOUT, ETIMEDOUT, err, errlen, "TLS handshake timed out");
            else ctls_fail(st, CTLS_ERR_NETWORK, errno, err, errlen, "TLS handshake: %s", strerror(errno));
            return 0;
        }
        classify(c, sslerr, e, "TLS handshake", st, err, errlen);
        return 0;
    }
}

/* Does the daemon certificate a saved session holds still verify against this context's CA and
 * the name, now? (A resumed handshake exchanges no certificates: this is the check it skips.) */
static int peer_still_valid(SSL_CTX *ctx, const SSL_SESSION *s, const char *name) {
    X509 *peer = SSL_SESSION_get0_peer((SSL_SESSION *)s);
    if (peer == NULL) return 0;
    X509_STORE_CTX *x = X509_STORE_CTX_new();
    int ok = 0;
    if (x != NULL && X509_STORE_CTX_init(x, SSL_CTX_get_cert_store(ctx), peer, NULL) == 1) {
        X509_VERIFY_PARAM *param = X509_STORE_CTX_get0_param(x);
        ok = X509_VERIFY_PARAM_set_purpose(param, X509_PURPOSE_SSL_SERVER) == 1;
        if (ok && is_ip_literal(name)) {
            ok = X509_VERIFY_PARAM_set1_ip_asc(param, name) == 1;
        } else if (ok) {
            X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
            ok = X509_VERIFY_PARAM_set1_host(param, name, 0) == 1;
        }
        ok = ok && X509_verify_cert(x) == 1;
    }
    X509_STORE_CTX_free(x);
    ERR_clear_error();
    return ok;
}

/* binding = SHA-256(files' id, 0, verify name). */
static void make_binding(const unsigned char id[32], const char *name, unsigned char out[32]) {
    EVP_MD_CTX *m = EVP_MD_CTX_new();
    unsigned int n = 0;
    static const unsigned char zero = 0;
    if (m == NULL || EVP_DigestInit_ex(m, sha256(), NULL) != 1 || EVP_DigestUpdate(m, id, 32) != 1 ||
        EVP_DigestUpdate(m, &zero, 1) != 1 || EVP_DigestUpdate(m, name, strlen(name)) != 1 ||
        EVP_DigestFinal_ex(m, out, &n) != 1 || n != 32) {
        memset(out, 0, 32);
    }
    EVP_MD_CTX_free(m);
    ERR_clear_error();
}

static int all_zero(const unsigned char *b, size_t n) {
    unsigned char acc = 0;
    for (size_t i = 0; i < n; i++) acc |= b[i];
    return acc == 0;
}

/* The saved session in blob when it may be offered here, else NULL (the caller frees it). */
static SSL_SESSION *usable_session(ctls_conn *c, const unsigned char *blob, size_t len, const char *name) {
    if (blob == NULL || len <= SESSION_HEADER || len > (1u << 20)) return NULL;
    if (memcmp(blob, session_magic, SESSION_MAGIC_LEN) != 0) return NULL;
    if (all_zero(c->binding, 32) || CRYPTO_memcmp(blob + SESSION_MAGIC_LEN, c->binding, 32) != 0) return NULL;
    const unsigned char *p = blob + SESSION_HEADER;
    SSL_SESSION *s = d2i_SSL_SESSION(NULL, &p, (long)(len - SESSION_HEADER));
    if (s == NULL) {
        ERR_clear_error();
        return NULL;
    }
    if (!SSL_SESSION_is_resumable(s) || !peer_still_valid(c->ctx, s, name)) {
        SSL_SESSION_free(s);
        return NULL;
    }
    return s;
}

ctls_conn *ctls_connect(const char *host, int port, const char *verify_name, const char *ca, const char *cert,
                        const char *key, int timeout_ms, ctls_status *status, char *err, size_t errlen) {
    return ctls_connect_resuming(host, port, verify_name, ca, cert, key, NULL, 0, timeout_ms, status, err, errlen);
}

ctls_conn *ctls_connect_resuming(const char *host, int port, const char *verify_name, const char *ca,
                                 const char *cert, const char *key, const void *session, size_t session_len,
                                 int timeout_ms, ctls_status *status, char *err, size_t errlen) {
    ctls_status_reset(status);
    if (err != NULL && errlen > 0) err[0] = '\0';
    ERR_clear_error();
    if (timeout_ms <= 0) timeout_ms = 1;
    int64_t deadline = ctls_now_ms() + timeout_ms;

    char name[256];
    if (verify_name == NULL || verify_name[0] == '\0') verify_name = host;
    if (host == NULL || strlen(host) >= sizeof(name) || strlen(verify_name) >= sizeof(name) || port <= 0 ||
        port > 65535) {
        ctls_fail(status, CTLS_ERR_OTHER, 0, err, errlen, "invalid host or port");
        return NULL;
    }
    ctls_conn *c = calloc(1, sizeof(*c));
    if (c == NULL) {
        ctls_fail(status, CTLS_ERR_OTHER, ENOMEM, err, errlen, "out of memory");
        return NULL;
    }
    c->fd = -1;
    ctls_status_reset(&c->verify);
    unsigned char files_id[32];
    set_phase(status, CTLS_PHASE_SETUP);
    c->ctx = make_ctx(ca, cert, key, files_id, status, err, errlen);
    if (c->ctx == NULL) goto fail;

    bare_host(host, name, sizeof(name), 0);
    set_phase(status, CTLS_PHASE_CONNECT);
    c->fd = ctls_tcp_connect(name, port, deadline, status, err, errlen);
    if (c->fd < 0) goto fail;

    c->ssl = SSL_new(c->ctx);
    bare_host(verify_name, name, sizeof(name), 1);
    if (c->ssl == NULL || SSL_set_fd(c->ssl, c->fd) != 1 || !set_peer_name(c->ssl, name)) {
        set_phase(status, CTLS_PHASE_SETUP);
        fail_file("cannot set up TLS for", name, status, err, errlen);
        if (status != NULL) status->code = CTLS_ERR_OTHER;
        goto fail;
    }
    SSL_set_app_data(c->ssl, c);
    SSL_set_connect_state(c->ssl);
    make_binding(files_id, name, c->binding);
    if (session != NULL && session_len > 0) {
        SSL_SESSION *saved = usable_session(c, session, session_len, name);
        if (saved != NULL) {
            if (SSL_set_session(c->ssl, saved) != 1) ERR_clear_error();
            SSL_SESSION_free(saved);
        }
    }

    ctls_sigpipe_guard g;
    ctls_sigpipe_block(&g);
    set_phase(status, CTLS_PHASE_HANDSHAKE);
    int ok = handshake(c, deadline, status, err, errlen);
    ctls_sigpipe_restore(&g);
    if (!ok) goto fail;
    if (set_blocking_with_timeouts(c->fd, timeout_ms) != 0) {
        ctls_fail(status, CTLS_ERR_NETWORK, errno, err, errlen, "socket setup: %s", strerror(errno));
        goto fail;
    }
    return c;
fail:
    ERR_clear_error();
    if (c->ssl) SSL_free(c->ssl);
    if (c->ticket) SSL_SESSION_free(c->ticket);
    if (c->fd >= 0) close(c->fd);
    if (c->ctx) SSL_CTX_free(c->ctx);
    free(c);
    return NULL;
}

int ctls_set_io_timeout(ctls_conn *c, int timeout_ms) {
    if (c == NULL || timeout_ms <= 0) return -1;
    struct timeval tv = {.tv_sec = timeout_ms / 1000, .tv_usec = (timeout_ms % 1000) * 1000};
    if (setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) != 0) return -1;
    return setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

/* After a write failed because the peer is gone: did it leave an alert about our certificate?
 * (TLS 1.3 servers reject a client certificate after the client thinks the handshake is done.) */
static int alert_pending(ctls_conn *c, ctls_status *st, char *err, size_t errlen) {
    unsigned char scratch[512];
    size_t got = 0;
    ERR_clear_error();
    errno = 0;
    int r = SSL_read_ex(c->ssl, scratch, sizeof(scratch), &got);
    int e = errno;
    if (r == 1) return 0;
    ctls_status probe;
    ctls_status_reset(&probe);
    set_phase(&probe, CTLS_PHASE_SEND);
    char msg[256] = "";
    classify(c, SSL_get_error(c->ssl, r), e, "sending", &probe, msg, sizeof(msg));
    if (probe.code != CTLS_ERR_CLIENT_CERT_REJECTED) return 0;
    if (st != NULL) *st = probe;
    if (err != NULL && errlen > 0) snprintf(err, errlen, "%s", msg);
    return 1;
}

int ctls_write_all(ctls_conn *c, const void *buf, size_t len, ctls_status *st, char *err, size_t errlen) {
    ctls_status_reset(st);
    set_phase(st, CTLS_PHASE_SEND);
    if (err != NULL && errlen > 0) err[0] = '\0';
    ERR_clear_error();
    const unsigned char *p = buf;
    ctls_sigpipe_guard g;
    ctls_sigpipe_block(&g);
    while (len > 0) {
        size_t written = 0;
        errno = 0;
        int r = SSL_write_ex(c->ssl, p, len, &written);
        int e = errno;
        if (r != 1) {
            int sslerr = SSL_get_error(c->ssl, r);
            if (sslerr == SSL_ERROR_SYSCALL && (e == EPIPE || e == ECONNRESET) && alert_pending(c, st, err, errlen)) {
                ctls_sigpipe_restore(&g);
                return -1;
            }
            classify(c, sslerr, e, "sending", st, err, errlen);
            ctls_sigpipe_restore(&g);
            return -1;
        }
        p += written;
        len -= written;
    }
    ctls_sigpipe_restore(&g);
    return 0;
}

/* One SSL_read; with nonblocking, on a socket made non-blocking for this call only, and
 * CTLS_WOULD_BLOCK when no application data is complete yet. */
static ssize_t read_once(ctls_conn *c, void *buf, size_t len, int nonblocking, ctls_status *st, char *err,
                         size_t errlen) {
    ctls_status_reset(st);
    set_phase(st, CTLS_PHASE_RECEIVE);
    if (err != NULL && errlen > 0) err[0] = '\0';
    ERR_clear_error();
    int flags = 0;
    if (nonblocking) {
        flags = fcntl(c->fd, F_GETFL);
        if (flags < 0 || fcntl(c->fd, F_SETFL, flags | O_NONBLOCK) != 0) {
            classify(c, SSL_ERROR_SYSCALL, errno, "receiving", st, err, errlen);
            return -1;
        }
    }
    size_t got = 0;
    ctls_sigpipe_guard g;
    ctls_sigpipe_block(&g);
    errno = 0;
    int r = SSL_read_ex(c->ssl, buf, len, &got);
    int e = errno;
    int sslerr = r == 1 ? SSL_ERROR_NONE : SSL_get_error(c->ssl, r);
    ctls_sigpipe_restore(&g);
    if (nonblocking) fcntl(c->fd, F_SETFL, flags);
    if (r == 1) return (ssize_t)got;
    if (nonblocking && (sslerr == SSL_ERROR_WANT_READ || sslerr == SSL_ERROR_WANT_WRITE)) {
        ERR_clear_error();
        return CTLS_WOULD_BLOCK;
    }
    if (sslerr == SSL_ERROR_ZERO_RETURN || (sslerr == SSL_ERROR_SYSCALL && e == 0 && ERR_peek_error() == 0))
        return 0;
    classify(c, sslerr, e, "receiving", st, err, errlen);
    return -1;
}

ssize_t ctls_read(ctls_conn *c, void *buf, size_t len, ctls_status *st, char *err, size_t errlen) {
    return read_once(c, buf, len, 0, st, err, errlen);
}

ssize_t ctls_read_available(ctls_conn *c, void *buf, size_t len, ctls_status *st, char *err, size_t errlen) {
    return read_once(c, buf, len, 1, st, err, errlen);
}

int ctls_fd(const ctls_conn *c) {
    return c ? c->fd : -1;
}

int ctls_has_buffered(const ctls_conn *c) {
    if (c == NULL || c->ssl == NULL) return 0;
    /* Decrypted application data only: with read-ahead off (the default) a record OpenSSL has
     * not processed is still in the socket, or partly in OpenSSL's buffer with the rest to come
     * through the socket: poll announces both. */
    return SSL_pending(c->ssl) > 0 ? 1 : 0;
}

const char *ctls_protocol(const ctls_conn *c) {
    return c ? SSL_get_version(c->ssl) : "";
}

void ctls_close(ctls_conn *c) {
    if (c == NULL) return;
    if (c->ssl) {
        ctls_sigpipe_guard g;
        ctls_sigpipe_block(&g);
        if (SSL_is_init_finished(c->ssl)) SSL_shutdown(c->ssl);
        ctls_sigpipe_restore(&g);
        SSL_free(c->ssl);
    }
    if (c->fd >= 0) close(c->fd);
    if (c->ctx) SSL_CTX_free(c->ctx);
    if (c->ticket) SSL_SESSION_free(c->ticket);
    ERR_clear_error();
    free(c);
}

int ctls_session_reused(const ctls_conn *c) {
    return c != NULL && c->ssl != NULL && SSL_session_reused(c->ssl) == 1;
}

size_t ctls_session_export(const ctls_conn *c, unsigned char *buf, size_t cap, unsigned long *lifetime_s) {
    if (lifetime_s != NULL) *lifetime_s = 0;
    if (c == NULL || c->ticket == NULL || !SSL_SESSION_is_resumable(c->ticket) || all_zero(c->binding, 32))
        return 0;
    int der = i2d_SSL_SESSION(c->ticket, NULL);
    if (der <= 0) {
        ERR_clear_error();
        return 0;
    }
    size_t total = SESSION_HEADER + (size_t)der;
    if (lifetime_s != NULL) *lifetime_s = SSL_SESSION_get_ticket_lifetime_hint(c->ticket);
    if (buf == NULL || cap < total) return total;
    memcpy(buf, session_magic, SESSION_MAGIC_LEN);
    memcpy(buf + SESSION_MAGIC_LEN, c->binding, 32);
    unsigned char *p = buf + SESSION_HEADER;
    if (i2d_SSL_SESSION(c->ticket, &p) != der) {
        ERR_clear_error();
        OPENSSL_cleanse(buf, total);
        return 0;
    }
    return total;
}

/* OpenSSL without its atexit cleanup: a process that exits while another thread still uses
 * OpenSSL (libssh tearing a session down, a TLS close) would otherwise crash in a lock the
 * cleanup freed. Must run before anything else initialises OpenSSL. */
void ctls_keep_openssl_at_exit(void) {
    OPENSSL_init_crypto(OPENSSL_INIT_NO_ATEXIT, NULL);
}
