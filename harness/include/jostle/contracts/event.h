// The reset event contract (Zig's ResetEvent, abseil's Notification with reset).
//
// E e;                       starts unset                                               [event.initial-unset]
// e.set()                    latches: every wait() after it returns at once, until reset()   [event.set.latch]
//                            and every waiter blocked before it is released           [event.set.wakes-all]
// e.reset()                  unsets; set() and reset() are ordered like a store         [event.reset]
// e.is_set() -> bool         the latched state                                          [event.is-set]
// e.wait()                   returns once the event is set (at once if it already is)   [event.wait]
// e.timed_wait(ns) -> bool   as wait, true if set; false once `ns` passed on the monotonic clock and never
//                            before it; timed_wait(0) is a non-blocking is_set()        [event.timed-wait]
// Ordering: set() happens-before every wait() that returns because of it (plain data written before set() is
// visible after wait())                                                                [event.happens-before]
#pragma once

#include <concepts>
#include <string_view>

#include "jostle/clock.h"
#include "jostle/contracts/backend.h"

namespace jostle {

template <class E>
concept EventBackend = NamedBackend<E> && std::default_initializable<E> && requires(E& e, Nanos t) {
  { e.set() } -> std::same_as<void>;
  { e.reset() } -> std::same_as<void>;
  { e.is_set() } -> std::same_as<bool>;
  { e.wait() } -> std::same_as<void>;
  { e.timed_wait(t) } -> std::same_as<bool>;
};

}  // namespace jostle
