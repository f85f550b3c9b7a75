/* Opaque mutant: a reader-writer lock whose readers check for a writer before announcing themselves (the
 * historical check-then-act defect). A writer that sets its flag and sees no reader in between gets in together
 * with the reader (exclusion broken; the window is the few instructions between the check and the increment). */
#include "opaque_common.h"

typedef struct {
  _Atomic uint32_t writer;  /* 1 while a writer holds or is acquiring */
  _Atomic uint32_t readers; /* readers inside */
} orw;

static void orw_init(void* p) {
  orw* l = p;
  atomic_init(&l->writer, 0);
  atomic_init(&l->readers, 0);
}
static void orw_destroy(void* p) { (void)p; }

static void orw_lock(void* p) {
  orw* l = p;
  uint32_t zero = 0;
  while (!atomic_compare_exchange_strong(&l->writer, &zero, 1)) {
    op_futex_wait(&l->writer, 1, -1);
    zero = 0;
  }
  uint32_t r;
  while ((r = atomic_load(&l->readers)) != 0) op_futex_wait(&l->readers, r, -1);
}

static int orw_try_lock(void* p) {
  orw* l = p;
  uint32_t zero = 0;
  if (!atomic_compare_exchange_strong(&l->writer, &zero, 1)) return 0;
  if (atomic_load(&l->readers) == 0) return 1;
  atomic_store(&l->writer, 0);
  op_futex_wake(&l->writer, INT_MAX);
  return 0;
}

static void orw_unlock(void* p) {
  orw* l = p;
  atomic_store(&l->writer, 0);
  op_futex_wake(&l->writer, INT_MAX);
}

static void orw_lock_shared(void* p) {
  orw* l = p;
  while (atomic_load(&l->writer) != 0) op_futex_wait(&l->writer, 1, -1);
  /* The defect: check, then announce. The correct order increments first, then checks for a writer and backs
     off (decrement, wake the writer, wait) if there is one. */
  atomic_fetch_add(&l->readers, 1);
}

static int orw_try_lock_shared(void* p) {
  orw* l = p;
  if (atomic_load(&l->writer) != 0) return 0;
  atomic_fetch_add(&l->readers, 1);
  return 1;
}

static void orw_unlock_shared(void* p) {
  orw* l = p;
  if (atomic_fetch_sub(&l->readers, 1) == 1) op_futex_wake(&l->readers, INT_MAX);
}

static const jostle_rwlock_ops orw_ops = {.size = sizeof(orw), .align = _Alignof(orw), .init = orw_init,
                                          .destroy = orw_destroy, .lock = orw_lock, .try_lock = orw_try_lock,
                                          .unlock = orw_unlock, .lock_shared = orw_lock_shared,
                                          .try_lock_shared = orw_try_lock_shared,
                                          .unlock_shared = orw_unlock_shared};

static const jostle_plugin orw_plugin = {
    .abi_version = JOSTLE_PLUGIN_ABI_VERSION,
    .struct_size = sizeof(jostle_plugin),
    .name = "opaque_rwlock",
    .description = "reader-writer lock whose readers check for a writer before announcing themselves (natural window)",
    .rwlock = &orw_ops};

__attribute__((visibility("default"))) const jostle_plugin* jostle_plugin_entry(void) { return &orw_plugin; }
