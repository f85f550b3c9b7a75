/* A plugin whose mutex keeps its contract but has a data race in its own bookkeeping: the fixture that shows a
 * user's race is reported against the user's source when the plugin is built with the harness's sanitizer
 * (docs/writing-a-plugin.md, "Plugins under sanitizers"; runner/tests/test_plugin_sanitizers.py).
 *
 * Mutual exclusion is a pthread mutex, so every conformance case passes. The defect is the common one of a
 * contention statistic updated outside the lock: `contended` is a plain field that every thread that finds the
 * mutex busy increments before it blocks, so two such threads write it concurrently. Nothing in a case can see
 * it (the count is never read by the harness); ThreadSanitizer reports it, naming this file. */
#include <pthread.h>
#include <stdint.h>

#include "jostle/plugin.h"

typedef struct {
  pthread_mutex_t lock;
  uint64_t contended; /* the race: written by every thread that finds the lock busy, outside the lock */
} racy_mutex;

static void racy_init(void* p) {
  racy_mutex* m = p;
  pthread_mutex_init(&m->lock, NULL);
  m->contended = 0;
}

static void racy_destroy(void* p) { pthread_mutex_destroy(&((racy_mutex*)p)->lock); }

static void racy_lock(void* p) {
  racy_mutex* m = p;
  if (pthread_mutex_trylock(&m->lock) == 0) return;
  m->contended++; /* racy_plugin.c: the unsynchronised statistic */
  pthread_mutex_lock(&m->lock);
}

static int racy_try_lock(void* p) { return pthread_mutex_trylock(&((racy_mutex*)p)->lock) == 0; }

static void racy_unlock(void* p) { pthread_mutex_unlock(&((racy_mutex*)p)->lock); }

static const jostle_mutex_ops racy_mutex_ops = {
    .size = sizeof(racy_mutex),
    .align = _Alignof(racy_mutex),
    .init = racy_init,
    .destroy = racy_destroy,
    .lock = racy_lock,
    .try_lock = racy_try_lock,
    .unlock = racy_unlock,
};

static const jostle_plugin racy_plugin = {
    .abi_version = JOSTLE_PLUGIN_ABI_VERSION,
    .struct_size = sizeof(jostle_plugin),
    .name = "racy",
    .description = "pthread mutex with a contention counter updated outside the lock (a data race only a sanitizer sees)",
    .mutex = &racy_mutex_ops,
};

__attribute__((visibility("default"))) const jostle_plugin* jostle_plugin_entry(void) { return &racy_plugin; }
