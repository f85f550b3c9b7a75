// `process`: every agent is a child process (fork, no exec). Buffers live in the MAP_SHARED memfd arena mapped
// before the first fork, so every agent sees the same memory at the same address; wait/notify use a waiter
// table in that arena with process-shared futex words; reports go through per-agent rings in the arena. A
// child dying on a signal is reported as crashed and the others are torn down. Children get PR_SET_PDEATHSIG,
// so a killed harness leaves no agents behind.
//
// Agent code runs in the child on a copy of the parent's memory as it was at start(): it must talk to the
// main agent only through buffers and reports, and must not use JOSTLE_CHECK (the harness lives in the parent).
#pragma once

#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <functional>
#include <utility>

#include "agent_core/agent_core.h"
#include "agent_core/arena_waiters.h"
#include "jostle/typelist.h"

namespace jostle {

template <bool kWakesParked>
struct ProcessAgentsT {
  static constexpr std::string_view kName = kWakesParked ? "process" : "mutant.agent.wedged_teardown";
  static constexpr std::string_view kDescription =
      kWakesParked ? "agents as forked child processes; memfd MAP_SHARED arena; process-shared futex waiter "
                     "table; report rings in shared memory; crash detection through waitpid"
                   : "process agents whose teardown raises the stop word but does not wake agents parked in "
                     "Atomics.wait, so they wedge until the hard timeout";
  static constexpr bool kIsolatesCrashes = true;

  struct Buffer {
    std::int32_t* base = nullptr;
    std::size_t bytes = 0;
    std::uint64_t offset = 0;
  };
  static std::int32_t* cell(Buffer& b, std::size_t i) { return b.base + i; }

  class Cluster;

  class Api : public agent_core::ControlApi<Cluster, Buffer> {
   public:
    using agent_core::ControlApi<Cluster, Buffer>::ControlApi;

    WaitStatus wait(Buffer& b, std::size_t i, std::int32_t expected, double ms) {
      check_index(b, i);
      if (!can_block_) throw AtomicsError(AtomicsError::type_error, "Atomics.wait: agent cannot block");
      int slot_index = -1;
      const WaitStatus s = o_->table().enqueue(o_->ctl(), key(b, i), cell(b, i), expected, timeout_from_ms(ms),
                                               slot_index);
      if (slot_index < 0) return s;
      return o_->table().block(slot_index);
    }
    AsyncWait wait_async(Buffer& b, std::size_t i, std::int32_t expected, double ms) {
      check_index(b, i);
      int slot_index = -1;
      const WaitStatus s = o_->table().enqueue(o_->ctl(), key(b, i), cell(b, i), expected, timeout_from_ms(ms),
                                               slot_index);
      if (slot_index < 0) return AsyncWait{false, s, 0};
      return AsyncWait{true, WaitStatus::ok, static_cast<std::uint64_t>(slot_index)};
    }
    WaitStatus await_async(AsyncWait w) {
      if (!w.async) return w.value;
      return o_->table().block(static_cast<int>(w.handle));
    }
    std::uint64_t notify(Buffer& b, std::size_t i, NotifyCount n) {
      check_index(b, i);
      return o_->table().notify(key(b, i), n.n);
    }

   private:
    using agent_core::ControlApi<Cluster, Buffer>::o_;
    using agent_core::ControlApi<Cluster, Buffer>::can_block_;
    static std::uint64_t key(const Buffer& b, std::size_t i) { return b.offset + 4 * i; }
    static void check_index(const Buffer& b, std::size_t i) {
      if (i >= b.bytes / 4) throw AtomicsError(AtomicsError::range_error, "index out of range");
    }
  };

  class Cluster {
   public:
    explicit Cluster(ClusterOptions o) : opt_(o), arena_(32u << 20), main_(this, -1, o.main_can_block) {
      table_ = new (arena_.base() + arena_.allocate(sizeof(agent_core::ArenaWaiters))) agent_core::ArenaWaiters();
    }
    ~Cluster() { teardown(); }
    Cluster(const Cluster&) = delete;
    Cluster& operator=(const Cluster&) = delete;

    Buffer new_buffer(std::size_t bytes) {
      const std::uint64_t off = arena_.allocate(bytes);
      return Buffer{reinterpret_cast<std::int32_t*>(arena_.base() + off), bytes, off};
    }

    int start(std::function<void(Api&)> fn, AgentOptions o) {
      auto& c = ctl();
      const int idx = static_cast<int>(c.nagents.load(std::memory_order_relaxed));
      if (idx >= agent_core::kMaxAgents) throw std::runtime_error("too many agents");
      auto& s = c.agents[idx];
      s.can_block = o.can_block;
      s.state.store(agent_core::kStarting, std::memory_order_release);
      c.nagents.store(static_cast<std::uint32_t>(idx + 1), std::memory_order_release);
      const pid_t parent = ::getpid();
      const pid_t pid = ::fork();
      if (pid < 0) throw std::runtime_error("fork failed");
      if (pid == 0) {
        ::prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (::getppid() != parent) ::_exit(3);
        // The chaos scheduler (its lock, its token, the threads it schedules) lives in the parent: a forked
        // agent has a frozen copy of it, whose token could only be taken by steals against threads that do
        // not exist here. Agents run unscheduled; their blocking hooks and points become no-ops.
        chaos::detach_after_fork();
        Api api(this, idx, o.can_block);
        agent_core::set_state(c, s, agent_core::kRunning);
        int code = 0;
        try {
          fn(api);
        } catch (const AgentStopped&) {
        } catch (...) {
          code = 2;
        }
        if (s.state.load() == agent_core::kRunning) agent_core::set_state(c, s, agent_core::kExited);
        ::_exit(code);
      }
      s.pid = pid;
      pids_[idx] = pid;
      agent_core::await_started(c, s, [this] { reap(); });
      return idx;
    }

