// Thin wrappers over liburing 2.x. See CRingSupport.h.
#define _GNU_SOURCE
#include "CRingSupport.h"
#include <liburing.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>

struct rk_ring {
    struct io_uring ring;
    bool sqpoll;
};

const uint8_t RK_SQE_IO_LINK = IOSQE_IO_LINK;
const uint8_t RK_SQE_IO_DRAIN = IOSQE_IO_DRAIN;
const uint8_t RK_SQE_FIXED_FILE = IOSQE_FIXED_FILE;
const uint8_t RK_SQE_ASYNC = IOSQE_ASYNC;
const uint32_t RK_FSYNC_DATASYNC = IORING_FSYNC_DATASYNC;
const int RK_O_DIRECT = O_DIRECT;

rk_ring *rk_ring_create(unsigned entries, unsigned sqpoll_idle_ms, int *err) {
    rk_ring *r = calloc(1, sizeof(*r));
    if (!r) { *err = ENOMEM; return NULL; }
    struct io_uring_params p;
    memset(&p, 0, sizeof(p));
    if (sqpoll_idle_ms > 0) {
        p.flags |= IORING_SETUP_SQPOLL;
        p.sq_thread_idle = sqpoll_idle_ms;
        r->sqpoll = true;
    }
    int rc = io_uring_queue_init_params(entries, &r->ring, &p);
    if (rc < 0) { free(r); *err = -rc; return NULL; }
    *err = 0;
    return r;
}

void rk_ring_destroy(rk_ring *r) {
    if (!r) return;
    io_uring_queue_exit(&r->ring);
    free(r);
}

int rk_ring_fd(const rk_ring *r) { return r->ring.ring_fd; }
unsigned rk_ring_sq_entries(const rk_ring *r) { return r->ring.sq.ring_entries; }
unsigned rk_ring_cq_entries(const rk_ring *r) { return r->ring.cq.ring_entries; }
unsigned rk_ring_sq_space_left(const rk_ring *r) { return io_uring_sq_space_left(&r->ring); }
unsigned rk_ring_sq_ready(const rk_ring *r) { return io_uring_sq_ready(&r->ring); }
unsigned rk_ring_cq_ready(const rk_ring *r) { return io_uring_cq_ready(&r->ring); }
bool rk_ring_cq_has_overflow(const rk_ring *r) { return io_uring_cq_has_overflow(&r->ring); }
bool rk_ring_is_sqpoll(const rk_ring *r) { return r->sqpoll; }

static inline struct io_uring_sqe *next_sqe(rk_ring *r) {
    return io_uring_get_sqe(&r->ring);
}

static inline void finish_sqe(struct io_uring_sqe *sqe, uint64_t user_data, uint8_t flags) {
    io_uring_sqe_set_data64(sqe, user_data);
    io_uring_sqe_set_flags(sqe, flags);
}

bool rk_prep_nop(rk_ring *r, uint64_t ud, uint8_t flags) {
    struct io_uring_sqe *sqe = next_sqe(r);
    if (!sqe) return false;
    io_uring_prep_nop(sqe);
    finish_sqe(sqe, ud, flags);
    return true;
}

bool rk_prep_read(rk_ring *r, int fd, void *buf, unsigned len, uint64_t off, uint64_t ud, uint8_t flags) {
    struct io_uring_sqe *sqe = next_sqe(r);
    if (!sqe) return false;
    io_uring_prep_read(sqe, fd, buf, len, off);
    finish_sqe(sqe, ud, flags);
    return true;
}

bool rk_prep_write(rk_ring *r, int fd, const void *buf, unsigned len, uint64_t off, uint64_t ud, uint8_t flags) {
    struct io_uring_sqe *sqe = next_sqe(r);
    if (!sqe) return false;
    io_uring_prep_write(sqe, fd, buf, len, off);
    finish_sqe(sqe, ud, flags);
    return true;
}

bool rk_prep_readv(rk_ring *r, int fd, const struct iovec *iov, unsigned nr, uint64_t off, uint64_t ud, uint8_t flags) {
    struct io_uring_sqe *sqe = next_sqe(r);
    if (!sqe) return false;
    io_uring_prep_readv(sqe, fd, iov, nr, off);
    finish_sqe(sqe, ud, flags);
    return true;
}

bool rk_prep_writev(rk_ring *r, int fd, const struct iovec *iov, unsigned nr, uint64_t off, uint64_t ud, uint8_t flags) {
    struct io_uring_sqe *sqe = next_sqe(r);
    if (!sqe) return false;
    io_uring_prep_writev(sqe, fd, iov, nr, off);
    finish_sqe(sqe, ud, flags);
    return true;
}

bool rk_prep_read_fixed(rk_ring *r, int fd, void *buf, unsigned len, uint64_t off, int idx, uint64_t ud, uint8_t flags) {
    struct io_uring_sqe *sqe = next_sqe(r);
    if (!sqe) return false;
    io_uring_prep_read_fixed(sqe, fd, buf, len, off, idx);
    finish_sqe(sqe, ud, flags);
    return true;
}

