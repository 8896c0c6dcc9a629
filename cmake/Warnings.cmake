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
if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU" AND CMAKE_CXX_COMPILER_VERSION VERSION_LESS 13)
    # GCC 12 at -O2 reports std::string's own memcpy in `std::string(a) + "b"` as out of bounds
    # (GCC bugs 105329 and 105651, fixed in 13); which files trip it changes with inlining. They
    # stay warnings there, so a real one is still seen; ASan checks the real bounds in the tests.
    # Likewise -Wmaybe-uninitialized on std::variant's storage inside Result once a unity batch
    # inlines more (a moved-from vector's members); UBSan and ASan run the code in the tests.
    target_compile_options(sonde_warnings INTERFACE -Wno-error=array-bounds
        -Wno-error=stringop-overflow -Wno-error=restrict -Wno-error=maybe-uninitialized)
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
