/* Opaque mutant: a bounded channel with direct hand-off (a sender that finds a receiver waiting gives it the
 * item in its wait slot, as Go's channels and Java's SynchronousQueue do), whose timed-out receiver decides that
 * it timed out from a load of its slot taken before it locks the channel to unlink itself. A sender that takes
 * the lock in between pops the receiver's slot, writes the item into it and marks it done; the receiver then
 * finds its slot already unlinked, returns "timed out", and the item, for which the sender got JOSTLE_OK, is
 * never received (check-then-act on cancellation: a lost item). This is the cancel-versus-fulfil race of
 * hand-off queues: a waiter that gives up has to settle with a fulfiller in one atomic step (SynchronousQueue's
 * waiter cancels with a CAS on its node's match field, the same field a fulfiller CASes; a Go select's waiter
 * and a fulfiller race on one CAS of selectDone), and code that tests its slot and then unlinks loses whatever
 * was handed over in between. The window is the lock acquisition after the load of the slot (longer only while
 * another thread holds the lock); nothing in the library widens it.
 *
 * Build with -DJOSTLE_OPAQUE_FIXED for the fixed library: the timed-out receiver re-reads its slot under the
 * lock and takes a hand-off that beat it (the only difference between the two builds).
 *
 * Layout, all under one spinlock (opaque_common.h): a heap ring of `capacity` slots (head, len), the closed flag
 * and a FIFO of waiting receivers (nodes on the receivers' stacks). A receiver waits only while the ring is
 * empty, so a sender with a receiver queued hands off and leaves the ring alone. A receiver sleeps on its node's
 * state word (WAITING -> DONE with the item, or CLOSED), which the sender or close() sets under the lock; the
 * sender's wake comes after the unlock and touches nothing in the node (a stale wake is a spurious one).
 * Senders blocked on a full ring sleep on one sequence word, read before the test (correct), bumped by every
 * receive from a full ring and by close(). */
#include <stdlib.h>

#include "opaque_common.h"

enum { OCH_WAITING = 0, OCH_DONE = 1, OCH_CLOSED = 2 };

typedef struct och_node {
  struct och_node *prev, *next;
  int linked;             /* under the channel lock */
  _Atomic uint32_t state; /* futex word: OCH_WAITING, then OCH_DONE (value set) or OCH_CLOSED */
  uint64_t value;
} och_node;

typedef struct {
  _Atomic uint32_t lock;
  _Atomic uint32_t send_seq; /* futex word of blocked senders: bumped by a receive from a full ring and by close */
  int closed;                /* the rest: under lock */
  size_t cap, head, len;
  uint64_t* ring;
  och_node *rq_head, *rq_tail; /* waiting receivers, oldest first */
} och;

static void och_init(void* p, size_t capacity) {
  och* c = p;
  atomic_init(&c->lock, 0);
  atomic_init(&c->send_seq, 0);
  c->closed = 0;
  c->cap = capacity ? capacity : 1;
  c->head = c->len = 0;
  c->ring = calloc(c->cap, sizeof(uint64_t));
  if (!c->ring) abort();
  c->rq_head = c->rq_tail = NULL;
}

static void och_destroy(void* p) { free(((och*)p)->ring); }

/* Queue of waiting receivers; under the lock. */
static void och_enqueue(och* c, och_node* n) {
  n->next = NULL;
  n->prev = c->rq_tail;
  if (c->rq_tail) c->rq_tail->next = n;
  else c->rq_head = n;
  c->rq_tail = n;
  n->linked = 1;
}

static void och_unlink(och* c, och_node* n) {
  if (!n->linked) return;
  if (n->prev) n->prev->next = n->next;
  else c->rq_head = n->next;
  if (n->next) n->next->prev = n->prev;
  else c->rq_tail = n->prev;
  n->prev = n->next = NULL;
  n->linked = 0;
}


static void och_bump_senders(och* c) {
  atomic_fetch_add(&c->send_seq, 1);
  op_futex_wake(&c->send_seq, INT_MAX);
}

/* One attempt: JOSTLE_OK (handed off or buffered), JOSTLE_CLOSED or JOSTLE_FULL. */
static int och_try_send_once(och* c, uint64_t v) {
  op_spin_lock(&c->lock);
  if (c->closed) {
    op_spin_unlock(&c->lock);
    return JOSTLE_CLOSED;
  }
  och_node* const n = c->rq_head;
  if (n) { /* a receiver is waiting (so the ring is empty): hand the item over */
    och_unlink(c, n);
    n->value = v;
    atomic_store(&n->state, OCH_DONE);
    op_spin_unlock(&c->lock);
    /* After the store the owner may return at any time: the wake only names the address (FUTEX_WAKE reads
       nothing there), and a stale wake is a spurious one, which every futex waiter tolerates. */
    op_futex_wake(&n->state, 1);
    return JOSTLE_OK;
  }
  if (c->len == c->cap) {
    op_spin_unlock(&c->lock);
    return JOSTLE_FULL;
  }
  c->ring[(c->head + c->len) % c->cap] = v;
  ++c->len;
  op_spin_unlock(&c->lock);
  return JOSTLE_OK;
}

