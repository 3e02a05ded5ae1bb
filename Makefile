# SPDX-License-Identifier: GPL-2.0
#
# nvmx: nested VMX for KVM, built out of tree as kvm-intel.ko for Debian 12's
# kernel.  See README for the two commands that matter: make run, make check.

SHELL := /bin/bash

B		?= $(CURDIR)/build
NVMX		:= scripts/nvmx

# The Debian kernel ABI: scripts/nvmx/abi.sh chooses it (ABI=6.1.0-N, the
# running kernel of a VMX host, the pin in scripts/nvmx/abi.conf, or the
# newest the archive has), says which and why, and records it in
# $(B)/abi.conf.  Once per make: sub-makes read the record.  Goals that
# build nothing against the kernel do not ask.
NOABI_GOALS	:= help clean unit fresh-test dkms-add
ifneq ($(filter-out $(NOABI_GOALS),$(or $(MAKECMDGOALS),all)),)
ifndef NVMX_ABI_CHOSEN
ifneq ($(shell $(NVMX)/abi.sh $(B) $(ABI) && echo ok),ok)
$(error no usable Debian kernel ABI: see the [abi] lines above)
endif
export NVMX_ABI_CHOSEN := 1
endif
include $(B)/abi.conf
endif

KDIR		?= /usr/src/linux-headers-$(KREL)
UPSTREAM	:= $(B)/upstream
KMOD		:= $(B)/kmod
KMOD_STOCK	:= $(B)/kmod-stock
SELFTESTS	:= $(B)/selftests
RESULTS		:= $(B)/results
STOCK_KO	:= $(B)/image/lib/modules/$(KREL)/kernel/arch/x86/kvm/kvm-intel.ko
EXPECT		:= tools/testing/nvmx/expectations
KNOWN		:= tools/testing/nvmx/known-failures
L1_PLAN		:= tools/testing/nvmx/l1-linux
L1_EXPECT	:= tools/testing/nvmx/l1-linux-expectations
KSFT		:= $(UPSTREAM)/tools/testing/selftests/kvm
JOBS		?= $(shell nproc)

# What the module says it is built from (modinfo: version, nvmx_abi); every
# build of the module (static.sh's sparse run too) sees them.
export NVMX_REVISION := $(shell git describe --always --dirty --abbrev=12 2>/dev/null || echo unknown)
export NVMX_KREL := $(KREL)
export NVMX_KDEBVER := $(KDEBVER)

# make KVM=1 also builds kvm.ko from the same source (default: kvm-intel.ko
# alone, which pairs with Debian's stock kvm.ko).
KVM		?= 0

