/* Opaque mutant: an engine's waiter list for Atomics.wait / waitAsync / notify whose waiter compares the cell
 * with the expected value before it takes the list lock and enqueues itself. The spec puts the compare and the
 * enqueue inside one critical section (the WaiterList's) because notify takes the same lock: here a store of a
 * new value plus a notify that lands between the compare and the enqueue finds an empty list and returns 0, and
 * the waiter then enqueues itself for a value the cell no longer holds and sleeps until its timeout (or forever).
 * This is the lost wakeup of early JavaScript engines' futex-based Atomics.wait implementations (and of every
 * "check, then park" emulation of futex in user space): the value check ran outside the lock that notify
 * serialises on. The window is the few instructions between the seq_cst load and taking the spinlock; nothing
 * in the library widens it.
 *
 * Build with -DJOSTLE_OPAQUE_FIXED for the fixed library: the compare moves under the list lock, next to the
 * enqueue (the only difference between the two builds).
 *
 * Layout: one doubly-linked list of nodes per waiter-list object, in arrival order across all cells (a cell's
 * FIFO is its nodes in list order), under one spinlock. A sync waiter's node lives on its stack and it sleeps on
 * the node's futex word; an async waiter's node is on the heap, and a timed one gets a detached timer thread
 * that sleeps on the same word until the deadline (as the example plugin does). notify unlinks, marks and
 * wakes under the lock; settle callbacks run after the unlock. */
#include <pthread.h>
#include <stdlib.h>

#include "opaque_common.h"

typedef struct owl_node {
  struct owl_node *next, *prev;
  void* cell;
  _Atomic uint32_t state; /* the futex word: 0 in the list (or timed out), 1 removed by notify */
  int is_async, has_timer;
  int64_t deadline; /* -1: none */
  jostle_settle_fn settle;
  void* arg;
  struct owl* owner;
} owl_node;

typedef struct owl {
  _Atomic uint32_t lock;
  _Atomic uint32_t timers; /* live timer threads: destroy waits for them to leave */
  owl_node head;           /* sentinel */
} owl;

static void owl_init(void* p) {
  owl* w = p;
  atomic_init(&w->lock, 0);
  atomic_init(&w->timers, 0);
  w->head.next = w->head.prev = &w->head;
}

static void owl_destroy(void* p) {
  owl* w = p;
  /* No waiter is pending, but a timer thread whose waiter was notified may not have taken the lock yet. */
  while (atomic_load(&w->timers) != 0) sched_yield();
}

static void owl_link(owl* w, owl_node* n) {
  n->prev = w->head.prev;
  n->next = &w->head;
  w->head.prev->next = n;
  w->head.prev = n;
}

static void owl_unlink(owl_node* n) {
  n->prev->next = n->next;
  n->next->prev = n->prev;
  n->next = n->prev = NULL;
}

static int64_t owl_load(void* cell, unsigned width) {
  return width == 4 ? (int64_t)__atomic_load_n((int32_t*)cell, __ATOMIC_SEQ_CST)
                    : __atomic_load_n((int64_t*)cell, __ATOMIC_SEQ_CST);
}

static int64_t owl_deadline(int64_t timeout_ns) {
  if (timeout_ns < 0) return -1;
  const int64_t now = op_now_ns();
  return timeout_ns > INT64_MAX - now ? -1 : now + timeout_ns;
}

/* The critical section shared by wait and waitAsync: compare, then link n. Returns JOSTLE_OK with the lock HELD
 * and n linked, or JOSTLE_AGAIN / JOSTLE_TIMEDOUT (timeout 0) with the lock released and n not linked. */
static int owl_enqueue_if_equal(owl* w, owl_node* n, unsigned width, int64_t expected, int64_t timeout_ns) {
#ifdef JOSTLE_OPAQUE_FIXED
  op_spin_lock(&w->lock);
  if (owl_load(n->cell, width) != expected) {
    op_spin_unlock(&w->lock);
    return JOSTLE_AGAIN;
  }
  if (timeout_ns == 0) {
    op_spin_unlock(&w->lock);
    return JOSTLE_TIMEDOUT;
  }
#else
  /* The defect: the compare runs before the lock that notify takes. A store + notify in between finds no
     waiter, and this one then enqueues itself for a value the cell no longer holds. */
  if (owl_load(n->cell, width) != expected) return JOSTLE_AGAIN;
  if (timeout_ns == 0) return JOSTLE_TIMEDOUT;
  op_spin_lock(&w->lock);
#endif
  owl_link(w, n);
  return JOSTLE_OK;
}

static int owl_wait(void* p, void* cell, unsigned width, int64_t expected, int64_t timeout_ns) {
  owl* w = p;
  owl_node n = {.cell = cell, .deadline = owl_deadline(timeout_ns)};
  atomic_init(&n.state, 0);
  const int rc = owl_enqueue_if_equal(w, &n, width, expected, timeout_ns);
  if (rc != JOSTLE_OK) return rc;
  op_spin_unlock(&w->lock);
  while (atomic_load_explicit(&n.state, memory_order_acquire) == 0) {
    int64_t left = -1;
    if (n.deadline >= 0) {
      left = n.deadline - op_now_ns();
      if (left <= 0) {
        /* Still in the list decides, not the clock: a notify that removed us wins over the deadline. */
        op_spin_lock(&w->lock);
        const int notified = atomic_load_explicit(&n.state, memory_order_acquire) != 0;
        if (!notified) owl_unlink(&n);
        op_spin_unlock(&w->lock);
        return notified ? JOSTLE_OK : JOSTLE_TIMEDOUT;
      }
    }
    op_futex_wait(&n.state, 0, left); /* woken, spurious, EINTR or timed out: the loop decides */
  }
  /* notify marks and wakes under the lock: once we hold it, notify has left our node (on our stack). */
  op_spin_lock(&w->lock);
  op_spin_unlock(&w->lock);
  return JOSTLE_OK;
}

