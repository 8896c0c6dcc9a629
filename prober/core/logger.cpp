#include "prober/core/logger.hpp"

#include <string>

namespace sonde {

void Logger::log(LogLevel level, std::string_view msg, std::initializer_list<LogField> fields) {
    if (level < level_ || out_ == nullptr) {
        return;
    }
    std::string line;
    append_logfmt_line(line, level, msg, {}, fields, json_);
    std::fwrite(line.data(), 1, line.size(), out_);
    std::fflush(out_);
}

}  // namespace sonde
