/*
 * Reading a file without copying it: a window of the file mapped from the page cache, handed to
 * JavaScript as an ArrayBuffer over the mapping, so savekit's readers walk and hash the bytes
 * where they lie instead of having the kernel copy them first (lib/pipe/mapped-file.ts).
 * A file cut while it is mapped makes the CPU raise SIGBUS at the first touch of a page past its
 * new end, which would kill the process. The SIGBUS handler here finds the fault in one of these
 * windows, maps zero pages over the rest of that window and counts the fault; the reader sees
 * the count (mappingFaults) and the file's new size, and reports ERR_IMAGE_CHANGED. A SIGBUS
 * anywhere else is left to the handler that was there before (by default, death).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>
#include <node_api.h>

#define MAX_WINDOWS 256

/* What the handler reads: where each live window lies. A slot is free while its start is 0. */
struct window {
  _Atomic uintptr_t start;
  _Atomic size_t length;
};

struct mapping {
  void *address;
  size_t length;
  int slot; /* -1 once unmapped */
};

static struct window windows[MAX_WINDOWS];
/* The mapping that holds each slot (touched only by the thread that maps, never by the handler). */
static struct mapping *owners[MAX_WINDOWS];
static atomic_uint faults;
static struct sigaction previous;
static uintptr_t page_mask;
static int handler_installed;

static void on_sigbus(int signal, siginfo_t *info, void *context) {
  uintptr_t address = (uintptr_t)info->si_addr;
  for (int i = 0; i < MAX_WINDOWS; i++) {
    uintptr_t start = atomic_load(&windows[i].start);
    size_t length = atomic_load(&windows[i].length);
    if (start == 0 || address < start || address >= start + length) continue;
    uintptr_t page = address & page_mask;
    /* Zero pages from the fault to the window's end: the reader goes on over zeros, then sees the count. */
    if (mmap((void *)page, start + length - page, PROT_READ, MAP_FIXED | MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) != MAP_FAILED) {
      atomic_fetch_add(&faults, 1);
      return;
    }
    break;
  }
  /* Not one of ours: the previous disposition takes over when the access faults again. */
  (void)signal;
  (void)context;
  sigaction(SIGBUS, &previous, NULL);
}

static int install_handler(void) {
  if (handler_installed) return 0;
  struct sigaction action = {0};
  action.sa_sigaction = on_sigbus;
  action.sa_flags = SA_SIGINFO | SA_ONSTACK;
  sigemptyset(&action.sa_mask);
  if (sigaction(SIGBUS, &action, &previous) < 0) return -errno;
  handler_installed = 1;
  return 0;
}

static void unmap(struct mapping *mapping) {
  if (mapping->slot < 0) return;
  atomic_store(&windows[mapping->slot].start, 0);
  owners[mapping->slot] = NULL;
  munmap(mapping->address, mapping->length);
  mapping->slot = -1;
}

static void finalize(napi_env env, void *data, void *hint) {
  (void)env;
  (void)data;
  struct mapping *mapping = hint;
  unmap(mapping);
  free(mapping);
}

static int claim_slot(struct mapping *mapping) {
  for (int i = 0; i < MAX_WINDOWS; i++) {
    if (owners[i] != NULL) continue;
    owners[i] = mapping;
    mapping->slot = i;
    atomic_store(&windows[i].length, mapping->length);
    atomic_store(&windows[i].start, (uintptr_t)mapping->address);
    return i;
  }
  return -1;
}

static int int64_argument(napi_env env, napi_value value, int64_t *out) {
  return napi_get_value_int64(env, value, out) == napi_ok;
}

/*
 * mapFile(fd, offset, length): an ArrayBuffer over bytes [offset, offset + length) of the file,
 * read-only (offset a multiple of the page size), or -errno. Its page tables fill as it is
 * touched, or ahead of the reader through populateFile.
 */
static napi_value map_file(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3], result;
  int32_t fd = -1;
  int64_t offset = -1, length = 0;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 3 || napi_get_value_int32(env, argv[0], &fd) != napi_ok ||
      !int64_argument(env, argv[1], &offset) || !int64_argument(env, argv[2], &length)) {
    napi_throw_type_error(env, NULL, "mapFile(fd, offset, length) takes three integers");
    return NULL;
  }
  long page = sysconf(_SC_PAGESIZE);
  page_mask = ~((uintptr_t)page - 1);
  if (offset < 0 || length <= 0 || offset % page != 0) {
    napi_throw_range_error(env, NULL, "mapFile: offset must be a non-negative multiple of the page size, length positive");
    return NULL;
  }
  int status = install_handler();
  if (status < 0) {
    napi_create_int32(env, status, &result);
    return result;
  }
  void *address = mmap(NULL, (size_t)length, PROT_READ, MAP_SHARED, fd, (off_t)offset);
  if (address == MAP_FAILED) {
    napi_create_int32(env, -errno, &result);
    return result;
  }
  struct mapping *mapping = malloc(sizeof *mapping);
  if (mapping) *mapping = (struct mapping){address, (size_t)length, -1};
  if (!mapping || claim_slot(mapping) < 0) {
    munmap(address, (size_t)length);
    free(mapping);
    napi_create_int32(env, -ENOMEM, &result);
    return result;
  }
  if (napi_create_external_arraybuffer(env, address, (size_t)length, finalize, mapping, &result) != napi_ok) {
    unmap(mapping);
    free(mapping);
    napi_throw_error(env, NULL, "mapFile: external ArrayBuffers are not allowed here");
    return NULL;
  }
  return result;
}

