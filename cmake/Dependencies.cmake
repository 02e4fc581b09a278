# Every dependency comes from Debian bookworm packages (see README.md for the apt-get line).
find_package(Threads REQUIRED)
find_package(PkgConfig REQUIRED)
find_package(Boost 1.81 REQUIRED)
find_package(spdlog REQUIRED)
pkg_check_modules(OPENBLAS REQUIRED IMPORTED_TARGET openblas)
pkg_check_modules(ONIGURUMA REQUIRED IMPORTED_TARGET oniguruma)
pkg_check_modules(UTF8PROC REQUIRED IMPORTED_TARGET libutf8proc)

# CUDA is optional at configure time: the CUDA backend builds when nvcc is found (it is in CI),
# and everything else builds without it.
include(CheckLanguage)
if(NOT DEFINED CMAKE_CUDA_COMPILER AND EXISTS /usr/local/cuda/bin/nvcc)
  set(CMAKE_CUDA_COMPILER /usr/local/cuda/bin/nvcc)
endif()
check_language(CUDA)
if(CMAKE_CUDA_COMPILER)
  enable_language(CUDA)
  find_package(CUDAToolkit REQUIRED)
  set(TROUPE_WITH_CUDA ON)
else()
  set(TROUPE_WITH_CUDA OFF)
endif()
message(STATUS "troupe: CUDA backend ${TROUPE_WITH_CUDA}")
