/* Opaque mutant: a counting semaphore whose release reads the sleeper count before publishing the permit (the
 * lost-wakeup shape of early futex semaphores: the "are there waiters?" test must come after the increment that
 * a waiter's futex check can see). An acquirer that announces itself and goes to sleep between the poster's read
 * and its increment sleeps on a semaphore that holds a permit, and nobody wakes it until the next release.
 * The window is the two instructions between the read and the increment. */
#include "opaque_common.h"

typedef struct {
  _Atomic uint32_t value;    /* permits available; the futex word */
  _Atomic uint32_t sleepers; /* acquirers between announcing themselves and leaving the futex wait */
} osem;

static void osem_init(void* p, uint32_t initial) {
  osem* s = p;
  atomic_init(&s->value, initial);
  atomic_init(&s->sleepers, 0);
}
static void osem_destroy(void* p) { (void)p; }

static int osem_try_acquire(void* p) {
  osem* s = p;
  uint32_t v = atomic_load(&s->value);
  while (v > 0) {
    if (atomic_compare_exchange_weak(&s->value, &v, v - 1)) return 1;
  }
  return 0;
}

/* deadline_ns < 0: none. JOSTLE_OK with one permit taken, or JOSTLE_TIMEDOUT having taken nothing. */
static int osem_acquire_until(osem* s, int64_t deadline_ns) {
  for (;;) {
    if (osem_try_acquire(s)) return JOSTLE_OK;
    int64_t left = -1;
    if (deadline_ns >= 0) {
      left = deadline_ns - op_now_ns();
      if (left <= 0) return JOSTLE_TIMEDOUT;
    }
    atomic_fetch_add(&s->sleepers, 1);
    op_futex_wait(&s->value, 0, left);
    atomic_fetch_sub(&s->sleepers, 1);
  }
}

static void osem_acquire(void* p) { (void)osem_acquire_until(p, -1); }

static int osem_timed_acquire(void* p, int64_t timeout_ns) {
  return osem_acquire_until(p, op_now_ns() + (timeout_ns < 0 ? 0 : timeout_ns));
}

static void osem_release(void* p) {
  osem* s = p;
  /* The defect: read the sleepers, then publish. The correct order increments value first, then reads sleepers
     (an acquirer that announced itself after the read then finds value != 0 in its futex check). */
  const uint32_t sleepers = atomic_load(&s->sleepers);
  atomic_fetch_add(&s->value, 1);
  if (sleepers > 0) op_futex_wake(&s->value, 1);
}

static uint32_t osem_permits(void* p) { return atomic_load(&((osem*)p)->value); }

static const jostle_semaphore_ops osem_ops = {.size = sizeof(osem), .align = _Alignof(osem), .init = osem_init,
                                              .destroy = osem_destroy, .acquire = osem_acquire,
                                              .try_acquire = osem_try_acquire, .timed_acquire = osem_timed_acquire,
                                              .release = osem_release, .permits = osem_permits};

static const jostle_plugin osem_plugin = {
    .abi_version = JOSTLE_PLUGIN_ABI_VERSION,
    .struct_size = sizeof(jostle_plugin),
    .name = "opaque_semaphore",
    .description = "counting semaphore whose release reads the sleeper count before publishing the permit "
                   "(natural window)",
    .semaphore = &osem_ops};

__attribute__((visibility("default"))) const jostle_plugin* jostle_plugin_entry(void) { return &osem_plugin; }
