/* FROZEN copy of example_plugin.c as it was at plugin ABI version 1, built against the frozen v1 header
 * (plugin_v1.h). Never edit: ctest plugin.abi-v1 loads it into the current harness and runs its instances, the
 * proof that a version-1 plugin keeps loading and running unchanged. */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "plugin_v1.h" /* the frozen version-1 header: this file must keep building and loading unchanged */

/* ---- futex ---- */

static int ex_futex_wait(uint32_t* word, uint32_t expected, int64_t timeout_ns) {
  struct timespec ts, *tsp = NULL;
  if (timeout_ns >= 0) {
    ts.tv_sec = (time_t)(timeout_ns / 1000000000);
    ts.tv_nsec = (long)(timeout_ns % 1000000000);
    tsp = &ts;
  }
  if (syscall(SYS_futex, word, FUTEX_WAIT_PRIVATE, expected, tsp, NULL, 0) == 0) return JOSTLE_OK;
  if (errno == EAGAIN) return JOSTLE_AGAIN;
  if (errno == ETIMEDOUT) return JOSTLE_TIMEDOUT;
  return JOSTLE_OK; /* EINTR: a spurious wakeup */
}

static int ex_futex_wake(uint32_t* word, int n) {
  /* The kernel's FUTEX_WAKE wakes one waiter when asked for 0 (it counts after waking): the contract says
     wake(0) wakes none, and futex/wake_n_exact catches a plugin that passes 0 through. */
  if (n <= 0) return 0;
  long rc = syscall(SYS_futex, word, FUTEX_WAKE_PRIVATE, n, NULL, NULL, 0);
  return rc < 0 ? 0 : (int)rc;
}

static const jostle_futex_ops ex_futex = {ex_futex_wait, ex_futex_wake};

/* ---- mutex: three states, 0 free, 1 locked, 2 locked with waiters ---- */

typedef struct { _Atomic uint32_t state; } ex_mutex;

static void ex_mutex_init(void* p) { atomic_init(&((ex_mutex*)p)->state, 0); }
static void ex_mutex_destroy(void* p) { (void)p; }
static void ex_mutex_lock(void* p) {
  ex_mutex* m = p;
  uint32_t c = 0;
  if (atomic_compare_exchange_strong_explicit(&m->state, &c, 1, memory_order_acquire, memory_order_relaxed)) return;
  if (c != 2) c = atomic_exchange_explicit(&m->state, 2, memory_order_acquire);
  while (c != 0) {
    ex_futex_wait((uint32_t*)&m->state, 2, -1);
    c = atomic_exchange_explicit(&m->state, 2, memory_order_acquire);
  }
}
static int ex_mutex_try_lock(void* p) {
  uint32_t c = 0;
  return atomic_compare_exchange_strong_explicit(&((ex_mutex*)p)->state, &c, 1, memory_order_acquire,
                                                 memory_order_relaxed);
}
static void ex_mutex_unlock(void* p) {
  ex_mutex* m = p;
  if (atomic_exchange_explicit(&m->state, 0, memory_order_release) == 2) ex_futex_wake((uint32_t*)&m->state, 1);
}

static const jostle_mutex_ops ex_mutex_ops = {sizeof(ex_mutex), _Alignof(ex_mutex), ex_mutex_init, ex_mutex_destroy,
                                              ex_mutex_lock, ex_mutex_try_lock, ex_mutex_unlock};

/* ---- rwlock: pthread_rwlock_t on CLOCK_MONOTONIC ---- */

static struct timespec deadline_after(int64_t ns) {
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  int64_t t = (int64_t)now.tv_sec * 1000000000 + now.tv_nsec + ns;
  struct timespec d = {(time_t)(t / 1000000000), (long)(t % 1000000000)};
  return d;
}
static void ex_rw_init(void* p) { pthread_rwlock_init(p, NULL); }
static void ex_rw_destroy(void* p) { pthread_rwlock_destroy(p); }
static void ex_rw_lock(void* p) { pthread_rwlock_wrlock(p); }
static int ex_rw_try_lock(void* p) { return pthread_rwlock_trywrlock(p) == 0; }
static void ex_rw_unlock(void* p) { pthread_rwlock_unlock(p); }
static void ex_rw_lock_shared(void* p) { pthread_rwlock_rdlock(p); }
static int ex_rw_try_lock_shared(void* p) { return pthread_rwlock_tryrdlock(p) == 0; }
static int ex_rw_timed_lock(void* p, int64_t ns) {
  struct timespec d = deadline_after(ns);
  return pthread_rwlock_clockwrlock(p, CLOCK_MONOTONIC, &d) == 0 ? JOSTLE_OK : JOSTLE_TIMEDOUT;
}
static int ex_rw_timed_lock_shared(void* p, int64_t ns) {
  struct timespec d = deadline_after(ns);
  return pthread_rwlock_clockrdlock(p, CLOCK_MONOTONIC, &d) == 0 ? JOSTLE_OK : JOSTLE_TIMEDOUT;
}

