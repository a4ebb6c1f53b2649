# Installs the libraries and an exported package, so that a separate project can write
#   find_package(troupe CONFIG REQUIRED COMPONENTS framework)
#   target_link_libraries(app PRIVATE troupe::framework)
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

foreach(component IN ITEMS framework actors testing net)
  install(TARGETS troupe_${component} EXPORT troupe_${component}_targets
          ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
          LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
          RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR}
          FILE_SET HEADERS DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
  install(EXPORT troupe_${component}_targets NAMESPACE troupe::
          FILE troupe_${component}-targets.cmake
          DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/troupe)
endforeach()

configure_package_config_file(cmake/troupe-config.cmake.in
  ${CMAKE_CURRENT_BINARY_DIR}/troupe-config.cmake
  INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/troupe)
write_basic_package_version_file(${CMAKE_CURRENT_BINARY_DIR}/troupe-config-version.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/troupe-config.cmake
              ${CMAKE_CURRENT_BINARY_DIR}/troupe-config-version.cmake
        DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/troupe)
