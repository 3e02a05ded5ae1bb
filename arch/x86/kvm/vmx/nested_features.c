// SPDX-License-Identifier: GPL-2.0
/*
 * nvmx: the nested_features module parameter, read-only: what nested VMX
 * offers L1, one line per capability field with the names of its bits
 * (include/nvmx/vmx_caps.h says which bits of which MSR), e.g.
 *
 *	secondary: ept rdtscp vpid unrestricted_guest ... vmcs_shadowing pml
 *
 * Read off vmcs_config.nested, which nested_vmx_setup_ctls_msrs() built at
 * module load, through vmx_get_vmx_msr(): the values KVM_GET_MSRS gives
 * userspace for the VMX capability MSRs, before any vCPU's CPUID or
 * userspace narrows them.  With nested=0 every line is empty.
 */

#include <linux/bits.h>
#include <linux/build_bug.h>
#include <linux/moduleparam.h>
#include <linux/sysfs.h>

#include <asm/vmx.h>

#include <nvmx/vmx_caps.h>

#include "nested.h"

/*
 * Each row's bit number must be the bit of the kernel's own mask for it: a
 * row that disagrees with asm/vmx.h fails the build here ("negative width
 * in bit-field").
 */
static const int nvmx_cap_rows_checked[] __maybe_unused = {
#define NVMX_CAP(f, b, n, k)	BUILD_BUG_ON_ZERO((k) != BIT_ULL(b)),
#include <nvmx/vmx_cap_rows.h>
};

static int nvmx_features_get(char *buf, const struct kernel_param *kp)
{
	enum nvmx_cap_field f;
	unsigned int bit;
	const char *name;
	int len = 0;
	u64 msr, val;

	for (f = 0; f < NVMX_NR_CAP_FIELDS; f++) {
		if (vmx_get_vmx_msr(&vmcs_config.nested,
				    nvmx_cap_fields[f].msr, &msr))
			msr = 0;
		val = nvmx_cap_value(f, msr);
		len += sysfs_emit_at(buf, len, "%s:", nvmx_cap_fields[f].label);
		for (bit = 0; bit < 64; bit++) {
			if (!(val & BIT_ULL(bit)))
				continue;
			name = nvmx_cap_name(f, bit);
			if (name)
				len += sysfs_emit_at(buf, len, " %s", name);
			else
				len += sysfs_emit_at(buf, len, " bit%u", bit);
		}
		len += sysfs_emit_at(buf, len, "\n");
	}
	return len;
}

static const struct kernel_param_ops nvmx_features_ops = {
	.get = nvmx_features_get,
};

module_param_cb(nested_features, &nvmx_features_ops, NULL, 0444);
MODULE_PARM_DESC(nested_features,
		 "What nested VMX offers L1: the bits of the VMX capability MSRs, by name");
