// The harness process: --list, --list-backends, --run ID. See docs/protocol.md.
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "jostle/chaos.h"
#include "jostle/context.h"
#include "jostle/harness_main.h"
#include "jostle/json.h"
#include "jostle/registry.h"
#include "jostle/plugin_host.h"
#include "run.h"

#ifndef JOSTLE_PRESET
#define JOSTLE_PRESET "unknown"
#endif

namespace jostle {

namespace {

constexpr int kExitPass = 0, kExitFail = 1, kExitUsage = 2, kExitInfra = 3, kExitUnsupported = 5;
constexpr std::uint64_t kMaxIterations = 1'000'000'000ULL;

const char* sanitizer_name() {
#if defined(__SANITIZE_THREAD__)
  return "tsan";
#elif defined(__SANITIZE_ADDRESS__)
  return "asan";
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
  return "tsan";
#elif __has_feature(address_sanitizer)
  return "asan";
#else
  return "none";
#endif
#else
  return "none";
#endif
}

const char* compiler_name() {
#if defined(__clang__)
  return "clang " __clang_version__;
#else
  return "gcc " __VERSION__;
#endif
}

void write_build(Json& j) {
  j.key("build").begin_object();
  j.kv("preset", JOSTLE_PRESET).kv("compiler", compiler_name()).kv("sanitizer", sanitizer_name());
  j.end_object();
}

[[noreturn]] void usage_error(const std::string& msg) {
  std::fprintf(stderr, "jostle: %s\n", msg.c_str());
  std::exit(kExitUsage);
}

// Durations: a number followed by ns, us, ms, s, m or h ("500ms", "1.5s"); a bare number means seconds.
std::optional<Nanos> parse_duration(std::string_view s) {
  if (s.empty()) return std::nullopt;
  std::size_t i = 0;
  while (i < s.size() && (std::isdigit(static_cast<unsigned char>(s[i])) || s[i] == '.')) ++i;
  if (i == 0) return std::nullopt;
  std::string num(s.substr(0, i));
  char* end = nullptr;
  double v = std::strtod(num.c_str(), &end);
  if (!end || *end != '\0') return std::nullopt;
  std::string_view unit = s.substr(i);
  double scale = 0;
  if (unit.empty() || unit == "s") scale = 1e9;
  else if (unit == "ns") scale = 1;
  else if (unit == "us") scale = 1e3;
  else if (unit == "ms") scale = 1e6;
  else if (unit == "m") scale = 60e9;
  else if (unit == "h") scale = 3600e9;
  else return std::nullopt;
  const double ns = v * scale;
  if (!std::isfinite(ns) || ns > 1e9 * 86400 * 30) return std::nullopt;
  return static_cast<Nanos>(ns);
}

std::optional<std::uint64_t> parse_u64(std::string_view s) {
  if (s.empty() || s.size() > 20) return std::nullopt;
  std::uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    const std::uint64_t d = static_cast<std::uint64_t>(c - '0');
    if (v > (UINT64_MAX - d) / 10) return std::nullopt;
    v = v * 10 + d;
  }
  return v;
}

void print_instance(const Instance& inst) {
  Json j;
  j.begin_object();
  j.kv("v", 1).kv("type", "instance").kv("id", inst.id).kv("suite", inst.def->suite).kv("case", inst.def->name);
  j.kv("backend", inst.backend->backend.name).kv("primitive", inst.backend->backend.primitive);
  j.kv("kind", to_string(inst.def->kind));
  j.key("clauses").begin_array();
  for (const auto& c : inst.def->clauses) j.str(c);
  j.end_array();
  j.key("params").begin_object();
  for (const auto& [k, v] : inst.params) j.kv(k, v);
  j.end_object();
  j.kv("threads", inst.def->threads).kv("iterations", inst.def->iterations);
  j.kv("timeout_ms", static_cast<double>(inst.def->timeout) / 1e6);
  j.kv("expect", inst.expect).kv("mutant", inst.backend->backend.mutant);
  if (inst.expect == "fail" && !inst.backend->backend.catches_under.empty())
    j.kv("chaos", inst.backend->backend.catches_under);  // this catcher needs amplification to fail reliably
  j.kv("profile", inst.backend->backend.profile).kv("description", inst.def->description);
  if (!inst.backend->backend.plugin.empty()) j.kv("plugin", inst.backend->backend.plugin);
  j.end_object();
  std::printf("%s\n", j.text().c_str());
}

void print_backend(const BackendInfo& b) {
  Json j;
  j.begin_object();
  j.kv("v", 1).kv("type", "backend").kv("name", b.name).kv("primitive", b.primitive).kv("mutant", b.mutant);
  j.kv("profile", b.profile);
  j.key("catches").begin_array();
  for (const auto& c : b.catches) j.str(c);
  j.end_array();
  j.kv("difficulty", b.difficulty).kv("source", b.source).kv("description", b.description);
  if (!b.catches_under.empty()) j.kv("catches_under", b.catches_under);
  if (!b.plugin.empty()) j.kv("plugin", b.plugin);
  j.end_object();
  std::printf("%s\n", j.text().c_str());
}

// One line per loaded plugin: what it offers and which of its tables this binary's cases run.
void print_plugins() {
  for (int s = 0; s < plugin::kSlots; ++s) {
    const plugin::Slot& slot = plugin::g_slots[s];
    if (!slot.loaded) continue;
    Json j;
    j.begin_object();
    j.kv("v", 1).kv("type", "plugin").kv("name", slot.name).kv("path", slot.path);
    j.kv("abi_version", static_cast<std::uint64_t>(slot.abi_version));
    j.key("tables").begin_array();
    for (const auto& t : plugin::offered_tables(s)) j.str(t);
    j.end_array();
    j.key("unused_tables").begin_array();
    for (const auto& t : plugin::unused_tables(s)) j.str(t);
    j.end_array();
    j.end_object();
    std::printf("%s\n", j.text().c_str());
  }
}

std::string suggest(const std::vector<Instance>& all, std::string_view id) {
  // Suggest instances sharing the longest prefix with what was asked for.
  std::size_t best = 0;
  std::vector<std::string> hits;
  for (const auto& inst : all) {
    std::size_t n = 0;
    while (n < id.size() && n < inst.id.size() && id[n] == inst.id[n]) ++n;
    if (n > best) {
      best = n;
      hits.clear();
    }
    if (n == best && n > 0 && hits.size() < 5) hits.push_back(inst.id);
  }
  std::string s;
  for (const auto& h : hits) s += (s.empty() ? "" : ", ") + h;
  return s;
}

struct Options {
  std::string run_id;
  std::uint64_t seed = 1;
  std::optional<std::uint64_t> iterations;
  std::optional<Nanos> duration;
  std::optional<Nanos> timeout;
  std::string events_path;
  int events_fd = -1;
  Nanos hang_hold = 0;
  Nanos deadlock_after = 200 * kMilli;  // 0: only the deadline ends a hang
  std::string chaos;
  bool quiet = false;
};

int run_instance(const Options& opt) {
  const std::vector<Instance> all = expand_instances();
  auto it = std::find_if(all.begin(), all.end(), [&](const Instance& i) { return i.id == opt.run_id; });
  if (it == all.end()) {
    std::string hint = suggest(all, opt.run_id);
    usage_error("unknown instance '" + opt.run_id + "'" + (hint.empty() ? "" : "; did you mean: " + hint) +
                " (--list shows all " + std::to_string(all.size()) + ")");
  }
  const Instance& inst = *it;

  EventSink sink;
  if (!opt.events_path.empty()) {
    int fd = ::open(opt.events_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0) {
      std::fprintf(stderr, "jostle: cannot open event file '%s': %s\n", opt.events_path.c_str(), std::strerror(errno));
      return kExitInfra;
    }
    sink.open_fd(fd);
  } else if (opt.events_fd >= 0) {
    if (::fcntl(opt.events_fd, F_GETFD) < 0) {
      std::fprintf(stderr, "jostle: --events-fd %d is not an open file descriptor\n", opt.events_fd);
      return kExitInfra;
    }
    sink.open_fd(opt.events_fd);
  }

  if (!opt.chaos.empty()) {
    std::string err = chaos::configure(opt.chaos, opt.seed);
    if (!err.empty()) usage_error(err);
  }

  Run run(inst, sink);
  set_current_run(&run);
  const Nanos t0 = now_ns();
  const Nanos timeout = opt.timeout.value_or(inst.def->timeout);
  const std::uint64_t iterations =
      opt.iterations.value_or(opt.duration ? kMaxIterations : inst.def->iterations);
  if (opt.duration) set_stop_at(t0 + *opt.duration);

  {
    Json j = sink.begin("start");
    j.kv("id", inst.id).kv("seed", opt.seed);
    j.key("iterations");
    if (opt.iterations || !opt.duration) j.num(iterations); else j.null();
    j.key("duration_ms");
    if (opt.duration) j.num(static_cast<double>(*opt.duration) / 1e6); else j.null();
    j.kv("timeout_ms", static_cast<double>(timeout) / 1e6).kv("pid", static_cast<std::int64_t>(::getpid()));
    write_build(j);
    j.key("chaos");
    if (opt.chaos.empty()) j.null(); else j.str(opt.chaos);
    sink.emit(j);
  }

  Watchdog watchdog(run, t0 + timeout, opt.hang_hold, opt.deadlock_after);
  Context ctx(run, inst, opt.seed);
  bind_current_thread(-1);
  const char* status = "pass";
  std::string reason;
  int code = kExitPass;
  try {
    for (std::uint64_t i = 0; i < iterations; ++i) {
      if (opt.duration && ctx.stop_requested()) break;
      ctx.begin_iteration(i);
      inst.backend->run(ctx);
      run.set_iterations_done(i + 1);
    }
  } catch (const Unsupported& u) {
    status = "unsupported";
    reason = u.reason;
    code = kExitUnsupported;
  }
  watchdog.stop();
  if (code == kExitPass && (run.checks_failed() > 0 || run.forbidden() > 0)) {
    status = "fail";
    code = kExitFail;
  }
  run.write_end(status, reason);
  set_current_run(nullptr);
  if (!opt.quiet) {
    std::printf("%s %s\n", status, run.summary_line().c_str());
    if (!reason.empty()) std::printf("  reason: %s\n", reason.c_str());
  }
  std::fflush(stdout);
  if (!sink.ok()) return kExitInfra;
  return code;
}

}  // namespace

