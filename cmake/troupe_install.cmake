# Installs the libraries and an exported package, so that a separate project can write
#   find_package(troupe CONFIG REQUIRED COMPONENTS framework)
#   target_link_libraries(app PRIVATE troupe::framework)
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set(troupe_components framework)

install(TARGETS troupe_framework EXPORT troupe_framework_targets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
        RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR}
        FILE_SET HEADERS DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(EXPORT troupe_framework_targets NAMESPACE troupe::
        FILE troupe_framework-targets.cmake
        DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/troupe)

configure_package_config_file(cmake/troupe-config.cmake.in
  ${CMAKE_CURRENT_BINARY_DIR}/troupe-config.cmake
  INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/troupe)
write_basic_package_version_file(${CMAKE_CURRENT_BINARY_DIR}/troupe-config-version.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/troupe-config.cmake
              ${CMAKE_CURRENT_BINARY_DIR}/troupe-config-version.cmake
        DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/troupe)
