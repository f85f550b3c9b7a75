// `thread`: every agent is an OS thread of this process. Buffers are the atomics area's SharedBuffer and
// wait/notify/waitAsync go through its `futex` waiter list (jostle::FutexWaiters), so the agent suite runs that
// list under real concurrent agents. Control (start, broadcast, reports, stop word) is the shared agent core.
// Teardown wakes an agent parked in the waiter list by raising the stop word and notifying the cell the agent
// said it waits on, until it is gone.
#pragma once

#include <memory>
#include <thread>
#include <vector>

#include "agent_core/agent_core.h"
#include "jostle/contracts/shared_buffer.h"
#include "waiter_futex/futex_waiters.h"
#include "jostle/typelist.h"

namespace jostle {

template <bool kRendezvous>
struct ThreadAgentsT {
  static constexpr std::string_view kName = kRendezvous ? "thread" : "mutant.agent.broadcast_not_rendezvous";
  static constexpr std::string_view kDescription =
      kRendezvous ? "agents as threads; SharedBuffer + the futex waiter list of the atomics area; shared agent "
                    "core for broadcast acknowledgements, report rings and the stop word"
                  : "thread agents whose broadcast posts the message and returns without waiting for every "
                    "agent to retrieve it";

  using Buffer = SharedBuffer;
  static std::int32_t* cell(Buffer& b, std::size_t i) { return reinterpret_cast<std::int32_t*>(b.data()) + i; }

  struct Core;

  class Api : public agent_core::ControlApi<Core, Buffer> {
   public:
    using agent_core::ControlApi<Core, Buffer>::ControlApi;

    WaitStatus wait(Buffer& b, std::size_t i, std::int32_t expected, double ms) {
      const Int32View v(b);
      Parked p(*this, b, i);
      const WaitStatus s = o_->waiters.wait(v, i, expected, timeout_from_ms(ms), can_block_);
      p.check_stop();
      return s;
    }
    AsyncWait wait_async(Buffer& b, std::size_t i, std::int32_t expected, double ms) {
      const Int32View v(b);
      auto settled = std::make_shared<std::pair<bool, WaitStatus>>(false, WaitStatus::ok);
      const WaitAsyncResult r = o_->waiters.wait_async(v, i, expected, timeout_from_ms(ms), loop_,
                                                       [settled](WaitStatus s) { *settled = {true, s}; });
      if (!r.async) return AsyncWait{false, r.value, 0};
      pending_.push_back(Pending{settled, b, i});
      return AsyncWait{true, WaitStatus::ok, pending_.size() - 1};
    }
    WaitStatus await_async(AsyncWait w) {
      if (!w.async) return w.value;
      Pending& pd = pending_[w.handle];
      Parked p(*this, pd.buf, pd.index);
      loop_.run_until([&] { return pd.settled->first || o_->ctl().stop.load() != 0; });
      p.check_stop();
      return pd.settled->second;
    }
    std::uint64_t notify(Buffer& b, std::size_t i, NotifyCount n) { return o_->waiters.notify(Int32View(b), i, n); }

    // Teardown: if this agent is parked on a cell, notify that cell (it re-checks the stop word on return).
    void unpark_for_teardown() {
      sys::RawLockGuard g(park_lock_);
      if (parked_) o_->waiters.notify(Int32View(parked_buf_), parked_index_, NotifyCount::all());
    }

   private:
    // Publishes "parked on (buffer, index)" for teardown, and turns a stop into AgentStopped.
    struct Parked {
      Parked(Api& a, Buffer& b, std::size_t i) : a_(a) {
        {
          sys::RawLockGuard g(a_.park_lock_);
          a_.parked_buf_ = b;
          a_.parked_index_ = i;
          a_.parked_ = true;
        }
        check_stop();
      }
      ~Parked() {
        sys::RawLockGuard g(a_.park_lock_);
        a_.parked_ = false;
      }
      Parked(const Parked&) = delete;
      Parked& operator=(const Parked&) = delete;
      void check_stop() {
        if (a_.o_->ctl().stop.load(std::memory_order_acquire) != 0) throw AgentStopped{};
      }
      Api& a_;
    };
    struct Pending {
      std::shared_ptr<std::pair<bool, WaitStatus>> settled;
      Buffer buf;
      std::size_t index;
    };
    using agent_core::ControlApi<Core, Buffer>::o_;
    using agent_core::ControlApi<Core, Buffer>::can_block_;

    AgentLoop loop_;
    std::vector<Pending> pending_;
    sys::RawLock park_lock_;
    bool parked_ = false;
    Buffer parked_buf_;
    std::size_t parked_index_ = 0;
  };

  // Everything an agent thread touches. Shared with the threads, so a wedged (detached) agent keeps it alive
  // after the Cluster is gone.
  struct Core {
    agent_core::Arena arena{1u << 20};
    FutexWaiters waiters;
    std::unique_ptr<Api> apis[agent_core::kMaxAgents];
    std::atomic<std::uint32_t> finished[agent_core::kMaxAgents] = {};
    sys::RawLock table_lock;
    std::vector<Buffer> table;

