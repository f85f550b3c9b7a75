/* An example jostle plugin, in plain C: the sub-tables of the ABI (version 2), each a small correct
 * implementation on futex(2), C11 atomics and pthreads. Build it as a shared library and pass it to any suite
 * binary with --plugin; its backends appear as "example". docs/writing-a-plugin.md walks through it.
 * Long because: it is the worked example of every table of the ABI, in one file an author can copy. */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <limits.h>
#include <linux/futex.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "jostle/plugin.h"

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

static int64_t mono_now(void) {
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  return (int64_t)now.tv_sec * 1000000000 + now.tv_nsec;
}
/* Exchange-first like lock(); a locker that gives up leaves the word at 2 (it cannot know whether others
 * wait), so the next unlock still wakes one: nobody is stranded. */
static int ex_mutex_timed_lock(void* p, int64_t timeout_ns) {
  ex_mutex* m = p;
  const int64_t deadline = mono_now() + timeout_ns;
  uint32_t c = 0;
  if (atomic_compare_exchange_strong_explicit(&m->state, &c, 1, memory_order_acquire, memory_order_relaxed))
    return JOSTLE_OK;
  if (c != 2) c = atomic_exchange_explicit(&m->state, 2, memory_order_acquire);
  while (c != 0) {
    const int64_t left = deadline - mono_now();
    if (left <= 0) return JOSTLE_TIMEDOUT;
    ex_futex_wait((uint32_t*)&m->state, 2, left);
    c = atomic_exchange_explicit(&m->state, 2, memory_order_acquire);
  }
  return JOSTLE_OK;
}

static const jostle_mutex_ops ex_mutex_ops = {sizeof(ex_mutex), _Alignof(ex_mutex), ex_mutex_init, ex_mutex_destroy,
                                              ex_mutex_lock, ex_mutex_try_lock, ex_mutex_unlock,
                                              .timed_lock = ex_mutex_timed_lock};

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
                                              ex_cv_timed_wait, ex_cv_signal, ex_cv_broadcast, "posix", 0};

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

static uint32_t ex_sem_permits(void* p) { return atomic_load(&((ex_sem*)p)->permits); }

static const jostle_semaphore_ops ex_semaphore = {sizeof(ex_sem), _Alignof(ex_sem), ex_sem_init, ex_sem_destroy,
                                                  ex_sem_acquire, ex_sem_try_acquire, ex_sem_timed_acquire,
                                                  ex_sem_release, .permits = ex_sem_permits};

/* ---- event: a word 0 (unset) / 1 (set); waiters sleep on it while it is 0 ---- */

typedef struct { _Atomic uint32_t state; } ex_event;

static void ex_ev_init(void* p) { atomic_init(&((ex_event*)p)->state, 0); }
static void ex_ev_destroy(void* p) { (void)p; }
static void ex_ev_set(void* p) {
  ex_event* e = p;
  /* Store, then wake: a waiter that saw 0 either sleeps already (woken here) or its FUTEX_WAIT sees 1. */
  atomic_store_explicit(&e->state, 1, memory_order_release);
  ex_futex_wake((uint32_t*)&e->state, INT_MAX);
}
static void ex_ev_reset(void* p) { atomic_store_explicit(&((ex_event*)p)->state, 0, memory_order_relaxed); }
static int ex_ev_is_set(void* p) { return atomic_load_explicit(&((ex_event*)p)->state, memory_order_acquire) == 1; }
static int ex_ev_timed_wait(void* p, int64_t timeout_ns) {
  ex_event* e = p;
  const int64_t deadline = timeout_ns < 0 ? -1 : mono_now() + timeout_ns;
  while (atomic_load_explicit(&e->state, memory_order_acquire) == 0) {
    int64_t left = -1;
    if (deadline >= 0) {
      left = deadline - mono_now();
      if (left <= 0) return JOSTLE_TIMEDOUT;
    }
    ex_futex_wait((uint32_t*)&e->state, 0, left);
  }
  return JOSTLE_OK;
}
static void ex_ev_wait(void* p) { (void)ex_ev_timed_wait(p, -1); }

static const jostle_event_ops ex_event_ops = {sizeof(ex_event), _Alignof(ex_event), ex_ev_init,   ex_ev_destroy,
                                              ex_ev_set,        ex_ev_reset,        ex_ev_is_set, ex_ev_wait,
                                              ex_ev_timed_wait};

/* ---- wait group: the counter is the futex word; the finish that reaches 0 wakes everyone ---- */

typedef struct { _Atomic uint32_t count; } ex_wg;

static void ex_wg_init(void* p) { atomic_init(&((ex_wg*)p)->count, 0); }
static void ex_wg_destroy(void* p) { (void)p; }
static void ex_wg_start(void* p, uint32_t n) { atomic_fetch_add_explicit(&((ex_wg*)p)->count, n, memory_order_relaxed); }
static void ex_wg_finish(void* p) {
  ex_wg* g = p;
  /* A waiter that read c != 0 sleeps with FUTEX_WAIT(c): the decrement makes its wait fail or this wake finds it. */
  if (atomic_fetch_sub_explicit(&g->count, 1, memory_order_acq_rel) == 1) ex_futex_wake((uint32_t*)&g->count, INT_MAX);
}
static int ex_wg_timed_wait(void* p, int64_t timeout_ns) {
  ex_wg* g = p;
  const int64_t deadline = timeout_ns < 0 ? -1 : mono_now() + timeout_ns;
  uint32_t c;
  while ((c = atomic_load_explicit(&g->count, memory_order_acquire)) != 0) {
    int64_t left = -1;
    if (deadline >= 0) {
      left = deadline - mono_now();
      if (left <= 0) return JOSTLE_TIMEDOUT;
    }
    ex_futex_wait((uint32_t*)&g->count, c, left);
  }
  return JOSTLE_OK;
}
static void ex_wg_wait(void* p) { (void)ex_wg_timed_wait(p, -1); }
static int ex_wg_is_done(void* p) { return atomic_load_explicit(&((ex_wg*)p)->count, memory_order_acquire) == 0; }
static void ex_wg_reset(void* p) { atomic_store_explicit(&((ex_wg*)p)->count, 0, memory_order_relaxed); }

