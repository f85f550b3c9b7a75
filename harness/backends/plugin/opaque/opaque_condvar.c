/* Opaque mutant: a sequence-counter condition variable (with a correct futex mutex) carrying the historical
 * late-snapshot defect: the waiter reads the sequence after releasing the mutex, so a signal sent between the
 * unlock and the read is already counted in the snapshot and the waiter sleeps through it (a lost signal; the
 * window is the few instructions between the unlock and the load). */
#include "opaque_common.h"

typedef struct {
  _Atomic uint32_t state; /* 0 free, 1 locked, 2 locked with waiters */
} om_mutex;

static void om_init(void* p) { atomic_init(&((om_mutex*)p)->state, 0); }
static void om_destroy(void* p) { (void)p; }

static void om_lock(void* p) {
  om_mutex* m = p;
  uint32_t c = 0;
  if (atomic_compare_exchange_strong(&m->state, &c, 1)) return;
  if (c != 2) c = atomic_exchange(&m->state, 2);
  while (c != 0) {
    op_futex_wait(&m->state, 2, -1);
    c = atomic_exchange(&m->state, 2);
  }
}

static int om_try_lock(void* p) {
  uint32_t c = 0;
  return atomic_compare_exchange_strong(&((om_mutex*)p)->state, &c, 1);
}

static void om_unlock(void* p) {
  om_mutex* m = p;
  if (atomic_exchange(&m->state, 0) == 2) op_futex_wake(&m->state, 1);
}

typedef struct {
  _Atomic uint32_t seq;
} oc_cond;

static void oc_init(void* p) { atomic_init(&((oc_cond*)p)->seq, 0); }
static void oc_destroy(void* p) { (void)p; }

static int oc_wait_impl(oc_cond* c, void* m, int64_t timeout_ns) {
  om_unlock(m);
  /* The defect: the snapshot belongs before the unlock. */
  const uint32_t seen = atomic_load(&c->seq);
  const int rc = op_futex_wait(&c->seq, seen, timeout_ns);
  om_lock(m);
  return rc == JOSTLE_TIMEDOUT ? JOSTLE_TIMEDOUT : JOSTLE_OK;
}

static void oc_wait(void* cv, void* m) { oc_wait_impl(cv, m, -1); }
static int oc_timed_wait(void* cv, void* m, int64_t timeout_ns) { return oc_wait_impl(cv, m, timeout_ns); }

static void oc_signal(void* p) {
  oc_cond* c = p;
  atomic_fetch_add(&c->seq, 1);
  op_futex_wake(&c->seq, 1);
}

static void oc_broadcast(void* p) {
  oc_cond* c = p;
  atomic_fetch_add(&c->seq, 1);
  op_futex_wake(&c->seq, INT_MAX);
}

static const jostle_mutex_ops om_ops = {.size = sizeof(om_mutex), .align = _Alignof(om_mutex), .init = om_init,
                                        .destroy = om_destroy, .lock = om_lock, .try_lock = om_try_lock,
                                        .unlock = om_unlock};
static const jostle_condvar_ops oc_ops = {.size = sizeof(oc_cond), .align = _Alignof(oc_cond), .init = oc_init,
                                          .destroy = oc_destroy, .wait = oc_wait, .timed_wait = oc_timed_wait,
                                          .signal = oc_signal, .broadcast = oc_broadcast, .profile = "posix"};

static const jostle_plugin oc_plugin = {
    .abi_version = JOSTLE_PLUGIN_ABI_VERSION,
    .struct_size = sizeof(jostle_plugin),
    .name = "opaque_condvar",
    .description = "sequence condvar whose waiter snapshots the sequence after unlocking (natural window)",
    .mutex = &om_ops,
    .condvar = &oc_ops};

__attribute__((visibility("default"))) const jostle_plugin* jostle_plugin_entry(void) { return &oc_plugin; }
