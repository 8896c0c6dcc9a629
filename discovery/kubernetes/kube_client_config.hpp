#pragma once

// Where the Kubernetes API is and how to authenticate to it: in-cluster (the pod's service
// account) or from a kubeconfig file, the way client-go's rest.InClusterConfig and clientcmd
// read them. Plain values, no loop affinity; files are read when called (at startup or when
// discovery is (re)created), errors are Result values naming the file and the field.

#include <cstdint>
#include <cstdlib>
#include <functional>
#include <string>
#include <string_view>

#include "config/config.hpp"
#include "prober/core/result.hpp"

namespace sonde::discovery::kubernetes {

struct KubeClientConfig {
    std::string scheme = "https";  // "https" or "http"
    std::string host;              // a name or an IP literal, without brackets
    std::uint16_t port = 443;
    // TLS for https: CA (PEM or file), client certificate and key (PEM or files),
    // insecure_skip_verify, server_name (kubeconfig tls-server-name).
    config::TlsConfig tls;
    // Bearer token: a static one, or a file re-read periodically (token_file wins).
    std::string token;
    std::string token_file;
    // The in-cluster namespace file's content, or the kubeconfig context's namespace.
    std::string default_namespace;
    std::string source;  // "in-cluster" or the kubeconfig path, for messages

    // "host:port" with brackets for IPv6, as the Host header and URLs write it.
    std::string authority() const;
};

// What in-cluster configuration reads, injectable for tests.
struct InClusterEnvironment {
    std::string root = "/var/run/secrets/kubernetes.io/serviceaccount";
    std::function<const char*(const char* name)> getenv = [](const char* name) {
        return std::getenv(name);  // NOLINT(concurrency-mt-unsafe): read at startup only
    };
};

// KUBERNETES_SERVICE_HOST/PORT, <root>/token (must be readable), <root>/ca.crt (must exist),
// <root>/namespace (optional).
[[nodiscard]] Result<KubeClientConfig> in_cluster_config(const InClusterEnvironment& env = {});

// A kubeconfig's current context. `dir` resolves relative file paths (the file's directory).
[[nodiscard]] Result<KubeClientConfig> kubeconfig_from_text(std::string_view text,
                                                            const std::string& dir,
                                                            const std::string& source);
[[nodiscard]] Result<KubeClientConfig> load_kubeconfig(const std::string& path);

// Reads a whole file; the error names the path and errno's text.
[[nodiscard]] Result<std::string> read_file(const std::string& path);
// Trims ASCII whitespace from both ends (token and namespace files end with a newline).
std::string trim_space(std::string_view text);
// Standard base64 with padding (kubeconfig *-data fields); whitespace is ignored.
[[nodiscard]] Result<std::string> base64_decode(std::string_view text);

}  // namespace sonde::discovery::kubernetes
