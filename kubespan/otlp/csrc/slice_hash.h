/* The hash of a wire slice, shared by the compiled tables (bytes_cache.c, attr_store.c, slice_set.h). */
#ifndef KUBESPAN_SLICE_HASH_H
#define KUBESPAN_SLICE_HASH_H

#include "wire.h"

/* FNV-1a over 8-byte words, then a final mix: fast on the short slices attributes are. */
static inline uint64_t slice_hash(Slice s) {
    uint64_t h = 0xcbf29ce484222325ULL ^ (uint64_t)s.n;
    Py_ssize_t i = 0;
    for (; i + 8 <= s.n; i += 8) {
        uint64_t word;
        memcpy(&word, s.p + i, 8);
        h = (h ^ word) * 0x100000001b3ULL;
        h ^= h >> 29;
    }
    for (; i < s.n; i++)
        h = (h ^ s.p[i]) * 0x100000001b3ULL;
    h ^= h >> 32;
    h *= 0xd6e8feb86659fd93ULL;
    h ^= h >> 32;
    return h;
}

#endif
