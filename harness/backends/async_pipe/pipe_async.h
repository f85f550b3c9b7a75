// `pipe`: the portable self-pipe. notify() writes one byte (EAGAIN on a full pipe means notifications are
// already pending, so it is ignored); drain() reads until the pipe is empty, so pending notifications
// coalesce into one callback.
#pragma once

#include <fcntl.h>
#include <unistd.h>

#include "jostle/chaos.h"
#include "jostle/contracts/async.h"
#include "jostle/typelist.h"

namespace jostle {

template <bool OneBytePerDrain = false>
class PipeAsyncT {
 public:
  static constexpr std::string_view kPrimitive = "async";

  PipeAsyncT() {
    if (::pipe2(fds_, O_CLOEXEC | O_NONBLOCK) != 0) fds_[0] = fds_[1] = -1;
  }
  ~PipeAsyncT() {
    ::close(fds_[0]);
    ::close(fds_[1]);
  }
  PipeAsyncT(const PipeAsyncT&) = delete;
  PipeAsyncT& operator=(const PipeAsyncT&) = delete;

  void notify() {
    JOSTLE_CHAOS("async.notify.before");
    const char b = 1;
    [[maybe_unused]] ssize_t n = ::write(fds_[1], &b, 1);
  }
  int fd() const { return fds_[0]; }
  void arm() {}
  void drain() {
    JOSTLE_CHAOS("async.drain.before");
    char buf[256];
    if constexpr (OneBytePerDrain) {
      [[maybe_unused]] ssize_t n = ::read(fds_[0], buf, 1);  // the defect: one notification per callback
    } else {
      while (::read(fds_[0], buf, sizeof buf) == static_cast<ssize_t>(sizeof buf)) {
      }
    }
  }

 private:
  int fds_[2];
};

struct PipeAsync : PipeAsyncT<> {
  static constexpr std::string_view kName = "pipe";
  static constexpr std::string_view kDescription = "non-blocking self-pipe drained until empty, epoll loop";
};
struct MutantPipeNotCoalesced : PipeAsyncT<true> {
  static constexpr std::string_view kName = "mutant.async.pipe_not_coalesced";
  static constexpr std::string_view kDescription = "self-pipe reading one byte per callback: one callback per notify";
  static constexpr std::string_view kCatches = "futex/async_coalesce,futex/async_once";
  static constexpr std::string_view kDifficulty = "D1";
  static constexpr std::string_view kSource = "libxev 'async batches multiple notifications' (contract)";
};

static_assert(AsyncNotifier<PipeAsync> && AsyncNotifier<MutantPipeNotCoalesced>);

using PipeAsyncMutants = TypeList<MutantPipeNotCoalesced>;

}  // namespace jostle
