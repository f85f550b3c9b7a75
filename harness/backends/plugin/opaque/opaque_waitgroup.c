/* Opaque mutant: a wait group whose last finish clears its state word with a load and a plain store instead of
 * one compare-and-swap (the lost update of packed counter/waiter words, cf. Go's WaitGroup state). A waiter
 * that registers between the finisher's load and its store is erased from the word, the finisher saw no waiter
 * and wakes nobody, and the waiter sleeps with the counter at 0. The window is the load and the store. */
#include "opaque_common.h"

typedef struct {
  _Atomic uint64_t state; /* high 32 bits: outstanding work; low 32: registered waiters */
  _Atomic uint32_t gen;   /* the futex word: bumped by the finish that releases waiters */
} owg;

static void owg_init(void* p) {
  owg* g = p;
  atomic_init(&g->state, 0);
  atomic_init(&g->gen, 0);
}
static void owg_destroy(void* p) { (void)p; }

static void owg_start(void* p, uint32_t n) { atomic_fetch_add(&((owg*)p)->state, (uint64_t)n << 32); }

static void owg_finish(void* p) {
  owg* g = p;
  uint64_t s = atomic_load(&g->state);
  for (;;) {
    if ((s >> 32) == 1) {
      /* The defect: the last finish clears the word with a plain store. The correct code compare-and-swaps
         s -> 0, so that a waiter registering in between makes it retry and see the waiter. */
      atomic_store(&g->state, 0);
      if ((uint32_t)s != 0) {
        atomic_fetch_add(&g->gen, 1);
        op_futex_wake(&g->gen, INT_MAX);
      }
      return;
    }
    if (atomic_compare_exchange_weak(&g->state, &s, s - ((uint64_t)1 << 32))) return;
  }
}

static void owg_wait(void* p) {
  owg* g = p;
  uint32_t gen = atomic_load(&g->gen);
  uint64_t s = atomic_load(&g->state);
  for (;;) {
    if ((s >> 32) == 0) return;
    if (atomic_compare_exchange_weak(&g->state, &s, s + 1)) break;
  }
  for (;;) {
    op_futex_wait(&g->gen, gen, -1);
    gen = atomic_load(&g->gen);
    if ((atomic_load(&g->state) >> 32) == 0) return;
  }
}

static int owg_is_done(void* p) { return (atomic_load(&((owg*)p)->state) >> 32) == 0; }
static void owg_reset(void* p) { atomic_store(&((owg*)p)->state, 0); }

static const jostle_waitgroup_ops owg_ops = {.size = sizeof(owg), .align = _Alignof(owg), .init = owg_init,
                                             .destroy = owg_destroy, .start = owg_start, .finish = owg_finish,
                                             .wait = owg_wait, .is_done = owg_is_done, .reset = owg_reset};

static const jostle_plugin owg_plugin = {
    .abi_version = JOSTLE_PLUGIN_ABI_VERSION,
    .struct_size = sizeof(jostle_plugin),
    .name = "opaque_waitgroup",
    .description = "wait group whose last finish clears its state word with a load and a store (natural window)",
    .waitgroup = &owg_ops};

__attribute__((visibility("default"))) const jostle_plugin* jostle_plugin_entry(void) { return &owg_plugin; }
