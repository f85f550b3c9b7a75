// `fiber`: virtual threads as user-space contexts (context_switch.h: a register-only switch on x86-64,
// ucontext elsewhere and under sanitizers) multiplexed on a pool of
// carrier threads (min_carriers started up front, more up to max_carriers when work waits and no carrier is
// idle). Ready fibers sit in a lock-free run queue (a tagged Treiber stack of slot indices). Sleep, park
// timeouts and fd readiness come from one reactor thread: epoll over a timerfd (armed to the earliest
// deadline, absolute CLOCK_MONOTONIC), an eventfd (stop) and the fds fibers wait on.
//
// Blocking protocol. A fiber never makes itself wakeable: it records what it waits for, switches to its
// carrier, and the carrier (now off the fiber's stack) arms the timer, publishes PARKED and re-checks the
// wake conditions. Every waker (unpark, cancel, timer, fd) sets its condition first and then tries the
// PARKED -> READY CAS; exactly one of them (or the carrier's re-check) pushes the fiber.
//   carrier: state = PARKED (seq_cst); re-check permit    waker: permit = 1 (seq_cst); CAS PARKED -> READY
// Either the waker's CAS sees PARKED, or the carrier's re-check sees the permit: no lost wakeup.
// Spurious wakes (a stale unpark for a recycled slot) are harmless: the fiber re-checks and blocks again.
// join/join_timeout wait on the task's futex word: called from inside a fiber they block that fiber's carrier
// (fine for the cases, which join from OS threads; a runtime would park the joining fiber instead).
// Long because: the run queue, the reactor and the blocking protocol are one state machine (PARKED/READY
// above); split across files, the interleaving argument would be too.
#pragma once

#include <pthread.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/timerfd.h>
#include <sched.h>
#include <unistd.h>

#include <cstring>
#include <memory>
#include <mutex>
#include <queue>
#include <unordered_set>
#include <vector>

#include "executor_common/vt_task.h"
#include "executor_fiber/context_switch.h"
#include "executor_fiber/index_stack.h"
#include "jostle/typelist.h"

namespace jostle {

template <vt::Defect D>
struct FiberVtT {
  static constexpr std::string_view kName = "fiber";
  static constexpr std::string_view kDescription =
      "user-space fibers (register-only switch) on a carrier pool, lock-free tagged run queue, "
      "epoll+timerfd+eventfd reactor for sleep, "
      "park timeouts and fd readiness";
  using RunQueue = fiber_detail::IndexStack<D != vt::Defect::runqueue_aba>;

  class Executor;
  struct State : vt::TaskCore {
    Executor* ex = nullptr;
    std::uint32_t slot = 0;
    std::uint64_t incarnation = 0;
    std::atomic<std::uint32_t> claim{0};  // 0 not started, 1 started by a carrier, 2 cancelled before start
  };
  using Task = std::shared_ptr<State>;

  enum : std::uint32_t { kIdle, kReady, kRunning, kParked };
  enum class Action { none, finished, block };
  enum class Want { sleep, park, io };

  struct Slot {
    fiber_detail::Context ctx;
    fiber_detail::Context* carrier_ctx = nullptr;
    void* stack = nullptr;
    Executor* ex = nullptr;
    std::uint32_t index = 0;
    Task task;
    std::atomic<std::uint64_t> incarnation{0};
    std::atomic<std::uint32_t> state{kIdle};
    std::atomic<std::uint64_t> block_gen{0};
    std::atomic<std::uint32_t> io_ready{0};
    Action action = Action::none;
    Want want = Want::sleep;
    Nanos deadline = kVtForever;
    int fd = -1;
  };

  static constexpr std::size_t kStackSize = 128 * 1024;

  // The slot the calling carrier is running (nullptr outside a fiber). Not inlined: a fiber may resume on
  // another carrier, and a cached TLS address would then name the old carrier's variable.
  [[gnu::noinline]] static Slot*& current_slot() {
    static thread_local Slot* cur = nullptr;
    return cur;
  }

