# Project-wide warning and sanitizer flags, applied per target via ptq_target_defaults().
function(ptq_target_defaults target)
  target_compile_options(${target} PRIVATE -Wall -Wextra)
  if(PTQ_SANITIZE)
    # -fno-sanitize-recover: a UBSan report aborts the process (ASan always does), so any report
    # fails the test that triggered it instead of scrolling past in its log.
    target_compile_options(${target} PRIVATE -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
    # GCC's instrumentation makes -Wmaybe-uninitialized report false positives inside libstdc++
    # (std::regex, used by Catch2); the uninstrumented build keeps the warning.
    if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
      target_compile_options(${target} PRIVATE -Wno-maybe-uninitialized)
    endif()
    # PUBLIC: whatever links the instrumented static library (the unit tests, the installed
    # find_package(onnx_ptq) target's consumers) needs the sanitizer runtimes too.
    target_link_options(${target} PUBLIC -fsanitize=address,undefined)
  endif()
endfunction()