static void* owl_timer(void* p) {
  owl_node* n = p;
  owl* w = n->owner;
  while (atomic_load_explicit(&n->state, memory_order_acquire) == 0) {
    const int64_t left = n->deadline - op_now_ns();
    if (left <= 0) break;
    op_futex_wait(&n->state, 0, left);
  }
  op_spin_lock(&w->lock);
  const int timed_out = atomic_load_explicit(&n->state, memory_order_acquire) == 0;
  if (timed_out) owl_unlink(n);
  op_spin_unlock(&w->lock);
  /* Either way this thread owns the node now: notify settled it (if it removed it) and left it alone. */
  if (timed_out) n->settle(n->arg, JOSTLE_TIMEDOUT);
  free(n);
  atomic_fetch_sub(&w->timers, 1); /* last touch of the list */
  return NULL;
}

static int owl_wait_async(void* p, void* cell, unsigned width, int64_t expected, int64_t timeout_ns,
                          jostle_settle_fn settle, void* arg) {
  owl* w = p;
  owl_node* n = calloc(1, sizeof *n);
  if (n == NULL) abort();
  n->cell = cell;
  n->is_async = 1;
  n->settle = settle;
  n->arg = arg;
  n->owner = w;
  n->deadline = owl_deadline(timeout_ns);
  atomic_init(&n->state, 0);
  const int rc = owl_enqueue_if_equal(w, n, width, expected, timeout_ns);
  if (rc != JOSTLE_OK) {
    free(n);
    return rc;
  }
  if (n->deadline >= 0) {
    /* Started under the lock, so notify sees has_timer as it will stay. */
    pthread_t t;
    pthread_attr_t a;
    pthread_attr_init(&a);
    pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
    atomic_fetch_add(&w->timers, 1);
    n->has_timer = pthread_create(&t, &a, owl_timer, n) == 0;
    if (!n->has_timer) abort(); /* no way to honour the deadline */
    pthread_attr_destroy(&a);
  }
  op_spin_unlock(&w->lock);
  return JOSTLE_OK;
}

#define OWL_BATCH 64

static uint64_t owl_notify(void* p, void* cell, uint64_t count) {
  owl* w = p;
  uint64_t removed = 0;
  while (removed < count) {
    /* Async settlements run outside the lock, in batches of OWL_BATCH. */
    jostle_settle_fn fns[OWL_BATCH];
    void* args[OWL_BATCH];
    owl_node* frees[OWL_BATCH];
    size_t nsettle = 0, nfree = 0;
    int more = 0;
    op_spin_lock(&w->lock);
    for (owl_node* n = w->head.next; n != &w->head && removed < count;) {
      owl_node* next = n->next;
      if (n->cell == cell) {
        if (n->is_async && nsettle == OWL_BATCH) {
          more = 1;
          break;
        }
        owl_unlink(n);
        ++removed;
        if (n->is_async) {
          fns[nsettle] = n->settle;
          args[nsettle] = n->arg;
          ++nsettle;
          if (n->has_timer) {
            atomic_store_explicit(&n->state, 1, memory_order_release);
            op_futex_wake(&n->state, 1); /* the timer frees the node once it holds the lock */
          } else {
            frees[nfree++] = n;
          }
        } else {
          atomic_store_explicit(&n->state, 1, memory_order_release);
          op_futex_wake(&n->state, 1); /* under the lock: the waiter takes it before its node goes */
        }
      }
      n = next;
    }
    op_spin_unlock(&w->lock);
    for (size_t i = 0; i < nsettle; ++i) fns[i](args[i], JOSTLE_OK);
    for (size_t i = 0; i < nfree; ++i) free(frees[i]);
    if (!more) break;
  }
  return removed;
}

static size_t owl_count(void* p, void* cell) {
  owl* w = p;
  size_t c = 0;
  op_spin_lock(&w->lock);
  for (owl_node* n = w->head.next; n != &w->head; n = n->next) c += n->cell == cell;
  op_spin_unlock(&w->lock);
  return c;
}

static const jostle_waiter_list_ops owl_ops = {.size = sizeof(owl),
                                               .align = _Alignof(owl),
                                               .init = owl_init,
                                               .destroy = owl_destroy,
                                               .wait = owl_wait,
                                               .wait_async = owl_wait_async,
                                               .notify = owl_notify,
                                               .waiter_count = owl_count,
                                               .on_write = NULL};

static const jostle_plugin owl_plugin = {
    .abi_version = JOSTLE_PLUGIN_ABI_VERSION,
    .struct_size = sizeof(jostle_plugin),
    .name = "opaque_waiter_list",
#ifdef JOSTLE_OPAQUE_FIXED
    .description = "Atomics waiter list, compare and enqueue under one lock (the fixed build)",
#else
    .description = "Atomics waiter list whose wait compares the cell before taking the list lock (natural window)",
#endif
    .waiter_list = &owl_ops};

__attribute__((visibility("default"))) const jostle_plugin* jostle_plugin_entry(void) { return &owl_plugin; }
