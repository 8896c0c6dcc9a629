#pragma once

// ProbeLog: the log of one probe, in the exporter's logfmt shape.
//
// Every line carries module= and target= like the exporter's per-probe logger. Lines at or
// above the buffer level are kept (structured, see ProbeLogLines) for `debug=true` and /logs;
// lines at or above the stderr level are also formatted at once and written to the process log.
// Owned by the probe run; used on the loop thread only.

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <initializer_list>
#include <iosfwd>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace sonde {

enum class LogLevel { Debug, Info, Warn, Error };

// Parses "debug", "info", "warn", "error"; false when unknown.
bool parse_log_level(std::string_view text, LogLevel& level);
const char* log_level_name(LogLevel level);  // "DEBUG", "INFO", ...

using LogField = std::pair<std::string_view, std::string_view>;

// Appends one logfmt line (no trailing newline handling needed by callers).
void append_logfmt_line(std::string& out, LogLevel level, std::string_view msg,
                        std::initializer_list<LogField> context,
                        std::initializer_list<LogField> fields, bool json = false);

// The lines of one probe's log, kept as they were logged (time, level, message, fields) and only
// formatted when someone reads them: debug=true, /logs, a test. Most probes' logs are never
// read, and formatting every line (timestamps, quoting) cost more than some probes' own work.
// text() gives exactly what formatting each line at log time gave. A value: copyable, movable,
// no reference to the ProbeLog that filled it.
class ProbeLogLines {
public:
    ProbeLogLines() = default;
    ProbeLogLines(std::string module, std::string target)
        : module_(std::move(module)), target_(std::move(target)) {}

    // The exporter's logfmt lines, each ending in '\n'.
    std::string text() const;
    // Appends line `index` (0 <= index < size()) to `out`.
    void append_line(std::string& out, std::size_t index) const;
    std::size_t size() const { return entries_.size(); }
    bool empty() const { return entries_.empty(); }

    void add(std::chrono::system_clock::time_point time, LogLevel level, std::string_view msg,
             std::initializer_list<LogField> fields);

private:
    struct Entry {
        std::chrono::system_clock::time_point time;
        LogLevel level;
        std::uint32_t offset;  // in storage_: the message, then key and value of each field
        std::uint32_t fields;
    };
    void push(std::string_view text);
    std::string_view pop(std::size_t& offset) const;

    std::string module_;
    std::string target_;
    std::vector<Entry> entries_;
    // Every string of every entry, each as a 4-byte length and its bytes: one growing buffer
    // instead of an allocation per string.
    std::string storage_;
};

std::ostream& operator<<(std::ostream& out, const ProbeLogLines& lines);

// Appends one line in the exporter's logfmt shape with the given time (the time of the event,
// which may be formatted much later).
void append_logfmt_line_at(std::string& out, std::chrono::system_clock::time_point time,
                           LogLevel level, std::string_view msg,
                           std::initializer_list<LogField> context,
                           std::initializer_list<LogField> fields, bool json = false);

class ProbeLog {
public:
    // mirror_json: the mirrored lines in the process log's JSON format (--log.format=json);
    // the kept lines stay logfmt, as debug=true shows them in the exporter.
    ProbeLog(std::string module, std::string target, LogLevel buffer_level = LogLevel::Debug,
             std::FILE* mirror = nullptr, LogLevel mirror_level = LogLevel::Info,
             bool mirror_json = false);

    void log(LogLevel level, std::string_view msg, std::initializer_list<LogField> fields = {});
    void debug(std::string_view msg, std::initializer_list<LogField> fields = {}) {
        log(LogLevel::Debug, msg, fields);
    }
    void info(std::string_view msg, std::initializer_list<LogField> fields = {}) {
        log(LogLevel::Info, msg, fields);
    }
    void error(std::string_view msg, std::initializer_list<LogField> fields = {}) {
        log(LogLevel::Error, msg, fields);
    }

    // The kept lines, formatted now.
    std::string text() const { return lines_.text(); }
    const ProbeLogLines& lines() const { return lines_; }
    // Hands the kept lines over (the run's report); the log keeps logging into an empty buffer.
    ProbeLogLines take_lines();

private:
    std::string module_;
    std::string target_;
    LogLevel buffer_level_;
    std::FILE* mirror_;
    LogLevel mirror_level_;
    bool mirror_json_;
    ProbeLogLines lines_;
};

}  // namespace sonde
