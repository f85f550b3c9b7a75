#include "jostle/probe.h"

#include <fcntl.h>
#include <unistd.h>

#include <cstdio>

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
    if (in_phase && task_state(tid) == 'S') {
      // Two sleeping reads in a row, 200 us apart, with the phase unchanged.
      if (++sleeping_reads >= 2) return true;
    } else {
      sleeping_reads = 0;
    }
    sleep_ns(200 * kMicro);
  }
  return false;
}

}  // namespace jostle::probe
