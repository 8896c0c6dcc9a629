// Watch stream framing (events split across chunks at every byte, several per chunk, no
// newlines), event and list parsing, Status handling.

#include "discovery/kubernetes/watch_events.hpp"

#include <catch2/catch.hpp>

namespace {

using namespace sonde::discovery::kubernetes;

const std::string kStream =
    R"({"type":"ADDED","object":{"kind":"Service","metadata":{"name":"a","namespace":"n","resourceVersion":"10","annotations":{"x":"}{\"]["}}}})"
    "\n"
    R"({"type":"BOOKMARK","object":{"kind":"Service","metadata":{"resourceVersion":"12","creationTimestamp":null},"spec":{}}})"
    "\n"
    R"({"type":"DELETED","object":{"kind":"Service","metadata":{"name":"a","namespace":"n","resourceVersion":"13"}}})"
    "\n";

std::vector<std::string> frame(const std::vector<std::string_view>& chunks) {
    JsonStreamFramer framer;
    std::vector<std::string> values;
    for (std::string_view chunk : chunks) {
        auto fed = framer.feed(chunk, [&](std::string_view v) { values.emplace_back(v); });
        REQUIRE(fed);
    }
    CHECK(framer.pending() == 0);
    return values;
}

}  // namespace

TEST_CASE("watch framing: whole chunk, every split point, byte by byte", "[unit][kube]") {
    const auto whole = frame({kStream});
    REQUIRE(whole.size() == 3);
    CHECK(whole[1].find("BOOKMARK") != std::string::npos);
    for (std::size_t cut = 0; cut <= kStream.size(); ++cut) {
        CAPTURE(cut);
        const std::string_view s(kStream);
        CHECK(frame({s.substr(0, cut), s.substr(cut)}) == whole);
    }
    std::vector<std::string_view> bytes;
    for (std::size_t i = 0; i < kStream.size(); ++i) {
        bytes.push_back(std::string_view(kStream).substr(i, 1));
    }
    CHECK(frame(bytes) == whole);
}

TEST_CASE("watch framing without newlines and with a lone newline chunk", "[unit][kube]") {
    std::string joined;
    for (char c : kStream) {
        if (c != '\n') {
            joined += c;
        }
    }
    CHECK(frame({joined}).size() == 3);
    CHECK(frame({"{\"a\":1}", "\n", "\r\n  ", "{\"b\":[1,{\"c\":\"\\\\\"}]}"}).size() == 2);
}

TEST_CASE("watch framing errors", "[unit][kube]") {
    JsonStreamFramer framer;
    auto fed = framer.feed("{\"a\":1}\nHTTP/1.1 200", [](std::string_view) {});
    REQUIRE_FALSE(fed);
    CHECK(fed.error() == "watch stream: unexpected byte 'H' between events");
    JsonStreamFramer small(16);
    auto big = small.feed("{\"a\":\"0123456789abcdef\"", [](std::string_view) {});
    REQUIRE_FALSE(big);
    CHECK(big.error() == "watch stream: an event is larger than 16 bytes");
}

TEST_CASE("watch events", "[unit][kube]") {
    auto added = parse_watch_event(frame({kStream})[0]);
    REQUIRE(added);
    CHECK(added->type == WatchEventType::Added);
    CHECK(added->resource_version == "10");
    CHECK(object_key(added->object) == "n/a");

    auto error = parse_watch_event(
        R"j({"type":"ERROR","object":{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"too old resource version: 48100 (48190)","reason":"Expired","code":410}})j");
    REQUIRE(error);
    CHECK(error->type == WatchEventType::Error);
    const ApiStatus status = status_from_json(error->object);
    CHECK(status.code == 410);
    CHECK(status.message == "too old resource version: 48100 (48190)");
    CHECK(is_expired(status));
    CHECK(is_expired(ApiStatus{410, "Gone", ""}));
    CHECK_FALSE(is_expired(ApiStatus{500, "InternalError", ""}));

    const auto [text, message] = GENERATE(table<std::string, std::string>({
        {"[1]", "watch stream: an event is not a JSON object"},
        {"{\"type\":\"ADDED\"", "watch stream: an event is not a JSON object"},
        {"{\"type\":\"SYNC\",\"object\":{}}", "watch stream: unknown event type \"SYNC\""},
        {"{\"type\":\"ADDED\"}", "watch stream: a ADDED event without an object"},
        {"{\"type\":\"MODIFIED\",\"object\":{\"metadata\":{}}}",
         "watch stream: a MODIFIED event without metadata.resourceVersion"},
    }));
    auto bad = parse_watch_event(text);
    REQUIRE_FALSE(bad);
    CHECK(bad.error() == message);
}

TEST_CASE("list pages", "[unit][kube]") {
    auto page = parse_list_page(
        R"({"kind":"ServiceList","apiVersion":"v1","metadata":{"resourceVersion":"48230","continue":"abc","remainingItemCount":1},"items":[{"metadata":{"name":"web","namespace":"shop","resourceVersion":"48213"}}]})");
    REQUIRE(page);
    CHECK(page->resource_version == "48230");
    CHECK(page->continue_token == "abc");
    REQUIRE(page->items.size() == 1);
    CHECK(resource_version_of(page->items[0]) == "48213");

    auto empty = parse_list_page(R"({"metadata":{"resourceVersion":"7"},"items":null})");
    REQUIRE(empty);
    CHECK(empty->items.empty());
    CHECK(empty->continue_token.empty());

    CHECK(parse_list_page("not json").error() == "list: the answer is not a JSON object");
    CHECK(parse_list_page(R"({"items":[]})").error() ==
          "list: the answer has no metadata.resourceVersion");
    CHECK(parse_list_page(R"({"metadata":{"resourceVersion":"1"},"items":{}})").error() ==
          "list: items is not an array");
}

TEST_CASE("Status from error bodies", "[unit][kube]") {
    const ApiStatus forbidden = status_from_body(
        403,
        R"({"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"services is forbidden","reason":"Forbidden","code":403})");
    CHECK(forbidden.code == 403);
    CHECK(forbidden.reason == "Forbidden");
    CHECK(forbidden.message == "services is forbidden");
    const ApiStatus plain = status_from_body(503, "<html>busy</html>");
    CHECK(plain.code == 503);
    CHECK(plain.message == "the server answered 503");
    CHECK(is_expired(status_from_body(410, "")));
}
