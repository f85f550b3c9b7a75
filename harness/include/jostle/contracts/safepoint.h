// The stop-the-world safepoint contract: a VM's collector protocol. Mutator threads attach, poll at safepoints
// (calls, loop back-edges, allocations) and detach; a collector stops the world, works, and resumes it.
//
// S is an object type (one per VM):
//   s.attach() -> MutatorId   registers the calling thread as a mutator. While a stop is in progress it
//                             waits until the resume: a thread never joins a stopped world running. [sp.attach.waits]
//   s.detach(id)              the thread leaves; a pending stop no longer waits for it.          [sp.detach.releases]
//   s.poll(id)                a safepoint: returns at once when no stop is requested (one load on the fast
//                             path); otherwise the mutator stops here until resume().              [sp.poll]
//   s.stop_the_world()        requests a stop and returns once every attached mutator is stopped in poll():
//                             from its return until resume() no attached mutator runs.         [sp.stop.all-stopped]
//                             Every request completes while mutators keep polling or leave.   [sp.stop.completes]
//   s.resume()                releases the stopped mutators (and threads waiting in attach()).   [sp.resume]
// One collector at a time; the collector is not itself an attached mutator.
#pragma once

#include <concepts>
#include <string_view>

namespace jostle {

template <class S>
concept SafepointBackend = std::default_initializable<S> && requires(S& s, typename S::MutatorId id) {
  { S::kName } -> std::convertible_to<std::string_view>;
  { s.attach() } -> std::same_as<typename S::MutatorId>;
  { s.detach(id) } -> std::same_as<void>;
  { s.poll(id) } -> std::same_as<void>;
  { s.stop_the_world() } -> std::same_as<void>;
  { s.resume() } -> std::same_as<void>;
};

}  // namespace jostle
