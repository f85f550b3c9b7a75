// Loading plugins (jostle/plugin.h) into slots and exposing their backends (jostle/plugin_host.h).
// Long because: validating, copying (v1 to the current layout) and exposing every table are one load step.
#include <dlfcn.h>
#include <signal.h>
#include <unistd.h>

#include <climits>
#include <cstdlib>
#include <cstring>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

#include "jostle/plugin_host.h"
#include "jostle/registry.h"

namespace jostle::plugin {

Slot g_slots[kAllSlots];

namespace {

bool valid_name(const char* n) {
  if (n == nullptr || *n == '\0') return false;
  std::size_t len = 0;
  for (const char* p = n; *p; ++p, ++len) {
    const char c = *p;
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_')) return false;
  }
  return len <= 32;
}

std::string check_object(const char* what, std::size_t size, std::size_t align) {
  if (size == 0 || size > (1u << 20))
    return std::string("the ") + what + " table declares size " + std::to_string(size) + " (want 1 to 1 MiB)";
  if (align == 0 || (align & (align - 1)) != 0 || align > 4096)
    return std::string("the ") + what + " table declares alignment " + std::to_string(align) +
           " (want a power of two up to 4096)";
  if (size % align != 0)
    return std::string("the ") + what + " table declares size " + std::to_string(size) +
           " that is not a multiple of its alignment " + std::to_string(align);
  return {};
}

// One function a table must offer: its field name and whether the plugin set it.
struct Fn {
  const char* name;
  bool set;
};
#define JOSTLE_FN(tbl, field) Fn{#field, (tbl).field != nullptr}

// The first missing function of `fns`, as the one-line reason; empty when every one is set.
std::string missing(const char* what, std::initializer_list<Fn> fns) {
  for (const Fn& f : fns)
    if (!f.set) return std::string("the ") + what + " table has a null '" + f.name + "' (required)";
  return {};
}

// A table of objects the harness stores: a sane size and alignment, init and destroy, then `fns`.
template <class T>
std::string missing_obj(const char* what, const T& tbl, std::initializer_list<Fn> fns) {
  if (auto e = check_object(what, tbl.size, tbl.align); !e.empty()) return e;
  if (auto e = missing(what, {JOSTLE_FN(tbl, init), JOSTLE_FN(tbl, destroy)}); !e.empty()) return e;
  return missing(what, fns);
}

// The checks a table's required functions do not express (optional pairs, flags, declared constants).
std::string extra_checks(const Slot& s) {
  const jostle_plugin& t = s.table;
  if (const auto& m = s.mutex; t.mutex) {
    if (m.node_size != 0) {
      if (auto e = check_object("mutex node", m.node_size, m.node_align); !e.empty()) return e;
    } else if (m.lock_node || m.try_lock_node || m.unlock_node || m.timed_lock_node) {
      return "the mutex table has *_node functions but node_size 0 (declare the node's size and alignment)";
    }
  }
  if (const auto& r = s.rwlock; t.rwlock && (r.timed_lock == nullptr) != (r.timed_lock_shared == nullptr))
    return "the rwlock table offers only one of timed_lock and timed_lock_shared (offer both or neither)";
  if (const auto& c = s.condvar; t.condvar) {
    if (t.mutex == nullptr) return "it offers a condvar without the mutex table the condvar works with";
    if (s.mutex.lock == nullptr || s.mutex.unlock == nullptr)
      return "it offers a condvar, but its mutex table has no plain lock/unlock (a condvar needs them)";
    if (c.profile != nullptr && std::string_view(c.profile) != "posix" && std::string_view(c.profile) != "strict")
      return "the condvar table's profile is neither \"posix\" nor \"strict\"";
    if ((c.flags & ~JOSTLE_CONDVAR_TIMEOUT_KEEPS_SIGNAL) != 0) return "the condvar table sets unknown flag bits";
  }
  if (t.thread && s.thread.max_name_len != 15)
    return "the thread table declares max_name_len " + std::to_string(s.thread.max_name_len) +
           " (the thread cases check Linux's limit: 15 bytes plus the NUL)";
  return {};
}

std::string validate(const Slot& s) {
  const jostle_plugin& t = s.table;
  if (!valid_name(t.name)) return "its name is missing or not [A-Za-z0-9_]{1,32}";
  // Mutex order matters for the message: the condvar check below needs the mutex's plain functions.
  const auto& m = s.mutex;
  const auto& r = s.rwlock;
  const auto& c = s.condvar;
  const auto& x = s.semaphore;
  const auto& e = s.event;
  const auto& g = s.waitgroup;
  const auto& o = s.owned_mutex;
  const auto& ch = s.channel;
  const auto& th = s.thread;
  const auto& vt = s.executor;
  const auto& w = s.waiter_list;
  const auto& a = s.atomics;
  const auto& sp = s.safepoint;
  const auto& as = s.async;
  const bool nodes = m.node_size != 0;
  // One row per table: offered, then its required functions. Unoffered tables yield "".
  const std::string errors[] = {
      !t.futex ? "" : missing("futex", {JOSTLE_FN(s.futex, wait), JOSTLE_FN(s.futex, wake)}),
      !t.mutex ? "" : nodes ? missing_obj("mutex", m, {JOSTLE_FN(m, lock_node), JOSTLE_FN(m, try_lock_node),
                                                        JOSTLE_FN(m, unlock_node)})
                            : missing_obj("mutex", m, {JOSTLE_FN(m, lock), JOSTLE_FN(m, try_lock), JOSTLE_FN(m, unlock)}),
      !t.rwlock ? "" : missing_obj("rwlock", r, {JOSTLE_FN(r, lock), JOSTLE_FN(r, try_lock), JOSTLE_FN(r, unlock),
                                                 JOSTLE_FN(r, lock_shared), JOSTLE_FN(r, try_lock_shared),
                                                 JOSTLE_FN(r, unlock_shared)}),
      !t.condvar ? "" : missing_obj("condvar", c, {JOSTLE_FN(c, wait), JOSTLE_FN(c, timed_wait), JOSTLE_FN(c, signal),
                                                   JOSTLE_FN(c, broadcast)}),
      !t.semaphore ? "" : missing_obj("semaphore", x, {JOSTLE_FN(x, acquire), JOSTLE_FN(x, try_acquire),
                                                       JOSTLE_FN(x, timed_acquire), JOSTLE_FN(x, release)}),
      !t.event ? "" : missing_obj("event", e, {JOSTLE_FN(e, set), JOSTLE_FN(e, reset), JOSTLE_FN(e, is_set),
                                               JOSTLE_FN(e, wait), JOSTLE_FN(e, timed_wait)}),
      !t.waitgroup ? "" : missing_obj("waitgroup", g, {JOSTLE_FN(g, start), JOSTLE_FN(g, finish), JOSTLE_FN(g, wait),
                                                       JOSTLE_FN(g, is_done), JOSTLE_FN(g, reset)}),
      !t.owned_mutex ? "" : missing_obj("owned_mutex", o, {JOSTLE_FN(o, lock), JOSTLE_FN(o, try_lock),
                                                           JOSTLE_FN(o, unlock)}),
      !t.channel ? "" : missing_obj("channel", ch, {JOSTLE_FN(ch, send), JOSTLE_FN(ch, try_send),
                                                    JOSTLE_FN(ch, timed_send), JOSTLE_FN(ch, recv),
                                                    JOSTLE_FN(ch, try_recv), JOSTLE_FN(ch, timed_recv),
                                                    JOSTLE_FN(ch, close)}),
      !t.thread ? "" : missing("thread", {JOSTLE_FN(th, spawn), JOSTLE_FN(th, join), JOSTLE_FN(th, detach),
                                          JOSTLE_FN(th, set_name), JOSTLE_FN(th, get_name),
                                          JOSTLE_FN(th, set_name_self), JOSTLE_FN(th, get_name_self),
                                          JOSTLE_FN(th, current_id), JOSTLE_FN(th, yield), JOSTLE_FN(th, sleep),
                                          JOSTLE_FN(th, cpu_count), JOSTLE_FN(th, stats)}),
      !t.executor ? "" : missing_obj("executor", vt, {JOSTLE_FN(vt, close), JOSTLE_FN(vt, slots),
                                                      JOSTLE_FN(vt, spawn_on), JOSTLE_FN(vt, join),
                                                      JOSTLE_FN(vt, join_timeout), JOSTLE_FN(vt, cancel),
                                                      JOSTLE_FN(vt, release), JOSTLE_FN(vt, cancelled),
                                                      JOSTLE_FN(vt, sleep), JOSTLE_FN(vt, park), JOSTLE_FN(vt, unpark)}),
      !t.waiter_list ? "" : missing_obj("waiter_list", w, {JOSTLE_FN(w, wait), JOSTLE_FN(w, wait_async),
                                                           JOSTLE_FN(w, notify), JOSTLE_FN(w, waiter_count)}),
      !t.atomics ? "" : missing("atomics", {JOSTLE_FN(a, load), JOSTLE_FN(a, store), JOSTLE_FN(a, rmw),
                                            JOSTLE_FN(a, compare_exchange), JOSTLE_FN(a, is_lock_free)}),
      !t.safepoint ? "" : missing_obj("safepoint", sp, {JOSTLE_FN(sp, attach), JOSTLE_FN(sp, detach),
                                                        JOSTLE_FN(sp, poll), JOSTLE_FN(sp, stop_the_world),
                                                        JOSTLE_FN(sp, resume)}),
      !t.async ? "" : missing_obj("async", as, {JOSTLE_FN(as, notify), JOSTLE_FN(as, fd), JOSTLE_FN(as, arm),
                                                JOSTLE_FN(as, drain)}),
      extra_checks(s),
  };
  for (const std::string& err : errors)
    if (!err.empty()) return err;
  if (offered_tables(static_cast<int>(&s - g_slots)).empty()) return "it offers no primitive at all";
  return {};
}
#undef JOSTLE_FN

// Copies a sub-table: the prefix a version-1 table has (v1_size), or the whole current struct; the rest stays 0.
template <class T>
void copy_sub(const T* from, T& to, std::uint32_t abi, std::size_t v1_size) {
  to = T{};
  if (from != nullptr) std::memcpy(&to, from, abi >= 2 ? sizeof(T) : v1_size);
}

// The table's pointer to each sub-table, rewritten to the slot's copy (null stays null: "not offered").
template <class T>
void repoint(const T*& p, const T& copy) {
  if (p != nullptr) p = &copy;
}

// The watchdog for dlopen + entry(): a library whose constructors or entry hang would otherwise stall the
// process until the run's timeout. SIGALRM's handler writes a prepared line and exits with the infra code.
char g_hang_line[600];
std::size_t g_hang_len = 0;

extern "C" void on_entry_hang(int) {
  [[maybe_unused]] const ssize_t n = ::write(2, g_hang_line, g_hang_len);
  ::_exit(3);
}

class EntryGuard {
 public:
  explicit EntryGuard(const std::string& where) {
    const std::string line = "jostle: " + where + "dlopen() and " JOSTLE_PLUGIN_ENTRY_SYMBOL "() did not return within " +
                             std::to_string(kEntryTimeoutSeconds) +
                             " s (a hang in the library's constructors or entry function)\n";
    g_hang_len = std::min(line.size(), sizeof g_hang_line);
    std::memcpy(g_hang_line, line.data(), g_hang_len);
    struct sigaction sa {};
    sa.sa_handler = on_entry_hang;
    sigemptyset(&sa.sa_mask);
    ::sigaction(SIGALRM, &sa, &old_);
    ::alarm(kEntryTimeoutSeconds);
  }
  ~EntryGuard() {
    ::alarm(0);
    ::sigaction(SIGALRM, &old_, nullptr);
  }
  EntryGuard(const EntryGuard&) = delete;
  EntryGuard& operator=(const EntryGuard&) = delete;