/* The ArrayBuffer argument of unmapFile and populateFile and where its bytes lie; 0 (a TypeError thrown) when it is not one. */
static int window_argument(napi_env env, napi_callback_info info, const char *usage, napi_value *buffer, void **data, size_t *length) {
  size_t argc = 1;
  bool is_arraybuffer = false;
  if (napi_get_cb_info(env, info, &argc, buffer, NULL, NULL) == napi_ok && argc >= 1 && napi_is_arraybuffer(env, *buffer, &is_arraybuffer) == napi_ok &&
      is_arraybuffer && napi_get_arraybuffer_info(env, *buffer, data, length) == napi_ok)
    return 1;
  napi_throw_type_error(env, NULL, usage);
  return 0;
}

/* Work on a range of addresses on the thread pool (an unmap, a populate): its record is freed when done. */
struct range_job {
  napi_async_work work;
  void *address;
  size_t length;
};

static void range_job_done(napi_env env, napi_status status, void *data) {
  (void)status;
  struct range_job *job = data;
  napi_delete_async_work(env, job->work);
  free(job);
}

static int queue_range_job(napi_env env, const char *name, napi_async_execute_callback execute, void *address, size_t length) {
  napi_value resource_name;
  struct range_job *job = malloc(sizeof *job);
  if (job == NULL) return 0;
  *job = (struct range_job){NULL, address, length};
  napi_create_string_utf8(env, name, NAPI_AUTO_LENGTH, &resource_name);
  if (napi_create_async_work(env, NULL, resource_name, execute, range_job_done, job, &job->work) == napi_ok && napi_queue_async_work(env, job->work) == napi_ok) return 1;
  free(job);
  return 0;
}

/*
 * Unmaps queued and not yet done. A fast reader queues them faster than the pool gets to them,
 * and every window still mapped counts in the resident set: past this many, the reader unmaps
 * itself, so the set stays flat whatever the file's size.
 */
#define MAX_PENDING_UNMAPS 1
static atomic_int pending_unmaps;

static void unmap_execute(napi_env env, void *data) {
  (void)env;
  struct range_job *job = data;
  munmap(job->address, job->length);
  atomic_fetch_sub(&pending_unmaps, 1);
}

/*
 * unmapFile(arrayBuffer): detaches a mapFile window now (every view of it reads as empty) and
 * hands the munmap to the thread pool: tearing down 4096 page table entries a window cost the
 * reader's core about a tenth of a walk.
 */
static napi_value unmap_file(napi_env env, napi_callback_info info) {
  napi_value buffer;
  void *data = NULL;
  size_t length = 0;
  if (!window_argument(env, info, "unmapFile(arrayBuffer) takes an ArrayBuffer from mapFile", &buffer, &data, &length)) return NULL;
  for (int i = 0; i < MAX_WINDOWS && data != NULL; i++) {
    if (owners[i] == NULL || owners[i]->address != data || owners[i]->length != length) continue;
    /* Detached first, so no JavaScript view can reach the pages once they are gone; the finalizer then frees only the record. */
    if (napi_detach_arraybuffer(env, buffer) != napi_ok) break;
    struct mapping *mapping = owners[i];
    atomic_store(&windows[i].start, 0);
    owners[i] = NULL;
    mapping->slot = -1;
    if (atomic_fetch_add(&pending_unmaps, 1) < MAX_PENDING_UNMAPS && queue_range_job(env, "savekit:unmap", unmap_execute, data, length)) break;
    atomic_fetch_sub(&pending_unmaps, 1);
    munmap(data, length); /* the pool is behind (or not at hand): here and now */
    break;
  }
  return NULL;
}

static void populate_execute(napi_env env, void *data) {
  (void)env;
#ifdef MADV_POPULATE_READ
  struct range_job *job = data;
  madvise(job->address, job->length, MADV_POPULATE_READ);
#else
  (void)data;
#endif
}

/*
 * populateFile(arrayBuffer): fills a mapFile window's page tables on the thread pool
 * (MADV_POPULATE_READ), so that the reader, reaching the window later, touches pages already
 * mapped instead of taking a fault per 64 KiB on its own core. Fire and forget: a window cut or
 * unmapped meanwhile makes madvise fail quietly (EFAULT, ENOMEM), never raise a signal.
 */
static napi_value populate_file(napi_env env, napi_callback_info info) {
  napi_value buffer;
  void *data = NULL;
  size_t length = 0;
  if (!window_argument(env, info, "populateFile(arrayBuffer) takes an ArrayBuffer from mapFile", &buffer, &data, &length)) return NULL;
  if (data != NULL) queue_range_job(env, "savekit:populate", populate_execute, data, length);
  return NULL;
}

/* mappingFaults(): how many SIGBUS faults in mapped windows were answered with zero pages so far. */
static napi_value mapping_faults(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value result;
  napi_create_uint32(env, atomic_load(&faults), &result);
  return result;
}

void register_map(napi_env env, napi_value exports) {
  napi_property_descriptor properties[] = {
      {"mapFile", NULL, map_file, NULL, NULL, NULL, napi_default, NULL},
      {"unmapFile", NULL, unmap_file, NULL, NULL, NULL, napi_default, NULL},
      {"populateFile", NULL, populate_file, NULL, NULL, NULL, napi_default, NULL},
      {"mappingFaults", NULL, mapping_faults, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_define_properties(env, exports, sizeof properties / sizeof properties[0], properties);
}
