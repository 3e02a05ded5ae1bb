/* SPDX-License-Identifier: GPL-2.0 */
/* Which kvm_intel a selftest runs against; shared by every nvmx selftest. */
#ifndef SELFTEST_KVM_NVMX_MODULE_H
#define SELFTEST_KVM_NVMX_MODULE_H

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

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

#endif /* SELFTEST_KVM_NVMX_MODULE_H */
