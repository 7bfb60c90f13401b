/* Flags, generators, histograms and JSON shared by every engine side (ycsb.h). */
#define _GNU_SOURCE
#include "ycsb.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>

const char *const ycsb_op_names[OP_COUNT] = {"read", "update", "insert", "scan", "rmw", "multiget"};

/* ------------------------------------------------------------------ flags */

static int parse_long(const char *flag, const char *value, long min, long max, long *out) {
    char *end;
    long v = strtol(value, &end, 10);
    if (*value == '\0' || *end != '\0' || v < min || v > max) {
        fprintf(stderr, "%s must be an integer in %ld...%ld (got %s)\n", flag, min, max, value);
        return 2;
    }
    *out = v;
    return 0;
}

int ycsb_parse(int argc, char **argv, ycsb_config *cfg) {
    *cfg = (ycsb_config){.workload = "load", .records = 100000, .operations = 100000, .value_size = 1000,
                         .threads = 1, .batch = 1, .cache_mb = 64, .memtable_mb = 64, .seed = 1};
    for (int i = 1; i < argc; i++) {
        const char *flag = argv[i];
        /* Flags without a value. --json is accepted for kvbench's command
         * lines: this driver always prints the JSON line. */
        if (!strcmp(flag, "--json")) continue;
        if (!strcmp(flag, "--direct-reads") || !strcmp(flag, "--direct")) { cfg->direct = 1; continue; }
        if (!strcmp(flag, "--reverse-scans") || !strcmp(flag, "--sync-read-ahead") || !strcmp(flag, "--posix-io") ||
            !strcmp(flag, "--report")) {
            fprintf(stderr, "%s is a kvbench flag this driver does not have\n", flag);
            return 2;
        }
        if (i + 1 >= argc) { fprintf(stderr, "missing value for %s\n", flag); return 2; }
        const char *v = argv[++i];
        long seed = 0;
        int bad = 0;
        if (!strcmp(flag, "--db")) cfg->db_path = v;
        else if (!strcmp(flag, "--workload")) cfg->workload = v;
        else if (!strcmp(flag, "--distribution")) cfg->distribution = v;
        else if (!strcmp(flag, "--sync")) {
            if (strcmp(v, "none") && strcmp(v, "always")) { fprintf(stderr, "--sync must be none or always\n"); return 2; }
            cfg->sync = !strcmp(v, "always");
        }
        else if (!strcmp(flag, "--records")) bad = parse_long(flag, v, 1, 1L << 40, &cfg->records);
        else if (!strcmp(flag, "--operations")) bad = parse_long(flag, v, 0, 1L << 40, &cfg->operations);
        else if (!strcmp(flag, "--value-size")) bad = parse_long(flag, v, 0, 64L << 20, &cfg->value_size);
        else if (!strcmp(flag, "--threads")) bad = parse_long(flag, v, 1, 4096, &cfg->threads);
        else if (!strcmp(flag, "--batch")) bad = parse_long(flag, v, 1, YCSB_MAX_BATCH, &cfg->batch);
        else if (!strcmp(flag, "--cache-mb")) bad = parse_long(flag, v, 0, 1L << 20, &cfg->cache_mb);
        else if (!strcmp(flag, "--memtable-mb")) bad = parse_long(flag, v, 1, 1L << 20, &cfg->memtable_mb);
        else if (!strcmp(flag, "--compaction-rate-mb")) bad = parse_long(flag, v, 0, 1L << 20, &cfg->compaction_rate_mb);
        else if (!strcmp(flag, "--seed")) { bad = parse_long(flag, v, 0, __LONG_MAX__, &seed); cfg->seed = (uint64_t)seed; }
        else { fprintf(stderr, "unknown flag %s\n", flag); return 2; }
        if (bad) return bad;
    }
    if (!cfg->db_path) {
        fprintf(stderr, "usage: ycsb_rocksdb --db DIR [--workload load|a|b|c|d|e|f] [--records N] [--operations N]\n"
                        "       [--value-size B] [--threads T] [--distribution zipfian|uniform|latest]\n"
                        "       [--sync none|always] [--seed S] [--json] [--direct-reads] [--cache-mb MB]\n"
                        "       [--memtable-mb MB] [--compaction-rate-mb MB] [--batch N]\n");
        return 2;
    }
    const char *d = cfg->distribution;
    if (d && strcmp(d, "zipfian") && strcmp(d, "uniform") && strcmp(d, "latest")) {
        fprintf(stderr, "--distribution must be zipfian, uniform or latest\n");
        return 2;
    }
    return 0;
}

