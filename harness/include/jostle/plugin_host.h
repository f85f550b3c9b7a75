// The harness side of the plugin ABI (jostle/plugin.h): loaded plugins live in a fixed number of slots.
//
// Backend types for each slot (harness/backends/plugin/plugin_backends.h) are compiled into the suites like any
// other backend, under a placeholder name ("__plugin0_mutex__") and with available() false, so an empty slot
// shows nothing. load() validates a library's table, copies it (and every sub-table it offers) into the slot in
// the current layout, zero-filling the fields a version-1 table does not have, and rewrites the registered
// entries that use the slot: the placeholder becomes the plugin's name, the entry becomes available.
//
// A placeholder names a capability variant, not just a primitive: "mutex" and "mutex_timed" are two backend
// types over the same table, and the loader exposes the one the table's optional functions select, so a case
// that needs a timed lock is instantiated for the plugin only when the plugin offers one.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "jostle/plugin.h"

namespace jostle::plugin {

// Slots are compiled in (every case is instantiated once per slot), so each one costs build time; two cover
// comparing an implementation with a second one. Raise it here and in plugin_backends.h's slot lists.
inline constexpr int kSlots = 2;
// Slots after the --plugin ones, each holding one opaque mutant library (harness/backends/plugin/opaque/).
inline constexpr int kOpaqueSlots = 13;
// Slots after those, each holding one mutant plugin (harness/backends/plugin/examples/mutant_plugin_backends.h).
inline constexpr int kMutantPluginSlots = 16;
inline constexpr int kAllSlots = kSlots + kOpaqueSlots + kMutantPluginSlots;

struct Slot {
  bool loaded = false;
  void* handle = nullptr;
  std::string name;
  std::string path;  // absolute
  std::uint32_t abi_version = 0;
  // The table and every offered sub-table, copied into the current layout.
  jostle_plugin table{};
  jostle_futex_ops futex{};
  jostle_mutex_ops mutex{};
  jostle_rwlock_ops rwlock{};
  jostle_condvar_ops condvar{};
  jostle_semaphore_ops semaphore{};
  jostle_event_ops event{};
  jostle_waitgroup_ops waitgroup{};
  jostle_owned_mutex_ops owned_mutex{};
  jostle_channel_ops channel{};
  jostle_thread_ops thread{};
  jostle_executor_ops executor{};
  jostle_waiter_list_ops waiter_list{};
  jostle_atomics_ops atomics{};
  jostle_safepoint_ops safepoint{};
  jostle_async_ops async{};
};

extern Slot g_slots[kAllSlots];

inline const jostle_plugin& table(int slot) { return g_slots[slot].table; }

// Seconds the library's constructors plus jostle_plugin_entry() may take before load gives up.
inline constexpr int kEntryTimeoutSeconds = 5;

// Loads one plugin library; returns an empty string on success, else a one-line reason. `path` must name a file
// (it contains a '/'); it is resolved to an absolute path and dlopen never searches for it.
std::string load(const std::string& path);

// Loads the library at the absolute path `abs` into `slot` (copied and validated like load()'s) without
// exposing any registered entry: for the opaque mutants and the mutant plugins, whose backends name their slot themselves. Returns an
// empty string on success, else the reason.
std::string fill_slot(int slot, const std::string& abs);

// Whether a loaded table offers a capability variant ("mutex", "mutex_timed", "event", ...).
bool offers(int slot, std::string_view variant);

// The sub-tables a loaded table offers, by ABI field name ("futex", "mutex", ..., "async").
std::vector<std::string> offered_tables(int slot);

// Offered sub-tables that no registered case of this binary runs (a table loaded but not run).
std::vector<std::string> unused_tables(int slot);

}  // namespace jostle::plugin
