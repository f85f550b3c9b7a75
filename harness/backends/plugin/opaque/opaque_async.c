/* Opaque mutant: an event loop's cross-thread async handle that coalesces notifications with a "pending" flag
 * in front of an eventfd (the pattern of libuv's uv_async_t pending flag, libev's ev_async "sent" flag with its
 * async_pending / pipe_write_skipped flags, Qt's wakeUps): notify() exchanges the flag to 1 and writes the
 * eventfd only when it was 0. The loop's drain clears the flag first and reads the eventfd after. A notify that
 * lands between the two sees the flag clear, sets it and writes the eventfd, and the read that follows consumes
 * that write: the flag stays 1 with the eventfd empty, so this and every later notify() skips the write and the
 * loop never wakes again (lost wakeup). Those libraries read the descriptor first and reset the flags after,
 * which is harmless: a notify between the read and the reset is covered by the callback that runs after the
 * drain. The window is the two adjacent statements of drain (the store and the read()).
 *
 * Built with -DJOSTLE_OPAQUE_FIXED the same file is the fixed library: drain reads, then clears. */
#include "opaque_common.h"

#include <sys/eventfd.h>

typedef struct {
  _Atomic uint32_t pending; /* 1: a notify has written (or is about to write) the eventfd since the last drain */
  int fd;                   /* eventfd, non-blocking */
} oas;

static int oas_init(void* p) {
  oas* a = p;
  const int fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (fd < 0) return errno;
  atomic_init(&a->pending, 0);
  a->fd = fd;
  return 0;
}
static void oas_destroy(void* p) { close(((oas*)p)->fd); }

static void oas_notify(void* p) {
  oas* a = p;
  if (atomic_exchange(&a->pending, 1) != 0) return; /* coalesced: a write is already pending */
  uint64_t one = 1;
  ssize_t rc = write(a->fd, &one, sizeof one); /* EAGAIN only if the counter is saturated: pending anyway */
  (void)rc;
}

static int oas_fd(void* p) { return ((oas*)p)->fd; }
static void oas_arm(void* p) { (void)p; } /* nothing to prepare; a pending write stays in the eventfd */

static void oas_drain(void* p) {
  oas* a = p;
  uint64_t v;
#ifdef JOSTLE_OPAQUE_FIXED
  /* Correct: consume the eventfd, then reopen the flag. A notify in between is coalesced into this drain, whose
     callback runs after it. */
  ssize_t rc = read(a->fd, &v, sizeof v);
  atomic_store(&a->pending, 0);
#else
  /* The defect: the flag is reopened before the eventfd is read, so the read can swallow the write of a notify
     that came in between and leave the flag set with nothing to read. */
  atomic_store(&a->pending, 0);
  ssize_t rc = read(a->fd, &v, sizeof v);
#endif
  (void)rc;
}

static const jostle_async_ops oas_ops = {.size = sizeof(oas),
                                         .align = _Alignof(oas),
                                         .init = oas_init,
                                         .destroy = oas_destroy,
                                         .notify = oas_notify,
                                         .fd = oas_fd,
                                         .arm = oas_arm,
                                         .drain = oas_drain};

static const jostle_plugin oas_plugin = {
    .abi_version = JOSTLE_PLUGIN_ABI_VERSION,
    .struct_size = sizeof(jostle_plugin),
    .name = "opaque_async",
    .description = "async notifier whose drain clears the coalescing flag before reading the eventfd (natural window)",
    .async = &oas_ops};

__attribute__((visibility("default"))) const jostle_plugin* jostle_plugin_entry(void) { return &oas_plugin; }
