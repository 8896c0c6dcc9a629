// The stream probers that share query_response: tcp, unix and websocket.

#include "config/decoders.hpp"

namespace sonde::config::detail {

std::vector<QueryResponse> decode_query_responses(const YAML::Node& node) {
    std::vector<QueryResponse> out;
    for_each_item(node, "list of query_response", [&](const YAML::Node& item) {
        QueryResponse step;
        const Fields fields = decode_fields(
            item, "query_response", [&](const std::string& key, const YAML::Node& value) {
                if (key == "expect") {
                    // An empty expect is unset (upstream's nil Regexp), not "match anything".
                    if (!as_string(value).empty()) {
                        step.expect = as_regex(value);
                    }
                } else if (key == "expect_bytes") {
                    // May be !!binary; as_string decodes it to the raw bytes.
                    std::string bytes = as_string(value);
                    if (!bytes.empty()) {
                        step.expect_bytes = std::move(bytes);
                    }
                } else if (key == "labels") {
                    for_each_item(value, "list of labels", [&](const YAML::Node& label) {
                        ExpectLabel& entry = step.labels.emplace_back();
                        decode_fields(label, "label",
                                      [&](const std::string& name, const YAML::Node& text) {
                                          if (name == "name") {
                                              entry.name = as_string(text);
                                          } else if (name == "value") {
                                              entry.value = as_string(text);
                                          } else {
                                              return false;
                                          }
                                          return true;
                                      });
                    });
                } else if (key == "send") {
                    step.send = as_string(value);
                } else if (key == "starttls") {
                    step.starttls = as_bool(value);
                } else {
                    return false;
                }
                return true;
            });
        if (step.expect && step.expect_bytes) {
            fail(fields.mark("expect_bytes"), "expect and expect_bytes are mutually exclusive");
        }
        out.push_back(std::move(step));
    });
    return out;
}

void decode_tcp(const YAML::Node& node, TcpProbe& out) {
    decode_fields(node, "tcp", [&](const std::string& key, const YAML::Node& value) {
        if (key == "preferred_ip_protocol") {
            out.preferred_ip_protocol = as_string(value);
        } else if (key == "ip_protocol_fallback") {
            out.ip_protocol_fallback = as_bool(value);
        } else if (key == "source_ip_address") {
            out.source_ip_address = as_string(value);
        } else if (key == "query_response") {
            out.query_response = decode_query_responses(value);
        } else if (key == "tls") {
            out.tls = as_bool(value);
        } else if (key == "tls_config") {
            decode_tls_config(value, out.tls_config);
        } else {
            return false;
        }
        return true;
    });
}

void decode_unix(const YAML::Node& node, UnixProbe& out) {
    decode_fields(node, "unix", [&](const std::string& key, const YAML::Node& value) {
        if (key == "query_response") {
            out.query_response = decode_query_responses(value);
        } else if (key == "tls") {
            out.tls = as_bool(value);
        } else if (key == "tls_config") {
            decode_tls_config(value, out.tls_config);
        } else {
            return false;
        }
        return true;
    });
}

void decode_websocket(const YAML::Node& node, WebsocketProbe& out) {
    decode_fields(node, "websocket", [&](const std::string& key, const YAML::Node& value) {
        if (key == "http_config") {
            // The whole HTTPClientConfig is read and validated as upstream does; the websocket
            // prober only uses its TLS and authentication parts.
            HttpProbe client;
            HttpClientState state;
            const Fields fields = decode_fields(
                value, "http_config", [&](const std::string& name, const YAML::Node& field) {
                    return decode_http_client_field(name, field, client, state);
                });
            if (!is_null(value)) {
                validate_http_client(client, state, fields);
            }
            out.tls_config = client.tls_config;
            out.basic_auth = client.basic_auth;
            out.authorization = client.authorization;
        } else if (key == "headers") {
            out.headers = decode_header_values(value, false);
        } else if (key == "query_response") {
            out.query_response = decode_query_responses(value);
        } else if (key == "preferred_ip_protocol") {
            out.preferred_ip_protocol = as_string(value);
        } else if (key == "ip_protocol_fallback") {
            out.ip_protocol_fallback = as_bool(value);
        } else {
            return false;
        }
        return true;
    });
}

}  // namespace sonde::config::detail
