#pragma once

// Logger: the process log (stderr), logfmt or JSON, filtered by --log.level. One per process,
// passed by reference; used on the loop thread (and at startup before the loop runs).

#include <cstdio>
#include <initializer_list>
#include <string_view>

#include "prober/core/probe_log.hpp"

namespace sonde {

class Logger {
public:
    explicit Logger(LogLevel level = LogLevel::Info, bool json = false, std::FILE* out = stderr)
        : level_(level), json_(json), out_(out) {}

    void set_level(LogLevel level) { level_ = level; }
    void set_json(bool json) { json_ = json; }
    LogLevel level() const { return level_; }
    bool json() const { return json_; }
    std::FILE* stream() const { return out_; }

    void log(LogLevel level, std::string_view msg, std::initializer_list<LogField> fields = {});
    void debug(std::string_view msg, std::initializer_list<LogField> fields = {}) {
        log(LogLevel::Debug, msg, fields);
    }
    void info(std::string_view msg, std::initializer_list<LogField> fields = {}) {
        log(LogLevel::Info, msg, fields);
    }
    void warn(std::string_view msg, std::initializer_list<LogField> fields = {}) {
        log(LogLevel::Warn, msg, fields);
    }
    void error(std::string_view msg, std::initializer_list<LogField> fields = {}) {
        log(LogLevel::Error, msg, fields);
    }

private:
    LogLevel level_;
    bool json_;
    std::FILE* out_;
};

}  // namespace sonde
