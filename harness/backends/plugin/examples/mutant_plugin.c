/* In-tree mutant plugins: the example plugin with one historical defect injected into one sub-table, built once
 * per MUTANT_KIND by CMake (libjostle-plugin-mutant-KIND.so). Each offers only the table it breaks. Each is a
 * first-class mutant: mutant_plugin_backends.h declares its name (mutant.<primitive>.plugin_<defect>), catchers
 * and source, and loads the library through the plugin ABI; the mutant gate and docs/mutants.md's index read
 * those declarations like every other mutant's.
 *
 *   kind                 table         defect (source)                                              catcher
 *   futex_wake_zero      futex         wake(n) passes n = 0 to FUTEX_WAKE, which wakes one           futex/wake_n_exact
 *                                      (the kernel's FUTEX_WAKE counts after waking; the ABI's pitfall)
 *   timed_ms_deadline    mutex         timed_lock rounds its timeout down to whole ms                condvar/mutex_timed_not_early
 *                                      (libuv#4773, nodejs/node#26578: timers up to 1 ms early)
 *   cv_claims_keeps      condvar       claims TIMEOUT_KEEPS_SIGNAL, but a timed-out waiter swallows   condvar/cv_timeout_signal_handoff
 *                                      the signal that picked it (POSIX allows it; the claim is false)
 *   cv_broadcast_wakes_one condvar     broadcast() wakes one waiter (a broadcast done as a signal)     condvar/cv_broadcast_parked
 *   rw_writer_shared     rwlock        lock()/try_lock() take the lock shared: writers overlap        condvar/rwlock_concurrent_access
 *                                      (an inverted mode flag)
 *   cancel_keeps_slot    executor      cancelling a queued task frees its slot only when a carrier    agents/vt_cancel_handoff
 *                                      reaches it (golang/go #37852)
 *   sem_timeout_swallows semaphore     a timed-out acquire takes a permit that a release made        futex/semaphore_conservation
 *                                      available at the deadline (wasmtime PR #5871)
 *   event_not_latched    event         set() wakes the sleepers but does not latch                   futex/event_set_before_wait
 *                                      (tensorflow PR #4064: condition variables are not latches)
 *   wg_wake_one          waitgroup     the last finish wakes one waiter, not all (Zig #12877 shape)  futex/wg_all_waiters_released
 *   recursive_unowned    owned_mutex   unlock checks "held", not "held by me"                        condvar/mutex_owner_semantics
 *   close_wakes_one      channel       close() signals one blocked receiver instead of all           condvar/channel_close_wakes_all
 *   cached_thread_id     thread        current_id() cached process-wide on first use (glibc < 2.25)  agents/thread_ids_unique
 *   lifo_notify          waiter_list   notify removes the newest waiter first (test262 notify order)  atomics/wait_fifo
 *   rmw_not_atomic       atomics       add/sub as a load and a store (a lost update)                  atomics/rmw_counter_storm
 *   safepoint_straggler  safepoint     the collector proceeds when all but one mutator stopped        agents/safepoint_stopped_phase
 *   async_drain_on_arm   async         arm() drains "stale" readiness: a notify before the wait is    futex/async_notify_first
 *                                      armed is lost (libxev "async: notify first")
 */
#if defined(MUTANT_cancel_keeps_slot)
#define EX_VT_CANCEL_KEEPS_SLOT 1 /* the example's executor leaves a cancelled queued task for a carrier to reach */
#endif
#define jostle_plugin_entry example_plugin_entry_unused
#include "example_plugin.c"
#undef jostle_plugin_entry

#define STR2(x) #x
#define STR(x) STR2(x)

#if defined(MUTANT_futex_wake_zero)
static int mu_futex_wake(uint32_t* word, int n) {
  long rc = syscall(SYS_futex, word, FUTEX_WAKE_PRIVATE, n, NULL, NULL, 0); /* the defect: n = 0 wakes one */
  return rc < 0 ? 0 : (int)rc;
}
static const jostle_futex_ops mu_futex = {ex_futex_wait, mu_futex_wake};
#define MU_FIELDS .futex = &mu_futex

