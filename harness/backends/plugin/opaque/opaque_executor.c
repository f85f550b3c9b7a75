/* Opaque mutant: a virtual-thread executor whose park() consumes the permit with an atomic exchange outside the
 * executor's lock (the fast path) and, when there was none, takes the lock, marks the task parked and waits,
 * without testing the permit again under the lock. unpark() takes the lock and either wakes a task marked parked
 * or, finding none, leaves a permit. An unpark that takes the lock between park's exchange and park's own lock
 * acquisition finds the task not yet parked and leaves a permit that the park, now registered, never looks at:
 * the wakeup is lost and the park runs to its timeout (or forever), with a permit pending (lost unpark: the permit
 * test and the sleep registration are two steps, the family of LockSupport.park/unpark and Go runtime
 * notesleep/notewakeup lost wakeups, where a parker has to re-test its permit once it is registered). The window
 * is the lock acquisition after the exchange, longer only while another thread holds the lock (the spinlock then
 * yields the CPU); a task's joiner is such a thread, since it sleeps on the task's word, which each unpark of
 * the parked task bumps, and re-checks under the lock. Nothing in the library widens it.
 *
 * Build with -DJOSTLE_OPAQUE_FIXED for the fixed library: under the lock, park consumes a permit that came
 * meanwhile before it marks itself parked (the only difference between the two builds).
 *
 * Layout: one spinlock per executor (opaque_common.h) guards the executor's counters, its FIFO of admitted tasks
 * waiting for a carrier and every task's state; a detached pthread per running task (a carrier), which takes the
 * next queued task when its own ends. Waits are futex waits on sequence words that are bumped (and woken) under
 * the lock and read under the lock before it is dropped: the executor's (a slot freed, closed, a carrier exited)
 * and each task's (it ended, a cancel request, an unpark that found it parked). The permit is an atomic word,
 * set by unpark under the lock, exchanged by park. Tasks are reference counted (the harness's reference until
 * release, the executor's until the task ended), under the lock. */
#include "opaque_common.h" /* first: it defines _GNU_SOURCE */

#include <pthread.h>
#include <stdlib.h>

enum { OEX_QUEUED = 0, OEX_RUNNING = 1, OEX_ENDED = 2 };

typedef struct oex oex;
typedef struct oex_task {
  oex* ex;
  jostle_vt_body body;
  struct oex_task* next;        /* in the executor's queue */
  _Atomic uint32_t seq;         /* futex word: bumped when it ends, on a cancel request, on an unpark while parked */
  _Atomic uint32_t permit;      /* 1: an unpark is pending; set by unpark under the lock, exchanged by park */
  _Atomic uint32_t cancel_req;  /* set under the lock, read by cancelled() without it */
  int refs, state, queued;      /* the rest: under the lock */
  int parked, woken;            /* in park's wait; an unpark handed to it there */
  int result, joined;
  int64_t value;
} oex_task;

struct oex {
  _Atomic uint32_t lock;
  _Atomic uint32_t seq; /* futex word: bumped when a slot is freed, on close, when a carrier exits */
  jostle_executor_policy policy;
  int admitted, running, threads, closed; /* under lock */
  oex_task *head, *tail;                 /* admitted tasks waiting for a carrier, oldest first */
};

static _Thread_local oex_task* oex_current;

/* A relative timeout as an absolute CLOCK_MONOTONIC deadline; -1 for none (JOSTLE_VT_FOREVER or beyond a year). */
static int64_t oex_deadline(int64_t ns) {
  return ns >= (int64_t)365 * 86400 * 1000000000 ? -1 : op_now_ns() + ns;
}

/* Under ex->lock: bumps a sequence word and wakes its sleepers (under the lock, so the word outlives the wake). */
static void oex_bump(_Atomic uint32_t* word) {
  atomic_fetch_add(word, 1);
  op_futex_wake(word, INT_MAX);
}

/* Under ex->lock: sleeps on `word` until a bump (any bump after this call's read, which is under the lock), a
 * spurious wake or the deadline (-1: none); returns with the lock held again, 0 (without sleeping) once the
 * deadline has passed. */
