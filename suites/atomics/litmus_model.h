// Litmus programs and the memory models that derive their allowed outcomes (instead of hand-written tables).
//
// A program is a few threads of straight-line stores of constants and loads into registers, over locations
// initialised to 0. An outcome is the tuple of register values (plus, for tests that observe them, the final
// value of each location). Three models:
//
//  - seq_cst: sequential consistency, by enumerating every interleaving of the threads' instructions and
//    running it on one memory. This is exactly the set of outcomes an all-seq_cst C++ program (and an
//    ECMAScript program using only Atomics) may show.
//  - acq_rel (every store release, every load acquire) and relaxed: an axiomatic model in the style of RC11
//    (Lahav et al. 2017) without its SC and no-thin-air axioms. A candidate execution picks, for every load,
//    the store it reads from (rf; the initial store included) and, for every location, a modification order
//    (mo; the initial store first). It is allowed iff
//        hb = (po | sw | init->all)+ is irreflexive, and
//        hb ; eco? is irreflexive, with eco = (rf | mo | fr)+ and fr = rf^-1 ; mo   (coherence)
//    where sw = rf from a store of another thread when the store is release and the load acquire (acq_rel),
//    and empty for relaxed. Leaving out no-thin-air is what C++ itself does: load buffering (LB) with relaxed
//    accesses is allowed (and seen on ARM/POWER).
//
// Grading: an outcome SC allows is ACCEPTABLE; one only the weaker model allows is INTERESTING; the rest
// FORBIDDEN. At seq_cst nothing is INTERESTING.
#pragma once

#include <algorithm>
#include <cstdint>
#include <functional>
#include <map>
#include <numeric>
#include <set>
#include <string>
#include <vector>

#include "jostle/registry.h"

