// The wait group contract (Zig's std.Thread.WaitGroup, Go's sync.WaitGroup): a counter of outstanding work
// that waiters block on until it drops to zero.
//
// G g;                       starts done: counter 0, no waiter                         [wg.initial-done]
// g.start() / g.start(n)     counter += 1 (n); does not block                          [wg.start]
// g.finish()                 counter -= 1 (one finish per started unit; a finish at 0 is a caller error).
//                            The finish that brings the counter to 0 releases every wait() blocked on this
//                            round, however many                                       [wg.finish.wakes-all]
// g.wait()                   returns once the counter is 0, at once if it already is   [wg.wait]
//                            and never while work is outstanding                       [wg.wait.no-early]
//                            A wait() that arrives while the last finish() runs still returns: the last
//                            decrement and the wake decision are one atomic step with respect to a waiter
//                            announcing itself                                         [wg.wait.no-lost-wake]
// g.wait_for(ns) -> bool     as wait, true once done; false once `ns` passed on the monotonic clock with work
//                            still outstanding, never before it. wait_for(0) is a non-blocking is_done()
//                            (optional: TimedWaitGroupBackend)                         [wg.wait-for]
// g.is_done() -> bool        the counter is 0 now                                      [wg.is-done]
// g.reset()                  back to the initial state. Legal only when done and with no waiter inside
//                            wait()                                                    [wg.reset]
// Reuse: start() after the counter reached 0 begins a new round. If any wait() or wait_for() was called since
// the last reset(), call reset() first, once every waiter returned (an event-based group keeps its event set until
// then); a round no one waited in needs no reset.                                      [wg.reuse]
// Ordering: every finish() happens-before the return of each wait() (and each is_done() == true) that saw its
// decrement: plain data a worker wrote before finish() is visible after wait()            [wg.happens-before]
#pragma once

#include <concepts>
#include <cstdint>
#include <string_view>

#include "jostle/clock.h"
#include "jostle/contracts/backend.h"

namespace jostle {

template <class G>
concept WaitGroupBackend = NamedBackend<G> && std::default_initializable<G> && requires(G& g, std::uint32_t n) {
  { g.start() } -> std::same_as<void>;
  { g.start(n) } -> std::same_as<void>;
  { g.finish() } -> std::same_as<void>;
  { g.wait() } -> std::same_as<void>;
  { g.is_done() } -> std::same_as<bool>;
  { g.reset() } -> std::same_as<void>;
};

// Groups whose waiters can give up after a timeout on the monotonic clock.
template <class G>
concept TimedWaitGroupBackend = WaitGroupBackend<G> && requires(G& g, Nanos t) {
  { g.wait_for(t) } -> std::same_as<bool>;
};

}  // namespace jostle
