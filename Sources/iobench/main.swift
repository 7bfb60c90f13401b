// iobench: the same N random block reads issued through io_uring (plain,
// registered buffers+file, SQPOLL), a pread loop, a pread thread pool and
// glibc POSIX aio; wall time, throughput and CPU cost of each.
IOBench.main()
