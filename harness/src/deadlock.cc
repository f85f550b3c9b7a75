#include "deadlock.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "jostle/chaos.h"

namespace jostle::deadlock {

namespace {

// Reads a small /proc file into buf (NUL-terminated). False when it cannot be read.
bool read_small(const char* path, char* buf, std::size_t size) {
  const int fd = ::open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  const ssize_t n = ::read(fd, buf, size - 1);
  ::close(fd);
  if (n <= 0) return false;
  buf[n] = '\0';
  return true;
}

// The state letter of /proc/self/task/T/stat (after the parenthesised name, which may contain spaces).
char task_state(pid_t tid) {
  char path[64], buf[512];
  std::snprintf(path, sizeof path, "/proc/self/task/%d/stat", static_cast<int>(tid));
  if (!read_small(path, buf, sizeof buf)) return '?';
  const char* close = std::strrchr(buf, ')');
  return close && close[1] == ' ' ? close[2] : '?';
}

// True when /proc/self/task/T/syscall shows a futex wait without a timeout; `word` gets its address.
bool in_untimed_futex_wait(pid_t tid, std::uint64_t& word) {
  char path[64], buf[256];
  std::snprintf(path, sizeof path, "/proc/self/task/%d/syscall", static_cast<int>(tid));
  if (!read_small(path, buf, sizeof buf)) return false;
  // "NR arg0 arg1 arg2 arg3 arg4 arg5 sp pc", or "running", or "-1 sp pc" (blocked outside a syscall).
  char* p = buf;
  char* end = nullptr;
  const long nr = std::strtol(p, &end, 10);
  if (end == p || nr != SYS_futex) return false;
  std::uint64_t args[6];
  for (auto& a : args) {
    p = end;
    a = std::strtoull(p, &end, 16);
    if (end == p) return false;
  }
  const std::uint64_t cmd = args[1] & FUTEX_CMD_MASK;
  if (cmd != FUTEX_WAIT && cmd != FUTEX_WAIT_BITSET) return false;
  word = args[0];
  return args[3] == 0;  // the timeout pointer: null = wait forever
}

bool scheduled_count(pid_t tid, std::uint64_t& slices) {
  char path[64], buf[128];
  std::snprintf(path, sizeof path, "/proc/self/task/%d/schedstat", static_cast<int>(tid));
  if (!read_small(path, buf, sizeof buf)) return false;
  unsigned long long run = 0, wait = 0, n = 0;
  if (std::sscanf(buf, "%llu %llu %llu", &run, &wait, &n) != 3) return false;
  slices = n;
  return true;
}

// A child could wake a process-shared futex. waitid(WNOHANG|WNOWAIT) reaps nothing and fails with ECHILD
// exactly when there is no child.
bool has_children() {
  siginfo_t info{};
  return ::waitid(P_ALL, 0, &info, WEXITED | WNOHANG | WNOWAIT) == 0 || errno != ECHILD;
}

}  // namespace

bool snapshot(pid_t skip, std::vector<Blocked>& out) {
  out.clear();
  DIR* dir = ::opendir("/proc/self/task");
  if (dir == nullptr) return false;
  bool all = true;
  while (dirent* e = ::readdir(dir)) {
    if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
    const pid_t tid = static_cast<pid_t>(std::atoi(e->d_name));
    if (tid == skip || chaos::preempt_is_plumbing(tid)) continue;  // the watchdog, preempt's sweeper
    // The cheap test first: most of the time some thread is running and the scan stops here.
    if (task_state(tid) != 'S') {
      all = false;
      break;
    }
    Blocked b;
    b.tid = tid;
    if (!in_untimed_futex_wait(tid, b.word) || !scheduled_count(tid, b.slices)) {
      all = false;
      break;
    }
    out.push_back(b);
  }
  ::closedir(dir);
  return all && !out.empty() && !has_children();
}

bool unchanged(const std::vector<Blocked>& a, const std::vector<Blocked>& b) {
  if (a.size() != b.size()) return false;
  for (const Blocked& x : a) {
    bool found = false;
    for (const Blocked& y : b) {
      if (y.tid == x.tid) {
        if (y.slices != x.slices || y.word != x.word) return false;
        found = true;
        break;
      }
    }
    if (!found) return false;
  }
  return true;
}

}  // namespace jostle::deadlock