static const jostle_waitgroup_ops ex_waitgroup = {sizeof(ex_wg), _Alignof(ex_wg), ex_wg_init,    ex_wg_destroy,
                                                  ex_wg_start,   ex_wg_finish,    ex_wg_wait,    ex_wg_is_done,
                                                  ex_wg_reset,   ex_wg_timed_wait};

/* ---- recursive mutex: owner id + count over the three-state mutex ---- */

typedef struct {
  ex_mutex inner;
  _Atomic uint64_t owner; /* 0: none; else the holder's id (read by others only to compare with their own) */
  uint32_t count;         /* touched by the holder only */
} ex_rmutex;

static uint64_t ex_self_id(void) { return (uint64_t)syscall(SYS_gettid); }
static void ex_rm_init(void* p) {
  ex_rmutex* m = p;
  ex_mutex_init(&m->inner);
  atomic_init(&m->owner, 0);
  m->count = 0;
}
static void ex_rm_destroy(void* p) { (void)p; }
static int ex_rm_lock(void* p) {
  ex_rmutex* m = p;
  const uint64_t me = ex_self_id();
  if (atomic_load_explicit(&m->owner, memory_order_relaxed) == me) {
    ++m->count;
    return JOSTLE_OK;
  }
  ex_mutex_lock(&m->inner);
  atomic_store_explicit(&m->owner, me, memory_order_relaxed);
  m->count = 1;
  return JOSTLE_OK;
}
static int ex_rm_try_lock(void* p) {
  ex_rmutex* m = p;
  const uint64_t me = ex_self_id();
  if (atomic_load_explicit(&m->owner, memory_order_relaxed) == me) {
    ++m->count;
    return JOSTLE_OK;
  }
  if (!ex_mutex_try_lock(&m->inner)) return JOSTLE_BUSY;
  atomic_store_explicit(&m->owner, me, memory_order_relaxed);
  m->count = 1;
  return JOSTLE_OK;
}
static int ex_rm_unlock(void* p) {
  ex_rmutex* m = p;
  if (atomic_load_explicit(&m->owner, memory_order_relaxed) != ex_self_id()) return JOSTLE_NOT_OWNER;
  if (--m->count == 0) {
    atomic_store_explicit(&m->owner, 0, memory_order_relaxed);
    ex_mutex_unlock(&m->inner);
  }
  return JOSTLE_OK;
}

static const jostle_owned_mutex_ops ex_owned_mutex = {sizeof(ex_rmutex), _Alignof(ex_rmutex), 1,
                                                      ex_rm_init,        ex_rm_destroy,        ex_rm_lock,
                                                      ex_rm_try_lock,    ex_rm_unlock};

/* ---- channel: a ring under a pthread mutex with two condvars (CLOCK_MONOTONIC) ---- */

typedef struct {
  pthread_mutex_t m;
  pthread_cond_t not_full, not_empty;
  uint64_t* ring;
  size_t cap, head, len;
  int closed;
} ex_chan;

static void ex_ch_init(void* p, size_t capacity) {
  ex_chan* c = p;
  pthread_condattr_t a;
  pthread_condattr_init(&a);
  pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
  pthread_mutex_init(&c->m, NULL);
  pthread_cond_init(&c->not_full, &a);
  pthread_cond_init(&c->not_empty, &a);
  pthread_condattr_destroy(&a);
  c->ring = calloc(capacity, sizeof(uint64_t)); /* the plugin's own storage, freed in destroy */
  c->cap = capacity;
  c->head = c->len = 0;
  c->closed = 0;
}
static void ex_ch_destroy(void* p) {
  ex_chan* c = p;
  free(c->ring);
  pthread_cond_destroy(&c->not_full);
  pthread_cond_destroy(&c->not_empty);
  pthread_mutex_destroy(&c->m);
}
/* Waits on cv until pred holds; timeout_ns < 0: forever. Returns 0 when pred holds, else JOSTLE_TIMEDOUT. */
static int ex_ch_wait(ex_chan* c, pthread_cond_t* cv, int want_room, int64_t timeout_ns) {
  struct timespec d;
  if (timeout_ns >= 0) d = deadline_after(timeout_ns);
  for (;;) {
    if (c->closed) return 0;
    if (want_room ? c->len < c->cap : c->len > 0) return 0;
    if (timeout_ns < 0) {
      pthread_cond_wait(cv, &c->m);
    } else if (pthread_cond_timedwait(cv, &c->m, &d) == ETIMEDOUT) {
      if (c->closed || (want_room ? c->len < c->cap : c->len > 0)) return 0;
      return JOSTLE_TIMEDOUT;
    }
  }
}
static int ex_ch_send_impl(void* p, uint64_t v, int64_t timeout_ns, int try_only) {
  ex_chan* c = p;
  pthread_mutex_lock(&c->m);
  int rc = JOSTLE_OK;
  if (!c->closed && c->len == c->cap) rc = try_only ? JOSTLE_FULL : ex_ch_wait(c, &c->not_full, 1, timeout_ns);
  if (rc == JOSTLE_OK) {
    if (c->closed) {
      rc = JOSTLE_CLOSED;
    } else {
      c->ring[(c->head + c->len) % c->cap] = v;
      ++c->len;
      pthread_cond_signal(&c->not_empty);
    }
  }
  pthread_mutex_unlock(&c->m);
  return rc;
}
static int ex_ch_recv_impl(void* p, uint64_t* out, int64_t timeout_ns, int try_only) {
  ex_chan* c = p;
  pthread_mutex_lock(&c->m);
  int rc = JOSTLE_OK;
  if (!c->closed && c->len == 0) rc = try_only ? JOSTLE_EMPTY : ex_ch_wait(c, &c->not_empty, 0, timeout_ns);
  if (rc == JOSTLE_OK) {
    if (c->len == 0) {
      rc = JOSTLE_CLOSED; /* closed and drained */
    } else {
      *out = c->ring[c->head];
      c->head = (c->head + 1) % c->cap;
      --c->len;
      pthread_cond_signal(&c->not_full);
    }
  }
  pthread_mutex_unlock(&c->m);
  return rc;
}
static int ex_ch_send(void* p, uint64_t v) { return ex_ch_send_impl(p, v, -1, 0); }
static int ex_ch_try_send(void* p, uint64_t v) { return ex_ch_send_impl(p, v, -1, 1); }
static int ex_ch_timed_send(void* p, uint64_t v, int64_t ns) { return ex_ch_send_impl(p, v, ns, 0); }
static int ex_ch_recv(void* p, uint64_t* out) { return ex_ch_recv_impl(p, out, -1, 0); }
static int ex_ch_try_recv(void* p, uint64_t* out) { return ex_ch_recv_impl(p, out, -1, 1); }
static int ex_ch_timed_recv(void* p, uint64_t* out, int64_t ns) { return ex_ch_recv_impl(p, out, ns, 0); }
static void ex_ch_close(void* p) {
  ex_chan* c = p;
  pthread_mutex_lock(&c->m);
  c->closed = 1;
  pthread_cond_broadcast(&c->not_full);
  pthread_cond_broadcast(&c->not_empty);
  pthread_mutex_unlock(&c->m);
}

