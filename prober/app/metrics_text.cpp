#include "prober/app/metrics_text.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <limits>
#include <sstream>

#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

namespace sonde::app {
namespace {

const char* type_name(prometheus::MetricType type) {
    switch (type) {
        case prometheus::MetricType::Counter:
            return "counter";
        case prometheus::MetricType::Gauge:
            return "gauge";
        case prometheus::MetricType::Summary:
            return "summary";
        case prometheus::MetricType::Histogram:
            return "histogram";
        case prometheus::MetricType::Untyped:
            break;
    }
    return "untyped";
}

// name+suffix{labels[,extra]} — TextSerializer's WriteHead; the extra label is "le" or
// "quantile", its value already formatted.
void append_head(std::string& out, std::string_view name, std::string_view suffix,
                 const prometheus::ClientMetric& metric, std::string_view extra_name = {},
                 std::string_view extra_value = {}) {
    out += name;
    out += suffix;
    if (!metric.label.empty() || !extra_name.empty()) {
        out += '{';
        bool first = true;
        for (const auto& label : metric.label) {
            if (!first) {
                out += ',';
            }
            append_label(out, label.name, label.value);
            first = false;
        }
        if (!extra_name.empty()) {
            if (!first) {
                out += ',';
            }
            append_label(out, extra_name, extra_value);
        }
        out += '}';
    }
    out += ' ';
}

void append_tail(std::string& out, const prometheus::ClientMetric& metric) {
    if (metric.timestamp_ms != 0) {
        out += ' ';
        out += std::to_string(metric.timestamp_ms);
    }
    out += '\n';
}

void append_line(std::string& out, std::string_view name, std::string_view suffix,
                 const prometheus::ClientMetric& metric, double value) {
    append_head(out, name, suffix, metric);
    append_value(out, value);
    append_tail(out, metric);
}

void append_count(std::string& out, std::uint64_t count) {
    out += std::to_string(count);
}

std::string value_text(double value) {
    std::string text;
    append_value(text, value);
    return text;
}

void append_summary(std::string& out, std::string_view name,
                    const prometheus::ClientMetric& metric) {
    const auto& summary = metric.summary;
    append_head(out, name, "_count", metric);
    append_count(out, summary.sample_count);
    append_tail(out, metric);
    append_head(out, name, "_sum", metric);
    append_value(out, summary.sample_sum);
    append_tail(out, metric);
    for (const auto& q : summary.quantile) {
        append_head(out, name, "", metric, "quantile", value_text(q.quantile));
        append_value(out, q.value);
        append_tail(out, metric);
    }
}

void append_histogram(std::string& out, std::string_view name,
                      const prometheus::ClientMetric& metric) {
    const auto& histogram = metric.histogram;
    append_head(out, name, "_count", metric);
    append_count(out, histogram.sample_count);
    append_tail(out, metric);
    append_head(out, name, "_sum", metric);
    append_value(out, histogram.sample_sum);
    append_tail(out, metric);
    double last = -std::numeric_limits<double>::infinity();
    for (const auto& bucket : histogram.bucket) {
        append_head(out, name, "_bucket", metric, "le", value_text(bucket.upper_bound));
        last = bucket.upper_bound;
        append_count(out, bucket.cumulative_count);
        append_tail(out, metric);
    }
    if (last != std::numeric_limits<double>::infinity()) {
        append_head(out, name, "_bucket", metric, "le", "+Inf");
        append_count(out, histogram.sample_count);
        append_tail(out, metric);
    }
}

}  // namespace

prometheus::MetricFamily single_value_family(const char* name, const char* help, double value,
                                             prometheus::MetricType type,
                                             std::vector<prometheus::ClientMetric::Label> labels) {
    prometheus::MetricFamily family;
    family.name = name;
    family.help = help;
    family.type = type;
    prometheus::ClientMetric metric;
    metric.label = std::move(labels);
    if (type == prometheus::MetricType::Counter) {
        metric.counter.value = value;
    } else {
        metric.gauge.value = value;
    }
    family.metric.push_back(std::move(metric));
    return family;
}

std::string render_families(std::vector<prometheus::MetricFamily> families) {
    std::stable_sort(families.begin(), families.end(),
                     [](const auto& a, const auto& b) { return a.name < b.name; });
    // Families with no metric would print a lone HELP/TYPE; the exporter omits them.
    families.erase(std::remove_if(families.begin(), families.end(),
                                  [](const auto& f) { return f.metric.empty(); }),
                   families.end());
    std::ostringstream out;
    prometheus::TextSerializer().Serialize(out, families);
    return out.str();
}

std::string render_registry(const prometheus::Registry& registry) {
    return render_families(registry.Collect());
}

void append_value(std::string& out, double value) {
    if (std::isnan(value)) {
        out += "Nan";
        return;
    }
    if (std::isinf(value)) {
        out += value < 0 ? "-Inf" : "+Inf";
        return;
    }
    // Whole numbers (counts, flags, sizes) are most samples: %.16g prints them as plain
    // integers below 1e16, which std::to_chars on an integer does much faster.
    if (value == std::trunc(value) && std::fabs(value) < 1e15 &&
        !(value == 0 && std::signbit(value))) {
        char buffer[24];
        const auto [end, ec] =
            std::to_chars(buffer, buffer + sizeof buffer, static_cast<long long>(value));
        out.append(buffer, end);
        return;
    }
    char buffer[64];
    // prometheus-cpp 1.0 writes max_digits10 - 1 significant digits.
    const int n = std::snprintf(buffer, sizeof buffer, "%.16g", value);
    out.append(buffer, static_cast<std::size_t>(n));
}

void append_label_value(std::string& out, std::string_view value) {
    std::size_t plain = 0;
    for (std::size_t i = 0; i < value.size(); ++i) {
        const char c = value[i];
        if (c != '\\' && c != '"' && c != '\n') {
            continue;
        }
        out.append(value.data() + plain, i - plain);
        out += '\\';
        out += c == '\n' ? 'n' : c;
        plain = i + 1;
    }
    out.append(value.data() + plain, value.size() - plain);
}

void append_label(std::string& out, std::string_view name, std::string_view value) {
    out += name;
    out += "=\"";
    append_label_value(out, value);
    out += '"';
}

void append_family_header(std::string& out, std::string_view name, std::string_view help,
                          prometheus::MetricType type) {
    // prometheus-cpp 1.0 writes the help text as it is.
    if (!help.empty()) {
        out += "# HELP ";
        out += name;
        out += ' ';
        out += help;
        out += '\n';
    }
    out += "# TYPE ";
    out += name;
    out += ' ';
    out += type_name(type);
    out += '\n';
}

void append_family(std::string& out, const prometheus::MetricFamily& family) {
    append_family_header(out, family.name, family.help, family.type);
    for (const prometheus::ClientMetric& metric : family.metric) {
        switch (family.type) {
            case prometheus::MetricType::Counter:
                append_line(out, family.name, "", metric, metric.counter.value);
                break;
            case prometheus::MetricType::Gauge:
                append_line(out, family.name, "", metric, metric.gauge.value);
                break;
            case prometheus::MetricType::Untyped:
                append_line(out, family.name, "", metric, metric.untyped.value);
                break;
            case prometheus::MetricType::Summary:
                append_summary(out, family.name, metric);
                break;
            case prometheus::MetricType::Histogram:
                append_histogram(out, family.name, metric);
                break;
        }
    }
}

SlicedRender::SlicedRender(std::vector<prometheus::MetricFamily> families,
                           std::unique_ptr<SeriesSource> series)
    : built_(std::move(families)), series_(std::move(series)) {
    std::stable_sort(built_.begin(), built_.end(),
                     [](const auto& a, const auto& b) { return a.name < b.name; });
    for (const auto& family : built_) {
        if (!family.metric.empty()) {
            items_.push_back(Item{family.name, &family});
        }
    }
    if (series_) {
        std::vector<std::string> names = series_->family_names();
        std::sort(names.begin(), names.end());
        std::vector<Item> merged;
        merged.reserve(items_.size() + names.size());
        auto built = items_.begin();
        for (auto& name : names) {
            while (built != items_.end() && built->name <= name) {
                merged.push_back(std::move(*built++));
            }
            merged.push_back(Item{std::move(name), nullptr});
        }
        merged.insert(merged.end(), std::make_move_iterator(built),
                      std::make_move_iterator(items_.end()));
        items_ = std::move(merged);
    }
}

bool SlicedRender::next(std::string& out, std::size_t budget) {
    const std::size_t start = out.size();
    while (index_ < items_.size() && out.size() - start < budget) {
        const Item& item = items_[index_];
        if (item.built != nullptr) {
            append_family(out, *item.built);
            ++index_;
            continue;
        }
        const std::size_t used = out.size() - start;
        if (series_->render(item.name, cursor_, out, budget - used)) {
            cursor_ = SeriesCursor{};
            ++index_;
        } else {
            // The source did a slice's worth of work: let the caller send it.
            break;
        }
    }
    return index_ < items_.size();
}

std::string render_all(SlicedRender& render) {
    std::string out;
    while (render.next(out, std::size_t{1} << 20)) {
    }
    return out;
}

}  // namespace sonde::app
