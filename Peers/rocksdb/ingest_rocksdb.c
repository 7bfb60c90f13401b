/* The RocksDB side of kvbench --workload ingest (Sources/kvbench/IngestMode.swift):
 * the same --records sorted records (16-byte keys "k" + 15 digits, --value-size
 * bytes of SplitMix64 output seeded by the record number), written with
 * SstFileWriter to one file next to the database and added with
 * IngestExternalFile (move_files: a hard link, as RingKV's ingest), into a
 * fresh database set up as ycsb_rocksdb.c sets RocksDB up (4 KiB blocks, LZ4,
 * bloom filter 10 bits/key). Then, into another fresh database, the put path:
 * WriteBatches of 1,000 records, WAL on, sync off but for the last batch (synced:
 * every record durable, as after a returned ingest), timed until the last write
 * returns and again after a flush. Prints one line per round and the medians
 * (records per second).
 *
 * usage: ingest_rocksdb --db PATH [--records N] [--value-size B] [--rounds R]
 * Build: make -C Peers/rocksdb ingest (needs librocksdb-dev). */
#define _GNU_SOURCE
#include <rocksdb/c.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static void fail_on(char *err, const char *what) {
    if (err) {
        fprintf(stderr, "rocksdb: %s: %s\n", what, err);
        exit(1);
    }
}

