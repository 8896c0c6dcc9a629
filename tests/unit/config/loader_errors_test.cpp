// Bad YAML -> the exact message, position included (STYLE: table-driven, A1).

#include <catch2/catch.hpp>

#include "config/loader.hpp"
#include "tests/support/config_fixtures.hpp"

TEST_CASE("bad config text gives the exact message and position", "[unit][config]") {
    const auto [text, expected] = GENERATE(table<std::string, std::string>({
        // Unknown key at module level.
        {"modules:\n  m:\n    prober: http\n    tiemout: 5s\n",
         "t.yml:4:5: unknown field \"tiemout\" in module: field tiemout not found"},
        // Unknown key deep inside tls_config.
        {"modules:\n  m:\n    prober: http\n    http:\n      tls_config:\n"
         "        insecure_skip_verify: true\n        ca_flie: x\n",
         "t.yml:7:9: unknown field \"ca_flie\" in tls_config: field ca_flie not found"},
        // Unknown key inside a query_response entry.
        {"modules:\n  m:\n    prober: tcp\n    tcp:\n      query_response:\n"
         "      - expect: ok\n        sned: x\n",
         "t.yml:7:9: unknown field \"sned\" in query_response: field sned not found"},
        // Unknown top-level section.
        {"modules: {}\ntarget: []\n",
         "t.yml:2:1: unknown field \"target\" in config: field target not found"},
        // Wrong types.
        {"modules:\n  m:\n    prober: http\n    http:\n      valid_status_codes: [200, 2xx]\n",
         "t.yml:5:33: cannot unmarshal \"2xx\" into int"},
        {"modules:\n  m:\n    prober: tcp\n    tcp:\n      tls: maybe\n",
         "t.yml:5:12: cannot unmarshal \"maybe\" into bool"},
        {"modules:\n  m:\n    prober: icmp\n    icmp:\n      ttl: \"5\"\n",
         "t.yml:5:12: cannot unmarshal \"5\" into int"},
        {"modules:\n  m:\n    prober: http\n    http: [1]\n",
         "t.yml:4:11: cannot unmarshal a sequence into http (expected a mapping)"},
        {"modules:\n  m:\n    prober: http\n    http:\n      method: [GET]\n",
         "t.yml:5:15: cannot unmarshal a sequence into string"},
        // Bad durations.
        {"modules:\n  m:\n    prober: http\n    timeout: 1d\n",
         "t.yml:4:14: time: unknown unit \"d\" in duration \"1d\""},
        {"modules:\n  m:\n    prober: http\n    timeout: 5\n",
         "t.yml:4:14: cannot unmarshal \"5\" into duration: a duration needs a unit, e.g. 5s"},
        // Bad sizes.
        {"modules:\n  m:\n    prober: http\n    http:\n      body_size_limit: 1kB\n",
         "t.yml:5:24: units: unknown unit kB in 1kB"},
        {"modules:\n  m:\n    prober: http\n    http:\n      body_size_limit: 1024\n",
         "t.yml:5:24: units: unknown unit  in 1024"},
        // Bad regex.
        {"modules:\n  m:\n    prober: http\n    http:\n      fail_if_body_matches_regexp:\n"
         "      - 'a(b'\n",
         "t.yml:6:9: \"Could not compile regular expression\" regexp=\"a(b\""},
        // YAML syntax error.
        {"modules:\n  m: [1,\n", "t.yml:3:1: end of sequence flow not found"},
        {"modules:\n  m:\n    prober: http\n   timeout: 5s\n", "t.yml:4:4: end of map not found"},
        // Duplicate keys: a module, and a key inside a block.
        {"modules:\n  m:\n    prober: http\n  m:\n    prober: tcp\n",
         "t.yml:4:3: mapping key \"m\" already defined at line 2"},
        {"modules:\n  m:\n    prober: http\n    prober: tcp\n",
         "t.yml:4:5: mapping key \"prober\" already defined at line 3"},
        // A module needs a prober.
        {"modules:\n  m:\n    timeout: 5s\n", "t.yml:3:5: prober '' is not valid"},
        // Rules with their upstream wording.
        {"modules:\n  m:\n    prober: http\n    http:\n      tls_config:\n"
         "        min_version: TLS9\n",
         "t.yml:6:22: unknown TLS version: TLS9"},
        {"modules:\n  m:\n    prober: http\n    http:\n      tls_config:\n"
         "        ca: x\n        ca_file: y\n",
         "t.yml:7:9: at most one of ca, ca_file & ca_ref must be configured"},
        {"modules:\n  m:\n    prober: http\n    http:\n      tls_config:\n"
         "        cert_file: x\n",
         "t.yml:6:9: exactly one of key or key_file must be configured when a client "
         "certificate is configured"},
        {"modules:\n  m:\n    prober: http\n    http:\n      authorization:\n"
         "        type: Basic\n",
         "t.yml:5:7: authorization type cannot be set to \"basic\", use \"basic_auth\" instead"},
        {"modules:\n  m:\n    prober: http\n    http:\n      basic_auth: {username: u}\n"
         "      oauth2: {client_id: c, token_url: t}\n",
         "t.yml:6:7: at most one of basic_auth, oauth2 & authorization must be configured"},
        {"modules:\n  m:\n    prober: http\n    http:\n      no_proxy: localhost\n",
         "t.yml:5:7: if no_proxy is configured, proxy_url must also be configured"},
        {"modules:\n  m:\n    prober: http\n    http:\n      http_headers:\n"
         "        user-agent: {values: [x]}\n",
         "t.yml:6:21: setting header \"User-Agent\" is not allowed"},
        {"modules:\n  m:\n    prober: http\n    http:\n      valid_http_versions: [HTTP/3.0]\n",
         "t.yml:5:7: HTTP/3 cannot be used as a valid HTTP version when enable_http3 is false"},
        {"modules:\n  m:\n    prober: http\n    http:\n      fail_if_header_matches:\n"
         "      - regexp: x\n",
         "t.yml:6:9: header name must be set for HTTP header matchers"},
        {"modules:\n  m:\n    prober: tcp\n    tcp:\n      query_response:\n"
         "      - expect: x\n        expect_bytes: y\n",
         "t.yml:7:9: expect and expect_bytes are mutually exclusive"},
        // sonde's h2c extension needs HTTP/2 on.
        {"modules:\n  m:\n    prober: http\n    http:\n      enable_http2: false\n"
         "      http2_prior_knowledge: true\n",
         "t.yml:6:7: http2_prior_knowledge needs enable_http2 (it is HTTP/2 on plain http:// "
         "targets)"},
    }));
    INFO(text);
    CHECK(sonde::test::config_error_of(text) == expected);
}

