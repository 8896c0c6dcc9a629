#pragma once

// Scheduler: probes scheduled targets (static `targets:` and discovered ones) on sonde's own
// clock and keeps each target's last result for /metrics.
//
// - Sources hand over whole target sets (update()); the scheduler diffs them by target key, so a
//   reload or a re-list keeps the schedule of every unchanged target, and a removed target is
//   dropped at once: its run is cancelled and its series vanish from the next scrape.
// - Each target runs every `interval`, at a phase within the interval taken from a hash of its
//   key and the wall clock, so start times are spread (no thundering herd after a restart) and
//   identical across restarts. The targets of a source's first set start at their phase; a
//   target that appears later (a new annotated Service, a target added by a reload) runs within
//   a second, spread by the same hash, and then joins its phase. A run never overlaps the previous
//   run of the same target; the timeout is the module's, else the interval minus --timeout-offset,
//   never beyond the interval.
// - With sharding, only the targets this replica owns (rendezvous hashing) are scheduled.
//
// Ownership: the App owns the Scheduler; the Scheduler owns every entry, timer and run. Loop
// thread only. Destroying it cancels every run and closes every timer; nothing is called back.

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>

#include <uv.h>

#include "discovery/target.hpp"
#include "modules/icmp/icmp_socket_pool.hpp"
#include "prober/app/metrics_text.hpp"
#include "prober/app/module_runtime.hpp"
#include "prober/app/probe_admission.hpp"
#include "prober/app/probe_runner.hpp"
#include "prober/app/shard.hpp"
#include "prober/app/target_metrics.hpp"
#include "prober/core/loop.hpp"
#include "prober/core/uv_handle.hpp"

namespace sonde::app {

class SelfMetrics;

// When, from now, a target with this key and interval is next due: the phase of the key's hash
// within the interval, on the wall clock. Pure, for tests.
std::uint64_t first_delay_ms(std::string_view key, std::uint64_t interval_ms,
                             std::uint64_t wall_now_ms);

class Scheduler {
public:
    struct Options {
        double timeout_offset = 0.5;  // --timeout-offset
        ShardSpec shard;
        // Results older than this many intervals are not shown (a stuck scheduler must not keep
        // showing a stale probe_success 1).
        double stale_after_intervals = 3;
        // Runs in flight at most, when no shared admission is given. A loop that falls behind
        // (a stall, a starved CPU) finds many targets due at once; beyond the bound their runs
        // wait for a slot and start late (sonde_scheduler_lag_seconds shows by how much) rather
        // than all at once, which bounds memory and descriptors (each run holds a socket and
        // tens of KB) where it would otherwise snowball.
        std::size_t max_running = 10000;
        // The bound shared with /probe (--probe.max-concurrent); it must outlive the scheduler.
        // Null: the scheduler keeps its own, of max_running slots.
        ProbeAdmission* admission = nullptr;
    };
    using RuntimeSource = std::function<std::shared_ptr<const RuntimeConfig>()>;

    Scheduler(ProbeEnvironment env, SelfMetrics& metrics, Options options, RuntimeSource runtime);
    ~Scheduler();
    Scheduler(const Scheduler&) = delete;
    Scheduler& operator=(const Scheduler&) = delete;

    // Replaces the targets of one source ("static", "kubernetes"). A target listed by two
    // sources is scheduled once, with the first source's interval.
    void update(const std::string& source, discovery::TargetSet targets);

    // Cancels every run and stops every timer; update() after stop() is ignored.
    void stop();

    std::size_t scheduled() const { return entries_.size(); }
    std::size_t known() const { return known_; }  // before sharding: every target of every source
    std::size_t running() const { return running_; }
    // Runs due but waiting for a slot of the admission.
    std::size_t waiting() const;
    std::uint64_t skipped_runs() const { return skipped_runs_; }

    // Appends the series of every scheduled target (see target_metrics.hpp) and the scheduler's
    // own gauges, built at once: the reference rendering, for tests and small sets.
    void collect(std::map<std::string, prometheus::MetricFamily>& families) const;
    // Appends only the scheduler's own gauges (sonde_scheduled_targets, ...).
    void collect_summary(std::map<std::string, prometheus::MetricFamily>& families) const;
    // The series of every scheduled target, rendered piece by piece for /metrics: the same text
    // as collect()'s target series. Targets removed while it is in use are skipped, targets
    // added show up if the render has not passed their place yet. It may outlive the
    // scheduler, and then renders nothing more.
    std::unique_ptr<SeriesSource> series() const;
    // Every known target (all sources, before sharding) in Prometheus' HTTP service discovery
    // format, with the module as the __param_module label.
    std::string service_discovery_json() const;

private:
    friend class ScheduledSeries;

    struct Entry {
        Scheduler* owner = nullptr;
        discovery::Target target;
        const std::string* key = nullptr;  // entries_' key of this entry
        UvHandle<uv_timer_t> timer;
        std::uint64_t planned_ns = 0;    // uv_hrtime() at which the next run is due
        std::uint64_t due_ns = 0;        // planned_ns of the run started or waiting now
        ProbeAdmission::Ticket waiting;  // queued for a slot
        ProbeAdmission::Slot slot;       // held while the run is in flight
        std::unique_ptr<ProbeRun> run;
        TargetRecord record;
    };

    // A new entry with its timer, not armed yet; null when the timer could not be made.
    Entry* add(const std::string& key, const discovery::Target& target);
    void arm(Entry& entry, std::uint64_t delay_ms);
    static void on_due(uv_timer_t* timer) noexcept;
    void start_run(Entry& entry, ProbeAdmission::Slot slot);
    void on_report(Entry& entry, ProbeReport report);
    void rebuild(bool prompt_new);
    bool fresh(const Entry& entry, double now) const;

    ProbeEnvironment env_;
    SelfMetrics& metrics_;
    Options options_;
    RuntimeSource runtime_;
    // Shared by every scheduled ping; declared before entries_ so it outlives their runs.
    modules::icmp::IcmpSocketPool icmp_pool_;
    // Declared before entries_, whose slots and tickets point into it.
    std::unique_ptr<ProbeAdmission> own_admission_;
    ProbeAdmission* admission_ = nullptr;
    std::map<std::string, discovery::TargetSet> sources_;
    std::set<std::string> sources_seen_;  // sources that have handed over a first set
    std::map<std::string, std::unique_ptr<Entry>> entries_;  // by target key
    FamilyTable families_;
    std::uint64_t skipped_runs_ = 0;
    std::size_t known_ = 0;    // known(), counted at each rebuild
    std::size_t running_ = 0;  // entries with a run
    bool stopped_ = false;
    Alive alive_;  // lets series() outlive the scheduler
};

}  // namespace sonde::app
