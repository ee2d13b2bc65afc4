/* Trampolines for libcrypto, libssl and libssh functions, and their loader (see clazylink.h). */
#define _GNU_SOURCE
#include "clazylink.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#if !defined(__linux__) || !(defined(__x86_64__) || defined(__aarch64__))
#error "CLazyLink has trampolines for Linux on x86_64 and aarch64 only"
#endif

enum { LIB_CRYPTO, LIB_SSL, LIB_SSH, LIB_COUNT };
#define LIB_INDEX_CRYPTO LIB_CRYPTO
#define LIB_INDEX_SSL LIB_SSL
#define LIB_INDEX_SSH LIB_SSH

static const char *const sonames[LIB_COUNT] = {"libcrypto.so.3", "libssl.so.3", "libssh.so.4"};
static void *handles[LIB_COUNT];
static pthread_once_t once = PTHREAD_ONCE_INIT;
static int loaded = 0;

/* One function: its resolved address (NULL until the first call), name and library. The
 * trampoline reads fn first, so it must stay the first field. */
struct lazy_slot {
    void *fn;
    const char *name;
    int lib;
};

#define LAZY(lib, name) \
    __attribute__((visibility("hidden"), used)) struct lazy_slot swock_lazy_slot_##name = {0, #name, LIB_INDEX_##lib};
#include "symbols.h"
#undef LAZY

