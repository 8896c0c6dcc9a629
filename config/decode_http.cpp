// The `http:` block: prometheus/common's HTTPClientConfig keys (inlined) plus the exporter's
// HTTPProbe keys, then HTTPProbe.UnmarshalYAML's checks in upstream's order.

#include <algorithm>
#include <cctype>

#include "config/accept_encoding.hpp"
#include "config/decoders.hpp"

namespace sonde::config::detail {
namespace {

// Go's http.CanonicalHeaderKey for the common case: "accept-encoding" -> "Accept-Encoding".
std::string canonical_header(const std::string& name) {
    std::string out = name;
    bool upper = true;
    for (char& c : out) {
        const auto uc = static_cast<unsigned char>(c);
        c = static_cast<char>(upper ? std::toupper(uc) : std::tolower(uc));
        upper = c == '-';
    }
    return out;
}

bool iequals(std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return std::tolower(static_cast<unsigned char>(x)) ==
                      std::tolower(static_cast<unsigned char>(y));
           });
}

// prometheus/common config/headers.go reservedHeaders: set by the client itself.
constexpr std::string_view kReservedHeaders[] = {
    "Authorization",
    "Host",
    "Content-Encoding",
    "Content-Length",
    "Content-Type",
    "User-Agent",
    "Connection",
    "Keep-Alive",
    "Proxy-Authenticate",
    "Proxy-Authorization",
    "Www-Authenticate",
    "Accept-Encoding",
    "X-Prometheus-Remote-Write-Version",
    "X-Prometheus-Remote-Read-Version",
    "X-Prometheus-Scrape-Timeout-Seconds",
    "X-Amz-Date",
    "X-Amz-Security-Token",
    "X-Amz-Content-Sha256",
};

std::vector<HeaderMatch> decode_header_matchers(const YAML::Node& node) {
    std::vector<HeaderMatch> out;
    for_each_item(node, "list of header matchers", [&](const YAML::Node& item) {
        HeaderMatch match;
        bool has_regexp = false;
        const Fields fields = decode_fields(item, "header matcher",
                                            [&](const std::string& key, const YAML::Node& value) {
                                                if (key == "header") {
                                                    match.header = as_string(value);
                                                } else if (key == "regexp") {
                                                    match.regexp = as_regex(value);
                                                    has_regexp = true;
                                                } else if (key == "allow_missing") {
                                                    match.allow_missing = as_bool(value);
                                                } else {
                                                    return false;
                                                }
                                                return true;
                                            });
        if (match.header.empty()) {
            fail(fields.block(), "header name must be set for HTTP header matchers");
        }
        if (!has_regexp) {
            fail(fields.block(), "regexp must be set for HTTP header matchers");
        }
        out.push_back(std::move(match));
    });
    return out;
}

// Accepts any non-empty expression. TODO(config): sonde has no CEL engine yet, so a CEL
// expression that would not compile upstream is accepted here and fails at probe time.
std::string as_cel(const YAML::Node& node) {
    return as_string(node);
}

}  // namespace

std::map<std::string, HttpHeaderValues> decode_header_values(const YAML::Node& node,
                                                             bool check_reserved) {
    std::map<std::string, HttpHeaderValues> out;
    decode_fields(node, "headers", [&](const std::string& name, const YAML::Node& value) {
        if (check_reserved) {
            const std::string canonical = canonical_header(name);
            for (std::string_view reserved : kReservedHeaders) {
                if (canonical == reserved) {
                    fail(value.Mark(), "setting header \"" + canonical + "\" is not allowed");
                }
            }
        }
        HttpHeaderValues& header = out[name];
        decode_fields(value, "header", [&](const std::string& key, const YAML::Node& list) {
            if (key == "values") {
                header.values = as_string_list(list);
            } else if (key == "secrets") {
                for (std::string& secret : as_string_list(list)) {
                    header.secrets.push_back(Secret{std::move(secret)});
                }
            } else if (key == "files") {
                header.files = as_string_list(list);
            } else {
                return false;
            }
            return true;
        });
        return true;
    });
    return out;
}

bool decode_http_client_field(const std::string& key, const YAML::Node& value, HttpProbe& out,
                              HttpClientState& state) {
    if (key == "basic_auth") {
        decode_basic_auth(value, out.basic_auth.emplace());
    } else if (key == "authorization") {
        decode_authorization(value, out.authorization.emplace());
    } else if (key == "oauth2") {
        decode_oauth2(value, out.oauth2.emplace());
    } else if (key == "bearer_token") {
        state.bearer_token = as_string(value);
    } else if (key == "bearer_token_file") {
        state.bearer_token_file = as_string(value);
    } else if (key == "tls_config") {
        decode_tls_config(value, out.tls_config);
    } else if (key == "follow_redirects") {
        out.follow_redirects = as_bool(value);
    } else if (key == "enable_http2") {
        out.enable_http2 = as_bool(value);
    } else if (key == "proxy_url") {
        out.proxy_url = as_string(value);
    } else if (key == "no_proxy") {
        out.no_proxy = as_string(value);
    } else if (key == "proxy_from_environment") {
        out.proxy_from_environment = as_bool(value);
    } else if (key == "proxy_connect_header") {
        decode_fields(value, "proxy_connect_header",
                      [&](const std::string& name, const YAML::Node& list) {
                          std::vector<Secret>& secrets = out.proxy_connect_header[name];
                          for (std::string& secret : as_string_list(list)) {
                              secrets.push_back(Secret{std::move(secret)});
                          }
                          return true;
                      });
    } else if (key == "http_headers") {
        out.http_headers = decode_header_values(value, true);
    } else {
        return false;
    }
    return true;
}

