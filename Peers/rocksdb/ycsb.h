/* The engine-independent half of a YCSB-style driver with kvbench's flags,
 * key format, request generators and JSON (docs/BENCHMARKS.md): a run is
 * parsed into a `ycsb_config`, each client thread draws keys and values from
 * its own generator and records every operation's latency in a `ycsb_hist`,
 * and `ycsb_print_json` prints the one JSON line kvbench --json prints.
 * An engine (ycsb_rocksdb.c) supplies the operations. */
#ifndef YCSB_H
#define YCSB_H

#include <stdint.h>

/* Operation kinds, in the order and with the names of kvbench's JSON. */
enum { OP_READ, OP_UPDATE, OP_INSERT, OP_SCAN, OP_RMW, OP_MULTIGET, OP_COUNT };
extern const char *const ycsb_op_names[OP_COUNT];

enum { YCSB_MAX_BATCH = 64, YCSB_MAX_KEY_BYTES = 32 };

typedef struct {
    const char *db_path;
    const char *workload;     /* load, a..f, or another side's name */
    const char *distribution; /* zipfian, uniform, latest; NULL = the workload's own */
    long records, operations, value_size, threads, batch, cache_mb, memtable_mb;
    long compaction_rate_mb; /* --compaction-rate-mb: RocksDB's rate limiter (flush and compaction); 0 = none */
    uint64_t seed;
    int sync;   /* --sync always: every write waits for its fdatasync */
    int direct; /* --direct-reads: O_DIRECT reads, flushes and compactions */
} ycsb_config;

/* Parses kvbench's flags into cfg (defaults as kvbench's). Prints the
 * problem and returns 2 on a bad or unsupported flag, else 0. */
int ycsb_parse(int argc, char **argv, ycsb_config *cfg);

/* The proportions of a YCSB core workload; 0 when `name` is not one. */
typedef struct { double read, update, insert, scan, rmw; } ycsb_mix;
int ycsb_core_mix(const char *name, ycsb_mix *mix);
/* The distribution a workload uses unless --distribution says otherwise. */
const char *ycsb_default_distribution(const char *workload);

/* Keys: "user" + the decimal FNV-1a-64 of the record number. */
int ycsb_make_key(char *buf, long record);

/* One generator state per client thread. */
typedef struct { uint64_t s; } ycsb_rng;
void ycsb_rng_seed(ycsb_rng *r, uint64_t seed, int thread);
uint64_t ycsb_next(ycsb_rng *r);
void ycsb_fill_value(ycsb_rng *r, char *value, long size);
/* A record number below `limit` (the records inserted so far) drawn from
 * the run's distribution. Call ycsb_generators_init once first. */
void ycsb_generators_init(const ycsb_config *cfg);
long ycsb_choose(ycsb_rng *r, long limit);

/* Latency histogram: log-linear buckets over nanoseconds. */
enum { YCSB_HIST_BUCKETS = 4096 };
typedef struct { long count; uint64_t max_ns; long buckets[YCSB_HIST_BUCKETS]; } ycsb_hist;
void ycsb_hist_record(ycsb_hist *h, uint64_t ns);
void ycsb_hist_merge(ycsb_hist *into, const ycsb_hist *from);

uint64_t ycsb_now_ns(void);

/* What a run measured, for the JSON line. */
/* Device bytes so far, as kvbench's "io" object counts them: this
 * process's read_bytes / write_bytes (/proc/self/io; write_bytes counts
 * pages as they are dirtied) and the sectors written by the disk that
 * holds `path` (/proc/diskstats, every process's). `known` is 0 where a
 * file is missing; `disk` is empty when the disk is not found. */
typedef struct {
    int known;
    uint64_t read_bytes, write_bytes, disk_write_bytes;
    char disk[32];
} ycsb_io;
void ycsb_io_read(ycsb_io *io, const char *path);

typedef struct {
    double seconds;
    long operations, found, reads;
    uint64_t user_bytes_written; /* keys + values put */
    ycsb_hist hist[OP_COUNT];
    ycsb_io io_start, io_end; /* from before the open to after the close */
} ycsb_result;
void ycsb_print_json(const char *engine, const ycsb_config *cfg, const ycsb_result *result);

#endif
