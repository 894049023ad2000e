# tests/vmm: `blkxlate vmm-args` against a real QEMU (paused, checked over
# QMP) and configs/blkxlate@.service against systemd-analyze; on this
# machine, no ublk needed.  `make vmm-test`; part of `make check`.
.PHONY: vmm-test

# deps first, then the binary (as the other suites: a parallel make must not
# compile before the compilers are installed)
vmm-test: deps lab-deps
	$(Q)$(MAKE) --no-print-directory $(BIN)
	$(Q)BLKXLATE=$(abspath $(BIN)) tests/vmm/run.sh

CHECK_SUITES += vmm-test