static int oex_wait_locked(oex* ex, _Atomic uint32_t* word, int64_t deadline) {
  int64_t left = -1;
  if (deadline >= 0) {
    left = deadline - op_now_ns();
    if (left <= 0) return 0;
  }
  const uint32_t s = atomic_load(word);
  op_spin_unlock(&ex->lock);
  op_futex_wait(word, s, left);
  op_spin_lock(&ex->lock);
  return 1;
}

static int oex_init(void* p, const jostle_executor_policy* pol) {
  if (pol->max_carriers < 1 || pol->min_carriers < 0 || pol->min_carriers > pol->max_carriers ||
      pol->queue_limit < 1 || pol->timeout_ns < 0)
    return JOSTLE_INVALID;
  oex* ex = p;
  atomic_init(&ex->lock, 0);
  atomic_init(&ex->seq, 0);
  ex->policy = *pol;
  ex->admitted = ex->running = ex->threads = ex->closed = 0;
  ex->head = ex->tail = NULL;
  return JOSTLE_OK;
}

static void oex_destroy(void* p) { (void)p; /* close() waited for every carrier; no task is queued */ }

static void oex_close(void* p) {
  oex* ex = p;
  op_spin_lock(&ex->lock);
  ex->closed = 1;
  oex_bump(&ex->seq); /* blocked submitters answer JOSTLE_CLOSED */
  while (ex->threads > 0) oex_wait_locked(ex, &ex->seq, -1); /* carriers drain the queue before exiting */
  op_spin_unlock(&ex->lock);
}

static void oex_slots(void* p, int32_t* in_use, int32_t* free_slots, int32_t* limit) {
  oex* ex = p;
  op_spin_lock(&ex->lock);
  *in_use = ex->admitted;
  *free_slots = ex->policy.queue_limit - ex->admitted;
  *limit = ex->policy.queue_limit;
  op_spin_unlock(&ex->lock);
}

/* Under the lock: drops one reference; the last one frees the task. */
static void oex_unref(oex_task* t) {
  if (--t->refs == 0) free(t);
}

/* Under the lock: the task's terminal state, published to its joiners, and its slot given back. */
static void oex_end(oex_task* t, int result, int64_t value) {
  t->state = OEX_ENDED;
  t->result = result;
  t->value = value;
  oex_bump(&t->seq);
  --t->ex->admitted;
  oex_bump(&t->ex->seq);
}

static void* oex_carrier(void* arg) {
  oex_task* t = arg;
  oex* ex = t->ex;
  op_spin_lock(&ex->lock);
  while (t) {
    const jostle_vt_body body = t->body;
    if (atomic_load(&t->cancel_req)) { /* cancelled after it was handed to this carrier: it never starts */
      oex_end(t, JOSTLE_CANCELLED, 0);
      op_spin_unlock(&ex->lock);
      body.drop(body.arg);
      op_spin_lock(&ex->lock);
    } else {
      t->state = OEX_RUNNING;
      op_spin_unlock(&ex->lock);
      int64_t value = 0;
      oex_current = t;
      const int rc = body.run(body.arg, &value);
      oex_current = NULL;
      body.drop(body.arg);
      op_spin_lock(&ex->lock);
      oex_end(t, rc, value);
    }
    oex_unref(t); /* the executor's reference */
    t = ex->head;
    if (t) {
      ex->head = t->next;
      if (!ex->head) ex->tail = NULL;
      t->queued = 0;
    } else {
      --ex->running;
    }
  }
  --ex->threads;
  oex_bump(&ex->seq); /* close() may return, and the executor go, once the lock is dropped */
  op_spin_unlock(&ex->lock);
  return NULL;
}