  class Executor {
   public:
    explicit Executor(ExecutorPolicy p)
        : policy_(p),
          adm_(p),
          // A task cancelled before it started gives its admission slot back at once but keeps its fiber slot
          // until a carrier pops it from the run queue, hence the headroom.
          cap_(static_cast<std::uint32_t>(p.queue_limit > 0 ? 2 * p.queue_limit + 8 : 1)),
          slots_(cap_),
          runq_(cap_),
          free_(cap_) {
      for (std::uint32_t i = cap_; i-- > 0;) {
        slots_[i].ex = this;
        slots_[i].index = i;
        free_.push(i);
      }
      if (!policy_.valid()) return;
      epfd_ = epoll_create1(EPOLL_CLOEXEC);
      tfd_ = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
      efd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
      epoll_event ev{};
      ev.events = EPOLLIN;
      ev.data.u64 = kTimerKey;
      epoll_ctl(epfd_, EPOLL_CTL_ADD, tfd_, &ev);
      ev.data.u64 = kStopKey;
      epoll_ctl(epfd_, EPOLL_CTL_ADD, efd_, &ev);
      pthread_create(&reactor_, nullptr, &reactor_main, this);
      std::lock_guard<std::mutex> g(carriers_m_);
      for (int i = 0; i < policy_.min_carriers; ++i) add_carrier_locked();
    }
    Executor(const Executor&) = delete;
    Executor& operator=(const Executor&) = delete;
    ~Executor() {
      close();
      if (!policy_.valid()) return;
      stopping_.store(1, std::memory_order_release);
      ready_seq_.fetch_add(1, std::memory_order_seq_cst);
      sys::futex_wake(ready_seq_);
      {
        std::lock_guard<std::mutex> g(carriers_m_);
        JOSTLE_CHAOS_BLOCKING_BEGIN("vt.fiber.join_carriers");
        for (pthread_t t : carriers_) pthread_join(t, nullptr);
        JOSTLE_CHAOS_BLOCKING_END("vt.fiber.join_carriers");
      }
      const std::uint64_t one = 1;
      (void)!::write(efd_, &one, sizeof one);
      JOSTLE_CHAOS_BLOCKING_BEGIN("vt.fiber.join_reactor");
      pthread_join(reactor_, nullptr);
      JOSTLE_CHAOS_BLOCKING_END("vt.fiber.join_reactor");
      ::close(epfd_);
      ::close(tfd_);
      ::close(efd_);
      for (auto& s : slots_)
        if (s.stack) munmap(s.stack, kStackSize);
    }

    SlotCount slots() const { return adm_.slots(); }

    // Refuses new tasks and waits until every admitted task is done.
    void close() {
      adm_.close();
      if (adm_.in_use() == 0) return;
      JOSTLE_CHAOS_BLOCKING_BEGIN("vt.fiber.close");
      while (adm_.in_use() != 0) sleep_ns(100 * kMicro);
      JOSTLE_CHAOS_BLOCKING_END("vt.fiber.close");
    }

    // Timer expiries the reactor handled (the "sleep went through the reactor" probe).
    std::uint64_t timer_fires() const { return timer_fires_.load(std::memory_order_acquire); }
    int carriers() {
      std::lock_guard<std::mutex> g(carriers_m_);
      return static_cast<int>(carriers_.size());
    }

   private:
    friend struct FiberVtT;
    static constexpr std::uint64_t kTimerKey = ~0ull;
    static constexpr std::uint64_t kStopKey = ~0ull - 1;

    struct Timer {
      Nanos deadline;
      std::uint32_t slot;
      std::uint64_t gen;
      bool operator>(const Timer& o) const { return deadline > o.deadline; }
    };

    VtStatus submit(Task& out, VtBody body) {
      if (!policy_.valid()) return VtStatus::invalid;
      const VtStatus s = adm_.acquire();
      if (s != VtStatus::ok) return s;
      std::int64_t idx;
      while ((idx = free_.pop()) < 0) sched_yield();  // only while cancelled slots wait to be popped
      Slot& sl = slots_[static_cast<std::size_t>(idx)];
      auto t = std::make_shared<State>();
      t->body = std::move(body);
      t->ex = this;
      t->slot = sl.index;
      t->incarnation = sl.incarnation.fetch_add(1, std::memory_order_acq_rel) + 1;
      sl.task = t;
      if (!sl.stack) {
        sl.stack = mmap(nullptr, kStackSize, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK,
                        -1, 0);
        mprotect(sl.stack, 4096, PROT_NONE);  // guard page at the low end
      }
      fiber_detail::make_context(sl.ctx, sl.stack, kStackSize, &fiber_main, &sl);
      out = t;
      sl.state.store(kReady, std::memory_order_release);
      push_ready(sl.index);
      return VtStatus::ok;
    }