# Our own selftests, and the upstream ones named in the expectations file
# (once each: "TEST[PARAMS]" there is TEST run with other module parameters).
NVMX_TESTS	:= $(notdir $(basename $(wildcard tools/testing/selftests/kvm/x86_64/*.c)))
EMU_TESTS	:= $(shell awk '!/^[[:space:]]*(\#|$$)/ && $$1 !~ /\[/ { print $$1 }' $(EXPECT))
# The L2 workloads of the Linux-as-L1 run, and every upstream program to
# build, as its path under the selftests directory (x86_64/NAME or NAME;
# known once upstream is extracted).
L1_TESTS	:= $(shell awk '!/^[[:space:]]*(\#|$$)/ { print $$1 }' $(L1_PLAN))
ksft_prog	= $(if $(wildcard $(KSFT)/x86_64/$(1).c),x86_64/$(1),$(1))
SELFTEST_PROGS	= $(sort $(addprefix x86_64/,$(EMU_TESTS)) $(foreach t,$(L1_TESTS),$(call ksft_prog,$(t))))

# Files of ours that the static checks look at.
OUR_C		:= $(shell git ls-files -- 'arch/*.[ch]' 'include/*.h' 'tools/testing/nvmx/*.[ch]' 'tools/testing/selftests/kvm/*.[ch]' 2>/dev/null)

.PHONY: all apt-check fresh-test deps upstream modules modules-stock faithful abi selftests unit static \
	dkms dkms-add patches vmxhost vmxhost-locked bench bench-locked fuzz fuzz-locked soak soak-locked \
	modules-coverage coverage coverage-locked \
	l1-linux l1-linux-locked run check summary load unload native-test realhost-test \
	realhost-test-locked clean help

all: modules

help:
	@echo 'make run          build, boot the emulated VMX host, run the nested selftests with'
	@echo '                  ours and with stock, print the table'
	@echo 'make check        every test: unit, static, faithful build, emulated host, Linux as L1;'
	@echo '                  N passed, N failed'
	@echo 'make bench        in the emulated host, nvmx_exit_bench_test alone with ours and with stock:'
	@echo '                  cycles and L0 exits per reflected exit, by kind of exit, against the targets'
	@echo 'make fuzz         in the emulated host, the vmcs12 fuzzer alone with ours and with stock:'
	@echo '                  SEED=..., ITER=... (FUZZ_ARGS="-v FIRST:LAST" lists iterations)'
	@echo 'make soak         in the emulated host, N L2 round trips and K nested VMs with ours and with'
	@echo '                  stock, the kernel'"'"'s memory before and after: N=..., K=...'
	@echo 'make coverage     in the emulated host, the coverage build of ours: which share of our'
	@echo '                  nested code the fuzzers and the whole plan reach (TESTS="a b")'
	@echo 'make l1-linux     in the emulated host, QEMU/KVM on stock and on ours (L0) boots Debian'"'"'s'
	@echo '                  kernel as L1, which runs KVM selftests as L2 workloads; print the table'
	@echo 'make fresh-test   bootstrap a fresh Debian 12 root, clone this repository into it, make run there'
	@echo 'make apt-check    would a fresh machine install today (and after the pinned ABI leaves the archive)'
	@echo 'make patches      nvmx as a patch series against the upstream tree, each patch built and'
	@echo '                  checkpatch --strict checked, with a cover letter; git am checked'
	@echo 'make modules      build kvm-intel.ko (KVM=1: kvm.ko too) into $(KMOD)'
	@echo 'make load/unload  on a real VMX host: insert ours with nested=1 / restore the stock module'
	@echo 'make native-test  on a real VMX host: run the same selftests against the loaded module'
	@echo 'make realhost-test  the three above, run in the emulated VMX host'

deps:
	@$(NVMX)/deps.sh $(B)

upstream: deps
	@$(NVMX)/upstream.sh $(B)

modules: upstream
	@echo '[build] kvm-intel.ko$(if $(filter 1,$(KVM)), and kvm.ko) with the nvmx overlay'
	@$(NVMX)/kmod-tree.sh $(UPSTREAM) $(KMOD) Kbuild $(CURDIR)
	@s=$$SECONDS; $(MAKE) -s -C $(KDIR) M=$(KMOD) NVMX_BUILD_KVM=$(KVM) -j$(JOBS) modules 2>&1 | \
		grep -v '^Skipping BTF generation'; test $${PIPESTATUS[0]} -eq 0 && \
		echo "[build] $(KMOD)/kvm-intel.ko ($$((SECONDS - s))s)"

modules-stock: upstream
	@echo '[build] kvm-intel.ko from upstream alone (faithful-build check)'
	@$(NVMX)/kmod-tree.sh $(UPSTREAM) $(KMOD_STOCK) Kbuild
	@$(MAKE) -s -C $(KDIR) M=$(KMOD_STOCK) -j$(JOBS) modules 2>&1 | \
		grep -v '^Skipping BTF generation'; test $${PIPESTATUS[0]} -eq 0

faithful: modules-stock
	@mkdir -p $(RESULTS)
	@$(NVMX)/faithful.sh $(KMOD_STOCK)/kvm-intel.ko $(STOCK_KO) | tee $(RESULTS)/faithful.tap

# Our struct vmcs12 and VMREAD/VMWRITE encodings against 6.1's (nested-state ABI).
abi: modules-stock
	@mkdir -p $(RESULTS)
	@$(NVMX)/vmcs12-abi.sh $(KMOD_STOCK) $(B)/abi | tee $(RESULTS)/abi.tap

selftests: upstream
	@echo '[build] selftests (static): $(words $(EMU_TESTS)) upstream/nested, $(words $(NVMX_TESTS)) nvmx, $(words $(L1_TESTS)) L2 workloads'
	@for t in $(NVMX_TESTS:=.c) $(notdir $(wildcard tools/testing/selftests/kvm/x86_64/nvmx_*.h)); do \
		ln -sfn $(CURDIR)/tools/testing/selftests/kvm/x86_64/$$t $(KSFT)/x86_64/$$t; done
	@# lib.mk does not track our headers: rebuild our tests when one changed.
	@for t in $(NVMX_TESTS); do b=$(SELFTESTS)/x86_64/$$t; [ -e $$b ] || continue; \
		for h in tools/testing/selftests/kvm/x86_64/nvmx_*.h include/nvmx/*.h; do \
			[ $$h -nt $$b ] && rm -f $$b && break; done; done; true
	@# EXTRA_CFLAGS: our selftests may include <nvmx/...> (the vmcs12 field
	@# table is plain C, built into the module and the host unit tests too).
	@s=$$SECONDS; $(MAKE) -s -C $(KSFT) -j$(JOBS) OUTPUT=$(SELFTESTS) LDFLAGS=-static \
		EXTRA_CFLAGS=-I$(CURDIR)/include \
		TEST_GEN_PROGS_x86_64="$(SELFTEST_PROGS)" \
		TEST_GEN_PROGS_EXTENDED_x86_64= \
		$(addprefix $(SELFTESTS)/,$(SELFTEST_PROGS)) && \
		echo "[build] selftests in $(SELFTESTS)/x86_64 ($$((SECONDS - s))s)"

unit:
	@command -v cc >/dev/null || { echo 'unit: no C compiler: make deps first (as root)' >&2; exit 1; }
	@mkdir -p $(RESULTS)
	@$(MAKE) -s -C tools/testing/nvmx B=$(B)/unit | tee $(RESULTS)/unit.tap

static: modules
	@mkdir -p $(RESULTS)
	@$(NVMX)/static.sh $(B) $(KDIR) $(OUR_C) | tee $(RESULTS)/static.tap

# DKMS (dkms.conf): a real dkms add and dkms build for the ABI's headers, in a
# throwaway DKMS tree under $(B)/dkms (the machine's DKMS state is not touched).
dkms: deps
	@mkdir -p $(RESULTS)
	@$(NVMX)/dkms.sh check $(B) | tee $(RESULTS)/dkms.tap

# nvmx as a git format-patch series against the ABI's linux-source tree
# (scripts/nvmx/series), each patch built and checkpatch'ed, in
# $(B)/patches/out.
patches: deps
	@$(NVMX)/patches.sh $(B) $(KDIR)

# Put this tree under DKMS for good: /usr/src/nvmx-VERSION and dkms add; then
# dkms install nvmx/VERSION builds and installs it for the running kernel,
# and DKMS rebuilds it for every later Debian 6.1 kernel.
dkms-add:
	@$(NVMX)/dkms.sh source /usr/src
	dkms add nvmx/$$(sed -n 's/^PACKAGE_VERSION="\(.*\)"$$/\1/p' dkms.conf)

# The emulated VMX host: one boot with the stock kvm-intel.ko, one with ours.
# TESTS="a b" restricts the run to those tests (for development); a test
# named there brings its runs with other module parameters ("a[ept=0]").
# KVM_INTEL_PARAMS="p=v ..." loads kvm-intel with those parameters for
# every test of the run (e.g. enable_shadow_vmcs=0).
# Runs in one tree are serialised whole (build, boot, judge: they share
# $(B)); run.sh also serialises emulators across trees.
vmxhost:
	@mkdir -p $(B)
	@flock $(B)/.vmxhost.lock $(MAKE) -s vmxhost-locked

vmxhost-locked: modules selftests
	@mkdir -p $(RESULTS)
	@$(if $(KVM_INTEL_PARAMS),echo '[vmxhost] kvm-intel parameters for every test: $(KVM_INTEL_PARAMS)')
	@awk -v only="$(TESTS)" 'BEGIN { n = split(only, o); for (i = 1; i <= n; i++) want[o[i]] = 1 } \
		!/^[[:space:]]*(#|$$)/ && $$2 == "emu" { t = $$1; sub(/\[.*/, "", t); \
			if (only == "" || $$1 in want || t in want) print $$1, 60 }' \
		$(EXPECT) >$(B)/plan
	@NVMX_KVM_INTEL_PARAMS='$(KVM_INTEL_PARAMS)' \
		$(NVMX)/vmxhost/run-phases.sh $(NVMX)/vmxhost/run.sh $(B) $(KMOD) $(SELFTESTS)/x86_64 \
		$(B)/plan $(B)/vmxhost
	@$(NVMX)/vmxhost/judge.sh $(B)/vmxhost $(EXPECT) $(KNOWN) $(B)/plan | tee $(B)/vmxhost/table
	@cp $(B)/vmxhost/results $(RESULTS)/vmxhost.results

# The benchmark of the reflected exit: nvmx_exit_bench_test alone in the
# emulated host, stock and ours (one boot each, as for vmxhost): three runs
# of BENCH_N round trips per variant and one of 2 x BENCH_N, judged by
# bench.sh (a table, the targets; fails only when a run of the test fails).
# A short test goes last: the output of the plan's last test can be cut off
# when the machine powers off.
BENCH_N		?= 2000
BENCH_TRAILER	:= vmx_close_while_nested_test

bench:
	@mkdir -p $(B)
	@flock $(B)/.vmxhost.lock $(MAKE) -s bench-locked

bench-locked: modules selftests
	@mkdir -p $(RESULTS)
	@printf '%s\n' "nvmx_exit_bench_test 600 -n $(BENCH_N) -r 3" \
		"nvmx_exit_bench_test 600 -n $$((2 * $(BENCH_N)))" \
		"$(BENCH_TRAILER) 60" >$(B)/plan-bench
	@NVMX_EMU_TIMEOUT=900 $(NVMX)/vmxhost/run-phases.sh $(NVMX)/vmxhost/run.sh $(B) $(KMOD) \
		$(SELFTESTS)/x86_64 $(B)/plan-bench $(B)/bench
	@$(NVMX)/vmxhost/bench.sh $(B)/bench $(B)/plan-bench $(BENCH_N) | tee $(RESULTS)/bench.table; \
		test $${PIPESTATUS[0]} -eq 0

# The vmcs12 fuzzer (issue 13) alone in the emulated host, stock and ours
# (one boot each, as for vmxhost), with the same SEED and ITER: judge.sh
# judges it like any test (and the kernel log), fuzz.sh lists each module's
# disallowed outcomes, the outcome counts and the blocks of 1024 iterations
# whose outcomes differ between stock and ours (FUZZ_ARGS="-v FIRST:LAST"
# prints those iterations one by one).  The timeouts follow ITER: the test's
# own (emulated seconds) and the emulator's (wall).  A short test goes last:
# the output of the plan's last test can be cut off when the machine powers
# off.
SEED		?= 0x6e766d78
ITER		?= 100000
FUZZ_ARGS	?=

fuzz:
	@mkdir -p $(B)
	@flock $(B)/.vmxhost.lock $(MAKE) -s fuzz-locked

fuzz-locked: modules selftests
	@mkdir -p $(RESULTS)
	@printf '%s\n' "nvmx_fuzz_vmcs12_test $$((60 + $(ITER) / 50)) -s $(SEED) -i $(ITER) $(FUZZ_ARGS)" \
		"$(BENCH_TRAILER) 60" >$(B)/plan-fuzz
	@NVMX_EMU_TIMEOUT=$$((300 + $(ITER) / 25)) $(NVMX)/vmxhost/run-phases.sh $(NVMX)/vmxhost/run.sh \
		$(B) $(KMOD) $(SELFTESTS)/x86_64 $(B)/plan-fuzz $(B)/fuzz
	@$(NVMX)/vmxhost/judge.sh $(B)/fuzz $(EXPECT) $(KNOWN) $(B)/plan-fuzz | tee $(B)/fuzz/table
	@$(NVMX)/vmxhost/fuzz.sh $(B)/fuzz | tee $(RESULTS)/fuzz.table; \
		! grep -q '^FAIL' $(B)/fuzz/results

# The soak (issue 13) alone in the emulated host, stock and ours (one boot
# each): N round trips of L2's loop of eleven exiting instructions, with
# L1's APIC pages mapped at every entry, then K VMs freed with L2
# running, with the host kernel's memory (/proc/meminfo)
# measured before and after; nvmx_soak_test fails on a leak.  Timeouts
# follow N: a round trip took 0.17 ms (ours) and 0.20 ms (stock) of
# emulated time and about 0.7 ms of wall time on the 2-core machine:
# N=1000000 took 12.2 minutes with ours and 13.3 with stock
# (Documentation/nvmx/testing.rst); the default is about 7.
N		?= 500000
K		?= 64

soak:
	@mkdir -p $(B)
	@flock $(B)/.vmxhost.lock $(MAKE) -s soak-locked

soak-locked: modules selftests
	@mkdir -p $(RESULTS)
	@printf '%s\n' "nvmx_soak_test $$((120 + $(N) / 1000)) -n $(N) -k $(K)" \
		"$(BENCH_TRAILER) 60" >$(B)/plan-soak
	@NVMX_EMU_TIMEOUT=$$((400 + $(N) / 500)) $(NVMX)/vmxhost/run-phases.sh $(NVMX)/vmxhost/run.sh \
		$(B) $(KMOD) $(SELFTESTS)/x86_64 $(B)/plan-soak $(B)/soak
	@$(NVMX)/vmxhost/judge.sh $(B)/soak $(EXPECT) $(KNOWN) $(B)/plan-soak | tee $(B)/soak/table
	@grep -h -e 'meminfo\|round trips\|VMs freed\|the VM' $(B)/soak/*/console.log | \
		sed 's/^# # //' | tee $(RESULTS)/soak.log; \
		! grep -q '^FAIL' $(B)/soak/results

# Coverage (issue 13): which share of our nested code the fuzzers and the
# tests reach.  The coverage build of kvm-intel.ko in $(KMOD_COV): our nested
# files compiled with -fsanitize-coverage=trace-pc and a collector linked in
# ($(COV), not part of the patch series; NVMX_COVERAGE=1 in Kbuild).  One
# boot of the emulated host runs the expectations' plan with it as ours
# (TESTS="a b" restricts the plan), listing the sites each test reached,
# beside a boot of our normal module with the same plan; report.py maps the
# sites to files, functions and lines, gives the fuzzers' figure
# ($(COV_FUZZERS)) and the whole plan's, and checks that the coverage build
# did what the normal module did.  $(RESULTS)/coverage.table and
# coverage.sites.  Not part of make check.
KMOD_COV	:= $(B)/kmod-cov
COV		:= tools/testing/nvmx/coverage
COV_FUZZERS	:= $(filter nvmx_fuzz_%,$(NVMX_TESTS)) nvmx_vmx_cap_msrs_test nvmx_memslot_edges_test

modules-coverage: upstream
	@echo '[build] kvm-intel.ko, the coverage build ($(COV))'
	@$(NVMX)/kmod-tree.sh $(UPSTREAM) $(KMOD_COV) Kbuild $(CURDIR)
	@mkdir -p $(KMOD_COV)/$(COV) && for f in Kbuild nvmx_cov.c nvmx_cov.h; do \
		ln -sfn $(CURDIR)/$(COV)/$$f $(KMOD_COV)/$(COV)/$$f; done
	@s=$$SECONDS; $(MAKE) -s -C $(KDIR) M=$(KMOD_COV) NVMX_COVERAGE=1 -j$(JOBS) modules 2>&1 | \
		grep -v '^Skipping BTF generation'; test $${PIPESTATUS[0]} -eq 0 && \
		echo "[build] $(KMOD_COV)/kvm-intel.ko ($$((SECONDS - s))s)"

coverage:
	@mkdir -p $(B)
	@flock $(B)/.vmxhost.lock $(MAKE) -s coverage-locked

coverage-locked: modules modules-coverage selftests
	@mkdir -p $(RESULTS)
	@awk -v only="$(TESTS)" 'BEGIN { n = split(only, o); for (i = 1; i <= n; i++) want[o[i]] = 1 } \
		!/^[[:space:]]*(#|$$)/ && $$2 == "emu" { t = $$1; sub(/\[.*/, "", t); \
			if (only == "" || $$1 in want || t in want) print $$1, 120 }' \
		$(EXPECT) >$(B)/plan-coverage
	@$(COV)/run.sh $(B) $(KMOD) $(KMOD_COV) $(SELFTESTS)/x86_64 $(B)/plan-coverage $(B)/coverage
	@$(COV)/report.py $(KMOD_COV)/kvm-intel.ko $(KMOD_COV)/arch/x86/kvm/vmx $(B)/coverage/normal \
		$(B)/coverage/coverage $(B)/plan-coverage $(KNOWN) "$(COV_FUZZERS)" $(COV)/unreached \
		$(RESULTS)/coverage.table $(RESULTS)/coverage.sites; rc=$$?; \
		cat $(RESULTS)/coverage.table; exit $$rc