#elif defined(MUTANT_timed_ms_deadline)
static int mu_timed_lock(void* p, int64_t timeout_ns) {
  return ex_mutex_timed_lock(p, timeout_ns / 1000000 * 1000000); /* the defect: whole milliseconds, rounded down */
}
static const jostle_mutex_ops mu_mutex = {sizeof(ex_mutex), _Alignof(ex_mutex), ex_mutex_init, ex_mutex_destroy,
                                          ex_mutex_lock, ex_mutex_try_lock, ex_mutex_unlock, .timed_lock = mu_timed_lock};
#define MU_FIELDS .mutex = &mu_mutex

#elif defined(MUTANT_cv_claims_keeps)
static const jostle_condvar_ops mu_condvar = {sizeof(ex_cv), _Alignof(ex_cv), ex_cv_init, ex_cv_destroy, ex_cv_wait,
                                              ex_cv_timed_wait, ex_cv_signal, ex_cv_broadcast, "posix",
                                              JOSTLE_CONDVAR_TIMEOUT_KEEPS_SIGNAL /* the defect: a false claim */};
#define MU_FIELDS .mutex = &ex_mutex_ops, .condvar = &mu_condvar

#elif defined(MUTANT_cv_broadcast_wakes_one)
static void mu_cv_broadcast(void* p) {
  ex_cv* cv = p;
  atomic_fetch_add_explicit(&cv->seq, 1, memory_order_release);
  ex_futex_wake((uint32_t*)&cv->seq, 1); /* the defect: a broadcast done as a signal */
}
static const jostle_condvar_ops mu_condvar = {sizeof(ex_cv), _Alignof(ex_cv), ex_cv_init, ex_cv_destroy, ex_cv_wait,
                                              ex_cv_timed_wait, ex_cv_signal, mu_cv_broadcast, "posix", 0};
#define MU_FIELDS .mutex = &ex_mutex_ops, .condvar = &mu_condvar

#elif defined(MUTANT_rw_writer_shared)
/* the defect: the exclusive side takes the lock in shared mode (an inverted mode flag), so writers overlap */
static void mu_rw_lock(void* p) { pthread_rwlock_rdlock(p); }
static int mu_rw_try_lock(void* p) { return pthread_rwlock_tryrdlock(p) == 0; }
static const jostle_rwlock_ops mu_rwlock = {sizeof(pthread_rwlock_t), _Alignof(pthread_rwlock_t), ex_rw_init,
                                            ex_rw_destroy, mu_rw_lock, mu_rw_try_lock, ex_rw_unlock,
                                            ex_rw_lock_shared, ex_rw_try_lock_shared, ex_rw_unlock,
                                            ex_rw_timed_lock, ex_rw_timed_lock_shared};
#define MU_FIELDS .rwlock = &mu_rwlock

#elif defined(MUTANT_cancel_keeps_slot)
#define MU_FIELDS .executor = &ex_executor

#elif defined(MUTANT_sem_timeout_swallows)
static int mu_sem_timed_acquire(void* p, int64_t timeout_ns) {
  const int rc = ex_sem_timed_acquire(p, timeout_ns);
  if (rc == JOSTLE_TIMEDOUT) {
    usleep(500); /* the timeout path's clean-up (a dequeue, a lock): the window in which a release lands */
    (void)ex_sem_try_acquire(p); /* the defect: the last look takes a permit, yet times out */
  }
  return rc;
}
static const jostle_semaphore_ops mu_semaphore = {sizeof(ex_sem), _Alignof(ex_sem), ex_sem_init, ex_sem_destroy,
                                                  ex_sem_acquire, ex_sem_try_acquire, mu_sem_timed_acquire,
                                                  ex_sem_release, .permits = ex_sem_permits};
