#include "prober/app/shard.hpp"

#include <string>

namespace sonde::app {
namespace {

// splitmix64's finaliser: spreads every input bit over the whole word, so that the per-replica
// weights of one key are independent enough for rendezvous hashing.
std::uint64_t mix(std::uint64_t x) {
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebULL;
    x ^= x >> 31;
    return x;
}

}  // namespace

std::uint64_t stable_hash(std::string_view key) {
    std::uint64_t h = 0xcbf29ce484222325ULL;
    for (const char c : key) {
        h ^= static_cast<unsigned char>(c);
        h *= 0x100000001b3ULL;
    }
    return mix(h);
}

unsigned shard_owner(std::string_view key, unsigned count) {
    const std::uint64_t h = stable_hash(key);
    unsigned best = 0;
    std::uint64_t best_weight = 0;
    for (unsigned replica = 0; replica < count; ++replica) {
        const std::uint64_t weight = mix(h ^ mix(replica + 1));
        if (replica == 0 || weight > best_weight) {
            best = replica;
            best_weight = weight;
        }
    }
    return best;
}

Result<ShardSpec> resolve_shard(std::optional<unsigned> index, unsigned count,
                                std::string_view hostname) {
    ShardSpec shard;
    shard.count = count == 0 ? 1 : count;
    if (index) {
        if (*index >= shard.count) {
            return unexpected("--shard.index=" + std::to_string(*index) +
                              " must be below --shard.count=" + std::to_string(shard.count));
        }
        shard.index = *index;
        return shard;
    }
    if (shard.count == 1) {
        return shard;
    }
    const std::size_t dash = hostname.rfind('-');
    const std::string_view ordinal =
        dash == std::string_view::npos ? std::string_view{} : hostname.substr(dash + 1);
    if (ordinal.empty() || ordinal.size() > 9 ||
        ordinal.find_first_not_of("0123456789") != std::string_view::npos) {
        return unexpected("--shard.count=" + std::to_string(shard.count) +
                          " needs --shard.index, or a host name ending in -<ordinal> as a "
                          "StatefulSet pod has; host name is \"" +
                          std::string(hostname) + "\"");
    }
    const unsigned value = static_cast<unsigned>(std::stoul(std::string(ordinal)));
    if (value >= shard.count) {
        return unexpected("ordinal " + std::to_string(value) + " of host name \"" +
                          std::string(hostname) +
                          "\" must be below --shard.count=" + std::to_string(shard.count));
    }
    shard.index = value;
    return shard;
}

}  // namespace sonde::app