    static void fiber_main(void* p) {
      Slot* sl = static_cast<Slot*>(p);
      sl->task->template run<D>();
      sl->action = Action::finished;
      fiber_detail::exit_to(*sl->carrier_ctx);  // never resumed: the carrier recycles this slot
    }

    void push_ready(std::uint32_t idx) {
      runq_.push(idx);
      ready_seq_.fetch_add(1, std::memory_order_seq_cst);
      if (idle_.load(std::memory_order_seq_cst) > 0) {
        sys::futex_wake(ready_seq_, 1);
      } else if (carrier_count_.load(std::memory_order_acquire) < policy_.max_carriers) {
        std::lock_guard<std::mutex> g(carriers_m_);
        if (static_cast<int>(carriers_.size()) < policy_.max_carriers && stopping_.load() == 0)
          add_carrier_locked();
      }
    }

    void add_carrier_locked() {
      pthread_t t;
      if (pthread_create(&t, nullptr, &carrier_main, this) == 0) {
        carriers_.push_back(t);
        carrier_count_.fetch_add(1, std::memory_order_acq_rel);
      }
    }

    static void* carrier_main(void* p) {
      static_cast<Executor*>(p)->carrier_loop();
      return nullptr;
    }

    void carrier_loop() {
      fiber_detail::Context home;
      for (;;) {
        std::int64_t idx = runq_.pop();
        for (int spin = 0; idx < 0 && spin < 100; ++spin) {
          sys::cpu_relax();
          idx = runq_.pop();
        }
        if (idx < 0) {
          const std::uint32_t seq = ready_seq_.load(std::memory_order_seq_cst);
          idle_.fetch_add(1, std::memory_order_seq_cst);
          idx = runq_.pop();
          if (idx < 0) {
            if (stopping_.load(std::memory_order_acquire) != 0) {
              idle_.fetch_sub(1, std::memory_order_seq_cst);
              return;
            }
            vt::blocking_futex_wait("vt.fiber.idle", ready_seq_, seq);
          }
          idle_.fetch_sub(1, std::memory_order_seq_cst);
          if (idx < 0) continue;
        }
        run_slot(slots_[static_cast<std::size_t>(idx)], home);
      }
    }

    void run_slot(Slot& sl, fiber_detail::Context& home) {
      State& t = *sl.task;
      if (sl.action == Action::none && t.claim.exchange(1, std::memory_order_acq_rel) == 2) {
        recycle(sl);  // cancelled before it started: already published and its slot released by cancel()
        return;
      }
      if (sl.action == Action::none && t.cancel_req.load(std::memory_order_acquire) != 0) {
        t.publish(VtStatus::cancelled, 0);
        adm_.release();
        recycle(sl);
        return;
      }
      sl.action = Action::none;
      sl.carrier_ctx = &home;
      sl.state.store(kRunning, std::memory_order_relaxed);
      current_slot() = &sl;
      fiber_detail::swap_context(home, sl.ctx);
      current_slot() = nullptr;
      if (sl.action == Action::finished) {
        adm_.release();
        recycle(sl);
      } else if (sl.action == Action::block) {
        block_after_switch(sl);
      }
    }

    void recycle(Slot& sl) {
      sl.task.reset();
      sl.action = Action::none;
      sl.state.store(kIdle, std::memory_order_release);
      free_.push(sl.index);
    }

    void block_after_switch(Slot& sl) {
      // Once PARKED is published a waker may resume the fiber on another carrier, which can block again
      // (rewriting want/deadline) or finish (dropping the slot's task reference, and the joiner its own, so
      // the State can be freed). The re-check below therefore uses only copies taken before the publish.
      const Task task = sl.task;
      const Want want = sl.want;
      const Nanos deadline = sl.deadline;
      const std::uint64_t gen = sl.block_gen.fetch_add(1, std::memory_order_acq_rel) + 1;
      if (deadline != kVtForever) add_timer(Timer{deadline, sl.index, gen});
      if (want == Want::io) watch_fd(sl.fd, sl.index, gen);
      sl.state.store(kParked, std::memory_order_seq_cst);
      // A stale re-check (the fiber already resumed) wakes it or its slot's next task spuriously: harmless.
      const bool wake = (want == Want::park && task->permit.load(std::memory_order_seq_cst) != 0) ||
                        task->cancel_req.load(std::memory_order_seq_cst) != 0 ||
                        (want == Want::io && sl.io_ready.load(std::memory_order_seq_cst) != 0) ||
                        (deadline != kVtForever && now_ns() >= deadline);
      if (wake) try_wake(sl);
    }

