# Runs one compile-fail case: compiling SOURCE with -DCASE_<CASE> must fail, and the compiler's
# output must match EXPECT (the message troupe promises the user). With CASE empty, the file
# must compile: that proves the cases fail for their own reason, not for a typo around them.
#   cmake -DCXX=... -DFLAGS=... -DSOURCE=... -DCASE=... -DEXPECT=... -P check.cmake
separate_arguments(flags UNIX_COMMAND "${FLAGS}")
if(CASE STREQUAL "")
  set(define)
else()
  set(define "-DCASE_${CASE}")
endif()
execute_process(
  COMMAND ${CXX} ${flags} ${define} -fsyntax-only "${SOURCE}"
  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
set(all "${out}${err}")
if(CASE STREQUAL "")
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "the file without a case does not compile:\n${all}")
  endif()
  return()
endif()
if(rc EQUAL 0)
  message(FATAL_ERROR "case ${CASE} compiled, but it must not")
endif()
string(REGEX MATCH "${EXPECT}" hit "${all}")
if(NOT hit)
  message(FATAL_ERROR "case ${CASE} failed without the expected message \"${EXPECT}\":\n${all}")
endif()
# The first error should point at the user's file, not only at troupe's headers.
get_filename_component(name "${SOURCE}" NAME)
string(REGEX MATCH "${name}:[0-9]+" at "${all}")
if(NOT at)
  message(FATAL_ERROR "case ${CASE}: no diagnostic names ${name}:\n${all}")
endif()
string(LENGTH "${all}" len)
message(STATUS "case ${CASE}: failed as expected (${len} characters of diagnostics)")
