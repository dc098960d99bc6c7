# PTQ_FUZZ: build everything with libFuzzer instrumentation + ASan + UBSan and add the fuzz/ targets.
# Needs clang++ (Debian: clang, libclang-rt-14-dev). Driven by tools/fuzz.sh in its own build dir.
option(PTQ_FUZZ "Build the libFuzzer targets in fuzz/ (clang only)" OFF)
if(PTQ_FUZZ)
  if(NOT CMAKE_CXX_COMPILER_ID MATCHES "Clang")
    message(FATAL_ERROR "PTQ_FUZZ needs clang++ (configure with -DCMAKE_CXX_COMPILER=clang++)")
  endif()
  add_compile_options(-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined
                      -fno-omit-frame-pointer -g)
  add_link_options(-fsanitize=address,undefined)
endif()
