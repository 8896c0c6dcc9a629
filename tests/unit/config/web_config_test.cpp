#include "config/web_config.hpp"

#include <string>
#include <utility>

#include <catch2/catch.hpp>

#include "prober/app/web_auth.hpp"

namespace sonde::config {
namespace {

// bcrypt hashes (cost 4, so the tests stay fast) of "s3cret" and "other".
constexpr const char* kS3cret = "$2b$04$7P0azPvrDI7QDOcdqpfCku.uP9iwlIH7wO1.fgj0xquLOOVmG6xHu";
constexpr const char* kOther = "$2b$04$eWh13VkDs2GtsOET3JUU4OjPRAKlzlq7MdlPvDOBgFVkmQ.ctY4AK";

Result<WebConfig> load(const std::string& text) {
    return load_web_config_text(text, "web.yml", "/etc/sonde");
}

TEST_CASE("a full web config decodes with exporter-toolkit's meaning", "[unit][webconfig]") {
    const std::string text = std::string(R"(tls_server_config:
  cert_file: server.crt
  key_file: /abs/server.key
  client_auth_type: RequireAndVerifyClientCert
  client_ca_file: ca.pem
  min_version: TLS13
  cipher_suites: [TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, TLS_AES_128_GCM_SHA256]
  curve_preferences: [X25519, CurveP256]
  prefer_server_cipher_suites: false
http_server_config:
  http2: false
  headers:
    X-Frame-Options: deny
    Strict-Transport-Security: max-age=31536000
    X-XSS-Protection: ""
basic_auth_users:
  alice: ")") + kS3cret + R"("
  bob: ")" + kOther + "\"\n";
    const auto config = load(text);
    REQUIRE(config);
    CHECK(config->tls_enabled);
    CHECK(config->tls.cert_file == "/etc/sonde/server.crt");
    CHECK(config->tls.key_file == "/abs/server.key");
    CHECK(config->tls.client_ca_file == "/etc/sonde/ca.pem");
    CHECK(config->tls.client_auth == ClientAuthType::RequireAndVerifyClientCert);
    CHECK(config->tls.min_version == TlsVersion::Tls13);
    CHECK(config->tls.max_version == TlsVersion::Tls13);
    CHECK(config->tls.cipher_suites == std::vector<std::string>{"ECDHE-RSA-AES128-GCM-SHA256"});
    CHECK(config->tls.curve_preferences == std::vector<std::string>{"X25519", "P-256"});
    CHECK_FALSE(config->tls.prefer_server_cipher_suites);
    CHECK_FALSE(config->http2);
    // A blank value means unset.
    using Header = std::pair<std::string, std::string>;
    CHECK(config->headers ==
          std::vector<Header>{{"X-Frame-Options", "deny"},
                              {"Strict-Transport-Security", "max-age=31536000"}});
    REQUIRE(config->basic_auth_users.size() == 2);
    CHECK(config->basic_auth_users.at("alice").value == kS3cret);
}

TEST_CASE("an empty web config means plain HTTP without authentication", "[unit][webconfig]") {
    for (const char* text : {"", "---\n", "tls_server_config: {}\nbasic_auth_users:\n"}) {
        const auto config = load(text);
        REQUIRE(config);
        CHECK_FALSE(config->tls_enabled);
        CHECK(config->basic_auth_users.empty());
        CHECK(config->headers.empty());
        CHECK(config->tls.min_version == TlsVersion::Tls12);
        CHECK(config->tls.max_version == TlsVersion::Tls13);
    }
}

TEST_CASE("bad web configs are refused with file, line, column and reason", "[unit][webconfig]") {
    using Row = std::pair<std::string, std::string>;
    const auto row = GENERATE(
        Row{"tls_server_config: {}\nunknown: 1\n",
            "web.yml:2:1: unknown field \"unknown\" in web config: field unknown not found"},
        Row{"tls_server_config:\n  cert_file: a\n  key_file: b\n  ca_file: c\n",
            "web.yml:4:3: unknown field \"ca_file\" in tls_server_config: field ca_file not "
            "found"},
        Row{"tls_server_config:\n  cert_file: a\n  key_file: b\n  client_auth_type: Maybe\n",
            "web.yml:4:21: invalid ClientAuth: Maybe"},
        Row{"tls_server_config:\n  cert_file: a\n  key_file: b\n  min_version: TLS14\n",
            "web.yml:4:16: unknown TLS version: TLS14"},
        Row{"tls_server_config:\n  cert_file: a\n  key_file: b\n  min_version: TLS13\n"
            "  max_version: TLS12\n",
            "web.yml:5:16: min_version is greater than max_version"},
        Row{"tls_server_config:\n  cert_file: a\n  key_file: b\n  cipher_suites: [TLS_NOPE]\n",
            "web.yml:4:19: unknown cipher: TLS_NOPE"},
        Row{"tls_server_config:\n  cert_file: a\n  key_file: b\n  curve_preferences: [P256]\n",
            "web.yml:4:23: unknown curve: P256"},
        Row{"tls_server_config:\n  cert_file: a\n", "web.yml:2:3: missing one of key or key_file"},
        Row{"tls_server_config:\n  key_file: a\n", "web.yml:2:3: missing one of cert or cert_file"},
        Row{"tls_server_config:\n  cert_file: a\n  key_file: b\n  client_ca_file: c\n",
            "web.yml:4:19: client CA's have been configured without a Client Auth Policy"},
        Row{"tls_server_config:\n  cert_file: a\n  key_file: b\n  client_allowed_sans: [x]\n",
            "web.yml:4:24: client_allowed_sans is not supported by sonde yet"},
        Row{"http_server_config:\n  headers:\n    Server: sonde\n",
            "web.yml:3:5: HTTP header \"Server\" can not be configured"},
        Row{"http_server_config:\n  headers:\n    X-Frame-Options: allow\n",
            "web.yml:3:22: invalid value for X-Frame-Options. Expected one of: [\"deny\" "
            "\"sameorigin\"], but got: \"allow\""},
        Row{"http_server_config:\n  http3: true\n",
            "web.yml:2:3: unknown field \"http3\" in http_server_config: field http3 not found"},
        Row{"basic_auth_users:\n  alice: plaintext-password\n",
            "web.yml:2:10: the password of user \"alice\" is not a bcrypt hash ($2a$, $2b$ or "
            "$2y$, cost 04 to 31, 60 characters)"},
        Row{"rate_limit:\n  interval: 1s\n",
            "web.yml:2:3: rate_limit is not supported by sonde yet"},
        Row{"basic_auth_users: [alice]\n",
            "web.yml:1:19: cannot unmarshal a sequence into basic_auth_users (expected a mapping)"},
        Row{"tls_server_config:\n  cert_file: a\n cert_file: b\n",
            "web.yml:3:2: end of map not found"});
    const auto config = load(row.first);
    REQUIRE_FALSE(config);
    CHECK(config.error() == row.second);
}

TEST_CASE("an error about a password hash does not show the hash", "[unit][webconfig]") {
    const auto config = load("basic_auth_users:\n  alice: $2b$04$short\n");
    REQUIRE_FALSE(config);
    CHECK(config.error().find("$2b$04$short") == std::string::npos);
}

TEST_CASE("bcrypt hashes are recognised by form", "[unit][webconfig]") {
    CHECK(is_bcrypt_hash(kS3cret));
    CHECK(is_bcrypt_hash("$2y$10$T7p6AQAqY0nd7NplqtYFH.HkyR6UmCDNHxoEQf3IzsCFeNlt8xHBa"));
    CHECK(is_bcrypt_hash("$2a$31$T7p6AQAqY0nd7NplqtYFH.HkyR6UmCDNHxoEQf3IzsCFeNlt8xHBa"));
    CHECK_FALSE(is_bcrypt_hash(""));
    CHECK_FALSE(is_bcrypt_hash("s3cret"));
    CHECK_FALSE(is_bcrypt_hash("$2x$10$T7p6AQAqY0nd7NplqtYFH.HkyR6UmCDNHxoEQf3IzsCFeNlt8xHBa"));
    CHECK_FALSE(is_bcrypt_hash("$2b$03$T7p6AQAqY0nd7NplqtYFH.HkyR6UmCDNHxoEQf3IzsCFeNlt8xHBa"));
    CHECK_FALSE(is_bcrypt_hash("$2b$32$T7p6AQAqY0nd7NplqtYFH.HkyR6UmCDNHxoEQf3IzsCFeNlt8xHBa"));
    CHECK_FALSE(is_bcrypt_hash("$2b$10$T7p6AQAqY0nd7NplqtYFH.HkyR6UmCDNHxoEQf3IzsCFeNlt8xHB"));
    CHECK_FALSE(is_bcrypt_hash("$2b$10$T7p6AQAqY0nd7NplqtYFH.HkyR6UmCDNHxoEQf3IzsCFeNlt8xHB!"));
    CHECK_FALSE(is_bcrypt_hash("$6$rounds=5000$salt$hash"));
}

TEST_CASE("crypt_r checks passwords against bcrypt hashes", "[unit][webconfig]") {
    using app::bcrypt_matches;
    CHECK(bcrypt_matches("s3cret", kS3cret));
    CHECK(bcrypt_matches("other", kOther));
    // htpasswd writes $2y$; the same hash under that prefix checks the same.
    std::string y = kS3cret;
    y[2] = 'y';
    CHECK(bcrypt_matches("s3cret", y));
    CHECK_FALSE(bcrypt_matches("s3cret", kOther));
    CHECK_FALSE(bcrypt_matches("S3cret", kS3cret));
    CHECK_FALSE(bcrypt_matches("", kS3cret));
    CHECK_FALSE(bcrypt_matches(std::string("s3cret\0x", 8), kS3cret));
    CHECK_FALSE(bcrypt_matches("s3cret", "not a hash"));
    CHECK_FALSE(bcrypt_matches("s3cret", ""));
}

TEST_CASE("Basic credentials are parsed as Go's Request.BasicAuth does", "[unit][webconfig]") {
    using app::parse_basic_auth;
    const std::string good = "Basic YWxpY2U6czNjcmV0OndpdGg6Y29sb25z";  // alice:s3cret:with:colons
    auto credentials = parse_basic_auth(&good);
    REQUIRE(credentials);
    CHECK(credentials->user == "alice");
    CHECK(credentials->password == "s3cret:with:colons");
    const std::string lower = "basic YWxpY2U6";  // "alice:", empty password
    credentials = parse_basic_auth(&lower);
    REQUIRE(credentials);
    CHECK(credentials->user == "alice");
    CHECK(credentials->password.empty());
    CHECK_FALSE(parse_basic_auth(nullptr));
    for (const std::string bad : {"Bearer YWxpY2U6czNjcmV0", "Basic", "Basic !!!!",
                                  "Basic YWxpY2U=" /* no colon */, "BasicYWxpY2U6czNjcmV0"}) {
        CHECK_FALSE(parse_basic_auth(&bad));
    }
}

}  // namespace
}  // namespace sonde::config
