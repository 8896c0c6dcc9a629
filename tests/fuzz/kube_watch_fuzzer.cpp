// Kubernetes discovery's wire input: the watch stream cut into JSON values by
// JsonStreamFramer (at chunk boundaries the input picks), each value read as a watch event, a
// list page and an error Status, and every object turned into targets by the Service and
// Ingress rules (annotations, ports, rules, TLS hosts, durations).
//
// Input: byte 0 holds flags (bit 0: probe_all), byte 1 the chunk size (0: all at once); the
// rest is the stream. The framer must cut the same values whatever the chunking.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "discovery/kubernetes/derive_targets.hpp"
#include "discovery/kubernetes/watch_events.hpp"
#include "tests/fuzz/fuzz_check.hpp"

namespace {

using namespace sonde::discovery::kubernetes;

void check_targets(const sonde::Result<sonde::discovery::TargetSet>& targets) {
    if (!targets) {
        SONDE_FUZZ_CHECK(!targets.error().empty());
        return;
    }
    for (const auto& target : *targets) {
        SONDE_FUZZ_CHECK(!target.module.empty());
        SONDE_FUZZ_CHECK(!target.target.empty());
        SONDE_FUZZ_CHECK(target.interval.count() > 0);
    }
}

void use_value(std::string_view value, const DeriveOptions& options) {
    SONDE_FUZZ_CHECK(!value.empty());
    SONDE_FUZZ_CHECK(value.front() == '{' || value.front() == '[');
    SONDE_FUZZ_CHECK(value.back() == '}' || value.back() == ']');
    if (auto event = parse_watch_event(value)) {
        if (event->type == WatchEventType::Error) {
            (void)is_expired(status_from_json(event->object));
        } else {
            SONDE_FUZZ_CHECK(!event->resource_version.empty());
            (void)object_key(event->object);
            check_targets(service_targets(event->object, options));
            check_targets(ingress_targets(event->object, options));
        }
    }
    if (auto page = parse_list_page(value)) {
        for (const auto& item : page->items) {
            (void)resource_version_of(item);
            check_targets(service_targets(item, options));
            check_targets(ingress_targets(item, options));
        }
    }
    const ApiStatus status = status_from_body(410, value);
    SONDE_FUZZ_CHECK(status.code != 0 && !status.message.empty());
}

// The values the framer cuts from stream fed in chunks of `chunk` bytes, and whether it failed.
std::vector<std::string> frame(std::string_view stream, std::size_t chunk, bool& failed) {
    JsonStreamFramer framer(64 * 1024);
    std::vector<std::string> values;
    failed = false;
    for (std::size_t offset = 0; offset < stream.size(); offset += chunk) {
        auto fed = framer.feed(stream.substr(offset, chunk),
                               [&](std::string_view value) { values.emplace_back(value); });
        if (!fed) {
            failed = true;
            break;
        }
    }
    return values;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 2) {
        return 0;
    }
    DeriveOptions options;
    options.probe_all = (data[0] & 1U) != 0;
    options.modules = {"http_2xx", "tcp_connect"};
    const std::size_t chunk = data[1] == 0 ? size : data[1];
    const std::string_view stream(reinterpret_cast<const char*>(data) + 2, size - 2);

    bool failed_chunked = false;
    const auto values = frame(stream, chunk, failed_chunked);
    bool failed_whole = false;
    const auto whole = frame(stream, stream.size() + 1, failed_whole);
    // The inputs stay far below the framer's size cap, so only bad bytes fail, and at the
    // same place whatever the chunking.
    SONDE_FUZZ_CHECK(values == whole);
    SONDE_FUZZ_CHECK(failed_chunked == failed_whole);
    for (const auto& value : values) {
        use_value(value, options);
    }
    (void)parse_prometheus_duration(stream);
    (void)matches_hostname_pattern(stream.substr(0, stream.size() / 2),
                                   stream.substr(stream.size() / 2));
    return 0;
}
