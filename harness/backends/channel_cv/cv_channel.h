// A bounded MPMC channel over any condition variable backend and its mutex: a ring buffer, a `closed` flag,
// and two condition variables (not_empty for receivers, not_full for senders). The backend is named after the
// condvar it runs on ("std", "pthread", "futex_epoch", "queue", a plugin's name).
//
// Mutants (ChannelDefect): close() that wakes one waiter per side instead of all; a timed receive that takes an
// item and still reports a timeout.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "jostle/chaos.h"
#include "jostle/contracts/channel.h"
#include "jostle/contracts/condvar.h"
#include "condvar_futex_epoch/futex_epoch_condvar.h"
#include "jostle/typelist.h"

namespace jostle {

enum class ChannelDefect { none, close_notifies_one, timed_recv_drops_item };

template <CondvarBackend Cv, ChannelDefect D = ChannelDefect::none>
class CvChannelT {
 public:
  // Over a plugin's condvar the name is "cv+NAME", so that "NAME" stays free for the plugin's own channel table.
  static std::string name() {
    if constexpr (requires { Cv::kPluginSlot; }) return "cv+" + backend_name<Cv>();
    else return backend_name<Cv>();
  }
  static bool available() { return backend_available<Cv>(); }
  static constexpr std::string_view kDescription = "bounded ring buffer guarded by the condvar's mutex";
  static constexpr std::string_view kPrimitive = "channel";

  explicit CvChannelT(std::size_t capacity) : buf_(capacity == 0 ? 1 : capacity) {}

  ChannelStatus send(std::uint64_t v) { return send_impl(v, -1); }
  ChannelStatus send_for(std::uint64_t v, Nanos t) { return send_impl(v, t < 0 ? 0 : t); }
  ChannelStatus try_send(std::uint64_t v) {
    m_.lock();
    ChannelStatus s = closed_ ? ChannelStatus::closed : count_ == buf_.size() ? ChannelStatus::full : ChannelStatus::ok;
    if (s == ChannelStatus::ok) push(v);
    m_.unlock();
    if (s == ChannelStatus::ok) not_empty_.notify_one();
    return s;
  }

  ChannelStatus recv(std::uint64_t& out) { return recv_impl(out, -1); }
  ChannelStatus recv_for(std::uint64_t& out, Nanos t) { return recv_impl(out, t < 0 ? 0 : t); }
  ChannelStatus try_recv(std::uint64_t& out) {
    m_.lock();
    ChannelStatus s = count_ > 0 ? ChannelStatus::ok : closed_ ? ChannelStatus::closed : ChannelStatus::empty;
    if (s == ChannelStatus::ok) out = pop();
    m_.unlock();
    if (s == ChannelStatus::ok) not_full_.notify_one();
    return s;
  }

  void close() {
    m_.lock();
    closed_ = true;
    m_.unlock();
    if constexpr (D == ChannelDefect::close_notifies_one) {
      not_empty_.notify_one();
      not_full_.notify_one();
    } else {
      not_empty_.notify_all();
      not_full_.notify_all();
    }
  }

 private:
  ChannelStatus send_impl(std::uint64_t v, Nanos timeout) {
    const Nanos deadline = timeout < 0 ? 0 : now_ns() + timeout;
    m_.lock();
    while (!closed_ && count_ == buf_.size()) {
      if (timeout < 0) {
        not_full_.wait(m_);
      } else {
        const Nanos left = deadline - now_ns();
        if (left <= 0 || !not_full_.wait_for(m_, left)) {
          if (!closed_ && count_ < buf_.size()) break;  // room appeared as the timer fired: use it
          const ChannelStatus s = closed_ ? ChannelStatus::closed : ChannelStatus::timeout;  // read under the lock
          m_.unlock();
          return s;
        }
      }
    }
    if (closed_) {
      m_.unlock();
      return ChannelStatus::closed;
    }
    push(v);
    m_.unlock();
    JOSTLE_CHAOS("channel.send.before-notify");
    not_empty_.notify_one();
    return ChannelStatus::ok;
  }

