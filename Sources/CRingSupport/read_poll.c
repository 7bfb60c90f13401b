// For RingIO's polling of a foreground read's completion (URingBackend,
// docs/ARCHITECTURE.md §Waiting for a read): a thread-local mark for the
// engine's own background threads, which never poll, and a pread that
// returns what the page cache holds without waiting for the device.
#define _GNU_SOURCE
#include "CRingSupport.h"
#include <errno.h>
#include <sys/uio.h>

static __thread int rk_background_thread;

bool rk_thread_is_background(void) { return rk_background_thread != 0; }
bool rk_thread_set_background(bool on) {
    bool was = rk_background_thread != 0;
    rk_background_thread = on ? 1 : 0;
    return was;
}

ssize_t rk_pread_nowait(int fd, void *buf, size_t len, uint64_t offset) {
    struct iovec iov = { buf, len };
    for (;;) {
        ssize_t n = preadv2(fd, &iov, 1, (off_t)offset, RWF_NOWAIT);
        if (n >= 0) return n;
        if (errno != EINTR) return -errno;
    }
}
