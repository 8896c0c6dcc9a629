#include "prober/app/debug_output.hpp"

#include "config/loader.hpp"

namespace sonde::app {

std::string debug_output(const std::string& log, const std::string& metrics_text,
                         const config::Module* module) {
    std::string out = "Logs for the probe:\n";
    out += log;
    out += "\n\n\nMetrics that would have been returned:\n";
    out += metrics_text;
    out += "\n\n\nModule configuration:\n";
    if (module != nullptr) {
        out += config::render_module_yaml(*module);
    }
    return out;
}

std::string debug_output(const ProbeLogLines& log, const std::string& metrics_text,
                         const config::Module* module) {
    return debug_output(log.text(), metrics_text, module);
}

}  // namespace sonde::app
