// The RocksDB side of `kvbench --workload txn` (Sources/kvbench/TxnMode.swift):
// THREADS threads move money between random pairs of ACCOUNTS hot accounts
// ("acct/%08d", 8-byte little-endian balances), each transfer one
// OptimisticTransactionDB transaction with a snapshot set at begin
// (set_snapshot = 1, snapshot isolation as RingKV's), 2 GetForUpdate (so
// the read keys are validated, as RingKV validates every read key), 2 puts
// and a commit, retried on conflict (Busy / TryAgain). OPERATIONS transfers
// in all. Prints one JSON object: commits/s and conflict rate.
//
// usage: txn_rocksdb DB_DIR THREADS ACCOUNTS OPERATIONS [sync]
#include <rocksdb/c.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static rocksdb_optimistictransactiondb_t *db;
static rocksdb_writeoptions_t *wopts;
static rocksdb_readoptions_t *ropts;
static rocksdb_optimistictransaction_options_t *topts;
static int accounts, threads;
static long per_thread;
static long conflicts_total, failures_total;
static pthread_mutex_t totals = PTHREAD_MUTEX_INITIALIZER;

static void account(int i, char *out) { snprintf(out, 32, "acct/%08d", i); }

static uint64_t next_random(uint64_t *state) {
    uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static int64_t decode(const char *v, size_t n) {
    int64_t x = 0;
    if (v && n == 8) memcpy(&x, v, 8);
    return x;
}

static void *worker(void *arg) {
    uint64_t rng = 1 + (uint64_t)(uintptr_t)arg;
    long conflicts = 0, failures = 0;
    rocksdb_transaction_t *txn = NULL;
    for (long n = 0; n < per_thread; n++) {
        int a = (int)(next_random(&rng) % (uint64_t)accounts);
        int b = (int)(next_random(&rng) % (uint64_t)(accounts - 1));
        if (b >= a) b++;
        char ka[32], kb[32];
        account(a, ka);
        account(b, kb);
        for (;;) {
            txn = rocksdb_optimistictransaction_begin(db, wopts, topts, txn);
            char *err = NULL;
            size_t la = 0, lb = 0;
            char *va = rocksdb_transaction_get_for_update(txn, ropts, ka, strlen(ka), &la, 1, &err);
            if (err) { free(err); err = NULL; failures++; break; }
            char *vb = rocksdb_transaction_get_for_update(txn, ropts, kb, strlen(kb), &lb, 1, &err);
            if (err) { free(err); err = NULL; free(va); failures++; break; }
            int64_t x = decode(va, la) - 1, y = decode(vb, lb) + 1;
            free(va);
            free(vb);
            rocksdb_transaction_put(txn, ka, strlen(ka), (const char *)&x, 8, &err);
            if (err) { free(err); err = NULL; failures++; break; }
            rocksdb_transaction_put(txn, kb, strlen(kb), (const char *)&y, 8, &err);
            if (err) { free(err); err = NULL; failures++; break; }
            rocksdb_transaction_commit(txn, &err);
            if (!err) break;
            // Busy (a conflict) or TryAgain (history not in memory): retry.
            if (strstr(err, "Resource busy") || strstr(err, "Busy") || strstr(err, "Operation failed. Try again") || strstr(err, "Try again")) {
                conflicts++;
                free(err);
                continue;
            }
            fprintf(stderr, "commit: %s\n", err);
            free(err);
            failures++;
            break;
        }
    }
    if (txn) rocksdb_transaction_destroy(txn);
    pthread_mutex_lock(&totals);
    conflicts_total += conflicts;
    failures_total += failures;
    pthread_mutex_unlock(&totals);
    return NULL;
}

static double now_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
    if (argc < 5) {
        fprintf(stderr, "usage: txn_rocksdb DB_DIR THREADS ACCOUNTS OPERATIONS [sync]\n");
        return 2;
    }
    threads = atoi(argv[2]);
    accounts = atoi(argv[3]);
    long operations = atol(argv[4]);
    int sync = argc > 5 && strcmp(argv[5], "sync") == 0;
    if (threads < 1 || accounts < 2 || operations < 1) {
        fprintf(stderr, "txn_rocksdb: THREADS >= 1, ACCOUNTS >= 2, OPERATIONS >= 1\n");
        return 2;
    }
    per_thread = operations / threads;
    rocksdb_options_t *options = rocksdb_options_create();
    rocksdb_options_set_create_if_missing(options, 1);
    rocksdb_options_set_compression(options, rocksdb_lz4_compression);
    rocksdb_options_set_write_buffer_size(options, 64 << 20);
    char *err = NULL;
    db = rocksdb_optimistictransactiondb_open(options, argv[1], &err);
    if (err) {
        fprintf(stderr, "open: %s\n", err);
        return 1;
    }
    wopts = rocksdb_writeoptions_create();
    rocksdb_writeoptions_set_sync(wopts, sync);
    ropts = rocksdb_readoptions_create();
    topts = rocksdb_optimistictransaction_options_create();
    rocksdb_optimistictransaction_options_set_set_snapshot(topts, 1);
    rocksdb_writebatch_t *batch = rocksdb_writebatch_create();
    for (int i = 0; i < accounts; i++) {
        char k[32];
        account(i, k);
        int64_t v = 1000000;
        rocksdb_writebatch_put(batch, k, strlen(k), (const char *)&v, 8);
    }
    rocksdb_optimistictransactiondb_write(db, wopts, batch, &err);
    if (err) {
        fprintf(stderr, "setup: %s\n", err);
        return 1;
    }
    rocksdb_writebatch_destroy(batch);
    pthread_t *handles = calloc((size_t)threads, sizeof(pthread_t));
    double start = now_seconds();
    for (int t = 0; t < threads; t++) pthread_create(&handles[t], NULL, worker, (void *)(uintptr_t)t);
    for (int t = 0; t < threads; t++) pthread_join(handles[t], NULL);
    double seconds = now_seconds() - start;
    long commits = per_thread * threads - failures_total;
    // The balances must still sum to the opening total.
    rocksdb_t *base = rocksdb_optimistictransactiondb_get_base_db(db);
    int64_t total = 0;
    for (int i = 0; i < accounts; i++) {
        char k[32];
        size_t n = 0;
        account(i, k);
        char *v = rocksdb_get(base, ropts, k, strlen(k), &n, &err);
        if (err) { free(err); err = NULL; }
        total += decode(v, n);
        free(v);
    }
    rocksdb_optimistictransactiondb_close_base_db(base);
    printf("{\"engine\":\"rocksdb\",\"workload\":\"txn\",\"threads\":%d,\"accounts\":%d,\"sync\":%s,"
           "\"commits\":%ld,\"conflicts\":%ld,\"seconds\":%.3f,\"commits_per_sec\":%.3f,"
           "\"conflict_rate\":%.3f,\"failures\":%ld,\"total_ok\":%s}\n",
           threads, accounts, sync ? "true" : "false", commits, conflicts_total, seconds, commits / seconds,
           (double)conflicts_total / (double)(commits + conflicts_total), failures_total,
           total == (int64_t)accounts * 1000000 ? "true" : "false");
    rocksdb_optimistictransaction_options_destroy(topts);
    rocksdb_readoptions_destroy(ropts);
    rocksdb_writeoptions_destroy(wopts);
    rocksdb_optimistictransactiondb_close(db);
    rocksdb_options_destroy(options);
    free(handles);
    return 0;
}
