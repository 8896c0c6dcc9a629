#pragma once

// ProcessCollector: the standard process_* metrics (as Go's process collector exports them),
// read from /proc/self at scrape time.

#include <vector>

#include <prometheus/collectable.h>
#include <prometheus/metric_family.h>

namespace sonde::app {

class ProcessCollector : public prometheus::Collectable {
public:
    std::vector<prometheus::MetricFamily> Collect() const override;
};

}  // namespace sonde::app