 private:
  struct sigaction old_ {};
};

// The ABI table a capability variant reads.
std::string_view table_of_variant(std::string_view v) {
  const std::size_t u = v.find('_');
  const std::string_view head = v.substr(0, u);
  if (v.rfind("owned_mutex", 0) == 0) return "owned_mutex";
  if (v.rfind("waiter_list", 0) == 0) return "waiter_list";
  return head;
}

// Rewrites one registered entry if it uses `slot`; returns the table it reads, or "" when it does not apply.
std::string expose_entry(BackendInfo& info, const std::string& requires_profile, int slot) {
  const std::string marker_head = "__plugin" + std::to_string(slot) + "_";
  const std::size_t at = info.name.find(marker_head);
  if (at == std::string::npos) return {};
  const std::size_t variant_at = at + marker_head.size();
  const std::size_t end = info.name.find("__", variant_at);
  if (end == std::string::npos) return {};
  const std::string variant = info.name.substr(variant_at, end - variant_at);
  if (!offers(slot, variant)) return {};
  const Slot& s = g_slots[slot];
  if (variant.rfind("condvar", 0) == 0) {
    info.profile = s.condvar.profile ? std::string(s.condvar.profile) : std::string("posix");
    if (!requires_profile.empty() && info.profile != requires_profile) return {};
  }
  info.name.replace(at, end + 2 - at, s.name);
  info.description += " [plugin " + s.name + (s.table.description ? std::string(": ") + s.table.description : "") + "]";
  info.available = nullptr;
  info.plugin = s.name;
  return std::string(table_of_variant(variant));
}

}  // namespace

bool offers(int slot, std::string_view v) {
  const Slot& s = g_slots[slot];
  if (!s.loaded) return false;
  const jostle_plugin& t = s.table;
  if (v == "futex") return t.futex != nullptr;
  if (v == "mutex") return t.mutex != nullptr && !s.mutex.timed_lock && !s.mutex.timed_lock_node;
  if (v == "mutex_timed")
    return t.mutex != nullptr && (s.mutex.node_size ? s.mutex.timed_lock_node != nullptr : s.mutex.timed_lock != nullptr);
  if (v == "rwlock") return t.rwlock != nullptr;
  if (v == "condvar") return t.condvar != nullptr && (s.condvar.flags & JOSTLE_CONDVAR_TIMEOUT_KEEPS_SIGNAL) == 0;
  if (v == "condvar_keeps") return t.condvar != nullptr && (s.condvar.flags & JOSTLE_CONDVAR_TIMEOUT_KEEPS_SIGNAL) != 0;
  if (v == "semaphore") return t.semaphore != nullptr;
  if (v == "event") return t.event != nullptr;
  if (v == "waitgroup") return t.waitgroup != nullptr && s.waitgroup.timed_wait == nullptr;
  if (v == "waitgroup_timed") return t.waitgroup != nullptr && s.waitgroup.timed_wait != nullptr;
  if (v == "owned_mutex_recursive") return t.owned_mutex != nullptr && s.owned_mutex.recursive != 0;
  if (v == "owned_mutex_errorcheck") return t.owned_mutex != nullptr && s.owned_mutex.recursive == 0;
  if (v == "channel") return t.channel != nullptr;
  if (v == "thread") return t.thread != nullptr && s.thread.timed_join == nullptr;
  if (v == "thread_timed") return t.thread != nullptr && s.thread.timed_join != nullptr;
  if (v == "executor") return t.executor != nullptr;
  if (v == "waiter_list") return t.waiter_list != nullptr;
  if (v == "atomics") return t.atomics != nullptr && s.atomics.native != 0;
  if (v == "atomics_locked") return t.atomics != nullptr && s.atomics.native == 0;
  if (v == "safepoint") return t.safepoint != nullptr;
  if (v == "async") return t.async != nullptr;
  return false;
}

std::vector<std::string> offered_tables(int slot) {
  const jostle_plugin& t = g_slots[slot].table;
  std::vector<std::string> out;
  const std::pair<const void*, const char*> all[] = {
      {t.futex, "futex"},         {t.mutex, "mutex"},     {t.rwlock, "rwlock"},           {t.condvar, "condvar"},
      {t.semaphore, "semaphore"}, {t.event, "event"},     {t.waitgroup, "waitgroup"},     {t.owned_mutex, "owned_mutex"},
      {t.channel, "channel"},     {t.thread, "thread"},   {t.executor, "executor"},       {t.waiter_list, "waiter_list"},
      {t.atomics, "atomics"},     {t.safepoint, "safepoint"}, {t.async, "async"}};
  for (const auto& [p, n] : all)
    if (p != nullptr) out.emplace_back(n);
  return out;
}

namespace {
std::vector<std::string> g_run_tables[kSlots];
}

std::vector<std::string> unused_tables(int slot) {
  std::vector<std::string> out;
  for (const auto& t : offered_tables(slot)) {
    bool used = false;
    for (const auto& r : g_run_tables[slot]) used = used || r == t;
    if (!used) out.push_back(t);
  }
  return out;
}

std::string fill_slot(int slot, const std::string& abs) {
  const std::string where = "plugin '" + abs + "': ";
  const jostle_plugin* t = nullptr;
  void* handle = nullptr;
  {
    EntryGuard guard(where);
    ::dlerror();
    handle = ::dlopen(abs.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (handle == nullptr) {
      const char* e = ::dlerror();
      return std::string("cannot load the library: ") + (e ? e : "unknown dlopen error");
    }
    void* sym = ::dlsym(handle, JOSTLE_PLUGIN_ENTRY_SYMBOL);
    if (sym == nullptr) {
      ::dlclose(handle);
      return "the library exports no " JOSTLE_PLUGIN_ENTRY_SYMBOL " function (declare it extern \"C\" with "
             "default visibility)";
    }
    t = reinterpret_cast<jostle_plugin_entry_fn>(sym)();
  }
  // Every check below reads the table before any dlclose (the table lives in the library).
  std::string err;
  if (t == nullptr) {
    err = JOSTLE_PLUGIN_ENTRY_SYMBOL "() returned a null table";
  } else if (t->abi_version < 1 || t->abi_version > JOSTLE_PLUGIN_ABI_VERSION) {
    err = "built for plugin ABI version " + std::to_string(t->abi_version) + ", this harness speaks versions 1 to " +
          std::to_string(JOSTLE_PLUGIN_ABI_VERSION);
  } else {
    const std::size_t need = t->abi_version == 1 ? JOSTLE_PLUGIN_V1_SIZE : sizeof(jostle_plugin);
    if (t->struct_size < need)
      err = "its table's struct_size is " + std::to_string(t->struct_size) + ", smaller than the ABI version " +
            std::to_string(t->abi_version) + " table (" + std::to_string(need) + " bytes): set it to sizeof(jostle_plugin)";
  }
  if (!err.empty()) {
    ::dlclose(handle);
    return err;
  }

  Slot& s = g_slots[slot];
  s = Slot{};
  const std::uint32_t abi = t->abi_version;
  std::memcpy(&s.table, t, abi >= 2 ? sizeof(jostle_plugin) : JOSTLE_PLUGIN_V1_SIZE);
  copy_sub(t->futex, s.futex, abi, sizeof(jostle_futex_ops));
  copy_sub(t->mutex, s.mutex, abi, offsetof(jostle_mutex_ops, timed_lock));
  copy_sub(t->rwlock, s.rwlock, abi, sizeof(jostle_rwlock_ops));
  copy_sub(t->condvar, s.condvar, abi, offsetof(jostle_condvar_ops, flags));
  copy_sub(t->semaphore, s.semaphore, abi, offsetof(jostle_semaphore_ops, permits));
  if (abi >= 2) {
    copy_sub(t->event, s.event, abi, 0);
    copy_sub(t->waitgroup, s.waitgroup, abi, 0);
    copy_sub(t->owned_mutex, s.owned_mutex, abi, 0);
    copy_sub(t->channel, s.channel, abi, 0);
    copy_sub(t->thread, s.thread, abi, 0);
    copy_sub(t->executor, s.executor, abi, 0);
    copy_sub(t->waiter_list, s.waiter_list, abi, 0);
    copy_sub(t->atomics, s.atomics, abi, 0);
    copy_sub(t->safepoint, s.safepoint, abi, 0);
    copy_sub(t->async, s.async, abi, 0);
  }
  jostle_plugin& c = s.table;
  c.abi_version = abi;
  c.struct_size = sizeof(jostle_plugin);
  repoint(c.futex, s.futex);
  repoint(c.mutex, s.mutex);
  repoint(c.rwlock, s.rwlock);
  repoint(c.condvar, s.condvar);
  repoint(c.semaphore, s.semaphore);
  repoint(c.event, s.event);
  repoint(c.waitgroup, s.waitgroup);
  repoint(c.owned_mutex, s.owned_mutex);
  repoint(c.channel, s.channel);
  repoint(c.thread, s.thread);
  repoint(c.executor, s.executor);
  repoint(c.waiter_list, s.waiter_list);
  repoint(c.atomics, s.atomics);
  repoint(c.safepoint, s.safepoint);
  repoint(c.async, s.async);
  s.abi_version = abi;
  if (std::string e = validate(s); !e.empty()) {
    s = Slot{};
    ::dlclose(handle);
    return e;
  }
  for (const Slot& o : g_slots) {
    if (o.loaded && o.name == c.name) {
      const std::string dup = o.name;
      s = Slot{};
      ::dlclose(handle);
      return "a plugin named '" + dup + "' is already loaded";
    }
  }
  s.name = c.name;
  s.path = abs;
  s.handle = handle;
  s.loaded = true;
  return {};
}

std::string load(const std::string& path) {
  const std::string where = "plugin '" + path + "': ";
  if (path.find('/') == std::string::npos)
    return where + "give a path to the library file (./" + path + " or an absolute path); a bare name would make "
           "dlopen search the system library path";
  char resolved[PATH_MAX];
  if (::realpath(path.c_str(), resolved) == nullptr)
    return where + "no such file (" + std::strerror(errno) + ")";
  const std::string abs = resolved;
  int slot = 0;
  while (slot < kSlots && g_slots[slot].loaded) ++slot;
  if (slot == kSlots) return where + "at most " + std::to_string(kSlots) + " plugins can be loaded at once";
  for (const Slot& s : g_slots)
    if (s.loaded && s.path == abs) return where + "this library is already loaded";

  if (std::string e = fill_slot(slot, abs); !e.empty()) return where + e;
  g_run_tables[slot].clear();
  for (CaseDef* def : all_cases()) {
    for (BackendEntry& be : def->backends) {
      const std::string tbl = expose_entry(be.backend, def->requires_profile, slot);
      if (tbl.empty()) continue;
      note_backend(be.backend);
      bool seen = false;
      for (const auto& r : g_run_tables[slot]) seen = seen || r == tbl;
      if (!seen) g_run_tables[slot].push_back(tbl);
    }
  }
  return {};
}

}  // namespace jostle::plugin
