/* Private helpers shared by the CTLS sources. */
#ifndef CTLS_INTERNAL_H
#define CTLS_INTERNAL_H

#include <signal.h>
#include <stdint.h>
#include "ctls.h"

/* Milliseconds on the monotonic clock. */
int64_t ctls_now_ms(void);

/* Resets a status to "no error" (NULL is fine). */
void ctls_status_reset(ctls_status *st);

/* Sets code/errno in st (if any) and formats the message into err (if any). */
void ctls_fail(ctls_status *st, ctls_code code, int sys_errno, char *err, size_t errlen,
               const char *fmt, ...) __attribute__((format(printf, 6, 7)));

/* Resolves host and connects a non-blocking TCP socket before deadline_ms (ctls_now_ms clock).
 * Returns the fd (still non-blocking) or -1 with st/err filled. */
int ctls_tcp_connect(const char *host, int port, int64_t deadline_ms, ctls_status *st,
                     char *err, size_t errlen);

/* Waits until fd is readable (want_write == 0) or writable, until deadline_ms.
 * Returns 1 when ready, 0 on timeout, -1 on error (errno set). */
int ctls_wait_fd(int fd, int want_write, int64_t deadline_ms);

/* OpenSSL's socket BIO uses write(2): block SIGPIPE on this thread around TLS I/O, and swallow
 * a SIGPIPE we caused (the libpq approach), so a closed peer never kills the process. */
typedef struct ctls_sigpipe_guard {
    sigset_t old_mask;
    int was_pending;
} ctls_sigpipe_guard;
void ctls_sigpipe_block(ctls_sigpipe_guard *g);
void ctls_sigpipe_restore(ctls_sigpipe_guard *g);

#endif