TEST_CASE("empty files and null modules are valid and empty", "[unit][config]") {
    const std::string text = GENERATE("", "modules:\n", "modules: {}\n", "# nothing\n");
    auto loaded = sonde::config::load_config_text(text, "t.yml");
    REQUIRE(loaded.has_value());
    CHECK(loaded->config->modules.empty());
    CHECK(loaded->config->source == "t.yml");
}

TEST_CASE("deprecated no_follow_redirects is honoured with a warning", "[unit][config]") {
    auto loaded = sonde::config::load_config_text(
        "modules:\n  m:\n    prober: http\n    http:\n      no_follow_redirects: true\n", "t.yml");
    REQUIRE(loaded.has_value());
    const auto& http = loaded->config->modules.at("m").http;
    CHECK_FALSE(http.follow_redirects);
    CHECK(http.follow_redirects_set_by_deprecated_key);
    REQUIRE(loaded->warnings.size() == 1);
    CHECK(loaded->warnings[0].rfind("t.yml:5:7: no_follow_redirects is deprecated", 0) == 0);
}

TEST_CASE("bearer_token is folded into authorization", "[unit][config]") {
    auto loaded = sonde::config::load_config_text(
        "modules:\n  m:\n    prober: http\n    http:\n      bearer_token: tok\n", "t.yml");
    REQUIRE(loaded.has_value());
    const auto& auth = loaded->config->modules.at("m").http.authorization;
    REQUIRE(auth.has_value());
    CHECK(auth->type == "Bearer");
    CHECK(auth->credentials.value == "tok");
}

TEST_CASE("values the exporter accepts", "[unit][config]") {
    const std::string text = GENERATE(
        // CEL is not compiled (sonde has no CEL engine); any string is accepted.
        std::string("modules:\n  m:\n    prober: http\n    http:\n"
                    "      fail_if_body_json_matches_cel: \"body.foo == 'bar'\"\n"
                    "      fail_if_body_json_not_matches_cel: \"\"\n"),
        // preferred_ip_protocol is not validated; DNS validator regexes are probe-time.
        std::string("modules:\n  m:\n    prober: dns\n    dns:\n      query_name: x\n"
                    "      preferred_ip_protocol: ipx\n      query_type: HTTPS\n"
                    "      validate_answer_rrs:\n        fail_if_matches_regexp: ['[']\n"),
        // A prober's block may be absent even where it has required keys.
        std::string("modules:\n  m:\n    prober: dns\n"),
        // The websocket headers map and http_config.
        std::string("modules:\n  m:\n    prober: websocket\n    websocket:\n"
                    "      http_config:\n        basic_auth: {username: u, password: p}\n"
                    "      headers:\n        X-A: {values: [a], secrets: [s]}\n"
                    "      query_response:\n      - send: hi\n      - expect: ho\n"),
        // !!binary expect_bytes, and a TLS version.
        std::string("modules:\n  m:\n    prober: tcp\n    tcp:\n      tls_config:\n"
                    "        min_version: TLS13\n      query_response:\n"
                    "      - expect_bytes: !!binary AAE=\n"));
    INFO(text);
    auto loaded = sonde::config::load_config_text(text, "t.yml");
    INFO((loaded ? std::string() : loaded.error()));
    CHECK(loaded.has_value());
}

TEST_CASE("the plain-string websocket headers of example.yml are rejected", "[unit][config]") {
    const std::string message = sonde::test::config_error_of(
        "modules:\n  w:\n    prober: websocket\n    websocket:\n      headers:\n"
        "        X-Some-Header: \"my_header\"\n");
    CHECK(message == "t.yml:6:24: cannot unmarshal a scalar into header (expected a mapping)");
}

TEST_CASE("a !!binary value with a byte outside base64 is an error, not a read out of bounds",
          "[unit][config]") {
    // Found by the config_loader fuzzer (tests/fuzz/corpus/config_loader/crash-f0a7a4ab...):
    // yaml-cpp's DecodeBase64 read before its table for bytes above 0x7f.
    const std::string message = sonde::test::config_error_of(
        "modules:\n  m:\n    prober: tcp\n    tcp:\n      query_response:\n"
        "      - send: !!binary AAAM\x80"
        "ACATSFi8=\n");
    CHECK(message == "t.yml:6:15: cannot decode !!binary value: invalid base64");
}