static void fail(const char *what, const char *why) {
    char line[768];
    int n = snprintf(line, sizeof(line),
                     "swock-machine: cannot load %s (%s); install libssh 0.10 (libssh-4) and OpenSSL 3 (libssl3)\n",
                     what, why ? why : "unknown error");
    if (n > 0) {
        ssize_t w = write(2, line, (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1);
        (void)w;
    }
    _exit(127);
}

static void load_all(void) {
    for (int i = 0; i < LIB_COUNT; i++) {
        handles[i] = dlopen(sonames[i], RTLD_NOW | RTLD_GLOBAL | RTLD_NODELETE);
        if (handles[i] == NULL) fail(sonames[i], dlerror());
        if (i == LIB_CRYPTO) {
            /* Before libssl and libssh (whose constructor initialises OpenSSL): without the
             * atexit cleanup, a process that exits while another thread is still inside OpenSSL
             * (libssh closing a jump host's channel, a TLS close) does not crash on freed locks.
             * OPENSSL_INIT_NO_ATEXIT is 0x00080000L. */
            int (*init)(uint64_t, const void *) = (int (*)(uint64_t, const void *))dlsym(handles[i], "OPENSSL_init_crypto");
            if (init == NULL) fail(sonames[i], "no OPENSSL_init_crypto");
            init(0x00080000UL, NULL);
        }
    }
    __atomic_store_n(&loaded, 1, __ATOMIC_RELEASE);
}

int clazylink_loaded(void) { return __atomic_load_n(&loaded, __ATOMIC_ACQUIRE); }

/* Called by the trampolines' slow path (every argument register saved): the function's address. */
__attribute__((visibility("hidden"), used)) void *swock_lazy_resolve(struct lazy_slot *s) {
    pthread_once(&once, load_all);
    void *fn = __atomic_load_n(&s->fn, __ATOMIC_ACQUIRE);
    if (fn != NULL) return fn;
    fn = dlsym(handles[s->lib], s->name);
    if (fn == NULL) {
        char why[256];
        snprintf(why, sizeof(why), "it has no function %s", s->name);
        fail(sonames[s->lib], why);
    }
    __atomic_store_n(&s->fn, fn, __ATOMIC_RELEASE);
    return fn;
}

#if defined(__x86_64__)
/* Fast path: jump through the slot. Slow path: the slot in r11 (neither an argument nor a
 * callee-saved register), then swock_lazy_slow saves the argument registers (rdi, rsi, rdx,
 * rcx, r8, r9, rax for variadic calls, xmm0-7), resolves and jumps with the arguments intact. */
#define LAZY(lib, name)                                              \
    __asm__(".text\n"                                                \
            ".p2align 4\n"                                           \
            ".globl " #name "\n"                                     \
            ".hidden " #name "\n"                                    \
            ".type " #name ", @function\n" #name ":\n"               \
            "  movq swock_lazy_slot_" #name "(%rip), %r11\n"         \
            "  testq %r11, %r11\n"                                   \
            "  je 1f\n"                                              \
            "  jmpq *%r11\n"                                         \
            "1:\n"                                                   \
            "  leaq swock_lazy_slot_" #name "(%rip), %r11\n"         \
            "  jmp swock_lazy_slow\n"                                \
            ".size " #name ", .-" #name "\n");
__asm__(".text\n"
        ".p2align 4\n"
        ".hidden swock_lazy_slow\n"
        ".type swock_lazy_slow, @function\n"
        "swock_lazy_slow:\n"
        "  pushq %rdi\n  pushq %rsi\n  pushq %rdx\n  pushq %rcx\n"
        "  pushq %r8\n  pushq %r9\n  pushq %rax\n  pushq %r11\n"
        "  subq $136, %rsp\n" /* 16-byte aligned for the call: entry 8 mod 16, + 64 + 136 */
        "  movdqu %xmm0, 0(%rsp)\n  movdqu %xmm1, 16(%rsp)\n  movdqu %xmm2, 32(%rsp)\n  movdqu %xmm3, 48(%rsp)\n"
        "  movdqu %xmm4, 64(%rsp)\n  movdqu %xmm5, 80(%rsp)\n  movdqu %xmm6, 96(%rsp)\n  movdqu %xmm7, 112(%rsp)\n"
        "  movq %r11, %rdi\n"
        "  call swock_lazy_resolve\n"
        "  movq %rax, 136(%rsp)\n" /* into the saved r11 */
        "  movdqu 0(%rsp), %xmm0\n  movdqu 16(%rsp), %xmm1\n  movdqu 32(%rsp), %xmm2\n  movdqu 48(%rsp), %xmm3\n"
        "  movdqu 64(%rsp), %xmm4\n  movdqu 80(%rsp), %xmm5\n  movdqu 96(%rsp), %xmm6\n  movdqu 112(%rsp), %xmm7\n"
        "  addq $136, %rsp\n"
        "  popq %r11\n  popq %rax\n  popq %r9\n  popq %r8\n"
        "  popq %rcx\n  popq %rdx\n  popq %rsi\n  popq %rdi\n"
        "  jmpq *%r11\n"
        ".size swock_lazy_slow, .-swock_lazy_slow\n");
#elif defined(__aarch64__)
/* Fast path through x16 (IP0); slow path: the slot in x17 (IP1), then swock_lazy_slow saves
 * x0-x8 and q0-q7, resolves and branches with the arguments intact. */
#define LAZY(lib, name)                                                          \
    __asm__(".text\n"                                                            \
            ".p2align 2\n"                                                       \
            ".globl " #name "\n"                                                 \
            ".hidden " #name "\n"                                                \
            ".type " #name ", %function\n" #name ":\n"                           \
            "  adrp x16, swock_lazy_slot_" #name "\n"                            \
            "  ldr x16, [x16, #:lo12:swock_lazy_slot_" #name "]\n"               \
            "  cbz x16, 1f\n"                                                    \
            "  br x16\n"                                                         \
            "1:\n"                                                               \
            "  adrp x17, swock_lazy_slot_" #name "\n"                            \
            "  add x17, x17, #:lo12:swock_lazy_slot_" #name "\n"                 \
            "  b swock_lazy_slow\n"                                              \
            ".size " #name ", .-" #name "\n");
__asm__(".text\n"
        ".p2align 2\n"
        ".hidden swock_lazy_slow\n"
        ".type swock_lazy_slow, %function\n"
        "swock_lazy_slow:\n"
        "  stp x29, x30, [sp, #-224]!\n"
        "  mov x29, sp\n"
        "  stp x0, x1, [sp, #16]\n  stp x2, x3, [sp, #32]\n  stp x4, x5, [sp, #48]\n  stp x6, x7, [sp, #64]\n"
        "  str x8, [sp, #80]\n"
        "  stp q0, q1, [sp, #96]\n  stp q2, q3, [sp, #128]\n  stp q4, q5, [sp, #160]\n  stp q6, q7, [sp, #192]\n"
        "  mov x0, x17\n"
        "  bl swock_lazy_resolve\n"
        "  mov x16, x0\n"
        "  ldp q0, q1, [sp, #96]\n  ldp q2, q3, [sp, #128]\n  ldp q4, q5, [sp, #160]\n  ldp q6, q7, [sp, #192]\n"
        "  ldr x8, [sp, #80]\n"
        "  ldp x0, x1, [sp, #16]\n  ldp x2, x3, [sp, #32]\n  ldp x4, x5, [sp, #48]\n  ldp x6, x7, [sp, #64]\n"
        "  ldp x29, x30, [sp], #224\n"
        "  br x16\n"
        ".size swock_lazy_slow, .-swock_lazy_slow\n");
#endif

#include "symbols.h"
#undef LAZY