static const jostle_channel_ops ex_channel = {sizeof(ex_chan), _Alignof(ex_chan), ex_ch_init,     ex_ch_destroy,
                                              ex_ch_send,      ex_ch_try_send,    ex_ch_timed_send, ex_ch_recv,
                                              ex_ch_try_recv,  ex_ch_timed_recv,  ex_ch_close};

/* ---- threads: pthreads with a control block whose ownership one state word decides ---- */

typedef struct {
  pthread_t tid;
  void (*entry)(void*);
  void* arg;
  _Atomic uint32_t state; /* 0 running, 1 detached, 2 exited: whoever exchanges second frees the block */
} ex_block;

static _Atomic uint64_t ex_acquired, ex_released, ex_exited;

static void ex_block_free(ex_block* b) {
  free(b);
  atomic_fetch_add(&ex_released, 1);
}
static void* ex_trampoline(void* p) {
  ex_block* b = p;
  b->entry(b->arg);
  if (atomic_exchange_explicit(&b->state, 2, memory_order_acq_rel) == 1) ex_block_free(b);
  atomic_fetch_add(&ex_exited, 1);
  return NULL;
}
static ex_block* ex_blk(jostle_thread_handle* h) {
  ex_block* b;
  memcpy(&b, h->words, sizeof b);
  return b;
}
static int ex_th_spawn(jostle_thread_handle* h, void (*entry)(void*), void* arg) {
  ex_block* b = calloc(1, sizeof *b);
  if (b == NULL) return EAGAIN;
  b->entry = entry;
  b->arg = arg;
  atomic_init(&b->state, 0);
  atomic_fetch_add(&ex_acquired, 1);
  const int rc = pthread_create(&b->tid, NULL, ex_trampoline, b);
  if (rc != 0) {
    ex_block_free(b);
    return rc;
  }
  memcpy(h->words, &b, sizeof b);
  return 0;
}
static void ex_th_join(jostle_thread_handle* h) {
  ex_block* b = ex_blk(h);
  pthread_join(b->tid, NULL);
  ex_block_free(b);
}
static int ex_th_timed_join(jostle_thread_handle* h, int64_t ns) {
  ex_block* b = ex_blk(h);
  struct timespec d = deadline_after(ns);
  int rc;
  do rc = pthread_clockjoin_np(b->tid, NULL, CLOCK_MONOTONIC, &d);
  while (rc == EINTR);
  if (rc != 0) return ETIMEDOUT;
  ex_block_free(b);
  return 0;
}
static void ex_th_detach(jostle_thread_handle* h) {
  ex_block* b = ex_blk(h);
  pthread_detach(b->tid);
  if (atomic_exchange_explicit(&b->state, 1, memory_order_acq_rel) == 2) ex_block_free(b);
}
static int ex_th_set_name(jostle_thread_handle* h, const char* n) { return pthread_setname_np(ex_blk(h)->tid, n); }
static int ex_th_get_name(jostle_thread_handle* h, char* buf, size_t len) {
  return pthread_getname_np(ex_blk(h)->tid, buf, len);
}
static int ex_th_set_name_self(const char* n) { return pthread_setname_np(pthread_self(), n); }
static int ex_th_get_name_self(char* buf, size_t len) { return pthread_getname_np(pthread_self(), buf, len); }
static uint64_t ex_th_id(void) { return ex_self_id(); }
static void ex_th_yield(void) { sched_yield(); }
static void ex_th_sleep(int64_t ns) {
  struct timespec d = deadline_after(ns);
  while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &d, NULL) == EINTR) {
  }
}
static unsigned ex_th_cpus(void) {
  long n = sysconf(_SC_NPROCESSORS_ONLN);
  return n < 1 ? 1u : (unsigned)n;
}
static void ex_th_stats(jostle_thread_stats* out) {
  out->acquired = atomic_load(&ex_acquired);
  out->released = atomic_load(&ex_released);
  out->double_released = 0;
  out->exited = atomic_load(&ex_exited);
}

static const jostle_thread_ops ex_thread = {15,
                                            ex_th_spawn,
                                            ex_th_join,
                                            ex_th_timed_join,
                                            ex_th_detach,
                                            ex_th_set_name,
                                            ex_th_get_name,
                                            ex_th_set_name_self,
                                            ex_th_get_name_self,
                                            ex_th_id,
                                            ex_th_yield,
                                            ex_th_sleep,
                                            ex_th_cpus,
                                            ex_th_stats};

/* ---- waiter list: one FIFO of nodes per cell under one pthread mutex; async timeouts on a timer thread ---- */

typedef struct ex_waiter {
  struct ex_waiter *next, *prev;
  void* cell;
  int linked, notified, is_async, timer_running;
  pthread_cond_t cv; /* sync waiter: the waiter sleeps here; async: its timer thread does */
  int64_t deadline;  /* -1: none */
  jostle_settle_fn settle;
  void* arg;
  struct ex_wlist* owner;
} ex_waiter;

