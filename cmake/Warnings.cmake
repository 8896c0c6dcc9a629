# Warnings for sonde's own targets only; third-party code (llhttp) is compiled without them.
add_library(sonde_warnings INTERFACE)
target_compile_options(sonde_warnings INTERFACE
    -Wall -Wextra -Wpedantic -Wshadow -Wconversion -Wnon-virtual-dtor -Woverloaded-virtual
    -Wimplicit-fallthrough)
if(SONDE_SANITIZE)
    # ASan's instrumentation makes GCC 12 report -Wmaybe-uninitialized inside libstdc++
    # (std::regex, std::function) where the plain build is clean; the plain build keeps it.
    target_compile_options(sonde_warnings INTERFACE -Wno-maybe-uninitialized)
endif()
if(SONDE_WERROR)
    target_compile_options(sonde_warnings INTERFACE -Werror)
endif()

# sonde_add_library(<name> <folder>...) makes one static library from the .cpp files of the given
# folders, with repo-rooted includes and the warning flags.
function(sonde_add_library name)
    set(sources)
    foreach(dir IN LISTS ARGN)
        file(GLOB_RECURSE found CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/${dir}/*.cpp)
        list(APPEND sources ${found})
    endforeach()
    add_library(${name} STATIC ${sources})
    target_include_directories(${name} PUBLIC ${PROJECT_SOURCE_DIR})
    target_link_libraries(${name} PRIVATE sonde_warnings)
endfunction()
