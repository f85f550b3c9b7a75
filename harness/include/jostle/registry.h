// The case registry: static registration with a fluent description, no central list (the shape of
// google/benchmark's registration). A case body is written once as a template over a backend type and is
// instantiated for every backend of a backend list that the body accepts (its C++20 concept).
//
//   JOSTLE_CASE(futex, wake_zero)
//       .kind(jostle::Kind::conformance)
//       .clause("futex.wake.no-waiters")
//       .body<jostle::FutexBackends>([]<jostle::FutexBackend F>(jostle::Context& ctx) { ... });
#pragma once

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "jostle/clock.h"
#include "jostle/contracts/backend.h"
#include "jostle/typelist.h"

namespace jostle {

class Context;

enum class Kind { conformance, stress };
enum class Grade { acceptable, interesting, forbidden };

const char* to_string(Kind k);
const char* to_string(Grade g);


// What the registry knows about a backend. Filled from the backend type's constants:
//   kName (required), kDescription, kProfile ("posix" default, or "strict"),
//   and for mutants (kName starting with "mutant."): kCatches ("suite/case,suite/case"), kDifficulty, kSource,
//   and kCatchesUnder: a --chaos spec the declared catchers need (a mutant with its natural, unwidened race
//   window, which plain repetition rarely hits); the mutant gate and `./jostle run` apply it to those instances.
// Backends whose name is known only at run time (plugins, algorithms over another backend) provide static name()
// (and description()) instead; available() says whether a plugin slot is filled (jostle/contracts/backend.h).
struct BackendInfo {
  std::string name;
  std::string primitive;
  std::string description;
  std::string profile = "posix";
  std::vector<std::string> catches;  // case ids "suite/case" that must fail on this mutant
  std::string difficulty;
  std::string source;
  std::string catches_under;  // --chaos spec under which `catches` is guaranteed ("" = plain runs)
  bool mutant = false;
  std::string plugin;  // the loaded plugin this backend forwards to (set by the plugin loader)
  bool (*available)() = nullptr;  // null = always
};

std::vector<std::string> split_list(std::string_view csv);

template <class B>
BackendInfo describe_backend(std::string_view primitive) {
  BackendInfo info;
  info.name = backend_name<B>();
  info.primitive = std::string(primitive);
  info.description = backend_description<B>();
  if constexpr (requires { B::kProfile; }) info.profile = std::string(B::kProfile);
  if constexpr (requires { B::kCatches; }) info.catches = split_list(B::kCatches);
  if constexpr (requires { B::kDifficulty; }) info.difficulty = std::string(B::kDifficulty);
  if constexpr (requires { B::kSource; }) info.source = std::string(B::kSource);
  if constexpr (requires { B::kCatchesUnder; }) info.catches_under = std::string(B::kCatchesUnder);
  if constexpr (requires { B::available(); }) info.available = &B::available;
  info.mutant = info.name.rfind("mutant.", 0) == 0;
  return info;
}

struct OutcomeSpec {
  std::string key;
  Grade grade;
  std::string desc;
};

struct BackendEntry {
  BackendInfo backend;
  std::function<void(Context&)> run;
};

struct CaseDef {
  std::string suite;
  std::string name;
  std::string primitive;
  std::string description;
  std::string requires_profile;  // empty: any backend; "strict": only backends claiming the strict profile
  Kind kind = Kind::conformance;
  std::vector<std::string> clauses;
  int threads = 1;
  std::uint64_t iterations = 100;
  Nanos timeout = 30 * kSecond;
  std::vector<std::pair<std::string, std::vector<std::string>>> params;
  std::vector<OutcomeSpec> outcomes;
  std::vector<BackendEntry> backends;

  std::string case_id() const { return suite + "/" + name; }
};

// One runnable (case x backend x parameter values) combination.
struct Instance {
  std::string id;
  const CaseDef* def;
  const BackendEntry* backend;
  std::vector<std::pair<std::string, std::string>> params;
  std::string expect;  // "pass", "fail" (a mutant's declared catcher) or "informative"
};

std::vector<CaseDef*>& all_cases();
// Every instance of every case, with backends that are not available (unloaded plugin slots) left out.
std::vector<Instance> expand_instances();
// Every distinct backend compiled in (and available), in registration order.
std::vector<BackendInfo> all_backends();
// Registers a backend with no case instantiated (so that --list-backends shows it and the runner can report
// it as escaped).
void note_backend(const BackendInfo& info);

class CaseBuilder {
 public:
  CaseBuilder(const char* suite, const char* name);

  CaseBuilder& kind(Kind k);
  CaseBuilder& primitive(std::string_view p);
  CaseBuilder& describe(std::string_view d);
  CaseBuilder& clause(std::string_view c);
  CaseBuilder& clauses(std::initializer_list<std::string_view> cs);
  CaseBuilder& threads(int n);
  CaseBuilder& iterations(std::uint64_t n);
  CaseBuilder& timeout(Nanos t);
  CaseBuilder& param(std::string_view name, std::initializer_list<std::string_view> values);
  CaseBuilder& outcome(std::string_view key, Grade grade, std::string_view desc = {});
  CaseBuilder& strict_only();

  // Instantiates `body` for every backend B of List for which `body.template operator()<B>(ctx)` is
  // well-formed (so a body constrained with a stronger concept simply skips backends that lack it).
  template <class List, class Body>
  CaseBuilder& body(Body b) {
    add_all(b, List{});
    return *this;
  }

  CaseDef& def() { return *def_; }

 private:
  template <class Body, class... B>
  void add_all(const Body& b, TypeList<B...>) {
    (add_one<B>(b), ...);
  }

  template <class B, class Body>
  void add_one(const Body& b) {
    BackendInfo info = describe_backend<B>(primitive_of<B>());
    note_backend(info);
    if constexpr (requires(Context& c) { b.template operator()<B>(c); }) {
      if (!def_->requires_profile.empty() && info.profile != def_->requires_profile) return;
      def_->backends.push_back(BackendEntry{std::move(info), [b](Context& c) { b.template operator()<B>(c); }});
    }
  }

  template <class B>
  std::string_view primitive_of() {
    if constexpr (requires { B::kPrimitive; }) {
      return B::kPrimitive;
    } else {
      return def_->primitive;
    }
  }

  CaseDef* def_;
};

}  // namespace jostle

#define JOSTLE_CONCAT_INNER(a, b) a##b
#define JOSTLE_CONCAT(a, b) JOSTLE_CONCAT_INNER(a, b)
// The builder holds only a pointer into the registry, so the static keeps a cheap copy of it.
#define JOSTLE_CASE(suite, name)                                                                            \
  [[maybe_unused]] static ::jostle::CaseBuilder JOSTLE_CONCAT(jostle_case_##suite##_##name##_, __LINE__) = \
      ::jostle::CaseBuilder(#suite, #name)
