/*
 * XXH64 (Yann Collet's xxHash, 64-bit variant) over the caller's own memory. xxhash-wasm copies
 * every byte into wasm memory before hashing it, which cost as much as the hash itself on a
 * multi-GB stream (bench/RESULTS.md, "XXH64 in the addon"); here a chunk is hashed where it lies.
 * Written from the algorithm's specification (github.com/Cyan4973/xxHash, doc/xxhash_spec.md);
 * its digests are checked against xxhash-wasm and xxhsum by test/hash.test.ts.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <node_api.h>
#include "bytes.h"

#define PRIME1 0x9E3779B185EBCA87ULL
#define PRIME2 0xC2B2AE3D27D4EB4FULL
#define PRIME3 0x165667B19E3779F9ULL
#define PRIME4 0x85EBCA77C2B2AE63ULL
#define PRIME5 0x27D4EB2F165667C5ULL

/* A streaming state, kept by JavaScript in a Buffer of XXH64_STATE_BYTES. */
typedef struct {
  uint64_t total;
  uint64_t lane[4];
  uint8_t pending[32];
  uint32_t pending_bytes;
  uint32_t unused;
} xxh64_state;

static inline uint64_t rotl(uint64_t x, int r) { return (x << r) | (x >> (64 - r)); }

/* Little-endian loads at any alignment (the stream's byte order; x86 and aarch64 need no swap). */
static inline uint64_t read64(const uint8_t *p) {
  uint64_t v;
  memcpy(&v, p, 8);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
  v = __builtin_bswap64(v);
#endif
  return v;
}

static inline uint32_t read32(const uint8_t *p) {
  uint32_t v;
  memcpy(&v, p, 4);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
  v = __builtin_bswap32(v);
#endif
  return v;
}

static inline uint64_t round64(uint64_t acc, uint64_t input) { return rotl(acc + input * PRIME2, 31) * PRIME1; }

static inline uint64_t merge(uint64_t acc, uint64_t lane) { return (acc ^ round64(0, lane)) * PRIME1 + PRIME4; }

static void init(xxh64_state *s, uint64_t seed) {
  memset(s, 0, sizeof *s);
  s->lane[0] = seed + PRIME1 + PRIME2;
  s->lane[1] = seed + PRIME2;
  s->lane[2] = seed;
  s->lane[3] = seed - PRIME1;
}

/* Consumes whole 32-byte stripes from p; returns where it stopped. */
static const uint8_t *stripes(uint64_t lane[4], const uint8_t *p, const uint8_t *end) {
  uint64_t a = lane[0], b = lane[1], c = lane[2], d = lane[3];
  for (; end - p >= 32; p += 32) {
    a = round64(a, read64(p));
    b = round64(b, read64(p + 8));
    c = round64(c, read64(p + 16));
    d = round64(d, read64(p + 24));
  }
  lane[0] = a, lane[1] = b, lane[2] = c, lane[3] = d;
  return p;
}

static void update(xxh64_state *s, const uint8_t *p, size_t length) {
  const uint8_t *end = p + length;
  s->total += length;
  if (s->pending_bytes + length < 32) {
    memcpy(s->pending + s->pending_bytes, p, length);
    s->pending_bytes += (uint32_t)length;
    return;
  }
  if (s->pending_bytes > 0) {
    size_t fill = 32 - s->pending_bytes;
    memcpy(s->pending + s->pending_bytes, p, fill);
    stripes(s->lane, s->pending, s->pending + 32);
    p += fill;
    s->pending_bytes = 0;
  }
  p = stripes(s->lane, p, end);
  memcpy(s->pending, p, (size_t)(end - p));
  s->pending_bytes = (uint32_t)(end - p);
}

static uint64_t digest(const xxh64_state *s) {
  uint64_t h;
  if (s->total >= 32) {
    const uint64_t *v = s->lane;
    h = rotl(v[0], 1) + rotl(v[1], 7) + rotl(v[2], 12) + rotl(v[3], 18);
    for (int i = 0; i < 4; i++) h = merge(h, v[i]);
  } else {
    h = s->lane[2] /* the seed */ + PRIME5;
  }
  h += s->total;
  const uint8_t *p = s->pending, *end = s->pending + s->pending_bytes;
  for (; end - p >= 8; p += 8) h = rotl(h ^ round64(0, read64(p)), 27) * PRIME1 + PRIME4;
  if (end - p >= 4) {
    h = rotl(h ^ (uint64_t)read32(p) * PRIME1, 23) * PRIME2 + PRIME3;
    p += 4;
  }
  for (; p < end; p++) h = rotl(h ^ *p * PRIME5, 11) * PRIME1;
  h ^= h >> 33;
  h *= PRIME2;
  h ^= h >> 29;
  h *= PRIME3;
  h ^= h >> 32;
  return h;
}

