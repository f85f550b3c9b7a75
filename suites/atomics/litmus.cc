// Memory-model litmus tests with outcome histograms (jcstress-style): SB, MP, LB, IRIW, CoRR, 2+2W at seq_cst
// (through every ops backend's Atomics load/store) and at acq_rel and relaxed (backends that can issue those
// orders). Allowed outcomes come from litmus_model.h, never from a hand-written table.
//
// One iteration = persistent actor threads (one per litmus thread) sweeping an array of samples in lockstep
// strides: every actor runs its part of sample i at about the same time as the others, a spin barrier after
// every stride keeps them together, and after each epoch the outcomes are tallied and the cells reset.
#include <array>
#include <atomic>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "atomics_backends.h"
#include "jostle/contracts/atomics.h"
#include "jostle/jostle.h"
#include "litmus_model.h"

namespace jostle {
namespace {

using litmus::Model;
using litmus::Program;

constexpr int kStride = 64;    // samples between barriers
constexpr int kStrides = 32;   // strides per epoch
constexpr int kEpochs = 16;    // epochs per iteration: 32k samples per iteration
constexpr int kSamples = kStride * kStrides;

// Harness plumbing: a generation barrier on raw atomics (spins, then yields: 4 actors share 2 cores).
class SpinBarrier {
 public:
  explicit SpinBarrier(int n) : n_(n) {}
  void arrive() {
    const std::uint32_t g = gen_.load(std::memory_order_acquire);
    if (count_.fetch_add(1, std::memory_order_acq_rel) == n_ - 1) {
      count_.store(0, std::memory_order_relaxed);
      gen_.store(g + 1, std::memory_order_release);
      return;
    }
    for (int spins = 0; gen_.load(std::memory_order_acquire) == g; ++spins) {
      sys::cpu_relax();
      if (spins > 200) std::this_thread::yield();
    }
  }

