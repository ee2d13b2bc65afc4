/*
 * CTLS: a tiny blocking mutual-TLS client on OpenSSL 3 (TLS 1.2+), for the Docker Engine API.
 *
 * One ctls_conn belongs to one thread at a time. The only global state besides OpenSSL's own
 * initialisation is a cache of TLS contexts by the contents of their PEM files (thread-safe;
 * connections with the same client files share one). Failures are classified in a ctls_status (optional, may be NULL):
 * the kind, the phase, OpenSSL's error code, the verify result and the peer's alert, as values to decide on; and
 * described in err/errlen (optional, may be NULL/0) for people only. No key material is ever printed.
 */
#ifndef CTLS_H
#define CTLS_H

#include <stddef.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum ctls_code {
    CTLS_OK = 0,
    CTLS_ERR_REFUSED = 1,              /* TCP connection refused */
    CTLS_ERR_TIMEOUT = 2,              /* connect, handshake, read or write deadline passed */
    CTLS_ERR_DNS = 3,                  /* getaddrinfo failed */
    CTLS_ERR_UNREACHABLE = 4,          /* no route to host / network unreachable */
    CTLS_ERR_NETWORK = 5,              /* other socket error (reset, ...); see sys_errno */
    CTLS_ERR_UNKNOWN_CA = 6,           /* peer chain does not lead to our CA */
    CTLS_ERR_NAME_MISMATCH = 7,        /* peer certificate does not cover the host name / IP */
    CTLS_ERR_CERT_EXPIRED = 8,         /* a certificate of the chain expired (cert_time = notAfter) */
    CTLS_ERR_CERT_NOT_YET_VALID = 9,   /* cert_time = notBefore */
    CTLS_ERR_CERT_INVALID = 10,        /* other verification failure (purpose, ...); see verify_error */
    CTLS_ERR_CLIENT_CERT_REJECTED = 11,/* the peer refused our client certificate (alert) */
    CTLS_ERR_LOCAL_FILE = 12,          /* cannot read CA/cert/key, or key does not match cert */
    CTLS_ERR_CLOSED = 13,              /* peer closed the connection during the handshake */
    CTLS_ERR_OTHER = 14                /* anything else; the message holds OpenSSL's error string */
} ctls_code;

/* What the connection was doing when it failed. */
typedef enum ctls_phase {
    CTLS_PHASE_NONE = 0,
    CTLS_PHASE_SETUP = 1,     /* reading the PEM files, making the TLS context */
    CTLS_PHASE_CONNECT = 2,   /* resolving the host, the TCP connect */
    CTLS_PHASE_HANDSHAKE = 3, /* the TLS handshake */
    CTLS_PHASE_VERIFY = 4,    /* verifying the peer's certificate (during the handshake) */
    CTLS_PHASE_SEND = 5,      /* writing the request */
    CTLS_PHASE_RECEIVE = 6    /* reading the response */
} ctls_phase;

typedef struct ctls_status {
    ctls_code code;
    long verify_error;     /* X509_V_ERR_* for certificate failures, else 0 */
    int sys_errno;         /* errno for socket failures, else 0 */
    int cert_depth;        /* chain depth of the failing certificate (0 = the peer's own), -1 if none */
    char cert_time[32];    /* expired: notAfter; not yet valid: notBefore; "2024-01-31 12:00:00 UTC" */
    char cert_info[256];   /* name mismatch: the names the peer certificate covers ("IP:.., DNS:..");
                              unknown CA: the issuer of the failing certificate */
    ctls_phase phase;      /* what was going on when it failed */
    int err_lib;           /* OpenSSL's error: ERR_GET_LIB (ctls_err_lib_ssl for libssl), 0 if none */
    int err_reason;        /* ERR_GET_REASON of it (e.g. ctls_ssl_r_wrong_version_number), 0 if none */
    int alert;             /* the TLS alert the peer sent (RFC 8446 AlertDescription, 48 = unknown_ca),
                              -1 if none */
} ctls_status;

