#include "prober/app/flags.hpp"

#include <cerrno>
#include <cstdlib>
#include <functional>
#include <map>

namespace sonde::app {
namespace {

enum class Kind { Bool, Value };

struct FlagSpec {
    Kind kind;
    std::function<Result<void>(Flags&, const std::string&)> set;
};

Result<double> parse_float(const std::string& name, const std::string& text) {
    char* end = nullptr;
    errno = 0;
    const double value = std::strtod(text.c_str(), &end);
    if (text.empty() || end != text.c_str() + text.size() || errno == ERANGE) {
        return unexpected("invalid value \"" + text + "\" for flag --" + name);
    }
    return value;
}

Result<unsigned> parse_unsigned(const std::string& name, const std::string& text) {
    char* end = nullptr;
    errno = 0;
    const unsigned long value = std::strtoul(text.c_str(), &end, 10);
    if (text.empty() || text[0] == '-' || end != text.c_str() + text.size() || errno == ERANGE ||
        value > 0xffffffffUL) {
        return unexpected("invalid value \"" + text + "\" for flag --" + name);
    }
    return static_cast<unsigned>(value);
}

Result<bool> parse_bool(const std::string& name, const std::string& text) {
    if (text == "true" || text == "1") {
        return true;
    }
    if (text == "false" || text == "0") {
        return false;
    }
    return unexpected("invalid boolean value \"" + text + "\" for flag --" + name);
}

Result<void> not_supported(const std::string& name) {
    return unexpected("flag --" + name + " is not supported yet");
}

const std::map<std::string, FlagSpec>& specs() {
    static const std::map<std::string, FlagSpec> table = {
        {"config.file",
         {Kind::Value,
          [](Flags& f, const std::string& v) -> Result<void> {
              f.config_file = v;
              f.config_file_given = true;
              return {};
          }}},
        {"config.check",
         {Kind::Bool,
          [](Flags& f, const std::string& v) -> Result<void> {
              auto b = parse_bool("config.check", v);
              if (!b) {
                  return unexpected(b.error());
              }
              f.config_check = *b;
              return {};
          }}},
        {"config.enable-auto-reload",
         {Kind::Bool,
          [](Flags& f, const std::string& v) -> Result<void> {
              auto b = parse_bool("config.enable-auto-reload", v);
              if (!b) {
                  return unexpected(b.error());
              }
              f.config_auto_reload = *b;
              return {};
          }}},
        {"config.auto-reload-interval",
         {Kind::Value,
          [](Flags& f, const std::string& v) -> Result<void> {
              auto n = parse_unsigned("config.auto-reload-interval", v);
              if (!n) {
                  return unexpected(n.error());
              }
              if (*n == 0) {
                  return unexpected("--config.auto-reload-interval must be at least 1 second");
              }
              f.config_auto_reload_interval_seconds = *n;
              return {};
          }}},
        {"timeout-offset",
         {Kind::Value,
          [](Flags& f, const std::string& v) -> Result<void> {
              auto d = parse_float("timeout-offset", v);
              if (!d) {
                  return unexpected(d.error());
              }
              f.timeout_offset = *d;
              return {};
          }}},
        {"shard.index",
         {Kind::Value,
          [](Flags& f, const std::string& v) -> Result<void> {
              auto n = parse_unsigned("shard.index", v);
              if (!n) {
                  return unexpected(n.error());
              }
              f.shard_index = *n;
              return {};
          }}},
        {"shard.count",
         {Kind::Value,
          [](Flags& f, const std::string& v) -> Result<void> {
              auto n = parse_unsigned("shard.count", v);
              if (!n) {
                  return unexpected(n.error());
              }
              if (*n == 0) {
                  return unexpected("--shard.count must be at least 1");
              }
              f.shard_count = *n;
              return {};
          }}},
        {"resolver.nameserver",
         {Kind::Value,
          [](Flags& f, const std::string& v) -> Result<void> {
              f.nameservers.push_back(v);
              return {};
          }}},
        {"probe.max-concurrent",
         {Kind::Value,
          [](Flags& f, const std::string& v) -> Result<void> {
              auto n = parse_unsigned("probe.max-concurrent", v);
              if (!n) {
                  return unexpected(n.error());
              }
              if (*n == 0) {
                  return unexpected("--probe.max-concurrent must be at least 1");
              }
              f.probe_max_concurrent = *n;
              return {};
          }}},
        {"web.max-connections",
         {Kind::Value,
          [](Flags& f, const std::string& v) -> Result<void> {
              auto n = parse_unsigned("web.max-connections", v);
              if (!n) {
                  return unexpected(n.error());
              }
              if (*n == 0) {
                  return unexpected("--web.max-connections must be at least 1");
              }
              f.web_max_connections = *n;
              return {};
          }}},
        {"history.limit",
         {Kind::Value,
          [](Flags& f, const std::string& v) -> Result<void> {
              auto n = parse_unsigned("history.limit", v);
              if (!n) {
                  return unexpected(n.error());
              }
              f.history_limit = *n;
              return {};
          }}},
        {"web.listen-address",
         {Kind::Value,
          [](Flags& f, const std::string& v) -> Result<void> {
              f.listen_addresses.push_back(v);
              return {};
          }}},
        {"web.route-prefix",
         {Kind::Value,
          [](Flags& f, const std::string& v) -> Result<void> {
              f.route_prefix = v;
              return {};
          }}},
        {"web.external-url",
         {Kind::Value,
          [](Flags& f, const std::string& v) -> Result<void> {
              f.external_url = v;
              return {};
          }}},
        {"log.level",
         {Kind::Value,
          [](Flags& f, const std::string& v) -> Result<void> {
              if (!parse_log_level(v, f.log_level)) {
                  return unexpected("unrecognized log level \"" + v + "\" for flag --log.level");
              }
              return {};
          }}},
        {"log.prober",
         {Kind::Value,
          [](Flags& f, const std::string& v) -> Result<void> {
              if (!parse_log_level(v, f.prober_log_level)) {
                  return unexpected("unrecognized log level \"" + v + "\" for flag --log.prober");
              }
              return {};
          }}},
        {"log.format",
         {Kind::Value,
          [](Flags& f, const std::string& v) -> Result<void> {
              if (v != "logfmt" && v != "json") {
                  return unexpected("unrecognized log format \"" + v + "\" for flag --log.format");
              }
              f.log_json = v == "json";
              return {};
          }}},
        {"web.config.file",
         {Kind::Value,
          [](Flags& f, const std::string& v) -> Result<void> {
              f.web_config_file = v;
              return {};
          }}},
        // Accepted by the exporter; sonde refuses it until it works rather than ignore it.
        {"web.systemd-socket",
         {Kind::Bool,
          [](Flags&, const std::string& v) -> Result<void> {
              return v == "false" ? Result<void>{} : not_supported("web.systemd-socket");
          }}},
        {"version",
         {Kind::Bool,
          [](Flags& f, const std::string& v) -> Result<void> {
              f.show_version = v == "true";
              return {};
          }}},
        {"help",
         {Kind::Bool,
          [](Flags& f, const std::string& v) -> Result<void> {
              f.show_help = v == "true";
              return {};
          }}},
    };
    return table;
}

}  // namespace

Result<Flags> parse_flags(const std::vector<std::string>& args) {
    Flags flags;
    for (std::size_t i = 0; i < args.size(); ++i) {
        const std::string& arg = args[i];
        if (arg == "-h") {
            flags.show_help = true;
            continue;
        }
        if (arg.rfind("--", 0) != 0 || arg.size() == 2) {
            return unexpected("unexpected argument " + arg + ", try --help");
        }
        std::string name = arg.substr(2);
        std::optional<std::string> value;
        if (const auto eq = name.find('='); eq != std::string::npos) {
            value = name.substr(eq + 1);
            name.resize(eq);
        }
        auto it = specs().find(name);
        bool negated = false;
        if (it == specs().end() && name.rfind("no-", 0) == 0) {
            const auto positive = specs().find(name.substr(3));
            if (positive != specs().end() && positive->second.kind == Kind::Bool && !value) {
                it = positive;
                negated = true;
            }
        }
        if (it == specs().end()) {
            return unexpected("unknown long flag '--" + name + "', try --help");
        }
        if (it->second.kind == Kind::Bool) {
            const std::string v = negated ? "false" : value.value_or("true");
            auto ok = it->second.set(flags, v);
            if (!ok) {
                return unexpected(ok.error());
            }
            continue;
        }
        if (!value) {
            if (i + 1 >= args.size()) {
                return unexpected("expected argument for flag '--" + name + "'");
            }
            value = args[++i];
        }
        auto ok = it->second.set(flags, *value);
        if (!ok) {
            return unexpected(ok.error());
        }
    }
    if (flags.listen_addresses.empty()) {
        flags.listen_addresses.emplace_back(":9115");
    }
    return flags;
}

std::string normalise_route_prefix(const Flags& flags) {
    std::string prefix = flags.route_prefix;
    if (prefix.empty() && !flags.external_url.empty()) {
        // The path of the external URL: everything after scheme://host[:port].
        const auto scheme = flags.external_url.find("://");
        const auto path_start = scheme == std::string::npos
                                    ? std::string::npos
                                    : flags.external_url.find('/', scheme + 3);
        if (path_start != std::string::npos) {
            prefix = flags.external_url.substr(path_start);
        }
    }
    if (prefix.empty() || prefix.front() != '/') {
        prefix.insert(prefix.begin(), '/');
    }
    while (prefix.size() > 1 && prefix.back() == '/') {
        prefix.pop_back();
    }
    return prefix;
}

std::string usage_text() {
    return R"(usage: sonde [<flags>]
       sonde check [<flags>] [MODULE TARGET [TARGET...]]

sonde: a blackbox prober, compatible with Prometheus' blackbox_exporter.
`sonde check` runs ad hoc probes and prints their results; see `sonde check --help`.

Flags:
  -h, --help                     Show this help.
      --config.file="blackbox.yml"
                                 Blackbox exporter configuration file. When the default file
                                 does not exist, the built-in modules are used.
      --[no-]config.check        If true validate the config file and then exit.
      --[no-]config.enable-auto-reload
                                 Reload the config file when its content changes.
      --config.auto-reload-interval=30
                                 Seconds between checks of the config file for changes.
      --history.limit=100        The maximum amount of items to keep in the history.
      --timeout-offset=0.5       Offset to subtract from timeout in seconds.
      --web.listen-address=:9115 ...
                                 Addresses on which to expose metrics and web interface.
                                 Repeatable for multiple addresses.
      --web.config.file=""       Path to configuration file that can enable TLS or
                                 authentication (exporter-toolkit format).
      --web.external-url=WEB.EXTERNAL-URL
                                 The URL under which sonde is externally reachable.
      --web.route-prefix=WEB.ROUTE-PREFIX
                                 Prefix for the internal routes of web endpoints. Defaults
                                 to the path of --web.external-url.
      --web.max-connections=1024 Open connections to sonde's own endpoints at most; one more
                                 is accepted and closed at once (sonde).
      --probe.max-concurrent=10000
                                 Probes in flight at most, /probe and scheduled together;
                                 beyond, /probe answers 503 and scheduled runs wait (sonde).
      --resolver.nameserver=IP[:PORT] ...
                                 DNS server for target names instead of those of
                                 /etc/resolv.conf (sonde). Repeatable.
      --shard.count=1            Number of replicas sharing the scheduled targets (sonde).
      --shard.index=SHARD.INDEX  This replica's shard, 0 to count-1. Default: the ordinal at
                                 the end of the host name (StatefulSet pod "sonde-2" is 2).
      --log.level=info           Only log messages with the given severity or above. One of:
                                 [debug, info, warn, error]
      --log.prober=info          Log level for probe request logs. One of: [debug, info,
                                 warn, error]
      --log.format=logfmt        Output format of log messages. One of: [logfmt, json]
      --version                  Show application version.

Not supported yet (rejected when given): --web.systemd-socket.
)";
}

}  // namespace sonde::app
