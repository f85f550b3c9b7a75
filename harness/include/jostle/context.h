// What a case body sees: the iteration, the seed, parameters, actor threads released through a start gate,
// outcome recording, metrics and the parked probe. The body is called once per iteration.
#pragma once

#include <cstdint>
#include <exception>
#include <memory>
#include <type_traits>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "jostle/chaos.h"
#include "jostle/clock.h"
#include "jostle/gate.h"
#include "jostle/probe.h"
#include "jostle/registry.h"
#include "jostle/watchdog.h"

namespace jostle {

// splitmix64: small, seedable, good enough to pick delays and orders.
class Rng {
 public:
  explicit Rng(std::uint64_t seed = 1) : s_(seed) {}
  std::uint64_t next() {
    std::uint64_t z = (s_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  // Uniform in [0, n).
  std::uint64_t below(std::uint64_t n) { return n == 0 ? 0 : next() % n; }
  bool chance(double p) { return static_cast<double>(next() >> 11) * 0x1.0p-53 < p; }

 private:
  std::uint64_t s_;
};

// Thrown by Context::unsupported(); the harness turns it into an `unsupported` end status.
struct Unsupported {
  std::string reason;
};

class Run;  // harness-internal run state (events, histogram, metrics)

// Result of one wait as far as the caller can tell, for wake accounting.
enum class WaitOutcome { notified, timed_out, spurious };

// Per-waiter wake accounting: every wait is counted as notified, timed out or spurious, so a case can assert
// signal conservation (each signal is consumed by exactly one waiter that says "notified").
struct WakeTally {
  std::atomic<std::uint64_t> notified{0};
  std::atomic<std::uint64_t> timed_out{0};
  std::atomic<std::uint64_t> spurious{0};
  void count(WaitOutcome o) {
    (o == WaitOutcome::notified ? notified : o == WaitOutcome::timed_out ? timed_out : spurious)
        .fetch_add(1, std::memory_order_relaxed);
  }
};

class ActorGroup;

class Context {
 public:
  Context(Run& run, const Instance& inst, std::uint64_t seed);

  std::uint64_t seed() const { return seed_; }
  std::uint64_t iteration() const { return iteration_; }
  // A seed derived from (run seed, iteration, stream): actors take stream = their index.
  std::uint64_t seed_for(std::uint64_t stream) const;
  Rng& rng() { return rng_; }

  const std::string& param(std::string_view name) const;
  long long param_int(std::string_view name) const;

  // Outcome of this iteration (or of one sample within it). Undeclared keys are graded FORBIDDEN.
  void record(std::string_view key);
  void metric(std::string_view name, double value, const char* unit = "");
  [[noreturn]] void unsupported(std::string reason);

  // True once --duration has passed or the run is being stopped; long-running bodies poll it.
  bool stop_requested() const;

  // Starts n actor threads; each calls f(index) after a start gate releases them all together. join() (or the
  // destructor) waits for them.
  template <class F>
  ActorGroup spawn(int n, F&& f);
  // spawn + join.
  template <class F>
  void actors(int n, F&& f);

  // Confirmed-parked probe for actor `actor` at phase `phase_name` (see probe.h).
  bool await_parked(int actor, const char* phase_name, Nanos timeout = 5 * kSecond) {
    return probe::await_parked(actor, phase_name, timeout);
  }

  // Harness-internal.
  void begin_iteration(std::uint64_t i);
  Run& run() { return run_; }
  const Instance& instance() const { return inst_; }

 private:
  Run& run_;
  const Instance& inst_;
  std::uint64_t seed_;
  std::uint64_t iteration_ = 0;
  Rng rng_;
};

namespace detail {
void actor_escaped(int actor, std::exception_ptr e);
}

class ActorGroup {
 public:
  ActorGroup() = default;
  ActorGroup(ActorGroup&&) = default;
  ActorGroup& operator=(ActorGroup&&) = delete;
  ~ActorGroup() { join(); }

  void join() {
    chaos::HarnessWait wait;  // the main thread may hold the PCT token
    for (auto& t : threads_)
      if (t.joinable()) t.join();
  }
  int size() const { return static_cast<int>(threads_.size()); }

 private:
  friend class Context;
  std::vector<std::thread> threads_;
};

template <class F>
ActorGroup Context::spawn(int n, F&& f) {
  ActorGroup g;
  // Shared, because actors may still be leaving the gate (or running f) after spawn returns.
  auto gate = std::make_shared<StartGate>(n);
  auto fn = std::make_shared<std::decay_t<F>>(std::forward<F>(f));
  g.threads_.reserve(static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) {
    g.threads_.emplace_back([gate, fn, i] {
      bind_current_thread(i);
      gate->arrive_and_wait();
      try {
        (*fn)(i);
      } catch (...) {
        detail::actor_escaped(i, std::current_exception());
      }
      release_actor_slot(i);
    });
  }
  gate->open_when_all_arrived();
  return g;
}

template <class F>
void Context::actors(int n, F&& f) {
  ActorGroup g = spawn(n, std::forward<F>(f));
  g.join();
}

}  // namespace jostle
