// Shared by the chaos self-tests: the `schedule` event of the run just configured, as the harness would write it,
// and one numeric field of it.
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>
#include <string>

#include "jostle/chaos.h"
#include "jostle/json.h"

namespace jostle_test {

inline std::string schedule_event() {
  jostle::Json j;
  j.begin_object();
  EXPECT_TRUE(jostle::chaos::describe_schedule(j, "pass"));
  j.end_object();
  return j.text();
}

// The number after "key": in the event's text; -1 when the key is absent.
inline long long event_field(const std::string& text, const char* key) {
  const std::string k = std::string("\"") + key + "\":";
  const auto at = text.find(k);
  return at == std::string::npos ? -1 : std::atoll(text.c_str() + at + k.size());
}

}  // namespace jostle_test