typedef struct ex_wlist {
  pthread_mutex_t m;
  ex_waiter head;     /* sentinel of one list for all cells, in arrival order */
  int timers;         /* timer threads that may still take m: destroy waits for them */
  int closing;        /* destroy has begun: timers stop waiting */
  pthread_cond_t idle; /* signalled when timers drops to 0 */
} ex_wlist;

static void ex_wl_init(void* p) {
  ex_wlist* w = p;
  pthread_mutex_init(&w->m, NULL);
  pthread_cond_init(&w->idle, NULL);
  w->head.next = w->head.prev = &w->head;
  w->timers = 0;
  w->closing = 0;
}
/* A timer thread re-takes m after a notify settled its node (to free it) or after its deadline: the list must
   outlive every timer thread, so destroy wakes them all and waits until the last one has let go of m. */
static void ex_wl_destroy(void* p) {
  ex_wlist* w = p;
  pthread_mutex_lock(&w->m);
  w->closing = 1;
  for (ex_waiter* n = w->head.next; n != &w->head; n = n->next)
    if (n->is_async && n->timer_running) pthread_cond_signal(&n->cv);
  while (w->timers > 0) pthread_cond_wait(&w->idle, &w->m);
  pthread_mutex_unlock(&w->m);
  pthread_cond_destroy(&w->idle);
  pthread_mutex_destroy(&w->m);
}
static void ex_link(ex_wlist* w, ex_waiter* n) {
  n->prev = w->head.prev;
  n->next = &w->head;
  w->head.prev->next = n;
  w->head.prev = n;
  n->linked = 1;
}
static void ex_unlink(ex_waiter* n) {
  n->prev->next = n->next;
  n->next->prev = n->prev;
  n->linked = 0;
}
static int64_t ex_cell_load(void* cell, unsigned width) {
  return width == 4 ? (int64_t)__atomic_load_n((int32_t*)cell, __ATOMIC_SEQ_CST)
                    : __atomic_load_n((int64_t*)cell, __ATOMIC_SEQ_CST);
}
static void ex_cv_init_mono(pthread_cond_t* cv) {
  pthread_condattr_t a;
  pthread_condattr_init(&a);
  pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
  pthread_cond_init(cv, &a);
  pthread_condattr_destroy(&a);
}
static struct timespec ex_abs(int64_t t) {
  struct timespec d = {(time_t)(t / 1000000000), (long)(t % 1000000000)};
  return d;
}
static int ex_wl_wait(void* p, void* cell, unsigned width, int64_t expected, int64_t timeout_ns) {
  ex_wlist* w = p;
  ex_waiter n;
  memset(&n, 0, sizeof n);
  n.cell = cell;
  n.deadline = timeout_ns < 0 ? -1 : mono_now() + timeout_ns;
  pthread_mutex_lock(&w->m);
  /* The compare and the link happen under the list lock, which notify takes too: no lost wakeup. */
  if (ex_cell_load(cell, width) != expected) {
    pthread_mutex_unlock(&w->m);
    return JOSTLE_AGAIN;
  }
  if (timeout_ns == 0) {
    pthread_mutex_unlock(&w->m);
    return JOSTLE_TIMEDOUT;
  }
  ex_cv_init_mono(&n.cv);
  ex_link(w, &n);
  int rc = JOSTLE_OK;
  while (!n.notified) {
    if (n.deadline < 0) {
      pthread_cond_wait(&n.cv, &w->m);
    } else {
      struct timespec d = ex_abs(n.deadline);
      pthread_cond_timedwait(&n.cv, &w->m, &d);
      /* "Still in the list" decides, not the clock: a notify that removed us wins over the deadline. */
      if (!n.notified && mono_now() >= n.deadline) {
        ex_unlink(&n);
        rc = JOSTLE_TIMEDOUT;
        break;
      }
    }
  }
  pthread_mutex_unlock(&w->m);
  pthread_cond_destroy(&n.cv);
  return rc;
}
static void* ex_async_timer(void* p) {
  ex_waiter* n = p;
  ex_wlist* w = n->owner;
  pthread_mutex_lock(&w->m);
  struct timespec d = ex_abs(n->deadline);
  while (n->linked && !w->closing && mono_now() < n->deadline) pthread_cond_timedwait(&n->cv, &w->m, &d);
  /* A wait still listed when the list is destroyed is dropped unsettled: its owner is tearing the list down. */
  const int timed_out = n->linked && !w->closing;
  if (n->linked) ex_unlink(n);
  pthread_mutex_unlock(&w->m);
  if (timed_out) n->settle(n->arg, JOSTLE_TIMEDOUT);
  /* Either way the timer owns the node now: notify settled it (if it removed it) without freeing it. */
  pthread_cond_destroy(&n->cv);
  free(n);
  pthread_mutex_lock(&w->m);
  if (--w->timers == 0) pthread_cond_broadcast(&w->idle);
  pthread_mutex_unlock(&w->m);
  return NULL;
}
static int ex_wl_wait_async(void* p, void* cell, unsigned width, int64_t expected, int64_t timeout_ns,
                            jostle_settle_fn settle, void* arg) {
  ex_wlist* w = p;
  pthread_mutex_lock(&w->m);
  if (ex_cell_load(cell, width) != expected) {
    pthread_mutex_unlock(&w->m);
    return JOSTLE_AGAIN;
  }
  if (timeout_ns == 0) {
    pthread_mutex_unlock(&w->m);
    return JOSTLE_TIMEDOUT;
  }
  ex_waiter* n = calloc(1, sizeof *n);
  n->cell = cell;
  n->is_async = 1;
  n->settle = settle;
  n->arg = arg;
  n->owner = w;
  n->deadline = timeout_ns < 0 ? -1 : mono_now() + timeout_ns;
  ex_cv_init_mono(&n->cv);
  ex_link(w, n);
  if (n->deadline >= 0) {
    pthread_t t;
    pthread_attr_t a;
    pthread_attr_init(&a);
    pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
    n->timer_running = pthread_create(&t, &a, ex_async_timer, n) == 0;
    w->timers += n->timer_running;
    pthread_attr_destroy(&a);
  }
  pthread_mutex_unlock(&w->m);
  return JOSTLE_OK;
}
static uint64_t ex_wl_notify(void* p, void* cell, uint64_t count) {
  ex_wlist* w = p;
  uint64_t removed = 0;
  ex_waiter* settle_now[64];
  size_t nsettle = 0;
  pthread_mutex_lock(&w->m);
  for (ex_waiter* n = w->head.next; n != &w->head && removed < count;) {
    ex_waiter* next = n->next;
    if (n->cell == cell) {
      ex_unlink(n);
      n->notified = 1;
      ++removed;
      if (n->is_async) {
        /* Settled after the unlock; with a timer the timer thread frees the node once it sees it unlinked. */
        if (n->timer_running) pthread_cond_signal(&n->cv);
        if (nsettle < 64) {
          settle_now[nsettle++] = n;
        } else {
          n->settle(n->arg, JOSTLE_OK); /* rare: settled under the lock */
          if (!n->timer_running) {
            pthread_cond_destroy(&n->cv);
            free(n);
          }
        }
      } else {
        pthread_cond_signal(&n->cv);
      }
    }
    n = next;
  }
  /* The settle callbacks run outside the lock; nodes without a timer are freed here. */
  jostle_settle_fn fns[64];
  void* args[64];
  int frees[64];
  ex_waiter* nodes[64];
  for (size_t i = 0; i < nsettle; ++i) {
    fns[i] = settle_now[i]->settle;
    args[i] = settle_now[i]->arg;
    frees[i] = !settle_now[i]->timer_running;
    nodes[i] = settle_now[i];
  }
  pthread_mutex_unlock(&w->m);
  for (size_t i = 0; i < nsettle; ++i) {
    fns[i](args[i], JOSTLE_OK);
    if (frees[i]) {
      pthread_cond_destroy(&nodes[i]->cv);
      free(nodes[i]);
    }
  }
  return removed;
}
static size_t ex_wl_count(void* p, void* cell) {
  ex_wlist* w = p;
  size_t c = 0;
  pthread_mutex_lock(&w->m);
  for (ex_waiter* n = w->head.next; n != &w->head; n = n->next) c += n->cell == cell;
  pthread_mutex_unlock(&w->m);
  return c;
}