#define MU_FIELDS .semaphore = &mu_semaphore

#elif defined(MUTANT_event_not_latched)
static void mu_ev_set(void* p) {
  ex_event* e = p;
  /* the defect: a pulse: set, wake the sleepers, unset again; a wait() that comes after set() sleeps forever */
  atomic_store_explicit(&e->state, 1, memory_order_release);
  ex_futex_wake((uint32_t*)&e->state, INT_MAX);
  atomic_store_explicit(&e->state, 0, memory_order_release);
}
static const jostle_event_ops mu_event = {sizeof(ex_event), _Alignof(ex_event), ex_ev_init, ex_ev_destroy, mu_ev_set,
                                          ex_ev_reset, ex_ev_is_set, ex_ev_wait, ex_ev_timed_wait};
#define MU_FIELDS .event = &mu_event

#elif defined(MUTANT_wg_wake_one)
static void mu_wg_finish(void* p) {
  ex_wg* g = p;
  if (atomic_fetch_sub_explicit(&g->count, 1, memory_order_acq_rel) == 1)
    ex_futex_wake((uint32_t*)&g->count, 1); /* the defect: one waiter released, the others sleep on */
}
static const jostle_waitgroup_ops mu_waitgroup = {sizeof(ex_wg), _Alignof(ex_wg), ex_wg_init, ex_wg_destroy,
                                                  ex_wg_start, mu_wg_finish, ex_wg_wait, ex_wg_is_done,
                                                  ex_wg_reset, ex_wg_timed_wait};
#define MU_FIELDS .waitgroup = &mu_waitgroup

#elif defined(MUTANT_recursive_unowned)
static int mu_rm_unlock(void* p) {
  ex_rmutex* m = p;
  if (atomic_load_explicit(&m->owner, memory_order_relaxed) == 0) return JOSTLE_NOT_OWNER; /* the defect: "held?" */
  if (--m->count == 0) {
    atomic_store_explicit(&m->owner, 0, memory_order_relaxed);
    ex_mutex_unlock(&m->inner);
  }
  return JOSTLE_OK;
}
static const jostle_owned_mutex_ops mu_owned = {sizeof(ex_rmutex), _Alignof(ex_rmutex), 1, ex_rm_init, ex_rm_destroy,
                                                ex_rm_lock, ex_rm_try_lock, mu_rm_unlock};
#define MU_FIELDS .owned_mutex = &mu_owned

#elif defined(MUTANT_close_wakes_one)
static void mu_ch_close(void* p) {
  ex_chan* c = p;
  pthread_mutex_lock(&c->m);
  c->closed = 1;
  pthread_cond_signal(&c->not_full); /* the defect: one blocked sender and one receiver learn of the close */
  pthread_cond_signal(&c->not_empty);
  pthread_mutex_unlock(&c->m);
}
static const jostle_channel_ops mu_channel = {sizeof(ex_chan), _Alignof(ex_chan), ex_ch_init, ex_ch_destroy,
                                              ex_ch_send, ex_ch_try_send, ex_ch_timed_send, ex_ch_recv,
                                              ex_ch_try_recv, ex_ch_timed_recv, mu_ch_close};
#define MU_FIELDS .channel = &mu_channel

#elif defined(MUTANT_cached_thread_id)
static uint64_t mu_th_id(void) {
  static _Atomic uint64_t cached = 0; /* the defect: the first caller's id, for everyone */
  uint64_t expected = 0;
  atomic_compare_exchange_strong(&cached, &expected, ex_self_id());
  return atomic_load(&cached);
}
static const jostle_thread_ops mu_thread = {15, ex_th_spawn, ex_th_join, ex_th_timed_join, ex_th_detach,
                                            ex_th_set_name, ex_th_get_name, ex_th_set_name_self,
                                            ex_th_get_name_self, mu_th_id, ex_th_yield, ex_th_sleep, ex_th_cpus,
                                            ex_th_stats};
