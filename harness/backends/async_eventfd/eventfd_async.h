// `eventfd`: libxev's Linux async. notify() adds 1 to an eventfd counter (EAGAIN on a saturated counter means
// a notification is already pending, so it is ignored); the loop polls for EPOLLIN and drain() reads the
// counter, which resets it to zero: however many notifications were pending, one callback runs.
#pragma once

#include <sys/eventfd.h>
#include <unistd.h>

#include <cstdint>

#include "jostle/chaos.h"
#include "jostle/contracts/async.h"
#include "jostle/typelist.h"

namespace jostle {

enum class EventfdDefect {
  none,
  semaphore_mode,  // EFD_SEMAPHORE: each read takes one unit, so each notify gives its own callback
  drain_on_arm,    // arming discards pending notifications: only notifications after the wait is armed count
};

template <EventfdDefect D = EventfdDefect::none>
class EventfdAsyncT {
 public:
  static constexpr std::string_view kPrimitive = "async";

  EventfdAsyncT()
      : fd_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK | (D == EventfdDefect::semaphore_mode ? EFD_SEMAPHORE : 0))) {}
  ~EventfdAsyncT() { ::close(fd_); }
  EventfdAsyncT(const EventfdAsyncT&) = delete;
  EventfdAsyncT& operator=(const EventfdAsyncT&) = delete;

  void notify() {
    JOSTLE_CHAOS("async.notify.before");
    const std::uint64_t one = 1;
    [[maybe_unused]] ssize_t n = ::write(fd_, &one, sizeof one);  // EAGAIN: already pending
  }
  int fd() const { return fd_; }
  void arm() {
    if constexpr (D == EventfdDefect::drain_on_arm) drain();  // the defect: "clear stale readiness" on arm
  }
  void drain() {
    JOSTLE_CHAOS("async.drain.before");
    std::uint64_t v;
    [[maybe_unused]] ssize_t n = ::read(fd_, &v, sizeof v);  // EAGAIN: nothing pending
  }

 private:
  int fd_;
};

struct EventfdAsync : EventfdAsyncT<> {
  static constexpr std::string_view kName = "eventfd";
  static constexpr std::string_view kDescription = "eventfd(EFD_NONBLOCK) counter drained by one read, epoll loop";
};
struct MutantAsyncNotCoalesced : EventfdAsyncT<EventfdDefect::semaphore_mode> {
  static constexpr std::string_view kName = "mutant.async.not_coalesced";
  static constexpr std::string_view kDescription = "eventfd in EFD_SEMAPHORE mode: one callback per notify";
  static constexpr std::string_view kCatches = "futex/async_coalesce,futex/async_once";
  static constexpr std::string_view kDifficulty = "D1";
  static constexpr std::string_view kSource =
      "libxev 'async batches multiple notifications' (contract); libxev 2ea3add (mach queue limit 1)";
};
struct MutantAsyncEdgeNotLatched : EventfdAsyncT<EventfdDefect::drain_on_arm> {
  static constexpr std::string_view kName = "mutant.async.edge_not_latched";
  static constexpr std::string_view kDescription =
      "eventfd that drains on arm: a notify sent before the wait is armed is dropped";
  static constexpr std::string_view kCatches = "futex/async_notify_first";
  static constexpr std::string_view kDifficulty = "D1";
  static constexpr std::string_view kSource = "libxev 'async: notify first'; tensorflow PR #4064";
};

static_assert(AsyncNotifier<EventfdAsync> && AsyncNotifier<MutantAsyncNotCoalesced>);

using EventfdAsyncMutants = TypeList<MutantAsyncNotCoalesced, MutantAsyncEdgeNotLatched>;

}  // namespace jostle
