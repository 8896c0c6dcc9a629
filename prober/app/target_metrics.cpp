#include "prober/app/target_metrics.hpp"

#include <algorithm>
#include <limits>

#include <prometheus/registry.h>

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
        it->second = std::make_unique<Family>(Family{name, help, type});
    }
    return it->second.get();
}

std::vector<RecordedSample> record_registry(const prometheus::Registry& registry,
                                            FamilyTable& table) {
    std::vector<RecordedSample> samples;
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
            samples.push_back(RecordedSample{meta, metric.label, value});
        }
    }
    samples.shrink_to_fit();
    return samples;
}

void TargetRecord::add_run(bool success, modules::FailureKind failure, double duration_seconds,
                           double finished_unix, std::vector<RecordedSample> samples) {
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
    if (fresh) {
        for (const RecordedSample& sample : record.last_samples) {
            add_sample(
                family(families, sample.family->name, sample.family->help, sample.family->type),
                series_labels(target, sample.labels), sample.value);
        }
    }

    auto& runs = family(families, "sonde_target_probes_total",
                        "Scheduled probes of this target since it was first scheduled, by result.",
                        prometheus::MetricType::Counter);
    Labels labels = base;
    labels.push_back({"result", "success"});
    add_sample(runs, labels, static_cast<double>(record.successes));
    labels.back().value = "failure";
    add_sample(runs, std::move(labels), static_cast<double>(record.failures));

    auto& histogram = family(families, "sonde_target_probe_duration_seconds",
                             "Duration of the scheduled probes of this target.",
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

    add_sample(family(families, "sonde_target_last_run_timestamp_seconds",
                      "Unix time at which the last scheduled probe of this target ended.",
                      prometheus::MetricType::Gauge),
               base, record.last_run_unix);

    if (fresh && !record.last_success) {
        Labels reason = base;
        reason.push_back({"reason", modules::failure_kind_name(record.last_failure)});
        add_sample(family(families, "sonde_target_failure_reason",
                          "Why the last scheduled probe of this target failed (resolve, connect, "
                          "tls, timeout, protocol, validation, internal); absent after a success.",
                          prometheus::MetricType::Gauge),
                   std::move(reason), 1);
    }
}

}  // namespace sonde::app