/* -------------------------------------------------------------- workloads */

int ycsb_core_mix(const char *name, ycsb_mix *mix) {
    static const struct { const char *name; ycsb_mix mix; } core[] = {
        {"load", {0, 0, 1, 0, 0}},    {"a", {.5, .5, 0, 0, 0}},  {"b", {.95, .05, 0, 0, 0}},
        {"c", {1, 0, 0, 0, 0}},       {"d", {.95, 0, .05, 0, 0}}, {"e", {0, 0, .05, .95, 0}},
        {"f", {.5, 0, 0, 0, .5}},
    };
    for (size_t i = 0; i < sizeof core / sizeof core[0]; i++)
        if (!strcmp(core[i].name, name)) { *mix = core[i].mix; return 1; }
    return 0;
}

/* As YCSB's workload files (and kvbench): D reads the latest records. */
const char *ycsb_default_distribution(const char *workload) {
    return !strcmp(workload, "d") ? "latest" : "zipfian";
}

/* ----------------------------------------------------------- keys, values */

static uint64_t fnv64(uint64_t v) {
    uint64_t h = 0xCBF29CE484222325ULL;
    for (int i = 0; i < 8; i++) { h ^= v & 0xff; h *= 1099511628211ULL; v >>= 8; }
    return h;
}

int ycsb_make_key(char *buf, long record) {
    return snprintf(buf, YCSB_MAX_KEY_BYTES, "user%llu", (unsigned long long)fnv64((uint64_t)record));
}

void ycsb_rng_seed(ycsb_rng *r, uint64_t seed, int thread) {
    r->s = (seed + (uint64_t)thread) * 0x9E3779B97F4A7C15ULL | 1;
}

uint64_t ycsb_next(ycsb_rng *r) { /* xorshift64 */
    uint64_t x = r->s;
    x ^= x << 13; x ^= x >> 7; x ^= x << 17;
    return r->s = x;
}

static double uniform01(ycsb_rng *r) { return (double)(ycsb_next(r) >> 11) * (1.0 / 9007199254740992.0); }

void ycsb_fill_value(ycsb_rng *r, char *value, long size) {
    for (long i = 0; i < size; i += 8) {
        uint64_t x = ycsb_next(r);
        memcpy(value + i, &x, size - i >= 8 ? 8 : (size_t)(size - i));
    }
}

/* ------------------------------------------------------------- generators */

/* YCSB's ZipfianGenerator (Gray et al.), constant 0.99. */
typedef struct { long items; double theta, zetan, alpha, eta, zeta2; } zipfian;

static double zeta(long n, double theta) {
    double sum = 0;
    for (long i = 1; i <= n; i++) sum += 1.0 / pow((double)i, theta);
    return sum;
}

static void zipfian_init(zipfian *z, long items, double zetan) {
    z->items = items;
    z->theta = 0.99;
    z->zeta2 = zeta(2, z->theta);
    z->zetan = zetan;
    z->alpha = 1.0 / (1.0 - z->theta);
    z->eta = (1 - pow(2.0 / (double)items, 1 - z->theta)) / (1 - z->zeta2 / z->zetan);
}