/* OpenSSL's values for the error fields, for callers that do not include OpenSSL's headers. */
extern const int ctls_err_lib_ssl;                 /* ERR_LIB_SSL */
extern const int ctls_ssl_r_wrong_version_number;  /* SSL_R_WRONG_VERSION_NUMBER */
extern const int ctls_ssl_r_packet_length_too_long;/* SSL_R_PACKET_LENGTH_TOO_LONG */

typedef struct ctls_conn ctls_conn;

/* Resolves host (name, IPv4 or IPv6 literal, optionally in brackets), connects within timeout_ms
 * (the whole connect + handshake), verifies the peer against the CA file and verify_name (a host
 * name or IP; NULL or empty: host itself), and presents cert/key (PEM). verify_name lets a
 * forward's local end (127.0.0.1) be checked as the machine behind it. Later reads and writes
 * each time out after timeout_ms (see ctls_set_io_timeout). Returns NULL on failure. */
ctls_conn *ctls_connect(const char *host, int port, const char *verify_name, const char *ca,
                        const char *cert, const char *key, int timeout_ms, ctls_status *status,
                        char *err, size_t errlen);

/* ctls_connect, offering a saved session (a blob from ctls_session_export; NULL/0: none) for
 * resumption. The blob is only offered when it was made with the same CA, certificate and key
 * files (their contents) and verify name, and the daemon certificate stored in it still
 * verifies against this CA and name now; otherwise, or when the daemon declines it, the
 * handshake is a full one that verifies as ctls_connect does. */
ctls_conn *ctls_connect_resuming(const char *host, int port, const char *verify_name, const char *ca,
                                 const char *cert, const char *key, const void *session,
                                 size_t session_len, int timeout_ms, ctls_status *status,
                                 char *err, size_t errlen);

/* 1 when the handshake resumed a session (no certificates exchanged), 0 when it was a full one. */
int ctls_session_reused(const ctls_conn *conn);

/* The newest session the daemon gave on this connection (TLS 1.3 tickets arrive after the
 * handshake, so call it after reading), as an opaque blob bound to this connection's files and
 * verify name. Returns its length, 0 when there is none; copies it into buf only when it fits in
 * cap. *lifetime_s (optional) gets the daemon's lifetime hint in seconds (0: none given).
 * The blob is as secret as the client key: it lets its holder resume as this client. */
size_t ctls_session_export(const ctls_conn *conn, unsigned char *buf, size_t cap,
                           unsigned long *lifetime_s);

/* Sets the send/receive timeout for later reads and writes (ms, > 0). Returns 0 or -1. */
int ctls_set_io_timeout(ctls_conn *conn, int timeout_ms);

/* Writes all len bytes. Returns 0 or -1. */
int ctls_write_all(ctls_conn *conn, const void *buf, size_t len, ctls_status *status,
                   char *err, size_t errlen);

/* Reads up to len bytes. Returns the count, 0 at EOF (close_notify or TCP close), -1 on error. */
ssize_t ctls_read(ctls_conn *conn, void *buf, size_t len, ctls_status *status,
                  char *err, size_t errlen);

/* ctls_read_available's answer when no application data is complete yet. */
#define CTLS_WOULD_BLOCK (-2)

/* As ctls_read, without waiting: CTLS_WOULD_BLOCK when the socket holds no complete application
 * data yet (a partial record, or only a session ticket, is kept for the next call). */
ssize_t ctls_read_available(ctls_conn *conn, void *buf, size_t len, ctls_status *status,
                            char *err, size_t errlen);

/* The connection's socket, for poll(2) (reads and writes still go through this shim). */
int ctls_fd(const ctls_conn *conn);

/* 1 when OpenSSL holds decrypted application data already read from the socket (a read returns
 * it at once; poll would not announce it); else 0. */
int ctls_has_buffered(const ctls_conn *conn);

/* The negotiated protocol ("TLSv1.3"), for diagnostics. */
const char *ctls_protocol(const ctls_conn *conn);

/* Sends close_notify (best effort), closes the socket and frees everything. NULL is fine. */
void ctls_close(ctls_conn *conn);

/* Initialise OpenSSL without its atexit cleanup (call first thing in main). */
void ctls_keep_openssl_at_exit(void);

#ifdef __cplusplus
}
#endif

#endif
