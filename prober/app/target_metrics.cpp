#include "prober/app/target_metrics.hpp"

#include <algorithm>
#include <limits>

#include <prometheus/registry.h>

#include "prober/app/metrics_text.hpp"

namespace sonde::app {
namespace {

using Labels = std::vector<prometheus::ClientMetric::Label>;

// target, module, the identity labels, then the sample's own labels, which win on a clash.
Labels series_labels(const discovery::Target& target, const Labels& own) {
    Labels out;
    out.reserve(2 + target.labels.size() + own.size());
    auto taken = [&own](const std::string& name) {
        return std::any_of(own.begin(), own.end(),
                           [&name](const auto& label) { return label.name == name; });
    };
    if (!taken("target")) {
        out.push_back({"target", target.target});
    }
    if (!taken("module")) {
        out.push_back({"module", target.module});
    }
    for (const auto& [name, value] : target.labels) {
        if (!taken(name)) {
            out.push_back({name, value});
        }
    }
    out.insert(out.end(), own.begin(), own.end());
    return out;
}

prometheus::MetricFamily& family(std::map<std::string, prometheus::MetricFamily>& families,
                                 const std::string& name, const std::string& help,
                                 prometheus::MetricType type) {
    auto [it, inserted] = families.try_emplace(name);
    if (inserted) {
        it->second.name = name;
        it->second.help = help;
        it->second.type = type;
    }
    return it->second;
}

void set_value(prometheus::ClientMetric& metric, prometheus::MetricType type, double value) {
    switch (type) {
        case prometheus::MetricType::Counter:
            metric.counter.value = value;
            break;
        case prometheus::MetricType::Gauge:
            metric.gauge.value = value;
            break;
        default:
            metric.untyped.value = value;
            break;
    }
}

void add_sample(prometheus::MetricFamily& family, Labels labels, double value) {
    prometheus::ClientMetric metric;
    metric.label = std::move(labels);
    set_value(metric, family.type, value);
    family.metric.push_back(std::move(metric));
}

// The labels of a line: target, module and the identity labels unless the sample's own labels
// have their name, then the own labels, then `extra` (le, result, reason) if given.
void append_line_labels(std::string& out, const discovery::Target& target, const Labels& own,
                        std::string_view extra_name = {}, std::string_view extra_value = {}) {
    auto taken = [&own](std::string_view name) {
        return std::any_of(own.begin(), own.end(),
                           [&name](const auto& label) { return label.name == name; });
    };
    out += '{';
    bool first = true;
    auto add = [&out, &first](std::string_view name, std::string_view value) {
        if (!first) {
            out += ',';
        }
        append_label(out, name, value);
        first = false;
    };
    if (!taken("target")) {
        add("target", target.target);
    }
    if (!taken("module")) {
        add("module", target.module);
    }
    for (const auto& [name, value] : target.labels) {
        if (!taken(name)) {
            add(name, value);
        }
    }
    for (const auto& label : own) {
        add(label.name, label.value);
    }
    if (!extra_name.empty()) {
        add(extra_name, extra_value);
    }
    out += "} ";
}

const Labels kNoLabels;

// The "le" values of kDurationBuckets as TextSerializer formats them.
const std::array<std::string, kDurationBuckets.size()>& bucket_texts() {
    static const auto texts = [] {
        std::array<std::string, kDurationBuckets.size()> out;
        for (std::size_t i = 0; i < kDurationBuckets.size(); ++i) {
            append_value(out[i], kDurationBuckets[i]);
        }
        return out;
    }();
    return texts;
}

constexpr const char* kRunsHelp =
    "Scheduled probes of this target since it was first scheduled, by result.";
constexpr const char* kDurationHelp = "Duration of the scheduled probes of this target.";
constexpr const char* kLastRunHelp =
    "Unix time at which the last scheduled probe of this target ended.";
constexpr const char* kFailureHelp =
    "Why the last scheduled probe of this target failed (resolve, connect, "
    "tls, timeout, protocol, validation, internal, denied); absent after a success.";

}  // namespace

const FamilyTable::Family* FamilyTable::intern(const std::string& name, const std::string& help,
                                               prometheus::MetricType type) {
    std::string key = name;
    key += '\0';
    key += std::to_string(static_cast<int>(type));
    key += '\0';
    key += help;
    auto [it, inserted] = families_.try_emplace(std::move(key));
    if (inserted) {
        auto [id, added] = name_ids_.try_emplace(name, static_cast<std::uint32_t>(names_.size()));
        if (added) {
            names_.push_back(name);
        }
        it->second = std::make_unique<Family>(Family{name, help, type, id->second});
    }
    return it->second.get();
}

std::int64_t FamilyTable::name_id(const std::string& name) const {
    const auto it = name_ids_.find(name);
    return it == name_ids_.end() ? -1 : static_cast<std::int64_t>(it->second);
}

std::shared_ptr<const SampleShape> FamilyTable::intern_shape(const std::string& key,
                                                             SampleShape&& shape) {
    auto& slot = shapes_[key];
    if (auto existing = slot.lock()) {
        return existing;
    }
    auto made = std::make_shared<const SampleShape>(std::move(shape));
    slot = made;
    if (shapes_.size() > shapes_pruned_at_) {
        std::erase_if(shapes_, [](const auto& entry) { return entry.second.expired(); });
        shapes_pruned_at_ = std::max<std::size_t>(64, 2 * shapes_.size());
    }
    return made;
}

RecordedSamples record_registry(const prometheus::Registry& registry, FamilyTable& table) {
    RecordedSamples samples;
    SampleShape shape;
    // The shape's identity: family pointers and labels, in order.
    std::string key;
    for (const prometheus::MetricFamily& family : registry.Collect()) {
        const FamilyTable::Family* meta = nullptr;
        for (const prometheus::ClientMetric& metric : family.metric) {
            double value = 0;
            switch (family.type) {
                case prometheus::MetricType::Counter:
                    value = metric.counter.value;
                    break;
                case prometheus::MetricType::Gauge:
                    value = metric.gauge.value;
                    break;
                case prometheus::MetricType::Untyped:
                    value = metric.untyped.value;
                    break;
                default:
                    continue;
            }
            if (meta == nullptr) {
                meta = table.intern(family.name, family.help, family.type);
            }
            key.append(reinterpret_cast<const char*>(&meta), sizeof meta);
            for (const auto& label : metric.label) {
                key += label.name;
                key += '\0';
                key += label.value;
                key += '\0';
            }
            key += '\1';
            shape.series.push_back(SampleShape::Series{meta, metric.label});
            samples.values.push_back(value);
        }
    }
    if (!shape.series.empty()) {
        samples.shape = table.intern_shape(key, std::move(shape));
    }
    samples.values.shrink_to_fit();
    return samples;
}

void TargetRecord::add_run(bool success, modules::FailureKind failure, double duration_seconds,
                           double finished_unix, RecordedSamples samples) {
    (success ? successes : failures) += 1;
    for (std::size_t i = 0; i < kDurationBuckets.size(); ++i) {
        if (duration_seconds <= kDurationBuckets[i]) {
            bucket_counts[i] += 1;
            break;
        }
    }
    duration_sum += duration_seconds;
    has_result = true;
    last_success = success;
    last_failure = failure;
    last_run_unix = finished_unix;
    last_samples = std::move(samples);
}

void append_target_series(std::map<std::string, prometheus::MetricFamily>& families,
                          const discovery::Target& target, const TargetRecord& record, bool fresh) {
    if (!record.has_result) {
        return;
    }
    const Labels base = series_labels(target, {});
    if (fresh && record.last_samples.shape) {
        const auto& series = record.last_samples.shape->series;
        for (std::size_t i = 0; i < series.size(); ++i) {
            const auto& meta = *series[i].family;
            add_sample(family(families, meta.name, meta.help, meta.type),
                       series_labels(target, series[i].labels), record.last_samples.values[i]);
        }
    }

    auto& runs =
        family(families, "sonde_target_probes_total", kRunsHelp, prometheus::MetricType::Counter);
    Labels labels = base;
    labels.push_back({"result", "success"});
    add_sample(runs, labels, static_cast<double>(record.successes));
    labels.back().value = "failure";
    add_sample(runs, std::move(labels), static_cast<double>(record.failures));

    auto& histogram = family(families, "sonde_target_probe_duration_seconds", kDurationHelp,
                             prometheus::MetricType::Histogram);
    prometheus::ClientMetric metric;
    metric.label = base;
    std::uint64_t cumulative = 0;
    for (std::size_t i = 0; i < kDurationBuckets.size(); ++i) {
        cumulative += record.bucket_counts[i];
        metric.histogram.bucket.push_back({cumulative, kDurationBuckets[i]});
    }
    metric.histogram.sample_count = record.successes + record.failures;
    // prometheus-cpp serialises the buckets it is given; the +Inf bucket is ours to add.
    metric.histogram.bucket.push_back(
        {metric.histogram.sample_count, std::numeric_limits<double>::infinity()});
    metric.histogram.sample_sum = record.duration_sum;
    histogram.metric.push_back(std::move(metric));

    add_sample(family(families, "sonde_target_last_run_timestamp_seconds", kLastRunHelp,
                      prometheus::MetricType::Gauge),
               base, record.last_run_unix);

    if (fresh && !record.last_success) {
        Labels reason = base;
        reason.push_back({"reason", modules::failure_kind_name(record.last_failure)});
        add_sample(family(families, "sonde_target_failure_reason", kFailureHelp,
                          prometheus::MetricType::Gauge),
                   std::move(reason), 1);
    }
}

void append_target_lines(std::string& out, const FamilySelector& family,
                         const discovery::Target& target, const TargetRecord& record, bool fresh,
                         bool& header_written) {
    if (!record.has_result) {
        return;
    }
    auto header = [&](std::string_view help, prometheus::MetricType type) {
        if (!header_written) {
            append_family_header(out, family.name, help, type);
            header_written = true;
        }
    };
    switch (family.own) {
        case -1:
            if (!fresh || !record.last_samples.shape) {
                return;
            }
            for (std::size_t i = 0; i < record.last_samples.shape->series.size(); ++i) {
                const SampleShape::Series& series = record.last_samples.shape->series[i];
                if (series.family->name_id != family.name_id) {
                    continue;
                }
                header(series.family->help, series.family->type);
                out += family.name;
                append_line_labels(out, target, series.labels);
                append_value(out, record.last_samples.values[i]);
                out += '\n';
            }
            return;
        case 0:  // sonde_target_failure_reason
            if (!fresh || record.last_success) {
                return;
            }
            header(kFailureHelp, prometheus::MetricType::Gauge);
            out += family.name;
            append_line_labels(out, target, kNoLabels, "reason",
                               modules::failure_kind_name(record.last_failure));
            out += "1\n";
            return;
        case 1:  // sonde_target_last_run_timestamp_seconds
            header(kLastRunHelp, prometheus::MetricType::Gauge);
            out += family.name;
            append_line_labels(out, target, kNoLabels);
            append_value(out, record.last_run_unix);
            out += '\n';
            return;
        case 2: {  // sonde_target_probe_duration_seconds
            header(kDurationHelp, prometheus::MetricType::Histogram);
            const std::uint64_t count = record.successes + record.failures;
            out += family.name;
            out += "_count";
            append_line_labels(out, target, kNoLabels);
            out += std::to_string(count);
            out += '\n';
            out += family.name;
            out += "_sum";
            append_line_labels(out, target, kNoLabels);
            append_value(out, record.duration_sum);
            out += '\n';
            std::uint64_t cumulative = 0;
            const auto& les = bucket_texts();
            for (std::size_t i = 0; i < kDurationBuckets.size(); ++i) {
                cumulative += record.bucket_counts[i];
                out += family.name;
                out += "_bucket";
                append_line_labels(out, target, kNoLabels, "le", les[i]);
                out += std::to_string(cumulative);
                out += '\n';
            }
            out += family.name;
            out += "_bucket";
            append_line_labels(out, target, kNoLabels, "le", "+Inf");
            out += std::to_string(count);
            out += '\n';
            return;
        }
        case 3:  // sonde_target_probes_total
            header(kRunsHelp, prometheus::MetricType::Counter);
            out += family.name;
            append_line_labels(out, target, kNoLabels, "result", "success");
            append_value(out, static_cast<double>(record.successes));
            out += '\n';
            out += family.name;
            append_line_labels(out, target, kNoLabels, "result", "failure");
            append_value(out, static_cast<double>(record.failures));
            out += '\n';
            return;
        default:
            return;
    }
}

}  // namespace sonde::app