  ChannelStatus recv_impl(std::uint64_t& out, Nanos timeout) {
    const Nanos deadline = timeout < 0 ? 0 : now_ns() + timeout;
    m_.lock();
    while (count_ == 0 && !closed_) {
      if (timeout < 0) {
        not_empty_.wait(m_);
      } else {
        const Nanos left = deadline - now_ns();
        if (left <= 0 || !not_empty_.wait_for(m_, left)) {
          if (count_ > 0) {
            if constexpr (D == ChannelDefect::timed_recv_drops_item) {
              (void)pop();  // the defect: the item is taken, the caller is told "timeout"
              m_.unlock();
              not_full_.notify_one();
              return ChannelStatus::timeout;
            }
            break;  // an item arrived as the timer fired: take it
          }
          const ChannelStatus s = closed_ ? ChannelStatus::closed : ChannelStatus::timeout;  // read under the lock
          m_.unlock();
          return s;
        }
      }
    }
    if (count_ == 0) {  // closed and drained
      m_.unlock();
      return ChannelStatus::closed;
    }
    out = pop();
    m_.unlock();
    JOSTLE_CHAOS("channel.recv.before-notify");
    not_full_.notify_one();
    return ChannelStatus::ok;
  }

  void push(std::uint64_t v) {
    buf_[(head_ + count_) % buf_.size()] = v;
    ++count_;
  }
  std::uint64_t pop() {
    const std::uint64_t v = buf_[head_];
    head_ = (head_ + 1) % buf_.size();
    --count_;
    return v;
  }

  typename Cv::Mutex m_;
  Cv not_empty_;
  Cv not_full_;
  std::vector<std::uint64_t> buf_;
  std::size_t head_ = 0;
  std::size_t count_ = 0;
  bool closed_ = false;
};

template <CondvarBackend Cv>
using CvChannel = CvChannelT<Cv>;
static_assert(ChannelBackend<CvChannel<FutexEpochCondvar<LinuxFutex>>>);

struct MutantChannelCloseNotifiesOne : CvChannelT<FutexEpochCondvar<LinuxFutex>, ChannelDefect::close_notifies_one> {
  static constexpr std::string_view kName = "mutant.channel.close_notifies_one";
  static constexpr std::string_view kDescription = "close() wakes one blocked receiver and one blocked sender";
  static constexpr std::string_view kCatches = "condvar/channel_close_wakes_all";
  static constexpr std::string_view kDifficulty = "D1";
  static constexpr std::string_view kSource = "signal-instead-of-broadcast on a state change every waiter must see";
  using CvChannelT::CvChannelT;
};
struct MutantChannelTimedRecvDropsItem
    : CvChannelT<FutexEpochCondvar<LinuxFutex>, ChannelDefect::timed_recv_drops_item> {
  static constexpr std::string_view kName = "mutant.channel.timed_recv_drops_item";
  static constexpr std::string_view kDescription =
      "a timed receive whose timer fired as an item arrived takes the item and reports a timeout";
  static constexpr std::string_view kCatches = "condvar/channel_item_conservation";
  static constexpr std::string_view kDifficulty = "D2";
  static constexpr std::string_view kSource = "the timeout-swallows-signal pattern one layer up (wasmtime PR #5871)";
  using CvChannelT::CvChannelT;
};

struct MutantChannelMsTimeout : CvChannelT<MutantCvMsTimeout> {
  static constexpr std::string_view kName = "mutant.channel.ms_timeout";
  static constexpr std::string_view kDescription =
      "the channel over mutant.condvar.ms_timeout: timed operations end early or never";
  static constexpr std::string_view kCatches = "condvar/channel_timed_ops";
  static constexpr std::string_view kDifficulty = "D1";
  static constexpr std::string_view kSource = "gcc PR 68519 (duration rounding woke early)";
  using CvChannelT::CvChannelT;
};

using CvChannelMutants = TypeList<MutantChannelCloseNotifiesOne, MutantChannelTimedRecvDropsItem, MutantChannelMsTimeout>;

}  // namespace jostle