static long zipfian_next(const zipfian *z, ycsb_rng *r) {
    double u = uniform01(r), uz = u * z->zetan;
    if (uz < 1.0) return 0;
    if (uz < 1.0 + pow(0.5, z->theta)) return 1;
    return (long)((double)z->items * pow(z->eta * u - z->eta + 1, z->alpha));
}

static zipfian over_records;    /* `latest`: zipfian over the loaded records */
static zipfian scrambled;       /* ScrambledZipfian: 10^10 items, YCSB's precomputed zeta */
static enum { DIST_ZIPFIAN, DIST_UNIFORM, DIST_LATEST } distribution;

void ycsb_generators_init(const ycsb_config *cfg) {
    const char *d = cfg->distribution ? cfg->distribution : ycsb_default_distribution(cfg->workload);
    distribution = !strcmp(d, "uniform") ? DIST_UNIFORM : !strcmp(d, "latest") ? DIST_LATEST : DIST_ZIPFIAN;
    if (distribution == DIST_LATEST) zipfian_init(&over_records, cfg->records, zeta(cfg->records, 0.99));
    zipfian_init(&scrambled, 10000000000L, 26.46902820178302);
}

long ycsb_choose(ycsb_rng *r, long limit) {
    switch (distribution) {
    case DIST_UNIFORM: return (long)(ycsb_next(r) % (uint64_t)limit);
    case DIST_LATEST: return limit - 1 - zipfian_next(&over_records, r) % limit; /* newest most popular */
    default: return (long)(fnv64((uint64_t)zipfian_next(&scrambled, r)) % (uint64_t)limit);
    }
}

/* ------------------------------------------------------------- histograms */

/* Buckets of 0.1 us up to 102.4 us, then 64 per power of two. */
static int bucket(uint64_t ns) {
    uint64_t tenths = ns / 100;
    if (tenths < 1024) return (int)tenths;
    int e = 63 - __builtin_clzll(tenths);
    int b = 1024 + (e - 10) * 64 + (int)((tenths >> (e - 6)) & 63);
    return b < YCSB_HIST_BUCKETS ? b : YCSB_HIST_BUCKETS - 1;
}

static double bucket_us(int b) {
    if (b < 1024) return b / 10.0;
    int e = (b - 1024) / 64 + 10, sub = (b - 1024) % 64;
    return (double)((1ULL << e) + ((uint64_t)sub << (e - 6))) / 10.0;
}

void ycsb_hist_record(ycsb_hist *h, uint64_t ns) {
    h->buckets[bucket(ns)]++;
    h->count++;
    if (ns > h->max_ns) h->max_ns = ns;
}

void ycsb_hist_merge(ycsb_hist *into, const ycsb_hist *from) {
    into->count += from->count;
    if (from->max_ns > into->max_ns) into->max_ns = from->max_ns;
    for (int b = 0; b < YCSB_HIST_BUCKETS; b++) into->buckets[b] += from->buckets[b];
}

static double percentile_us(const ycsb_hist *h, double p) {
    long want = (long)ceil((double)h->count * p), seen = 0;
    for (int b = 0; b < YCSB_HIST_BUCKETS; b++) {
        seen += h->buckets[b];
        if (seen >= want && seen) return bucket_us(b);
    }
    return 0;
}

uint64_t ycsb_now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000ULL + (uint64_t)t.tv_nsec;
}

/* --------------------------------------------------------------- device I/O */

/* The value after `name` in /proc/self/io; 0 with *ok cleared when missing. */
static uint64_t proc_io_field(const char *text, const char *name, int *ok) {
    const char *at = strstr(text, name);
    if (!at) { *ok = 0; return 0; }
    return strtoull(at + strlen(name), NULL, 10);
}

/* The device holding `path` or, while it does not exist, its nearest
 * existing ancestor (a database directory made by the open). */
