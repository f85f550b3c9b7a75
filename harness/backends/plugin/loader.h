// Loading plugins (jostle/plugin.h) into a fixed number of slots, and exposing their backends.
//
// Backend types for each slot (plugin_backends.h) are compiled into the suites like any other backend, under a
// placeholder name ("__plugin0_mutex__") and with available() false, so an empty slot shows nothing. load()
// validates a library's table, fills a slot, and rewrites the registered entries that use the slot: the
// placeholder becomes the plugin's name ("example", "futex+example" for our futex mutex over its futex), the
// profile comes from the table, and the entry becomes available. Every failure is a one-line message.
#pragma once

#include <dlfcn.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "jostle/plugin.h"
#include "jostle/registry.h"

namespace jostle::plugin {

inline constexpr int kSlots = 2;
// Slots after the --plugin ones hold the opaque mutants' libraries (plugin/opaque), which their backends load
// themselves (opaque::load).
inline constexpr int kOpaqueSlots = 3;

struct Slot {
  const jostle_plugin* table = nullptr;
  void* handle = nullptr;
  std::string name;
  std::string path;
};

inline Slot g_slots[kSlots + kOpaqueSlots];

inline const jostle_plugin& table(int slot) { return *g_slots[slot].table; }

namespace detail {

inline bool valid_name(const char* n) {
  if (n == nullptr || *n == '\0') return false;
  std::size_t len = 0;
  for (const char* p = n; *p; ++p, ++len) {
    const char c = *p;
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_')) return false;
  }
  return len <= 32;
}

inline std::string check_object(const char* what, std::size_t size, std::size_t align) {
  if (size == 0 || size > (1u << 20)) return std::string("the ") + what + " table declares size " + std::to_string(size);
  if (align == 0 || (align & (align - 1)) != 0 || align > 4096)
    return std::string("the ") + what + " table declares alignment " + std::to_string(align);
  return {};
}

#define JOSTLE_PLUGIN_REQUIRE_FN(tbl, what, field) \
  if ((tbl)->field == nullptr) return std::string("the " what " table has a null '" #field "'")

inline std::string validate(const jostle_plugin& t) {
  if (!valid_name(t.name)) return "its name is missing or not [A-Za-z0-9_]{1,32}";
  if (const auto* f = t.futex) {
    JOSTLE_PLUGIN_REQUIRE_FN(f, "futex", wait);
    JOSTLE_PLUGIN_REQUIRE_FN(f, "futex", wake);
  }
  if (const auto* m = t.mutex) {
    if (auto e = check_object("mutex", m->size, m->align); !e.empty()) return e;
    JOSTLE_PLUGIN_REQUIRE_FN(m, "mutex", init);
    JOSTLE_PLUGIN_REQUIRE_FN(m, "mutex", destroy);
    JOSTLE_PLUGIN_REQUIRE_FN(m, "mutex", lock);
    JOSTLE_PLUGIN_REQUIRE_FN(m, "mutex", try_lock);
    JOSTLE_PLUGIN_REQUIRE_FN(m, "mutex", unlock);
  }
  if (const auto* r = t.rwlock) {
    if (auto e = check_object("rwlock", r->size, r->align); !e.empty()) return e;
    JOSTLE_PLUGIN_REQUIRE_FN(r, "rwlock", init);
    JOSTLE_PLUGIN_REQUIRE_FN(r, "rwlock", destroy);
    JOSTLE_PLUGIN_REQUIRE_FN(r, "rwlock", lock);
    JOSTLE_PLUGIN_REQUIRE_FN(r, "rwlock", try_lock);
    JOSTLE_PLUGIN_REQUIRE_FN(r, "rwlock", unlock);
    JOSTLE_PLUGIN_REQUIRE_FN(r, "rwlock", lock_shared);
    JOSTLE_PLUGIN_REQUIRE_FN(r, "rwlock", try_lock_shared);
    JOSTLE_PLUGIN_REQUIRE_FN(r, "rwlock", unlock_shared);
    if ((r->timed_lock == nullptr) != (r->timed_lock_shared == nullptr))
      return "the rwlock table offers only one of timed_lock and timed_lock_shared";
  }
  if (const auto* c = t.condvar) {
    if (t.mutex == nullptr) return "it offers a condvar without the mutex table the condvar works with";
    if (auto e = check_object("condvar", c->size, c->align); !e.empty()) return e;
    JOSTLE_PLUGIN_REQUIRE_FN(c, "condvar", init);
    JOSTLE_PLUGIN_REQUIRE_FN(c, "condvar", destroy);
    JOSTLE_PLUGIN_REQUIRE_FN(c, "condvar", wait);
    JOSTLE_PLUGIN_REQUIRE_FN(c, "condvar", timed_wait);
    JOSTLE_PLUGIN_REQUIRE_FN(c, "condvar", signal);
    JOSTLE_PLUGIN_REQUIRE_FN(c, "condvar", broadcast);
    if (c->profile != nullptr && std::string_view(c->profile) != "posix" && std::string_view(c->profile) != "strict")
      return "the condvar table's profile is neither \"posix\" nor \"strict\"";
  }
  if (const auto* s = t.semaphore) {
    if (auto e = check_object("semaphore", s->size, s->align); !e.empty()) return e;
    JOSTLE_PLUGIN_REQUIRE_FN(s, "semaphore", init);
    JOSTLE_PLUGIN_REQUIRE_FN(s, "semaphore", destroy);
    JOSTLE_PLUGIN_REQUIRE_FN(s, "semaphore", acquire);
    JOSTLE_PLUGIN_REQUIRE_FN(s, "semaphore", try_acquire);
    JOSTLE_PLUGIN_REQUIRE_FN(s, "semaphore", timed_acquire);
    JOSTLE_PLUGIN_REQUIRE_FN(s, "semaphore", release);
  }
  if (!t.futex && !t.mutex && !t.rwlock && !t.condvar && !t.semaphore) return "it offers no primitive at all";
  return {};
}
#undef JOSTLE_PLUGIN_REQUIRE_FN

inline bool offers(const jostle_plugin& t, std::string_view prim) {
  if (prim == "futex") return t.futex != nullptr;
  if (prim == "mutex") return t.mutex != nullptr;
  if (prim == "rwlock") return t.rwlock != nullptr;
  if (prim == "condvar") return t.condvar != nullptr;
  if (prim == "semaphore") return t.semaphore != nullptr;
  return false;
}

inline std::string condvar_profile(const jostle_plugin& t) {
  return t.condvar && t.condvar->profile ? std::string(t.condvar->profile) : std::string("posix");
}

// Rewrites one registered entry if it uses `slot`; returns whether it did.
inline bool expose_entry(BackendInfo& info, const std::string& requires_profile, int slot) {
  const std::string marker_head = "__plugin" + std::to_string(slot) + "_";
  const std::size_t at = info.name.find(marker_head);
  if (at == std::string::npos) return false;
  const std::size_t prim_at = at + marker_head.size();
  const std::size_t end = info.name.find("__", prim_at);
  if (end == std::string::npos) return false;
  const std::string prim = info.name.substr(prim_at, end - prim_at);
  const jostle_plugin& t = table(slot);
  if (!offers(t, prim)) return false;
  if (prim == "condvar") {
    info.profile = condvar_profile(t);
    if (!requires_profile.empty() && info.profile != requires_profile) return false;
  }
  info.name.replace(at, end + 2 - at, t.name);
  info.description += std::string(" [plugin ") + t.name + (t.description ? std::string(": ") + t.description : "") + "]";
  info.available = nullptr;
  return true;
}

}  // namespace detail

// Loads one plugin library; returns an empty string on success, else a one-line reason.
inline std::string load(const std::string& path) {
  const std::string where = "plugin '" + path + "': ";
  int slot = 0;
  while (slot < kSlots && g_slots[slot].table != nullptr) ++slot;
  if (slot == kSlots) return where + "at most " + std::to_string(kSlots) + " plugins can be loaded at once";
  ::dlerror();
  void* handle = ::dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) {
    const char* e = ::dlerror();
    return where + "cannot load the library: " + (e ? e : "unknown dlopen error");
  }
  void* sym = ::dlsym(handle, JOSTLE_PLUGIN_ENTRY_SYMBOL);
  if (sym == nullptr) {
    ::dlclose(handle);
    return where + "the library exports no " JOSTLE_PLUGIN_ENTRY_SYMBOL " function";
  }
  auto entry = reinterpret_cast<jostle_plugin_entry_fn>(sym);
  const jostle_plugin* t = entry();
  if (t == nullptr) {
    ::dlclose(handle);
    return where + JOSTLE_PLUGIN_ENTRY_SYMBOL "() returned a null table";
  }
  if (t->abi_version != JOSTLE_PLUGIN_ABI_VERSION) {
    const std::string got = std::to_string(t->abi_version);
    ::dlclose(handle);
    return where + "built for plugin ABI version " + got + ", this harness speaks version " +
           std::to_string(JOSTLE_PLUGIN_ABI_VERSION);
  }
  if (t->struct_size < sizeof(jostle_plugin)) {
    ::dlclose(handle);
    return where + "its table is smaller than the ABI version 1 table (struct_size " + std::to_string(t->struct_size) + ")";
  }
  if (std::string e = detail::validate(*t); !e.empty()) {
    ::dlclose(handle);
    return where + e;
  }
  for (const Slot& s : g_slots) {
    if (s.table != nullptr && s.name == t->name) {
      ::dlclose(handle);
      return where + "a plugin named '" + s.name + "' is already loaded";
    }
  }
  g_slots[slot] = Slot{t, handle, t->name, path};
  for (CaseDef* def : all_cases()) {
    for (BackendEntry& be : def->backends) {
      if (detail::expose_entry(be.backend, def->requires_profile, slot)) note_backend(be.backend);
    }
  }
  return {};
}

}  // namespace jostle::plugin
