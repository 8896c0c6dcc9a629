#include "modules/http/host_header.hpp"

#include <catch2/catch.hpp>

#include "tests/support/http_url_fixtures.hpp"

namespace sonde::modules::http {
namespace {

TEST_CASE("hostname parameter becomes the Host header", "[unit][http]") {
    auto headers = apply_hostname_param({{"Accept", "text/plain"}}, "example.com");
    REQUIRE(headers.has_value());
    REQUIRE(headers->size() == 2);
    CHECK(*configured_host(*headers) == "example.com");
    CHECK((*headers)[0] == std::pair<std::string, std::string>{"Accept", "text/plain"});
}

TEST_CASE("hostname parameter equal to the configured Host is accepted", "[unit][http]") {
    auto headers = apply_hostname_param({{"host", "example.com"}}, "example.com");
    REQUIRE(headers.has_value());
    REQUIRE(headers->size() == 1);
    CHECK(*configured_host(*headers) == "example.com");
}

TEST_CASE("hostname parameter conflicting with a configured Host (any case)", "[unit][http]") {
    const auto name = GENERATE(std::string("Host"), std::string("host"), std::string("HOST"));
    auto headers = apply_hostname_param({{name, "configured.example"}}, "param.example");
    REQUIRE_FALSE(headers.has_value());
    CHECK(headers.error() ==
          "host header defined both in module configuration (configured.example) and with "
          "URL-parameter 'hostname' (param.example)");
}

TEST_CASE("no hostname parameter leaves headers alone", "[unit][http]") {
    auto headers = apply_hostname_param({{"Host", "a"}}, "");
    REQUIRE(headers.has_value());
    CHECK(*configured_host(*headers) == "a");
}

TEST_CASE("Host header and server name choice", "[unit][http]") {
    struct Case {
        std::string target;
        HeaderList headers;
        std::string server_name_config;
        std::string host_header;
        std::string server_name;
    };
    const auto c = GENERATE(values<Case>({
        {"https://example.com", {}, "", "example.com", "example.com"},
        {"https://example.com:8443/x", {}, "", "example.com:8443", "example.com"},
        {"https://[::1]:8443", {}, "", "[::1]:8443", "::1"},
        {"https://127.0.0.1", {{"Host", "vhost.example"}}, "", "vhost.example", "vhost.example"},
        {"https://127.0.0.1",
         {{"hOsT", "vhost.example:8443"}},
         "",
         "vhost.example:8443",
         "vhost.example"},
        {"https://127.0.0.1",
         {{"Host", "vhost.example"}},
         "sni.example",
         "vhost.example",
         "sni.example"},
        {"https://example.com", {}, "sni.example", "example.com", "sni.example"},
    }));
    CAPTURE(c.target);
    config::TlsConfig tls;
    tls.server_name = c.server_name_config;
    const HostNames names = choose_host_names(tls, c.headers, test::target_url_of(c.target));
    CHECK(names.host_header == c.host_header);
    CHECK(names.server_name == c.server_name);
}

TEST_CASE("hostname parameter sets Host and SNI", "[unit][http]") {
    auto headers = apply_hostname_param({}, "vhost.example");
    REQUIRE(headers.has_value());
    const HostNames names =
        choose_host_names({}, *headers, test::target_url_of("https://10.1.2.3"));
    CHECK(names.host_header == "vhost.example");
    CHECK(names.server_name == "vhost.example");
}

TEST_CASE("strip_port", "[unit][http]") {
    CHECK(strip_port("a.example:80") == "a.example");
    CHECK(strip_port("a.example") == "a.example");
    CHECK(strip_port("[::1]:80") == "::1");
    CHECK(strip_port("[::1]") == "::1");
    CHECK(strip_port("::1") == "::1");
}

}  // namespace
}  // namespace sonde::modules::http
