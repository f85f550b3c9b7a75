// User-space context switch for the fiber backend. On x86-64 (without sanitizers) a small hand-written switch
// that saves only what the SysV ABI makes callee-saved (rbx, rbp, r12-r15, the MXCSR control bits and the x87
// control word) and the stack pointer: no signal-mask system call, unlike swapcontext. Elsewhere, and under
// ASan/TSan, ucontext, with every switch announced to the sanitizer (TSan's fiber API gives each context its
// own shadow stack and happens-before across the switch; ASan's start/finish_switch_fiber keeps its view of
// the current stack and fake stack right). Without that, TSan unwinds a fiber's frames on the carrier's
// shadow stack (crashes in the stack depot, spurious races between a fiber and its next carrier).
#pragma once

#include <pthread.h>
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

#if defined(__SANITIZE_THREAD__)
#define JOSTLE_FIBER_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define JOSTLE_FIBER_TSAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#define JOSTLE_FIBER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define JOSTLE_FIBER_ASAN 1
#endif
#endif
#if defined(JOSTLE_FIBER_TSAN)
#include <sanitizer/tsan_interface.h>
#endif
#if defined(JOSTLE_FIBER_ASAN)
#include <sanitizer/common_interface_defs.h>
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

// Leaves the current context for good (a finished fiber): nothing will switch back into it.
[[noreturn]] inline void exit_to(Context& to) {
  void* dead = nullptr;
  switch_stacks(&dead, to.sp);
  __builtin_unreachable();
}

#else

// A context: the saved registers, plus what the sanitizers need to follow a switch into it. A context made by
// make_context owns its TSan fiber (destroyed with it or when the context is remade); a thread's own context
// (a carrier's home) names the thread's fiber, filled in when the thread first switches away.
struct Context {
  ucontext_t uc;
#if defined(JOSTLE_FIBER_TSAN)
  void* tsan_fiber = nullptr;
  bool owns_tsan_fiber = false;
#endif
#if defined(JOSTLE_FIBER_ASAN)
  const void* stack_bottom = nullptr;
  std::size_t stack_size = 0;
  void* fake_stack = nullptr;
#endif
  Context() = default;
  Context(const Context&) = delete;
  Context& operator=(const Context&) = delete;
  ~Context() {
#if defined(JOSTLE_FIBER_TSAN)
    if (owns_tsan_fiber) __tsan_destroy_fiber(tsan_fiber);
#endif
  }
};

namespace san {

// Before leaving `save` for `to` (save == nullptr: the current context is left for good).
inline void before_switch([[maybe_unused]] Context* save, [[maybe_unused]] Context& to) {
#if defined(JOSTLE_FIBER_TSAN)
  if (save) save->tsan_fiber = __tsan_get_current_fiber();
  __tsan_switch_to_fiber(to.tsan_fiber, 0);  // flags 0: the switch is a happens-before edge
#endif
#if defined(JOSTLE_FIBER_ASAN)
  if (save && !save->stack_bottom) {  // a thread's own stack: ask pthread once
    pthread_attr_t attr;
    if (pthread_getattr_np(pthread_self(), &attr) == 0) {
      void* addr = nullptr;
      std::size_t size = 0;
      pthread_attr_getstack(&attr, &addr, &size);
      pthread_attr_destroy(&attr);
      save->stack_bottom = addr;
      save->stack_size = size;
    }
  }
  // A null save slot tells ASan this context's fake stack can go.
  __sanitizer_start_switch_fiber(save ? &save->fake_stack : nullptr, to.stack_bottom, to.stack_size);
#endif
}

// Back in `self` after a switch (self == nullptr: the first entry of a new context).
inline void after_switch([[maybe_unused]] Context* self) {
#if defined(JOSTLE_FIBER_ASAN)
  __sanitizer_finish_switch_fiber(self ? self->fake_stack : nullptr, nullptr, nullptr);
#endif
}

}  // namespace san

inline void make_context(Context& c, void* stack, std::size_t size, FiberEntry entry, void* arg) {
  getcontext(&c.uc);
  c.uc.uc_stack.ss_sp = stack;
  c.uc.uc_stack.ss_size = size;
  c.uc.uc_link = nullptr;
#if defined(JOSTLE_FIBER_TSAN)
  if (c.owns_tsan_fiber) __tsan_destroy_fiber(c.tsan_fiber);  // the previous fiber on this stack has exited
  c.tsan_fiber = __tsan_create_fiber(0);
  c.owns_tsan_fiber = true;
#endif
#if defined(JOSTLE_FIBER_ASAN)
  c.stack_bottom = stack;
  c.stack_size = size;
  c.fake_stack = nullptr;
#endif
  // makecontext passes int-sized arguments: entry and arg go in halves through a fixed shim.
  struct Shim {
    static void run(unsigned eh, unsigned el, unsigned ah, unsigned al) {
      san::after_switch(nullptr);
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

inline void swap_context(Context& save, Context& to) {
  san::before_switch(&save, to);
  swapcontext(&save.uc, &to.uc);
  san::after_switch(&save);
}

// Leaves the current context for good (a finished fiber): nothing will switch back into it.
[[noreturn]] inline void exit_to(Context& to) {
  san::before_switch(nullptr, to);
  setcontext(&to.uc);
  __builtin_unreachable();
}

#endif

}  // namespace jostle::fiber_detail
