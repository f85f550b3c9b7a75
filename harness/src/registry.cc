#include "jostle/registry.h"

#include <algorithm>

namespace jostle {

namespace {

// A declared catch is "suite/case" (every instance of the case) or "suite/case/k=v[/k=v...]" (only the instances
// with those parameter values: a defect in 1/2-byte atomics fails the Int8 storm and not the Int32 one).
bool declares_catch(const std::vector<std::string>& catches, const std::string& case_id,
                    const std::vector<std::pair<std::string, std::string>>& params) {
  for (const std::string& c : catches) {
    if (c == case_id) return true;
    if (c.size() <= case_id.size() || c.compare(0, case_id.size(), case_id) != 0 || c[case_id.size()] != '/') continue;
    bool all = true;
    std::size_t at = case_id.size() + 1;
    while (all && at <= c.size()) {
      const std::size_t end = std::min(c.find('/', at), c.size());
      const std::string kv = c.substr(at, end - at);
      all = std::any_of(params.begin(), params.end(), [&](const auto& p) { return p.first + "=" + p.second == kv; });
      at = end + 1;
    }
    if (all) return true;
  }
  return false;
}

}  // namespace

const char* to_string(Kind k) { return k == Kind::conformance ? "conformance" : "stress"; }

const char* to_string(Grade g) {
  switch (g) {
    case Grade::acceptable: return "ACCEPTABLE";
    case Grade::interesting: return "INTERESTING";
    case Grade::forbidden: return "FORBIDDEN";
  }
  return "FORBIDDEN";
}

std::vector<std::string> split_list(std::string_view csv) {
  std::vector<std::string> out;
  while (!csv.empty()) {
    auto comma = csv.find(',');
    std::string_view item = csv.substr(0, comma);
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
    if (!item.empty()) out.emplace_back(item);
    if (comma == std::string_view::npos) break;
    csv.remove_prefix(comma + 1);
  }
  return out;
}

// The registry lives for the whole process and is never destroyed: a static object's destructor at exit would
// race with actor threads a REQUIRE left running, and would leave the CaseDefs unreachable (a leak to LSan).
std::vector<CaseDef*>& all_cases() {
  static auto* cases = new std::vector<CaseDef*>;
  return *cases;
}

static std::vector<BackendInfo>& noted_backends() {
  static auto* backends = new std::vector<BackendInfo>;
  return *backends;
}

void note_backend(const BackendInfo& info) {
  auto& v = noted_backends();
  auto same = [&](const BackendInfo& b) { return b.name == info.name && b.primitive == info.primitive; };
  if (std::none_of(v.begin(), v.end(), same)) v.push_back(info);
}

static bool is_available(const BackendInfo& b) { return b.available == nullptr || b.available(); }

std::vector<BackendInfo> all_backends() {
  std::vector<BackendInfo> out;
  for (const auto& b : noted_backends())
    if (is_available(b)) out.push_back(b);
  return out;
}

std::vector<Instance> expand_instances() {
  std::vector<Instance> out;
  for (const CaseDef* def : all_cases()) {
    // Cartesian product of parameter values, in declaration order.
    std::vector<std::vector<std::pair<std::string, std::string>>> combos{{}};
    for (const auto& [name, values] : def->params) {
      std::vector<std::vector<std::pair<std::string, std::string>>> next;
      for (const auto& combo : combos)
        for (const auto& v : values) {
          auto c = combo;
          c.emplace_back(name, v);
          next.push_back(std::move(c));
        }
      combos = std::move(next);
    }
    for (const BackendEntry& be : def->backends) {
      if (!is_available(be.backend)) continue;
      for (const auto& combo : combos) {
        Instance inst;
        inst.def = def;
        inst.backend = &be;
        inst.params = combo;
        inst.id = def->case_id() + "@" + be.backend.name;
        for (const auto& [k, v] : combo) inst.id += "/" + k + "=" + v;
        if (!be.backend.mutant) {
          inst.expect = "pass";
        } else {
          inst.expect = declares_catch(be.backend.catches, def->case_id(), combo) ? "fail" : "informative";
        }
        out.push_back(std::move(inst));
      }
    }
  }
  std::sort(out.begin(), out.end(), [](const Instance& a, const Instance& b) { return a.id < b.id; });
  return out;
}

CaseBuilder::CaseBuilder(const char* suite, const char* name) : def_(new CaseDef) {
  def_->suite = suite;
  def_->name = name;
  def_->primitive = suite;
  all_cases().push_back(def_);
}

CaseBuilder& CaseBuilder::kind(Kind k) {
  def_->kind = k;
  return *this;
}
CaseBuilder& CaseBuilder::primitive(std::string_view p) {
  def_->primitive = std::string(p);
  return *this;
}
CaseBuilder& CaseBuilder::describe(std::string_view d) {
  def_->description = std::string(d);
  return *this;
}
CaseBuilder& CaseBuilder::clause(std::string_view c) {
  def_->clauses.emplace_back(c);
  return *this;
}
CaseBuilder& CaseBuilder::clauses(std::initializer_list<std::string_view> cs) {
  for (auto c : cs) def_->clauses.emplace_back(c);
  return *this;
}
CaseBuilder& CaseBuilder::threads(int n) {
  def_->threads = n;
  return *this;
}
CaseBuilder& CaseBuilder::iterations(std::uint64_t n) {
  def_->iterations = n;
  return *this;
}
CaseBuilder& CaseBuilder::timeout(Nanos t) {
  def_->timeout = t;
  return *this;
}
CaseBuilder& CaseBuilder::param(std::string_view name, std::initializer_list<std::string_view> values) {
  std::vector<std::string> vs;
  for (auto v : values) vs.emplace_back(v);
  def_->params.emplace_back(std::string(name), std::move(vs));
  return *this;
}
CaseBuilder& CaseBuilder::outcome(std::string_view key, Grade grade, std::string_view desc) {
  def_->outcomes.push_back(OutcomeSpec{std::string(key), grade, std::string(desc)});
  return *this;
}
CaseBuilder& CaseBuilder::strict_only() {
  def_->requires_profile = "strict";
  return *this;
}

}  // namespace jostle
