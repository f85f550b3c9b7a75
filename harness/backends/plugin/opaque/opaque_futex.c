/* Opaque mutant: a futex emulated in user space (a waiter list per address bucket, each waiter parked on its own
 * word), with the historical check-then-enqueue defect: the value check happens before the waiter is queued
 * under the bucket lock, so a waker that changes the word and wakes in between finds nobody to wake (a lost
 * wakeup; the window is a few instructions wide, nothing widens it). */
#include "opaque_common.h"

struct waiter {
  uint32_t* addr;
  _Atomic uint32_t ready;
  struct waiter* next;
};

struct bucket {
  _Atomic uint32_t lock;
  struct waiter* head;
};

static struct bucket buckets[64];

static struct bucket* bucket_of(uint32_t* addr) { return &buckets[((uintptr_t)addr >> 2) % 64]; }

static void unlink_waiter(struct bucket* b, struct waiter* w) {
  for (struct waiter** p = &b->head; *p; p = &(*p)->next) {
    if (*p == w) {
      *p = w->next;
      return;
    }
  }
}

static int of_wait(uint32_t* word, uint32_t expected, int64_t timeout_ns) {
  struct bucket* b = bucket_of(word);
  struct waiter w = {word, 0, NULL};
  const int64_t deadline = timeout_ns >= 0 ? op_now_ns() + timeout_ns : -1;
  /* The defect: check, then enqueue. The correct order takes the bucket lock first. */
  if (__atomic_load_n(word, __ATOMIC_SEQ_CST) != expected) return JOSTLE_AGAIN;
  op_spin_lock(&b->lock);
  w.next = b->head;
  b->head = &w;
  op_spin_unlock(&b->lock);
  while (atomic_load_explicit(&w.ready, memory_order_acquire) == 0) {
    int64_t left = -1;
    if (deadline >= 0) {
      left = deadline - op_now_ns();
      if (left <= 0) {
        op_spin_lock(&b->lock);
        const int woken = atomic_load_explicit(&w.ready, memory_order_acquire) != 0;
        if (!woken) unlink_waiter(b, &w);
        op_spin_unlock(&b->lock);
        return woken ? JOSTLE_OK : JOSTLE_TIMEDOUT;
      }
    }
    op_futex_wait(&w.ready, 0, left);
  }
  return JOSTLE_OK;
}

static int of_wake(uint32_t* word, int n) {
  struct bucket* b = bucket_of(word);
  int woken = 0;
  op_spin_lock(&b->lock);
  for (struct waiter** p = &b->head; *p && woken < n;) {
    struct waiter* w = *p;
    if (w->addr != word) {
      p = &w->next;
      continue;
    }
    *p = w->next;
    atomic_store_explicit(&w->ready, 1, memory_order_release);
    op_futex_wake(&w->ready, 1); /* under the lock: w may return (and its stack go) once ready is seen */
    ++woken;
  }
  op_spin_unlock(&b->lock);
  return woken;
}

static const jostle_futex_ops of_ops = {.wait = of_wait, .wake = of_wake};

static const jostle_plugin of_plugin = {
    .abi_version = JOSTLE_PLUGIN_ABI_VERSION,
    .struct_size = sizeof(jostle_plugin),
    .name = "opaque_futex",
    .description = "user-space futex emulation with a natural check-then-enqueue window",
    .futex = &of_ops};

__attribute__((visibility("default"))) const jostle_plugin* jostle_plugin_entry(void) { return &of_plugin; }
