// Test seam: make io_uring_setup fail with EPERM in this process, the way
// Docker's default seccomp profile (and kernel.io_uring_disabled=2) refuse
// it, so test children exercise the POSIX fallback against the real kernel
// answer. Nothing in the engine calls this.
#define _GNU_SOURCE
#include "CRingSupport.h"
#include <errno.h>
#include <stddef.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/syscall.h>

int rk_deny_io_uring_setup(void) {
#ifdef __NR_io_uring_setup
    struct sock_filter filter[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_io_uring_setup, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (EPERM & SECCOMP_RET_DATA)),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    struct sock_fprog program = { (unsigned short)(sizeof filter / sizeof filter[0]), filter };
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return -errno;
    if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &program) != 0) return -errno;
    return 0;
#else
    return -ENOSYS;
#endif
}
