// A minimal JSON writer for events and --list records. Appends to a std::string; no allocation beyond it.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace jostle {

class Json {
 public:
  Json& begin_object();
  Json& end_object();
  Json& begin_array();
  Json& end_array();
  Json& key(std::string_view k);
  Json& str(std::string_view s);
  Json& num(double d);
  Json& num(std::int64_t i);
  Json& num(std::uint64_t u);
  Json& num(int i) { return num(static_cast<std::int64_t>(i)); }
  Json& boolean(bool b);
  Json& null();

  // Shorthands for "key": value.
  template <class T>
  Json& kv(std::string_view k, const T& v) {
    key(k);
    if constexpr (std::is_same_v<T, bool>) {
      return boolean(v);
    } else if constexpr (std::is_convertible_v<T, std::string_view>) {
      return str(v);
    } else {
      return num(v);
    }
  }

  const std::string& text() const { return out_; }
  std::string take() { return std::move(out_); }

 private:
  void comma();
  std::string out_;
  bool need_comma_ = false;
};

}  // namespace jostle
