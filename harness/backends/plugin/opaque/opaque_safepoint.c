/* Opaque mutant: a VM's stop-the-world safepoint whose attach tests the "stop requested" flag and then, as a
 * separate step, increments the attached-mutator count (check-then-act). stop_the_world() publishes the request
 * and then waits until as many mutators are stopped in poll() as the count says. A thread that attaches in
 * between has passed the test but is not yet counted: the collector returns without it, and the new mutator
 * runs during the stopped phase (until its first poll). The window is the few instructions between the load of
 * the flag and the increment. This is the race of VM thread-registration paths that consult the suspend /
 * safepoint state outside the lock (or the counter) the collector uses to enumerate mutators: a thread attaching
 * from native code while the world is being stopped slips past the collector (the attach/suspend-all races of
 * JVM/ART/Mono-style runtimes, where registration must happen under the lock the stopper holds, or announce
 * itself first and then check).
 *
 * Built with -DJOSTLE_OPAQUE_FIXED the same file is the fixed library: attach announces itself first (increment)
 * and then tests the flag, backing out (decrement, wake the collector, wait for the resume) if a stop is
 * requested; with both sides sequentially consistent, either the collector counts the newcomer or the newcomer
 * sees the request.
 *
 * Everything else is meant to be correct: poll() acknowledges a stop in a word stamped with the stop's phase (a
 * late acknowledgement from an earlier phase cannot count for a newer one), detach() during a pending stop wakes
 * the collector, which re-reads the count, and resume() releases both the stopped mutators and the threads
 * waiting in attach() (they all wait on the phase word). */
#include "opaque_common.h"

typedef struct {
  _Atomic uint32_t phase;    /* futex word: odd while a stop is requested (until resume), even while running */
  _Atomic uint32_t attached; /* mutators attached */
  _Atomic uint32_t ack;      /* (phase stamp << 16) | mutators stopped in poll() during that phase */
  _Atomic uint32_t changed;  /* futex word of the collector: bumped by every acknowledgement and detach */
  _Atomic uint64_t next_id;
} osp;

#define OSP_STAMP(p) ((((p) >> 1) & 0xffffu) << 16)
#define OSP_COUNT(a) ((a) & 0xffffu)

static void osp_init(void* p) {
  osp* s = p;
  atomic_init(&s->phase, 0);
  atomic_init(&s->attached, 0);
  atomic_init(&s->ack, 0);
  atomic_init(&s->changed, 0);
  atomic_init(&s->next_id, 1);
}
static void osp_destroy(void* p) { (void)p; }

static void osp_kick_collector(osp* s) {
  atomic_fetch_add(&s->changed, 1);
  op_futex_wake(&s->changed, 1); /* one collector at a time */
}

static uint64_t osp_attach(void* p) {
  osp* s = p;
  for (;;) {
#ifdef JOSTLE_OPAQUE_FIXED
    /* Announce, then check: a collector that published its request before our increment sees us in its count;
       one that published after sees the increment. If a stop is requested, back out and wait for the resume. */
    atomic_fetch_add(&s->attached, 1);
    const uint32_t ph = atomic_load(&s->phase);
    if ((ph & 1u) == 0) break;
    atomic_fetch_sub(&s->attached, 1);
    osp_kick_collector(s); /* it may be waiting for us */
    op_futex_wait(&s->phase, ph, -1);
#else
    const uint32_t ph = atomic_load(&s->phase);
    if (ph & 1u) {
      op_futex_wait(&s->phase, ph, -1); /* a stop is in progress: wait for the resume */
      continue;
    }
    /* The defect: the flag was tested above and the mutator is counted only here. A stop_the_world() that
       publishes its request and reads the count in between does not wait for this thread. */
    atomic_fetch_add(&s->attached, 1);
    break;
#endif
  }
  return atomic_fetch_add(&s->next_id, 1);
}

static void osp_detach(void* p, uint64_t id) {
  osp* s = p;
  (void)id;
  atomic_fetch_sub(&s->attached, 1);
  osp_kick_collector(s); /* a pending stop no longer waits for us */
}

static void osp_poll(void* p, uint64_t id) {
  osp* s = p;
  (void)id;
  for (;;) {
    const uint32_t ph = atomic_load_explicit(&s->phase, memory_order_acquire);
    if ((ph & 1u) == 0) return; /* the fast path: one load */
    /* Acknowledge this phase's request, unless the phase is already over (the stamp moved on). */
    uint32_t a = atomic_load(&s->ack);
    int acked = 0;
    while ((a & 0xffff0000u) == OSP_STAMP(ph)) {
      if (atomic_compare_exchange_weak(&s->ack, &a, a + 1)) {
        acked = 1;
        break;
      }
    }
    if (!acked) continue; /* a newer phase: read the word again */
    osp_kick_collector(s);
    while (atomic_load(&s->phase) == ph) op_futex_wait(&s->phase, ph, -1);
    return;
  }
}

static void osp_stop(void* p) {
  osp* s = p;
  const uint32_t ph = atomic_load(&s->phase) + 1; /* odd: one collector at a time, so no one else moves it */
  atomic_store(&s->ack, OSP_STAMP(ph));           /* this phase's count, before any mutator can see the request */
  atomic_store(&s->phase, ph);                    /* publish the request */
  for (;;) {
    const uint32_t c = atomic_load(&s->changed);
    if (OSP_COUNT(atomic_load(&s->ack)) >= atomic_load(&s->attached)) return;
    op_futex_wait(&s->changed, c, -1);
  }
}

static void osp_resume(void* p) {
  osp* s = p;
  atomic_fetch_add(&s->phase, 1); /* even again */
  op_futex_wake(&s->phase, INT_MAX); /* the stopped mutators and the threads waiting in attach() */
}

static const jostle_safepoint_ops osp_ops = {.size = sizeof(osp), .align = _Alignof(osp), .init = osp_init,
                                             .destroy = osp_destroy, .attach = osp_attach, .detach = osp_detach,
                                             .poll = osp_poll, .stop_the_world = osp_stop, .resume = osp_resume};

static const jostle_plugin osp_plugin = {
    .abi_version = JOSTLE_PLUGIN_ABI_VERSION,
    .struct_size = sizeof(jostle_plugin),
    .name = "opaque_safepoint",
#ifdef JOSTLE_OPAQUE_FIXED
    .description = "stop-the-world safepoint whose attach announces itself before testing the stop flag (fixed)",
#else
    .description = "stop-the-world safepoint whose attach tests the stop flag before counting itself (natural window)",
#endif
    .safepoint = &osp_ops};

__attribute__((visibility("default"))) const jostle_plugin* jostle_plugin_entry(void) { return &osp_plugin; }
