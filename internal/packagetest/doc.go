// Package packagetest holds the install test of Podium's Linux packages
// (make package): it installs build/dist/podium_VERSION_ARCH.deb and
// podiumd_VERSION_ARCH.deb on this machine with apt-get, runs
// `podium --version` and `podium --self-test`, starts podiumd the way its
// systemd unit does (ExecStart, User, Group, EnvironmentFile and
// WorkingDirectory parsed from the installed unit; systemd need not be PID
// 1), checks /healthz, then purges both packages and checks that nothing is
// left: the packages' files, /etc/podium, /var/lib/podiumd, the podiumd
// user and group, the unit's enablement links.
//
// It runs as root only (CI is root) and is skipped when the .deb files have
// not been built. Runs are serialised with a lock file, since they change
// the machine.
package packagetest
