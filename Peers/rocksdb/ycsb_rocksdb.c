/* The RocksDB side of the side-by-side benchmark (tools/sbs): kvbench's flags,
 * keys, generators and JSON (ycsb.c) over RocksDB's C API, with RocksDB set up
 * as RingKV's defaults are (64 MiB memtable x2, 4 KiB blocks, LZ4, full bloom
 * filter 10 bits/key, 64 MiB LRU block cache, 2 background jobs; --direct-reads
 * as RocksDB's use_direct_reads + use_direct_io_for_flush_and_compaction).
 *
 * A run: parse the flags, open the database the way the workload's side
 * wants, start --threads client threads that each run their share of the
 * operations through the side's runner, merge their histograms, print one
 * JSON line. Each --workload value is a row of `sides` below; the YCSB core
 * workloads share run_core. A new side (bulk loading through an SST file
 * writer and ingestion, transactions on an optimistic transaction database)
 * adds a row with its own open function and runner and reuses the rest.
 *
 * Build: make -C Peers/rocksdb (needs librocksdb-dev; never part of the
 * Swift package). */
#define _GNU_SOURCE
#include "ycsb.h"

#include <pthread.h>
#include <rocksdb/c.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static ycsb_config cfg;
static rocksdb_t *db;
static rocksdb_writeoptions_t *write_options;
static rocksdb_readoptions_t *read_options;
/* The next record number an insert (D, E) takes; starts at --records. */
static long next_insert;

typedef struct {
    int id;
    long operations, found, reads;
    uint64_t user_bytes_written;
    ycsb_hist hist[OP_COUNT];
} worker;

static void fail_on(char *err) {
    if (err) {
        fprintf(stderr, "rocksdb: %s\n", err);
        exit(1);
    }
}

/* ------------------------------------------------------------ operations */

static void do_read(worker *w, const char *key, size_t key_len) {
    char *err = NULL;
    size_t len;
    char *value = rocksdb_get(db, read_options, key, key_len, &len, &err);
    fail_on(err);
    w->reads++;
    if (value) { w->found++; rocksdb_free(value); }
}

static void do_put(worker *w, const char *key, size_t key_len, const char *value) {
    char *err = NULL;
    rocksdb_put(db, write_options, key, key_len, value, (size_t)cfg.value_size, &err);
    fail_on(err);
    w->user_bytes_written += key_len + (size_t)cfg.value_size;
}

/* One MultiGet of cfg.batch keys; it stands for cfg.batch read operations. */
static void do_multiget(worker *w, ycsb_rng *r, long limit) {
    char keys[YCSB_MAX_BATCH][YCSB_MAX_KEY_BYTES];
    const char *key_ptrs[YCSB_MAX_BATCH] = {0}; /* zeroed: gcc cannot see n <= YCSB_MAX_BATCH */
    size_t key_lens[YCSB_MAX_BATCH] = {0}, value_lens[YCSB_MAX_BATCH];
    char *values[YCSB_MAX_BATCH], *errs[YCSB_MAX_BATCH];
    size_t n = (size_t)cfg.batch;
    for (size_t b = 0; b < n; b++) {
        key_lens[b] = (size_t)ycsb_make_key(keys[b], ycsb_choose(r, limit));
        key_ptrs[b] = keys[b];
    }
    rocksdb_multi_get(db, read_options, n, key_ptrs, key_lens, values, value_lens, errs);
    for (size_t b = 0; b < n; b++) {
        fail_on(errs[b]);
        w->reads++;
        if (values[b]) { w->found++; rocksdb_free(values[b]); }
    }
}

/* Seek, then read up to `length` entries (YCSB E: length uniform in 1...100). */
static void do_scan(const char *key, size_t key_len, long length) {
    rocksdb_iterator_t *it = rocksdb_create_iterator(db, read_options);
    rocksdb_iter_seek(it, key, key_len);
    for (long k = 0; k < length && rocksdb_iter_valid(it); k++) {
        size_t kl, vl;
        (void)rocksdb_iter_key(it, &kl);
        (void)rocksdb_iter_value(it, &vl);
        rocksdb_iter_next(it);
    }
    rocksdb_iter_destroy(it);
}