# Linux as L1: in the emulated VMX host, QEMU with KVM on the stock
# kvm-intel.ko and on ours (L0, nested=1, one boot each) boots Debian's
# kernel as L1, whose stock KVM runs the workloads of $(L1_PLAN) as L2.
# Workloads that fail with both L0 modules are in $(L1_EXPECT).
l1-linux:
	@mkdir -p $(B)
	@flock $(B)/.vmxhost.lock $(MAKE) -s l1-linux-locked

l1-linux-locked: modules selftests
	@mkdir -p $(RESULTS)
	@$(NVMX)/vmxhost/run-phases.sh $(NVMX)/vmxhost/l1-run.sh $(B) $(KMOD) $(SELFTESTS) \
		$(L1_PLAN) $(B)/l1-linux
	@$(NVMX)/vmxhost/l1-judge.sh $(B)/l1-linux $(L1_PLAN) $(L1_EXPECT) | tee $(B)/l1-linux/table
	@cp $(B)/l1-linux/results $(RESULTS)/l1-linux.results

run:
	@rm -rf $(RESULTS)
	@$(MAKE) -s vmxhost
	@$(NVMX)/summary.sh $(RESULTS) vmxhost

# Would a fresh machine install today (and after the pin leaves the archive)?
apt-check:
	@mkdir -p $(RESULTS)
	@$(NVMX)/apt-check.sh $(B) | tee $(RESULTS)/apt-check.tap

