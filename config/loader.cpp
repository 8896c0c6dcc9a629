#include "config/loader.hpp"

#include <array>

#include <openssl/evp.h>
#include <yaml-cpp/yaml.h>

#include "config/decoders.hpp"
#include "config/file_text.hpp"

namespace sonde::config {
namespace {

std::string sha256_hex(std::string_view bytes) {
    std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
    unsigned int length = 0;
    if (EVP_Digest(bytes.data(), bytes.size(), digest.data(), &length, EVP_sha256(), nullptr) !=
        1) {
        return {};
    }
    static constexpr char kHex[] = "0123456789abcdef";
    std::string out;
    for (unsigned int i = 0; i < length; ++i) {
        out += kHex[digest[i] >> 4];
        out += kHex[digest[i] & 0xf];
    }
    return out;
}

}  // namespace

Result<LoadedConfig> load_config_text(std::string_view text, const std::string& source) {
    auto config = std::make_shared<Config>();
    config->source = source;
    config->sha256 = sha256_hex(text);
    detail::DecodeContext ctx;
    try {
        const YAML::Node root = YAML::Load(std::string(text));
        detail::decode_config(root, *config, ctx);
    } catch (const detail::DecodeError& error) {
        return unexpected(detail::position_prefix(source, error.mark) + error.detail);
    } catch (const YAML::Exception& error) {
        // Syntax errors (and anything else yaml-cpp refuses) get the same shape.
        return unexpected(detail::position_prefix(source, error.mark) + error.msg);
    }
    LoadedConfig loaded;
    for (const auto& [mark, warning] : ctx.warnings) {
        loaded.warnings.push_back(detail::position_prefix(source, mark) + warning);
    }
    loaded.config = std::move(config);
    return loaded;
}

Result<LoadedConfig> load_config_file(const std::string& path) {
    const FileText text = read_file_text(path);
    if (!text.ok) {
        return unexpected(path + ": cannot " + text.step + ": " + text.reason);
    }
    return load_config_text(text.bytes, path);
}

}  // namespace sonde::config