static double now_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t splitmix64(uint64_t *state) {
    uint64_t z = (*state += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

/* Record i's key: "k" and 15 decimal digits (no terminator). */
static void make_key(long i, char *key) {
    key[0] = 'k';
    for (int at = 15; at >= 1; at--) { key[at] = (char)('0' + i % 10); i /= 10; }
}

/* Record i's value: SplitMix64 seeded with i, 8 little-endian bytes at a time. */
static void make_value(long i, char *value, int length) {
    uint64_t state = (uint64_t)i;
    int at = 0;
    while (at + 8 <= length) { uint64_t w = splitmix64(&state); memcpy(value + at, &w, 8); at += 8; }
    uint64_t w = splitmix64(&state);
    while (at < length) { value[at++] = (char)(w & 0xff); w >>= 8; }
}

static rocksdb_options_t *make_options(void) {
    rocksdb_options_t *o = rocksdb_options_create();
    rocksdb_options_set_create_if_missing(o, 1);
    rocksdb_options_set_compression(o, rocksdb_lz4_compression);
    rocksdb_options_set_write_buffer_size(o, 64 << 20);
    rocksdb_options_set_max_write_buffer_number(o, 2);
    rocksdb_options_increase_parallelism(o, 2);
    rocksdb_block_based_table_options_t *t = rocksdb_block_based_options_create();
    rocksdb_block_based_options_set_block_size(t, 4096);
    rocksdb_block_based_options_set_filter_policy(t, rocksdb_filterpolicy_create_bloom_full(10));
    rocksdb_block_based_options_set_block_cache(t, rocksdb_cache_create_lru(64 << 20));
    rocksdb_options_set_block_based_table_factory(o, t);
    return o;
}

static void remove_tree(const char *path) {
    char command[4200];
    snprintf(command, sizeof command, "rm -rf '%s'", path);
    if (system(command) != 0) fprintf(stderr, "could not remove %s\n", path);
}

static void check(rocksdb_t *db, long records, int value_size) {
    rocksdb_readoptions_t *ro = rocksdb_readoptions_create();
    char key[16], *want = malloc((size_t)value_size + 8);
    long probes[4] = {0, records / 3, records / 2, records - 1};
    for (int p = 0; p < 4; p++) {
        char *err = NULL;
        size_t len = 0;
        make_key(probes[p], key);
        make_value(probes[p], want, value_size);
        char *got = rocksdb_get(db, ro, key, 16, &len, &err);
        fail_on(err, "get");
        if (!got || len != (size_t)value_size || memcmp(got, want, len) != 0) {
            fprintf(stderr, "record %ld reads back wrong\n", probes[p]);
            exit(1);
        }
        rocksdb_free(got);
    }
    free(want);
    rocksdb_readoptions_destroy(ro);
}

/* Returns the seconds to write the file (*write) and to write and ingest. */
static double ingest_phase(const char *base, long records, int value_size, double *write) {
    char path[4096], file[4200];
    snprintf(path, sizeof path, "%s-rocksdb-ingest", base);
    snprintf(file, sizeof file, "%s.sst", path);
    remove_tree(path);
    unlink(file);
    rocksdb_options_t *o = make_options();
    char *err = NULL;
    rocksdb_t *db = rocksdb_open(o, path, &err);
    fail_on(err, "open");
    char key[16], *value = malloc((size_t)value_size + 8);
    double started = now_seconds();
    rocksdb_envoptions_t *env = rocksdb_envoptions_create();
    rocksdb_sstfilewriter_t *w = rocksdb_sstfilewriter_create(env, o);
    rocksdb_sstfilewriter_open(w, file, &err);
    fail_on(err, "sstfilewriter open");
    for (long i = 0; i < records; i++) {
        make_key(i, key);
        make_value(i, value, value_size);
        rocksdb_sstfilewriter_put(w, key, 16, value, (size_t)value_size, &err);
        fail_on(err, "sstfilewriter put");
    }
    rocksdb_sstfilewriter_finish(w, &err);
    fail_on(err, "sstfilewriter finish");
    *write = now_seconds() - started;
    rocksdb_ingestexternalfileoptions_t *io = rocksdb_ingestexternalfileoptions_create();
    rocksdb_ingestexternalfileoptions_set_move_files(io, 1);
    const char *files[1] = {file};
    rocksdb_ingest_external_file(db, files, 1, io, &err);
    fail_on(err, "ingest");
    double seconds = now_seconds() - started;
    check(db, records, value_size);
    rocksdb_ingestexternalfileoptions_destroy(io);
    rocksdb_sstfilewriter_destroy(w);
    rocksdb_envoptions_destroy(env);
    rocksdb_close(db);
    rocksdb_options_destroy(o);
    free(value);
    remove_tree(path);
    return seconds;
}

/* Returns the seconds until the last batch returned (*flushed: after the flush). */
static double put_phase(const char *base, long records, int value_size, double *flushed) {
    char path[4096];
    snprintf(path, sizeof path, "%s-rocksdb-puts", base);
    remove_tree(path);
    rocksdb_options_t *o = make_options();
    char *err = NULL;
    rocksdb_t *db = rocksdb_open(o, path, &err);
    fail_on(err, "open");
    rocksdb_writeoptions_t *wo = rocksdb_writeoptions_create();
    rocksdb_writeoptions_set_sync(wo, 0);
    rocksdb_writebatch_t *batch = rocksdb_writebatch_create();
    char key[16], *value = malloc((size_t)value_size + 8);
    double started = now_seconds();
    for (long i = 0; i < records; i++) {
        make_key(i, key);
        make_value(i, value, value_size);
        rocksdb_writebatch_put(batch, key, 16, value, (size_t)value_size);
        if (rocksdb_writebatch_count(batch) == 1000 || i == records - 1) {
            /* The last batch is synced: every record durable, as after a
             * returned ingest (kvbench does the same). */
            rocksdb_writeoptions_set_sync(wo, i == records - 1);
            rocksdb_write(db, wo, batch, &err);
            fail_on(err, "write");
            rocksdb_writebatch_clear(batch);
        }
    }
    double seconds = now_seconds() - started;
    rocksdb_flushoptions_t *fo = rocksdb_flushoptions_create();
    rocksdb_flushoptions_set_wait(fo, 1);
    rocksdb_flush(db, fo, &err);
    fail_on(err, "flush");
    *flushed = now_seconds() - started;
    check(db, records, value_size);
    rocksdb_flushoptions_destroy(fo);
    rocksdb_writebatch_destroy(batch);
    rocksdb_writeoptions_destroy(wo);
    rocksdb_close(db);
    rocksdb_options_destroy(o);
    free(value);
    remove_tree(path);
    return seconds;
}

static int by_value(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *xs, int n) {
    qsort(xs, (size_t)n, sizeof *xs, by_value);
    return n % 2 ? xs[n / 2] : (xs[n / 2 - 1] + xs[n / 2]) / 2;
}

int main(int argc, char **argv) {
    const char *base = NULL;
    long records = 1000000;
    int value_size = 100, rounds = 3;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--db")) base = argv[i + 1];
        else if (!strcmp(argv[i], "--records")) records = atol(argv[i + 1]);
        else if (!strcmp(argv[i], "--value-size")) value_size = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--rounds")) rounds = atoi(argv[i + 1]);
        else { fprintf(stderr, "unknown flag %s\n", argv[i]); return 2; }
    }
    if (!base || records < 1 || value_size < 0 || rounds < 1 || rounds > 100) {
        fprintf(stderr, "usage: ingest_rocksdb --db PATH [--records N] [--value-size B] [--rounds R]\n");
        return 2;
    }
    double ingest[100], puts[100], flushed[100];
    for (int r = 0; r < rounds; r++) {
        double write = 0;
        ingest[r] = ingest_phase(base, records, value_size, &write);
        puts[r] = put_phase(base, records, value_size, &flushed[r]);
        printf("round %d: ingest %.0f records/s (write %.2f s + ingest %.2f s), puts %.0f records/s "
               "(%.0f with the flush), ratio %.2f\n", r + 1, records / ingest[r], write, ingest[r] - write,
               records / puts[r], records / flushed[r], puts[r] / ingest[r]);
        fflush(stdout);
    }
    double i = median(ingest, rounds), p = median(puts, rounds), f = median(flushed, rounds);
    printf("rocksdb median of %d: ingest %.0f records/s, puts (batches of 1000, sync off) %.0f records/s, "
           "%.0f with the flush; ingest / puts = %.2f\n", rounds, records / i, records / p, records / f, p / i);
    return 0;
}