static uint64_t xxh64(const uint8_t *p, size_t length, uint64_t seed) {
  xxh64_state s;
  init(&s, seed);
  update(&s, p, length);
  return digest(&s);
}

static xxh64_state *state_of(napi_env env, napi_value value) {
  uint8_t *data;
  size_t length;
  if (!bytes_of(env, value, &data, &length) || length < sizeof(xxh64_state) || ((uintptr_t)data & 7) != 0) return NULL;
  return (xxh64_state *)data;
}

static int args(napi_env env, napi_callback_info info, size_t wanted, napi_value *argv) {
  size_t argc = wanted;
  return napi_get_cb_info(env, info, &argc, argv, NULL, NULL) == napi_ok && argc >= wanted;
}

/* xxh64Init(state, seed: bigint) */
static napi_value js_init(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  uint64_t seed = 0;
  bool lossless;
  xxh64_state *s;
  if (!args(env, info, 2, argv) || (s = state_of(env, argv[0])) == NULL || napi_get_value_bigint_uint64(env, argv[1], &seed, &lossless) != napi_ok) {
    napi_throw_type_error(env, NULL, "xxh64Init(state, seed) takes an 8-byte-aligned state Uint8Array and a bigint");
    return NULL;
  }
  init(s, seed);
  return NULL;
}

/* xxh64Update(state, bytes) */
static napi_value js_update(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  uint8_t *data;
  size_t length;
  xxh64_state *s;
  if (!args(env, info, 2, argv) || (s = state_of(env, argv[0])) == NULL || !bytes_of(env, argv[1], &data, &length)) {
    napi_throw_type_error(env, NULL, "xxh64Update(state, bytes) takes a state and a Uint8Array");
    return NULL;
  }
  update(s, data, length);
  return NULL;
}

/* xxh64Digest(state): 16 lower-case hex digits, as xxhsum -H1 prints them. */
static napi_value js_digest(napi_env env, napi_callback_info info) {
  napi_value argv[1], result;
  xxh64_state *s;
  char hex[17];
  if (!args(env, info, 1, argv) || (s = state_of(env, argv[0])) == NULL) {
    napi_throw_type_error(env, NULL, "xxh64Digest(state) takes a state");
    return NULL;
  }
  snprintf(hex, sizeof hex, "%016llx", (unsigned long long)digest(s));
  napi_create_string_latin1(env, hex, 16, &result);
  return result;
}

/* xxh64Page(page, out): XXH64 of the page with seeds 0 and PRIME1, big-endian, into out's 16 bytes. */
static napi_value js_page(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  uint8_t *page, *out;
  size_t length, out_length;
  if (!args(env, info, 2, argv) || !bytes_of(env, argv[0], &page, &length) || !bytes_of(env, argv[1], &out, &out_length) || out_length < 16) {
    napi_throw_type_error(env, NULL, "xxh64Page(page, out) takes a Uint8Array and a 16-byte Uint8Array");
    return NULL;
  }
  uint64_t halves[2] = {xxh64(page, length, 0), xxh64(page, length, PRIME1)};
  for (int i = 0; i < 16; i++) out[i] = (uint8_t)(halves[i / 8] >> (56 - 8 * (i % 8)));
  return NULL;
}

void register_xxh64(napi_env env, napi_value exports) {
  static const struct { const char *name; napi_callback fn; } functions[] = {
    {"xxh64Init", js_init}, {"xxh64Update", js_update}, {"xxh64Digest", js_digest}, {"xxh64Page", js_page},
  };
  napi_value fn, size;
  for (size_t i = 0; i < sizeof functions / sizeof functions[0]; i++) {
    napi_create_function(env, functions[i].name, NAPI_AUTO_LENGTH, functions[i].fn, NULL, &fn);
    napi_set_named_property(env, exports, functions[i].name, fn);
  }
  napi_create_uint32(env, (uint32_t)sizeof(xxh64_state), &size);
  napi_set_named_property(env, exports, "XXH64_STATE_BYTES", size);
}
