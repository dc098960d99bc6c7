# `cmake --install`: a relocatable tree (bin/quantize, lib/libonnx_ptq.a, include/onnx_ptq/<module>/*.h,
# lib/cmake/onnx_ptq/onnx_ptqConfig.cmake for find_package(onnx_ptq)); `cpack` builds a .deb whose
# Depends come from dpkg-shlibdeps.
include(CMakePackageConfigHelpers)

set(PTQ_INSTALL_CMAKEDIR lib/cmake/onnx_ptq)

install(TARGETS quantize RUNTIME DESTINATION bin)
install(TARGETS onnx_ptq EXPORT onnx_ptqTargets ARCHIVE DESTINATION lib)
install(DIRECTORY ${PROJECT_SOURCE_DIR}/src/ DESTINATION include/onnx_ptq
        FILES_MATCHING PATTERN "*.h" PATTERN "cli" EXCLUDE)
install(EXPORT onnx_ptqTargets NAMESPACE onnx_ptq:: DESTINATION ${PTQ_INSTALL_CMAKEDIR})

configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/onnx_ptqConfig.cmake.in
  ${PROJECT_BINARY_DIR}/onnx_ptqConfig.cmake INSTALL_DESTINATION ${PTQ_INSTALL_CMAKEDIR})
write_basic_package_version_file(${PROJECT_BINARY_DIR}/onnx_ptqConfigVersion.cmake
  VERSION ${PROJECT_VERSION} COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/onnx_ptqConfig.cmake ${PROJECT_BINARY_DIR}/onnx_ptqConfigVersion.cmake
        DESTINATION ${PTQ_INSTALL_CMAKEDIR})

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME onnx-ptq)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "Post-training quantization of ONNX models (QDQ INT8) in one native binary")
set(CPACK_PACKAGE_CONTACT "onnx-ptq maintainers <onnx-ptq@invalid>")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION science)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
# The static library and headers need the -dev packages of its dependencies to be linked against.
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "libonnx-dev, libprotobuf-dev, libdnnl-dev, libfmt-dev, libspdlog-dev, nlohmann-json3-dev, libzip-dev, libpng-dev, libjpeg-dev")
include(CPack)
