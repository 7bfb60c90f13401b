// CRC32C (Castagnoli, reflected polynomial 0x82F63B78). Uses the SSE4.2
// crc32 instruction when the CPU has it, a slicing-by-1 table otherwise.
//
// No build flag asks for SSE4.2 (SwiftPM refuses unsafe flags in a package
// taken as a versioned dependency): the hardware path is compiled for it
// per function with __attribute__((target("sse4.2"))) and chosen at run
// time from the CPU's feature bits.
//
// Both lazily initialised pieces are race-free, so ThreadSanitizer stays
// quiet when many threads checksum at once: the table is built under
// pthread_once, and the CPU check is an atomic int (every thread that races
// on it computes and stores the same value).
#include "CRingSupport.h"
#include <pthread.h>
#include <string.h>

static uint32_t table[256];
static pthread_once_t table_once = PTHREAD_ONCE_INIT;

static void build_table(void) {
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++) c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
        table[i] = c;
    }
}

static uint32_t crc_portable(uint32_t crc, const uint8_t *p, size_t n) {
    pthread_once(&table_once, build_table);
    crc = ~crc;
    while (n--) crc = table[(crc ^ *p++) & 0xFF] ^ (crc >> 8);
    return ~crc;
}

#if defined(__x86_64__)
// Three interleaved streams. The crc32 instruction takes 3 cycles but a
// new one can start every cycle, so one dependent chain uses a third of
// the unit: a buffer is cut into three equal stretches of STRIDE bytes,
// each checksummed from its own register in the same loop, and the three
// registers are joined by "shifting" the earlier ones over the STRIDE
// bytes after them. Appending n zero bytes to a CRC register is a linear
// map over GF(2), so for each stride it is kept as four 256-entry tables
// (one per register byte), built once from the bytewise table.
enum { STRIDE_LONG = 1024, STRIDE_SHORT = 256 };
static uint32_t shift_long[4][256];
static uint32_t shift_short[4][256];
static pthread_once_t shift_once = PTHREAD_ONCE_INIT;

/// The register `c` after `n` zero bytes (no pre/post inversion).
static uint32_t zeros_slow(uint32_t c, size_t n) {
    while (n--) c = table[c & 0xFF] ^ (c >> 8);
    return c;
}

static void build_shift_tables(void) {
    pthread_once(&table_once, build_table);
    for (int k = 0; k < 4; k++) {
        for (uint32_t i = 0; i < 256; i++) {
            shift_long[k][i] = zeros_slow(i << (8 * k), STRIDE_LONG);
            shift_short[k][i] = zeros_slow(i << (8 * k), STRIDE_SHORT);
        }
    }
}

// always_inline and a plain unaligned load (not memcpy): SwiftPM builds C
// targets at -O0 in debug builds, where `static inline` helpers stay calls
// and memcpy a library call — in perf record of a debug build, load64 alone
// was ~4% of the CPU of an async get (8 bytes checksummed per call).
typedef uint64_t __attribute__((aligned(1), may_alias)) unaligned_u64;

static inline __attribute__((always_inline)) uint32_t shift(uint32_t t[4][256], uint32_t c) {
    return t[0][c & 0xFF] ^ t[1][(c >> 8) & 0xFF] ^ t[2][(c >> 16) & 0xFF] ^ t[3][c >> 24];
}

static inline __attribute__((always_inline)) uint64_t load64(const uint8_t *p) {
    return *(const unaligned_u64 *)p;
}

/// Checksums 3 * stride bytes at *p (stride a multiple of 8) into c.
__attribute__((target("sse4.2")))
static uint32_t crc_three(uint32_t c, const uint8_t **p, size_t stride, uint32_t t[4][256]) {
    uint64_t c0 = c, c1 = 0, c2 = 0;
    const uint8_t *a = *p, *end = *p + stride;
    while (a < end) {
        c0 = __builtin_ia32_crc32di(c0, load64(a));
        c1 = __builtin_ia32_crc32di(c1, load64(a + stride));
        c2 = __builtin_ia32_crc32di(c2, load64(a + 2 * stride));
        a += 8;
    }
    *p += 3 * stride;
    uint32_t r = shift(t, (uint32_t)c0) ^ (uint32_t)c1;
    return shift(t, r) ^ (uint32_t)c2;
}

__attribute__((target("sse4.2")))
static uint32_t crc_sse42(uint32_t crc, const uint8_t *p, size_t n) {
    uint32_t c = ~crc;
    if (n >= 3 * STRIDE_SHORT) {
        pthread_once(&shift_once, build_shift_tables);
        while (n >= 3 * STRIDE_LONG) {
            c = crc_three(c, &p, STRIDE_LONG, shift_long);
            n -= 3 * STRIDE_LONG;
        }
        while (n >= 3 * STRIDE_SHORT) {
            c = crc_three(c, &p, STRIDE_SHORT, shift_short);
            n -= 3 * STRIDE_SHORT;
        }
    }
    uint64_t c64 = c;
    while (n >= 8) {
        c64 = __builtin_ia32_crc32di(c64, load64(p));
        p += 8; n -= 8;
    }
    c = (uint32_t)c64;
    while (n--) c = __builtin_ia32_crc32qi(c, *p++);
    return ~c;
}

/// -1 not checked yet, 0 no SSE4.2, 1 SSE4.2.
static int hardware = -1;

static int has_sse42(void) {
    int h = __atomic_load_n(&hardware, __ATOMIC_RELAXED);
    if (h < 0) {
        __builtin_cpu_init();
        h = __builtin_cpu_supports("sse4.2") ? 1 : 0;
        __atomic_store_n(&hardware, h, __ATOMIC_RELAXED);
    }
    return h;
}
#endif

bool rk_crc32c_is_hardware(void) {
#if defined(__x86_64__)
    return has_sse42() != 0;
#else
    return false;
#endif
}

uint32_t rk_crc32c_extend(uint32_t crc, const void *data, size_t len) {
#if defined(__x86_64__)
    if (has_sse42()) return crc_sse42(crc, (const uint8_t *)data, len);
#endif
    return crc_portable(crc, (const uint8_t *)data, len);
}
