#pragma once

// The TLS context of sonde's own endpoints, built from the web config's tls_server_config
// (exporter-toolkit's ConfigToTLSConfig): certificate and key, client authentication policy,
// version range, cipher suites and curves. Reads the files it names, so that building it again
// picks up a rotated certificate.

#include <memory>

#include "config/web_config.hpp"
#include "prober/core/result.hpp"
#include "prober/net/tls_context.hpp"

namespace sonde::net {

// Errors name the file or field at fault: "failed to read cert_file (/x.pem): No such file or
// directory", "unable to use server key /x.key: ...".
[[nodiscard]] Result<std::shared_ptr<const TlsServerContext>> make_web_tls_context(
    const config::WebTlsConfig& config);

}  // namespace sonde::net
