// The text writers against prometheus-cpp's TextSerializer, byte for byte, and SlicedRender
// against render_families(): /metrics rendered in pieces must be the text rendered at once.

#include "prober/app/metrics_text.hpp"

#include <cmath>
#include <limits>

#include <catch2/catch.hpp>
#include <prometheus/text_serializer.h>

#include "prober/app/target_metrics.hpp"

namespace sonde::app {
namespace {

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;

std::string serialize(const std::vector<MetricFamily>& families) {
    std::ostringstream out;
    prometheus::TextSerializer().Serialize(out, families);
    return out.str();
}

// Values that exercise every formatting path: integers (the fast path), fractions, exponents,
// the limits of the integer path, signed zero, NaN and infinities.
const std::vector<double> kValues = {0,
                                     -0.0,
                                     1,
                                     -7,
                                     42,
                                     0.1 + 0.2,
                                     1.0 / 3,
                                     9.1244e-05,
                                     1e-7,
                                     1795639770.516525,
                                     1e15 - 1,
                                     1e15,
                                     1e16,
                                     -1e16,
                                     123456789012345680000.0,
                                     1e21,
                                     std::numeric_limits<double>::quiet_NaN(),
                                     std::numeric_limits<double>::infinity(),
                                     -std::numeric_limits<double>::infinity(),
                                     std::numeric_limits<double>::denorm_min(),
                                     std::numeric_limits<double>::max()};

MetricFamily sample_family(MetricType type) {
    MetricFamily family;
    family.name = "x_metric";
    family.help = "help with \\ backslash and \"quotes\"";
    family.type = type;
    for (double value : kValues) {
        ClientMetric metric;
        metric.label = {{"a", "plain"}, {"b", "back\\slash \"quote\" new\nline"}};
        metric.counter.value = value;
        metric.gauge.value = value;
        metric.untyped.value = value;
        family.metric.push_back(metric);
    }
    ClientMetric bare;  // no labels at all
    bare.gauge.value = 3;
    bare.counter.value = 3;
    bare.untyped.value = 3;
    bare.timestamp_ms = 1700000000123;
    family.metric.push_back(bare);
    return family;
}

}  // namespace

TEST_CASE("the text writers produce TextSerializer's exact bytes", "[unit][metrics_text]") {
    for (MetricType type : {MetricType::Counter, MetricType::Gauge, MetricType::Untyped}) {
        const MetricFamily family = sample_family(type);
        std::string ours;
        append_family(ours, family);
        CHECK(ours == serialize({family}));
    }

    MetricFamily histogram;
    histogram.name = "h_seconds";
    histogram.help = "";  // no HELP line
    histogram.type = MetricType::Histogram;
    ClientMetric with_inf;
    with_inf.label = {{"target", "t"}};
    with_inf.histogram.sample_count = 3;
    with_inf.histogram.sample_sum = 0.30000000000000004;
    with_inf.histogram.bucket = {
        {1, 0.005}, {2, 0.25}, {3, std::numeric_limits<double>::infinity()}};
    ClientMetric without_inf;  // TextSerializer adds the +Inf bucket
    without_inf.histogram.sample_count = 9;
    without_inf.histogram.sample_sum = 12.5;
    without_inf.histogram.bucket = {{4, 1}, {8, 10}};
    histogram.metric = {with_inf, without_inf};

    MetricFamily summary;
    summary.name = "s";
    summary.help = "a summary";
    summary.type = MetricType::Summary;
    ClientMetric quantiles;
    quantiles.label = {{"k", "v"}};
    quantiles.summary.sample_count = 5;
    quantiles.summary.sample_sum = 1.5;
    quantiles.summary.quantile = {{0.5, 0.25}, {0.99, 1.0 / 3}};
    summary.metric = {quantiles};

    for (const MetricFamily& family : {histogram, summary}) {
        std::string ours;
        append_family(ours, family);
        CHECK(ours == serialize({family}));
    }
}

namespace {

// A SeriesSource over fixed lines, a few per call, to drive SlicedRender through every state.
class FakeSeries final : public SeriesSource {
public:
    std::vector<std::string> family_names() const override { return {"m_series", "a_series"}; }
    bool render(const std::string& name, SeriesCursor& cursor, std::string& out,
                std::size_t /*budget*/) override {
        ++calls;
        std::size_t i = cursor.started ? std::stoul(cursor.next_key) : 0;
        cursor.started = true;
        for (int n = 0; n < 2 && i < kLines; ++n, ++i) {
            if (!cursor.header_written) {
                append_family_header(out, name, "series help", MetricType::Gauge);
                cursor.header_written = true;
            }
            out += name + "{i=\"" + std::to_string(i) + "\"} " + std::to_string(i) + "\n";
        }
        cursor.next_key = std::to_string(i);
        return i == kLines;
    }
    static MetricFamily as_family(const std::string& name) {
        MetricFamily family;
        family.name = name;
        family.help = "series help";
        family.type = MetricType::Gauge;
        for (std::size_t i = 0; i < kLines; ++i) {
            ClientMetric metric;
            metric.label = {{"i", std::to_string(i)}};
            metric.gauge.value = static_cast<double>(i);
            family.metric.push_back(metric);
        }
        return family;
    }
    static constexpr std::size_t kLines = 5;
    int calls = 0;
};

}  // namespace

TEST_CASE("a render in small pieces equals the render at once", "[unit][metrics_text]") {
    std::vector<MetricFamily> built = {sample_family(MetricType::Gauge),
                                       single_value_family("b_total", "b", 2, MetricType::Counter),
                                       single_value_family("z_last", "z", 1)};
    built[0].name = "n_gauge";
    MetricFamily empty;  // a family without samples is left out, as render_families does
    empty.name = "c_empty";
    empty.type = MetricType::Gauge;
    built.push_back(empty);

    std::vector<MetricFamily> all = built;
    all.push_back(FakeSeries::as_family("m_series"));
    all.push_back(FakeSeries::as_family("a_series"));
    const std::string expected = render_families(all);

    const std::size_t budget = GENERATE(1, 64, 100000);
    auto source = std::make_unique<FakeSeries>();
    FakeSeries& fake = *source;
    SlicedRender render(built, std::move(source));
    std::string out;
    int pieces = 0;
    while (render.next(out, budget)) {
        ++pieces;
        REQUIRE(pieces < 1000);
    }
    CHECK(out == expected);
    // Each call of the source ends a piece that is not the last.
    CHECK(pieces >= fake.calls - 2);
    // Once complete it stays complete and appends nothing.
    const std::size_t size = out.size();
    CHECK_FALSE(render.next(out, budget));
    CHECK(out.size() == size);
}

TEST_CASE("a render without a series source equals render_families", "[unit][metrics_text]") {
    std::vector<MetricFamily> built = {single_value_family("b", "b", 2),
                                       single_value_family("a", "a", 1)};
    SlicedRender render(built, nullptr);
    CHECK(render_all(render) == render_families(built));
}

}  // namespace sonde::app
