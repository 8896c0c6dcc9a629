#include "modules/common/tls_metrics_format.hpp"

#include <array>
#include <chrono>
#include <ctime>
#include <memory>
#include <string_view>
#include <vector>

#include <openssl/asn1.h>
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/x509v3.h>

namespace sonde::modules {
namespace {

constexpr std::string_view kHexDigits = "0123456789abcdef";

std::string hex(const unsigned char* data, std::size_t size) {
    std::string text;
    text.reserve(size * 2);
    for (std::size_t i = 0; i < size; ++i) {
        text += kHexDigits[data[i] >> 4U];
        text += kHexDigits[data[i] & 0x0FU];
    }
    return text;
}

// An attribute value as Go's parseASN1String returns it: the raw bytes for the 8-bit string
// types (Go does not transcode T61String either), UTF-8 for BMPString.
std::string value_text(const ASN1_STRING* value) {
    const int type = ASN1_STRING_type(value);
    if (type == V_ASN1_BMPSTRING || type == V_ASN1_UNIVERSALSTRING) {
        unsigned char* utf8 = nullptr;
        const int length = ASN1_STRING_to_UTF8(&utf8, value);
        if (length < 0) {
            return {};
        }
        std::string text(reinterpret_cast<const char*>(utf8), static_cast<std::size_t>(length));
        OPENSSL_free(utf8);
        return text;
    }
    return {reinterpret_cast<const char*>(ASN1_STRING_get0_data(value)),
            static_cast<std::size_t>(ASN1_STRING_length(value))};
}

// utf8.ValidString: no overlong forms, no surrogates, nothing above U+10FFFF.
bool valid_utf8(std::string_view text) {
    std::size_t i = 0;
    while (i < text.size()) {
        const auto c = static_cast<unsigned char>(text[i]);
        if (c < 0x80) {
            ++i;
            continue;
        }
        std::size_t extra = 0;
        unsigned char low = 0x80;  // the allowed range of the second byte
        unsigned char high = 0xBF;
        if (c >= 0xC2 && c <= 0xDF) {
            extra = 1;
        } else if (c >= 0xE0 && c <= 0xEF) {
            extra = 2;
            low = c == 0xE0 ? 0xA0 : 0x80;
            high = c == 0xED ? 0x9F : 0xBF;
        } else if (c >= 0xF0 && c <= 0xF4) {
            extra = 3;
            low = c == 0xF0 ? 0x90 : 0x80;
            high = c == 0xF4 ? 0x8F : 0xBF;
        } else {
            return false;
        }
        if (i + extra >= text.size()) {
            return false;
        }
        const auto second = static_cast<unsigned char>(text[i + 1]);
        if (second < low || second > high) {
            return false;
        }
        for (std::size_t k = 2; k <= extra; ++k) {
            if ((static_cast<unsigned char>(text[i + k]) & 0xC0U) != 0x80U) {
                return false;
            }
        }
        i += extra + 1;
    }
    return true;
}

// encoding/asn1's PrintableString alphabet, as Marshal uses it to pick a string type ('*' and
// '&' are rejected there).
bool go_printable(unsigned char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == ' ' ||
           c == '\'' || c == '(' || c == ')' || c == '+' || c == ',' || c == '-' || c == '.' ||
           c == '/' || c == ':' || c == '=' || c == '?';
}

// asn1.Marshal(string): PrintableString when every character allows it, else UTF8String.
std::string go_marshal_string(std::string_view value) {
    bool printable = true;
    for (const char c : value) {
        printable = printable && go_printable(static_cast<unsigned char>(c));
    }
    std::vector<unsigned char> der;
    der.push_back(printable ? 0x13 : 0x0C);
    const std::size_t length = value.size();
    if (length < 0x80) {
        der.push_back(static_cast<unsigned char>(length));
    } else {
        std::vector<unsigned char> bytes;
        for (std::size_t rest = length; rest > 0; rest >>= 8U) {
            bytes.insert(bytes.begin(), static_cast<unsigned char>(rest & 0xFFU));
        }
        der.push_back(static_cast<unsigned char>(0x80U | bytes.size()));
        der.insert(der.end(), bytes.begin(), bytes.end());
    }
    der.insert(der.end(), value.begin(), value.end());
    return hex(der.data(), der.size());
}

// The escaping loop of Go's RDNSequence.String().
std::string go_escape(std::string_view value) {
    std::string escaped;
    escaped.reserve(value.size());
    for (std::size_t k = 0; k < value.size(); ++k) {
        const char c = value[k];
        bool escape = false;
        switch (c) {
            case ',':
            case '+':
            case '"':
            case '\\':
            case '<':
            case '>':
            case ';':
                escape = true;
                break;
            case ' ':
                escape = k == 0 || k == value.size() - 1;
                break;
            case '#':
                escape = k == 0;
                break;
            default:
                break;
        }
        if (escape) {
            escaped += '\\';
        }
        escaped += c;
    }
    return escaped;
}

struct Attribute {
    std::string type;  // "CN", ... or the dotted OID
    std::string value;
    bool hex_form = false;  // "<oid>=#<der>" (no escaping)
};
using Rdn = std::vector<Attribute>;

std::string oid_text(const ASN1_OBJECT* object) {
    std::array<char, 128> buffer{};
    const int length = OBJ_obj2txt(buffer.data(), static_cast<int>(buffer.size()), object, 1);
    return length > 0 ? std::string(buffer.data()) : std::string();
}

}  // namespace

std::string go_name_string(const X509_NAME* name) {
    if (name == nullptr) {
        return {};
    }
    // pkix.Name's fields, filled the way FillFromRDNSequence does.
    std::vector<std::string> country;
    std::vector<std::string> province;
    std::vector<std::string> locality;
    std::vector<std::string> street;
    std::vector<std::string> postal_code;
    std::vector<std::string> organization;
    std::vector<std::string> unit;
    std::string common_name;
    std::string serial_number;
    std::vector<Rdn> rdns;  // the non-standard attributes come first

    for (int i = 0; i < X509_NAME_entry_count(name); ++i) {
        const X509_NAME_ENTRY* entry = X509_NAME_get_entry(name, i);
        const std::string oid = oid_text(X509_NAME_ENTRY_get_object(entry));
        const std::string value = value_text(X509_NAME_ENTRY_get_data(entry));
        if (oid == "2.5.4.3") {
            common_name = value;
        } else if (oid == "2.5.4.5") {
            serial_number = value;
        } else if (oid == "2.5.4.6") {
            country.push_back(value);
        } else if (oid == "2.5.4.7") {
            locality.push_back(value);
        } else if (oid == "2.5.4.8") {
            province.push_back(value);
        } else if (oid == "2.5.4.9") {
            street.push_back(value);
        } else if (oid == "2.5.4.10") {
            organization.push_back(value);
        } else if (oid == "2.5.4.11") {
            unit.push_back(value);
        } else if (oid == "2.5.4.17") {
            postal_code.push_back(value);
        } else if (valid_utf8(value)) {
            rdns.push_back({Attribute{oid, go_marshal_string(value), true}});
        } else {
            // asn1.Marshal rejects invalid UTF-8; Go then prints the OID with the escaped value.
            rdns.push_back({Attribute{oid, value, false}});
        }
    }

    // ToRDNSequence: one RDN per field, holding all of its values.
    const auto append = [&rdns](const std::vector<std::string>& values, const char* type) {
        if (values.empty()) {
            return;
        }
        Rdn rdn;
        for (const std::string& value : values) {
            rdn.push_back(Attribute{type, value, false});
        }
        rdns.push_back(std::move(rdn));
    };
    append(country, "C");
    append(province, "ST");
    append(locality, "L");
    append(street, "STREET");
    append(postal_code, "POSTALCODE");
    append(organization, "O");
    append(unit, "OU");
    if (!common_name.empty()) {
        append({common_name}, "CN");
    }
    if (!serial_number.empty()) {
        append({serial_number}, "SERIALNUMBER");
    }

    std::string text;
    for (auto rdn = rdns.rbegin(); rdn != rdns.rend(); ++rdn) {
        if (rdn != rdns.rbegin()) {
            text += ',';
        }
        for (std::size_t j = 0; j < rdn->size(); ++j) {
            const Attribute& attribute = (*rdn)[j];
            if (j > 0) {
                text += '+';
            }
            text += attribute.type;
            text += attribute.hex_form ? "=#" + attribute.value : "=" + go_escape(attribute.value);
        }
    }
    return text;
}

std::string go_serial_hex(const X509* cert) {
    const ASN1_INTEGER* serial = X509_get0_serialNumber(cert);
    std::unique_ptr<BIGNUM, decltype(&BN_free)> number(ASN1_INTEGER_to_BN(serial, nullptr),
                                                       &BN_free);
    if (!number) {
        return {};
    }
    std::vector<unsigned char> bytes(static_cast<std::size_t>(BN_num_bytes(number.get())));
    const int length = BN_bn2bin(number.get(), bytes.data());
    return hex(bytes.data(), static_cast<std::size_t>(length));
}

std::string sha256_fingerprint(const X509* cert) {
    std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
    unsigned int length = 0;
    if (X509_digest(cert, EVP_sha256(), digest.data(), &length) != 1) {
        return {};
    }
    return hex(digest.data(), length);
}

std::string dns_names_joined(const X509* cert) {
    std::string text;
    auto* sans =
        static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr));
    if (sans == nullptr) {
        return text;
    }
    bool first = true;
    for (int i = 0; i < sk_GENERAL_NAME_num(sans); ++i) {
        const GENERAL_NAME* san = sk_GENERAL_NAME_value(sans, i);
        if (san->type != GEN_DNS) {
            continue;
        }
        if (!first) {
            text += ',';
        }
        first = false;
        text += value_text(san->d.dNSName);
    }
    GENERAL_NAMES_free(sans);
    return text;
}

double not_after_unix(const X509* cert) {
    std::tm tm{};
    if (ASN1_TIME_to_tm(X509_get0_notAfter(cert), &tm) != 1) {
        return kGoZeroTimeUnix;
    }
    // Civil date to days since 1970 without timegm (not standard C++, and it depends on time_t).
    using namespace std::chrono;
    const sys_days day = year{tm.tm_year + 1900} / month{static_cast<unsigned>(tm.tm_mon + 1)} /
                         static_cast<unsigned>(tm.tm_mday);
    const auto seconds = day.time_since_epoch() + hours{tm.tm_hour} + minutes{tm.tm_min} +
                         std::chrono::seconds{tm.tm_sec};
    return static_cast<double>(duration_cast<std::chrono::seconds>(seconds).count());
}

}  // namespace sonde::modules