# The README's promise on a fresh Debian 12 root (debootstrap): make run there.
fresh-test:
	@$(NVMX)/fresh-test.sh $(B) run

check:
	@rm -rf $(RESULTS)
	@$(MAKE) -s deps && $(MAKE) -s -k apt-check unit static faithful abi dkms vmxhost l1-linux; \
		$(NVMX)/summary.sh $(RESULTS) apt-check unit static faithful abi dkms vmxhost l1-linux

# On a real VMX host.
load: modules
	@$(NVMX)/load.sh load $(KREL) $(KMOD)

unload:
	@$(NVMX)/load.sh unload $(KREL)

# The tests run against the module as loaded: the runs with other module
# parameters ("TEST[PARAMS]") are left to a load with those parameters.
# TESTS="a b" runs only those.
native-test: selftests
	@$(NVMX)/native-test.sh $(EXPECT) $(KNOWN) $(SELFTESTS)/x86_64 $(TESTS)

# The three commands above, proven in the emulated VMX host (a VMX host to
# them): load.sh refusing another kernel release, then loading ours,
# native-test.sh with REALHOST_TESTS, unload.sh; one boot, about 2 minutes.
REALHOST_TESTS	?= nvmx_vmx_insn_test nvmx_exit_info_test vmx_close_while_nested_test \
		   vmx_apic_access_test

realhost-test:
	@mkdir -p $(B)
	@flock $(B)/.vmxhost.lock $(MAKE) -s realhost-test-locked

realhost-test-locked: modules selftests
	@mkdir -p $(RESULTS)
	@$(NVMX)/vmxhost/realhost-run.sh $(B) $(KMOD) $(SELFTESTS)/x86_64 $(B)/realhost \
		$(REALHOST_TESTS); rc=$$?; cp $(B)/realhost/realhost.tap $(RESULTS)/ 2>/dev/null; exit $$rc

clean:
	rm -rf $(B)
