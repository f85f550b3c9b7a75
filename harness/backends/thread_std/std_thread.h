// `std`: std::thread, with the control block shared between the handle and the thread through a reference
// count (the other classic ownership scheme: whoever drops the last reference frees it). Names from the thread
// itself go through prctl(PR_SET_NAME), which truncates silently, so the backend enforces the length rule itself.
#pragma once

#include <pthread.h>
#include <sys/prctl.h>

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <memory>
#include <thread>

#include "jostle/chaos.h"
#include "jostle/contracts/thread.h"

namespace jostle {

template <bool kTruncates>
struct StdThreadT {
  static constexpr std::string_view kName = kTruncates ? "mutant.name-truncates" : "std";
  static constexpr std::string_view kDescription =
      kTruncates ? "std backend whose self-naming passes long names straight to prctl(PR_SET_NAME), which "
                   "truncates them silently instead of failing with ERANGE"
                 : "std::thread; control block owned through a shared reference count; self-naming with "
                   "prctl(PR_SET_NAME) behind an explicit length check";
  static constexpr std::size_t kMaxNameLen = 15;

  struct Counters {
    std::atomic<std::uint64_t> acquired{0}, released{0}, exited{0};
  };
  static Counters& counters() {
    static Counters c;
    return c;
  }
  struct Block {
    Block() { counters().acquired.fetch_add(1, std::memory_order_relaxed); }
    ~Block() { counters().released.fetch_add(1, std::memory_order_relaxed); }
    Block(const Block&) = delete;
    Block& operator=(const Block&) = delete;
    std::thread thread;
  };
  struct Handle {
    std::shared_ptr<Block> blk;
  };

  static int spawn(Handle& h, ThreadEntry entry, void* arg) {
    auto b = std::make_shared<Block>();
    try {
      b->thread = std::thread([keep = b, entry, arg]() mutable {
        entry(arg);
        JOSTLE_CHAOS("thread.exit.cleanup");
        keep.reset();
        counters().exited.fetch_add(1, std::memory_order_release);
      });
    } catch (const std::system_error& e) {
      return e.code().value() ? e.code().value() : EAGAIN;
    }
    h.blk = std::move(b);
    return 0;
  }
  static void join(Handle& h) {
    h.blk->thread.join();
    h.blk.reset();
  }
  static void detach(Handle& h) {
    h.blk->thread.detach();
    JOSTLE_CHAOS("thread.detach");
    h.blk.reset();
  }
  static int set_name(Handle& h, const char* name) {
    return pthread_setname_np(h.blk->thread.native_handle(), name);
  }
  static int get_name(Handle& h, char* buf, std::size_t len) {
    return pthread_getname_np(h.blk->thread.native_handle(), buf, len);
  }
  static int set_name_self(const char* name) {
    if (!kTruncates && std::strlen(name) > kMaxNameLen) return ERANGE;
    return prctl(PR_SET_NAME, name, 0, 0, 0) == 0 ? 0 : errno;
  }
  static int get_name_self(char* buf, std::size_t len) {
    if (len <= kMaxNameLen) return ERANGE;
    char tmp[kMaxNameLen + 1] = {};
    if (prctl(PR_GET_NAME, tmp, 0, 0, 0) != 0) return errno;
    std::memcpy(buf, tmp, sizeof tmp);
    return 0;
  }
  static std::uint64_t current_id() { return static_cast<std::uint64_t>(pthread_self()); }
  static void yield() { std::this_thread::yield(); }
  static void sleep(Nanos ns) { std::this_thread::sleep_for(std::chrono::nanoseconds(ns)); }
  static unsigned cpu_count() {
    const unsigned n = std::thread::hardware_concurrency();
    return n ? n : 1u;
  }
  static ThreadStats stats() {
    auto& c = counters();
    ThreadStats s;
    s.exited = c.exited.load(std::memory_order_acquire);
    s.acquired = c.acquired.load(std::memory_order_relaxed);
    s.released = c.released.load(std::memory_order_relaxed);
    return s;
  }
};
using StdThread = StdThreadT<false>;
static_assert(ThreadBackend<StdThread>);

struct MutantNameTruncates : StdThreadT<true> {
  static constexpr std::string_view kCatches = "agents/thread_names";
  static constexpr std::string_view kDifficulty = "D1";
  static constexpr std::string_view kSource = "Zig std.Thread setName contract (NameTooLong); prctl(2) truncation";
};
static_assert(ThreadBackend<MutantNameTruncates>);

}  // namespace jostle