static int oex_spawn_on(void* p, jostle_vt_body body, void** task) {
  oex* ex = p;
  const int64_t deadline = oex_deadline(ex->policy.timeout_ns);
  op_spin_lock(&ex->lock);
  int rc = JOSTLE_OK;
  for (;;) {
    if (ex->closed) { rc = JOSTLE_CLOSED; break; }
    if (ex->admitted < ex->policy.queue_limit) break;
    if (ex->policy.on_saturation == JOSTLE_SATURATION_BUSY) { rc = JOSTLE_BUSY; break; }
    /* Every freed slot bumps ex->seq and wakes all, so a submitter that gives up here strands nobody. */
    if (!oex_wait_locked(ex, &ex->seq, deadline)) { rc = JOSTLE_TIMEDOUT; break; }
  }
  oex_task* t = rc == JOSTLE_OK ? calloc(1, sizeof *t) : NULL;
  if (rc == JOSTLE_OK && !t) rc = JOSTLE_BUSY;
  if (rc != JOSTLE_OK) {
    op_spin_unlock(&ex->lock);
    body.drop(body.arg);
    return rc;
  }
  ++ex->admitted;
  t->ex = ex;
  t->body = body;
  t->refs = 2;
  t->state = OEX_QUEUED;
  *task = t;
  int queue = ex->running >= ex->policy.max_carriers;
  if (!queue) {
    pthread_t tid;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    ++ex->running;
    ++ex->threads;
    if (pthread_create(&tid, &attr, oex_carrier, t) != 0) { /* wait for a running carrier instead */
      --ex->running;
      --ex->threads;
      queue = 1;
    }
    pthread_attr_destroy(&attr);
  }
  if (queue) {
    t->queued = 1;
    if (ex->tail) ex->tail->next = t;
    else ex->head = t;
    ex->tail = t;
  }
  op_spin_unlock(&ex->lock);
  return JOSTLE_OK;
}

/* deadline -1: none. */
static int oex_join_until(oex_task* t, int64_t deadline, int64_t* value) {
  oex* ex = t->ex;
  op_spin_lock(&ex->lock);
  while (t->state != OEX_ENDED)
    if (!oex_wait_locked(ex, &t->seq, deadline)) break;
  int rc = JOSTLE_TIMEDOUT; /* consumes nothing */
  if (t->state == OEX_ENDED) {
    rc = t->joined ? JOSTLE_CLOSED : t->result;
    if (!t->joined && rc == JOSTLE_OK) *value = t->value;
    t->joined = 1;
  }
  op_spin_unlock(&ex->lock);
  return rc;
}

static int oex_join(void* task, int64_t* value) { return oex_join_until(task, -1, value); }
static int oex_join_timeout(void* task, int64_t ns, int64_t* value) {
  return ns < 0 ? JOSTLE_INVALID : oex_join_until(task, oex_deadline(ns), value);
}

static void oex_cancel(void* task) {
  oex_task* t = task;
  oex* ex = t->ex;
  jostle_vt_body dropped = {0};
  op_spin_lock(&ex->lock);
  if (t->state != OEX_ENDED) { /* a finished task: nothing changes */
    atomic_store(&t->cancel_req, 1);
    oex_bump(&t->seq); /* a sleeping or parked body returns JOSTLE_CANCELLED */
    if (t->queued) {   /* never starts; its slot is free at once */
      oex_task** at = &ex->head;
      oex_task* prev = NULL;
      while (*at != t) {
        prev = *at;
        at = &prev->next;
      }
      *at = t->next;
      if (ex->tail == t) ex->tail = prev;
      t->queued = 0;
      dropped = t->body;
      oex_end(t, JOSTLE_CANCELLED, 0);
      oex_unref(t); /* the executor's reference */
    }
  }
  op_spin_unlock(&ex->lock);
  if (dropped.drop) dropped.drop(dropped.arg);
}

static void oex_release(void* task) {
  oex_task* t = task;
  oex* ex = t->ex;
  op_spin_lock(&ex->lock);
  oex_unref(t);
  op_spin_unlock(&ex->lock);
}

static int oex_cancelled(void) {
  oex_task* t = oex_current;
  return t && atomic_load(&t->cancel_req);
}