/* ----------------------------------------------------------------- sides */

/* The YCSB core workloads: load inserts this thread's contiguous share of
 * the records; a..f draw operations from the workload's mix. */
static void *run_core(void *arg) {
    worker *w = arg;
    ycsb_rng r;
    ycsb_rng_seed(&r, cfg.seed, w->id);
    ycsb_mix mix;
    ycsb_core_mix(cfg.workload, &mix);
    char key[YCSB_MAX_KEY_BYTES];
    char *value = malloc((size_t)cfg.value_size + 8);
    if (!value) { fprintf(stderr, "out of memory\n"); exit(1); }
    int load = !strcmp(cfg.workload, "load");
    long total = load ? cfg.records : cfg.operations;
    long share = total / cfg.threads + (w->id < total % cfg.threads);
    long first = w->id * (total / cfg.threads) + (w->id < total % cfg.threads ? w->id : total % cfg.threads);
    for (long i = 0; i < share; i++) {
        double u = (double)(ycsb_next(&r) >> 11) * (1.0 / 9007199254740992.0);
        int op = load ? OP_INSERT
               : u < mix.read ? OP_READ
               : u < mix.read + mix.update ? OP_UPDATE
               : u < mix.read + mix.update + mix.insert ? OP_INSERT
               : u < mix.read + mix.update + mix.insert + mix.scan ? OP_SCAN : OP_RMW;
        long limit = __atomic_load_n(&next_insert, __ATOMIC_RELAXED);
        int key_len;
        uint64_t start = ycsb_now_ns();
        switch (op) {
        case OP_READ:
            if (cfg.batch > 1) {
                do_multiget(w, &r, limit);
                op = OP_MULTIGET;
                w->operations += cfg.batch - 1;
                i += cfg.batch - 1;
                break;
            }
            key_len = ycsb_make_key(key, ycsb_choose(&r, limit));
            do_read(w, key, (size_t)key_len);
            break;
        case OP_UPDATE:
            key_len = ycsb_make_key(key, ycsb_choose(&r, limit));
            ycsb_fill_value(&r, value, cfg.value_size);
            do_put(w, key, (size_t)key_len, value);
            break;
        case OP_INSERT: {
            long record = load ? first + i : __atomic_fetch_add(&next_insert, 1, __ATOMIC_RELAXED);
            key_len = ycsb_make_key(key, record);
            ycsb_fill_value(&r, value, cfg.value_size);
            do_put(w, key, (size_t)key_len, value);
            break;
        }
        case OP_SCAN:
            key_len = ycsb_make_key(key, ycsb_choose(&r, limit));
            do_scan(key, (size_t)key_len, 1 + (long)(ycsb_next(&r) % 100));
            break;
        default: /* OP_RMW: read, then write a new value, measured as one */
            key_len = ycsb_make_key(key, ycsb_choose(&r, limit));
            do_read(w, key, (size_t)key_len);
            ycsb_fill_value(&r, value, cfg.value_size);
            do_put(w, key, (size_t)key_len, value);
            break;
        }
        ycsb_hist_record(&w->hist[op], ycsb_now_ns() - start);
        w->operations++;
    }
    free(value);
    return NULL;
}

static rocksdb_t *open_plain(rocksdb_options_t *options, const char *path, char **err) {
    return rocksdb_open(options, path, err);
}

typedef struct {
    const char *workload;
    rocksdb_t *(*open)(rocksdb_options_t *, const char *, char **);
    void *(*run)(void *); /* one client thread; its argument is its worker */
} side;

static const side sides[] = {
    {"load", open_plain, run_core}, {"a", open_plain, run_core}, {"b", open_plain, run_core},
    {"c", open_plain, run_core},    {"d", open_plain, run_core}, {"e", open_plain, run_core},
    {"f", open_plain, run_core},
};

