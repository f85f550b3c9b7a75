/* libuv's thread primitives through the jostle plugin ABI: uv_mutex_t, uv_rwlock_t, uv_cond_t (with uv_mutex_t),
 * uv_sem_t, and uv_async_t as the cross-thread async notifier. Each lock object is the libuv object itself; the
 * harness allocates sizeof(uv_*_t).
 *
 * libuv aborts on a failed pthread call inside lock/unlock/wait, so those wrappers have nothing to report; the
 * init functions return an error code that we cannot pass back (the ABI's init returns void): a failed init
 * aborts here with a message, as libuv's own wrappers do. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <uv.h>

#include "jostle/plugin.h"

#define EXPORT __attribute__((visibility("default")))

static void must(int rc, const char* what) {
  if (rc != 0) {
    fprintf(stderr, "libuv plugin: %s failed: %s\n", what, uv_strerror(rc));
    abort();
  }
}

/* ---- mutex: uv_mutex_t (a pthread mutex of the default kind) ---- */

static void mx_init(void* m) { must(uv_mutex_init(m), "uv_mutex_init"); }
static void mx_destroy(void* m) { uv_mutex_destroy(m); }
static void mx_lock(void* m) { uv_mutex_lock(m); }
static int mx_try_lock(void* m) { return uv_mutex_trylock(m) == 0; } /* UV_EBUSY or UV_EAGAIN: busy */
static void mx_unlock(void* m) { uv_mutex_unlock(m); }

static const jostle_mutex_ops uv_mutex_table = {.size = sizeof(uv_mutex_t), .align = _Alignof(uv_mutex_t),
                                                .init = mx_init, .destroy = mx_destroy, .lock = mx_lock,
                                                .try_lock = mx_try_lock, .unlock = mx_unlock};

/* ---- rwlock: uv_rwlock_t (no timed operations in libuv) ---- */

static void rw_init(void* rw) { must(uv_rwlock_init(rw), "uv_rwlock_init"); }
static void rw_destroy(void* rw) { uv_rwlock_destroy(rw); }
static void rw_lock(void* rw) { uv_rwlock_wrlock(rw); }
static int rw_try_lock(void* rw) { return uv_rwlock_trywrlock(rw) == 0; }
static void rw_unlock(void* rw) { uv_rwlock_wrunlock(rw); }
static void rw_lock_shared(void* rw) { uv_rwlock_rdlock(rw); }
static int rw_try_lock_shared(void* rw) { return uv_rwlock_tryrdlock(rw) == 0; }
static void rw_unlock_shared(void* rw) { uv_rwlock_rdunlock(rw); }

static const jostle_rwlock_ops uv_rwlock_table = {
    .size = sizeof(uv_rwlock_t), .align = _Alignof(uv_rwlock_t), .init = rw_init, .destroy = rw_destroy,
    .lock = rw_lock, .try_lock = rw_try_lock, .unlock = rw_unlock, .lock_shared = rw_lock_shared,
    .try_lock_shared = rw_try_lock_shared, .unlock_shared = rw_unlock_shared};

/* ---- condvar: uv_cond_t with uv_mutex_t; uv_cond_timedwait takes a relative timeout in nanoseconds ---- */

static void cv_init(void* cv) { must(uv_cond_init(cv), "uv_cond_init"); }
static void cv_destroy(void* cv) { uv_cond_destroy(cv); }
static void cv_wait(void* cv, void* m) { uv_cond_wait(cv, m); }
static int cv_timed_wait(void* cv, void* m, int64_t timeout_ns) {
  return uv_cond_timedwait(cv, m, (uint64_t)timeout_ns) == UV_ETIMEDOUT ? JOSTLE_TIMEDOUT : JOSTLE_OK;
}
static void cv_signal(void* cv) { uv_cond_signal(cv); }
static void cv_broadcast(void* cv) { uv_cond_broadcast(cv); }

static const jostle_condvar_ops uv_cond_table = {.size = sizeof(uv_cond_t), .align = _Alignof(uv_cond_t),
                                                 .init = cv_init, .destroy = cv_destroy, .wait = cv_wait,
                                                 .timed_wait = cv_timed_wait, .signal = cv_signal,
                                                 .broadcast = cv_broadcast, .profile = "posix"};

/* ---- semaphore: uv_sem_t. libuv has no timed wait: timed_acquire polls uv_sem_trywait with 50 us naps until
 * the deadline (an adapter, not libuv: a permit released during a nap is taken up to 50 us late). ---- */

static int64_t mono_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

static void sem_init_(void* s, uint32_t initial) { must(uv_sem_init(s, initial), "uv_sem_init"); }
static void sem_destroy_(void* s) { uv_sem_destroy(s); }
static void sem_acquire(void* s) { uv_sem_wait(s); }
static int sem_try_acquire(void* s) { return uv_sem_trywait(s) == 0; }
static int sem_timed_acquire(void* s, int64_t timeout_ns) {
  const int64_t deadline = mono_ns() + timeout_ns;
  for (;;) {
    if (uv_sem_trywait(s) == 0) return JOSTLE_OK;
    const int64_t left = deadline - mono_ns();
    if (left <= 0) return JOSTLE_TIMEDOUT;
    struct timespec nap = {0, left < 50000 ? (long)left : 50000};
    nanosleep(&nap, NULL);
  }
}
static void sem_release(void* s) { uv_sem_post(s); }

