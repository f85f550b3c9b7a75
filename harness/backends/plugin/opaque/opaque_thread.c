/* Opaque mutant: a thread table whose hand-written join tests the thread's "done" flag first and takes its
 * snapshot of the exit event's futex word after (the late snapshot: the lost wakeup of an isAlive()-then-wait
 * join, and the family of asterinas' exit path, which woke the joiner before clearing the tid it waits on,
 * asterinas PR #1469; here it is the joiner's two reads that come in the wrong order). The threads are plain
 * detached pthreads; join never calls pthread_join. Each thread's control block carries a one-shot exit event:
 * `done` (the flag), `seq` (the futex word, bumped by the exit) and `waiters` (so that an exit nobody joins makes
 * no futex syscall). An exit that lands between the joiner's test of `done` and its read of `seq` (the joiner
 * registering as a waiter in between) has bumped `seq` and seen no waiter; the joiner then sleeps on the new `seq`
 * forever, its thread gone. The window is the test, one fetch_add and one load of the joiner.
 *
 * Built with -DJOSTLE_OPAQUE_FIXED the same file is the fixed library: the joiner registers and snapshots
 * `seq` first, then tests `done` (all sequentially consistent), so an exit after the test either changes `seq`
 * before the futex wait compares it or sees the registered waiter and wakes it.
 *
 * Everything else is meant to be correct: the block is reference counted (the thread and the handle each hold
 * one reference; join or detach drops the handle's, the exit path drops the thread's as its last touch of the
 * block, the last drop frees it), so a detach racing the exit releases it exactly once; `exited` is bumped as
 * the thread's very last step. */
#include "opaque_common.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
  pthread_t tid;
  void (*entry)(void*);
  void* arg;
  _Atomic uint32_t done;    /* 1 once entry returned: published after the thread's writes */
  _Atomic uint32_t seq;     /* the futex word of the exit event: bumped by the exit */
  _Atomic uint32_t waiters; /* joiners registered on seq: the exit wakes only if there is one */
  _Atomic uint32_t refs;    /* 2 at spawn: the thread's and the handle's */
} otb;

static _Atomic uint64_t ot_acquired, ot_released, ot_exited;

static void ot_unref(otb* b) {
  if (atomic_fetch_sub(&b->refs, 1) == 1) {
    free(b);
    atomic_fetch_add(&ot_released, 1);
  }
}

static void* ot_trampoline(void* p) {
  otb* b = p;
  b->entry(b->arg);
  atomic_store(&b->done, 1);
  atomic_fetch_add(&b->seq, 1);
  if (atomic_load(&b->waiters) != 0) op_futex_wake(&b->seq, INT_MAX);
  ot_unref(b); /* the thread's last touch of its block */
  atomic_fetch_add(&ot_exited, 1);
  return NULL;
}

static otb* ot_blk(jostle_thread_handle* h) {
  otb* b;
  memcpy(&b, h->words, sizeof b);
  return b;
}

static int ot_spawn(jostle_thread_handle* h, void (*entry)(void*), void* arg) {
  otb* b = calloc(1, sizeof *b);
  if (b == NULL) return EAGAIN;
  b->entry = entry;
  b->arg = arg;
  atomic_init(&b->done, 0);
  atomic_init(&b->seq, 0);
  atomic_init(&b->waiters, 0);
  atomic_init(&b->refs, 2);
  atomic_fetch_add(&ot_acquired, 1);
  pthread_attr_t a;
  int rc = pthread_attr_init(&a);
  if (rc == 0) {
    pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED); /* join is ours: glibc reclaims the stack */
    rc = pthread_create(&b->tid, &a, ot_trampoline, b);
    pthread_attr_destroy(&a);
  }
  if (rc != 0) {
    free(b);
    atomic_fetch_add(&ot_released, 1);
    return rc;
  }
  memcpy(h->words, &b, sizeof b);
  return 0;
}

