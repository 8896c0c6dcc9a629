#include "prober/app/scheduler.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <set>
#include <vector>

#include <nlohmann/json.hpp>

#include "prober/app/metrics_text.hpp"
#include "prober/app/probe_timeout.hpp"
#include "prober/app/self_metrics.hpp"

namespace sonde::app {
namespace {

constexpr std::uint64_t kNsPerMs = 1000000;

std::uint64_t interval_ms(const discovery::Target& target) {
    const auto ms = target.interval.count();
    return ms < 1000 ? 1000 : static_cast<std::uint64_t>(ms);
}

std::uint64_t wall_now_ms() {
    return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                          std::chrono::system_clock::now().time_since_epoch())
                                          .count());
}

double wall_now_seconds() {
    return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}

double seconds(config::Duration d) {
    return std::chrono::duration_cast<std::chrono::duration<double>>(d).count();
}

}  // namespace

std::uint64_t first_delay_ms(std::string_view key, std::uint64_t interval, std::uint64_t wall_now) {
    if (interval == 0) {
        return 0;
    }
    const std::uint64_t phase = stable_hash(key) % interval;
    const std::uint64_t position = wall_now % interval;
    return (phase + interval - position) % interval;
}

Scheduler::Scheduler(ProbeEnvironment env, SelfMetrics& metrics, Options options,
                     RuntimeSource runtime)
    : env_(env),
      metrics_(metrics),
      options_(options),
      runtime_(std::move(runtime)),
      icmp_pool_(env.loop),
      admission_(options.admission) {
    env_.icmp_pool = &icmp_pool_;
    if (admission_ == nullptr) {
        own_admission_ = std::make_unique<ProbeAdmission>(options_.max_running, env_.loop);
        admission_ = own_admission_.get();
    }
}

Scheduler::~Scheduler() {
    stop();
}

void Scheduler::stop() {
    stopped_ = true;
    for (auto& [key, entry] : entries_) {
        if (entry->run) {
            metrics_.probe_cancelled(entry->target.module);
        }
    }
    // Destroying an entry closes its timer and cancels its run; none of them is on the stack.
    entries_.clear();
    sources_.clear();
    known_ = 0;
    running_ = 0;
}

void Scheduler::update(const std::string& source, discovery::TargetSet targets) {
    if (stopped_) {
        return;
    }
    const bool first = sources_seen_.insert(source).second;
    const auto current = sources_.find(source);
    const bool unchanged = current == sources_.end() ? targets.empty() : current->second == targets;
    if (unchanged) {
        // A reload with the same targets, or a source with none yet saying so: a rebuild would
        // change nothing, and with 100k targets it holds the loop for tens of milliseconds.
        return;
    }
    if (targets.empty()) {
        sources_.erase(source);
    } else {
        sources_[source] = std::move(targets);
    }
    rebuild(!first);
}

void Scheduler::rebuild(bool prompt_new) {
    // The wanted set: every source's targets this replica owns, first source wins a duplicate.
    std::map<std::string, const discovery::Target*> wanted;
    // Without sharding every known target is wanted; with it, the others are counted apart.
    std::set<std::string> unowned;
    for (const auto& [source, targets] : sources_) {
        for (const auto& target : targets) {
            std::string key = discovery::target_key(target);
            if (shard_owns(options_.shard, key)) {
                wanted.try_emplace(std::move(key), &target);
            } else {
                unowned.insert(std::move(key));
            }
        }
    }
    known_ = wanted.size() + unowned.size();
    for (auto it = entries_.begin(); it != entries_.end();) {
        if (wanted.count(it->first) == 0) {
            if (it->second->run) {
                metrics_.probe_cancelled(it->second->target.module);
                --running_;
            }
            it = entries_.erase(it);  // cancels its run, closes its timer
        } else {
            ++it;
        }
    }
    // New entries are made first and armed after: making 100k of them takes a few hundred
    // milliseconds of the loop, and runs armed early in that pass would be due, and late,
    // before it ends. Arming alone is a small fraction of it.
    std::vector<Entry*> added;
    for (const auto& [key, target] : wanted) {
        auto it = entries_.find(key);
        if (it == entries_.end()) {
            if (Entry* entry = add(key, *target)) {
                added.push_back(entry);
            }
        } else if (it->second->target.interval != target->interval) {
            // Same target, new interval: keep its record, move it to its phase in the new one.
            Entry& entry = *it->second;
            entry.target.interval = target->interval;
            arm(entry, first_delay_ms(key, interval_ms(entry.target), wall_now_ms()));
        }
    }
    for (Entry* entry : added) {
        const std::uint64_t interval = interval_ms(entry->target);
        // A target that just appeared is probed within a second (its hash spreads a burst of
        // new ones over that second); the rest wait for their phase.
        arm(*entry, prompt_new ? stable_hash(*entry->key) % std::min<std::uint64_t>(interval, 1000)
                               : first_delay_ms(*entry->key, interval, wall_now_ms()));
    }
}