    void try_wake(Slot& sl) {
      std::uint32_t expected = kParked;
      if (sl.state.compare_exchange_strong(expected, kReady, std::memory_order_seq_cst)) push_ready(sl.index);
    }

    void try_wake_task(State& t) {
      Slot& sl = slots_[t.slot];
      if (sl.incarnation.load(std::memory_order_acquire) == t.incarnation) try_wake(sl);
    }

    void cancel(const Task& t) {
      t->cancel_req.store(1, std::memory_order_seq_cst);
      std::uint32_t expected = 0;
      if (t->claim.compare_exchange_strong(expected, 2, std::memory_order_acq_rel)) {
        // Not started: it never will. Its slot is free now; the run-queue entry is recycled when popped.
        t->publish(VtStatus::cancelled, 0);
        adm_.release();
        return;
      }
      try_wake_task(*t);
    }

    // ---- reactor ----
    void add_timer(const Timer& tm) {
      std::lock_guard<std::mutex> g(timer_m_);
      const bool earliest = timers_.empty() || tm.deadline < timers_.top().deadline;
      timers_.push(tm);
      if (earliest) arm(tm.deadline);
    }
    void arm(Nanos deadline) {
      itimerspec its{};
      its.it_value = to_timespec(deadline);
      if (its.it_value.tv_sec == 0 && its.it_value.tv_nsec == 0) its.it_value.tv_nsec = 1;
      timerfd_settime(tfd_, TFD_TIMER_ABSTIME, &its, nullptr);
    }
    void watch_fd(int fd, std::uint32_t slot, std::uint64_t gen) {
      epoll_event ev{};
      ev.events = EPOLLIN | EPOLLONESHOT;
      ev.data.u64 = (gen << 32) | slot;
      std::lock_guard<std::mutex> g(timer_m_);
      if (watched_.insert(fd).second) {
        if (epoll_ctl(epfd_, EPOLL_CTL_ADD, fd, &ev) != 0) epoll_ctl(epfd_, EPOLL_CTL_MOD, fd, &ev);
      } else if (epoll_ctl(epfd_, EPOLL_CTL_MOD, fd, &ev) != 0) {
        epoll_ctl(epfd_, EPOLL_CTL_ADD, fd, &ev);  // the fd was closed and reused since
      }
    }

    static void* reactor_main(void* p) {
      static_cast<Executor*>(p)->reactor_loop();
      return nullptr;
    }

    void reactor_loop() {
      epoll_event evs[32];
      for (;;) {
        JOSTLE_CHAOS_BLOCKING_BEGIN("vt.fiber.reactor");
        const int n = epoll_wait(epfd_, evs, 32, -1);
        JOSTLE_CHAOS_BLOCKING_END("vt.fiber.reactor");
        for (int i = 0; i < n; ++i) {
          const std::uint64_t key = evs[i].data.u64;
          if (key == kStopKey) return;
          if (key == kTimerKey) {
            std::uint64_t expirations;
            (void)!::read(tfd_, &expirations, sizeof expirations);
            fire_due_timers();
            continue;
          }
          Slot& sl = slots_[static_cast<std::uint32_t>(key & 0xffffffffu)];
          if (sl.block_gen.load(std::memory_order_acquire) == (key >> 32)) {
            sl.io_ready.store(1, std::memory_order_seq_cst);
            try_wake(sl);
          }
        }
      }
    }

    void fire_due_timers() {
      std::vector<Timer> due;
      {
        std::lock_guard<std::mutex> g(timer_m_);
        const Nanos now = now_ns();
        while (!timers_.empty() && timers_.top().deadline <= now) {
          due.push_back(timers_.top());
          timers_.pop();
        }
        if (!timers_.empty()) arm(timers_.top().deadline);
      }
      for (const Timer& tm : due) {
        Slot& sl = slots_[tm.slot];
        timer_fires_.fetch_add(1, std::memory_order_acq_rel);
        if (sl.block_gen.load(std::memory_order_acquire) == tm.gen) try_wake(sl);  // stale timers are ignored
      }
    }

