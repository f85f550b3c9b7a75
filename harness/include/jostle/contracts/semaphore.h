// The counting semaphore contract (Zig's Thread.Semaphore, std::counting_semaphore).
//
// S s;  starts with 0 permits (s.post() n times to give it n)
// s.post()                   adds one permit and releases one blocked waiter if any     [sem.post]
// s.wait()                   takes one permit, blocking until one is available          [sem.wait]
// s.try_wait() -> bool       takes one permit if one is available, never blocks         [sem.try-wait]
// s.timed_wait(ns) -> bool   as wait; false once `ns` passed on the monotonic clock (never before it), and
//                            a false return has taken no permit                         [sem.timed-wait]
// s.permits() -> unsigned    permits available now (for conservation checks)
// Conservation: posts == successful waits + permits() once everyone stopped            [sem.conservation]
// Ordering: a post() happens-before the wait() that takes its permit                    [sem.happens-before]
#pragma once

#include <concepts>
#include <cstdint>
#include <string_view>

#include "jostle/clock.h"
#include "jostle/contracts/backend.h"

namespace jostle {

template <class S>
concept SemaphoreBackend = NamedBackend<S> && std::default_initializable<S> && requires(S& s, Nanos t) {
  { s.post() } -> std::same_as<void>;
  { s.wait() } -> std::same_as<void>;
  { s.try_wait() } -> std::same_as<bool>;
  { s.timed_wait(t) } -> std::same_as<bool>;
  { s.permits() } -> std::convertible_to<std::uint32_t>;
};

}  // namespace jostle
