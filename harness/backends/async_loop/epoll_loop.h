// A small epoll loop for async notifiers, with libxev's run modes:
//   once        blocks until at least one callback ran (returns at once if nothing is armed)
//   no_wait     runs the callbacks whose notifier is ready now, never blocks
//   until_done  runs until no wait is armed
// run() takes an optional timeout so a case can tell "never fired" from a hang; it returns false when the
// timeout passed before the mode's condition was met. Level-triggered: a notifier whose drain() left it
// readable fires again on the next run, which is what makes a non-coalescing notifier visible.
#pragma once

#include <sys/epoll.h>
#include <unistd.h>

#include <cerrno>
#include <functional>
#include <memory>
#include <vector>

#include "jostle/chaos.h"
#include "jostle/clock.h"
#include "jostle/contracts/async.h"

namespace jostle {

template <AsyncNotifier A>
class EpollLoop {
 public:
  EpollLoop() : ep_(::epoll_create1(EPOLL_CLOEXEC)) {}
  ~EpollLoop() { ::close(ep_); }
  EpollLoop(const EpollLoop&) = delete;
  EpollLoop& operator=(const EpollLoop&) = delete;

  // Arms a wait on `a`: `cb` runs on the loop thread after each notification until it returns disarm.
  void wait(A& a, std::function<AsyncAction()> cb) {
    a.arm();
    auto e = std::make_unique<Entry>(Entry{&a, std::move(cb), true});
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.ptr = e.get();
    ::epoll_ctl(ep_, EPOLL_CTL_ADD, a.fd(), &ev);
    ++armed_;
    entries_.push_back(std::move(e));
  }

  bool run(RunMode mode, Nanos timeout = -1) {
    if (mode == RunMode::no_wait) {
      poll(0);
      return true;
    }
    const Nanos deadline = timeout < 0 ? -1 : now_ns() + timeout;
    for (;;) {
      if (armed_ == 0) return true;
      int wait_ms = -1;
      if (deadline >= 0) {
        const Nanos left = deadline - now_ns();
        if (left <= 0) return false;
        wait_ms = static_cast<int>((left + kMilli - 1) / kMilli);
      }
      if (poll(wait_ms) > 0 && mode == RunMode::once) return true;
    }
  }

  int armed() const { return armed_; }
  long callbacks() const { return callbacks_; }

 private:
  struct Entry {
    A* a;
    std::function<AsyncAction()> cb;
    bool armed;
  };

  // One epoll_wait and its callbacks. Returns how many callbacks ran.
  int poll(int wait_ms) {
    epoll_event evs[16];
    if (wait_ms != 0) JOSTLE_CHAOS_BLOCKING_BEGIN("async.loop.epoll_wait");
    int n = ::epoll_wait(ep_, evs, 16, wait_ms);
    if (wait_ms != 0) JOSTLE_CHAOS_BLOCKING_END("async.loop.epoll_wait");
    if (n < 0) return 0;  // EINTR: the caller loops
    int ran = 0;
    for (int i = 0; i < n; ++i) {
      Entry* e = static_cast<Entry*>(evs[i].data.ptr);
      if (!e->armed) continue;
      e->a->drain();
      ++ran;
      ++callbacks_;
      if (e->cb() == AsyncAction::disarm) {
        ::epoll_ctl(ep_, EPOLL_CTL_DEL, e->a->fd(), nullptr);
        e->armed = false;
        --armed_;
      }
    }
    return ran;
  }

  int ep_;
  int armed_ = 0;
  long callbacks_ = 0;
  std::vector<std::unique_ptr<Entry>> entries_;
};

}  // namespace jostle
