# troupe_target_warnings(<target>): our warning set, PRIVATE so it never leaks to users.
function(troupe_target_warnings target)
  target_compile_options(${target} PRIVATE
    $<$<CXX_COMPILER_ID:GNU,Clang>:-Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor
      -Wold-style-cast -Wcast-align -Woverloaded-virtual -Wnull-dereference>)
  if(TROUPE_WERROR)
    # GCC 12 reports false "may be used uninitialized" inside std::variant and std::vector at -O2
    # with the sanitizers; it stays a warning, not an error.
    target_compile_options(${target} PRIVATE $<$<CXX_COMPILER_ID:GNU,Clang>:-Werror>
                                             $<$<CXX_COMPILER_ID:GNU>:-Wno-error=maybe-uninitialized>)
  endif()
endfunction()
