// render_config_yaml / render_module_yaml: defaults shown, secrets hidden, and the output loads
// again into the same modules.

#include <string>

#include <catch2/catch.hpp>

#include "config/loader.hpp"

namespace {

const std::string kDir = std::string(SONDE_TESTDATA_DIR) + "/conformance/";

std::shared_ptr<const sonde::config::Config> load(const std::string& path) {
    auto loaded = sonde::config::load_config_file(path);
    INFO((loaded ? std::string() : loaded.error()));
    REQUIRE(loaded.has_value());
    return loaded->config;
}

}  // namespace

TEST_CASE("rendered configs load again with the same modules", "[unit][config]") {
    const std::string file = GENERATE("blackbox-good.yml", "upstream_examples/blackbox.yml");
    INFO(file);
    const auto first = load(kDir + file);
    const std::string rendered = sonde::config::render_config_yaml(*first);
    INFO(rendered);

    auto again = sonde::config::load_config_text(rendered, "rendered.yml");
    INFO((again ? std::string() : again.error()));
    REQUIRE(again.has_value());
    const auto& second = *again->config;
    REQUIRE(second.modules.size() == first->modules.size());
    for (const auto& [name, module] : first->modules) {
        INFO(name);
        REQUIRE(second.modules.count(name) == 1);
        // Secrets come back as "<secret>", which renders the same: equal text is equal modules.
        CHECK(sonde::config::render_module_yaml(second.modules.at(name)) ==
              sonde::config::render_module_yaml(module));
    }
    CHECK(sonde::config::render_config_yaml(second) == rendered);
}

TEST_CASE("a rendered module shows its defaults", "[unit][config]") {
    const auto config = load(kDir + "blackbox-good.yml");
    const std::string http = sonde::config::render_module_yaml(config->modules.at("http_2xx"));
    CHECK(http.rfind("prober: http\ntimeout: 5s\nhttp:\n", 0) == 0);
    CHECK(http.find("method: \"GET\"") != std::string::npos);
    CHECK(http.find("follow_redirects: true") != std::string::npos);
    CHECK(http.find("enable_http2: true") != std::string::npos);
    CHECK(http.find("body_size_limit: 0B") != std::string::npos);
    // Unused blocks at their defaults are left out.
    CHECK(http.find("dns:") == std::string::npos);

    const std::string post = sonde::config::render_module_yaml(config->modules.at("http_post_2xx"));
    CHECK(post.find("password: <secret>") != std::string::npos);
    CHECK(post.find("body_size_limit: 1MiB") != std::string::npos);

    const std::string icmp = sonde::config::render_module_yaml(config->modules.at("icmp_test"));
    CHECK(icmp.find("ttl: 64") != std::string::npos);
}

TEST_CASE("secrets anywhere are rendered as <secret>", "[unit][config]") {
    auto loaded = sonde::config::load_config_text(
        "modules:\n  m:\n    prober: http\n    http:\n"
        "      authorization: {credentials: s3cr1t}\n"
        "      tls_config: {cert: c, key: k3y}\n"
        "      proxy_url: http://p\n"
        "      proxy_connect_header: {X-P: [pr0xy]}\n"
        "      http_headers: {X-H: {secrets: [h3ader]}}\n",
        "t.yml");
    REQUIRE(loaded.has_value());
    const std::string rendered = sonde::config::render_config_yaml(*loaded->config);
    for (const char* secret : {"s3cr1t", "k3y", "pr0xy", "h3ader"}) {
        INFO(secret);
        CHECK(rendered.find(secret) == std::string::npos);
    }
}