Scheduler::Entry* Scheduler::add(const std::string& key, const discovery::Target& target) {
    auto entry = std::make_unique<Entry>();
    entry->owner = this;
    entry->target = target;
    Entry& ref = *entry;
    const int rc =
        ref.timer.init(&ref, [this](uv_timer_t* t) { return uv_timer_init(env_.loop.raw(), t); });
    if (rc != 0) {
        // Out of resources: the target is left out rather than half scheduled; the count of
        // scheduled targets on /metrics shows it.
        return nullptr;
    }
    ref.key = &entries_.emplace(key, std::move(entry)).first->first;
    return &ref;
}

void Scheduler::arm(Entry& entry, std::uint64_t delay_ms) {
    entry.planned_ns = uv_hrtime() + delay_ms * kNsPerMs;
    // libuv counts from its cached loop time; refresh it so the delay is measured from now.
    uv_update_time(env_.loop.raw());
    uv_timer_start(entry.timer.get(), &Scheduler::on_due, delay_ms, 0);
}

void Scheduler::on_due(uv_timer_t* timer) noexcept {
    auto* entry = owner_of<Entry>(timer);
    if (entry == nullptr) {
        return;
    }
    Scheduler& self = *entry->owner;
    const std::uint64_t due = entry->planned_ns;

    // The next slot of this target's phase on the wall clock, at least half an interval away:
    // after a prompt first run it joins its phase, a late timer does not drift, and slots
    // already missed (a stalled loop) are skipped rather than run back to back.
    const std::uint64_t interval = interval_ms(entry->target);
    std::uint64_t delay_ms = first_delay_ms(*entry->key, interval, wall_now_ms());
    if (delay_ms < interval / 2) {
        delay_ms += interval;
    }
    self.arm(*entry, delay_ms);

    if (entry->run || entry->waiting.waiting()) {
        // The previous run has not reported yet (its timeout is the whole interval), or it is
        // still waiting for a slot: no overlap, and no second place in the queue.
        ++self.skipped_runs_;
        return;
    }
    entry->due_ns = due;
    if (auto slot = self.admission_->try_acquire()) {
        self.start_run(*entry, std::move(slot));
        return;
    }
    // Every slot is taken (--probe.max-concurrent): the run waits for one and starts late
    // rather than not at all. The ticket lives in the entry, so removing the target leaves the
    // queue.
    entry->waiting = self.admission_->enqueue([&self, entry](ProbeAdmission::Slot granted) {
        self.start_run(*entry, std::move(granted));
    });
}

std::size_t Scheduler::waiting() const {
    std::size_t n = 0;
    for (const auto& [key, entry] : entries_) {
        n += entry->waiting.waiting() ? 1 : 0;
    }
    return n;
}

void Scheduler::start_run(Entry& entry, ProbeAdmission::Slot slot) {
    // The lag is taken when the run really starts: a run that waited for a slot shows its wait.
    const std::uint64_t now = uv_hrtime();
    const std::uint64_t lag = now > entry.due_ns ? now - entry.due_ns : 0;
    metrics_.scheduling_lag(static_cast<double>(lag) / 1e9);
    entry.slot = std::move(slot);

    const std::shared_ptr<const RuntimeConfig> runtime = runtime_();
    const auto module = runtime->config->modules.find(entry.target.module);
    const double interval = static_cast<double>(interval_ms(entry.target)) / 1000.0;
    const double module_timeout =
        module == runtime->config->modules.end() ? 0 : seconds(module->second.timeout);

    ProbeRequest request;
    request.config = runtime->config;
    request.module_name = entry.target.module;
    request.target = entry.target.target;
    request.timeout_seconds =
        scheduled_timeout_seconds(interval, options_.timeout_offset, module_timeout);
    request.tls = runtime->tls_for(entry.target.module);
    request.scheduled = true;
    metrics_.probe_started();
    Entry* target = &entry;
    ++running_;
    entry.run = ProbeRun::start(env_, std::move(request), [this, target](ProbeReport report) {
        on_report(*target, std::move(report));
    });
}

void Scheduler::on_report(Entry& entry, ProbeReport report) {
    metrics_.probe_finished(entry.target.module, report.success, report.failure);
    if (report.denied) {
        metrics_.probe_denied(config::deny_reason_label(report.denied->reason));
    }
    entry.record.add_run(report.success, report.failure, report.duration_seconds,
                         wall_now_seconds(), record_registry(*report.registry, families_));
    // This runs inside the run's own report callback: it is deleted on a later iteration.
    env_.loop.defer_delete(std::move(entry.run));
    entry.slot.release();
    --running_;
}

