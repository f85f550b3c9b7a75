/* Shared by the opaque mutants: raw futex calls and a spinlock. Nothing here calls into jostle, so the
 * libraries carry no chaos points: only the ABI boundary and preempt mode can reach inside them. */
#ifndef JOSTLE_OPAQUE_COMMON_H
#define JOSTLE_OPAQUE_COMMON_H

#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "jostle/plugin.h"

/* FUTEX_WAIT with a relative timeout (< 0: none); returns JOSTLE_OK (woken, spurious or EINTR), JOSTLE_AGAIN or
 * JOSTLE_TIMEDOUT. */
static inline int op_futex_wait(_Atomic uint32_t* word, uint32_t expected, int64_t timeout_ns) {
  struct timespec ts, *tsp = NULL;
  if (timeout_ns >= 0) {
    ts.tv_sec = (time_t)(timeout_ns / 1000000000);
    ts.tv_nsec = (long)(timeout_ns % 1000000000);
    tsp = &ts;
  }
  if (syscall(SYS_futex, (uint32_t*)word, FUTEX_WAIT_PRIVATE, expected, tsp, NULL, 0) == 0) return JOSTLE_OK;
  if (errno == EAGAIN) return JOSTLE_AGAIN;
  if (errno == ETIMEDOUT) return JOSTLE_TIMEDOUT;
  return JOSTLE_OK;
}

static inline void op_futex_wake(_Atomic uint32_t* word, int n) {
  syscall(SYS_futex, (uint32_t*)word, FUTEX_WAKE_PRIVATE, n, NULL, NULL, 0);
}

static inline int64_t op_now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static inline void op_spin_lock(_Atomic uint32_t* l) {
  while (atomic_exchange_explicit(l, 1, memory_order_acquire) != 0) sched_yield();
}

static inline void op_spin_unlock(_Atomic uint32_t* l) { atomic_store_explicit(l, 0, memory_order_release); }

#endif
