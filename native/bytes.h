/*
 * The bytes of a JavaScript argument that must be a Uint8Array (a Buffer, or a view over an
 * ArrayBuffer or a SharedArrayBuffer): where they lie and how many. Shared by the addon's files.
 */
#ifndef SAVEKIT_BYTES_H
#define SAVEKIT_BYTES_H
#include <stdint.h>
#include <node_api.h>

/* 1 and the bytes, or 0 when `value` is not a Uint8Array. */
static inline int bytes_of(napi_env env, napi_value value, uint8_t **data, size_t *length) {
  bool is_typedarray = false;
  napi_typedarray_type type;
  if (napi_is_typedarray(env, value, &is_typedarray) != napi_ok || !is_typedarray) return 0;
  return napi_get_typedarray_info(env, value, &type, length, (void **)data, NULL, NULL) == napi_ok && type == napi_uint8_array;
}

#endif