static const jostle_waiter_list_ops ex_waiter_list = {sizeof(ex_wlist),  _Alignof(ex_wlist), ex_wl_init,
                                                      ex_wl_destroy,     ex_wl_wait,         ex_wl_wait_async,
                                                      ex_wl_notify,      ex_wl_count,        NULL};

/* ---- atomics: the compiler's __atomic builtins, seq_cst, on 1/2/4/8-byte cells ---- */

#define EX_RMW(T, p, op, v)                                                           \
  switch (op) {                                                                       \
    case JOSTLE_RMW_ADD: return (uint64_t)(T)__atomic_fetch_add((T*)p, (T)v, __ATOMIC_SEQ_CST); \
    case JOSTLE_RMW_SUB: return (uint64_t)(T)__atomic_fetch_sub((T*)p, (T)v, __ATOMIC_SEQ_CST); \
    case JOSTLE_RMW_AND: return (uint64_t)(T)__atomic_fetch_and((T*)p, (T)v, __ATOMIC_SEQ_CST); \
    case JOSTLE_RMW_OR: return (uint64_t)(T)__atomic_fetch_or((T*)p, (T)v, __ATOMIC_SEQ_CST);   \
    case JOSTLE_RMW_XOR: return (uint64_t)(T)__atomic_fetch_xor((T*)p, (T)v, __ATOMIC_SEQ_CST); \
    default: return (uint64_t)(T)__atomic_exchange_n((T*)p, (T)v, __ATOMIC_SEQ_CST);            \
  }