 private:
  const int n_;
  std::atomic<int> count_{0};
  std::atomic<std::uint32_t> gen_{0};
};

// Outcome tuples are coded base 4 (every value in these programs is 0..2).
int code(const litmus::Outcome& o) {
  int c = 0;
  for (int v : o) c = c * 4 + v;
  return c;
}

struct Compiled {
  Program prog;
  Model model;
  std::vector<std::string> key_of_code;  // by code; empty = not in the domain
};

template <class Load, class Store>
void run_litmus(Context& ctx, const Compiled& c, Load load, Store store) {
  const Program& p = c.prog;
  const int nthreads = static_cast<int>(p.threads.size());
  const std::size_t locs = static_cast<std::size_t>(p.locs);
  SharedBuffer buf = SharedBuffer::create(kSamples * locs * sizeof(std::int32_t));
  Int32View cells(buf);
  std::vector<std::int32_t> regs(static_cast<std::size_t>(kSamples) * static_cast<std::size_t>(std::max(p.regs, 1)));
  std::vector<std::uint64_t> counts(c.key_of_code.size(), 0);
  SpinBarrier barrier(nthreads);
  ctx.actors(nthreads, [&](int t) {
    const auto& code_of_thread = p.threads[static_cast<std::size_t>(t)];
    for (int e = 0; e < kEpochs; ++e) {
      for (int s = 0; s < kStrides; ++s) {
        barrier.arrive();
        for (int k = 0; k < kStride; ++k) {
          const std::size_t i = static_cast<std::size_t>(s * kStride + k);
          std::int32_t* base = cells.element(i * locs);
          for (const auto& in : code_of_thread) {
            if (in.store) {
              store(base + in.loc, in.value);
            } else {
              regs[i * static_cast<std::size_t>(p.regs) + static_cast<std::size_t>(in.reg)] = load(base + in.loc);
            }
          }
        }
      }
      barrier.arrive();
      if (t == 0) {  // tally and reset while the others wait at the next barrier
        for (std::size_t i = 0; i < kSamples; ++i) {
          litmus::Outcome o(regs.begin() + static_cast<std::ptrdiff_t>(i * static_cast<std::size_t>(p.regs)),
                            regs.begin() + static_cast<std::ptrdiff_t>((i + 1) * static_cast<std::size_t>(p.regs)));
          for (std::size_t l = 0; l < locs; ++l) {
            std::int32_t* cell = cells.element(i * locs + l);
            if (p.observe_final) o.push_back(*cell);
            *cell = 0;
          }
          const int cd = code(o);
          if (cd >= 0 && static_cast<std::size_t>(cd) < counts.size() && !c.key_of_code[static_cast<std::size_t>(cd)].empty()) {
            ++counts[static_cast<std::size_t>(cd)];
          } else {
            ctx.record(litmus::key(p, o));  // outside the domain: undeclared, hence FORBIDDEN
          }
        }
      }
      barrier.arrive();
    }
  });
  for (std::size_t cd = 0; cd < counts.size(); ++cd)
    for (std::uint64_t k = 0; k < counts[cd]; ++k) ctx.record(c.key_of_code[cd]);
}

template <class B>
concept Ops = AtomicsOps<B>;
template <class B>
concept OrderedOps = OrderedAtomicsOps<B>;

void register_litmus(const Program& prog, Model model) {
  auto c = std::make_shared<Compiled>();
  c->prog = prog;
  c->model = model;
  const auto sc = litmus::sc_outcomes(prog);
  const auto allowed = model == Model::seq_cst ? sc : litmus::weak_outcomes(prog, model);
  const std::string name = "litmus_" + std::string(prog.name == "2+2w" ? "2p2w" : prog.name) + "_" + litmus::to_string(model);
  // The builder is only a handle on the CaseDef it registers (which lives for the whole process), so a local
  // one will do: a heap one would be reported as a leak by LSan.
  CaseBuilder b("atomics", name.c_str());
  b.primitive("atomics")
      .kind(model == Model::seq_cst && prog.name == "sb" ? Kind::conformance : Kind::stress)
      .describe(prog.name + " litmus test at " + litmus::to_string(model) +
                ": outcome histogram over 32k lockstep samples per iteration; outcomes graded by enumerating the "
                "model (suites/atomics/litmus_model.h)")
      .clause(model == Model::seq_cst ? "atomics.seq-cst" : "memory-model.coherence")
      .threads(static_cast<int>(prog.threads.size()))
      .iterations(10)
      .timeout(60 * kSecond);
  std::size_t max_code = 0;
  for (const auto& o : litmus::domain(prog)) max_code = std::max(max_code, static_cast<std::size_t>(code(o)));
  c->key_of_code.assign(max_code + 1, "");
  for (const auto& o : litmus::domain(prog)) {
    const Grade g = litmus::grade(sc, allowed, o);
    const std::string k = litmus::key(prog, o);
    c->key_of_code[static_cast<std::size_t>(code(o))] = k;
    b.outcome(k, g,
               g == Grade::acceptable    ? "sequentially consistent"
               : g == Grade::interesting ? "allowed by the weaker model only"
                                         : "forbidden by the model");
  }
  if (model == Model::seq_cst) {
    b.body<AtomicsBackends>([c]<Ops O>(Context& ctx) {
      run_litmus(ctx, *c, [](std::int32_t* p) { return O::load(p); }, [](std::int32_t* p, std::int32_t v) { O::store(p, v); });
    });
  } else {
    const bool acqrel = model == Model::acq_rel;
    b.body<AtomicsBackends>([c, acqrel]<OrderedOps O>(Context& ctx) {
      // Constant orders: with a run-time std::memory_order argument GCC emits seq_cst code for every order.
      if (acqrel) {
        run_litmus(ctx, *c, [](std::int32_t* p) { return O::load(p, std::memory_order_acquire); },
                   [](std::int32_t* p, std::int32_t v) { O::store(p, v, std::memory_order_release); });
      } else {
        run_litmus(ctx, *c, [](std::int32_t* p) { return O::load(p, std::memory_order_relaxed); },
                   [](std::int32_t* p, std::int32_t v) { O::store(p, v, std::memory_order_relaxed); });
      }
    });
  }
}

[[maybe_unused]] const bool registered = [] {
  for (const auto& p : litmus::programs())
    for (Model m : {Model::seq_cst, Model::acq_rel, Model::relaxed}) register_litmus(p, m);
  return true;
}();

}  // namespace

// The derivation itself against the textbook verdicts, so that a model bug cannot silently relabel outcomes.
JOSTLE_CASE(atomics, litmus_model)
    .primitive("atomics")
    .describe("the outcome enumeration reproduces the textbook verdicts: SB/MP/LB/IRIW/CoRR/2+2W at "
              "seq_cst, acq_rel and relaxed")
    .kind(Kind::stress)
    .iterations(1)
    .body<TypeList<StdOps>>([]<Ops>(Context&) {
      using litmus::Outcome;
      auto find = [](const std::string& name) {
        for (const auto& p : litmus::programs())
          if (p.name == name) return p;
        return Program{};
      };
      struct Verdict {
        const char* prog;
        Outcome o;
        Grade sc, acqrel, relaxed;
      };
      const Grade A = Grade::acceptable, I = Grade::interesting, F = Grade::forbidden;
      const Verdict table[] = {
          {"sb", {0, 0}, F, I, I},          {"sb", {1, 1}, A, A, A},
          {"mp", {1, 0}, F, F, I},          {"mp", {0, 1}, A, A, A},
          {"lb", {1, 1}, F, F, I},          {"iriw", {1, 0, 1, 0}, F, I, I},
          {"corr", {2, 1}, F, F, F},        {"corr", {1, 0}, F, F, F},
          {"corr", {1, 2}, A, A, A},        {"2+2w", {1, 1}, F, I, I},
          {"2+2w", {2, 2}, A, A, A},
      };
      for (const auto& v : table) {
        const Program p = find(v.prog);
        const auto sc = litmus::sc_outcomes(p);
        const Grade got[3] = {litmus::grade(sc, sc, v.o), litmus::grade(sc, litmus::weak_outcomes(p, Model::acq_rel), v.o),
                              litmus::grade(sc, litmus::weak_outcomes(p, Model::relaxed), v.o)};
        const Grade want[3] = {v.sc, v.acqrel, v.relaxed};
        for (int m = 0; m < 3; ++m)
          JOSTLE_CHECK(got[m] == want[m]) << v.prog << " " << litmus::key(p, v.o) << " at model " << m << ": "
                                          << to_string(got[m]) << ", textbook says " << to_string(want[m]);
      }
    });

}  // namespace jostle
