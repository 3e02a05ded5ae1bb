/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Host-side helpers shared by every nvmx selftest: which kvm_intel a test
 * runs against, and running L1 to its end.
 */
#ifndef SELFTEST_KVM_NVMX_MODULE_H
#define SELFTEST_KVM_NVMX_MODULE_H

#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kvm_util.h"
#include "ucall_common.h"

/*
 * Whether the kvm_intel under test is nvmx's: its module version (modinfo,
 * /sys/module/kvm_intel/version) starts with "nvmx"; the stock module has
 * none.  A test may hold nvmx to the SDM where it reports a known stock
 * deviation as XFAIL.
 */
static inline bool nvmx_host_module_is_nvmx(void)
{
	char version[64] = "";
	FILE *f = fopen("/sys/module/kvm_intel/version", "r");

	if (f) {
		if (!fgets(version, sizeof(version), f))
			version[0] = 0;
		fclose(f);
	}
	return !strncmp(version, "nvmx", 4);
}

#define NVMX_TRACEFS		"/sys/kernel/tracing"

/* Write @text into tracefs file @file, opened with O_WRONLY | @flags. */
static inline bool nvmx_tracefs_write(const char *file, const char *text,
				      int flags)
{
	char path[256];
	bool ok;
	int fd;

	snprintf(path, sizeof(path), NVMX_TRACEFS "/%s", file);
	fd = open(path, O_WRONLY | flags);
	if (fd < 0)
		return false;
	ok = write(fd, text, strlen(text)) == (ssize_t)strlen(text);
	close(fd);
	return ok;
}

/* Run @vcpu to its next ucall into @uc; any other stop fails the test. */
static inline u64 nvmx_run_to_ucall(struct kvm_vcpu *vcpu, struct ucall *uc)
{
	vcpu_run(vcpu);
	TEST_ASSERT(vcpu->run->exit_reason == KVM_EXIT_IO,
		    "L1 stopped with exit reason %u (%s)",
		    vcpu->run->exit_reason,
		    exit_reason_str(vcpu->run->exit_reason));
	return get_ucall(vcpu, uc);
}

/*
 * Run @vcpu until L1 reports GUEST_DONE; a guest assertion (with its two
 * values) or any other stop fails the test.
 */
static inline void nvmx_run_l1_to_done(struct kvm_vcpu *vcpu)
{
	struct ucall uc;

	switch (nvmx_run_to_ucall(vcpu, &uc)) {
	case UCALL_DONE:
		break;
	case UCALL_ABORT:
		REPORT_GUEST_ASSERT_2(uc, "values: %#lx, %#lx");
		break;
	default:
		TEST_FAIL("unexpected ucall %lu", uc.cmd);
	}
}

/*
 * A vCPU statistic of KVM's binary stats (Documentation/virt/kvm/api.rst,
 * KVM_GET_STATS_FD), by name: "exits", "tlb_flush", ...  Fails the test if
 * the kernel has no such statistic.
 */
static inline u64 nvmx_vcpu_stat(struct kvm_vcpu *vcpu, const char *name)
{
	struct kvm_stats_header header;
	struct kvm_stats_desc *descs, *d;
	int fd = vcpu_get_stats_fd(vcpu);
	u64 value = 0;
	bool found = false;
	u32 i;

	read_stats_header(fd, &header);
	descs = read_stats_descriptors(fd, &header);
	for (i = 0; i < header.num_desc && !found; i++) {
		d = get_stats_descriptor(descs, i, &header);
		if (strcmp(d->name, name))
			continue;
		read_stat_data(fd, &header, d, &value, 1);
		found = true;
	}
	free(descs);
	close(fd);
	TEST_ASSERT(found, "no vCPU statistic \"%s\"", name);
	return value;
}

#endif /* SELFTEST_KVM_NVMX_MODULE_H */