#define MU_FIELDS .thread = &mu_thread

#elif defined(MUTANT_lifo_notify)
static uint64_t mu_wl_notify(void* p, void* cell, uint64_t count) {
  /* the defect: waiters are taken from the tail (newest first); only sync waiters are served this way, the
   * rest is the example's code path */
  ex_wlist* w = p;
  uint64_t removed = 0;
  pthread_mutex_lock(&w->m);
  for (ex_waiter* n = w->head.prev; n != &w->head && removed < count;) {
    ex_waiter* prev = n->prev;
    if (n->cell == cell && !n->is_async) {
      ex_unlink(n);
      n->notified = 1;
      ++removed;
      pthread_cond_signal(&n->cv);
    }
    n = prev;
  }
  pthread_mutex_unlock(&w->m);
  if (removed < count) removed += ex_wl_notify(p, cell, count - removed);
  return removed;
}
static const jostle_waiter_list_ops mu_waiter_list = {sizeof(ex_wlist), _Alignof(ex_wlist), ex_wl_init,
                                                      ex_wl_destroy, ex_wl_wait, ex_wl_wait_async, mu_wl_notify,
                                                      ex_wl_count, NULL};
#define MU_FIELDS .waiter_list = &mu_waiter_list

#elif defined(MUTANT_rmw_not_atomic)
static uint64_t mu_at_rmw(void* p, unsigned width, int op, uint64_t v) {
  const uint64_t old = ex_at_load(p, width); /* the defect: a load and a store, not one RMW */
  uint64_t next = v;
  switch (op) {
    case JOSTLE_RMW_ADD: next = old + v; break;
    case JOSTLE_RMW_SUB: next = old - v; break;
    case JOSTLE_RMW_AND: next = old & v; break;
    case JOSTLE_RMW_OR: next = old | v; break;
    case JOSTLE_RMW_XOR: next = old ^ v; break;
    default: break; /* exchange */
  }
  ex_at_pause();
  ex_at_store(p, width, next);
  return old;
}
static const jostle_atomics_ops mu_atomics = {ex_at_load, ex_at_store, mu_at_rmw, ex_at_cas, ex_at_lock_free,
                                              ex_at_pause, 1};
#define MU_FIELDS .atomics = &mu_atomics

#elif defined(MUTANT_safepoint_straggler)
static void mu_sp_stop(void* p) {
  ex_sp* s = p;
  pthread_mutex_lock(&s->m);
  atomic_store_explicit(&s->requested, 1, memory_order_seq_cst);
  while (s->stopped + 1 < s->attached) pthread_cond_wait(&s->changed, &s->m); /* the defect: all but one */
  pthread_mutex_unlock(&s->m);
}
static const jostle_safepoint_ops mu_safepoint = {sizeof(ex_sp), _Alignof(ex_sp), ex_sp_init, ex_sp_destroy,
                                                  ex_sp_attach, ex_sp_detach, ex_sp_poll, mu_sp_stop, ex_sp_resume};
#define MU_FIELDS .safepoint = &mu_safepoint

#elif defined(MUTANT_async_drain_on_arm)
static const jostle_async_ops mu_async = {sizeof(ex_async), _Alignof(ex_async), ex_as_init, ex_as_destroy,
                                          ex_as_notify, ex_as_fd, ex_as_drain /* the defect: arm drains */,
                                          ex_as_drain};
#define MU_FIELDS .async = &mu_async

#else
#error "define MUTANT_<kind> (see the table at the top)"
#endif

static const jostle_plugin mu_plugin = {.abi_version = JOSTLE_PLUGIN_ABI_VERSION,
                                        .struct_size = sizeof(jostle_plugin),
                                        .name = "mutant_" MUTANT_NAME,
                                        .description = "the example plugin with one injected defect",
                                        MU_FIELDS};

__attribute__((visibility("default"))) const jostle_plugin* jostle_plugin_entry(void) { return &mu_plugin; }
