#include "jostle/json.h"

#include <cmath>
#include <cstdio>

namespace jostle {

void Json::comma() {
  if (need_comma_) out_ += ',';
  need_comma_ = true;
}

Json& Json::begin_object() {
  comma();
  out_ += '{';
  need_comma_ = false;
  return *this;
}

Json& Json::end_object() {
  out_ += '}';
  need_comma_ = true;
  return *this;
}

Json& Json::begin_array() {
  comma();
  out_ += '[';
  need_comma_ = false;
  return *this;
}

Json& Json::end_array() {
  out_ += ']';
  need_comma_ = true;
  return *this;
}

Json& Json::key(std::string_view k) {
  str(k);
  out_ += ':';
  need_comma_ = false;
  return *this;
}

Json& Json::str(std::string_view s) {
  comma();
  out_ += '"';
  for (unsigned char c : s) {
    switch (c) {
      case '"': out_ += "\\\""; break;
      case '\\': out_ += "\\\\"; break;
      case '\n': out_ += "\\n"; break;
      case '\r': out_ += "\\r"; break;
      case '\t': out_ += "\\t"; break;
      default:
        if (c < 0x20 || c == 0x7f) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out_ += buf;
        } else {
          // Bytes >= 0x80 pass through: case messages are UTF-8; a reader replaces invalid sequences.
          out_ += static_cast<char>(c);
        }
    }
  }
  out_ += '"';
  return *this;
}

Json& Json::num(double d) {
  comma();
  if (!std::isfinite(d)) {
    out_ += "null";
    return *this;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.15g", d);
  out_ += buf;
  return *this;
}

Json& Json::num(std::int64_t i) {
  comma();
  out_ += std::to_string(i);
  return *this;
}

Json& Json::num(std::uint64_t u) {
  comma();
  out_ += std::to_string(u);
  return *this;
}

Json& Json::boolean(bool b) {
  comma();
  out_ += b ? "true" : "false";
  return *this;
}

Json& Json::null() {
  comma();
  out_ += "null";
  return *this;
}

}  // namespace jostle