namespace jostle::litmus {

enum class Model { seq_cst, acq_rel, relaxed };

inline const char* to_string(Model m) {
  return m == Model::seq_cst ? "sc" : m == Model::acq_rel ? "acqrel" : "relaxed";
}

struct Instr {
  bool store;
  int loc;
  int value;  // store: the value written
  int reg;    // load: the register written
};

struct Program {
  std::string name;
  int locs = 2;
  int regs = 2;
  bool observe_final = false;  // outcome includes each location's final value
  std::vector<std::vector<Instr>> threads;
};

inline Instr st(int loc, int v) { return {true, loc, v, -1}; }
inline Instr ld(int loc, int reg) { return {false, loc, 0, reg}; }

using Outcome = std::vector<int>;  // registers, then final values when observed

inline std::string key(const Program& p, const Outcome& o) {
  std::string k;
  static const char* kLoc[] = {"x", "y", "z", "w"};
  for (int r = 0; r < p.regs; ++r) k += (k.empty() ? "" : " ") + std::string("r") + std::to_string(r) + "=" + std::to_string(o[static_cast<std::size_t>(r)]);
  if (p.observe_final)
    for (int l = 0; l < p.locs; ++l)
      k += (k.empty() ? "" : " ") + std::string(kLoc[l]) + "=" + std::to_string(o[static_cast<std::size_t>(p.regs + l)]);
  return k;
}

// Every value a location can hold: 0 and each value stored to it.
inline std::vector<std::set<int>> values_per_loc(const Program& p) {
  std::vector<std::set<int>> v(static_cast<std::size_t>(p.locs), std::set<int>{0});
  for (const auto& t : p.threads)
    for (const auto& i : t)
      if (i.store) v[static_cast<std::size_t>(i.loc)].insert(i.value);
  return v;
}

// The whole outcome domain (every tuple of possible values), for declaring outcomes up front.
inline std::vector<Outcome> domain(const Program& p) {
  const auto vals = values_per_loc(p);
  std::vector<std::vector<int>> dims(static_cast<std::size_t>(p.regs));
  for (const auto& t : p.threads)
    for (const auto& i : t)
      if (!i.store) dims[static_cast<std::size_t>(i.reg)].assign(vals[static_cast<std::size_t>(i.loc)].begin(), vals[static_cast<std::size_t>(i.loc)].end());
  if (p.observe_final)
    for (int l = 0; l < p.locs; ++l) dims.emplace_back(vals[static_cast<std::size_t>(l)].begin(), vals[static_cast<std::size_t>(l)].end());
  std::vector<Outcome> out{{}};
  for (const auto& d : dims) {
    std::vector<Outcome> next;
    for (const auto& o : out)
      for (int v : d) {
        Outcome n = o;
        n.push_back(v);
        next.push_back(n);
      }
    out = std::move(next);
  }
  return out;
}

namespace detail {
inline void interleave(const Program& p, std::vector<std::size_t>& pc, std::vector<int>& mem, Outcome& regs,
                       std::set<Outcome>& out) {
  bool any = false;
  for (std::size_t t = 0; t < p.threads.size(); ++t) {
    if (pc[t] == p.threads[t].size()) continue;
    any = true;
    const Instr& i = p.threads[t][pc[t]];
    const int saved_mem = mem[static_cast<std::size_t>(i.loc)];
    const int saved_reg = i.store ? 0 : regs[static_cast<std::size_t>(i.reg)];
    if (i.store) {
      mem[static_cast<std::size_t>(i.loc)] = i.value;
    } else {
      regs[static_cast<std::size_t>(i.reg)] = mem[static_cast<std::size_t>(i.loc)];
    }
    ++pc[t];
    interleave(p, pc, mem, regs, out);
    --pc[t];
    mem[static_cast<std::size_t>(i.loc)] = saved_mem;
    if (!i.store) regs[static_cast<std::size_t>(i.reg)] = saved_reg;
  }
  if (!any) {
    Outcome o = regs;
    if (p.observe_final) o.insert(o.end(), mem.begin(), mem.end());
    out.insert(o);
  }
}
}  // namespace detail

inline std::set<Outcome> sc_outcomes(const Program& p) {
  std::vector<std::size_t> pc(p.threads.size(), 0);
  std::vector<int> mem(static_cast<std::size_t>(p.locs), 0);
  Outcome regs(static_cast<std::size_t>(p.regs), 0);
  std::set<Outcome> out;
  detail::interleave(p, pc, mem, regs, out);
  return out;
}

// The axiomatic enumeration for acq_rel / relaxed (see the header comment).
inline std::set<Outcome> weak_outcomes(const Program& p, Model m) {
  struct Ev {
    int thread;  // -1: the initial store
    int index;
    Instr in;
  };
  std::vector<Ev> ev;
  for (int l = 0; l < p.locs; ++l) ev.push_back({-1, 0, st(l, 0)});
  for (int t = 0; t < static_cast<int>(p.threads.size()); ++t)
    for (int k = 0; k < static_cast<int>(p.threads[static_cast<std::size_t>(t)].size()); ++k)
      ev.push_back({t, k, p.threads[static_cast<std::size_t>(t)][static_cast<std::size_t>(k)]});
  const int n = static_cast<int>(ev.size());
  std::vector<int> loads;
  std::vector<std::vector<int>> stores_of(static_cast<std::size_t>(p.locs));  // non-initial stores
  for (int e = 0; e < n; ++e) {
    if (!ev[static_cast<std::size_t>(e)].in.store) loads.push_back(e);
    else if (ev[static_cast<std::size_t>(e)].thread >= 0) stores_of[static_cast<std::size_t>(ev[static_cast<std::size_t>(e)].in.loc)].push_back(e);
  }
  using Rel = std::vector<std::vector<bool>>;
  auto closure = [n](Rel r) {
    for (int k = 0; k < n; ++k)
      for (int i = 0; i < n; ++i)
        if (r[static_cast<std::size_t>(i)][static_cast<std::size_t>(k)])
          for (int j = 0; j < n; ++j)
            if (r[static_cast<std::size_t>(k)][static_cast<std::size_t>(j)]) r[static_cast<std::size_t>(i)][static_cast<std::size_t>(j)] = true;
    return r;
  };
  std::set<Outcome> out;
  // Every modification order per location (permutations of its stores), every rf choice per load.
  std::vector<std::vector<int>> mo = stores_of;
  for (auto& s : mo) std::sort(s.begin(), s.end());
  std::function<void(std::size_t)> per_loc;
  std::vector<int> rf(static_cast<std::size_t>(n), -1);
  std::function<void(std::size_t)> per_load = [&](std::size_t li) {
    if (li < loads.size()) {
      const int r = loads[li];
      const int loc = ev[static_cast<std::size_t>(r)].in.loc;
      rf[static_cast<std::size_t>(r)] = loc;  // the initial store of loc has id loc
      per_load(li + 1);
      for (int w : stores_of[static_cast<std::size_t>(loc)]) {
        rf[static_cast<std::size_t>(r)] = w;
        per_load(li + 1);
      }
      return;
    }
    Rel hb(static_cast<std::size_t>(n), std::vector<bool>(static_cast<std::size_t>(n), false));
    Rel eco = hb;
    for (int a = 0; a < n; ++a)
      for (int b = 0; b < n; ++b) {
        const Ev& A = ev[static_cast<std::size_t>(a)];
        const Ev& B = ev[static_cast<std::size_t>(b)];
        if (A.thread < 0 && B.thread >= 0) hb[static_cast<std::size_t>(a)][static_cast<std::size_t>(b)] = true;
        if (A.thread >= 0 && A.thread == B.thread && A.index < B.index) hb[static_cast<std::size_t>(a)][static_cast<std::size_t>(b)] = true;
      }
    for (int r : loads) {
      const int w = rf[static_cast<std::size_t>(r)];
      eco[static_cast<std::size_t>(w)][static_cast<std::size_t>(r)] = true;
      if (m == Model::acq_rel && ev[static_cast<std::size_t>(w)].thread >= 0 && ev[static_cast<std::size_t>(w)].thread != ev[static_cast<std::size_t>(r)].thread)
        hb[static_cast<std::size_t>(w)][static_cast<std::size_t>(r)] = true;  // sw
    }
    for (int l = 0; l < p.locs; ++l) {
      std::vector<int> order{l};
      order.insert(order.end(), mo[static_cast<std::size_t>(l)].begin(), mo[static_cast<std::size_t>(l)].end());
      for (std::size_t i = 0; i < order.size(); ++i)
        for (std::size_t j = i + 1; j < order.size(); ++j) eco[static_cast<std::size_t>(order[i])][static_cast<std::size_t>(order[j])] = true;
      for (int r : loads) {
        if (ev[static_cast<std::size_t>(r)].in.loc != l) continue;
        const auto pos = std::find(order.begin(), order.end(), rf[static_cast<std::size_t>(r)]) - order.begin();
        for (std::size_t j = static_cast<std::size_t>(pos) + 1; j < order.size(); ++j) eco[static_cast<std::size_t>(r)][static_cast<std::size_t>(order[j])] = true;  // fr
      }
    }
    hb = closure(hb);
    eco = closure(eco);
    for (int a = 0; a < n; ++a) {
      if (hb[static_cast<std::size_t>(a)][static_cast<std::size_t>(a)]) return;
      for (int b = 0; b < n; ++b)
        if (hb[static_cast<std::size_t>(a)][static_cast<std::size_t>(b)] && eco[static_cast<std::size_t>(b)][static_cast<std::size_t>(a)]) return;
    }
    Outcome o(static_cast<std::size_t>(p.regs), 0);
    for (int r : loads) o[static_cast<std::size_t>(ev[static_cast<std::size_t>(r)].in.reg)] = ev[static_cast<std::size_t>(rf[static_cast<std::size_t>(r)])].in.value;
    if (p.observe_final)
      for (int l = 0; l < p.locs; ++l) {
        const auto& s = mo[static_cast<std::size_t>(l)];
        o.push_back(s.empty() ? 0 : ev[static_cast<std::size_t>(s.back())].in.value);
      }
    out.insert(o);
  };
  per_loc = [&](std::size_t l) {
    if (l == mo.size()) {
      per_load(0);
      return;
    }
    do {
      per_loc(l + 1);
    } while (std::next_permutation(mo[l].begin(), mo[l].end()));
  };
  per_loc(0);
  return out;
}

inline Grade grade(const std::set<Outcome>& sc, const std::set<Outcome>& model, const Outcome& o) {
  if (sc.count(o)) return Grade::acceptable;
  if (model.count(o)) return Grade::interesting;
  return Grade::forbidden;
}

// The canonical shapes (locations: x = 0, y = 1).
inline std::vector<Program> programs() {
  const int x = 0, y = 1;
  return {
      {"sb", 2, 2, false, {{st(x, 1), ld(y, 0)}, {st(y, 1), ld(x, 1)}}},
      {"mp", 2, 2, false, {{st(x, 1), st(y, 1)}, {ld(y, 0), ld(x, 1)}}},
      {"lb", 2, 2, false, {{ld(x, 0), st(y, 1)}, {ld(y, 1), st(x, 1)}}},
      {"iriw", 2, 4, false, {{st(x, 1)}, {st(y, 1)}, {ld(x, 0), ld(y, 1)}, {ld(y, 2), ld(x, 3)}}},
      {"corr", 1, 2, false, {{st(x, 1), st(x, 2)}, {ld(x, 0), ld(x, 1)}}},
      {"2+2w", 2, 0, true, {{st(x, 1), st(y, 2)}, {st(y, 1), st(x, 2)}}},
  };
}

}  // namespace jostle::litmus