bool rk_prep_write_fixed(rk_ring *r, int fd, const void *buf, unsigned len, uint64_t off, int idx, uint64_t ud, uint8_t flags) {
    struct io_uring_sqe *sqe = next_sqe(r);
    if (!sqe) return false;
    io_uring_prep_write_fixed(sqe, fd, buf, len, off, idx);
    finish_sqe(sqe, ud, flags);
    return true;
}

bool rk_prep_fsync(rk_ring *r, int fd, uint32_t fsync_flags, uint64_t ud, uint8_t flags) {
    struct io_uring_sqe *sqe = next_sqe(r);
    if (!sqe) return false;
    io_uring_prep_fsync(sqe, fd, fsync_flags);
    finish_sqe(sqe, ud, flags);
    return true;
}

bool rk_prep_fallocate(rk_ring *r, int fd, int mode, uint64_t off, uint64_t len, uint64_t ud, uint8_t flags) {
    struct io_uring_sqe *sqe = next_sqe(r);
    if (!sqe) return false;
    io_uring_prep_fallocate(sqe, fd, mode, (off_t)off, (off_t)len);
    finish_sqe(sqe, ud, flags);
    return true;
}

int rk_ring_submit(rk_ring *r) { return io_uring_submit(&r->ring); }
int rk_ring_submit_and_wait(rk_ring *r, unsigned wait_nr) { return io_uring_submit_and_wait(&r->ring, wait_nr); }

int rk_ring_wait(rk_ring *r) {
    struct io_uring_cqe *cqe = NULL;
    return io_uring_wait_cqe(&r->ring, &cqe);
}

unsigned rk_ring_harvest(rk_ring *r, uint64_t *user_data, int32_t *res, unsigned max) {
    struct io_uring_cqe *cqe;
    unsigned head, n = 0;
    io_uring_for_each_cqe(&r->ring, head, cqe) {
        if (n == max) break;
        user_data[n] = cqe->user_data;
        res[n] = cqe->res;
        n++;
    }
    io_uring_cq_advance(&r->ring, n);
    return n;
}

int rk_ring_register_buffers(rk_ring *r, const struct iovec *iov, unsigned nr) {
    return io_uring_register_buffers(&r->ring, iov, nr);
}
int rk_ring_unregister_buffers(rk_ring *r) { return io_uring_unregister_buffers(&r->ring); }
int rk_ring_register_files(rk_ring *r, const int *fds, unsigned nr) {
    return io_uring_register_files(&r->ring, fds, nr);
}
int rk_ring_unregister_files(rk_ring *r) { return io_uring_unregister_files(&r->ring); }

int rk_uring_probe(void) {
    struct io_uring ring;
    int rc = io_uring_queue_init(2, &ring, 0);
    if (rc < 0) return -rc;
    io_uring_queue_exit(&ring);
    return 0;
}

int rk_errno(void) { return errno; }

// Test seams: debug builds only (RingIO's ring hooks, IOSeam.swift).
#if DEBUG
int rk_ring_submit_limited(rk_ring *r, unsigned max) {
    // io_uring_submit hands the kernel every SQE between sqe_head and
    // sqe_tail. Hiding the ones past `max` for the duration of the call
    // leaves them prepared for the next submit, exactly as if the kernel
    // had consumed only part of the submission.
    struct io_uring_sq *sq = &r->ring.sq;
    unsigned tail = sq->sqe_tail;
    if (tail - sq->sqe_head > max) sq->sqe_tail = sq->sqe_head + max;
    int rc = io_uring_submit(&r->ring);
    sq->sqe_tail = tail;
    return rc;
}

static unsigned add_range(uintptr_t *addrs, size_t *lens, unsigned n, unsigned max, uint64_t addr, uint64_t len) {
    if (n < max && addr != 0 && len != 0) {
        addrs[n] = (uintptr_t)addr;
        lens[n] = (size_t)len;
        return n + 1;
    }
    return n;
}

unsigned rk_ring_pending_ranges(const rk_ring *r, uintptr_t *addrs, size_t *lens, unsigned max) {
    // Every SQE the kernel has not consumed: flushed ones from *khead to
    // *ktail, then the prepared ones up to sqe_tail (the SQ array maps
    // ring slots to SQE indices one to one, as liburing sets it up).
    const struct io_uring_sq *sq = &r->ring.sq;
    unsigned shift = (r->ring.flags & IORING_SETUP_SQE128) ? 1 : 0;
    unsigned n = 0;
    for (unsigned i = *sq->khead; i != sq->sqe_tail; i++) {
        const struct io_uring_sqe *sqe = &sq->sqes[(i & sq->ring_mask) << shift];
        switch (sqe->opcode) {
        case IORING_OP_READ: case IORING_OP_WRITE:
        case IORING_OP_READ_FIXED: case IORING_OP_WRITE_FIXED:
            n = add_range(addrs, lens, n, max, sqe->addr, sqe->len);
            break;
        case IORING_OP_READV: case IORING_OP_WRITEV: {
            const struct iovec *iov = (const struct iovec *)(uintptr_t)sqe->addr;
            for (unsigned k = 0; iov && k < sqe->len; k++) {
                n = add_range(addrs, lens, n, max, (uint64_t)(uintptr_t)iov[k].iov_base, iov[k].iov_len);
            }
            break;
        }
        default:
            break;
        }
    }
    return n;
}
#endif
