#include "jostle/probe.h"

#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>

#include "jostle/chaos.h"

namespace jostle::probe {

char task_state(pid_t tid) {
  char path[64];
  std::snprintf(path, sizeof path, "/proc/self/task/%d/stat", static_cast<int>(tid));
  int fd = ::open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return '?';
  char buf[512];
  ssize_t n = ::read(fd, buf, sizeof buf - 1);
  ::close(fd);
  if (n <= 0) return '?';
  buf[n] = '\0';
  // The command name is in parentheses and may itself contain ") "; the state follows the last ')'.
  const char* close_paren = std::strrchr(buf, ')');
  if (!close_paren || close_paren[1] != ' ') return '?';
  return close_paren[2];
}

bool await_parked(int actor, const char* phase_name, Nanos timeout) {
  const Nanos deadline = now_ns() + timeout;
  PhaseSlot& slot = phase_slot(actor);
  int sleeping_reads = 0;
  while (now_ns() < deadline) {
    const pid_t tid = slot.tid.load(std::memory_order_acquire);
    const char* ph = slot.phase.load(std::memory_order_acquire);
    const bool in_phase = tid != 0 && ph != nullptr && std::strcmp(ph, phase_name) == 0;
    // A thread held by a chaos point sleeps too, before or after the primitive's own wait: not parked.
    if (in_phase && slot.in_chaos.load(std::memory_order_acquire) == 0 && task_state(tid) == 'S' &&
        slot.in_chaos.load(std::memory_order_acquire) == 0) {
      // Two sleeping reads in a row, 200 us apart, with the phase unchanged.
      if (++sleeping_reads >= 2) return true;
    } else {
      sleeping_reads = 0;
    }
    chaos::HarnessWait wait;
    sleep_ns(200 * kMicro);
  }
  return false;
}

Nanos excused_delay_ns() {
  Nanos queued = 0;
  const int fd = ::open("/proc/thread-self/schedstat", O_RDONLY | O_CLOEXEC);
  if (fd >= 0) {
    char buf[128];
    const ssize_t n = ::read(fd, buf, sizeof buf - 1);
    ::close(fd);
    if (n > 0) {
      buf[n] = '\0';
      char* end = nullptr;
      (void)std::strtoull(buf, &end, 10);             // time on the CPU
      queued = static_cast<Nanos>(std::strtoull(end, nullptr, 10));  // time runnable but waiting for a CPU
    }
  }
  return queued + chaos::held_ns();
}

}  // namespace jostle::probe
