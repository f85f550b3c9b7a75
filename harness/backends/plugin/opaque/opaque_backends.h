// Opaque mutants: defective primitives in separate shared libraries (this folder's .c files, built into
// <build>/plugins/), reached through the plugin ABI exactly as a user's plugin is. The libraries contain no chaos
// points; the only places jostle can act are the ABI boundary (plugin_backends.h) and, inside, preempt mode.
// Their natural race windows are what docs/detection.md measures preempt mode on.
//
// Each backend loads its library into a fixed plugin slot after the --plugin ones (plugin::kOpaqueSlots) the
// first time the registry asks whether it is available; a library that is missing makes it unavailable (listed
// by --list-backends as escaped, never silently passing).
#pragma once

#include <unistd.h>

#include <climits>
#include <cstdlib>
#include <string>
#include <string_view>

#include "jostle/plugin_host.h"
#include "jostle/typelist.h"
#include "plugin/plugin_backends.h"

namespace jostle::opaque {

inline constexpr int kFutexSlot = plugin::kSlots, kCondvarSlot = plugin::kSlots + 1, kRwLockSlot = plugin::kSlots + 2;

// <dir of the running binary>/../plugins/<lib>, loaded once into `slot` (copied and validated like a --plugin
// library, plugin_host.h). False when it cannot be.
inline bool load(int slot, const char* lib) {
  plugin::Slot& s = plugin::g_slots[slot];
  if (s.loaded) return true;
  if (!s.path.empty()) return false;  // tried and failed
  char exe[PATH_MAX];
  const ssize_t n = ::readlink("/proc/self/exe", exe, sizeof exe - 1);
  std::string dir = n > 0 ? std::string(exe, static_cast<std::size_t>(n)) : std::string();
  dir = dir.substr(0, dir.rfind('/'));
  const std::string path = dir + "/../plugins/" + lib;
  char resolved[PATH_MAX];
  if (::realpath(path.c_str(), resolved) == nullptr || !plugin::fill_slot(slot, resolved).empty()) {
    s.path = path;  // remembered as tried
    return false;
  }
  return true;
}

}  // namespace jostle::opaque

namespace jostle {

struct MutantOpaqueFutexCheckThenEnqueue : PluginFutex<opaque::kFutexSlot> {
  static constexpr std::string_view kName = "mutant.futex.opaque_check_then_enqueue";
  static constexpr std::string_view kDescription =
      "opaque plugin: user-space futex emulation that checks the value before queueing the waiter";
  static constexpr std::string_view kCatches = "futex/broadcasting,futex/signaling_ring";
  static constexpr std::string_view kDifficulty = "D3";
  static constexpr std::string_view kSource = "parking-lot style futex emulations that check before enqueueing";
  static bool available() { return opaque::load(opaque::kFutexSlot, "libjostle-opaque-futex.so"); }
};

struct MutantOpaqueCondvarLateSnapshot : PluginCondvar<opaque::kCondvarSlot> {
  static constexpr std::string_view kName = "mutant.condvar.opaque_late_snapshot";
  static constexpr std::string_view kDescription =
      "opaque plugin: sequence condvar whose waiter reads the sequence after releasing the mutex";
  static constexpr std::string_view kProfile = "posix";
  static constexpr std::string_view kCatches = "condvar/cv_multi_signal,condvar/cv_producer_consumer_soak";
  static constexpr std::string_view kDifficulty = "D3";
  static constexpr std::string_view kSource = "sequence-counter condvars that snapshot after unlock (lost signal)";
  static bool available() { return opaque::load(opaque::kCondvarSlot, "libjostle-opaque-condvar.so"); }
};

struct MutantOpaqueRwLockReaderCheckThenAct : PluginRwLock<opaque::kRwLockSlot> {
  static constexpr std::string_view kName = "mutant.rwlock.opaque_reader_check_then_act";
  static constexpr std::string_view kDescription =
      "opaque plugin: rwlock whose readers check for a writer before announcing themselves";
  static constexpr std::string_view kCatches = "condvar/rwlock_concurrent_access";
  static constexpr std::string_view kDifficulty = "D3";
  static constexpr std::string_view kSource = "reader fast paths that test the writer flag before incrementing";
  static bool available() { return opaque::load(opaque::kRwLockSlot, "libjostle-opaque-rwlock.so"); }
};

using OpaqueMutants =
    TypeList<MutantOpaqueFutexCheckThenEnqueue, MutantOpaqueCondvarLateSnapshot, MutantOpaqueRwLockReaderCheckThenAct>;

}  // namespace jostle
