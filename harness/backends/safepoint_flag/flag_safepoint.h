// `flag`: a global request word polled with one acquire load; the slow path counts stopped mutators under a
// lock and parks them on a resume epoch (futex). The collector sleeps on a progress word that every stop and
// every detach bumps. The mutant `safepoint-straggler` lets the collector go on when all but one stopped.
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>

#include "jostle/chaos.h"
#include "jostle/contracts/safepoint.h"
#include "jostle/sys.h"
#include "jostle/typelist.h"

namespace jostle {

template <bool kStraggler>
class FlagSafepointT {
 public:
  static constexpr std::string_view kName = kStraggler ? "mutant.safepoint.straggler" : "flag";
  static constexpr std::string_view kDescription =
      kStraggler ? "flag safepoint whose collector proceeds once all but one attached mutator stopped"
                 : "request flag + counted stops under a lock; futex resume epoch and collector progress word";
  using MutatorId = int;

  MutatorId attach() {
    std::unique_lock<std::mutex> g(m_);
    // A stop in progress: wait for its resume, so the stopped world gains no running thread.
    while (requested_.load(std::memory_order_relaxed) != 0) {
      const std::uint32_t e = epoch_.load(std::memory_order_relaxed);
      g.unlock();
      while (epoch_.load(std::memory_order_acquire) == e) blocking_wait("safepoint.attach", epoch_, e);
      g.lock();
    }
    ++attached_;
    return next_id_++;
  }

  void detach(MutatorId) {
    {
      std::lock_guard<std::mutex> g(m_);
      --attached_;
      progress_.fetch_add(1, std::memory_order_release);
    }
    sys::futex_wake(progress_);
  }

  void poll(MutatorId) {
    if (requested_.load(std::memory_order_acquire) == 0) return;
    std::unique_lock<std::mutex> g(m_);
    if (requested_.load(std::memory_order_relaxed) == 0) return;
    const std::uint32_t e = epoch_.load(std::memory_order_relaxed);
    ++stopped_;
    progress_.fetch_add(1, std::memory_order_release);
    g.unlock();
    sys::futex_wake(progress_);
    JOSTLE_CHAOS("safepoint.poll.stopped");
    while (epoch_.load(std::memory_order_acquire) == e) blocking_wait("safepoint.poll", epoch_, e);
  }

  void stop_the_world() {
    if (!collector_.try_lock()) {  // another collector's stop: sleeps in the kernel until its resume
      JOSTLE_CHAOS_BLOCKING_BEGIN("safepoint.collector");
      collector_.lock();
      JOSTLE_CHAOS_BLOCKING_END("safepoint.collector");
    }
    std::unique_lock<std::mutex> g(m_);
    requested_.store(1, std::memory_order_seq_cst);
    for (;;) {
      const int need = kStraggler ? attached_ - 1 : attached_;
      if (stopped_ >= need) break;
      const std::uint32_t p = progress_.load(std::memory_order_acquire);
      g.unlock();
      blocking_wait("safepoint.stop_the_world", progress_, p);
      g.lock();
    }
  }

  void resume() {
    {
      std::lock_guard<std::mutex> g(m_);
      requested_.store(0, std::memory_order_release);
      stopped_ = 0;
      epoch_.fetch_add(1, std::memory_order_release);
    }
    sys::futex_wake(epoch_);
    collector_.unlock();
  }

 private:
  // sys::futex_wait inside the chaos blocking hooks (PCT runs another thread while this one sleeps).
  static void blocking_wait(const char* what, std::atomic<std::uint32_t>& w, std::uint32_t expected) {
    JOSTLE_CHAOS_BLOCKING_BEGIN(what);
    sys::futex_wait(w, expected);
    JOSTLE_CHAOS_BLOCKING_END(what);
  }

  std::mutex collector_;
  std::mutex m_;
  std::atomic<std::uint32_t> requested_{0};
  std::atomic<std::uint32_t> epoch_{0};     // futex: bumped by each resume
  std::atomic<std::uint32_t> progress_{0};  // futex: bumped by each stop and detach
  int attached_ = 0;
  int stopped_ = 0;
  int next_id_ = 0;
};

using FlagSafepoint = FlagSafepointT<false>;
static_assert(SafepointBackend<FlagSafepoint>);

struct MutantSafepointStraggler : FlagSafepointT<true> {
  static constexpr std::string_view kCatches = "agents/safepoint_stopped_phase,agents/safepoint_churn";
  static constexpr std::string_view kDifficulty = "D2";
  static constexpr std::string_view kSource = "BetterPython GC sync (collector proceeding with one mutator running)";
};
static_assert(SafepointBackend<MutantSafepointStraggler>);

using FlagSafepointMutants = TypeList<MutantSafepointStraggler>;

}  // namespace jostle