/* Waits until the thread's entry returned; deadline_ns < 0: none. JOSTLE_OK or JOSTLE_TIMEDOUT. */
static int ot_wait_done(otb* b, int64_t deadline_ns) {
  for (;;) {
#ifdef JOSTLE_OPAQUE_FIXED
    /* Correct: register and snapshot the word first, then test the flag. */
    atomic_fetch_add(&b->waiters, 1);
    const uint32_t s = atomic_load(&b->seq);
    if (atomic_load(&b->done) != 0) {
      atomic_fetch_sub(&b->waiters, 1);
      return JOSTLE_OK;
    }
#else
    /* The defect: the flag is tested before the joiner registers and reads the word, so an exit in between
       bumps the word it then waits on and finds nobody to wake. */
    if (atomic_load(&b->done) != 0) return JOSTLE_OK;
    atomic_fetch_add(&b->waiters, 1);
    const uint32_t s = atomic_load(&b->seq);
#endif
    int64_t left = -1;
    if (deadline_ns >= 0) {
      left = deadline_ns - op_now_ns();
      if (left <= 0) {
        atomic_fetch_sub(&b->waiters, 1);
        return JOSTLE_TIMEDOUT;
      }
    }
    op_futex_wait(&b->seq, s, left);
    atomic_fetch_sub(&b->waiters, 1);
  }
}

static void ot_join(jostle_thread_handle* h) {
  otb* b = ot_blk(h);
  (void)ot_wait_done(b, -1);
  ot_unref(b);
}

static int ot_timed_join(jostle_thread_handle* h, int64_t timeout_ns) {
  otb* b = ot_blk(h);
  const int64_t deadline = op_now_ns() + (timeout_ns > 0 ? timeout_ns : 0);
  if (ot_wait_done(b, deadline) != JOSTLE_OK) return ETIMEDOUT; /* the handle untouched: still joinable */
  ot_unref(b);
  return 0;
}

static void ot_detach(jostle_thread_handle* h) { ot_unref(ot_blk(h)); }

static int ot_set_name(jostle_thread_handle* h, const char* n) { return pthread_setname_np(ot_blk(h)->tid, n); }
static int ot_get_name(jostle_thread_handle* h, char* buf, size_t len) {
  return pthread_getname_np(ot_blk(h)->tid, buf, len);
}
static int ot_set_name_self(const char* n) { return pthread_setname_np(pthread_self(), n); }
static int ot_get_name_self(char* buf, size_t len) { return pthread_getname_np(pthread_self(), buf, len); }
static uint64_t ot_current_id(void) { return (uint64_t)syscall(SYS_gettid); }
static void ot_yield(void) { sched_yield(); }
static void ot_sleep(int64_t ns) {
  const int64_t until = op_now_ns() + (ns > 0 ? ns : 0);
  struct timespec d = {.tv_sec = (time_t)(until / 1000000000), .tv_nsec = (long)(until % 1000000000)};
  while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &d, NULL) == EINTR) {
  }
}
static unsigned ot_cpu_count(void) {
  const long n = sysconf(_SC_NPROCESSORS_ONLN);
  return n < 1 ? 1u : (unsigned)n;
}
static void ot_stats(jostle_thread_stats* out) {
  out->acquired = atomic_load(&ot_acquired);
  out->released = atomic_load(&ot_released);
  out->double_released = 0; /* a reference count cannot reach zero twice */
  out->exited = atomic_load(&ot_exited);
}

static const jostle_thread_ops ot_ops = {.max_name_len = 15,
                                         .spawn = ot_spawn,
                                         .join = ot_join,
                                         .timed_join = ot_timed_join,
                                         .detach = ot_detach,
                                         .set_name = ot_set_name,
                                         .get_name = ot_get_name,
                                         .set_name_self = ot_set_name_self,
                                         .get_name_self = ot_get_name_self,
                                         .current_id = ot_current_id,
                                         .yield = ot_yield,
                                         .sleep = ot_sleep,
                                         .cpu_count = ot_cpu_count,
                                         .stats = ot_stats};

static const jostle_plugin ot_plugin = {
    .abi_version = JOSTLE_PLUGIN_ABI_VERSION,
    .struct_size = sizeof(jostle_plugin),
    .name = "opaque_thread",
#ifdef JOSTLE_OPAQUE_FIXED
    .description = "threads whose hand-written join snapshots the exit event's futex word before testing done (fixed)",
#else
    .description = "threads whose hand-written join tests done, then snapshots the exit futex word (natural window)",
#endif
    .thread = &ot_ops};

__attribute__((visibility("default"))) const jostle_plugin* jostle_plugin_entry(void) { return &ot_plugin; }
