// The cross-thread async notifier contract (libxev's `async`): notify() from any thread wakes a loop.
//
// A a;                 default-constructible, owns its file descriptors
// a.notify()           any thread, any time; never blocks                                  [async.notify]
//   A notification sent before a wait is armed is kept and fires once it is   [async.notify.latch]
//   Notifications pending together fire one callback                           [async.notify.coalesce]
//   A notification sent after the last callback's drain fires another callback: the final one is never lost
//                                                                                          [async.notify.last]
// Loop side (EpollLoop<A>, harness/backends/async_loop/epoll_loop.h), used by exactly one thread:
// a.fd()               readable (EPOLLIN) while a notification is pending
// a.arm()              a wait is being armed on this notifier (prepare the fd; keep pending notifications)
// a.drain()            consume every pending notification (called once per readiness, before the callback);
//                      after it, the fd is not readable unless a newer notify() arrived [async.drain]
#pragma once

#include <concepts>
#include <string_view>

namespace jostle {

enum class RunMode { once, no_wait, until_done };
enum class AsyncAction { rearm, disarm };

template <class A>
concept AsyncNotifier = std::default_initializable<A> && requires(A& a) {
  { A::kName } -> std::convertible_to<std::string_view>;
  { a.notify() } -> std::same_as<void>;
  { a.fd() } -> std::convertible_to<int>;
  { a.arm() } -> std::same_as<void>;
  { a.drain() } -> std::same_as<void>;
};

}  // namespace jostle