int harness_main(int argc, char** argv) {
  process_start_ns();
  std::vector<std::string_view> args(argv + 1, argv + argc);
  if (args.empty()) usage_error("nothing to do: use --list, --list-backends, --run ID, or --help");
  Options opt;
  bool list = false, list_backends = false, plugin_info = false;
  std::vector<std::string> plugins;
  auto value = [&](std::size_t& i) -> std::string_view {
    if (i + 1 >= args.size()) usage_error(std::string(args[i]) + " needs a value");
    return args[++i];
  };
  for (std::size_t i = 0; i < args.size(); ++i) {
    std::string_view a = args[i];
    if (a == "--list") {
      list = true;
    } else if (a == "--list-backends") {
      list_backends = true;
    } else if (a == "--plugin-info") {
      plugin_info = true;
    } else if (a == "--run") {
      opt.run_id = std::string(value(i));
    } else if (a == "--seed") {
      auto v = parse_u64(value(i));
      if (!v) usage_error("--seed takes an unsigned 64-bit integer, got '" + std::string(args[i]) + "'");
      opt.seed = *v;
    } else if (a == "--iterations") {
      auto v = parse_u64(value(i));
      if (!v || *v == 0 || *v > kMaxIterations)
        usage_error("--iterations takes a whole number from 1 to 1000000000, got '" + std::string(args[i]) + "'");
      opt.iterations = *v;
    } else if (a == "--duration" || a == "--timeout" || a == "--hang-hold" || a == "--deadlock-after") {
      auto v = parse_duration(value(i));
      if (!v || (*v == 0 && a != "--hang-hold" && a != "--deadlock-after"))
        usage_error(std::string(a) + (a == "--hang-hold" || a == "--deadlock-after" ? " takes a duration (0 = off)"
                                                                                      : " takes a positive duration") +
                    " such as 500ms, 2s or 1.5m, got '" +
                    std::string(args[i]) + "'");
      if (a == "--duration") opt.duration = v;
      else if (a == "--timeout") opt.timeout = v;
      else if (a == "--deadlock-after") opt.deadlock_after = *v;
      else opt.hang_hold = *v;
    } else if (a == "--events") {
      opt.events_path = std::string(value(i));
    } else if (a == "--events-fd") {
      auto v = parse_u64(value(i));
      if (!v || *v > 65535) usage_error("--events-fd takes a file descriptor number, got '" + std::string(args[i]) + "'");
      opt.events_fd = static_cast<int>(*v);
    } else if (a == "--chaos") {
      opt.chaos = std::string(value(i));
    } else if (a == "--plugin") {
      plugins.emplace_back(value(i));
    } else if (a == "--quiet") {
      opt.quiet = true;
    } else if (a == "--version") {
      Json j;
      j.begin_object().kv("protocol", 1);
      write_build(j);
      j.end_object();
      std::printf("%s\n", j.text().c_str());
      return kExitPass;
    } else if (a == "--help" || a == "-h") {
      std::printf(
          "usage: %s --list | --list-backends | --run ID [--seed N] [--iterations N] [--duration D]\n"
          "          [--timeout D] [--events PATH | --events-fd N] [--hang-hold D] [--chaos SPEC] [--quiet]\n"
          "          [--deadlock-after D] [--plugin PATH]... [--plugin-info]\n"
          "--plugin PATH loads a plugin library (jostle/plugin.h) from a file path (a bare name is refused);\n"
          "--plugin-info prints what each loaded plugin offers and which tables this binary runs.\n"
          "--deadlock-after D (default 200ms, 0 = off): report a hang as soon as every thread has slept that long\n"
          "in an untimed futex wait without running (a lost wakeup), instead of at the --timeout deadline.\n"
          "The event protocol is described in docs/protocol.md.\n",
          argv[0]);
      return kExitPass;
    } else {
      usage_error("unknown option '" + std::string(a) +
                  "' (accepted: --list, --list-backends, --run, --seed, --iterations, --duration, --timeout, "
                  "--events, --events-fd, --hang-hold, --deadlock-after, --chaos, --plugin, --plugin-info, --quiet, --version, --help)");
    }
  }
  // Plugins load before listing or running: their backends join the registry (harness/backends/plugin).
  for (const auto& path : plugins) {
    const std::string err = plugin::load(path);
    if (!err.empty()) {
      std::fprintf(stderr, "jostle: %s\n", err.c_str());
      return kExitInfra;
    }
  }
  if (list) {
    for (const auto& inst : expand_instances()) print_instance(inst);
    return kExitPass;
  }
  if (list_backends) {
    for (const auto& b : all_backends()) print_backend(b);
    return kExitPass;
  }
  if (plugin_info) {
    print_plugins();
    return kExitPass;
  }
  if (opt.run_id.empty()) usage_error("nothing to do: use --list, --list-backends or --run ID");
  if (!opt.events_path.empty() && opt.events_fd >= 0) usage_error("give --events or --events-fd, not both");
  return run_instance(opt);
}

}  // namespace jostle
