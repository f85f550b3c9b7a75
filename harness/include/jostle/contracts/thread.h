// The thread lifecycle contract (Zig std.Thread, a VM's `thread` module): spawn with arguments, join returning
// the result, detach, names, ids, yield, sleep, CPU count.
//
// A backend T provides raw operations on an opaque T::Handle; the typed layer below (jostle::spawn_thread)
// packs the callable, its arguments and its result into one control block that the backend owns.
//
// T::spawn(h, entry, arg) -> int
//   Starts a thread running entry(arg). 0 on success, else an errno (EAGAIN) and no thread.   [thread.spawn]
// T::join(h)
//   Waits for the thread; everything it wrote is visible afterwards (happens-before).          [thread.join.visible]
//   A handle is joined or detached exactly once.
// T::detach(h)
//   The thread keeps running; its resources are released when it and the detach are both done, exactly once,
//   whichever comes last, even when detach races the thread's exit.                            [thread.detach.once]
// T::stats() -> ThreadStats
//   Ownership accounting of control blocks: every block acquired is released exactly once
//   (acquired == released once all threads exited, double_released == 0). `exited` is bumped as the very last
//   step of the thread's exit path, after the ownership decision.                              [thread.detach.no-leak]
// T::set_name(h, name) / T::get_name(h, buf, len) and the *_self forms (from the thread itself)
//   Names round-trip, from the thread and from outside.                                       [thread.name.round-trip]
//   kMaxNameLen (Linux: 15 bytes + NUL): a longer name fails with ERANGE and leaves the name as it was
//   [thread.name.too-long]; get_name with len <= kMaxNameLen fails with ERANGE                  [thread.name.buffer]
// T::current_id() -> uint64
//   Distinct for threads alive at the same time, and different from the parent's.             [thread.id.unique]
// T::yield(); T::sleep(ns) sleeps at least ns on CLOCK_MONOTONIC                               [thread.sleep.lower-bound]
// T::cpu_count() >= 1                                                                           [thread.cpu-count]
//
// Refinement TimedJoinThreadBackend (pthread_clockjoin_np, Zig/VM "join with timeout"):
// T::timed_join(h, ns) -> int
//   0: the thread finished within ns (measured on CLOCK_MONOTONIC from the call) and is joined, exactly as by
//   join(). ETIMEDOUT: it is still running after at least ns [thread.timed-join.lower-bound], and the handle
//   is untouched: still joinable, a later join() returns the thread's result [thread.timed-join.no-consume].
//   A thread that already finished is joined at once, whatever ns is [thread.timed-join.finished].
#pragma once

#include <atomic>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <memory>
#include <optional>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>

#include "jostle/clock.h"

namespace jostle {

struct ThreadStats {
  std::uint64_t acquired = 0;
  std::uint64_t released = 0;
  std::uint64_t double_released = 0;
  std::uint64_t exited = 0;
};

using ThreadEntry = void (*)(void*);

template <class T>
concept ThreadBackend = requires(typename T::Handle& h, ThreadEntry e, void* a, const char* name, char* buf,
                                 std::size_t len, Nanos ns) {
  { T::kName } -> std::convertible_to<std::string_view>;
  { T::kMaxNameLen } -> std::convertible_to<std::size_t>;
  { T::spawn(h, e, a) } -> std::same_as<int>;
  { T::join(h) } -> std::same_as<void>;
  { T::detach(h) } -> std::same_as<void>;
  { T::set_name(h, name) } -> std::same_as<int>;
  { T::get_name(h, buf, len) } -> std::same_as<int>;
  { T::set_name_self(name) } -> std::same_as<int>;
  { T::get_name_self(buf, len) } -> std::same_as<int>;
  { T::current_id() } -> std::same_as<std::uint64_t>;
  { T::yield() } -> std::same_as<void>;
  { T::sleep(ns) } -> std::same_as<void>;
  { T::cpu_count() } -> std::same_as<unsigned>;
  { T::stats() } -> std::same_as<ThreadStats>;
};

template <class T>
concept TimedJoinThreadBackend = ThreadBackend<T> && requires(typename T::Handle& h, Nanos ns) {
  { T::timed_join(h, ns) } -> std::same_as<int>;
};

// A typed join handle over a backend: JoinHandle<T, R>::join() returns the callable's result.
template <ThreadBackend T, class R>
class JoinHandle {
 public:
  using Value = std::conditional_t<std::is_void_v<R>, int, R>;
  struct Slot {
    std::optional<Value> value;
  };

  explicit JoinHandle(std::shared_ptr<Slot> slot) : slot_(std::move(slot)) {}
  JoinHandle(JoinHandle&& o) noexcept : h_(std::move(o.h_)), slot_(std::move(o.slot_)), live_(o.live_) {
    o.live_ = false;
  }
  JoinHandle& operator=(JoinHandle&&) = delete;
  ~JoinHandle() {
    if (live_) std::terminate();  // neither joined nor detached: the std::thread rule
  }

  // Called once by spawn_thread.
  int start(ThreadEntry entry, void* arg) {
    const int rc = T::spawn(h_, entry, arg);
    live_ = rc == 0;
    return rc;
  }
  // A join that returns before the thread stored its result (a broken backend) yields a default value, so
  // that a case sees a wrong result instead of reading an empty optional.
  R join() {
    live_ = false;
    T::join(h_);
    if constexpr (!std::is_void_v<R>) return take();
  }
  // Timed join: the result when the thread finished within ns, nullopt on a timeout (the handle then stays
  // joinable and owes a join or detach as before).
  std::optional<Value> join_for(Nanos ns)
    requires TimedJoinThreadBackend<T>
  {
    if (T::timed_join(h_, ns) != 0) return std::nullopt;
    live_ = false;
    if constexpr (std::is_void_v<R>) {
      return Value{0};
    } else {
      return take();
    }
  }
  void detach() {
    live_ = false;
    T::detach(h_);
  }
  typename T::Handle& handle() { return h_; }

 private:
  Value take() {
    if constexpr (std::is_default_constructible_v<Value>) {
      if (!slot_->value) return Value{};
    }
    return std::move(*slot_->value);
  }

  typename T::Handle h_{};
  std::shared_ptr<Slot> slot_;
  bool live_ = false;
};

// Spawns f(args...) on a backend thread. Returns nullopt when the backend could not start a thread.
template <ThreadBackend T, class F, class... A>
auto spawn_thread(F&& f, A&&... args) -> std::optional<JoinHandle<T, std::invoke_result_t<F, A...>>> {
  using R = std::invoke_result_t<F, A...>;
  using Handle = JoinHandle<T, R>;
  struct Start {
    std::decay_t<F> fn;
    std::tuple<std::decay_t<A>...> args;
    std::shared_ptr<typename Handle::Slot> slot;
  };
  auto slot = std::make_shared<typename Handle::Slot>();
  std::optional<Handle> jh(std::in_place, slot);
  auto* start = new Start{std::forward<F>(f), std::tuple<std::decay_t<A>...>(std::forward<A>(args)...), slot};
  const ThreadEntry entry = [](void* p) {
    std::unique_ptr<Start> s(static_cast<Start*>(p));
    if constexpr (std::is_void_v<R>) {
      std::apply(s->fn, std::move(s->args));
      s->slot->value.emplace(0);
    } else {
      s->slot->value.emplace(std::apply(s->fn, std::move(s->args)));
    }
  };
  if (jh->start(entry, start) != 0) {
    delete start;
    return std::nullopt;
  }
  return jh;
}

}  // namespace jostle
