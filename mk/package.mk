# Linux packages (packaging/, internal/packagetest). Included by the top
# Makefile. `make package` writes build/dist/podium_VERSION_ARCH.deb,
# podiumd_VERSION_ARCH.deb and the Fyne podium_VERSION_linux_ARCH.tar.xz
# (see packaging/build.sh); internal/packagetest installs and purges the
# .debs as part of `make test` (root only).
.PHONY: package test-package
TEST_PREREQS += package

package: deps model
	@bash packaging/build.sh

test-package: package
	$(GO) test -count=1 -v ./internal/packagetest/