// HTTPClientConfig.Validate and ProxyConfig.Validate, in their order; folds the deprecated
// bearer_token(_file) into `authorization` as upstream does.
void validate_http_client(HttpProbe& out, HttpClientState& state, const Fields& fields) {
    const bool has_bearer = !state.bearer_token.empty() || !state.bearer_token_file.empty();
    if (!state.bearer_token.empty() && !state.bearer_token_file.empty()) {
        fail(fields.mark("bearer_token_file"),
             "at most one of bearer_token & bearer_token_file must be configured");
    }
    if ((out.basic_auth || out.oauth2) && has_bearer) {
        fail(fields.mark(state.bearer_token.empty() ? "bearer_token_file" : "bearer_token"),
             "at most one of basic_auth, oauth2, bearer_token & bearer_token_file must be "
             "configured");
    }
    if (out.basic_auth && !out.basic_auth->username.empty() &&
        !out.basic_auth->username_file.empty()) {
        fail(fields.mark("basic_auth"),
             "at most one of basic_auth username, username_file & username_ref must be "
             "configured");
    }
    if (out.basic_auth && !out.basic_auth->password.empty() &&
        !out.basic_auth->password_file.empty()) {
        fail(fields.mark("basic_auth"),
             "at most one of basic_auth password, password_file & password_ref must be "
             "configured");
    }
    if (out.authorization) {
        const YAML::Mark mark = fields.mark("authorization");
        if (has_bearer) {
            fail(mark, "authorization is not compatible with bearer_token & bearer_token_file");
        }
        if (!out.authorization->credentials.empty() &&
            !out.authorization->credentials_file.empty()) {
            fail(mark,
                 "at most one of authorization credentials & credentials_file must be "
                 "configured");
        }
        std::string& type = out.authorization->type;
        type.erase(0, type.find_first_not_of(" \t\r\n"));
        type.erase(type.find_last_not_of(" \t\r\n") + 1);
        if (type.empty()) {
            type = "Bearer";
        }
        if (iequals(type, "basic")) {
            fail(mark, "authorization type cannot be set to \"basic\", use \"basic_auth\" instead");
        }
        if (out.basic_auth || out.oauth2) {
            fail(mark, "at most one of basic_auth, oauth2 & authorization must be configured");
        }
    } else if (has_bearer) {
        Authorization& auth = out.authorization.emplace();
        auth.credentials = Secret{state.bearer_token};
        auth.credentials_file = state.bearer_token_file;
    }
    state = HttpClientState{};
    if (out.oauth2) {
        const YAML::Mark mark = fields.mark("oauth2");
        if (out.basic_auth) {
            fail(mark, "at most one of basic_auth, oauth2 & authorization must be configured");
        }
        if (out.oauth2->client_id.empty()) {
            fail(mark, "oauth2 client_id must be configured");
        }
        if (out.oauth2->token_url.empty()) {
            fail(mark, "oauth2 token_url must be configured");
        }
        if (!out.oauth2->client_secret.empty() && !out.oauth2->client_secret_file.empty()) {
            fail(mark,
                 "at most one of oauth2 client_secret, client_secret_file & client_secret_ref "
                 "must be configured");
        }
    }
    if (!out.proxy_connect_header.empty() && !out.proxy_from_environment && out.proxy_url.empty()) {
        fail(fields.mark("proxy_connect_header"),
             "if proxy_connect_header is configured, proxy_url or proxy_from_environment must "
             "also be configured");
    }
    if (out.proxy_from_environment && !out.proxy_url.empty()) {
        fail(fields.mark("proxy_url"),
             "if proxy_from_environment is configured, proxy_url must not be configured");
    }
    if (out.proxy_from_environment && !out.no_proxy.empty()) {
        fail(fields.mark("no_proxy"),
             "if proxy_from_environment is configured, no_proxy must not be configured");
    }
    if (out.proxy_url.empty() && !out.no_proxy.empty()) {
        fail(fields.mark("no_proxy"),
             "if no_proxy is configured, proxy_url must also be configured");
    }
}

