/* FROZEN: a copy of harness/include/jostle/plugin.h as released at ABI version 1. Never edit: the ctest
 * plugin.abi-v1 builds example_plugin_v1.c against it to prove a version-1 plugin loads and runs unchanged. */
/* The jostle plugin ABI, version 1: how a shared library offers its own primitives to the harness.
 *
 * A plugin exports one C function,
 *
 *     const jostle_plugin* jostle_plugin_entry(void);
 *
 * returning a table that lives as long as the library stays loaded. The table names the ABI version it was
 * built against (JOSTLE_PLUGIN_ABI_VERSION), the plugin's name (the backend name in instance ids, e.g.
 * condvar/mutex_smoke@NAME; letters, digits and '_' only, at most 32 characters) and any subset of the
 * sub-tables below; a null sub-table means "not offered".
 *
 * Objects (mutex, rwlock, condvar, semaphore) are opaque to the harness. The plugin declares their size and
 * alignment; the harness owns the storage, calls init() on it before first use and destroy() after last use,
 * and never copies or moves an initialised object. Every function pointer in an offered sub-table is required
 * unless its comment says "optional" (null there means the operation is not offered). Functions may be called
 * from any thread, concurrently, as the primitive's contract allows (harness/include/jostle/contracts/).
 *
 * Timeouts are relative, in nanoseconds, on CLOCK_MONOTONIC; a negative timeout never occurs in a timed call.
 *
 * Compatibility rule: the harness refuses a table whose abi_version differs from its own, or whose struct_size
 * is smaller than sizeof(jostle_plugin) of this version; later versions only append fields.
 *
 * Guide: docs/writing-a-plugin.md. Example: harness/backends/plugin/examples/example_plugin.c.
 */
#ifndef JOSTLE_PLUGIN_H
#define JOSTLE_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define JOSTLE_PLUGIN_ABI_VERSION 1u
#define JOSTLE_PLUGIN_ENTRY_SYMBOL "jostle_plugin_entry"

/* Results of timed operations. */
#define JOSTLE_OK 0        /* woken / acquired */
#define JOSTLE_TIMEDOUT 1  /* the timeout passed first */
#define JOSTLE_AGAIN 2     /* futex only: the word did not hold the expected value */

/* Futex-style wait/wake on a 32-bit word (contract: contracts/futex.h). */
typedef struct jostle_futex_ops {
  /* Blocks while *word == expected until a wake or a spurious wakeup. timeout_ns < 0: no timeout.
   * Returns JOSTLE_OK (woken or spurious), JOSTLE_AGAIN (value differed) or JOSTLE_TIMEDOUT. */
  int (*wait)(uint32_t* word, uint32_t expected, int64_t timeout_ns);
  /* Wakes at most n waiters on word; returns how many it woke, or -1 if it cannot tell. */
  int (*wake)(uint32_t* word, int n);
} jostle_futex_ops;

/* Mutex (contract: contracts/mutex.h). */
typedef struct jostle_mutex_ops {
  size_t size, align;
  void (*init)(void* m);
  void (*destroy)(void* m);
  void (*lock)(void* m);
  int (*try_lock)(void* m); /* 1 acquired, 0 busy */
  void (*unlock)(void* m);
} jostle_mutex_ops;

/* Reader-writer lock (contract: contracts/rwlock.h). */
typedef struct jostle_rwlock_ops {
  size_t size, align;
  void (*init)(void* rw);
  void (*destroy)(void* rw);
  void (*lock)(void* rw);
  int (*try_lock)(void* rw); /* 1 acquired, 0 busy */
  void (*unlock)(void* rw);
  void (*lock_shared)(void* rw);
  int (*try_lock_shared)(void* rw);
  void (*unlock_shared)(void* rw);
  int (*timed_lock)(void* rw, int64_t timeout_ns);        /* optional: JOSTLE_OK or JOSTLE_TIMEDOUT */
  int (*timed_lock_shared)(void* rw, int64_t timeout_ns); /* optional, offered together with timed_lock */
} jostle_rwlock_ops;

/* Condition variable, used with the plugin's own mutex (requires the mutex sub-table). Contract:
 * contracts/condvar.h. `profile` is "posix" (spurious wakeups allowed) or "strict" (none, FIFO), or null for
 * "posix". */
typedef struct jostle_condvar_ops {
  size_t size, align;
  void (*init)(void* cv);
  void (*destroy)(void* cv);
  void (*wait)(void* cv, void* mutex);
  int (*timed_wait)(void* cv, void* mutex, int64_t timeout_ns); /* JOSTLE_OK (woken) or JOSTLE_TIMEDOUT */
  void (*signal)(void* cv);
  void (*broadcast)(void* cv);
  const char* profile;
} jostle_condvar_ops;

/* Counting semaphore. */
typedef struct jostle_semaphore_ops {
  size_t size, align;
  void (*init)(void* sem, uint32_t initial);
  void (*destroy)(void* sem);
  void (*acquire)(void* sem);
  int (*try_acquire)(void* sem);                        /* 1 acquired, 0 no permit */
  int (*timed_acquire)(void* sem, int64_t timeout_ns);  /* JOSTLE_OK or JOSTLE_TIMEDOUT */
  void (*release)(void* sem);
} jostle_semaphore_ops;

typedef struct jostle_plugin {
  uint32_t abi_version; /* JOSTLE_PLUGIN_ABI_VERSION */
  uint32_t struct_size; /* sizeof(jostle_plugin) */
  const char* name;
  const char* description;
  const jostle_futex_ops* futex;
  const jostle_mutex_ops* mutex;
  const jostle_rwlock_ops* rwlock;
  const jostle_condvar_ops* condvar;
  const jostle_semaphore_ops* semaphore;
} jostle_plugin;

typedef const jostle_plugin* (*jostle_plugin_entry_fn)(void);

#ifdef __cplusplus
}
#endif

#endif /* JOSTLE_PLUGIN_H */
