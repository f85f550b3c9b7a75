// `os_thread`: every running virtual thread is an OS thread (a detached pthread). Up to max_carriers run at
// once; admitted tasks beyond that wait in a FIFO and are picked up by a thread whose task finished. Sleep and
// park block the OS thread on futex words of the task (cancel_req, permit), so cancel and unpark wake them.
// min_carriers has no meaning here (no idle threads are kept).
#pragma once

#include <pthread.h>

#include <deque>
#include <memory>
#include <mutex>

#include "executor_common/vt_task.h"
#include "jostle/typelist.h"

namespace jostle {

template <vt::Defect D>
struct OsThreadVtT {
  static constexpr std::string_view kName = "os_thread";
  static constexpr std::string_view kDescription =
      "a detached pthread per running virtual thread; FIFO admission queue; futex-based sleep/park/cancel";

  class Executor;
  struct State : vt::TaskCore {
    Executor* ex = nullptr;
    std::atomic<std::uint32_t> claim{0};  // 0 queued, 1 taken by a thread, 2 taken by cancel
  };
  using Task = std::shared_ptr<State>;

  static State*& current() {
    static thread_local State* cur = nullptr;
    return cur;
  }

  class Executor {
   public:
    explicit Executor(ExecutorPolicy p) : policy_(p), adm_(p) {}
    Executor(const Executor&) = delete;
    Executor& operator=(const Executor&) = delete;
    ~Executor() { close(); }

    SlotCount slots() const { return adm_.slots(); }

    // Refuses new tasks, then waits for every admitted task and every thread.
    void close() {
      adm_.close();
      for (std::uint32_t n; (n = threads_.load(std::memory_order_acquire)) != 0;)
        vt::blocking_futex_wait("vt.close", threads_, n);
    }

   private:
    friend struct OsThreadVtT;

    static void* thread_main(void* p) {
      Task t;
      {
        std::unique_ptr<Task> ref(static_cast<Task*>(p));  // the reference submit handed over
        t = std::move(*ref);
      }
      Executor* ex = t->ex;
      while (t) {
        if (t->claim.exchange(1, std::memory_order_acq_rel) != 2) ex->run_one(t);
        t.reset();
        std::lock_guard<std::mutex> g(ex->m_);
        if (!ex->queue_.empty()) {
          t = std::move(ex->queue_.front());
          ex->queue_.pop_front();
        } else {
          --ex->running_;
        }
      }
      // Last touch of the executor: close() may destroy it as soon as this count drops.
      ex->threads_.fetch_sub(1, std::memory_order_acq_rel);
      sys::futex_wake(ex->threads_);
      return nullptr;
    }

    void run_one(const Task& t) {
      if (t->cancel_req.load(std::memory_order_acquire) != 0) {
        t->publish(VtStatus::cancelled, 0);  // cancelled before it started: the body never runs
      } else {
        current() = t.get();
        t->template run<D>();
        current() = nullptr;
      }
      adm_.release();
    }

    VtStatus submit(Task& out, VtBody body) {
      if (!policy_.valid()) return VtStatus::invalid;
      const VtStatus s = adm_.acquire();
      if (s != VtStatus::ok) return s;
      auto t = std::make_shared<State>();
      t->body = std::move(body);
      t->ex = this;
      out = t;
      std::unique_lock<std::mutex> g(m_);
      if (running_ < policy_.max_carriers) {
        ++running_;
        threads_.fetch_add(1, std::memory_order_acq_rel);
        g.unlock();
        pthread_t tid;
        pthread_attr_t attr;
        pthread_attr_init(&attr);
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        auto* ref = new Task(t);
        const int rc = pthread_create(&tid, &attr, &thread_main, ref);
        pthread_attr_destroy(&attr);
        if (rc != 0) {
          // No thread: the task waits in the queue for a thread that is running.
          delete ref;
          g.lock();
          queue_.push_back(t);
          --running_;
          threads_.fetch_sub(1, std::memory_order_acq_rel);
        }
      } else {
        queue_.push_back(t);
      }
      return VtStatus::ok;
    }