void decode_http(const YAML::Node& node, HttpProbe& out, DecodeContext& ctx) {
    HttpClientState client;
    std::vector<std::pair<std::string, YAML::Mark>> header_marks;
    const Fields fields =
        decode_fields(node, "http", [&](const std::string& key, const YAML::Node& value) {
            if (decode_http_client_field(key, value, out, client)) {
                return true;
            }
            if (key == "valid_status_codes") {
                out.valid_status_codes.clear();
                for_each_item(value, "list of ints", [&](const YAML::Node& item) {
                    out.valid_status_codes.push_back(as_int_in(item, INT32_MIN, INT32_MAX));
                });
            } else if (key == "valid_http_versions") {
                out.valid_http_versions = as_string_list(value);
            } else if (key == "method") {
                out.method = as_string(value);
            } else if (key == "headers") {
                out.headers.clear();
                decode_fields(value, "headers",
                              [&](const std::string& name, const YAML::Node& header_value) {
                                  out.headers.emplace_back(name, as_string(header_value));
                                  header_marks.emplace_back(name, header_value.Mark());
                                  return true;
                              });
            } else if (key == "body") {
                out.body = as_string(value);
            } else if (key == "body_file") {
                out.body_file = as_string(value);
            } else if (key == "body_size_limit") {
                // Upstream treats a negative limit as none.
                out.body_size_limit = std::max<std::int64_t>(as_size(value), 0);
            } else if (key == "compression") {
                out.compression = as_string(value);
            } else if (key == "no_follow_redirects") {
                // Deprecated; upstream still honours it over follow_redirects.
                out.follow_redirects = !as_bool(value);
                out.follow_redirects_set_by_deprecated_key = true;
            } else if (key == "fail_if_ssl") {
                out.fail_if_ssl = as_bool(value);
            } else if (key == "fail_if_not_ssl") {
                out.fail_if_not_ssl = as_bool(value);
            } else if (key == "fail_if_body_matches_regexp") {
                out.fail_if_body_matches_regexp = as_regex_list(value);
            } else if (key == "fail_if_body_not_matches_regexp") {
                out.fail_if_body_not_matches_regexp = as_regex_list(value);
            } else if (key == "fail_if_body_json_matches_cel") {
                out.fail_if_body_json_matches_cel = as_cel(value);
            } else if (key == "fail_if_body_json_not_matches_cel") {
                out.fail_if_body_json_not_matches_cel = as_cel(value);
            } else if (key == "fail_if_header_matches") {
                out.fail_if_header_matches = decode_header_matchers(value);
            } else if (key == "fail_if_header_not_matches") {
                out.fail_if_header_not_matches = decode_header_matchers(value);
            } else if (key == "skip_resolve_phase_with_proxy") {
                out.skip_resolve_phase_with_proxy = as_bool(value);
            } else if (key == "enable_http3") {
                out.enable_http3 = as_bool(value);
            } else if (key == "http2_prior_knowledge") {
                out.http2_prior_knowledge = as_bool(value);
            } else if (key == "preferred_ip_protocol") {
                out.preferred_ip_protocol = as_string(value);
            } else if (key == "ip_protocol_fallback") {
                out.ip_protocol_fallback = as_bool(value);
            } else {
                return false;
            }
            return true;
        });
    if (is_null(node)) {
        return;
    }
    if (fields.has("no_follow_redirects")) {
        ctx.warnings.emplace_back(fields.mark("no_follow_redirects"),
                                  "no_follow_redirects is deprecated and will be removed in the "
                                  "next release. It is replaced by follow_redirects.");
    }
    validate_http_client(out, client, fields);
    if (!out.body.empty() && !out.body_file.empty()) {
        fail(fields.mark("body_file"), "setting body and body_file both are not allowed");
    }
    for (std::size_t i = 0; i < out.headers.size(); ++i) {
        const auto& [name, value] = out.headers[i];
        if (iequals(name, "Accept-Encoding") &&
            !is_compression_acceptable(out.compression, value)) {
            fail(header_marks[i].second, "invalid configuration \"" + name + ": " + value +
                                             "\", \"compression: " + out.compression + "\"");
        }
    }
    const auto lists = [&](std::string_view version) {
        return std::find(out.valid_http_versions.begin(), out.valid_http_versions.end(), version) !=
               out.valid_http_versions.end();
    };
    if (out.enable_http3) {
        if (lists("HTTP/1.1") || lists("HTTP/2.0")) {
            fail(fields.mark("valid_http_versions"),
                 "HTTP/3 and HTTP/2.0/1.1 cannot be used together - only HTTP/3.0 is allowed "
                 "when enable_http3 is true");
        }
        if (out.enable_http2) {
            fail(fields.mark(fields.has("enable_http2") ? "enable_http2" : "enable_http3"),
                 "when enable_http3 is true, enable_http2 must be set to false");
        }
    } else if (lists("HTTP/3.0")) {
        fail(fields.mark("valid_http_versions"),
             "HTTP/3 cannot be used as a valid HTTP version when enable_http3 is false");
    }
    if (out.http2_prior_knowledge && !out.enable_http2) {
        fail(fields.mark("http2_prior_knowledge"),
             "http2_prior_knowledge needs enable_http2 (it is HTTP/2 on plain http:// targets)");
    }
}

}  // namespace sonde::config::detail
