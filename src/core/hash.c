/* Content hashes (XXH3) for cache keys. */
#include "core/core.h"

#include <stdio.h>
#include <xxhash.h>

uint64_t hash64(const void *data, size_t len)
{
    return XXH3_64bits(data, len);
}

void hash128_hex(const void *data, size_t len, char out[33])
{
    XXH128_hash_t h = XXH3_128bits(data, len);
    snprintf(out, 33, "%016llx%016llx", (unsigned long long)h.high64, (unsigned long long)h.low64);
}
