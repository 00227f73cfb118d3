/*
 * savekit's native addon, optional everywhere: what Node.js does not expose (pipe-setup.c),
 * XXH64 without a copy (xxh64.c), a copy past the CPU cache (copy.c) and files read where they
 * lie in the page cache (map.c). lib/native.ts loads it; without it savekit falls back to
 * leaving pipes as they are, to xxhash-wasm, to Buffer.copy and to reading files.
 */
#include <node_api.h>

void register_pipe_setup(napi_env env, napi_value exports);
void register_xxh64(napi_env env, napi_value exports);
void register_copy(napi_env env, napi_value exports);
void register_map(napi_env env, napi_value exports);

static napi_value init(napi_env env, napi_value exports) {
  register_pipe_setup(env, exports);
  register_xxh64(env, exports);
  register_copy(env, exports);
  register_map(env, exports);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
