#pragma once

// The command line: every flag of blackbox_exporter (reference §3.2), with the same names,
// defaults and meaning, parsed as kingpin does (`--flag=value`, `--flag value`, `--[no-]bool`).
// A flag the exporter has but sonde does not implement yet is rejected with a clear message
// rather than accepted and ignored.

#include <optional>
#include <string>
#include <vector>

#include "config/result.hpp"
#include "prober/core/probe_log.hpp"

namespace sonde::app {

struct Flags {
    std::string config_file = "blackbox.yml";
    bool config_file_given = false;  // an explicit path must exist; the default may not
    bool config_check = false;
    bool config_auto_reload = false;
    unsigned config_auto_reload_interval_seconds = 30;
    double timeout_offset = 0.5;
    unsigned history_limit = 100;
    std::vector<std::string> listen_addresses;  // default {":9115"}
    std::string route_prefix;                   // default: path of external URL, else "/"
    std::string external_url;
    std::string web_config_file;  // exporter-toolkit web config; "" = plain HTTP, no auth
    LogLevel log_level = LogLevel::Info;
    bool log_json = false;
    LogLevel prober_log_level = LogLevel::Info;
    // Sharding of scheduled targets over replicas (sonde extension). shard_index unset with
    // shard_count > 1: the ordinal at the end of the host name (a StatefulSet pod "sonde-2").
    std::optional<unsigned> shard_index;
    // DNS servers ("ip" or "ip:port") for target names instead of /etc/resolv.conf (sonde).
    std::vector<std::string> nameservers;
    unsigned shard_count = 1;
    // Probes in flight at most, /probe and scheduled together (sonde): beyond, /probe answers
    // 503 and scheduled runs wait for a slot.
    unsigned probe_max_concurrent = 10000;
    // Open connections of sonde's own HTTP server at most (sonde).
    unsigned web_max_connections = 1024;
    bool show_version = false;
    bool show_help = false;
};

[[nodiscard]] Result<Flags> parse_flags(const std::vector<std::string>& args);

std::string usage_text();

// The route prefix normalised as the exporter does: leading "/", no trailing "/" (except "/").
std::string normalise_route_prefix(const Flags& flags);

}  // namespace sonde::app
