# Writes OUT, a C++ file holding the files of DIR (index.html, *.js, *.css) as the inspector's
# assets (see framework/src/inspector_server.cpp). Run with cmake -P at build time:
#   cmake -DDIR=... -DOUT=... -P embed_assets.cmake
file(GLOB files RELATIVE "${DIR}" "${DIR}/*.html" "${DIR}/*.js" "${DIR}/*.css")
list(SORT files)
set(body "")
set(entries "")
set(n 0)
foreach(f IN LISTS files)
  file(READ "${DIR}/${f}" hex HEX)
  string(LENGTH "${hex}" len)
  math(EXPR bytes "${len} / 2")
  string(REGEX REPLACE "([0-9a-f][0-9a-f])" "'\\\\x\\1'," chars "${hex}")
  string(APPEND body "const char asset_${n}[] = {${chars} 0};\n")
  if(f MATCHES "\\.html$")
    set(type "text/html; charset=utf-8")
  elseif(f MATCHES "\\.js$")
    set(type "text/javascript; charset=utf-8")
  else()
    set(type "text/css; charset=utf-8")
  endif()
  string(APPEND entries "    {\"/${f}\", \"${type}\", {asset_${n}, ${bytes}}},\n")
  math(EXPR n "${n} + 1")
endforeach()
file(WRITE "${OUT}.tmp" "// Generated from ${DIR} by cmake/embed_assets.cmake: do not edit.
#include <cstddef>

#include \"inspector_server.hpp\"

namespace troupe::detail {
namespace {
${body}}  // namespace
extern const inspector_asset inspector_assets[] = {
${entries}    {nullptr, nullptr, {}},
};
extern const std::size_t inspector_asset_count = ${n};
}  // namespace troupe::detail
")
file(COPY_FILE "${OUT}.tmp" "${OUT}" ONLY_IF_DIFFERENT)
file(REMOVE "${OUT}.tmp")
