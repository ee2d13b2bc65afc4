/*
 * CLazyLink: libssh and OpenSSL loaded on first use instead of at program start.
 *
 * The program is linked against neither library. Every function of theirs that it calls is a
 * small trampoline here (symbols.h lists them) that jumps through a pointer; the first call of
 * each resolves it, and the first call of any loads libcrypto, libssl and libssh (dlopen, in
 * that order, never unloaded; OpenSSL initialised without its atexit cleanup before anything
 * else uses it). Verbs that never reach a host (env, ip, url, config, ...) never load them.
 * A library that cannot be loaded ends the process with one line on stderr and status 127, as
 * the dynamic loader would have at start. Linux on x86_64 and aarch64.
 */
#ifndef CLAZYLINK_H
#define CLAZYLINK_H

#ifdef __cplusplus
extern "C" {
#endif

/* 1 once the libraries are loaded (a function of theirs was called), else 0. */
int clazylink_loaded(void);

#ifdef __cplusplus
}
#endif

#endif