    void cancel_queued(const Task& t) {
      if constexpr (D == vt::Defect::cancel_keeps_slot) {
        return;  // the defect: the slot is released only when a thread reaches the task
      }
      if (t->claim.load(std::memory_order_acquire) != 0) return;
      std::lock_guard<std::mutex> g(m_);
      if (t->claim.exchange(2, std::memory_order_acq_rel) != 0) return;  // never 2 twice: cancel is idempotent
      for (auto it = queue_.begin(); it != queue_.end(); ++it)
        if (*it == t) {
          queue_.erase(it);
          break;
        }
      t->publish(VtStatus::cancelled, 0);
      adm_.release();
    }

    ExecutorPolicy policy_;
    vt::Admission<D> adm_;
    std::mutex m_;
    std::deque<Task> queue_;
    int running_ = 0;
    std::atomic<std::uint32_t> threads_{0};
  };

  static Executor& default_executor() {
    static Executor* ex = new Executor(ExecutorPolicy{0, 64, 4096, kVtForever, Saturation::timeout});
    return *ex;
  }

  static VtStatus spawn_on(Executor& ex, Task& out, VtBody body) { return ex.submit(out, std::move(body)); }
  static VtStatus spawn(Task& out, VtBody body) { return spawn_on(default_executor(), out, std::move(body)); }
  static VtResult join(Task& t) { return vt::join<D>(*t); }
  static VtResult join_timeout(Task& t, Nanos ns) { return vt::join_timeout<D>(*t, ns); }

  static void cancel(Task& t) {
    t->cancel_req.store(1, std::memory_order_seq_cst);
    sys::futex_wake(t->cancel_req);
    // A parker sleeps on `permit`, not on cancel_req: a wake alone is lost when it comes between the parker's
    // cancel check and its futex wait. Changing the word makes that wait return at once.
    t->permit.fetch_or(kPermitCancel, std::memory_order_seq_cst);
    sys::futex_wake(t->permit);
    t->ex->cancel_queued(t);
  }
  static bool cancelled() {
    State* c = current();
    return c && c->cancel_req.load(std::memory_order_acquire) != 0;
  }

  static VtStatus sleep(Nanos ns) {
    if (ns < 0) return VtStatus::invalid;
    State* c = current();
    const Nanos deadline = vt::deadline_after<D>(ns);
    for (;;) {
      if (c && c->cancel_req.load(std::memory_order_acquire) != 0) return VtStatus::cancelled;
      const Nanos left = deadline - now_ns();
      if (left <= 0) return VtStatus::ok;
      if (c) {
        vt::blocking_futex_wait("vt.sleep", c->cancel_req, 0, left);
      } else {
        JOSTLE_CHAOS_BLOCKING_BEGIN("vt.sleep");
        sleep_ns(left);
        JOSTLE_CHAOS_BLOCKING_END("vt.sleep");
      }
    }
  }

  static constexpr std::memory_order kPermitTake =
      D == vt::Defect::parker_no_fence ? std::memory_order_relaxed : std::memory_order_acq_rel;
  static constexpr std::memory_order kPermitGive =
      D == vt::Defect::parker_no_fence ? std::memory_order_relaxed : std::memory_order_release;

  // permit: bit 0 is the unpark permit; kPermitCancel is set by cancel() only to move a sleeping parker.
  static constexpr std::uint32_t kPermitCancel = 2;

