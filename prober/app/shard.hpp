#pragma once

// Sharding scheduled targets over replicas by rendezvous (highest random weight) hashing: each
// target goes to the replica whose (target, replica) hash is highest. Every replica computes
// the same answer from the target key alone, with no coordination, and going from N to N+1
// replicas moves only the targets the new replica now wins: about 1/(N+1) of them.

#include <cstdint>
#include <optional>
#include <string_view>

#include "config/result.hpp"

namespace sonde::app {

struct ShardSpec {
    unsigned index = 0;
    unsigned count = 1;  // 1: unsharded, this replica probes everything
};

// A stable 64-bit hash of a target key (FNV-1a, finished with a 64-bit mixer).
std::uint64_t stable_hash(std::string_view key);

// The replica, 0 to count-1, that owns `key`.
unsigned shard_owner(std::string_view key, unsigned count);

inline bool shard_owns(const ShardSpec& shard, std::string_view key) {
    return shard.count <= 1 || shard_owner(key, shard.count) == shard.index;
}

// The shard of this replica: --shard.index when given, else the ordinal ending the host name
// (StatefulSet pods are named <set>-<ordinal>). Errors name what is wrong.
[[nodiscard]] Result<ShardSpec> resolve_shard(std::optional<unsigned> index, unsigned count,
                                              std::string_view hostname);

}  // namespace sonde::app
