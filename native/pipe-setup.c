/*
 * savekit's only native code: two fcntl() calls Node.js does not expose.
 * - F_SETPIPE_SZ: a pipe holds 64 KiB by default, so a copy through it costs one read and one
 *   write per 64 KiB; at 1 MiB the per-call cost of Node's fs bindings stops mattering and
 *   savekit keeps up with cat (bench/RESULTS.md). Linux only; elsewhere it reports ENOSYS.
 * - clearing O_NONBLOCK: a descriptor inherited non-blocking answers EAGAIN whenever a pipe is
 *   full or empty, and a blocking copy loop can then only poll.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <node_api.h>

/* setPipeSize(fd, bytes): the pipe's new capacity, or -errno (not a pipe, over the limit). */
static napi_value set_pipe_size(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  int32_t fd = -1, bytes = 0;
  napi_value result;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 2 ||
      napi_get_value_int32(env, argv[0], &fd) != napi_ok || napi_get_value_int32(env, argv[1], &bytes) != napi_ok) {
    napi_throw_type_error(env, NULL, "setPipeSize(fd, bytes) takes two integers");
    return NULL;
  }
#ifdef F_SETPIPE_SZ
  int size = fcntl(fd, F_SETPIPE_SZ, bytes);
  napi_create_int32(env, size < 0 ? -errno : size, &result);
#else
  napi_create_int32(env, -ENOSYS, &result);
#endif
  return result;
}

/* setBlocking(fd): 0, or -errno. */
static napi_value set_blocking(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  int32_t fd = -1;
  napi_value result;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 1 || napi_get_value_int32(env, argv[0], &fd) != napi_ok) {
    napi_throw_type_error(env, NULL, "setBlocking(fd) takes an integer");
    return NULL;
  }
  int flags = fcntl(fd, F_GETFL);
  int status = flags < 0 ? -errno : (flags & O_NONBLOCK) && fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) < 0 ? -errno : 0;
  napi_create_int32(env, status, &result);
  return result;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_value fn;
  napi_create_function(env, "setPipeSize", NAPI_AUTO_LENGTH, set_pipe_size, NULL, &fn);
  napi_set_named_property(env, exports, "setPipeSize", fn);
  napi_create_function(env, "setBlocking", NAPI_AUTO_LENGTH, set_blocking, NULL, &fn);
  napi_set_named_property(env, exports, "setBlocking", fn);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
