/* Opaque mutant: a reset event whose waiter tests the flag first and reads the futex generation after (the late
 * snapshot, the lost wakeup of hand-written events and of condvars that sample their sequence too late). A set()
 * that lands between the test and the read has already bumped the generation and woken nobody; the waiter then
 * sleeps on the new generation with the event set, until the next set(). The window is the two loads. */
#include "opaque_common.h"

typedef struct {
  _Atomic uint32_t state; /* 1 set, 0 unset */
  _Atomic uint32_t gen;   /* the futex word: bumped by every set() */
} oev;

static void oev_init(void* p) {
  oev* e = p;
  atomic_init(&e->state, 0);
  atomic_init(&e->gen, 0);
}
static void oev_destroy(void* p) { (void)p; }

static void oev_set(void* p) {
  oev* e = p;
  atomic_store(&e->state, 1);
  atomic_fetch_add(&e->gen, 1);
  op_futex_wake(&e->gen, INT_MAX);
}

static void oev_reset(void* p) { atomic_store(&((oev*)p)->state, 0); }
static int oev_is_set(void* p) { return atomic_load(&((oev*)p)->state) != 0; }

/* deadline_ns < 0: none. */
static int oev_wait_until(oev* e, int64_t deadline_ns) {
  while (atomic_load(&e->state) == 0) {
    /* The defect: the generation is read after the flag. The correct order reads it first, so that a set()
       between the two makes the futex wait return at once. */
    const uint32_t g = atomic_load(&e->gen);
    int64_t left = -1;
    if (deadline_ns >= 0) {
      left = deadline_ns - op_now_ns();
      if (left <= 0) return JOSTLE_TIMEDOUT;
    }
    op_futex_wait(&e->gen, g, left);
  }
  return JOSTLE_OK;
}

static void oev_wait(void* p) { (void)oev_wait_until(p, -1); }

static int oev_timed_wait(void* p, int64_t timeout_ns) {
  oev* e = p;
  if (timeout_ns <= 0) return atomic_load(&e->state) != 0 ? JOSTLE_OK : JOSTLE_TIMEDOUT;
  return oev_wait_until(e, op_now_ns() + timeout_ns);
}

static const jostle_event_ops oev_ops = {.size = sizeof(oev), .align = _Alignof(oev), .init = oev_init,
                                         .destroy = oev_destroy, .set = oev_set, .reset = oev_reset,
                                         .is_set = oev_is_set, .wait = oev_wait, .timed_wait = oev_timed_wait};

static const jostle_plugin oev_plugin = {
    .abi_version = JOSTLE_PLUGIN_ABI_VERSION,
    .struct_size = sizeof(jostle_plugin),
    .name = "opaque_event",
    .description = "reset event whose waiter reads the futex generation after testing the flag (natural window)",
    .event = &oev_ops};

__attribute__((visibility("default"))) const jostle_plugin* jostle_plugin_entry(void) { return &oev_plugin; }