static int oex_sleep(int64_t ns) {
  if (ns < 0) return JOSTLE_INVALID;
  oex_task* t = oex_current;
  const int64_t deadline = oex_deadline(ns);
  if (!t) { /* not inside a task: a plain sleep */
    for (;;) {
      const int64_t left = deadline < 0 ? 1000000000 : deadline - op_now_ns();
      if (left <= 0) return JOSTLE_OK;
      struct timespec ts = {(time_t)(left / 1000000000), (long)(left % 1000000000)};
      nanosleep(&ts, NULL);
    }
  }
  oex* ex = t->ex;
  op_spin_lock(&ex->lock);
  while (!atomic_load(&t->cancel_req) && oex_wait_locked(ex, &t->seq, deadline)) {
  }
  const int rc = atomic_load(&t->cancel_req) ? JOSTLE_CANCELLED : JOSTLE_OK;
  op_spin_unlock(&ex->lock);
  return rc;
}

static int oex_park(int64_t ns) {
  oex_task* t = oex_current;
  if (ns < 0 || !t) return JOSTLE_INVALID;
  /* The fast path: a pending permit, consumed without the lock. */
  if (atomic_exchange(&t->permit, 0)) return JOSTLE_OK;
  const int64_t deadline = oex_deadline(ns);
  oex* ex = t->ex;
  /* The window: an unpark that takes the lock before this thread does sees the task not parked and leaves a
     permit. */
  op_spin_lock(&ex->lock);
#ifdef JOSTLE_OPAQUE_FIXED
  /* Fixed: re-test the permit under the lock; unpark decides under the same lock, so from here on an unpark
     either left its permit before this exchange or finds the task parked and hands it over. */
  if (atomic_exchange(&t->permit, 0)) {
    op_spin_unlock(&ex->lock);
    return JOSTLE_OK;
  }
#endif
  /* The defect: the permit is not looked at again; one left between the exchange above and the lock stays
     pending while the task sleeps to its deadline. */
  t->parked = 1;
  int rc;
  for (;;) {
    if (t->woken) { t->woken = 0; rc = JOSTLE_OK; break; }
    if (atomic_load(&t->cancel_req)) { rc = JOSTLE_CANCELLED; break; }
    if (!oex_wait_locked(ex, &t->seq, deadline)) { rc = JOSTLE_TIMEDOUT; break; }
  }
  t->parked = 0;
  op_spin_unlock(&ex->lock);
  return rc;
}

static void oex_unpark(void* task) {
  oex_task* t = task;
  oex* ex = t->ex;
  op_spin_lock(&ex->lock);
  if (t->parked) { /* hand the permit to the parked task directly */
    t->woken = 1;
    oex_bump(&t->seq);
  } else {
    atomic_store(&t->permit, 1); /* kept for the next park (permits do not accumulate) */
  }
  op_spin_unlock(&ex->lock);
}

static const jostle_executor_ops oex_ops = {.size = sizeof(oex),
                                            .align = _Alignof(oex),
                                            .init = oex_init,
                                            .destroy = oex_destroy,
                                            .close = oex_close,
                                            .slots = oex_slots,
                                            .spawn_on = oex_spawn_on,
                                            .join = oex_join,
                                            .join_timeout = oex_join_timeout,
                                            .cancel = oex_cancel,
                                            .release = oex_release,
                                            .cancelled = oex_cancelled,
                                            .sleep = oex_sleep,
                                            .park = oex_park,
                                            .unpark = oex_unpark};

static const jostle_plugin oex_plugin = {
    .abi_version = JOSTLE_PLUGIN_ABI_VERSION,
    .struct_size = sizeof(jostle_plugin),
    .name = "opaque_executor",
#ifdef JOSTLE_OPAQUE_FIXED
    .description = "executor whose park re-tests the permit under the lock before it waits (the fixed build)",
#else
    .description = "executor whose park tests the permit outside the lock and registers as parked without "
                   "re-testing it (natural window)",
#endif
    .executor = &oex_ops};

__attribute__((visibility("default"))) const jostle_plugin* jostle_plugin_entry(void) { return &oex_plugin; }
