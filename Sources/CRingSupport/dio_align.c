// statx(2) with STATX_DIOALIGN (Linux 6.1): the file offset alignment the
// kernel accepts for O_DIRECT I/O on a descriptor (RingIO's
// File.directReadAlignment). glibc 2.36's <sys/stat.h> has no
// STATX_DIOALIGN nor the two fields, so the kernel's struct is used.
#define _GNU_SOURCE
#include "CRingSupport.h"
#include <errno.h>
#include <fcntl.h>
#include <linux/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef STATX_DIOALIGN
#define STATX_DIOALIGN 0x00002000U
#endif

int64_t rk_dio_offset_align(int fd) {
    struct statx st;
    if (syscall(SYS_statx, fd, "", AT_EMPTY_PATH, STATX_DIOALIGN, &st) != 0) return -errno;
    if (!(st.stx_mask & STATX_DIOALIGN)) return 0;
    return (int64_t)st.stx_dio_offset_align;
}