    agent_core::Control& ctl() { return arena.ctl(); }
    std::uint64_t encode(const Buffer& b) {
      sys::RawLockGuard g(table_lock);
      table.push_back(b);
      return table.size() - 1;
    }
    Buffer decode(std::uint64_t token) {
      sys::RawLockGuard g(table_lock);
      return table[token];
    }
  };

  class Cluster {
   public:
    explicit Cluster(ClusterOptions o)
        : opt_(o), core_(std::make_shared<Core>()), main_(core_.get(), -1, o.main_can_block) {}
    ~Cluster() { teardown(); }
    Cluster(const Cluster&) = delete;
    Cluster& operator=(const Cluster&) = delete;

    Buffer new_buffer(std::size_t bytes) { return SharedBuffer::create(bytes); }

    int start(std::function<void(Api&)> fn, AgentOptions o) {
      auto& c = core_->ctl();
      const int idx = static_cast<int>(c.nagents.load(std::memory_order_relaxed));
      if (idx >= agent_core::kMaxAgents) throw std::runtime_error("too many agents");
      auto& s = c.agents[idx];
      s.can_block = o.can_block;
      s.state.store(agent_core::kStarting, std::memory_order_release);
      core_->apis[idx] = std::make_unique<Api>(core_.get(), idx, o.can_block);
      c.nagents.store(static_cast<std::uint32_t>(idx + 1), std::memory_order_release);
      threads_[idx] = std::thread([core = core_, idx, fn = std::move(fn)] {
        auto& cc = core->ctl();
        auto& me = cc.agents[idx];
        agent_core::set_state(cc, me, agent_core::kRunning);
        try {
          fn(*core->apis[idx]);
        } catch (const AgentStopped&) {
        } catch (const std::exception& e) {
          try {
            core->apis[idx]->report(std::string("agent threw: ") + e.what());
          } catch (...) {
          }
        }
        if (me.state.load() == agent_core::kRunning) agent_core::set_state(cc, me, agent_core::kExited);
        core->finished[idx].store(1, std::memory_order_release);
        agent_core::bump(cc.progress);
      });
      agent_core::await_started(c, s, [] {});
      return idx;
    }

    BroadcastStatus broadcast(Buffer& b, std::int64_t num) {
      return agent_core::broadcast<kRendezvous>(core_->ctl(), core_->encode(b), num, [] { return true; });
    }
    std::optional<std::string> get_report() { return agent_core::get_report(core_->ctl(), cursor_); }
    Api& main() { return main_; }
    std::size_t waiters(Buffer& b, std::size_t i) { return core_->waiters.waiter_count(Int32View(b), i); }

    TeardownReport teardown() {
      if (torn_down_) return report_;
      torn_down_ = true;
      auto& c = core_->ctl();
      const Nanos t0 = now_ns();
      const Nanos deadline = t0 + opt_.hard_timeout;
      c.stop.store(1, std::memory_order_seq_cst);
      const int n = static_cast<int>(c.nagents.load(std::memory_order_acquire));
      for (;;) {
        agent_core::shared_wake(c.stop);
        agent_core::shared_wake(c.bcast_seq);
        bool all = true;
        for (int i = 0; i < n; ++i) {
          if (core_->finished[i].load(std::memory_order_acquire)) continue;
          all = false;
          core_->apis[i]->unpark_for_teardown();
        }
        if (all || now_ns() >= deadline) break;
        sleep_ns(kMilli);
      }
      for (int i = 0; i < n; ++i) {
        if (core_->finished[i].load(std::memory_order_acquire)) {
          JOSTLE_CHAOS_BLOCKING_BEGIN("agent.join");
          threads_[i].join();
          JOSTLE_CHAOS_BLOCKING_END("agent.join");
          ++report_.joined;
        } else {
          threads_[i].detach();  // wedged: it holds its own reference to the core
          ++report_.wedged;
        }
      }
      report_.agents = n;
      report_.elapsed = now_ns() - t0;
      return report_;
    }

   private:
    ClusterOptions opt_;
    std::shared_ptr<Core> core_;
    Api main_;
    std::thread threads_[agent_core::kMaxAgents];
    std::uint32_t cursor_ = 0;
    bool torn_down_ = false;
    TeardownReport report_;
  };
};

using ThreadAgents = ThreadAgentsT<true>;
static_assert(AgentBackend<ThreadAgents>);

struct MutantBroadcastNotRendezvous : ThreadAgentsT<false> {
  static constexpr std::string_view kCatches = "agents/agent_broadcast_rendezvous";
  static constexpr std::string_view kDifficulty = "D1";
  static constexpr std::string_view kSource = "test262 INTERPRETING.md broadcast (blocks until every agent received)";
};
static_assert(AgentBackend<MutantBroadcastNotRendezvous>);

using ThreadAgentsMutants = TypeList<MutantBroadcastNotRendezvous>;

}  // namespace jostle