/* ------------------------------------------------------------------ main */

/* RingKV's defaults (docs/BENCHMARKS.md, Options.swift), in RocksDB's terms. */
static rocksdb_options_t *engine_options(void) {
    rocksdb_options_t *o = rocksdb_options_create();
    rocksdb_options_set_create_if_missing(o, 1);
    rocksdb_options_set_compression(o, rocksdb_lz4_compression);
    rocksdb_options_set_write_buffer_size(o, (size_t)cfg.memtable_mb << 20);
    rocksdb_options_set_max_write_buffer_number(o, 2);
    rocksdb_options_set_max_background_jobs(o, 2);
    rocksdb_block_based_table_options_t *t = rocksdb_block_based_options_create();
    rocksdb_block_based_options_set_block_size(t, 4096);
    rocksdb_block_based_options_set_filter_policy(t, rocksdb_filterpolicy_create_bloom_full(10));
    rocksdb_block_based_options_set_block_cache(t, rocksdb_cache_create_lru((size_t)cfg.cache_mb << 20));
    rocksdb_options_set_block_based_table_factory(o, t);
    if (cfg.compaction_rate_mb > 0)  /* 100 ms refill, fairness 10: RocksDB's defaults */
        rocksdb_options_set_ratelimiter(o, rocksdb_ratelimiter_create((int64_t)cfg.compaction_rate_mb << 20, 100000, 10));
    if (cfg.direct) {
        rocksdb_options_set_use_direct_reads(o, 1);
        rocksdb_options_set_use_direct_io_for_flush_and_compaction(o, 1);
    }
    return o;
}

int main(int argc, char **argv) {
    int status = ycsb_parse(argc, argv, &cfg);
    if (status) return status;
    const side *chosen = NULL;
    for (size_t i = 0; i < sizeof sides / sizeof sides[0]; i++)
        if (!strcmp(sides[i].workload, cfg.workload)) chosen = &sides[i];
    if (!chosen) {
        fprintf(stderr, "--workload must be load, a, b, c, d, e or f\n");
        return 2;
    }
    char *err = NULL;
    static ycsb_result result;
    ycsb_io_read(&result.io_start, cfg.db_path);
    rocksdb_options_t *options = engine_options();
    db = chosen->open(options, cfg.db_path, &err);
    fail_on(err);
    write_options = rocksdb_writeoptions_create();
    rocksdb_writeoptions_set_sync(write_options, cfg.sync);
    read_options = rocksdb_readoptions_create();
    ycsb_generators_init(&cfg);
    next_insert = cfg.records;

    worker *workers = calloc((size_t)cfg.threads, sizeof *workers);
    pthread_t *threads = calloc((size_t)cfg.threads, sizeof *threads);
    if (!workers || !threads) { fprintf(stderr, "out of memory\n"); return 1; }
    uint64_t start = ycsb_now_ns();
    for (long i = 0; i < cfg.threads; i++) {
        workers[i].id = (int)i;
        if (pthread_create(&threads[i], NULL, chosen->run, &workers[i])) { perror("pthread_create"); return 1; }
    }
    for (long i = 0; i < cfg.threads; i++) pthread_join(threads[i], NULL);

    result.seconds = (double)(ycsb_now_ns() - start) / 1e9;
    for (long i = 0; i < cfg.threads; i++) {
        result.operations += workers[i].operations;
        result.found += workers[i].found;
        result.reads += workers[i].reads;
        result.user_bytes_written += workers[i].user_bytes_written;
        for (int k = 0; k < OP_COUNT; k++) ycsb_hist_merge(&result.hist[k], &workers[i].hist[k]);
    }
    rocksdb_close(db);
    ycsb_io_read(&result.io_end, cfg.db_path);
    ycsb_print_json("rocksdb", &cfg, &result);
    rocksdb_writeoptions_destroy(write_options);
    rocksdb_readoptions_destroy(read_options);
    rocksdb_options_destroy(options);
    free(workers);
    free(threads);
    return 0;
}
