/* A deliberately broken jostle plugin, built several ways (BROKEN_KIND) to show the harness refuses each with
 * one line and exit code 3:
 *   1  the table claims ABI version 999
 *   2  the mutex table has a null `lock`
 *   3  the library exports no entry function at all
 *   4  the table's struct_size is too small (the message reads it before the library is closed)
 *   5  the entry function never returns (the loader gives up after a few seconds and says so)
 *   6  the event table's size is not a multiple of its alignment */
#include <stddef.h>
#include <unistd.h>

#include "jostle/plugin.h"

static void nop(void* p) { (void)p; }
static int yes(void* p) { (void)p; return 1; }

static const jostle_mutex_ops broken_mutex = {.size = sizeof(int), .align = _Alignof(int), .init = nop,
                                              .destroy = nop,
#if BROKEN_KIND == 2
                                              .lock = NULL,
#else
                                              .lock = nop,
#endif
                                              .try_lock = yes, .unlock = nop};

#if BROKEN_KIND == 6
static int no(void* p) { (void)p; return 0; }
static int timed_no(void* p, int64_t t) { (void)p; (void)t; return JOSTLE_TIMEDOUT; }
static const jostle_event_ops broken_event = {.size = 12, .align = 8, .init = nop, .destroy = nop, .set = nop,
                                              .reset = nop, .is_set = no, .wait = nop, .timed_wait = timed_no};
#endif

static const jostle_plugin broken = {
#if BROKEN_KIND == 1
    .abi_version = 999u,
#else
    .abi_version = JOSTLE_PLUGIN_ABI_VERSION,
#endif
#if BROKEN_KIND == 4
    .struct_size = 8u,
#else
    .struct_size = sizeof(jostle_plugin),
#endif
    .name = "broken", .description = "deliberately broken", .mutex = &broken_mutex,
#if BROKEN_KIND == 6
    .event = &broken_event,
#endif
};

#if BROKEN_KIND == 3
__attribute__((visibility("default"))) const jostle_plugin* not_the_entry(void) { return &broken; }
#else
__attribute__((visibility("default"))) const jostle_plugin* jostle_plugin_entry(void) {
#if BROKEN_KIND == 5
  for (;;) pause();
#endif
  return &broken;
}
#endif
