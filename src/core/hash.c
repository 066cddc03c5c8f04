/* Content hashes (XXH3) for cache keys. */
#include "core/core.h"

#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <xxhash.h>

static unsigned char process_key[crypto_shorthash_KEYBYTES];
static pthread_once_t key_once = PTHREAD_ONCE_INIT;

static void key_init(void)
{
    random_bytes(process_key, sizeof process_key);
}

uint64_t hash64_keyed(const void *data, size_t len)
{
    pthread_once(&key_once, key_init);
    uint64_t k;
    crypto_shorthash((unsigned char *)&k, data, (unsigned long long)len, process_key);
    return k;
}

uint64_t hash64(const void *data, size_t len)
{
    return XXH3_64bits(data, len);
}

void hash128_hex(const void *data, size_t len, char out[33])
{
    XXH128_hash_t h = XXH3_128bits(data, len);
    snprintf(out, 33, "%016llx%016llx", (unsigned long long)h.high64, (unsigned long long)h.low64);
}
