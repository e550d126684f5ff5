# Runs at `cmake --install` time (CMAKE_INSTALL_PREFIX is then the --prefix
# given). A system install (prefix /usr or /usr/local) puts the config in
# /etc/satellite and the state in /var/lib/satellite, where the unit's
# StateDirectory= is; any other prefix (a staged or test install) keeps
# both under the prefix. An existing config is never overwritten: the new
# one goes beside it as satellite.toml.dist.
set(prefix "${CMAKE_INSTALL_PREFIX}")
if(prefix STREQUAL "/usr" OR prefix STREQUAL "/usr/local")
  set(etc "/etc")
  set(var "/var")
else()
  set(etc "${prefix}/etc")
  set(var "${prefix}/var")
endif()
set(root "$ENV{DESTDIR}")

# The example config, with the installed state directory.
file(READ "${SATELLITE_SOURCE_DIR}/etc/satellite.toml" conf)
string(REGEX REPLACE "state_dir = \"[^\"]*\"[^\n]*" "state_dir = \"${var}/lib/satellite\"" conf "${conf}")
set(conf_path "${root}${etc}/satellite/satellite.toml")
if(EXISTS "${conf_path}")
  set(conf_path "${conf_path}.dist")
endif()
message(STATUS "Installing: ${conf_path}")
file(WRITE "${conf_path}" "${conf}")
file(INSTALL "${SATELLITE_SOURCE_DIR}/etc/zones" DESTINATION "${root}${etc}/satellite")

# The state directory: satellited's alone (keys live there).
file(MAKE_DIRECTORY "${root}${var}/lib/satellite")
message(STATUS "Installing: ${root}${var}/lib/satellite")
execute_process(COMMAND chmod 0700 "${root}${var}/lib/satellite")

# The unit, pointing at the installed binary and config; its user.
file(READ "${SATELLITE_SOURCE_DIR}/etc/satellited.service" unit)
string(REPLACE "/usr/local/bin/" "${prefix}/bin/" unit "${unit}")
string(REPLACE "/etc/satellite/" "${etc}/satellite/" unit "${unit}")
message(STATUS "Installing: ${root}${prefix}/lib/systemd/system/satellited.service")
file(WRITE "${root}${prefix}/lib/systemd/system/satellited.service" "${unit}")
file(INSTALL "${SATELLITE_SOURCE_DIR}/etc/satellite.sysusers" DESTINATION "${root}${prefix}/lib/sysusers.d"
     RENAME satellite.conf)
