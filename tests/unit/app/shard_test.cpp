// Rendezvous sharding: every target has exactly one owner, load is even, and a change of
// replica count moves about the share the new replica takes.

#include "prober/app/shard.hpp"

#include <string>
#include <vector>

#include <catch2/catch.hpp>

using sonde::app::resolve_shard;
using sonde::app::shard_owner;
using sonde::app::shard_owns;
using sonde::app::ShardSpec;

namespace {

std::vector<std::string> keys(int n) {
    std::vector<std::string> out;
    for (int i = 0; i < n; ++i) {
        out.push_back("http_2xx|https://svc-" + std::to_string(i) + ".ns.svc:443/");
    }
    return out;
}

}  // namespace

TEST_CASE("N replicas cover every target exactly once, evenly", "[unit][shard]") {
    const unsigned count = GENERATE(2u, 3u, 5u, 8u);
    const auto all = keys(10000);
    std::vector<int> load(count, 0);
    for (const auto& key : all) {
        int owners = 0;
        for (unsigned index = 0; index < count; ++index) {
            if (shard_owns(ShardSpec{index, count}, key)) {
                ++owners;
                ++load[index];
            }
        }
        REQUIRE(owners == 1);
    }
    const double fair = 10000.0 / count;
    for (unsigned index = 0; index < count; ++index) {
        INFO("replica " << index << " of " << count << " owns " << load[index]);
        CHECK(load[index] > fair * 0.85);
        CHECK(load[index] < fair * 1.15);
    }
}

TEST_CASE("going from N to N+1 replicas moves about 1/(N+1), all to the new one", "[unit][shard]") {
    const unsigned count = GENERATE(1u, 2u, 4u, 7u);
    const auto all = keys(10000);
    int moved = 0;
    for (const auto& key : all) {
        const unsigned before = shard_owner(key, count);
        const unsigned after = shard_owner(key, count + 1);
        if (before != after) {
            ++moved;
            REQUIRE(after == count);  // only the new replica takes targets
        }
    }
    const double expected = 10000.0 / (count + 1);
    INFO("moved " << moved << " of 10000 going from " << count << " to " << count + 1);
    CHECK(moved > expected * 0.85);
    CHECK(moved < expected * 1.15);
}

TEST_CASE("the shard comes from the flags or the StatefulSet ordinal", "[unit][shard]") {
    auto explicit_index = resolve_shard(2, 3, "whatever");
    REQUIRE(explicit_index.has_value());
    CHECK(explicit_index->index == 2);
    CHECK(explicit_index->count == 3);

    auto from_pod = resolve_shard(std::nullopt, 4, "sonde-3");
    REQUIRE(from_pod.has_value());
    CHECK(from_pod->index == 3);

    auto unsharded = resolve_shard(std::nullopt, 1, "laptop");
    REQUIRE(unsharded.has_value());
    CHECK(unsharded->count == 1);
    CHECK(shard_owns(*unsharded, "anything"));

    CHECK(resolve_shard(3, 3, "x").error() == "--shard.index=3 must be below --shard.count=3");
    CHECK(resolve_shard(std::nullopt, 3, "sonde-7").error() ==
          "ordinal 7 of host name \"sonde-7\" must be below --shard.count=3");
    CHECK(resolve_shard(std::nullopt, 2, "sonde-7c9f8-x2lq").error() ==
          "--shard.count=2 needs --shard.index, or a host name ending in -<ordinal> as a "
          "StatefulSet pod has; host name is \"sonde-7c9f8-x2lq\"");
}
