# The third-party libraries our targets link, by the names they use: tds::grpc++, tds::protobuf,
# tds::ssl, ... (spdlog and fmt are compiled in, header-only, as tds::spdlog and tds::fmt).
#
# Each resolves to Debian's shared object, except in an executable marked with
# tds_link_statically() (machined, discovery-service, nodectl), which takes Debian's static
# archives instead: a node's resident memory is mostly the mapped code of its shared libraries,
# calls between shared objects cost the discovery-service CPU, and loading 60 of them costs
# each nodectl command 4-6 ms (docs/BENCHMARKS.md).
# The choice is made per executable: `$<TARGET_PROPERTY:TDS_STATIC_LINK>` in a link interface
# reads the target being linked, so the same libraries of ours serve both kinds.

# Header-only: Debian ships spdlog and fmt only as shared objects, and a statically linked
# executable would still map them and the shared libstdc++ they need.
add_library(tds_fmt INTERFACE)
target_link_libraries(tds_fmt INTERFACE fmt::fmt-header-only)
add_library(tds::fmt ALIAS tds_fmt)

add_library(tds_spdlog INTERFACE)
target_include_directories(tds_spdlog INTERFACE
                           $<TARGET_PROPERTY:spdlog::spdlog_header_only,INTERFACE_INCLUDE_DIRECTORIES>)
target_compile_definitions(tds_spdlog INTERFACE SPDLOG_FMT_EXTERNAL)
target_link_libraries(tds_spdlog INTERFACE tds_fmt Threads::Threads)
add_library(tds::spdlog ALIAS tds_spdlog)

# Debian's static archives of everything below and what they need, from the packages'
# pkg-config files. The C library's parts (and libatomic) stay shared: glibc is not meant to be
# linked statically into a program that loads plugins. One rescanned group, so order is moot.
pkg_check_modules(TDS_DEPS REQUIRED grpc++ protobuf openssl yaml-cpp re2)
set(tds_shared_only c dl m pthread rt atomic)
set(tds_archives)
set(tds_shared)
foreach(name grpc++_reflection ${TDS_DEPS_STATIC_LIBRARIES})
  if(name IN_LIST tds_shared_only)
    list(APPEND tds_shared ${name})
    continue()
  endif()
  find_library(TDS_ARCHIVE_${name} NAMES lib${name}.a REQUIRED)
  list(APPEND tds_archives ${TDS_ARCHIVE_${name}})
endforeach()
list(REMOVE_DUPLICATES tds_archives)
list(REMOVE_DUPLICATES tds_shared)
list(JOIN tds_archives "," tds_archive_list)
add_library(tds_static_archives INTERFACE)
target_link_libraries(tds_static_archives INTERFACE "$<LINK_GROUP:RESCAN,${tds_archive_list}>"
                      ${tds_shared})

# tds_third_party(<name> <imported target>): defines tds::<name>.
function(tds_third_party name imported)
  string(MAKE_C_IDENTIFIER "tds_${name}" library)
  add_library(${library} INTERFACE)
  target_link_libraries(${library} INTERFACE
                        "$<IF:$<BOOL:$<TARGET_PROPERTY:TDS_STATIC_LINK>>,tds_static_archives,${imported}>")
  add_library(tds::${name} ALIAS ${library})
endfunction()

tds_third_party(grpc++ gRPC::grpc++)
tds_third_party(grpc++_reflection gRPC::grpc++_reflection)
tds_third_party(protobuf protobuf::libprotobuf)
tds_third_party(ssl OpenSSL::SSL)
tds_third_party(crypto OpenSSL::Crypto)
tds_third_party(yaml-cpp yaml-cpp)
tds_third_party(re2 PkgConfig::RE2)
tds_third_party(absl_synchronization absl::synchronization)

# tds_link_statically(<executable> [EXPORTS <dynamic list>]): links the executable with the
# archives above, libstdc++ and libgcc included, and drops the sections nothing uses. It exports
# no symbol unless a linker dynamic list names some, for the shared objects it loads (-rdynamic
# would export every symbol of gRPC, protobuf and OpenSSL and cost ~3 MiB of resident memory).
# With TDS_STATIC_PROGRAMS=OFF, and in the sanitizer builds (whose runtimes expect the shared
# libraries), it links the shared objects and, given EXPORTS, exports every symbol instead.
function(tds_link_statically target)
  cmake_parse_arguments(PARSE_ARGV 1 arg "" "EXPORTS" "")
  if(NOT TDS_STATIC_PROGRAMS OR TDS_SANITIZE OR TDS_TSAN)
    if(arg_EXPORTS)
      set_target_properties(${target} PROPERTIES ENABLE_EXPORTS ON)
    endif()
    return()
  endif()
  set_target_properties(${target} PROPERTIES TDS_STATIC_LINK ON)
  target_link_options(${target} PRIVATE -static-libstdc++ -static-libgcc -Wl,--gc-sections
                      -Wl,--as-needed)
  if(arg_EXPORTS)
    target_link_options(${target} PRIVATE -Wl,--dynamic-list=${arg_EXPORTS})
    set_property(TARGET ${target} APPEND PROPERTY LINK_DEPENDS ${arg_EXPORTS})
  endif()
endfunction()
