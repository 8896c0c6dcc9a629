#include "discovery/kubernetes/kube_client_config.hpp"

#include <charconv>

#include <yaml-cpp/yaml.h>

#include "config/file_text.hpp"
#include "prober/net/ip_address.hpp"
#include "prober/net/url.hpp"

namespace sonde::discovery::kubernetes {
namespace {

std::string join_path(const std::string& dir, const std::string& path) {
    if (path.empty() || path.front() == '/' || dir.empty()) {
        return path;
    }
    return dir + "/" + path;
}

// Sets host, port and scheme from a server URL ("https://10.0.0.1:6443", "https://[::1]").
Result<void> set_server(KubeClientConfig& out, const std::string& server,
                        const std::string& where) {
    auto url = net::parse_url(server);
    if (!url) {
        return unexpected(where + ": server: " + url.error());
    }
    if (url->scheme != "https" && url->scheme != "http") {
        return unexpected(where + ": server \"" + server + "\" is not an http or https URL");
    }
    if (url->hostname().empty()) {
        return unexpected(where + ": server \"" + server + "\" has no host");
    }
    if (!url->path.empty() && url->path != "/") {
        // A path prefix (an API behind a reverse proxy) is rare; refuse it rather than ignore it.
        return unexpected(where + ": server \"" + server + "\": a path is not supported");
    }
    out.scheme = url->scheme;
    out.host = url->hostname();
    out.port = out.scheme == "https" ? 443 : 80;
    if (const std::string port = url->port(); !port.empty()) {
        unsigned value = 0;
        const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
        if (ec != std::errc() || end != port.data() + port.size() || value == 0 || value > 65535) {
            return unexpected(where + ": server \"" + server + "\" has an invalid port");
        }
        out.port = static_cast<std::uint16_t>(value);
    }
    return {};
}

const YAML::Node* find_named(const YAML::Node& list, const std::string& name, YAML::Node& out) {
    if (!list || !list.IsSequence()) {
        return nullptr;
    }
    for (const YAML::Node& entry : list) {
        if (entry.IsMap() && entry["name"] && entry["name"].as<std::string>("") == name) {
            out = entry;
            return &out;
        }
    }
    return nullptr;
}

std::string scalar(const YAML::Node& map, const char* key) {
    const YAML::Node value = map[key];
    return value && value.IsScalar() ? value.Scalar() : std::string();
}

// A PEM from `<key>-data` (base64) or from the file named by `<key>`; data wins, as in client-go.
Result<void> pem_field(const YAML::Node& map, const std::string& key, const std::string& dir,
                       const std::string& where, std::string& pem, std::string& file) {
    const std::string data = scalar(map, (key + "-data").c_str());
    if (!data.empty()) {
        auto decoded = base64_decode(data);
        if (!decoded) {
            return unexpected(where + ": " + key + "-data: " + decoded.error());
        }
        pem = std::move(*decoded);
        return {};
    }
    file = join_path(dir, scalar(map, key.c_str()));
    return {};
}

Result<KubeClientConfig> from_yaml(const YAML::Node& root, const std::string& dir,
                                   const std::string& source) {
    KubeClientConfig out;
    out.source = source;
    if (!root.IsMap()) {
        return unexpected("kubeconfig " + source + ": not a YAML mapping");
    }
    const std::string current = scalar(root, "current-context");
    if (current.empty()) {
        return unexpected("kubeconfig " + source + ": current-context is not set");
    }
    YAML::Node context_entry;
    if (find_named(root["contexts"], current, context_entry) == nullptr) {
        return unexpected("kubeconfig " + source + ": context \"" + current + "\" not found");
    }
    const YAML::Node context = context_entry["context"];
    const std::string cluster_name = context ? scalar(context, "cluster") : std::string();
    const std::string user_name = context ? scalar(context, "user") : std::string();
    out.default_namespace = context ? scalar(context, "namespace") : std::string();

    YAML::Node cluster_entry;
    if (find_named(root["clusters"], cluster_name, cluster_entry) == nullptr) {
        return unexpected("kubeconfig " + source + ": cluster \"" + cluster_name +
                          "\" (of context \"" + current + "\") not found");
    }
    const std::string cluster_where = "kubeconfig " + source + ": cluster \"" + cluster_name + "\"";
    const YAML::Node cluster = cluster_entry["cluster"];
    if (!cluster || !cluster.IsMap() || scalar(cluster, "server").empty()) {
        return unexpected(cluster_where + " has no server");
    }
    if (auto set = set_server(out, scalar(cluster, "server"), cluster_where); !set) {
        return unexpected(set.error());
    }
    if (auto ca = pem_field(cluster, "certificate-authority", dir, cluster_where, out.tls.ca,
                            out.tls.ca_file);
        !ca) {
        return unexpected(ca.error());
    }
    out.tls.insecure_skip_verify = scalar(cluster, "insecure-skip-tls-verify") == "true";
    if (out.tls.insecure_skip_verify && (!out.tls.ca.empty() || !out.tls.ca_file.empty())) {
        // client-go's transport refuses the combination, and so does kubectl.
        return unexpected(cluster_where +
                          ": specifying a root certificates file with the insecure flag is not "
                          "allowed");
    }
    out.tls.server_name = scalar(cluster, "tls-server-name");
    if (!scalar(cluster, "proxy-url").empty()) {
        return unexpected(cluster_where + ": proxy-url is not supported");
    }

    if (user_name.empty()) {
        return out;  // no credentials
    }
    YAML::Node user_entry;
    if (find_named(root["users"], user_name, user_entry) == nullptr) {
        return unexpected("kubeconfig " + source + ": user \"" + user_name + "\" (of context \"" +
                          current + "\") not found");
    }
    const std::string user_where = "kubeconfig " + source + ": user \"" + user_name + "\"";
    const YAML::Node user = user_entry["user"];
    if (!user || !user.IsMap()) {
        return out;
    }
    if (user["exec"] || user["auth-provider"]) {
        return unexpected(user_where +
                          ": exec and auth-provider credential plugins are not supported; use "
                          "token, tokenFile or client-certificate/client-key");
    }
    if (!scalar(user, "username").empty() || !scalar(user, "password").empty()) {
        return unexpected(user_where + ": username/password authentication is not supported");
    }
    out.token = scalar(user, "token");
    const std::string token_file = scalar(user, "tokenFile");
    if (!token_file.empty()) {
        out.token_file = join_path(dir, token_file);
    }
    std::string key_pem;
    if (auto cert =
            pem_field(user, "client-certificate", dir, user_where, out.tls.cert, out.tls.cert_file);
        !cert) {
        return unexpected(cert.error());
    }
    if (auto key = pem_field(user, "client-key", dir, user_where, key_pem, out.tls.key_file);
        !key) {
        return unexpected(key.error());
    }
    out.tls.key.value = std::move(key_pem);
    const bool has_cert = !out.tls.cert.empty() || !out.tls.cert_file.empty();
    const bool has_key = !out.tls.key.empty() || !out.tls.key_file.empty();
    if (has_cert != has_key) {
        return unexpected(user_where +
                          ": client-certificate and client-key must be given together");
    }
    return out;
}

}  // namespace

std::string KubeClientConfig::authority() const {
    const bool v6 = host.find(':') != std::string::npos;
    return (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

Result<std::string> read_file(const std::string& path) {
    config::FileText text = config::read_file_text(path);
    if (!text.ok) {
        return unexpected("cannot " + std::string(text.step) + " " + path + ": " + text.reason);
    }
    return std::move(text.bytes);
}

std::string trim_space(std::string_view text) {
    constexpr std::string_view kSpace = " \t\r\n\f\v";
    const auto first = text.find_first_not_of(kSpace);
    if (first == std::string_view::npos) {
        return {};
    }
    const auto last = text.find_last_not_of(kSpace);
    return std::string(text.substr(first, last - first + 1));
}

Result<std::string> base64_decode(std::string_view text) {
    std::string out;
    out.reserve(text.size() / 4 * 3);
    std::uint32_t bits = 0;
    int count = 0;
    int padding = 0;
    for (const char c : text) {
        int value = -1;
        if (c >= 'A' && c <= 'Z') {
            value = c - 'A';
        } else if (c >= 'a' && c <= 'z') {
            value = c - 'a' + 26;
        } else if (c >= '0' && c <= '9') {
            value = c - '0' + 52;
        } else if (c == '+') {
            value = 62;
        } else if (c == '/') {
            value = 63;
        } else if (c == '=') {
            ++padding;
            continue;
        } else if (c == ' ' || c == '\n' || c == '\r' || c == '\t') {
            continue;
        } else {
            return unexpected("illegal base64 data");
        }
        if (padding > 0) {
            return unexpected("illegal base64 data");
        }
        bits = (bits << 6) | static_cast<std::uint32_t>(value);
        if (++count == 4) {
            out.push_back(static_cast<char>((bits >> 16) & 0xff));
            out.push_back(static_cast<char>((bits >> 8) & 0xff));
            out.push_back(static_cast<char>(bits & 0xff));
            bits = 0;
            count = 0;
        }
    }
    if (count == 1 || padding > 2 || (count == 0 && padding != 0) ||
        (count != 0 && count + padding != 4)) {
        return unexpected("illegal base64 data");
    }
    if (count == 2) {
        out.push_back(static_cast<char>((bits >> 4) & 0xff));
    } else if (count == 3) {
        out.push_back(static_cast<char>((bits >> 10) & 0xff));
        out.push_back(static_cast<char>((bits >> 2) & 0xff));
    }
    return out;
}

Result<KubeClientConfig> in_cluster_config(const InClusterEnvironment& env) {
    const char* host = env.getenv("KUBERNETES_SERVICE_HOST");
    const char* port = env.getenv("KUBERNETES_SERVICE_PORT");
    if (host == nullptr || *host == '\0' || port == nullptr || *port == '\0') {
        return unexpected(
            "not running in a cluster: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT must "
            "be set (or give discovery.kubernetes.kubeconfig)");
    }
    KubeClientConfig out;
    out.source = "in-cluster";
    const std::string host_text = host;
    const bool v6 = host_text.find(':') != std::string::npos;
    const std::string server =
        "https://" + (v6 ? "[" + host_text + "]" : host_text) + ":" + std::string(port);
    if (auto set = set_server(out, server, "in-cluster"); !set) {
        return unexpected(set.error());
    }
    out.token_file = env.root + "/token";
    auto token = read_file(out.token_file);
    if (!token) {
        return unexpected("in-cluster: service account token: " + token.error());
    }
    if (trim_space(*token).empty()) {
        return unexpected("in-cluster: service account token " + out.token_file + " is empty");
    }
    // client-go falls back to the system roots when the CA cannot be read; failing closed is
    // safer for a prober that sends its token.
    out.tls.ca_file = env.root + "/ca.crt";
    if (auto ca = read_file(out.tls.ca_file); !ca) {
        return unexpected("in-cluster: service account CA: " + ca.error());
    }
    if (auto ns = read_file(env.root + "/namespace")) {
        out.default_namespace = trim_space(*ns);
    }
    return out;
}

Result<KubeClientConfig> kubeconfig_from_text(std::string_view text, const std::string& dir,
                                              const std::string& source) {
    try {
        return from_yaml(YAML::Load(std::string(text)), dir, source);
    } catch (const YAML::Exception& error) {
        return unexpected("kubeconfig " + source + ":" + std::to_string(error.mark.line + 1) + ":" +
                          std::to_string(error.mark.column + 1) + ": " + error.msg);
    }
}

Result<KubeClientConfig> load_kubeconfig(const std::string& path) {
    auto text = read_file(path);
    if (!text) {
        return unexpected("kubeconfig: " + text.error());
    }
    const auto slash = path.rfind('/');
    const std::string dir = slash == std::string::npos ? "." : path.substr(0, slash);
    return kubeconfig_from_text(*text, dir, path);
}

}  // namespace sonde::discovery::kubernetes
