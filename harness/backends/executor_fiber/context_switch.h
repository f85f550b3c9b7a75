// User-space context switch for the fiber backend. On x86-64 (without sanitizers) a small hand-written switch
// that saves only what the SysV ABI makes callee-saved (rbx, rbp, r12-r15, the MXCSR control bits and the x87
// control word) and the stack pointer: no signal-mask system call, unlike swapcontext. Elsewhere, and under
// ASan/TSan (which intercept swapcontext to follow stack switches), ucontext.
#pragma once

#include <ucontext.h>

#include <cstddef>
#include <cstdint>
#include <cstring>

#if defined(__x86_64__) && !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__)
#if defined(__has_feature)
#if !__has_feature(address_sanitizer) && !__has_feature(thread_sanitizer)
#define JOSTLE_FIBER_ASM_SWITCH 1
#endif
#else
#define JOSTLE_FIBER_ASM_SWITCH 1
#endif
#endif

namespace jostle::fiber_detail {

using FiberEntry = void (*)(void*);

#if defined(JOSTLE_FIBER_ASM_SWITCH)

// switch_stacks(&save, to): pushes the callee-saved state, stores the stack pointer in *save, loads `to` and
// pops the state saved there. A new context's stack is laid out by make_context to "return" into
// fiber_trampoline, which calls entry(arg) with arg and entry parked in r12 and r13.
[[gnu::naked, gnu::noinline]] inline void switch_stacks(void** /*save*/, void* /*to*/) {
  asm volatile(
      "pushq %rbp\n\t"
      "pushq %rbx\n\t"
      "pushq %r12\n\t"
      "pushq %r13\n\t"
      "pushq %r14\n\t"
      "pushq %r15\n\t"
      "subq $16, %rsp\n\t"
      "stmxcsr 8(%rsp)\n\t"
      "fnstcw 12(%rsp)\n\t"
      "movq %rsp, (%rdi)\n\t"
      "movq %rsi, %rsp\n\t"
      "ldmxcsr 8(%rsp)\n\t"
      "fldcw 12(%rsp)\n\t"
      "addq $16, %rsp\n\t"
      "popq %r15\n\t"
      "popq %r14\n\t"
      "popq %r13\n\t"
      "popq %r12\n\t"
      "popq %rbx\n\t"
      "popq %rbp\n\t"
      "ret\n\t");
}

[[gnu::naked, gnu::noinline]] inline void fiber_trampoline() {
  asm volatile(
      "movq %r12, %rdi\n\t"
      "callq *%r13\n\t"
      "ud2\n\t");  // entry never returns: it switches away for good
}

struct Context {
  void* sp = nullptr;
};

// Prepares `c` to run entry(arg) on [stack, stack + size) the first time it is switched to.
inline void make_context(Context& c, void* stack, std::size_t size, FiberEntry entry, void* arg) {
  auto top = (reinterpret_cast<std::uintptr_t>(stack) + size) & ~std::uintptr_t{15};
  // After `ret` into the trampoline the stack pointer must be 16-byte aligned (the ABI state before a call).
  const std::uintptr_t ret_slot = top - 24;
  auto* frame = reinterpret_cast<std::uint64_t*>(ret_slot - 64);
  std::memset(frame, 0, 64 + 8);
  const std::uint32_t mxcsr = 0x1f80;
  const std::uint16_t fpucw = 0x037f;
  std::memcpy(reinterpret_cast<char*>(frame) + 8, &mxcsr, sizeof mxcsr);
  std::memcpy(reinterpret_cast<char*>(frame) + 12, &fpucw, sizeof fpucw);
  frame[2] = 0;                                         // r15
  frame[3] = 0;                                         // r14
  frame[4] = reinterpret_cast<std::uint64_t>(entry);    // r13
  frame[5] = reinterpret_cast<std::uint64_t>(arg);      // r12
  frame[6] = 0;                                         // rbx
  frame[7] = 0;                                         // rbp
  std::uint64_t tramp;
  void (*t)() = &fiber_trampoline;
  std::memcpy(&tramp, &t, sizeof tramp);
  frame[8] = tramp;  // the return address popped by `ret`
  c.sp = frame;
}

inline void swap_context(Context& save, Context& to) { switch_stacks(&save.sp, to.sp); }

#else

struct Context {
  ucontext_t uc;
};

inline void make_context(Context& c, void* stack, std::size_t size, FiberEntry entry, void* arg) {
  getcontext(&c.uc);
  c.uc.uc_stack.ss_sp = stack;
  c.uc.uc_stack.ss_size = size;
  c.uc.uc_link = nullptr;
  // makecontext passes int-sized arguments: entry and arg go in halves through a fixed shim.
  struct Shim {
    static void run(unsigned eh, unsigned el, unsigned ah, unsigned al) {
      const auto e = (static_cast<std::uintptr_t>(eh) << 32) | el;
      const auto a = (static_cast<std::uintptr_t>(ah) << 32) | al;
      FiberEntry fn;
      std::memcpy(&fn, &e, sizeof fn);
      fn(reinterpret_cast<void*>(a));
    }
  };
  std::uintptr_t e;
  std::memcpy(&e, &entry, sizeof e);
  const auto a = reinterpret_cast<std::uintptr_t>(arg);
  void (*typed)(unsigned, unsigned, unsigned, unsigned) = &Shim::run;
  void (*raw)();
  std::memcpy(&raw, &typed, sizeof raw);
  makecontext(&c.uc, raw, 4, static_cast<unsigned>(e >> 32), static_cast<unsigned>(e), static_cast<unsigned>(a >> 32),
              static_cast<unsigned>(a));
}

inline void swap_context(Context& save, Context& to) { swapcontext(&save.uc, &to.uc); }

#endif

}  // namespace jostle::fiber_detail
