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
__attribute__((target("sse4.2")))
static uint32_t crc_sse42(uint32_t crc, const uint8_t *p, size_t n) {
    uint64_t c = ~crc;
    while (n >= 8) {
        uint64_t v;
        memcpy(&v, p, 8);
        c = __builtin_ia32_crc32di(c, v);
        p += 8; n -= 8;
    }
    uint32_t c32 = (uint32_t)c;
    while (n--) c32 = __builtin_ia32_crc32qi(c32, *p++);
    return ~c32;
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