void Scheduler::collect(std::map<std::string, prometheus::MetricFamily>& families) const {
    const double now = wall_now_seconds();
    for (const auto& [key, entry] : entries_) {
        append_target_series(families, entry->target, entry->record, fresh(*entry, now));
    }
    collect_summary(families);
}

bool Scheduler::fresh(const Entry& entry, double now) const {
    const double stale_after =
        options_.stale_after_intervals * static_cast<double>(interval_ms(entry.target)) / 1000.0;
    return now - entry.record.last_run_unix <= stale_after;
}

void Scheduler::collect_summary(std::map<std::string, prometheus::MetricFamily>& families) const {
    auto gauge = [&families](const char* name, const char* help, prometheus::MetricType type,
                             double value) {
        families[name] = single_value_family(name, help, value, type);
    };
    gauge("sonde_scheduled_targets", "Targets this replica probes on its own schedule.",
          prometheus::MetricType::Gauge, static_cast<double>(entries_.size()));
    gauge("sonde_known_targets",
          "Targets of every source (static and discovered) before sharding over replicas.",
          prometheus::MetricType::Gauge, static_cast<double>(known_));
    gauge("sonde_scheduler_skipped_runs_total",
          "Scheduled runs skipped because the previous run of the target was still going or "
          "still waiting for a slot.",
          prometheus::MetricType::Counter, static_cast<double>(skipped_runs_));
}

// Renders the targets' series family by family, each family a pass over the entries in key
// order; a call resumes at the first entry at or after the cursor's key, so entries removed
// between calls are simply not found again.
class ScheduledSeries final : public SeriesSource {
public:
    ScheduledSeries(const Scheduler& owner, double now)
        : owner_(&owner), alive_(owner.alive_.watch()), now_(now) {}

    std::vector<std::string> family_names() const override {
        std::vector<std::string> names;
        if (alive_.expired()) {
            return names;
        }
        names = owner_->families_.names();
        names.insert(names.end(), kTargetFamilyNames.begin(), kTargetFamilyNames.end());
        return names;
    }

    bool render(const std::string& name, SeriesCursor& cursor, std::string& out,
                std::size_t budget) override {
        if (alive_.expired()) {
            return true;
        }
        FamilySelector family;
        family.name = name;
        const auto own = std::find(kTargetFamilyNames.begin(), kTargetFamilyNames.end(), name);
        if (own != kTargetFamilyNames.end()) {
            family.own = static_cast<int>(own - kTargetFamilyNames.begin());
        } else {
            const std::int64_t id = owner_->families_.name_id(name);
            if (id < 0) {
                return true;
            }
            family.name_id = static_cast<std::uint32_t>(id);
        }
        const auto& entries = owner_->entries_;
        auto it = cursor.started ? entries.lower_bound(cursor.next_key) : entries.begin();
        cursor.started = true;
        const std::size_t start = out.size();
        // Entries without a line of this family cost a visit but no bytes: bound both.
        std::size_t visited = 0;
        for (; it != entries.end() && out.size() - start < budget && visited < kEntriesPerCall;
             ++it, ++visited) {
            const Scheduler::Entry& entry = *it->second;
            append_target_lines(out, family, entry.target, entry.record, owner_->fresh(entry, now_),
                                cursor.header_written);
        }
        if (it == entries.end()) {
            return true;
        }
        cursor.next_key = it->first;
        return false;
    }

private:
    static constexpr std::size_t kEntriesPerCall = 2000;

    const Scheduler* owner_;
    std::weak_ptr<const char> alive_;
    double now_;  // one clock for the whole scrape, as collect() has
};

std::unique_ptr<SeriesSource> Scheduler::series() const {
    return std::make_unique<ScheduledSeries>(*this, wall_now_seconds());
}

std::string Scheduler::service_discovery_json() const {
    nlohmann::json groups = nlohmann::json::array();
    std::set<std::string> seen;
    for (const auto& [source, targets] : sources_) {
        for (const auto& target : targets) {
            if (!seen.insert(discovery::target_key(target)).second) {
                continue;
            }
            nlohmann::json labels = nlohmann::json::object();
            labels["__param_module"] = target.module;
            for (const auto& [name, value] : target.labels) {
                labels[name] = value;
            }
            groups.push_back({{"targets", {target.target}}, {"labels", labels}});
        }
    }
    return groups.dump(2) + "\n";
}

}  // namespace sonde::app
