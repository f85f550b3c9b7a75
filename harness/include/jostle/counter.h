// A deliberately non-atomic wide counter for mutual-exclusion checks (the idea of Zig's NonAtomicCounter).
// Each increment is two separate volatile 64-bit read-modify-writes of a 128-bit value, so two threads inside a
// "critical section" at once lose or tear increments, and the final value shows it.
#pragma once

#include <cstdint>

namespace jostle {

class WideCounter {
 public:
  void increment() {
    // Both halves move together; a concurrent increment interleaved between the two stores leaves them out of
    // step, which check() reports even when the low half happens to come out right.
    hi_ = hi_ + 1;
    lo_ = lo_ + 1;
  }
  std::uint64_t value() const { return lo_; }
  // True when both halves agree, i.e. no increment was torn.
  bool consistent() const { return hi_ == lo_; }

 private:
  volatile std::uint64_t hi_ = 0;
  volatile std::uint64_t lo_ = 0;
};

}  // namespace jostle
