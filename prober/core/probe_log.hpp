#pragma once

// ProbeLog: the log of one probe, in the exporter's logfmt shape.
//
// Every line carries module= and target= like the exporter's per-probe logger. Lines at or
// above the buffer level are kept for `debug=true` and /logs; lines at or above the stderr level
// are also written to the process log. Owned by the probe run; used on the loop thread only.

#include <cstdio>
#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>

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

class ProbeLog {
public:
    ProbeLog(std::string module, std::string target, LogLevel buffer_level = LogLevel::Debug,
             std::FILE* mirror = nullptr, LogLevel mirror_level = LogLevel::Info);

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

    const std::string& text() const { return buffer_; }

private:
    std::string module_;
    std::string target_;
    LogLevel buffer_level_;
    std::FILE* mirror_;
    LogLevel mirror_level_;
    std::string buffer_;
};

}  // namespace sonde
