// A futex on a 32-bit word: the sleeping half of RingIO's WaitWord (a
// writer waiting for its group commit sleeps here only after spinning).
#define _GNU_SOURCE
#include "CRingSupport.h"
#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

int rk_futex_wait(uint32_t *word, uint32_t expected, int64_t timeout_ns) {
    struct timespec ts, *timeout = NULL;
    if (timeout_ns >= 0) {
        // FUTEX_WAIT takes a relative timeout, measured on CLOCK_MONOTONIC:
        // a wall-clock step does not stretch it.
        ts.tv_sec = (time_t)(timeout_ns / 1000000000);
        ts.tv_nsec = (long)(timeout_ns % 1000000000);
        timeout = &ts;
    }
    long rc = syscall(SYS_futex, word, FUTEX_WAIT_PRIVATE, expected, timeout, NULL, 0);
    return rc == 0 ? 0 : -errno;
}

int rk_futex_wake(uint32_t *word, int count) {
    long rc = syscall(SYS_futex, word, FUTEX_WAKE_PRIVATE, count, NULL, NULL, 0);
    return rc < 0 ? -errno : (int)rc;
}
