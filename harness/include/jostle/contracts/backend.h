// What every backend has, whatever its contract: a name, and whether it is usable in this process.
//
// A backend names itself with a compile-time kName or, when the name is only known at run time (plugins,
// algorithms over another backend: "futex+parking", "event.linux"), a static name(). kName wins when a type
// has both: a mutant deriving from a generic algorithm declares its own kName and hides the algorithm's
// name(). The same rule for kDescription over description().
#pragma once

#include <string>
#include <string_view>

namespace jostle {

template <class B>
concept NamedBackend = requires { B::kName; } || requires { B::name(); };

template <class B>
std::string backend_name() {
  if constexpr (requires { B::kName; }) {
    return std::string(B::kName);
  } else {
    return std::string(B::name());
  }
}

template <class B>
std::string backend_description() {
  if constexpr (requires { B::kDescription; }) {
    return std::string(B::kDescription);
  } else if constexpr (requires { B::description(); }) {
    return std::string(B::description());
  } else {
    return {};
  }
}

// Whether a backend built from lower layers is usable (a plugin slot may be empty).
template <class B>
bool backend_available() {
  if constexpr (requires { B::available(); }) {
    return B::available();
  } else {
    return true;
  }
}

}  // namespace jostle
