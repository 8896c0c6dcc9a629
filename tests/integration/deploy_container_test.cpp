// deploy/container/Containerfile, checked without a container engine (none runs on the CI
// machines): its two stages are the ones the docs promise, every package the runtime stage
// installs exists in Debian, every shared library the sonde binary needs comes from a package
// the runtime image holds, and the ENTRYPOINT with the default config it copies in starts.

#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "tests/support/source_tree.hpp"
#include "tests/support/subprocess.hpp"

namespace sonde {
namespace {

std::vector<std::string> words(const std::string& text) {
    std::istringstream in(text);
    std::vector<std::string> out;
    for (std::string word; in >> word;) {
        out.push_back(word);
    }
    return out;
}

struct Instruction {
    std::string keyword;  // FROM, RUN, ...
    std::string rest;     // the arguments, continuation lines joined
};

struct Stage {
    std::string from;  // "debian:bookworm AS build"
    std::vector<Instruction> instructions;

    std::string all(const std::string& keyword) const {
        std::string joined;
        for (const auto& instruction : instructions) {
            if (instruction.keyword == keyword) {
                joined += instruction.rest + "\n";
            }
        }
        return joined;
    }
};

// Dockerfile syntax, as far as this file uses it: comment lines are dropped (also inside a
// continued instruction, as the builder does), a trailing backslash continues the line.
std::vector<Stage> parse_containerfile(const std::string& text) {
    std::vector<Stage> stages;
    std::istringstream in(text);
    std::string logical;
    auto finish = [&] {
        const auto start = logical.find_first_not_of(" \t");
        if (start == std::string::npos) {
            logical.clear();
            return;
        }
        const auto space = logical.find(' ', start);
        Instruction instruction{logical.substr(start, space - start),
                                space == std::string::npos ? "" : logical.substr(space + 1)};
        logical.clear();
        if (instruction.keyword == "FROM") {
            stages.push_back(Stage{instruction.rest, {}});
            return;
        }
        REQUIRE(!stages.empty());
        stages.back().instructions.push_back(std::move(instruction));
    };
    for (std::string line; std::getline(in, line);) {
        const auto first = line.find_first_not_of(" \t");
        if (first == std::string::npos || line[first] == '#') {
            continue;
        }
        if (line.back() == '\\') {
            logical += line.substr(0, line.size() - 1) + " ";
            continue;
        }
        logical += line;
        finish();
    }
    finish();
    return stages;
}

// The packages an `apt-get install` / `apt-get purge` in the text names (options skipped).
std::set<std::string> apt_packages(const std::string& run, const std::string& verb) {
    std::set<std::string> packages;
    const auto tokens = words(run);
    for (std::size_t i = 0; i + 1 < tokens.size(); ++i) {
        if (tokens[i] == "apt-get" && tokens[i + 1] == verb) {
            for (std::size_t j = i + 2; j < tokens.size() && tokens[j] != "&&"; ++j) {
                if (tokens[j][0] != '-') {
                    packages.insert(tokens[j]);
                }
            }
        }
    }
    return packages;
}

std::vector<Stage> stages() {
    return parse_containerfile(
        test::read_text_file(test::kSourceDir + "deploy/container/Containerfile"));
}

std::vector<std::string> entrypoint(const Stage& stage) {
    const std::string text = stage.all("ENTRYPOINT");
    REQUIRE(!text.empty());
    return nlohmann::json::parse(text).get<std::vector<std::string>>();
}

// Runtime packages that provide no library: the trust store for TLS probes, and setcap's
// package (installed and purged again in the same step).
const std::set<std::string> kNotLibraries = {"ca-certificates", "libcap2-bin"};

// Every package apt-get would install along with the given ones.
std::set<std::string> dependency_closure(const std::set<std::string>& roots) {
    std::vector<std::string> argv = {"/usr/bin/apt-cache", "depends",       "--recurse",
                                     "--no-recommends",    "--no-suggests", "--no-conflicts",
                                     "--no-breaks",        "--no-replaces", "--no-enhances"};
    argv.insert(argv.end(), roots.begin(), roots.end());
    const auto result = test::run_command(argv, 60000);
    INFO(result.output.substr(0, 2000));
    REQUIRE(result.exit_code == 0);
    std::set<std::string> closure;
    std::istringstream lines(result.output);
    for (std::string line; std::getline(lines, line);) {
        // Package names start a line; their dependencies are indented; <virtual> ones skipped.
        if (!line.empty() && line[0] != ' ' && line[0] != '<') {
            closure.insert(line.substr(0, line.find(':')));
        }
    }
    return closure;
}

// The packages that ship the given libraries, in one dpkg call (each costs a second). With
// merged /usr, dpkg knows a file by the path its package used, which may be the symlink, its
// target, or either with /usr dropped or added: all are asked for.
std::map<std::string, std::string> packages_of(const std::vector<std::string>& paths) {
    std::map<std::string, std::string> owner_of_candidate;
    std::map<std::string, std::vector<std::string>> candidates;
    std::vector<std::string> argv = {"/usr/bin/dpkg", "-S"};
    for (const auto& path : paths) {
        const std::string real = std::filesystem::canonical(path).string();
        for (const auto& known : {path, real}) {
            candidates[path].push_back(known);
            candidates[path].push_back(known.rfind("/usr/", 0) == 0 ? known.substr(4)
                                                                    : "/usr" + known);
        }
        argv.insert(argv.end(), candidates[path].begin(), candidates[path].end());
    }
    // Exits non-zero because some candidates are unknown; the known ones are printed as
    // "package:arch: path".
    const auto owners = test::run_command(argv, 60000);
    std::istringstream lines(owners.output);
    for (std::string line; std::getline(lines, line);) {
        const auto separator = line.find(": /");
        if (separator != std::string::npos && line.rfind("dpkg-query:", 0) != 0) {
            const std::string package = line.substr(0, line.find(':'));
            owner_of_candidate[line.substr(separator + 2)] = package;
        }
    }
    std::map<std::string, std::string> packages;
    for (const auto& path : paths) {
        for (const auto& candidate : candidates[path]) {
            if (owner_of_candidate.count(candidate) == 1) {
                packages[path] = owner_of_candidate[candidate];
            }
        }
        INFO(owners.output);
        INFO("no package ships " << path);
        REQUIRE(packages.count(path) == 1);
    }
    return packages;
}

}  // namespace

TEST_CASE("deploy/container: a Debian 12 build stage and a slim non-root runtime stage",
          "[integration][deploy]") {
    const auto all = stages();
    REQUIRE(all.size() == 2);
    const Stage& build = all[0];
    const Stage& runtime = all[1];
    CHECK(build.from == "debian:bookworm AS build");
    CHECK(runtime.from == "debian:bookworm-slim");

    // The build stage installs what the repository's own script installs and builds Release
    // without the tests.
    const std::string build_runs = build.all("RUN");
    CHECK(build_runs.find("scripts/install-deps.sh") != std::string::npos);
    CHECK(build_runs.find("-DCMAKE_BUILD_TYPE=Release") != std::string::npos);
    CHECK(build_runs.find("-DSONDE_BUILD_TESTS=OFF") != std::string::npos);

    // Runtime: a non-root user, the exporter's port, only -dev-free runtime packages, and the
    // binary given CAP_NET_RAW as a file capability (checked with getcap in the same step).
    CHECK(runtime.all("USER") == "65532:65532\n");
    CHECK(runtime.all("EXPOSE") == "9115\n");
    const std::string runtime_runs = runtime.all("RUN");
    const auto installed = apt_packages(runtime_runs, "install");
    REQUIRE(installed.size() >= 9);
    for (const auto& package : installed) {
        INFO(package);
        CHECK(package.find("-dev") == std::string::npos);
    }
    const auto binary = entrypoint(runtime).at(0);
    CHECK(runtime_runs.find("setcap cap_net_raw+ep " + binary) != std::string::npos);
    CHECK(runtime_runs.find("getcap " + binary) != std::string::npos);
    CHECK(runtime_runs.find("useradd --system --uid 65532") != std::string::npos);
    // What is purged again is a tool, never a library the binary needs.
    for (const auto& package : apt_packages(runtime_runs, "purge")) {
        INFO("purged " << package);
        CHECK(kNotLibraries.count(package) == 1);
    }

    // The build context leaves out the git metadata and every build tree (build/,
    // build-asan/, ...), which would make it large and bust the layer cache.
    const auto ignored = words(test::read_text_file(test::kSourceDir + ".dockerignore"));
    const std::set<std::string> patterns(ignored.begin(), ignored.end());
    CHECK(patterns.count(".git") == 1);
    CHECK(patterns.count("build*") == 1);
}

TEST_CASE("deploy/container: every runtime package exists in Debian", "[integration][deploy]") {
    const auto listed = apt_packages(stages()[1].all("RUN"), "install");
    REQUIRE(!listed.empty());
    // One apt-cache call for all (each costs seconds): a package exists when it is installed
    // (this machine is Debian 12) or apt's lists have a candidate for it.
    std::vector<std::string> argv = {"/usr/bin/apt-cache", "policy"};
    argv.insert(argv.end(), listed.begin(), listed.end());
    const auto policy = test::run_command(argv, 60000);
    INFO(policy.output);
    REQUIRE(policy.exit_code == 0);
    std::set<std::string> known;
    std::istringstream lines(policy.output);
    std::string package;
    for (std::string line; std::getline(lines, line);) {
        if (!line.empty() && line[0] != ' ' && line.back() == ':') {
            package = line.substr(0, line.size() - 1);
        } else if ((line.rfind("  Installed: ", 0) == 0 || line.rfind("  Candidate: ", 0) == 0) &&
                   line.substr(13) != "(none)") {
            known.insert(package);
        }
    }
    for (const auto& name : listed) {
        INFO(name);
        CHECK(known.count(name) == 1);
    }
}

TEST_CASE("deploy/container: every library sonde links comes from a package of the image",
          "[integration][deploy]") {
    std::set<std::string> listed = apt_packages(stages()[1].all("RUN"), "install");
    REQUIRE(!listed.empty());
    // debian:bookworm-slim already holds apt and everything apt depends on (libc6, libstdc++6,
    // ...); apt-get installs the listed packages with their dependencies.
    std::set<std::string> roots = listed;
    roots.insert("apt");
    const auto image = dependency_closure(roots);
    REQUIRE(image.count("libc6") == 1);

    const auto ldd = test::run_command({"/usr/bin/ldd", SONDE_BINARY});
    INFO(ldd.output);
    REQUIRE(ldd.exit_code == 0);
    std::vector<std::string> paths;
    std::map<std::string, std::string> soname_of;
    const std::regex library(R"(\s(\S+) => (/\S+))");
    for (auto it = std::sregex_iterator(ldd.output.begin(), ldd.output.end(), library);
         it != std::sregex_iterator(); ++it) {
        paths.push_back((*it)[2].str());
        soname_of[paths.back()] = (*it)[1].str();
    }
    std::set<std::string> needed;
    for (const auto& [path, package] : packages_of(paths)) {
        // Only a -DSONDE_SANITIZE build links the sanitizer runtimes; the image never does.
        if (package.rfind("libasan", 0) == 0 || package.rfind("libubsan", 0) == 0) {
            continue;
        }
        INFO(soname_of[path] << " comes from " << package);
        CHECK(image.count(package) == 1);
        needed.insert(package);
    }
    REQUIRE(needed.size() >= 9);
    // And the list holds nothing stale: each entry provides a library sonde links, or is one
    // of the few non-library packages it needs.
    for (const auto& package : listed) {
        INFO(package << " is listed in the runtime stage");
        CHECK((needed.count(package) == 1 || kNotLibraries.count(package) == 1));
    }
}

TEST_CASE("deploy/container: the ENTRYPOINT starts with the default config it copies in",
          "[integration][deploy]") {
    const auto all = stages();
    REQUIRE(all.size() == 2);
    auto argv = entrypoint(all[1]);
    REQUIRE(argv.size() >= 2);

    // The build stage installs /src/<file> as /out/<path>, and /out becomes the image's /.
    std::map<std::string, std::string> image_files;  // image path -> repository file
    const std::string build_runs = all[0].all("RUN");
    const std::regex install(R"(install -D -m \d+ /(src|build)/(\S+) /out(/\S+))");
    for (auto it = std::sregex_iterator(build_runs.begin(), build_runs.end(), install);
         it != std::sregex_iterator(); ++it) {
        image_files[(*it)[3].str()] =
            (*it)[1].str() == "src" ? test::kSourceDir + (*it)[2].str() : "";
    }
    CHECK(all[1].all("RUN").find("cp -a /mnt/out/. /") != std::string::npos);
    REQUIRE(image_files.count(argv[0]) == 1);  // the binary

    argv[0] = SONDE_BINARY;
    bool has_config = false;
    for (auto& arg : argv) {
        if (arg.rfind("--config.file=", 0) == 0) {
            const std::string path = arg.substr(14);
            INFO("the image holds " << path);
            REQUIRE(image_files.count(path) == 1);
            REQUIRE(!image_files[path].empty());
            arg = "--config.file=" + image_files[path];
            has_config = true;
        }
    }
    CHECK(has_config);
    argv.push_back("--config.check");
    const auto check = test::run_command(argv);
    INFO(check.output);
    CHECK(check.exit_code == 0);
}

}  // namespace sonde
