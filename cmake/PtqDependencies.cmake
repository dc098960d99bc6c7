# All third-party dependencies come from Debian 12 packages (see README).
find_package(Protobuf REQUIRED)
find_package(ONNX REQUIRED)
find_package(CLI11 REQUIRED)
find_package(spdlog REQUIRED)
find_package(fmt REQUIRED)
find_package(dnnl CONFIG REQUIRED)
find_package(OpenMP REQUIRED)
find_package(nlohmann_json REQUIRED)
# libzip's CMake config needs libzip-tools binaries; pkg-config is enough.
find_package(PkgConfig REQUIRED)
pkg_check_modules(LIBZIP REQUIRED IMPORTED_TARGET libzip)
# Image decoding for image calibration folders (src/data).
pkg_check_modules(LIBPNG REQUIRED IMPORTED_TARGET libpng)
pkg_check_modules(LIBJPEG REQUIRED IMPORTED_TARGET libjpeg)
