// The agent-cluster contract: test262's $262.agent (tc39/test262 INTERPRETING.md, "Host-Defined Functions")
// in C++. A backend A provides A::Cluster (the main agent's side), A::Api (what an agent's code sees, and the
// main agent's own Atomics surface), and A::Buffer (a shared data block agents can wait on).
//
// Main side (A::Cluster, constructed with ClusterOptions):
//   c.new_buffer(bytes) -> Buffer          zeroed shared memory every agent can reach
//   c.start(fn, AgentOptions) -> index     runs fn(api) in a new concurrent agent and returns once that agent
//                                          is running (not merely scheduled)                    [agent.start.running]
//   c.broadcast(buf, num) -> BroadcastStatus
//     hands (buf, num) to every started agent and returns once each of them retrieved it      [agent.broadcast.rendezvous]
//     (agents that called leaving(), returned or crashed are not waited for). agent_crashed when
//     an agent crashed (the others are then torn down)                                        [agent.crash.reported]
//   c.get_report() -> optional<string>     a pending report from any agent, or nullopt at once [agent.report.nonblocking]
//                                          FIFO per agent; the text is a copy             [agent.report.fifo-copy]
//   c.main() -> Api&                       the main agent's Atomics surface (wait/notify/sleep/now); its
//                                          [[CanBlock]] is ClusterOptions::main_can_block
//   c.waiters(buf, i) -> size_t            waiters enqueued on cell i now (the parked probe)
//   c.teardown() -> TeardownReport         stops every agent: raises the stop word, wakes agents parked in
//                                          wait/receive_broadcast/sleep (they unwind with AgentStopped) and
//                                          joins them, all within ClusterOptions::hard_timeout; an agent that
//                                          does not come back in time is reported wedged, never waited for
//                                          forever                                          [agent.teardown.bounded]
//                                          A parked agent is woken, not left wedged          [agent.teardown.wakes]
// Agent side (A::Api&):
//   receive_broadcast() -> {buf, num}      blocks until the next broadcast (each agent sees every broadcast,
//                                          in order)
//   report(text)                           copies text into the agent's report queue (never blocks the main)
//   sleep(ms), monotonic_now() -> ms        the same CLOCK_MONOTONIC as the main side, fractional ms
//   leaving()                              done: broadcasts no longer wait for this agent
//   can_block()                            this agent's [[CanBlock]] (AgentOptions::can_block)
//   wait(buf, i, expected, timeout_ms) -> WaitStatus   Atomics.wait on an Int32 cell: throws
//                                          AtomicsError(type_error) when !can_block(), before the compare;
//                                          then not-equal / ok / timed-out (timeout a lower bound)
//   wait_async(buf, i, expected, timeout_ms) -> AsyncWait; await_async(AsyncWait) -> WaitStatus
//                                          Atomics.waitAsync: joins the same FIFO as sync waiters; settles on
//                                          this agent's own loop
//   notify(buf, i, count) -> uint64        wakes up to count waiters, oldest first; returns how many
//   A::cell(buf, i) -> std::int32_t*       the Int32 cell, for std::atomic_ref RMW operations
#pragma once

#include <concepts>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "jostle/clock.h"
#include "jostle/contracts/waiter_list.h"

namespace jostle {

struct AgentOptions {
  bool can_block = true;
};

struct ClusterOptions {
  Nanos hard_timeout = 5 * kSecond;
  bool main_can_block = true;
};

enum class BroadcastStatus { ok, agent_crashed };

struct TeardownReport {
  int agents = 0;   // started
  int joined = 0;   // ended on their own or through the stop word
  int wedged = 0;   // still running at the hard timeout (threads detached, processes killed)
  int crashed = 0;  // died on a signal (process backend)
  Nanos elapsed = 0;
};

// Thrown inside an agent by a blocking call once teardown raised the stop word; the backend catches it.
struct AgentStopped {};

// What wait_async hands back: settled at once (async == false, value) or pending (await_async settles it).
struct AsyncWait {
  bool async = false;
  WaitStatus value = WaitStatus::timed_out;
  std::uint64_t handle = 0;
};

template <class A>
concept AgentBackend = requires(typename A::Cluster& c, typename A::Api& api, typename A::Buffer& buf,
                                std::function<void(typename A::Api&)> fn, std::size_t i, std::int32_t v,
                                double ms, std::int64_t num, AsyncWait aw) {
  { A::kName } -> std::convertible_to<std::string_view>;
  { c.new_buffer(i) } -> std::same_as<typename A::Buffer>;
  { c.start(fn, AgentOptions{}) } -> std::same_as<int>;
  { c.broadcast(buf, num) } -> std::same_as<BroadcastStatus>;
  { c.get_report() } -> std::same_as<std::optional<std::string>>;
  { c.main() } -> std::same_as<typename A::Api&>;
  { c.waiters(buf, i) } -> std::same_as<std::size_t>;
  { c.teardown() } -> std::same_as<TeardownReport>;
  { api.receive_broadcast() } -> std::same_as<std::pair<typename A::Buffer, std::int64_t>>;
  { api.report(std::string_view{}) } -> std::same_as<void>;
  { api.sleep(ms) } -> std::same_as<void>;
  { api.monotonic_now() } -> std::same_as<double>;
  { api.leaving() } -> std::same_as<void>;
  { api.can_block() } -> std::same_as<bool>;
  { api.wait(buf, i, v, ms) } -> std::same_as<WaitStatus>;
  { api.wait_async(buf, i, v, ms) } -> std::same_as<AsyncWait>;
  { api.await_async(aw) } -> std::same_as<WaitStatus>;
  { api.notify(buf, i, NotifyCount{}) } -> std::same_as<std::uint64_t>;
  { A::cell(buf, i) } -> std::same_as<std::int32_t*>;
} && std::constructible_from<typename A::Cluster, ClusterOptions>;

// monotonicNow: fractional milliseconds on CLOCK_MONOTONIC (the clock every timeout is measured on).
inline double monotonic_now_ms() { return static_cast<double>(now_ns()) / 1e6; }

}  // namespace jostle
