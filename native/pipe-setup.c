/*
 * What Node.js does not expose about pipes and buffers: two fcntl() calls, pipe() itself, and
 * where a buffer lies in memory.
 * - F_SETPIPE_SZ: a pipe holds 64 KiB by default, so a copy through it costs one read and one
 *   write per 64 KiB; at 1 MiB the per-call cost of Node's fs bindings stops mattering and
 *   savekit keeps up with cat (bench/RESULTS.md). Linux only; elsewhere it reports ENOSYS.
 * - clearing O_NONBLOCK: a descriptor inherited non-blocking answers EAGAIN whenever a pipe is
 *   full or empty, and a blocking copy loop can then only poll.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>
#include <node_api.h>
#include "bytes.h"

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

/*
 * createPipe(): [readFd, writeFd], both close-on-exec, or -errno. A child's output read with
 * blocking reads into buffers the reader keeps (apply's delta program), where a child_process
 * stream allocates 64 KiB per read and holds the child to its socket's ~200 KiB.
 */
static napi_value create_pipe(napi_env env, napi_callback_info info) {
  int fds[2];
  napi_value result, value;
  if (pipe2(fds, O_CLOEXEC) < 0) {
    napi_create_int32(env, -errno, &result);
    return result;
  }
  napi_create_array_with_length(env, 2, &result);
  for (uint32_t i = 0; i < 2; i++) {
    napi_create_int32(env, fds[i], &value);
    napi_set_element(env, result, i, value);
  }
  return result;
}

/*
 * alignmentGap(bytes): how many bytes from the start of `bytes` to the next 4 KiB boundary of
 * memory. Direct I/O and fast reads want page-aligned buffers, and JavaScript cannot see where
 * an ArrayBuffer lies (glibc puts a large one 16 bytes past a page, but only while it comes
 * from mmap: once malloc's threshold has grown, it comes from the heap anywhere).
 */
static napi_value alignment_gap(napi_env env, napi_callback_info info) {
  size_t argc = 1, length;
  napi_value argv[1], result;
  uint8_t *data;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 1 || !bytes_of(env, argv[0], &data, &length)) {
    napi_throw_type_error(env, NULL, "alignmentGap(bytes) takes a Uint8Array");
    return NULL;
  }
  napi_create_uint32(env, (uint32_t)((4096 - ((uintptr_t)data & 4095)) & 4095), &result);
  return result;
}

void register_pipe_setup(napi_env env, napi_value exports) {
  napi_value fn;
  napi_create_function(env, "alignmentGap", NAPI_AUTO_LENGTH, alignment_gap, NULL, &fn);
  napi_set_named_property(env, exports, "alignmentGap", fn);
  napi_create_function(env, "createPipe", NAPI_AUTO_LENGTH, create_pipe, NULL, &fn);
  napi_set_named_property(env, exports, "createPipe", fn);
  napi_create_function(env, "setPipeSize", NAPI_AUTO_LENGTH, set_pipe_size, NULL, &fn);
  napi_set_named_property(env, exports, "setPipeSize", fn);
  napi_create_function(env, "setBlocking", NAPI_AUTO_LENGTH, set_blocking, NULL, &fn);
  napi_set_named_property(env, exports, "setBlocking", fn);
}