static const jostle_rwlock_ops ex_rwlock = {sizeof(pthread_rwlock_t), _Alignof(pthread_rwlock_t), ex_rw_init,
                                            ex_rw_destroy, ex_rw_lock, ex_rw_try_lock, ex_rw_unlock,
                                            ex_rw_lock_shared, ex_rw_try_lock_shared, ex_rw_unlock,
                                            ex_rw_timed_lock, ex_rw_timed_lock_shared};

/* ---- condvar: a sequence word; waiters sleep while it is unchanged (spurious wakeups allowed: posix) ---- */

typedef struct { _Atomic uint32_t seq; } ex_cv;

static void ex_cv_init(void* p) { atomic_init(&((ex_cv*)p)->seq, 0); }
static void ex_cv_destroy(void* p) { (void)p; }
static int ex_cv_wait_impl(void* p, void* m, int64_t timeout_ns) {
  ex_cv* cv = p;
  /* Read before unlocking: a signal after our unlock changes seq, so the futex wait will not sleep through it. */
  uint32_t s = atomic_load_explicit(&cv->seq, memory_order_acquire);
  ex_mutex_unlock(m);
  int rc = ex_futex_wait((uint32_t*)&cv->seq, s, timeout_ns);
  ex_mutex_lock(m);
  return rc == JOSTLE_TIMEDOUT ? JOSTLE_TIMEDOUT : JOSTLE_OK;
}
static void ex_cv_wait(void* p, void* m) { (void)ex_cv_wait_impl(p, m, -1); }
static int ex_cv_timed_wait(void* p, void* m, int64_t timeout_ns) { return ex_cv_wait_impl(p, m, timeout_ns); }
static void ex_cv_signal(void* p) {
  ex_cv* cv = p;
  atomic_fetch_add_explicit(&cv->seq, 1, memory_order_release);
  ex_futex_wake((uint32_t*)&cv->seq, 1);
}
static void ex_cv_broadcast(void* p) {
  ex_cv* cv = p;
  atomic_fetch_add_explicit(&cv->seq, 1, memory_order_release);
  ex_futex_wake((uint32_t*)&cv->seq, INT_MAX);
}

static const jostle_condvar_ops ex_condvar = {sizeof(ex_cv), _Alignof(ex_cv), ex_cv_init, ex_cv_destroy, ex_cv_wait,
                                              ex_cv_timed_wait, ex_cv_signal, ex_cv_broadcast, "posix"};

/* ---- semaphore: a permit count; waiters sleep while it is 0 ---- */

typedef struct { _Atomic uint32_t permits; _Atomic uint32_t sleepers; } ex_sem;

static void ex_sem_init(void* p, uint32_t initial) {
  atomic_init(&((ex_sem*)p)->permits, initial);
  atomic_init(&((ex_sem*)p)->sleepers, 0);
}
static void ex_sem_destroy(void* p) { (void)p; }
static int ex_sem_try_acquire(void* p) {
  ex_sem* s = p;
  uint32_t n = atomic_load_explicit(&s->permits, memory_order_relaxed);
  while (n > 0)
    if (atomic_compare_exchange_weak_explicit(&s->permits, &n, n - 1, memory_order_acquire, memory_order_relaxed))
      return 1;
  return 0;
}
static int ex_sem_timed_acquire(void* p, int64_t timeout_ns) {
  ex_sem* s = p;
  struct timespec d = deadline_after(timeout_ns < 0 ? 0 : timeout_ns);
  for (;;) {
    if (ex_sem_try_acquire(p)) return JOSTLE_OK;
    int64_t left = -1;
    if (timeout_ns >= 0) {
      struct timespec now;
      clock_gettime(CLOCK_MONOTONIC, &now);
      left = ((int64_t)d.tv_sec - now.tv_sec) * 1000000000 + (d.tv_nsec - now.tv_nsec);
      if (left <= 0) return JOSTLE_TIMEDOUT;
    }
    atomic_fetch_add_explicit(&s->sleepers, 1, memory_order_seq_cst);
    ex_futex_wait((uint32_t*)&s->permits, 0, left);
    atomic_fetch_sub_explicit(&s->sleepers, 1, memory_order_relaxed);
  }
}
static void ex_sem_acquire(void* p) { (void)ex_sem_timed_acquire(p, -1); }
static void ex_sem_release(void* p) {
  ex_sem* s = p;
  atomic_fetch_add_explicit(&s->permits, 1, memory_order_seq_cst);
  if (atomic_load_explicit(&s->sleepers, memory_order_seq_cst) != 0) ex_futex_wake((uint32_t*)&s->permits, 1);
}

static const jostle_semaphore_ops ex_semaphore = {sizeof(ex_sem), _Alignof(ex_sem), ex_sem_init, ex_sem_destroy,
                                                  ex_sem_acquire, ex_sem_try_acquire, ex_sem_timed_acquire,
                                                  ex_sem_release};

static const jostle_plugin ex_plugin = {
    JOSTLE_PLUGIN_ABI_VERSION, sizeof(jostle_plugin), "example",
    "the example plugin: futex(2) mutex, sequence condvar, pthread rwlock, futex semaphore",
    &ex_futex, &ex_mutex_ops, &ex_rwlock, &ex_condvar, &ex_semaphore};

__attribute__((visibility("default"))) const jostle_plugin* jostle_plugin_entry(void) { return &ex_plugin; }
