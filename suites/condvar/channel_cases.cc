// The bounded channel: item conservation under producers, consumers and timed operations; close wakes every
// blocked sender and receiver; timed and non-blocking operations report what the contract says.
#include <atomic>
#include <vector>

#include "backend_map.h"
#include "jostle/jostle.h"

namespace jostle {

JOSTLE_CASE(condvar, channel_item_conservation)
    .primitive("channel")
    .describe("3 producers x 2000 items through a 2-slot channel to 3 consumers mixing recv, short recv_for and "
              "try_recv: every item arrives exactly once, in each producer's order")
    .clauses({"channel.conservation", "channel.bounded", "channel.close", "channel.timed"})
    .threads(6)
    .iterations(20)
    .timeout(60 * kSecond)
    .body<ChannelBackends>([]<ChannelBackend Ch>(Context& ctx) {
      constexpr int kProducers = 3, kConsumers = 3;
      constexpr std::uint64_t kItems = 2000;
      Ch ch(2);
      std::vector<std::vector<std::uint64_t>> seen(kConsumers);
      std::atomic<int> producers_left{kProducers};
      std::atomic<std::uint64_t> timeouts{0};
      ctx.actors(kProducers + kConsumers, [&](int i) {
        Rng rng(ctx.seed_for(static_cast<std::uint64_t>(i)));
        if (i < kProducers) {
          for (std::uint64_t n = 0; n < kItems;) {
            const std::uint64_t item = (static_cast<std::uint64_t>(i) << 32) | n;
            phase("send");
            ChannelStatus s = rng.chance(0.5) ? ch.send(item) : ch.send_for(item, static_cast<Nanos>(rng.below(100)) * kMicro);
            if (s == ChannelStatus::ok) ++n;
          }
          if (producers_left.fetch_sub(1) == 1) ch.close();
          return;
        }
        auto& mine = seen[static_cast<std::size_t>(i - kProducers)];
        for (;;) {
          std::uint64_t v = 0;
          phase("recv");
          const std::uint64_t pick = rng.below(10);
          // Mostly short timed receives, so timeouts keep racing arriving items.
          const ChannelStatus s = pick < 2   ? ch.recv(v)
                                  : pick < 9 ? ch.recv_for(v, static_cast<Nanos>(rng.below(30)) * kMicro)
                                             : ch.try_recv(v);
          if (s == ChannelStatus::ok) mine.push_back(v);
          else if (s == ChannelStatus::closed) break;
          else timeouts.fetch_add(1);
        }
      });
      std::vector<std::uint64_t> next(kProducers, 0);
      std::uint64_t total = 0, out_of_order = 0, duplicates_or_foreign = 0;
      std::vector<std::vector<bool>> got(kProducers, std::vector<bool>(kItems, false));
      for (const auto& list : seen) {
        std::vector<std::uint64_t> last(kProducers, 0);
        std::vector<bool> any(kProducers, false);
        for (std::uint64_t v : list) {
          const std::uint64_t p = v >> 32, n = v & 0xffffffffu;
          if (p >= kProducers || n >= kItems || got[p][n]) {
            ++duplicates_or_foreign;
            continue;
          }
          got[p][n] = true;
          if (any[p] && n < last[p]) ++out_of_order;  // one consumer sees each producer's items in order
          any[p] = true;
          last[p] = n;
          ++total;
        }
      }
      ctx.metric("recv_timeouts", static_cast<double>(timeouts.load()), "n");
      JOSTLE_CHECK_EQ(duplicates_or_foreign, 0u);
      JOSTLE_CHECK_EQ(out_of_order, 0u);
      JOSTLE_CHECK_EQ(total, kProducers * kItems) << "items were lost";
    });

JOSTLE_CASE(condvar, channel_close_wakes_all)
    .primitive("channel")
    .describe("close() returns every receiver blocked on an empty channel and every sender blocked on a full "
              "one with `closed`")
    .clauses({"channel.close"})
    .threads(3)
    .iterations(20)
    .timeout(15 * kSecond)
    .body<ChannelBackends>([]<ChannelBackend Ch>(Context& ctx) {
      constexpr int kBlocked = 3;
      for (bool senders : {false, true}) {
        Ch ch(1);
        if (senders) {
          JOSTLE_REQUIRE(ch.try_send(7) == ChannelStatus::ok);
        }
        std::atomic<int> closed_seen{0};
        ActorGroup g = ctx.spawn(kBlocked, [&](int) {
          std::uint64_t v = 0;
          phase("blocked");
          const ChannelStatus s = senders ? ch.send(1) : ch.recv(v);
          if (s == ChannelStatus::closed) closed_seen.fetch_add(1);
        });
        for (int i = 0; i < kBlocked; ++i) JOSTLE_REQUIRE(ctx.await_parked(i, "blocked")) << "actor " << i;
        ch.close();
        JOSTLE_REQUIRE(probe::await([&] { return closed_seen.load() == kBlocked; }, 5 * kSecond))
            << closed_seen.load() << " of " << kBlocked << (senders ? " senders" : " receivers")
            << " returned after close()";
        g.join();
        if (senders) {
          std::uint64_t v = 0;
          JOSTLE_CHECK(ch.recv(v) == ChannelStatus::ok && v == 7) << "an item sent before close() was lost";
          JOSTLE_CHECK(ch.recv(v) == ChannelStatus::closed);
        }
      }
    });

JOSTLE_CASE(condvar, channel_timed_ops)
    .primitive("channel")
    .describe("send_for on a full and recv_for on an empty channel time out no earlier than asked; try_ "
              "operations report full/empty; after close, sends fail and receives drain then report closed")
    .clauses({"channel.timed", "channel.try-send", "channel.close", "channel.bounded"})
    .iterations(10)
    .timeout(15 * kSecond)
    .body<ChannelBackends>([]<ChannelBackend Ch>(Context&) {
      Ch ch(2);
      std::uint64_t v = 0;
      JOSTLE_CHECK(ch.try_recv(v) == ChannelStatus::empty);
      for (Nanos t : {1500 * kMicro, 2700 * kMicro}) {
        Nanos t0 = now_ns();
        JOSTLE_CHECK(ch.recv_for(v, t) == ChannelStatus::timeout);
        JOSTLE_CHECK(now_ns() - t0 >= t) << "recv_for timed out early";
        JOSTLE_CHECK(ch.recv_for(v, 0) == ChannelStatus::timeout);
      }
      JOSTLE_CHECK(ch.try_send(1) == ChannelStatus::ok);
      JOSTLE_CHECK(ch.send(2) == ChannelStatus::ok);
      JOSTLE_CHECK(ch.try_send(3) == ChannelStatus::full) << "a third item fit in a 2-slot channel";
      for (Nanos t : {1500 * kMicro, 2700 * kMicro}) {
        const Nanos t0 = now_ns();
        JOSTLE_CHECK(ch.send_for(3, t) == ChannelStatus::timeout);
        JOSTLE_CHECK(now_ns() - t0 >= t) << "send_for timed out early";
      }
      ch.close();
      JOSTLE_CHECK(ch.send(4) == ChannelStatus::closed);
      JOSTLE_CHECK(ch.try_send(4) == ChannelStatus::closed);
      JOSTLE_CHECK(ch.recv(v) == ChannelStatus::ok && v == 1);
      JOSTLE_CHECK(ch.recv_for(v, kMilli) == ChannelStatus::ok && v == 2);
      JOSTLE_CHECK(ch.recv(v) == ChannelStatus::closed);
      JOSTLE_CHECK(ch.try_recv(v) == ChannelStatus::closed);
    });

}  // namespace jostle
