// The bounded channel contract: a multi-producer multi-consumer FIFO of 64-bit items with a fixed capacity,
// which can be closed (the "Channel" a VM's threading layer builds on Mutex and Condition).
//
// Ch ch(capacity);  capacity >= 1
//
// ch.send(v) -> ChannelStatus        blocks while full; ok, or closed (v not sent)       [channel.send]
// ch.try_send(v) -> ChannelStatus    ok, full or closed, never blocks                    [channel.try-send]
// ch.send_for(v, t) -> ChannelStatus ok, closed, or timeout after t (never before)      [channel.timed]
// ch.recv(out) -> ChannelStatus      blocks while empty and open; ok, or closed once closed and drained
//                                                                                       [channel.recv]
// ch.try_recv(out) -> ChannelStatus  ok, empty or closed
// ch.recv_for(out, t) -> ChannelStatus ok, closed, or timeout after t (never before)
// ch.close()                         later sends return closed; items already sent are still received;
//                                    every blocked sender and receiver returns           [channel.close]
// Conservation: every item sent with ok is received exactly once, and items from one sender arrive in the
// order it sent them                                                                    [channel.conservation]
// Bound: never more than `capacity` items are buffered                                  [channel.bounded]
#pragma once

#include <concepts>
#include <cstddef>
#include <cstdint>

#include "jostle/clock.h"
#include "jostle/contracts/mutex.h"

namespace jostle {

enum class ChannelStatus { ok, closed, timeout, full, empty };

inline const char* to_string(ChannelStatus s) {
  switch (s) {
    case ChannelStatus::ok: return "ok";
    case ChannelStatus::closed: return "closed";
    case ChannelStatus::timeout: return "timeout";
    case ChannelStatus::full: return "full";
    case ChannelStatus::empty: return "empty";
  }
  return "?";
}

template <class Ch>
concept ChannelBackend = NamedBackend<Ch> && std::constructible_from<Ch, std::size_t> &&
                         requires(Ch& c, std::uint64_t v, std::uint64_t& out, Nanos t) {
                           { c.send(v) } -> std::same_as<ChannelStatus>;
                           { c.try_send(v) } -> std::same_as<ChannelStatus>;
                           { c.send_for(v, t) } -> std::same_as<ChannelStatus>;
                           { c.recv(out) } -> std::same_as<ChannelStatus>;
                           { c.try_recv(out) } -> std::same_as<ChannelStatus>;
                           { c.recv_for(out, t) } -> std::same_as<ChannelStatus>;
                           c.close();
                         };

}  // namespace jostle
