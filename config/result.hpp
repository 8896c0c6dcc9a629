#pragma once

// Result<T>: the value of a fallible synchronous step, or the reason it failed.
//
// It lives in config/ because config is the bottom of the dependency graph and is the first
// user; every layer above includes it from here (prober/core/result.hpp re-exports it). The API
// follows std::expected so that C++23 can replace it by a using-declaration.

#include <cassert>
#include <string>
#include <utility>
#include <variant>

namespace sonde {

struct Error {
    std::string message;
};

// unexpected(...) builds the error side, as std::unexpected does.
inline Error unexpected(std::string message) {
    return Error{std::move(message)};
}

template <class T>
class [[nodiscard]] Result {
public:
    Result(T value) : state_(std::in_place_index<0>, std::move(value)) {}      // NOLINT: implicit
    Result(Error error) : state_(std::in_place_index<1>, std::move(error)) {}  // NOLINT: implicit

    bool has_value() const { return state_.index() == 0; }
    explicit operator bool() const { return has_value(); }

    T& value() & {
        assert(has_value());
        return std::get<0>(state_);
    }
    const T& value() const& {
        assert(has_value());
        return std::get<0>(state_);
    }
    T&& value() && {
        assert(has_value());
        return std::get<0>(std::move(state_));
    }
    T* operator->() { return &value(); }
    const T* operator->() const { return &value(); }
    T& operator*() & { return value(); }
    const T& operator*() const& { return value(); }

    const std::string& error() const {
        assert(!has_value());
        return std::get<1>(state_).message;
    }

private:
    std::variant<T, Error> state_;
};

template <>
class [[nodiscard]] Result<void> {
public:
    Result() = default;
    Result(Error error) : error_(std::move(error.message)), failed_(true) {}  // NOLINT: implicit

    bool has_value() const { return !failed_; }
    explicit operator bool() const { return has_value(); }
    const std::string& error() const {
        assert(failed_);
        return error_;
    }

private:
    std::string error_;
    bool failed_ = false;
};

}  // namespace sonde
