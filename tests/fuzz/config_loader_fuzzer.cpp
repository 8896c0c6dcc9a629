// The config loader: YAML text to a validated Config (modules, probers' options, durations,
// sizes, regexes, headers, TLS and auth settings, targets and discovery), and the YAML that
// /config renders back from it. The input is also given, as a one-line text, to the duration
// and size parsers, whose printed forms must parse back to the same value.

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "config/duration.hpp"
#include "config/loader.hpp"
#include "config/size.hpp"
#include "tests/fuzz/fuzz_check.hpp"

namespace {

using namespace sonde::config;

void round_trip_scalars(std::string_view text) {
    if (auto duration = parse_go_duration(text)) {
        const std::string printed = format_go_duration(*duration);
        auto again = parse_go_duration(printed);
        SONDE_FUZZ_CHECK(again.has_value());
        SONDE_FUZZ_CHECK(*again == *duration);
    }
    if (auto bytes = parse_base2_bytes(text)) {
        const std::string printed = format_base2_bytes(*bytes);
        auto again = parse_base2_bytes(printed);
        SONDE_FUZZ_CHECK(again.has_value());
        SONDE_FUZZ_CHECK(*again == *bytes);
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    if (size <= 64 && text.find('\n') == std::string_view::npos) {
        round_trip_scalars(text);
    }
    auto loaded = load_config_text(text, "fuzz.yml");
    if (!loaded) {
        SONDE_FUZZ_CHECK(loaded.error().rfind("fuzz.yml:", 0) == 0);
        return 0;
    }
    SONDE_FUZZ_CHECK(loaded->config != nullptr);
    const std::string rendered = render_config_yaml(*loaded->config);
    for (const auto& [name, module] : loaded->config->modules) {
        (void)render_module_yaml(module);
    }
    // What /config shows is YAML that the loader reads again. Not yet true for every config
    // (tests/fuzz/open/config_loader_render_reload.yml: a DNS module whose rendering has no
    // query_name), so the check is opt-in until that is fixed: SONDE_FUZZ_RENDER_RELOAD=1.
    auto reloaded = load_config_text(rendered, "rendered.yml");
    static const bool strict = std::getenv("SONDE_FUZZ_RENDER_RELOAD") != nullptr;
    if (strict && !reloaded) {
        std::fprintf(stderr, "rendered config does not load: %s\n%s\n", reloaded.error().c_str(),
                     rendered.c_str());
        SONDE_FUZZ_CHECK(reloaded.has_value());
    }
    return 0;
}
