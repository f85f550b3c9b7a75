// `mutant.agent.cooperative_agents`: how an engine without threads fakes agents. start() only records the agent;
// agents run one after another, to completion, on the caller's thread when the main agent first broadcasts
// or asks for a report. Nothing runs concurrently, so a blocking wait cannot be woken by anyone: it returns
// at once (timed-out), notify finds nobody, and an agent waiting for a second broadcast simply ends. A
// known-bad model, listed with the mutants; the suite shows where it fails.
#pragma once

#include <functional>
#include <memory>
#include <vector>

#include "agent_core/agent_core.h"
#include "jostle/contracts/shared_buffer.h"
#include "jostle/typelist.h"

namespace jostle {

struct MutantCooperativeAgents {
  static constexpr std::string_view kName = "mutant.agent.cooperative_agents";
  static constexpr std::string_view kDescription =
      "agents run one after another on the caller's thread (no real concurrency; blocking waits return at once)";
  static constexpr std::string_view kCatches =
      "agents/agent_start_runs,agents/agent_fifo_wake_order,agents/agent_notify_all_on_loc,"
      "agents/agent_no_spurious_wakeup,agents/agent_wait_results,agents/agent_broadcast_rendezvous,"
      "agents/agent_report_order,agents/agent_many,agents/agent_mixed_sync_async,agents/agent_notify_vs_timeout,"
      "agents/agent_teardown_parked,agents/agent_teardown_wedged";
  static constexpr std::string_view kDifficulty = "D1";
  static constexpr std::string_view kSource = "zig-js before real agents: agents run on the caller's thread";

  using Buffer = SharedBuffer;
  static std::int32_t* cell(Buffer& b, std::size_t i) { return reinterpret_cast<std::int32_t*>(b.data()) + i; }

  class Cluster;

  class Api {
   public:
    Api(Cluster* c, int index, bool can_block) : c_(c), index_(index), can_block_(can_block) {}

    std::pair<Buffer, std::int64_t> receive_broadcast() {
      // Only the broadcast being delivered right now can be received: waiting for a later one would block
      // the only thread there is, so the agent ends instead.
      if (!c_->delivering_ || seen_ == c_->seq_) throw AgentStopped{};
      seen_ = c_->seq_;
      return {c_->buf_, c_->num_};
    }
    void report(std::string_view text) { c_->reports_.emplace_back(text); }
    void sleep(double ms) { sleep_ns(timeout_from_ms(ms)); }
    double monotonic_now() { return monotonic_now_ms(); }
    void leaving() {}
    bool can_block() { return can_block_; }

    WaitStatus wait(Buffer& b, std::size_t i, std::int32_t expected, double ms) {
      if (i >= b.byte_length() / 4) throw AtomicsError(AtomicsError::range_error, "index out of range");
      if (!can_block_) throw AtomicsError(AtomicsError::type_error, "Atomics.wait: agent cannot block");
      if (std::atomic_ref<std::int32_t>(*cell(b, i)).load() != expected) return WaitStatus::not_equal;
      (void)ms;
      return WaitStatus::timed_out;  // nobody else can run to notify: give up at once
    }
    AsyncWait wait_async(Buffer& b, std::size_t i, std::int32_t expected, double) {
      if (std::atomic_ref<std::int32_t>(*cell(b, i)).load() != expected) return AsyncWait{false, WaitStatus::not_equal, 0};
      return AsyncWait{false, WaitStatus::timed_out, 0};
    }
    WaitStatus await_async(AsyncWait w) { return w.value; }
    std::uint64_t notify(Buffer&, std::size_t, NotifyCount) { return 0; }

   private:
    Cluster* c_;
    int index_;
    bool can_block_;
    std::uint64_t seen_ = 0;
  };

  class Cluster {
   public:
    explicit Cluster(ClusterOptions o) : main_(this, -1, o.main_can_block) {}
    Cluster(const Cluster&) = delete;
    Cluster& operator=(const Cluster&) = delete;

    Buffer new_buffer(std::size_t bytes) { return SharedBuffer::create(bytes); }
    int start(std::function<void(Api&)> fn, AgentOptions o) {
      agents_.push_back(Agent{std::move(fn), std::make_unique<Api>(this, static_cast<int>(agents_.size()), o.can_block), false});
      return static_cast<int>(agents_.size()) - 1;
    }
    BroadcastStatus broadcast(Buffer& b, std::int64_t num) {
      buf_ = b;
      num_ = num;
      ++seq_;
      delivering_ = true;
      run_pending();
      delivering_ = false;
      return BroadcastStatus::ok;
    }
    std::optional<std::string> get_report() {
      run_pending();
      if (next_report_ == reports_.size()) return std::nullopt;
      return reports_[next_report_++];
    }
    Api& main() { return main_; }
    std::size_t waiters(Buffer&, std::size_t) { return 0; }
    TeardownReport teardown() {
      run_pending();
      TeardownReport r;
      r.agents = r.joined = static_cast<int>(agents_.size());
      return r;
    }

   private:
    friend class Api;
    struct Agent {
      std::function<void(Api&)> fn;
      std::unique_ptr<Api> api;
      bool ran;
    };
    void run_pending() {
      for (auto& a : agents_) {
        if (a.ran) continue;
        a.ran = true;
        try {
          a.fn(*a.api);
        } catch (const AgentStopped&) {
        } catch (const std::exception& e) {
          reports_.emplace_back(std::string("agent threw: ") + e.what());
        }
      }
    }

    Api main_;
    std::vector<Agent> agents_;
    std::vector<std::string> reports_;
    std::size_t next_report_ = 0;
    Buffer buf_;
    std::int64_t num_ = 0;
    std::uint64_t seq_ = 0;
    bool delivering_ = false;
  };
};
static_assert(AgentBackend<MutantCooperativeAgents>);

using CooperativeAgentsMutants = TypeList<MutantCooperativeAgents>;

}  // namespace jostle
