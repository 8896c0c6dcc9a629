// sonde's `targets:` section: decoded strictly, with positions in every error.

#include <catch2/catch.hpp>

#include "config/loader.hpp"
#include "tests/support/config_fixtures.hpp"

TEST_CASE("targets: groups decode with their module, interval and labels", "[unit][config]") {
    // The module is defined after the targets that use it: references are checked at the end.
    const std::string text =
        "targets:\n"
        "  - module: tcp\n"
        "    targets: [127.0.0.1:80, 'localhost:22']\n"
        "    interval: 15s\n"
        "    labels: {team: web, tier: '1'}\n"
        "  - module: tcp\n"
        "    targets: [127.0.0.1:443]\n" +
        std::string(sonde::test::kTcpModuleOnly);
    auto loaded = sonde::config::load_config_text(text, "t.yml");
    REQUIRE(loaded.has_value());
    const auto& groups = loaded->config->targets;
    REQUIRE(groups.size() == 2);
    CHECK(groups[0].module == "tcp");
    CHECK(groups[0].targets == std::vector<std::string>{"127.0.0.1:80", "localhost:22"});
    CHECK(groups[0].interval == std::chrono::seconds(15));
    CHECK(groups[0].labels ==
          std::vector<std::pair<std::string, std::string>>{{"team", "web"}, {"tier", "1"}});
    CHECK(groups[0].line == 2);
    CHECK(groups[1].interval == std::chrono::seconds(30));
    CHECK(groups[1].labels.empty());

    // /config shows them, and what it shows loads again to the same targets.
    const std::string rendered = sonde::config::render_config_yaml(*loaded->config);
    auto again = sonde::config::load_config_text(rendered, "rendered");
    REQUIRE(again.has_value());
    CHECK(again->config->targets.size() == 2);
    CHECK(again->config->targets[0].labels == groups[0].labels);
    CHECK(again->config->targets[0].interval == groups[0].interval);
}

TEST_CASE("bad targets: entries name file, line and column", "[unit][config]") {
    const auto [text, expected] = GENERATE(table<std::string, std::string>({
        {"targets:\n  - module: nope\n    targets: [a:1]\n",
         "t.yml:2:13: targets: unknown module \"nope\""},
        {"targets:\n  - module: tcp\n    targetz: [a:1]\n",
         "t.yml:3:5: unknown field \"targetz\" in targets: field targetz not found"},
        {"targets:\n  - targets: [a:1]\n", "t.yml:2:5: a targets entry needs a module"},
        {"targets:\n  - module: tcp\n    targets: []\n",
         "t.yml:3:5: a targets entry needs at least one target"},
        {"targets:\n  - module: tcp\n    targets: [a:1, '']\n",
         "t.yml:3:20: a target must not be empty"},
        {"targets:\n  - module: tcp\n    targets: [a:1]\n    interval: 500ms\n",
         "t.yml:4:15: interval must be at least 1s"},
        {"targets:\n  - module: tcp\n    targets: [a:1]\n    labels: {1abc: x}\n",
         "t.yml:4:14: \"1abc\" is not a valid label name"},
        {"targets:\n  - module: tcp\n    targets: [a:1]\n    labels: {__x: x}\n",
         "t.yml:4:14: \"__x\" is not a valid label name"},
        {"targets:\n  - module: tcp\n    targets: [a:1]\n    labels: {target: x}\n",
         "t.yml:4:14: label \"target\" is set by sonde itself and cannot be configured"},
        {"targets: {module: tcp}\n",
         "t.yml:1:10: cannot unmarshal a mapping into targets (expected a sequence)"},
    }));
    INFO(text);
    CHECK(sonde::test::config_error_of(text + sonde::test::kTcpModuleOnly) == expected);
}

TEST_CASE("/config shows discovery: kubernetes: and what it shows loads again", "[unit][config]") {
    const std::string text = std::string(sonde::test::kTcpModuleOnly) +
                             "discovery:\n  kubernetes:\n    kubeconfig: /k/config\n"
                             "    namespaces: [a, b]\n    label_selector: tier=web\n"
                             "    roles: [ingress]\n    probe_all: true\n    interval: 1m\n"
                             "    ingress_module: tcp\n";
    auto loaded = sonde::config::load_config_text(text, "t.yml");
    REQUIRE(loaded.has_value());
    const std::string rendered = sonde::config::render_config_yaml(*loaded->config);
    INFO(rendered);
    auto again = sonde::config::load_config_text(rendered, "rendered");
    REQUIRE(again.has_value());
    REQUIRE(again->config->discovery.kubernetes.has_value());
    CHECK(*again->config->discovery.kubernetes == *loaded->config->discovery.kubernetes);
    CHECK_FALSE(again->config->discovery.kubernetes->services);
    CHECK(again->config->discovery.kubernetes->interval == std::chrono::minutes(1));
}