static uint64_t ex_at_load(const void* p, unsigned width) {
  switch (width) {
    case 1: return __atomic_load_n((const uint8_t*)p, __ATOMIC_SEQ_CST);
    case 2: return __atomic_load_n((const uint16_t*)p, __ATOMIC_SEQ_CST);
    case 4: return __atomic_load_n((const uint32_t*)p, __ATOMIC_SEQ_CST);
    default: return __atomic_load_n((const uint64_t*)p, __ATOMIC_SEQ_CST);
  }
}
static void ex_at_store(void* p, unsigned width, uint64_t v) {
  switch (width) {
    case 1: __atomic_store_n((uint8_t*)p, (uint8_t)v, __ATOMIC_SEQ_CST); break;
    case 2: __atomic_store_n((uint16_t*)p, (uint16_t)v, __ATOMIC_SEQ_CST); break;
    case 4: __atomic_store_n((uint32_t*)p, (uint32_t)v, __ATOMIC_SEQ_CST); break;
    default: __atomic_store_n((uint64_t*)p, v, __ATOMIC_SEQ_CST); break;
  }
}
static uint64_t ex_at_rmw(void* p, unsigned width, int op, uint64_t v) {
  switch (width) {
    case 1: EX_RMW(uint8_t, p, op, v)
    case 2: EX_RMW(uint16_t, p, op, v)
    case 4: EX_RMW(uint32_t, p, op, v)
    default: EX_RMW(uint64_t, p, op, v)
  }
}
#undef EX_RMW
static uint64_t ex_at_cas(void* p, unsigned width, uint64_t expected, uint64_t replacement) {
  switch (width) {
    case 1: {
      uint8_t e = (uint8_t)expected;
      __atomic_compare_exchange_n((uint8_t*)p, &e, (uint8_t)replacement, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
      return e;
    }
    case 2: {
      uint16_t e = (uint16_t)expected;
      __atomic_compare_exchange_n((uint16_t*)p, &e, (uint16_t)replacement, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
      return e;
    }
    case 4: {
      uint32_t e = (uint32_t)expected;
      __atomic_compare_exchange_n((uint32_t*)p, &e, (uint32_t)replacement, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
      return e;
    }
    default: {
      uint64_t e = expected;
      __atomic_compare_exchange_n((uint64_t*)p, &e, replacement, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
      return e;
    }
  }
}
static int ex_at_lock_free(unsigned bytes) { return bytes == 1 || bytes == 2 || bytes == 4 || bytes == 8; }
static void ex_at_pause(void) {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#endif
}

static const jostle_atomics_ops ex_atomics = {ex_at_load, ex_at_store,     ex_at_rmw, ex_at_cas,
                                              ex_at_lock_free, ex_at_pause, 1};

/* ---- safepoint: a request flag polled with one load; stops counted under a mutex ---- */

typedef struct {
  pthread_mutex_t m;
  pthread_cond_t changed; /* stops, detaches, resumes */
  _Atomic uint32_t requested;
  uint32_t attached, stopped;
  uint64_t epoch, next_id;
} ex_sp;

static void ex_sp_init(void* p) {
  ex_sp* s = p;
  pthread_mutex_init(&s->m, NULL);
  pthread_cond_init(&s->changed, NULL);
  atomic_init(&s->requested, 0);
  s->attached = s->stopped = 0;
  s->epoch = 0;
  s->next_id = 1;
}
static void ex_sp_destroy(void* p) {
  ex_sp* s = p;
  pthread_cond_destroy(&s->changed);
  pthread_mutex_destroy(&s->m);
}
static uint64_t ex_sp_attach(void* p) {
  ex_sp* s = p;
  pthread_mutex_lock(&s->m);
  while (atomic_load_explicit(&s->requested, memory_order_relaxed)) pthread_cond_wait(&s->changed, &s->m);
  ++s->attached;
  const uint64_t id = s->next_id++;
  pthread_mutex_unlock(&s->m);
  return id;
}
static void ex_sp_detach(void* p, uint64_t id) {
  ex_sp* s = p;
  (void)id;
  pthread_mutex_lock(&s->m);
  --s->attached;
  pthread_cond_broadcast(&s->changed);
  pthread_mutex_unlock(&s->m);
}
static void ex_sp_poll(void* p, uint64_t id) {
  ex_sp* s = p;
  (void)id;
  if (!atomic_load_explicit(&s->requested, memory_order_acquire)) return;
  pthread_mutex_lock(&s->m);
  if (atomic_load_explicit(&s->requested, memory_order_relaxed)) {
    /* Counted per stopped phase: resume() zeroes the count. Were the mutator to decrement it on its way out, a
     * stop() right after resume() could see the previous phase's count, before the mutators woke, and return
     * while they still run. */
    const uint64_t e = s->epoch;
    ++s->stopped;
    pthread_cond_broadcast(&s->changed);
    while (s->epoch == e) pthread_cond_wait(&s->changed, &s->m);
  }
  pthread_mutex_unlock(&s->m);
}
static void ex_sp_stop(void* p) {
  ex_sp* s = p;
  pthread_mutex_lock(&s->m);
  atomic_store_explicit(&s->requested, 1, memory_order_seq_cst);
  while (s->stopped < s->attached) pthread_cond_wait(&s->changed, &s->m);
  pthread_mutex_unlock(&s->m);
}
static void ex_sp_resume(void* p) {
  ex_sp* s = p;
  pthread_mutex_lock(&s->m);
  atomic_store_explicit(&s->requested, 0, memory_order_release);
  s->stopped = 0;
  ++s->epoch;
  pthread_cond_broadcast(&s->changed);
  pthread_mutex_unlock(&s->m);
}

static const jostle_safepoint_ops ex_safepoint = {sizeof(ex_sp), _Alignof(ex_sp), ex_sp_init, ex_sp_destroy,
                                                  ex_sp_attach,  ex_sp_detach,    ex_sp_poll, ex_sp_stop,
                                                  ex_sp_resume};

/* ---- async notifier: an eventfd (the loop polls it; drain reads the counter back to 0) ---- */

typedef struct { int fd; } ex_async;

static int ex_as_init(void* p) {
  const int fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (fd < 0) return errno;
  ((ex_async*)p)->fd = fd;
  return 0;
}
static void ex_as_destroy(void* p) { close(((ex_async*)p)->fd); }
static void ex_as_notify(void* p) {
  uint64_t one = 1;
  /* EAGAIN: the counter is saturated, so a notification is pending anyway. */
  ssize_t rc = write(((ex_async*)p)->fd, &one, sizeof one);
  (void)rc;
}
static int ex_as_fd(void* p) { return ((ex_async*)p)->fd; }
static void ex_as_arm(void* p) { (void)p; }
static void ex_as_drain(void* p) {
  uint64_t v;
  ssize_t rc = read(((ex_async*)p)->fd, &v, sizeof v);
  (void)rc;
}

static const jostle_async_ops ex_async_ops = {sizeof(ex_async), _Alignof(ex_async), ex_as_init, ex_as_destroy,
                                              ex_as_notify,     ex_as_fd,           ex_as_arm,  ex_as_drain};

/* ---- virtual-thread executor: a detached pthread per running task, a FIFO of admitted tasks beyond
 * max_carriers, one mutex per executor guarding every task's state, and a condvar per task (its end, its permit,
 * its cancel request) ---- */

typedef struct ex_vt ex_vt;
typedef struct ex_task {
  ex_vt* ex;
  jostle_vt_body body;
  struct ex_task* next; /* in the queue */
  pthread_cond_t changed;
  int refs;             /* the harness's (until release) and the executor's (until the task ended) */
  int state;            /* 0 queued, 1 running, 2 ended */
  int queued;           /* in the executor's queue (not yet handed to a carrier) */
  int result, joined, cancel_req, permit;
  int64_t value;
} ex_task;
struct ex_vt {
  pthread_mutex_t m;
  pthread_cond_t changed; /* a slot freed, the executor closed, a carrier exited */
  jostle_executor_policy policy;
  int admitted, running, threads, closed;
  ex_task *head, *tail;
};

static _Thread_local ex_task* ex_vt_current;

static void ex_cond_init_mono(pthread_cond_t* c) {
  pthread_condattr_t a;
  pthread_condattr_init(&a);
  pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
  pthread_cond_init(c, &a);
  pthread_condattr_destroy(&a);
}
/* A relative timeout as an absolute CLOCK_MONOTONIC deadline; -1 for none (JOSTLE_VT_FOREVER or beyond a year). */
static int64_t ex_vt_deadline(int64_t ns) { return ns >= (int64_t)365 * 86400 * 1000000000 ? -1 : mono_now() + ns; }
/* Waits on c until signalled or the deadline (-1: none); 0 when the deadline passed. */
static int ex_cond_wait_until(pthread_cond_t* c, pthread_mutex_t* m, int64_t deadline) {
  if (deadline < 0) return pthread_cond_wait(c, m), 1;
  if (mono_now() >= deadline) return 0;
  struct timespec ts = {(time_t)(deadline / 1000000000), (long)(deadline % 1000000000)};
  pthread_cond_timedwait(c, m, &ts);
  return 1;
}

static int ex_vt_init(void* p, const jostle_executor_policy* pol) {
  if (pol->max_carriers < 1 || pol->min_carriers < 0 || pol->min_carriers > pol->max_carriers ||
      pol->queue_limit < 1 || pol->timeout_ns < 0)
    return JOSTLE_INVALID;
  ex_vt* ex = p;
  memset(ex, 0, sizeof *ex);
  pthread_mutex_init(&ex->m, NULL);
  ex_cond_init_mono(&ex->changed);
  ex->policy = *pol;
  return JOSTLE_OK;
}
static void ex_vt_close(void* p) {
  ex_vt* ex = p;
  pthread_mutex_lock(&ex->m);
  ex->closed = 1;
  pthread_cond_broadcast(&ex->changed);
  while (ex->threads > 0) pthread_cond_wait(&ex->changed, &ex->m); /* they drain the queue before exiting */
  pthread_mutex_unlock(&ex->m);
}
static void ex_vt_destroy(void* p) {
  ex_vt* ex = p;
  pthread_cond_destroy(&ex->changed);
  pthread_mutex_destroy(&ex->m);
}
static void ex_vt_slots(void* p, int32_t* in_use, int32_t* free_slots, int32_t* limit) {
  ex_vt* ex = p;
  pthread_mutex_lock(&ex->m);
  *in_use = ex->admitted;
  *free_slots = ex->policy.queue_limit - ex->admitted;
  *limit = ex->policy.queue_limit;
  pthread_mutex_unlock(&ex->m);
}
/* Under ex->m: drops one reference; the last one frees the task. */
static void ex_task_unref(ex_task* t) {
  if (--t->refs == 0) {
    pthread_cond_destroy(&t->changed);
    free(t);
  }
}
/* Under ex->m: the task's terminal state, its slot given back. */
static void ex_task_end(ex_task* t, int result, int64_t value) {
  t->state = 2;
  t->result = result;
  t->value = value;
  pthread_cond_broadcast(&t->changed);
  --t->ex->admitted;
  pthread_cond_broadcast(&t->ex->changed);
}
static void* ex_vt_carrier(void* arg) {
  ex_task* t = arg;
  ex_vt* ex = t->ex;
  pthread_mutex_lock(&ex->m);
  while (t) {
    if (t->state == 0 && t->cancel_req) { /* cancelled before it started: it never starts */
      const jostle_vt_body body = t->body;
      ex_task_end(t, JOSTLE_CANCELLED, 0);
      pthread_mutex_unlock(&ex->m);
      body.drop(body.arg);
      pthread_mutex_lock(&ex->m);
    } else if (t->state == 0) {
      t->state = 1;
      pthread_mutex_unlock(&ex->m);
      int64_t value = 0;
      ex_vt_current = t;
      const int rc = t->body.run(t->body.arg, &value);
      ex_vt_current = NULL;
      t->body.drop(t->body.arg);
      pthread_mutex_lock(&ex->m);
      ex_task_end(t, rc, value);
    }
    ex_task_unref(t);
    t = ex->head;
    if (t) {
      ex->head = t->next;
      if (!ex->head) ex->tail = NULL;
      t->queued = 0;
    } else {
      --ex->running;
    }
  }
  --ex->threads; /* the last touch of the executor: close() may destroy it once this reaches 0 */
  pthread_cond_broadcast(&ex->changed);
  pthread_mutex_unlock(&ex->m);
  return NULL;
}
static int ex_vt_spawn_on(void* p, jostle_vt_body body, void** task) {
  ex_vt* ex = p;
  pthread_mutex_lock(&ex->m);
  const int64_t deadline = ex_vt_deadline(ex->policy.timeout_ns);
  int rc = JOSTLE_OK;
  for (;;) {
    if (ex->closed) { rc = JOSTLE_CLOSED; break; }
    if (ex->admitted < ex->policy.queue_limit) break;
    if (ex->policy.on_saturation == JOSTLE_SATURATION_BUSY) { rc = JOSTLE_BUSY; break; }
    /* Every slot release broadcasts, so a submitter that gives up here strands nobody behind it. */
    if (!ex_cond_wait_until(&ex->changed, &ex->m, deadline)) { rc = JOSTLE_TIMEDOUT; break; }
  }
  ex_task* t = rc == JOSTLE_OK ? calloc(1, sizeof *t) : NULL;
  if (rc == JOSTLE_OK && !t) rc = JOSTLE_BUSY;
  if (rc != JOSTLE_OK) {
    pthread_mutex_unlock(&ex->m);
    body.drop(body.arg);
    return rc;
  }
  ++ex->admitted;
  t->ex = ex;
  t->body = body;
  t->refs = 2;
  ex_cond_init_mono(&t->changed);
  *task = t;
  int queue = ex->running >= ex->policy.max_carriers;
  if (!queue) {
    pthread_t tid;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    ++ex->running;
    ++ex->threads;
    if (pthread_create(&tid, &attr, ex_vt_carrier, t) != 0) { /* wait for a running carrier instead */
      --ex->running;
      --ex->threads;
      queue = 1;
    }
    pthread_attr_destroy(&attr);
  }
  if (queue) {
    t->queued = 1;
    if (ex->tail) ex->tail->next = t; else ex->head = t;
    ex->tail = t;
  }
  pthread_mutex_unlock(&ex->m);
  return JOSTLE_OK;
}
static int ex_vt_join_until(void* task, int64_t deadline, int64_t* value) {
  ex_task* t = task;
  pthread_mutex_lock(&t->ex->m);
  while (t->state != 2)
    if (!ex_cond_wait_until(&t->changed, &t->ex->m, deadline)) break;
  int rc = JOSTLE_TIMEDOUT;
  if (t->state == 2) {
    rc = t->joined ? JOSTLE_CLOSED : t->result;
    if (!t->joined && rc == JOSTLE_OK) *value = t->value;
    t->joined = 1;
  }
  pthread_mutex_unlock(&t->ex->m);
  return rc;
}
static int ex_vt_join(void* task, int64_t* value) { return ex_vt_join_until(task, -1, value); }
static int ex_vt_join_timeout(void* task, int64_t ns, int64_t* value) {
  return ns < 0 ? JOSTLE_INVALID : ex_vt_join_until(task, ex_vt_deadline(ns), value);
}
#ifndef EX_VT_CANCEL_KEEPS_SLOT
#define EX_VT_CANCEL_KEEPS_SLOT 0
#endif
static void ex_vt_cancel(void* task) {
  ex_task* t = task;
  ex_vt* ex = t->ex;
  jostle_vt_body dropped = {0};
  pthread_mutex_lock(&ex->m);
  t->cancel_req = 1;
  pthread_cond_broadcast(&t->changed); /* a sleeping or parked body returns JOSTLE_CANCELLED */
  /* Queued: it never starts and its slot is free at once. Handed to a new carrier but not started: the carrier
   * ends it. */
  if (t->queued && !EX_VT_CANCEL_KEEPS_SLOT) {
    ex_task** at = &ex->head;
    ex_task* prev = NULL;
    while (*at != t) prev = *at, at = &(*at)->next;
    *at = t->next;
    if (ex->tail == t) ex->tail = prev;
    t->queued = 0;
    dropped = t->body;
    ex_task_end(t, JOSTLE_CANCELLED, 0);
    ex_task_unref(t); /* the executor's reference */
  }
  pthread_mutex_unlock(&ex->m);
  if (dropped.drop) dropped.drop(dropped.arg);
}
static void ex_vt_release(void* task) {
  ex_task* t = task;
  ex_vt* ex = t->ex;
  pthread_mutex_lock(&ex->m);
  ex_task_unref(t);
  pthread_mutex_unlock(&ex->m);
}
static int ex_vt_cancelled(void) {
  ex_task* t = ex_vt_current;
  if (!t) return 0;
  pthread_mutex_lock(&t->ex->m);
  const int c = t->cancel_req;
  pthread_mutex_unlock(&t->ex->m);
  return c;
}
static int ex_vt_sleep(int64_t ns) {
  if (ns < 0) return JOSTLE_INVALID;
  ex_task* t = ex_vt_current;
  const int64_t deadline = mono_now() + ns;
  if (!t) {
    for (int64_t left; (left = deadline - mono_now()) > 0;) {
      struct timespec ts = {(time_t)(left / 1000000000), (long)(left % 1000000000)};
      nanosleep(&ts, NULL);
    }
    return JOSTLE_OK;
  }
  pthread_mutex_lock(&t->ex->m);
  while (!t->cancel_req && ex_cond_wait_until(&t->changed, &t->ex->m, deadline)) {
  }
  const int rc = t->cancel_req ? JOSTLE_CANCELLED : JOSTLE_OK;
  pthread_mutex_unlock(&t->ex->m);
  return rc;
}
static int ex_vt_park(int64_t ns) {
  ex_task* t = ex_vt_current;
  if (ns < 0 || !t) return JOSTLE_INVALID;
  const int64_t deadline = ex_vt_deadline(ns);
  pthread_mutex_lock(&t->ex->m);
  int rc;
  for (;;) {
    if (t->permit) { t->permit = 0; rc = JOSTLE_OK; break; }
    if (t->cancel_req) { rc = JOSTLE_CANCELLED; break; }
    if (!ex_cond_wait_until(&t->changed, &t->ex->m, deadline)) { rc = JOSTLE_TIMEDOUT; break; }
  }
  pthread_mutex_unlock(&t->ex->m);
  return rc;
}
static void ex_vt_unpark(void* task) {
  ex_task* t = task;
  pthread_mutex_lock(&t->ex->m);
  t->permit = 1;
  pthread_cond_broadcast(&t->changed);
  pthread_mutex_unlock(&t->ex->m);
}

static const jostle_executor_ops ex_executor = {sizeof(ex_vt),      _Alignof(ex_vt),  ex_vt_init,    ex_vt_destroy,
                                                ex_vt_close,        ex_vt_slots,      ex_vt_spawn_on, ex_vt_join,
                                                ex_vt_join_timeout, ex_vt_cancel,     ex_vt_release, ex_vt_cancelled,
                                                ex_vt_sleep,        ex_vt_park,       ex_vt_unpark};

static const jostle_plugin ex_plugin = {
    .abi_version = JOSTLE_PLUGIN_ABI_VERSION,
    .struct_size = sizeof(jostle_plugin),
    .name = "example",
    .description = "the example plugin: every sub-table, on futex(2), C11 atomics and pthreads",
    .futex = &ex_futex,
    .mutex = &ex_mutex_ops,
    .rwlock = &ex_rwlock,
    .condvar = &ex_condvar,
    .semaphore = &ex_semaphore,
    .event = &ex_event_ops,
    .waitgroup = &ex_waitgroup,
    .owned_mutex = &ex_owned_mutex,
    .channel = &ex_channel,
    .thread = &ex_thread,
    .executor = &ex_executor,
    .waiter_list = &ex_waiter_list,
    .atomics = &ex_atomics,
    .safepoint = &ex_safepoint,
    .async = &ex_async_ops,
};

__attribute__((visibility("default"))) const jostle_plugin* jostle_plugin_entry(void) { return &ex_plugin; }
