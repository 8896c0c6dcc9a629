#pragma once

// RuntimeConfig: a loaded Config plus what is built from it once at load time and shared by
// every probe until the next reload: each module's TLS client context (its CA bundle parsed
// once, not per probe) and the warnings about modules this sonde cannot run yet.

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "config/result.hpp"

namespace sonde::net {
class TlsClientContext;
}

namespace sonde::app {

struct RuntimeConfig {
    std::shared_ptr<const config::Config> config;
    std::map<std::string, std::shared_ptr<const net::TlsClientContext>> tls;
    std::vector<std::string> warnings;

    std::shared_ptr<const net::TlsClientContext> tls_for(const std::string& module) const;
};

// The TLS client context a module's probes use, or null when its prober never speaks TLS.
[[nodiscard]] Result<std::shared_ptr<const net::TlsClientContext>> build_tls_context(
    const config::Module& module);

// Builds every module's runtime state; fails (naming the module) when a TLS file is unusable,
// so that a reload with a broken certificate path keeps the old config.
[[nodiscard]] Result<std::shared_ptr<const RuntimeConfig>> build_runtime(
    std::shared_ptr<const config::Config> config, std::vector<std::string> loader_warnings = {});

}  // namespace sonde::app
