#include "modules/http/oauth2_token.hpp"

#include <string>

#include <catch2/catch.hpp>

namespace sonde::modules::http {
namespace {

TEST_CASE("oauth2 Authorization value follows x/oauth2 Token.Type()", "[unit][http]") {
    struct Row {
        const char* type;
        const char* expected;
    };
    const Row row =
        GENERATE(Row{"", "Bearer t"}, Row{"bearer", "Bearer t"}, Row{"BEARER", "Bearer t"},
                 Row{"mac", "MAC t"}, Row{"basic", "Basic t"}, Row{"DPoP", "DPoP t"});
    CHECK(oauth2_authorization({"t", row.type}) == row.expected);
}

TEST_CASE("oauth2 form encoding as url.Values.Encode", "[unit][http]") {
    CHECK(form_encode({{"b", "x y"}, {"a", "1/2+3"}, {"c", "~-._"}}) == "a=1%2F2%2B3&b=x+y&c=~-._");
    CHECK(form_encode({}).empty());
}

TEST_CASE("oauth2 token request body", "[unit][http]") {
    config::OAuth2 cfg;
    cfg.client_id = "id";
    SECTION("grant_type only") {
        CHECK(oauth2_token_request_body(cfg, "s", false) == "grant_type=client_credentials");
    }
    SECTION("scopes space-joined, endpoint params, credentials in the body") {
        cfg.scopes = {"a", "b"};
        cfg.endpoint_params = {{"audience", "x"}};
        CHECK(oauth2_token_request_body(cfg, "s", true) ==
              "audience=x&client_id=id&client_secret=s&grant_type=client_credentials&scope=a+b");
    }
    SECTION("an empty secret is not sent; endpoint_params may override grant_type") {
        cfg.endpoint_params = {{"grant_type", "custom"}};
        CHECK(oauth2_token_request_body(cfg, "", true) == "client_id=id&grant_type=custom");
    }
}

TEST_CASE("oauth2 Basic credentials are query-escaped first", "[unit][http]") {
    // base64("a+b:c%2F") as x/oauth2 builds it from url.QueryEscape(id), url.QueryEscape(secret)
    CHECK(oauth2_basic_credentials("a b", "c/") == "Basic YStiOmMlMkY=");
}

TEST_CASE("oauth2 token answers read as x/oauth2", "[unit][http]") {
    const std::string json = "application/json; charset=utf-8";
    const std::string form = "application/x-www-form-urlencoded";
    SECTION("JSON") {
        auto token = parse_oauth2_token_response(
            200, "OK", &json, R"({"access_token":"abc","token_type":"bearer","expires_in":3})");
        REQUIRE(token);
        CHECK(token->access_token == "abc");
        CHECK(token->token_type == "bearer");
    }
    SECTION("no Content-Type is read as JSON") {
        auto token = parse_oauth2_token_response(200, "OK", nullptr, R"({"access_token":"x"})");
        REQUIRE(token);
        CHECK(token->access_token == "x");
    }
    SECTION("form-encoded and text/plain") {
        auto token =
            parse_oauth2_token_response(200, "OK", &form, "access_token=a%2Bb&token_type=mac");
        REQUIRE(token);
        CHECK(token->access_token == "a+b");
        CHECK(token->token_type == "mac");
        const std::string plain = "text/plain";
        CHECK(parse_oauth2_token_response(200, "OK", &plain, "access_token=p")->access_token ==
              "p");
    }
    SECTION("failures") {
        auto error = parse_oauth2_token_response(401, "Unauthorized", &json, "nope");
        REQUIRE_FALSE(error);
        CHECK(error.error() == "oauth2: cannot fetch token: 401 Unauthorized\nResponse: nope");
        error = parse_oauth2_token_response(
            400, "Bad Request", &json, R"({"error":"invalid_scope","error_description":"bad"})");
        REQUIRE_FALSE(error);
        CHECK(error.error() == "oauth2: \"invalid_scope\" \"bad\"");
        // An error field fails even with 200 (x/oauth2 accepts unorthodox servers' 200 errors).
        error = parse_oauth2_token_response(200, "OK", &json, R"({"error":"server_error"})");
        REQUIRE_FALSE(error);
        CHECK(error.error() == "oauth2: \"server_error\"");
        error = parse_oauth2_token_response(200, "OK", &json, "{");
        REQUIRE_FALSE(error);
        CHECK(error.error().rfind("oauth2: cannot parse json", 0) == 0);
        error = parse_oauth2_token_response(200, "OK", &json, R"({"token_type":"bearer"})");
        REQUIRE_FALSE(error);
        CHECK(error.error() == "oauth2: server response missing access_token");
        error = parse_oauth2_token_response(200, "OK", &form, "access_token=%zz");
        REQUIRE_FALSE(error);
        CHECK(error.error().rfind("oauth2: cannot parse response", 0) == 0);
    }
}

}  // namespace
}  // namespace sonde::modules::http
