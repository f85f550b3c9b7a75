// What every agent backend shares: a control block in MAP_SHARED memory (a memfd, so it is the same memory in
// forked agent processes), process-shared futex words, the broadcast mailbox with per-agent acknowledgements,
// per-agent report rings, agent states and the stop word. Only raw atomics and futex(2) without
// FUTEX_PRIVATE_FLAG: the same code serves agents that are threads and agents that are processes.
#pragma once

#include <linux/futex.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <climits>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <new>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

#include "jostle/chaos.h"
#include "jostle/clock.h"
#include "jostle/contracts/agent.h"
#include "jostle/sys.h"

namespace jostle::agent_core {

using Word = std::atomic<std::uint32_t>;

// futex(2) on a word that may live in memory shared between processes.
inline int shared_wait(Word& w, std::uint32_t expected, Nanos rel = -1) {
  timespec ts;
  timespec* tsp = nullptr;
  if (rel >= 0) {
    ts = to_timespec(rel);
    tsp = &ts;
  }
  JOSTLE_CHAOS_BLOCKING_BEGIN("agent.futex_wait");
  const long rc = ::syscall(SYS_futex, sys::word_ptr(w), FUTEX_WAIT, expected, tsp, nullptr, 0);
  const int err = rc == 0 ? 0 : errno;
  JOSTLE_CHAOS_BLOCKING_END("agent.futex_wait");
  return err;
}
inline int shared_wake(Word& w, int n = INT_MAX) {
  const long rc = ::syscall(SYS_futex, sys::word_ptr(w), FUTEX_WAKE, n, nullptr, nullptr, 0);
  return rc < 0 ? 0 : static_cast<int>(rc);
}
inline void bump(Word& w) {
  w.fetch_add(1, std::memory_order_acq_rel);
  shared_wake(w);
}

// A lock in shared memory (the three-state futex mutex).
class SharedLock {
 public:
  void lock() {
    std::uint32_t c = 0;
    if (s_.compare_exchange_strong(c, 1, std::memory_order_acquire)) return;
    if (c != 2) c = s_.exchange(2, std::memory_order_acquire);
    while (c != 0) {
      shared_wait(s_, 2);
      c = s_.exchange(2, std::memory_order_acquire);
    }
  }
  void unlock() {
    if (s_.exchange(0, std::memory_order_release) == 2) shared_wake(s_, 1);
  }

 private:
  Word s_{0};
};

struct SharedLockGuard {
  explicit SharedLockGuard(SharedLock& l) : l_(l) { l_.lock(); }
  ~SharedLockGuard() { l_.unlock(); }
  SharedLockGuard(const SharedLockGuard&) = delete;
  SharedLockGuard& operator=(const SharedLockGuard&) = delete;
  SharedLock& l_;
};

enum AgentState : std::uint32_t { kUnused, kStarting, kRunning, kLeft, kExited, kCrashed, kWedged };

inline constexpr int kMaxAgents = 64;
inline constexpr std::uint32_t kRingSlots = 32;
inline constexpr std::size_t kReportBytes = 496;

// Single producer (the agent), single consumer (the main agent).
struct ReportRing {
  Word head{0};  // next to read (consumer)
  Word tail{0};  // next to write (producer); futex: the producer waits here when the ring is full
  struct Entry {
    std::uint32_t len;
    char text[kReportBytes];
  } entries[kRingSlots];
};

struct AgentSlot {
  Word state{kUnused};
  Word acked_seq{0};
  std::int32_t pid = 0;
  bool can_block = true;
  ReportRing reports;
};

struct Control {
  Word started{0};    // futex: bumped when an agent starts running
  Word bcast_seq{0};  // futex: agents wait here for the next broadcast
  std::uint64_t bcast_token = 0;
  std::int64_t bcast_num = 0;
  Word progress{0};   // futex: bumped by every ack, report, state change
  Word stop{0};       // the stop word: teardown raised it
  Word nagents{0};
  AgentSlot agents[kMaxAgents];
};

// The shared mapping: a memfd, mapped MAP_SHARED before any agent process is forked, holding the control
// block followed by a bump-allocated data area for shared buffers.
class Arena {
 public:
  explicit Arena(std::size_t bytes) : size_(bytes) {
    fd_ = static_cast<int>(::syscall(SYS_memfd_create, "jostle-agents", 1u /* MFD_CLOEXEC */));
    if (fd_ < 0 || ::ftruncate(fd_, static_cast<off_t>(size_)) != 0) throw std::bad_alloc();
    void* p = ::mmap(nullptr, size_, PROT_READ | PROT_WRITE, MAP_SHARED, fd_, 0);
    if (p == MAP_FAILED) throw std::bad_alloc();
    base_ = static_cast<std::byte*>(p);
    ctl_ = new (base_) Control();
    used_ = (sizeof(Control) + 4095) / 4096 * 4096;
  }
  ~Arena() {
    if (leak_) return;  // a wedged agent thread may still touch it
    ::munmap(base_, size_);
    ::close(fd_);
  }
  Arena(const Arena&) = delete;
  Arena& operator=(const Arena&) = delete;