    BroadcastStatus broadcast(Buffer& b, std::int64_t num) {
      const BroadcastStatus st = agent_core::broadcast<true>(ctl(), encode(b), num, [this] {
        reap();
        return true;
      });
      if (st == BroadcastStatus::agent_crashed) teardown();
      return st;
    }

    std::optional<std::string> get_report() {
      reap();
      return agent_core::get_report(ctl(), cursor_);
    }
    Api& main() { return main_; }
    std::size_t waiters(Buffer& b, std::size_t i) { return table().count(b.offset + 4 * i); }

    TeardownReport teardown() {
      if (torn_down_) return report_;
      torn_down_ = true;
      auto& c = ctl();
      const Nanos t0 = now_ns();
      const Nanos deadline = t0 + opt_.hard_timeout;
      c.stop.store(1, std::memory_order_seq_cst);
      const int n = static_cast<int>(c.nagents.load(std::memory_order_acquire));
      for (;;) {
        agent_core::shared_wake(c.stop);
        agent_core::shared_wake(c.bcast_seq);
        if constexpr (kWakesParked) table().stop_all();
        reap();
        bool all = true;
        for (int i = 0; i < n; ++i) all &= pids_[i] == 0;
        if (all || now_ns() >= deadline) break;
        sleep_ns(kMilli);
      }
      for (int i = 0; i < n; ++i) {
        if (pids_[i] == 0) continue;
        ::kill(pids_[i], SIGKILL);  // wedged: past the hard timeout
        int status = 0;
        JOSTLE_CHAOS_BLOCKING_BEGIN("agent.waitpid");
        while (::waitpid(pids_[i], &status, 0) < 0 && errno == EINTR) {
        }
        JOSTLE_CHAOS_BLOCKING_END("agent.waitpid");
        pids_[i] = 0;
        c.agents[i].state.store(agent_core::kWedged, std::memory_order_release);
        ++report_.wedged;
      }
      report_.agents = n;
      report_.joined = joined_;
      report_.crashed = crashed_;
      report_.elapsed = now_ns() - t0;
      return report_;
    }

    agent_core::Control& ctl() { return arena_.ctl(); }
    agent_core::ArenaWaiters& table() { return *table_; }
    std::uint64_t encode(const Buffer& b) const { return (b.offset << 32) | b.bytes; }
    Buffer decode(std::uint64_t token) {
      const std::uint64_t off = token >> 32;
      return Buffer{reinterpret_cast<std::int32_t*>(arena_.base() + off), token & 0xffffffffu, off};
    }

   private:
    // Collects children that ended: a signal is a crash, anything else a join.
    void reap() {
      auto& c = ctl();
      const int n = static_cast<int>(c.nagents.load(std::memory_order_acquire));
      for (int i = 0; i < n; ++i) {
        if (pids_[i] == 0) continue;
        int status = 0;
        if (::waitpid(pids_[i], &status, WNOHANG) != pids_[i]) continue;
        pids_[i] = 0;
        if (WIFSIGNALED(status)) {
          ++crashed_;
          agent_core::set_state(c, c.agents[i], agent_core::kCrashed);
        } else {
          ++joined_;
          if (c.agents[i].state.load() == agent_core::kRunning || c.agents[i].state.load() == agent_core::kStarting)
            agent_core::set_state(c, c.agents[i], agent_core::kExited);
        }
      }
    }

    ClusterOptions opt_;
    agent_core::Arena arena_;
    agent_core::ArenaWaiters* table_ = nullptr;
    Api main_;
    pid_t pids_[agent_core::kMaxAgents] = {};
    std::uint32_t cursor_ = 0;
    bool torn_down_ = false;
    int joined_ = 0;
    int crashed_ = 0;
    TeardownReport report_;
  };
};

using ProcessAgents = ProcessAgentsT<true>;
static_assert(AgentBackend<ProcessAgents>);

struct MutantWedgedTeardown : ProcessAgentsT<false> {
  static constexpr std::string_view kCatches = "agents/agent_teardown_parked,agents/agent_crash_isolated";
  static constexpr std::string_view kDifficulty = "D1";
  static constexpr std::string_view kSource = "zig-js plan: parked waiters must poll stop words";
};
static_assert(AgentBackend<MutantWedgedTeardown>);

using ProcessAgentsMutants = TypeList<MutantWedgedTeardown>;

}  // namespace jostle
