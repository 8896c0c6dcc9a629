#include "prober/app/process_metrics.hpp"

#include <fstream>
#include <sstream>
#include <string>

#include <dirent.h>
#include <sys/resource.h>
#include <unistd.h>

#include "prober/app/metrics_text.hpp"

namespace sonde::app {
namespace {

double count_open_fds() {
    DIR* dir = opendir("/proc/self/fd");
    if (dir == nullptr) {
        return 0;
    }
    double count = 0;
    while (const dirent* entry = readdir(dir)) {
        if (entry->d_name[0] != '.') {
            count += 1;
        }
    }
    closedir(dir);
    return count - 1;  // the directory stream's own descriptor
}

double boot_time_seconds() {
    std::ifstream stat("/proc/stat");
    std::string key;
    double value = 0;
    while (stat >> key) {
        if (key == "btime") {
            stat >> value;
            return value;
        }
        stat.ignore(1 << 20, '\n');
    }
    return 0;
}

}  // namespace

std::vector<prometheus::MetricFamily> ProcessCollector::Collect() const {
    std::vector<prometheus::MetricFamily> families;
    std::ifstream stat_file("/proc/self/stat");
    std::string stat;
    std::getline(stat_file, stat);
    // Fields after the parenthesised command name; see proc(5).
    const auto close = stat.rfind(')');
    if (close != std::string::npos) {
        std::istringstream fields(stat.substr(close + 2));
        std::string field;
        std::vector<std::string> values;
        while (fields >> field) {
            values.push_back(field);
        }
        const double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
        const double page = static_cast<double>(sysconf(_SC_PAGESIZE));
        // values[0] is field 3 (state): utime is field 14, stime 15, starttime 22, vsize 23,
        // rss 24.
        if (values.size() > 21) {
            const double cpu = (std::stod(values[11]) + std::stod(values[12])) / ticks;
            families.push_back(single_value_family(
                "process_cpu_seconds_total", "Total user and system CPU time spent in seconds.",
                cpu, prometheus::MetricType::Counter));
            families.push_back(
                single_value_family("process_start_time_seconds",
                                    "Start time of the process since unix epoch in seconds.",
                                    boot_time_seconds() + std::stod(values[19]) / ticks));
            families.push_back(single_value_family("process_virtual_memory_bytes",
                                                   "Virtual memory size in bytes.",
                                                   std::stod(values[20])));
            families.push_back(single_value_family("process_resident_memory_bytes",
                                                   "Resident memory size in bytes.",
                                                   std::stod(values[21]) * page));
        }
    }
    families.push_back(single_value_family("process_open_fds", "Number of open file descriptors.",
                                           count_open_fds()));
    rlimit limit{};
    if (getrlimit(RLIMIT_NOFILE, &limit) == 0) {
        families.push_back(single_value_family("process_max_fds",
                                               "Maximum number of open file descriptors.",
                                               static_cast<double>(limit.rlim_cur)));
    }
    return families;
}

}  // namespace sonde::app