  Control& ctl() { return *ctl_; }
  std::byte* base() { return base_; }
  // Bump allocation of zeroed, 64-byte aligned space (memfd pages start zeroed).
  std::size_t allocate(std::size_t bytes) {
    const std::size_t at = (used_ + 63) / 64 * 64;
    if (at + bytes > size_) throw std::bad_alloc();
    used_ = at + bytes;
    return at;
  }
  void leak() { leak_ = true; }

 private:
  std::size_t size_;
  int fd_ = -1;
  std::byte* base_ = nullptr;
  Control* ctl_ = nullptr;
  std::size_t used_ = 0;
  bool leak_ = false;
};

// ---- reports ----
inline void report(ReportRing& r, Control& c, std::string_view text) {
  const std::uint32_t t = r.tail.load(std::memory_order_relaxed);
  for (;;) {
    const std::uint32_t h = r.head.load(std::memory_order_acquire);
    if (t - h < kRingSlots) break;
    if (c.stop.load(std::memory_order_acquire) != 0) throw AgentStopped{};
    shared_wait(r.head, h, 10 * kMilli);  // full: the main agent has not read for a while
  }
  auto& e = r.entries[t % kRingSlots];
  const std::size_t n = std::min(text.size(), kReportBytes);
  std::memcpy(e.text, text.data(), n);
  e.len = static_cast<std::uint32_t>(n);
  r.tail.store(t + 1, std::memory_order_release);
  bump(c.progress);
}

inline std::optional<std::string> take_report(ReportRing& r) {
  const std::uint32_t h = r.head.load(std::memory_order_relaxed);
  if (r.tail.load(std::memory_order_acquire) == h) return std::nullopt;
  auto& e = r.entries[h % kRingSlots];
  std::string s(e.text, e.len);
  r.head.store(h + 1, std::memory_order_release);
  shared_wake(r.head);
  return s;
}

// Round-robin over agents so that one chatty agent does not hide the others; FIFO within each agent.
inline std::optional<std::string> get_report(Control& c, std::uint32_t& cursor) {
  const std::uint32_t n = c.nagents.load(std::memory_order_acquire);
  for (std::uint32_t k = 0; k < n; ++k) {
    const std::uint32_t i = (cursor + k) % n;
    if (auto s = take_report(c.agents[i].reports)) {
      cursor = i + 1;
      return s;
    }
  }
  return std::nullopt;
}

// ---- broadcast ----
inline bool awaited(const AgentSlot& s, std::uint32_t seq) {
  const std::uint32_t st = s.state.load(std::memory_order_acquire);
  if (st != kRunning) return false;
  return s.acked_seq.load(std::memory_order_acquire) < seq;
}

// Posts (token, num) and, with kRendezvous, waits until every running agent acknowledged it. `poll` is called
// between waits (the process backend reaps crashed children there) and returns false to give up.
template <bool kRendezvous, class Poll>
BroadcastStatus broadcast(Control& c, std::uint64_t token, std::int64_t num, Poll poll) {
  c.bcast_token = token;
  c.bcast_num = num;
  const std::uint32_t seq = c.bcast_seq.load(std::memory_order_relaxed) + 1;
  c.bcast_seq.store(seq, std::memory_order_release);
  shared_wake(c.bcast_seq);
  if constexpr (!kRendezvous) return BroadcastStatus::ok;  // the defect: no wait for the acknowledgements
  for (;;) {
    const std::uint32_t p = c.progress.load(std::memory_order_acquire);
    bool pending = false, crashed = false;
    const std::uint32_t n = c.nagents.load(std::memory_order_acquire);
    for (std::uint32_t i = 0; i < n; ++i) {
      pending |= awaited(c.agents[i], seq);
      crashed |= c.agents[i].state.load(std::memory_order_acquire) == kCrashed;
    }
    if (crashed) return BroadcastStatus::agent_crashed;
    if (!pending) return BroadcastStatus::ok;
    if (!poll()) return BroadcastStatus::agent_crashed;
    shared_wait(c.progress, p, 10 * kMilli);
  }
}

// Agent side: the next broadcast after the last one this agent acknowledged.
inline std::pair<std::uint64_t, std::int64_t> receive(Control& c, AgentSlot& me) {
  const std::uint32_t mine = me.acked_seq.load(std::memory_order_relaxed);
  for (;;) {
    const std::uint32_t seq = c.bcast_seq.load(std::memory_order_acquire);
    if (seq != mine) {
      // The mailbox holds broadcast `seq` until every agent acknowledged it: read, then acknowledge.
      const std::uint64_t token = c.bcast_token;
      const std::int64_t num = c.bcast_num;
      JOSTLE_CHAOS("agent.receive.before-ack");
      me.acked_seq.store(seq, std::memory_order_release);
      bump(c.progress);
      return {token, num};
    }
    if (c.stop.load(std::memory_order_acquire) != 0) throw AgentStopped{};
    shared_wait(c.bcast_seq, seq);
  }
}

// Agent side sleep: ends early only through the stop word.
inline void agent_sleep(Control& c, double ms) {
  const Nanos deadline = now_ns() + timeout_from_ms(ms);
  for (;;) {
    if (c.stop.load(std::memory_order_acquire) != 0) throw AgentStopped{};
    const Nanos left = deadline - now_ns();
    if (left <= 0) return;
    shared_wait(c.stop, 0, left);
  }
}

inline void set_state(Control& c, AgentSlot& s, std::uint32_t st) {
  s.state.store(st, std::memory_order_release);
  bump(c.progress);
}

// Main side of start(): returns once the agent left kStarting (it runs, or died trying). `poll` runs between
// waits (the process backend reaps children there).
template <class Poll>
void await_started(Control& c, AgentSlot& s, Poll poll) {
  while (s.state.load(std::memory_order_acquire) == kStarting) {
    const std::uint32_t p = c.progress.load(std::memory_order_acquire);
    if (s.state.load(std::memory_order_acquire) != kStarting) break;
    poll();
    shared_wait(c.progress, p, 10 * kMilli);
  }
}

// The agent-side calls that every backend makes the same way over the control block. `Owner` provides
// ctl() and decode(token) -> Buffer.
template <class Owner, class Buffer>
class ControlApi {
 public:
  ControlApi(Owner* o, int index, bool can_block) : o_(o), index_(index), can_block_(can_block) {}

  std::pair<Buffer, std::int64_t> receive_broadcast() {
    auto [token, num] = receive(o_->ctl(), slot());
    return {o_->decode(token), num};
  }
  void report(std::string_view text) { agent_core::report(slot().reports, o_->ctl(), text); }
  void sleep(double ms) { agent_sleep(o_->ctl(), ms); }
  double monotonic_now() { return monotonic_now_ms(); }
  void leaving() { set_state(o_->ctl(), slot(), kLeft); }
  bool can_block() { return can_block_; }

 protected:
  AgentSlot& slot() { return o_->ctl().agents[index_]; }

  Owner* o_;
  int index_;  // -1: the main agent (which has no slot, and uses only the Atomics surface)
  bool can_block_;
};

}  // namespace jostle::agent_core
