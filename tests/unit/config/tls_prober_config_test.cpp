// sonde's `prober: tls` block (tests/testdata/tls_prober): the good file loads with its values
// and renders back to YAML that loads the same; every bad file is rejected with the exact
// message and position, like the exporter's conformance files.

#include <string>
#include <utility>

#include <catch2/catch.hpp>

#include "config/loader.hpp"

namespace {

const std::string kTlsProberDir = std::string(SONDE_TESTDATA_DIR) + "/tls_prober/";

}  // namespace

TEST_CASE("the tls prober's good file loads with every field", "[unit][config][tls-prober]") {
    auto loaded = sonde::config::load_config_file(kTlsProberDir + "good.yml");
    REQUIRE(loaded.has_value());
    const auto& modules = loaded->config->modules;
    using sonde::config::ProberKind;
    using sonde::config::StartTls;

    const auto& full = modules.at("tls_full");
    CHECK(full.prober == ProberKind::Tls);
    CHECK(full.tls.preferred_ip_protocol == "ip4");
    CHECK_FALSE(full.tls.ip_protocol_fallback);
    CHECK(full.tls.source_ip_address == "127.0.0.1");
    CHECK(full.tls.fail_if_expires_within == std::chrono::hours(336));
    CHECK(full.tls.starttls == StartTls::Smtp);
    CHECK(full.tls.tls_config.server_name == "mail.example.org");
    CHECK(full.tls.tls_config.min_version == sonde::config::TlsVersion::Tls13);

    const auto& defaults = modules.at("tls_defaults").tls;
    CHECK(defaults.preferred_ip_protocol == "ip6");
    CHECK(defaults.ip_protocol_fallback);
    CHECK(defaults.fail_if_expires_within.count() == 0);
    CHECK(defaults.starttls == StartTls::None);
    CHECK_FALSE(defaults.tls_config.insecure_skip_verify);

    CHECK(modules.at("tls_imap").tls.starttls == StartTls::Imap);
    CHECK(modules.at("tls_imap").tls.tls_config.insecure_skip_verify);
    CHECK(modules.at("tls_pop3").tls.starttls == StartTls::Pop3);
    CHECK(modules.at("tls_ftp").tls.starttls == StartTls::Ftp);
    CHECK(modules.at("tls_postgres").tls.starttls == StartTls::Postgres);
    CHECK(modules.at("tls_postgres").tls.fail_if_expires_within == std::chrono::minutes(90));

    // /config shows the block, and what it shows loads again to the same values.
    const std::string rendered = sonde::config::render_config_yaml(*loaded->config);
    INFO(rendered);
    CHECK(rendered.find("prober: tls") != std::string::npos);
    CHECK(rendered.find("fail_if_expires_within: 336h0m0s") != std::string::npos);
    CHECK(rendered.find("starttls: \"smtp\"") != std::string::npos);
    auto again = sonde::config::load_config_text(rendered, "rendered");
    REQUIRE(again.has_value());
    const auto& full_again = again->config->modules.at("tls_full").tls;
    CHECK(full_again.fail_if_expires_within == full.tls.fail_if_expires_within);
    CHECK(full_again.starttls == StartTls::Smtp);
    CHECK(full_again.source_ip_address == "127.0.0.1");
    CHECK(again->config->modules.at("tls_postgres").tls.starttls == StartTls::Postgres);
    CHECK(again->config->modules.at("tls_defaults").prober == ProberKind::Tls);
}

TEST_CASE("the tls prober's bad files fail with file, line and column",
          "[unit][config][tls-prober]") {
    const auto [file, expected] = GENERATE(table<std::string, std::string>({
        {"bad-starttls.yml",
         "5:17: starttls 'lmtp' is not valid (one of smtp, imap, pop3, ftp, postgres)"},
        {"bad-expires-negative.yml", "5:31: fail_if_expires_within cannot be negative"},
        {"bad-expires-unit.yml", "5:31: time: unknown unit \"d\" in duration \"30d\""},
        {"bad-unknown-field.yml",
         "6:7: unknown field \"query_response\" in tls: field query_response not found"},
        {"bad-tls-config.yml", "6:22: unknown TLS version: TLS14"},
        // A prober that does not exist keeps the exporter's message.
        {"bad-prober.yml", "3:13: prober 'tlss' is not valid"},
    }));
    const std::string path = kTlsProberDir + file;
    auto loaded = sonde::config::load_config_file(path);
    REQUIRE_FALSE(loaded.has_value());
    CHECK(loaded.error() == path + ":" + expected);
}