static int path_device(const char *path, dev_t *dev) {
    char buf[4096];
    snprintf(buf, sizeof buf, "%s", path);
    struct stat st;
    for (;;) {
        if (stat(buf, &st) == 0) { *dev = st.st_dev; return 1; }
        char *slash = strrchr(buf, '/');
        if (!slash) return stat(".", &st) == 0 ? (*dev = st.st_dev, 1) : 0;
        if (slash == buf) { buf[1] = 0; } else { *slash = 0; }
    }
}

void ycsb_io_read(ycsb_io *io, const char *path) {
    memset(io, 0, sizeof *io);
    char text[1024];
    FILE *f = fopen("/proc/self/io", "r");
    if (f) {
        size_t n = fread(text, 1, sizeof text - 1, f);
        fclose(f);
        text[n] = 0;
        int ok = 1;
        io->read_bytes = proc_io_field(text, "\nread_bytes: ", &ok);
        io->write_bytes = proc_io_field(text, "\nwrite_bytes: ", &ok);
        io->known = ok;
    }
    dev_t dev;
    if (!path_device(path, &dev)) return;
    f = fopen("/proc/diskstats", "r");
    if (!f) return;
    char line[512];
    while (fgets(line, sizeof line, f)) {
        unsigned maj, min;
        char name[32];
        unsigned long long v[10];
        /* major minor name reads merged sectors ms writes merged sectors ... */
        if (sscanf(line, "%u %u %31s %llu %llu %llu %llu %llu %llu %llu", &maj, &min, name,
                   &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6]) == 10
            && maj == major(dev) && min == minor(dev)) {
            snprintf(io->disk, sizeof io->disk, "%s", name);
            io->disk_write_bytes = v[6] * 512;
        }
    }
    fclose(f);
}

/* ------------------------------------------------------------------- JSON */

void ycsb_print_json(const char *engine, const ycsb_config *cfg, const ycsb_result *res) {
    printf("{\"engine\":\"%s\",\"workload\":\"%s\",\"records\":%ld,\"operations\":%ld,\"threads\":%ld,"
           "\"seconds\":%.3f,\"ops_per_sec\":%.1f,\"found\":%ld,\"reads\":%ld,\"latency_us\":{",
           engine, cfg->workload, cfg->records, res->operations, cfg->threads, res->seconds,
           res->seconds > 0 ? (double)res->operations / res->seconds : 0, res->found, res->reads);
    const char *sep = "";
    for (int k = 0; k < OP_COUNT; k++) {
        const ycsb_hist *h = &res->hist[k];
        if (!h->count) continue;
        printf("%s\"%s\":{\"count\":%ld,\"p50\":%.1f,\"p99\":%.1f,\"p999\":%.1f,\"max\":%.1f}", sep, ycsb_op_names[k],
               h->count, percentile_us(h, .5), percentile_us(h, .99), percentile_us(h, .999), (double)h->max_ns / 1000.0);
        sep = ",";
    }
    printf("}");
    const ycsb_io *a = &res->io_start, *b = &res->io_end;
    if (a->known && b->known) {
        double ops = res->operations > 0 ? (double)res->operations : 1;
        uint64_t rd = b->read_bytes - a->read_bytes, wr = b->write_bytes - a->write_bytes;
        uint64_t user = res->user_bytes_written;
        printf(",\"io\":{\"device_read_bytes\":%llu,\"device_write_bytes\":%llu,"
               "\"read_bytes_per_op\":%.1f,\"write_bytes_per_op\":%.1f,",
               (unsigned long long)rd, (unsigned long long)wr, (double)rd / ops, (double)wr / ops);
        if (a->disk[0] && !strcmp(a->disk, b->disk))
            printf("\"disk\":\"%s\",\"disk_write_bytes\":%llu,", b->disk,
                   (unsigned long long)(b->disk_write_bytes - a->disk_write_bytes));
        printf("\"user_bytes_written\":%llu,\"write_amplification\":%.3f}", (unsigned long long)user,
               user ? (double)wr / (double)user : 0.0);
    }
    printf("}\n");
}
