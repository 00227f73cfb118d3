/*
 * A copy into memory that the disk reads next, not the CPU: apply's batches, which go out by
 * direct I/O (lib/pipe/direct-output.ts). Ordinary stores first fetch every destination cache
 * line, and a batch's lines have left the cache by the time the ring of batches comes round;
 * glibc's memcpy also moves 4 KiB and more with `rep movsb`, which AMD Zen cores run about 15
 * times slower when the destination lies 1 to 15 bytes past the source modulo 64 (a record's
 * 8-byte head puts every page of NEW there). Streaming (non-temporal) stores write whole lines
 * without reading them: apply's copies on the 4 GiB pair went from 0.19-0.6 s to 0.08-0.1 s
 * (bench/RESULTS.md, "Deltas between saves"). x86-64 only (SSE2 is part of it); elsewhere memcpy.
 */
#include <stdint.h>
#include <string.h>
#include <node_api.h>
#include "bytes.h"
#if defined(__x86_64__)
#include <emmintrin.h>
#endif

static void copy_streaming(uint8_t *dst, const uint8_t *src, size_t n) {
#if defined(__x86_64__)
  /* Streaming stores take 16-byte-aligned destinations: the bytes before the first such one by memcpy. */
  size_t head = (16 - ((uintptr_t)dst & 15)) & 15;
  if (n < 128) head = n;
  memcpy(dst, src, head);
  dst += head, src += head, n -= head;
  for (; n >= 64; n -= 64, dst += 64, src += 64) {
    __m128i a = _mm_loadu_si128((const __m128i *)src), b = _mm_loadu_si128((const __m128i *)(src + 16));
    __m128i c = _mm_loadu_si128((const __m128i *)(src + 32)), d = _mm_loadu_si128((const __m128i *)(src + 48));
    _mm_stream_si128((__m128i *)dst, a);
    _mm_stream_si128((__m128i *)(dst + 16), b);
    _mm_stream_si128((__m128i *)(dst + 32), c);
    _mm_stream_si128((__m128i *)(dst + 48), d);
  }
  _mm_sfence(); /* the streamed lines are ordered before anything written after (the write syscall) */
#endif
  memcpy(dst, src, n);
}

/* copyPastCache(target, targetStart, source): source's bytes into target from targetStart; returns their count. */
static napi_value js_copy_past_cache(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3], result;
  uint8_t *target, *source;
  size_t target_length, source_length;
  int64_t at;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 3 || !bytes_of(env, argv[0], &target, &target_length) ||
      napi_get_value_int64(env, argv[1], &at) != napi_ok || !bytes_of(env, argv[2], &source, &source_length)) {
    napi_throw_type_error(env, NULL, "copyPastCache(target, targetStart, source) takes a Uint8Array, an integer and a Uint8Array");
    return NULL;
  }
  if (at < 0 || (uint64_t)at > target_length || source_length > target_length - (size_t)at) {
    napi_throw_range_error(env, NULL, "copyPastCache: the source does not fit in the target from targetStart");
    return NULL;
  }
  copy_streaming(target + at, source, source_length);
  napi_create_double(env, (double)source_length, &result);
  return result;
}

void register_copy(napi_env env, napi_value exports) {
  napi_value fn;
  napi_create_function(env, "copyPastCache", NAPI_AUTO_LENGTH, js_copy_past_cache, NULL, &fn);
  napi_set_named_property(env, exports, "copyPastCache", fn);
}