  static VtStatus park(Nanos ns) {
    if (ns < 0) return VtStatus::invalid;
    State* c = current();
    if (!c) return VtStatus::invalid;  // only a virtual thread parks
    const Nanos deadline = vt::deadline_after<D>(ns);
    for (;;) {
      // Unparker: store permit (release) then wake; parker: exchange (acquire) then sleep only while 0. The
      // futex re-checks the word under its lock, so an unpark between the exchange and the sleep is seen; a
      // cancel between the cancel check and the sleep likewise (it sets kPermitCancel before waking).
      if ((c->permit.exchange(0, kPermitTake) & 1) != 0) return VtStatus::ok;
      if (c->cancel_req.load(std::memory_order_acquire) != 0) return VtStatus::cancelled;
      const Nanos left = deadline == kVtForever ? -1 : deadline - now_ns();
      if (deadline != kVtForever && left <= 0) return VtStatus::timeout;
      JOSTLE_CHAOS("vt.park.before-wait");
      vt::blocking_futex_wait("vt.park", c->permit, 0, left);
    }
  }
  static void unpark(Task& t) {
    t->permit.store(1, kPermitGive);
    sys::futex_wake(t->permit, 1);
  }
};

using OsThreadVt = OsThreadVtT<vt::Defect::none>;
static_assert(ExecutorBackend<OsThreadVt>);

// Mutants: the correct executor with one defect from vt::Defect each.
struct MutantJoinTimeoutConsumes : OsThreadVtT<vt::Defect::join_timeout_consumes> {
  static constexpr std::string_view kName = "mutant.executor.join_timeout_consumes";
  static constexpr std::string_view kDescription =
      "os_thread executor whose join_timeout takes the join claim up front and keeps it when the completion "
      "lands between the timed-out wait and the give-back";
  static constexpr std::string_view kCatches = "agents/vt_join_timeout_no_consume";
  static constexpr std::string_view kDifficulty = "D2";
  static constexpr std::string_view kSource = "Zig Condition timeout path; wasmtime PR #5871";
};

struct MutantCancelKeepsSlot : OsThreadVtT<vt::Defect::cancel_keeps_slot> {
  static constexpr std::string_view kName = "mutant.executor.cancel_keeps_slot";
  static constexpr std::string_view kDescription =
      "os_thread executor where cancelling a queued task releases its slot only once a thread reaches it";
  static constexpr std::string_view kCatches = "agents/vt_cancel_handoff";
  static constexpr std::string_view kDifficulty = "D1";
  static constexpr std::string_view kSource = "golang/go #37852 (cancelled waiter kept its slot)";
};

struct MutantMsTruncatedDeadline : OsThreadVtT<vt::Defect::ms_truncated_deadline> {
  static constexpr std::string_view kName = "mutant.executor.ms_truncated_deadline";
  static constexpr std::string_view kDescription =
      "os_thread executor computing deadlines from whole milliseconds (rounded down), so timeouts end early";
  static constexpr std::string_view kCatches = "agents/vt_saturation,agents/vt_sleep_park";
  static constexpr std::string_view kDifficulty = "D1";
  static constexpr std::string_view kSource = "libuv/libuv#4773, nodejs/node#26578 (timers up to 1 ms early)";
};

struct MutantCancelOverridesFailure : OsThreadVtT<vt::Defect::cancel_overrides_failure> {
  static constexpr std::string_view kName = "mutant.executor.cancel_overrides_failure";
  static constexpr std::string_view kDescription =
      "os_thread executor that reports cancelled for a body that failed after a cancel request";
  static constexpr std::string_view kCatches = "agents/vt_precedence";
  static constexpr std::string_view kDifficulty = "D1";
  static constexpr std::string_view kSource = "catalog §1.7 precedence rule: Failed dominates";
};

struct MutantParkerNoFence : OsThreadVtT<vt::Defect::parker_no_fence> {
  static constexpr std::string_view kName = "mutant.executor.parker_no_fence";
  static constexpr std::string_view kDescription =
      "os_thread parker whose permit hand-over uses relaxed atomics (no release on unpark, no acquire on park)";
  static constexpr std::string_view kDifficulty = "D4";
  static constexpr std::string_view kSource = "JDK CR 6822370; rust-lang/rust #53366";
};

using OsThreadVtMutants = TypeList<MutantJoinTimeoutConsumes, MutantCancelKeepsSlot, MutantMsTruncatedDeadline, MutantCancelOverridesFailure, MutantParkerNoFence>;

}  // namespace jostle
