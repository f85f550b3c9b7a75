/* A deliberately broken jostle plugin, built three ways (BROKEN_KIND) to show the harness refuses each cleanly:
 *   1  the table claims ABI version 999
 *   2  the mutex table has a null `lock`
 *   3  the library exports no entry function at all */
#include <stddef.h>

#include "jostle/plugin.h"

static void nop(void* p) { (void)p; }
static int yes(void* p) { (void)p; return 1; }

static const jostle_mutex_ops broken_mutex = {sizeof(int), _Alignof(int), nop, nop,
#if BROKEN_KIND == 2
                                              NULL,
#else
                                              nop,
#endif
                                              yes, nop};

static const jostle_plugin broken = {
#if BROKEN_KIND == 1
    999u,
#else
    JOSTLE_PLUGIN_ABI_VERSION,
#endif
    sizeof(jostle_plugin), "broken", "deliberately broken", NULL, &broken_mutex, NULL, NULL, NULL};

#if BROKEN_KIND == 3
__attribute__((visibility("default"))) const jostle_plugin* not_the_entry(void) { return &broken; }
#else
__attribute__((visibility("default"))) const jostle_plugin* jostle_plugin_entry(void) { return &broken; }
#endif