    ExecutorPolicy policy_;
    vt::Admission<D> adm_;
    std::uint32_t cap_;
    std::vector<Slot> slots_;
    RunQueue runq_;
    fiber_detail::IndexStack<true> free_;
    std::atomic<std::uint32_t> ready_seq_{0};
    std::atomic<int> idle_{0};
    std::atomic<int> carrier_count_{0};
    std::atomic<std::uint32_t> stopping_{0};
    std::mutex carriers_m_;
    std::vector<pthread_t> carriers_;
    pthread_t reactor_{};
    int epfd_ = -1, tfd_ = -1, efd_ = -1;
    std::mutex timer_m_;
    std::priority_queue<Timer, std::vector<Timer>, std::greater<Timer>> timers_;
    std::unordered_set<int> watched_;
    std::atomic<std::uint64_t> timer_fires_{0};
  };

  static Executor& default_executor() {
    static Executor* ex = new Executor(ExecutorPolicy{1, 2, 4096, kVtForever, Saturation::timeout});
    return *ex;
  }

  static VtStatus spawn_on(Executor& ex, Task& out, VtBody body) { return ex.submit(out, std::move(body)); }
  static VtStatus spawn(Task& out, VtBody body) { return spawn_on(default_executor(), out, std::move(body)); }
  static VtResult join(Task& t) { return vt::join<D>(*t); }
  static VtResult join_timeout(Task& t, Nanos ns) { return vt::join_timeout<D>(*t, ns); }
  static void cancel(Task& t) { t->ex->cancel(t); }
  static bool cancelled() {
    Slot* s = current_slot();
    return s && s->task->cancel_req.load(std::memory_order_acquire) != 0;
  }

  // Blocks the current fiber until its condition, a cancel request or the deadline.
  static VtStatus block(Want want, Nanos deadline, int fd = -1) {
    Slot* s = current_slot();
    State& t = *s->task;
    for (;;) {
      if (want == Want::park && t.permit.exchange(0, std::memory_order_seq_cst) == 1) return VtStatus::ok;
      if (want == Want::io && s->io_ready.exchange(0, std::memory_order_seq_cst) == 1) return VtStatus::ok;
      if (t.cancel_req.load(std::memory_order_acquire) != 0) return VtStatus::cancelled;
      if (deadline != kVtForever && now_ns() >= deadline)
        return want == Want::sleep ? VtStatus::ok : VtStatus::timeout;
      s->want = want;
      s->deadline = deadline;
      s->fd = fd;
      s->action = Action::block;
      fiber_detail::swap_context(s->ctx, *s->carrier_ctx);
      s = current_slot();  // possibly another carrier now; the slot is the same
    }
  }

  static VtStatus sleep(Nanos ns) {
    if (ns < 0) return VtStatus::invalid;
    if (!current_slot()) {
      JOSTLE_CHAOS_BLOCKING_BEGIN("vt.sleep");
      sleep_ns(ns);
      JOSTLE_CHAOS_BLOCKING_END("vt.sleep");
      return VtStatus::ok;
    }
    return block(Want::sleep, vt::deadline_after<D>(ns));
  }
  static VtStatus park(Nanos ns) {
    if (ns < 0 || !current_slot()) return VtStatus::invalid;
    return block(Want::park, vt::deadline_after<D>(ns));
  }
  static void unpark(Task& t) {
    t->permit.store(1, std::memory_order_seq_cst);
    t->ex->try_wake_task(*t);
  }
  // Waits until `fd` is readable (through the reactor's epoll), up to ns: ok, timeout, cancelled, invalid.
  static VtStatus wait_readable(int fd, Nanos ns) {
    if (ns < 0 || !current_slot()) return VtStatus::invalid;
    current_slot()->io_ready.store(0, std::memory_order_relaxed);
    return block(Want::io, vt::deadline_after<D>(ns), fd);
  }
};

using FiberVt = FiberVtT<vt::Defect::none>;
static_assert(ExecutorBackend<FiberVt>);

// Mutants: the correct executor with one defect from vt::Defect.
struct MutantRunqueueAba : FiberVtT<vt::Defect::runqueue_aba> {
  static constexpr std::string_view kName = "mutant.executor.runqueue_aba";
  static constexpr std::string_view kDescription =
      "fiber executor whose run queue is a Treiber stack of recycled nodes without an ABA tag";
  static constexpr std::string_view kCatches = "agents/vt_runqueue_integrity";
  static constexpr std::string_view kDifficulty = "D3";
  static constexpr std::string_view kSource = "argobots #178; boostorg/lockfree PR #135; ponyc #1319";
};

using FiberVtMutants = TypeList<MutantRunqueueAba>;

}  // namespace jostle