static const jostle_semaphore_ops uv_sem_table = {.size = sizeof(uv_sem_t), .align = _Alignof(uv_sem_t),
                                                  .init = sem_init_, .destroy = sem_destroy_,
                                                  .acquire = sem_acquire, .try_acquire = sem_try_acquire,
                                                  .timed_acquire = sem_timed_acquire, .release = sem_release};

/* ---- async notifier: uv_async_t on a private uv_loop_t per notifier ----
 * The ABI's loop side is a pollable fd. libuv's is the loop itself: uv_backend_fd(loop) (its epoll fd) is
 * readable while one of the loop's watchers is ready, here only the loop's async wakeup eventfd, which
 * uv_async_send writes. So: notify = uv_async_send; fd = uv_backend_fd; drain = uv_run(UV_RUN_NOWAIT), which reads
 * the wakeup fd to empty, clears the handle's pending flag and runs the uv callback (which only counts).
 * Coalescing is libuv's: uv_async_send does nothing while the handle is pending (set by the first send, cleared
 * by the loop just before the callback), so a burst before a drain is one callback and a send after the clear
 * wakes the loop again. libuv's documentation makes the same promise ("calls to uv_async_send are coalesced";
 * "it's guaranteed to be called at least once after uv_async_send returns").
 * Precisely (libuv 1.44, src/unix/async.c): the loop reads the wakeup eventfd empty and only then clears each
 * handle's pending flag, waiting for a sender that is between its 0->1 and 1->2 steps. A send that begins after
 * that read but before the clear writes the eventfd and is delivered by the callback of the same drain; the
 * eventfd stays readable, so the next poll drains once more with no uv callback (a stale readiness, at most one
 * per send that overlaps a drain). The harness runs its callback after every drain, so it can see one extra
 * callback there: async_last_not_lost bounds callbacks by notifies, which that keeps. The drains and uv
 * callbacks counted below show the difference: JOSTLE_UV_ASYNC_STATS=1 prints them at destroy.
 * One harness loop thread runs drain; notify comes from any thread (uv_async_send is the one thread-safe libuv
 * call). The harness's storage holds the loop and the handle and never moves them. */

typedef struct {
  uv_loop_t loop;
  uv_async_t async;
  unsigned long drains, callbacks; /* loop thread only: drains run, uv callbacks run (drains - callbacks: stale) */
} uv_notifier;

static void as_cb(uv_async_t* h) { ++((uv_notifier*)h->data)->callbacks; }

static int as_init(void* p) {
  uv_notifier* n = p;
  int rc = uv_loop_init(&n->loop);
  if (rc != 0) return -rc; /* libuv errors are negated errnos */
  rc = uv_async_init(&n->loop, &n->async, as_cb);
  if (rc != 0) {
    must(uv_loop_close(&n->loop), "uv_loop_close");
    return -rc;
  }
  n->async.data = n;
  n->drains = n->callbacks = 0;
  /* libuv adds a watcher's fd to its epoll set lazily, in the next poll: until the loop ran once, the wakeup
   * eventfd is not in it and uv_backend_fd never becomes readable (a send before the first run would be lost
   * to a poller; found by futex/async_notify_first). One non-blocking run registers it. */
  uv_run(&n->loop, UV_RUN_NOWAIT);
  return 0;
}
static void as_destroy(void* p) {
  uv_notifier* n = p;
  if (getenv("JOSTLE_UV_ASYNC_STATS") != NULL)
    fprintf(stderr, "libuv async: %lu drains, %lu uv callbacks\n", n->drains, n->callbacks);
  uv_close((uv_handle_t*)&n->async, NULL);
  uv_run(&n->loop, UV_RUN_DEFAULT); /* runs the close; returns once no handle is left */
  must(uv_loop_close(&n->loop), "uv_loop_close");
}
static void as_notify(void* p) { must(uv_async_send(&((uv_notifier*)p)->async), "uv_async_send"); }
static int as_fd(void* p) { return uv_backend_fd(&((uv_notifier*)p)->loop); }
static void as_arm(void* p) { (void)p; /* the handle is active from init: a send before arming is kept */ }
static void as_drain(void* p) {
  uv_notifier* n = p;
  ++n->drains;
  uv_run(&n->loop, UV_RUN_NOWAIT);
}

static const jostle_async_ops uv_async_table = {.size = sizeof(uv_notifier), .align = _Alignof(uv_notifier),
                                                .init = as_init, .destroy = as_destroy, .notify = as_notify,
                                                .fd = as_fd, .arm = as_arm, .drain = as_drain};

#define STR2(x) #x
#define STR(x) STR2(x)
static const jostle_plugin libuv_plugin = {
    .abi_version = JOSTLE_PLUGIN_ABI_VERSION,
    .struct_size = sizeof(jostle_plugin),
    .name = "libuv",
    .description = "libuv " STR(UV_VERSION_MAJOR) "." STR(UV_VERSION_MINOR) "." STR(UV_VERSION_PATCH)
                   " uv_mutex, uv_rwlock, uv_cond, uv_sem, uv_async",
    /* no futex */
    .mutex = &uv_mutex_table,
    .rwlock = &uv_rwlock_table,
    .condvar = &uv_cond_table,
    .semaphore = &uv_sem_table,
    .async = &uv_async_table};

EXPORT const jostle_plugin* jostle_plugin_entry(void) { return &libuv_plugin; }
