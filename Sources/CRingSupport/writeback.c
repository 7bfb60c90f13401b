// sync_file_range(2) with SYNC_FILE_RANGE_WRITE (glibc declares it only
// under _GNU_SOURCE, which Swift's Glibc module does not set): starts
// writeback of a range without waiting for it (RingIO's
// File.startWriteback); and cachestat(2), which glibc does not wrap, for
// File.pageCacheState.
#define _GNU_SOURCE
#include "CRingSupport.h"
#include <errno.h>
#include <fcntl.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef SYS_cachestat
#define SYS_cachestat 451
#endif

int rk_start_writeback(int fd, int64_t offset, int64_t length) {
    for (;;) {
        if (sync_file_range(fd, offset, length, SYNC_FILE_RANGE_WRITE) == 0) return 0;
        if (errno != EINTR) return -errno;
    }
}

int rk_cachestat_range(int fd, uint64_t offset, uint64_t length, rk_cachestat *out) {
    struct { uint64_t off, len; } range = { offset, length };
    long rc = syscall(SYS_cachestat, fd, &range, out, 0);
    return rc == 0 ? 0 : -errno;
}