/* deadline_ns < 0: none. */
static int och_send_until(och* c, uint64_t v, int64_t deadline_ns) {
  for (;;) {
    const uint32_t s = atomic_load(&c->send_seq); /* before the test: a receive after it makes the wait return */
    const int rc = och_try_send_once(c, v);
    if (rc != JOSTLE_FULL) return rc;
    int64_t left = -1;
    if (deadline_ns >= 0) {
      left = deadline_ns - op_now_ns();
      if (left <= 0) return JOSTLE_TIMEDOUT;
    }
    op_futex_wait(&c->send_seq, s, left);
  }
}

/* Receives. deadline_ns < 0: none; try_only: never waits (JOSTLE_EMPTY). */
static int och_recv_until(och* c, uint64_t* out, int64_t deadline_ns, int try_only) {
  op_spin_lock(&c->lock);
  if (c->len > 0) {
    *out = c->ring[c->head];
    c->head = (c->head + 1) % c->cap;
    const int was_full = c->len-- == c->cap;
    op_spin_unlock(&c->lock);
    if (was_full) och_bump_senders(c);
    return JOSTLE_OK;
  }
  if (c->closed || try_only) {
    const int closed = c->closed;
    op_spin_unlock(&c->lock);
    return closed ? JOSTLE_CLOSED : JOSTLE_EMPTY;
  }
  och_node n;
  atomic_init(&n.state, OCH_WAITING);
  n.value = 0;
  och_enqueue(c, &n);
  op_spin_unlock(&c->lock);

  for (;;) {
    int64_t left = -1;
    if (deadline_ns >= 0) {
      left = deadline_ns - op_now_ns();
      if (left <= 0) break; /* timed out */
    }
    op_futex_wait(&n.state, OCH_WAITING, left);
    if (atomic_load(&n.state) != OCH_WAITING) break;
  }

  uint32_t st = atomic_load(&n.state);
  if (st == OCH_WAITING) { /* timed out: unlink the node, unless a sender or close() settled it meanwhile */
    op_spin_lock(&c->lock);
#ifdef JOSTLE_OPAQUE_FIXED
    /* Fixed: re-read the slot under the lock; a sender (or close) that got the lock first has settled it. */
    st = atomic_load(&n.state);
#endif
    /* The defect: `st` is the load taken before the lock, so a hand-off between that load and the lock is not
       seen; the node is already unlinked (a no-op below) and the item in n.value is dropped. */
    if (st == OCH_WAITING) {
      och_unlink(c, &n);
      op_spin_unlock(&c->lock);
      return JOSTLE_TIMEDOUT;
    }
    op_spin_unlock(&c->lock);
  }
  if (st == OCH_DONE) {
    *out = n.value;
    return JOSTLE_OK;
  }
  return JOSTLE_CLOSED; /* closed while waiting: the ring was empty, and close() admits no more sends */
}

static int och_send(void* p, uint64_t v) { return och_send_until(p, v, -1); }
static int och_try_send(void* p, uint64_t v) { return och_try_send_once(p, v); }
static int och_timed_send(void* p, uint64_t v, int64_t timeout_ns) {
  if (timeout_ns <= 0) {
    const int rc = och_try_send_once(p, v);
    return rc == JOSTLE_FULL ? JOSTLE_TIMEDOUT : rc;
  }
  return och_send_until(p, v, op_now_ns() + timeout_ns);
}

static int och_recv(void* p, uint64_t* out) { return och_recv_until(p, out, -1, 0); }
static int och_try_recv(void* p, uint64_t* out) { return och_recv_until(p, out, -1, 1); }
static int och_timed_recv(void* p, uint64_t* out, int64_t timeout_ns) {
  if (timeout_ns <= 0) {
    const int rc = och_recv_until(p, out, -1, 1);
    return rc == JOSTLE_EMPTY ? JOSTLE_TIMEDOUT : rc;
  }
  return och_recv_until(p, out, op_now_ns() + timeout_ns, 0);
}

static void och_close(void* p) {
  och* c = p;
  op_spin_lock(&c->lock);
  c->closed = 1;
  while (c->rq_head) {
    och_node* const n = c->rq_head;
    och_unlink(c, n);
    atomic_store(&n->state, OCH_CLOSED);
    op_futex_wake(&n->state, 1); /* under the lock here: close() is rare, and the next node is read after */
  }
  op_spin_unlock(&c->lock);
  och_bump_senders(c);
}

static const jostle_channel_ops och_ops = {.size = sizeof(och),
                                           .align = _Alignof(och),
                                           .init = och_init,
                                           .destroy = och_destroy,
                                           .send = och_send,
                                           .try_send = och_try_send,
                                           .timed_send = och_timed_send,
                                           .recv = och_recv,
                                           .try_recv = och_try_recv,
                                           .timed_recv = och_timed_recv,
                                           .close = och_close};

static const jostle_plugin och_plugin = {
    .abi_version = JOSTLE_PLUGIN_ABI_VERSION,
    .struct_size = sizeof(jostle_plugin),
    .name = "opaque_channel",
#ifdef JOSTLE_OPAQUE_FIXED
    .description = "hand-off channel whose timed-out receiver re-reads its slot under the lock (the fixed build)",
#else
    .description = "hand-off channel whose timed-out receiver trusts a load of its slot taken before the lock "
                   "(natural window)",
#endif
    .channel = &och_ops};

__attribute__((visibility("default"))) const jostle_plugin* jostle_plugin_entry(void) { return &och_plugin; }
