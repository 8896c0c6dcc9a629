#include "modules/http/proxy_select.hpp"

#include <map>
#include <string>

#include <catch2/catch.hpp>

namespace sonde::modules::http {
namespace {

EnvLookup fake_env(std::map<std::string, std::string> vars) {
    return [vars = std::move(vars)](const char* name) -> std::optional<std::string> {
        const auto it = vars.find(name);
        if (it == vars.end()) {
            return std::nullopt;
        }
        return it->second;
    };
}

TEST_CASE("no_proxy matching as Go's httpproxy", "[unit][http]") {
    struct Row {
        const char* no_proxy;
        const char* host;
        const char* port;
        bool bypass;
    };
    // Rows after Go's net/http/httpproxy tests (useProxy), by behaviour.
    const Row row = GENERATE(
        // Loopback and localhost never use the proxy, whatever the list.
        Row{"", "localhost", "80", true}, Row{"", "127.0.0.1", "80", true},
        Row{"", "127.1.2.3", "8080", true}, Row{"", "::1", "443", true},
        Row{"", "::ffff:127.0.0.1", "80", true}, Row{"", "localhost.example", "80", false},
        Row{"", "example.com", "80", false},
        // "*" matches everything.
        Row{"*", "example.com", "80", true}, Row{"a.b, *", "10.1.2.3", "443", true},
        // A domain without a dot matches itself and its subdomains.
        Row{"example.com", "example.com", "80", true},
        Row{"example.com", "www.example.com", "80", true},
        Row{"example.com", "notexample.com", "80", false},
        Row{"example.com", "example.com.evil", "80", false},
        // With a leading dot or "*.": only subdomains.
        Row{".example.com", "example.com", "80", false},
        Row{".example.com", "a.example.com", "80", true},
        Row{"*.example.com", "example.com", "80", false},
        Row{"*.example.com", "a.b.example.com", "80", true},
        // Case and white space do not matter.
        Row{"  Example.COM ,foo", "WWW.example.com", "80", true},
        // Ports.
        Row{"example.com:8080", "example.com", "8080", true},
        Row{"example.com:8080", "example.com", "80", false},
        Row{"10.0.0.1:8080", "10.0.0.1", "8080", true},
        Row{"10.0.0.1:8080", "10.0.0.1", "80", false},
        Row{"[2001:db8::1]:443", "2001:db8::1", "443", true},
        Row{"[2001:db8::1]:443", "2001:db8::1", "80", false},
        // IPs and CIDRs; a CIDR ignores the port.
        Row{"10.0.0.1", "10.0.0.1", "1234", true}, Row{"10.0.0.1", "10.0.0.2", "80", false},
        Row{"2001:db8::1", "2001:db8::1", "80", true}, Row{"10.0.0.0/8", "10.200.3.4", "80", true},
        Row{"10.0.0.0/8", "11.0.0.1", "80", false},
        Row{"192.168.1.0/25", "192.168.1.127", "80", true},
        Row{"192.168.1.0/25", "192.168.1.128", "80", false},
        Row{"2001:db8::/32", "2001:db8:ffff::1", "80", true},
        Row{"2001:db8::/32", "2001:db9::1", "80", false},
        // An IP entry does not match a name, a name entry does not match another name.
        Row{"10.0.0.1", "ten.example", "80", false},
        // Malformed entries are skipped, the rest still apply.
        Row{":80,,example.org", "example.org", "80", true});
    INFO("no_proxy=\"" << row.no_proxy << "\" host=" << row.host << " port=" << row.port);
    CHECK(NoProxy(row.no_proxy).bypasses(row.host, row.port) == row.bypass);
}

TEST_CASE("proxy_url without no_proxy proxies everything, loopback included", "[unit][http]") {
    config::HttpProbe cfg;
    cfg.proxy_url = "http://proxy.example:3128";
    auto selector = ProxySelector::from_config(cfg, fake_env({}));
    REQUIRE(selector);
    // http.ProxyURL has no rules: the exporter's loopback targets go through the proxy.
    const auto proxy = selector->proxy_for("http", "127.0.0.1", "8080");
    REQUIRE(proxy);
    CHECK(proxy->host == "proxy.example:3128");
    CHECK(selector->proxy_for("https", "example.com", ""));
}

TEST_CASE("proxy_url with no_proxy follows httpproxy rules", "[unit][http]") {
    config::HttpProbe cfg;
    cfg.proxy_url = "http://proxy.example:3128";
    cfg.no_proxy = "internal.example,10.0.0.0/8";
    auto selector = ProxySelector::from_config(cfg, fake_env({}));
    REQUIRE(selector);
    CHECK_FALSE(selector->proxy_for("http", "a.internal.example", ""));
    CHECK_FALSE(selector->proxy_for("https", "10.1.1.1", "443"));
    CHECK(selector->proxy_for("https", "outside.example", ""));
    CHECK(selector->proxy_for("http", "11.1.1.1", "80"));
    // Once rules apply, loopback goes direct (httpproxy's useProxy).
    CHECK_FALSE(selector->proxy_for("http", "127.0.0.1", "8080"));
    CHECK_FALSE(selector->proxy_for("http", "localhost", "8080"));
}

TEST_CASE("proxy_url that does not parse is an error", "[unit][http]") {
    config::HttpProbe cfg;
    cfg.proxy_url = "http://[::1";
    CHECK_FALSE(ProxySelector::from_config(cfg, fake_env({})));
}

TEST_CASE("proxy_from_environment as httpproxy.FromEnvironment", "[unit][http]") {
    config::HttpProbe cfg;
    cfg.proxy_from_environment = true;
    SECTION("upper case wins, per scheme, NO_PROXY applies") {
        auto selector =
            ProxySelector::from_config(cfg, fake_env({{"HTTP_PROXY", "http://upper:1"},
                                                      {"http_proxy", "http://lower:2"},
                                                      {"https_proxy", "http://secure:3"},
                                                      {"NO_PROXY", ".corp.example"},
                                                      {"no_proxy", "*"}}));
        REQUIRE(selector);
        auto proxy = selector->proxy_for("http", "example.com", "");
        REQUIRE(proxy);
        CHECK(proxy->host == "upper:1");
        proxy = selector->proxy_for("https", "example.com", "");
        REQUIRE(proxy);
        CHECK(proxy->host == "secure:3");
        CHECK_FALSE(selector->proxy_for("https", "db.corp.example", ""));
        CHECK(selector->proxy_for("https", "corp.example", ""));
    }
    SECTION("an empty upper-case value falls back to the lower-case one") {
        auto selector = ProxySelector::from_config(
            cfg, fake_env({{"HTTP_PROXY", ""}, {"http_proxy", "http://lower:2"}}));
        REQUIRE(selector);
        auto proxy = selector->proxy_for("http", "example.com", "");
        REQUIRE(proxy);
        CHECK(proxy->host == "lower:2");
        CHECK_FALSE(selector->proxy_for("https", "example.com", ""));
    }
    SECTION("a value without a scheme is http://") {
        auto selector = ProxySelector::from_config(cfg, fake_env({{"HTTPS_PROXY", "squid:3128"}}));
        REQUIRE(selector);
        auto proxy = selector->proxy_for("https", "example.com", "");
        REQUIRE(proxy);
        CHECK(proxy->scheme == "http");
        CHECK(proxy->host == "squid:3128");
    }
    SECTION("Go never proxies localhost or loopback from the environment") {
        auto selector = ProxySelector::from_config(cfg, fake_env({{"HTTP_PROXY", "http://p:1"}}));
        REQUIRE(selector);
        CHECK_FALSE(selector->proxy_for("http", "localhost", "8080"));
        CHECK_FALSE(selector->proxy_for("http", "127.0.0.1", "8080"));
        CHECK_FALSE(selector->proxy_for("http", "::1", "8080"));
        CHECK(selector->proxy_for("http", "example.com", "8080"));
    }
    SECTION("nothing set: direct") {
        auto selector = ProxySelector::from_config(cfg, fake_env({}));
        REQUIRE(selector);
        CHECK_FALSE(selector->any());
        CHECK_FALSE(selector->proxy_for("http", "example.com", ""));
    }
}

}  // namespace
}  // namespace sonde::modules::http
