/* Name resolution, TCP connect with a deadline, and small helpers (no TLS here). */
#define _GNU_SOURCE
#include "ctls_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

int64_t ctls_now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void ctls_status_reset(ctls_status *st) {
    if (st == NULL) return;
    memset(st, 0, sizeof(*st));
    st->code = CTLS_OK;
    st->cert_depth = -1;
    st->alert = -1;
}

void ctls_fail(ctls_status *st, ctls_code code, int sys_errno, char *err, size_t errlen,
               const char *fmt, ...) {
    if (st != NULL) {
        st->code = code;
        st->sys_errno = sys_errno;
    }
    if (err != NULL && errlen > 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
}

int ctls_wait_fd(int fd, int want_write, int64_t deadline_ms) {
    for (;;) {
        int64_t left = deadline_ms - ctls_now_ms();
        if (left <= 0) return 0;
        struct pollfd p = {.fd = fd, .events = want_write ? POLLOUT : POLLIN};
        int r = poll(&p, 1, left > 60000 ? 60000 : (int)left);
        if (r > 0) return 1;
        if (r < 0 && errno != EINTR) return -1;
    }
}

static ctls_code code_for_errno(int e) {
    switch (e) {
    case ECONNREFUSED: return CTLS_ERR_REFUSED;
    case ETIMEDOUT: return CTLS_ERR_TIMEOUT;
    case EHOSTUNREACH: case ENETUNREACH: case EHOSTDOWN: case ENETDOWN: return CTLS_ERR_UNREACHABLE;
    default: return CTLS_ERR_NETWORK;
    }
}

/* Returns the connected fd, -1 with *err_out = errno on failure (ETIMEDOUT at the deadline). */
static int connect_one(const struct addrinfo *ai, int64_t deadline_ms, int *err_out) {
#ifdef SOCK_NONBLOCK
    int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, ai->ai_protocol);
#else
    int fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
    if (fd >= 0) {
        fcntl(fd, F_SETFD, FD_CLOEXEC);
        fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    }
#endif
    if (fd < 0) {
        *err_out = errno;
        return -1;
    }
#ifdef SO_NOSIGPIPE
    int on = 1;
    setsockopt(fd, SOL_SOCKET, SO_NOSIGPIPE, &on, sizeof(on));
#endif
    if (connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
        if (errno != EINPROGRESS && errno != EINTR) {
            *err_out = errno;
            close(fd);
            return -1;
        }
        int w = ctls_wait_fd(fd, 1, deadline_ms);
        if (w <= 0) {
            *err_out = w == 0 ? ETIMEDOUT : errno;
            close(fd);
            return -1;
        }
        int soerr = 0;
        socklen_t len = sizeof(soerr);
        if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) != 0) soerr = errno;
        if (soerr != 0) {
            *err_out = soerr;
            close(fd);
            return -1;
        }
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    return fd;
}

int ctls_tcp_connect(const char *host, int port, int64_t deadline_ms, ctls_status *st,
                     char *err, size_t errlen) {
    char portstr[16];
    snprintf(portstr, sizeof(portstr), "%d", port);
    struct addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV;
    int g = getaddrinfo(host, portstr, &hints, &res);
    if (g != 0) {
        int e = g == EAI_SYSTEM ? errno : 0;
        ctls_fail(st, CTLS_ERR_DNS, e, err, errlen, "cannot resolve %s: %s", host,
                  g == EAI_SYSTEM ? strerror(e) : gai_strerror(g));
        return -1;
    }
    /* Try every address; report the most telling failure (a timeout beats a refusal). */
    int last_err = 0, fd = -1;
    for (struct addrinfo *ai = res; ai != NULL; ai = ai->ai_next) {
        int e = 0;
        fd = connect_one(ai, deadline_ms, &e);
        if (fd >= 0) break;
        if (last_err != ETIMEDOUT) last_err = e;
        if (ctls_now_ms() >= deadline_ms) {
            last_err = ETIMEDOUT;
            break;
        }
    }
    freeaddrinfo(res);
    if (fd >= 0) return fd;
    if (last_err == ETIMEDOUT)
        ctls_fail(st, CTLS_ERR_TIMEOUT, last_err, err, errlen, "connecting to %s port %d timed out",
                  host, port);
    else
        ctls_fail(st, code_for_errno(last_err), last_err, err, errlen, "connecting to %s port %d: %s",
                  host, port, strerror(last_err));
    return -1;
}

#ifdef SO_NOSIGPIPE
/* The socket carries SO_NOSIGPIPE (BSD, macOS): nothing to do per call. */
void ctls_sigpipe_block(ctls_sigpipe_guard *g) { (void)g; }
void ctls_sigpipe_restore(ctls_sigpipe_guard *g) { (void)g; }
#else
void ctls_sigpipe_block(ctls_sigpipe_guard *g) {
    sigset_t pipe_only, pending;
    sigemptyset(&pipe_only);
    sigaddset(&pipe_only, SIGPIPE);
    sigemptyset(&pending);
    sigpending(&pending);
    g->was_pending = sigismember(&pending, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_only, &g->old_mask);
}

void ctls_sigpipe_restore(ctls_sigpipe_guard *g) {
    int saved = errno;
    if (!g->was_pending) {
        sigset_t pending, pipe_only;
        sigemptyset(&pending);
        sigpending(&pending);
        if (sigismember(&pending, SIGPIPE)) {
            sigemptyset(&pipe_only);
            sigaddset(&pipe_only, SIGPIPE);
            struct timespec zero = {0, 0};
            while (sigtimedwait(&pipe_only, NULL, &zero) < 0 && errno == EINTR) {
            }
        }
    }
    pthread_sigmask(SIG_SETMASK, &g->old_mask, NULL);
    errno = saved;
}
#endif
