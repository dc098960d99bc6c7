# Project-wide warning and sanitizer flags, applied per target via ptq_target_defaults().
function(ptq_target_defaults target)
  target_compile_options(${target} PRIVATE -Wall -Wextra)
  if(PTQ_SANITIZE)
    target_compile_options(${target} PRIVATE -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
    target_link_options(${target} PRIVATE -fsanitize=address,undefined)
  endif()
endfunction()
