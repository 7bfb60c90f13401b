// Small C helpers for what Swift cannot import from liburing (inline
// functions over C11 atomics, flag macros, cqe iteration) plus CRC32C and
// acquire/release atomics on raw memory (used by the memtable arena).
// Every function is a thin wrapper; policy lives in Swift.
#ifndef CRINGSUPPORT_H
#define CRINGSUPPORT_H

#include <stdint.h>
#include <stddef.h>
#include <stdbool.h>
#include <sys/uio.h>

#ifdef __cplusplus
extern "C" {
#endif

// MARK: - io_uring ring (opaque to Swift)

typedef struct rk_ring rk_ring;

/// Creates a ring with `entries` SQEs. `sqpoll_idle_ms` > 0 enables SQPOLL.
/// Returns NULL and sets *err to a positive errno on failure.
rk_ring *rk_ring_create(unsigned entries, unsigned sqpoll_idle_ms, int *err);
void rk_ring_destroy(rk_ring *ring);
int rk_ring_fd(const rk_ring *ring);
unsigned rk_ring_sq_entries(const rk_ring *ring);
unsigned rk_ring_cq_entries(const rk_ring *ring);
unsigned rk_ring_sq_space_left(const rk_ring *ring);
unsigned rk_ring_sq_ready(const rk_ring *ring);
unsigned rk_ring_cq_ready(const rk_ring *ring);
bool rk_ring_cq_has_overflow(const rk_ring *ring);
bool rk_ring_is_sqpoll(const rk_ring *ring);

// SQE flags (IOSQE_*), exported as plain constants.
extern const uint8_t RK_SQE_IO_LINK;
extern const uint8_t RK_SQE_IO_DRAIN;
extern const uint8_t RK_SQE_FIXED_FILE;
extern const uint8_t RK_SQE_ASYNC;
extern const uint32_t RK_FSYNC_DATASYNC;

// Each prep function takes the next SQE, prepares it, sets user_data and
// flags. It returns false when the submission queue is full (nothing done).
bool rk_prep_nop(rk_ring *r, uint64_t user_data, uint8_t flags);
bool rk_prep_read(rk_ring *r, int fd, void *buf, unsigned len, uint64_t off,
                  uint64_t user_data, uint8_t flags);
bool rk_prep_write(rk_ring *r, int fd, const void *buf, unsigned len, uint64_t off,
                   uint64_t user_data, uint8_t flags);
bool rk_prep_readv(rk_ring *r, int fd, const struct iovec *iov, unsigned nr, uint64_t off,
                   uint64_t user_data, uint8_t flags);
bool rk_prep_writev(rk_ring *r, int fd, const struct iovec *iov, unsigned nr, uint64_t off,
                    uint64_t user_data, uint8_t flags);
bool rk_prep_read_fixed(rk_ring *r, int fd, void *buf, unsigned len, uint64_t off,
                        int buf_index, uint64_t user_data, uint8_t flags);
bool rk_prep_write_fixed(rk_ring *r, int fd, const void *buf, unsigned len, uint64_t off,
                         int buf_index, uint64_t user_data, uint8_t flags);
bool rk_prep_fsync(rk_ring *r, int fd, uint32_t fsync_flags, uint64_t user_data, uint8_t flags);
bool rk_prep_fallocate(rk_ring *r, int fd, int mode, uint64_t off, uint64_t len,
                       uint64_t user_data, uint8_t flags);

/// io_uring_submit: returns SQEs submitted or -errno.
int rk_ring_submit(rk_ring *r);
/// io_uring_submit_and_wait: returns SQEs submitted or -errno.
int rk_ring_submit_and_wait(rk_ring *r, unsigned wait_nr);
/// Blocks until at least one CQE is ready (io_uring_wait_cqe). 0 or -errno.
int rk_ring_wait(rk_ring *r);

/// Copies up to `max` ready completions out (user_data, res, flags) and
/// advances the CQ past them. Returns how many were copied.
unsigned rk_ring_harvest(rk_ring *r, uint64_t *user_data, int32_t *res, unsigned max);

int rk_ring_register_buffers(rk_ring *r, const struct iovec *iov, unsigned nr);
int rk_ring_unregister_buffers(rk_ring *r);
int rk_ring_register_files(rk_ring *r, const int *fds, unsigned nr);
int rk_ring_unregister_files(rk_ring *r);

/// 0 when io_uring is usable here, else a positive errno (ENOSYS, EPERM, ...).
int rk_uring_probe(void);

// MARK: - test seams (the ring hooks of RingIO's debug builds: IOSeam.swift;
// defined in debug builds only)

/// io_uring_submit, offering the kernel at most `max` of the SQEs prepared
/// since the last submission; the rest stay prepared and go with the next
/// submit — what a partial submission by the kernel looks like to the caller.
int rk_ring_submit_limited(rk_ring *r, unsigned max);
/// The memory ranges the prepared, not yet consumed SQEs point at (reads,
/// writes, fixed reads/writes, vectored ones per iovec): what the kernel may
/// touch once they are submitted. Writes up to `max` pairs; returns how many.
unsigned rk_ring_pending_ranges(const rk_ring *r, uintptr_t *addrs, size_t *lens, unsigned max);
/// Installs a seccomp filter in the calling process (and its future
/// children) that makes io_uring_setup fail with EPERM, as Docker's default
/// profile does. For test child processes only. 0 or -errno.
int rk_deny_io_uring_setup(void);

// MARK: - thread names

/// Names the calling thread (at most 15 bytes are kept): what `top -H`,
/// gdb and perf show. 0 or -errno.
int rk_set_thread_name(const char *name);
/// Copies the calling thread's name into `out` (16 bytes). 0 or -errno.
int rk_thread_name(char *out);

// MARK: - CRC32C (Castagnoli), SSE4.2 when the CPU has it.

uint32_t rk_crc32c_extend(uint32_t crc, const void *data, size_t len);
bool rk_crc32c_is_hardware(void);

// MARK: - atomics on raw memory (acquire/release), for arena data structures.

uint64_t rk_atomic_load_acquire_u64(const uint64_t *p);
void rk_atomic_store_release_u64(uint64_t *p, uint64_t v);
uint32_t rk_atomic_load_acquire_u32(const uint32_t *p);
void rk_atomic_store_release_u32(uint32_t *p, uint32_t v);
uint32_t rk_atomic_exchange_u32(uint32_t *p, uint32_t v);
bool rk_atomic_cas_u32(uint32_t *p, uint32_t expected, uint32_t desired);
/// Relaxed load and OR (single writer, lock-free readers: the memtable
/// filter). Inline, so that Swift callers pay no call.
static inline uint64_t rk_atomic_load_relaxed_u64(const uint64_t *p) { return __atomic_load_n(p, __ATOMIC_RELAXED); }
static inline void rk_atomic_or_relaxed_u64(uint64_t *p, uint64_t v) { __atomic_fetch_or(p, v, __ATOMIC_RELAXED); }
/// A spin-wait hint (x86 `pause`).
void rk_cpu_relax(void);
/// Asks the CPU to fetch the cache line at `p` for writing (a hint: no
/// fault, no effect on results). Inline: one instruction in the caller.
static inline void rk_prefetch_for_write(const void *p) { __builtin_prefetch(p, 1, 3); }

// MARK: - Writeback

/// sync_file_range(fd, offset, length, SYNC_FILE_RANGE_WRITE), retried on
/// EINTR. Returns 0, or a negative errno.
int rk_start_writeback(int fd, int64_t offset, int64_t length);

/// What cachestat(2) (Linux 6.5+) reports for a range of a file, in pages.
typedef struct rk_cachestat {
    uint64_t cache;
    uint64_t dirty;
    uint64_t writeback;
    uint64_t evicted;
    uint64_t recently_evicted;
} rk_cachestat;

/// cachestat(2) of [offset, offset + length) (length 0: to the end).
/// Returns 0, or a negative errno (-ENOSYS on kernels without it).
int rk_cachestat_range(int fd, uint64_t offset, uint64_t length, rk_cachestat *out);

/// The file offset (and length) alignment O_DIRECT I/O on `fd` needs,
/// from statx(2) STATX_DIOALIGN: > 0 bytes; 0 when the kernel or the
/// filesystem does not say (before Linux 6.1); a negative errno on failure.
int64_t rk_dio_offset_align(int fd);

// MARK: - futex on a 32-bit word (process-private)

/// Sleeps while *word == expected, at most `timeout_ns` (< 0: no limit;
/// measured on CLOCK_MONOTONIC). 0 when woken, else -errno (EAGAIN: the
/// word differed; ETIMEDOUT; EINTR).
int rk_futex_wait(uint32_t *word, uint32_t expected, int64_t timeout_ns);
/// Wakes up to `count` threads sleeping on `word`; returns how many.
int rk_futex_wake(uint32_t *word, int count);

// MARK: - errno helpers

int rk_errno(void);
/// O_DIRECT flag value for open(2); Swift's Glibc does not always export it.
extern const int RK_O_DIRECT;

// MARK: - polling for a read's completion (read_poll.c)
/// Marks (or unmarks) the calling thread as doing the engine's background
/// work (flush, compaction): its waits for I/O never poll. Returns whether
/// it was marked.
bool rk_thread_set_background(bool on);
/// Whether the calling thread is marked.
bool rk_thread_is_background(void);
/// preadv2(RWF_NOWAIT): what the page cache holds of the range without
/// waiting for the device. Bytes read (possibly short, 0 at the end of
/// the file), or -errno (-EAGAIN: nothing cached at `offset`); EINTR retried.
ssize_t rk_pread_nowait(int fd, void *buf, size_t len, uint64_t offset);

#ifdef __cplusplus
}
#endif
#endif
