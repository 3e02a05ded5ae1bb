/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the nested_features module parameter lists, and how: one line per
 * field, "label: NAME...", e.g. "vpid: invvpid ...", naming each bit of the
 * field's value by the one table of names (vmx_cap_rows.h), a bit without a
 * row as "bitN".
 *
 * Each field's value comes from one capability MSR (SDM Appendix A) as
 * KVM reports it to userspace (KVM_GET_MSRS on the VMX MSRs):
 *  - a control field (NVMX_CAP_CTLS): the controls L1 may set to 1 and may
 *    also leave 0, i.e. allowed-1 (bits 63:32) and not allowed-0 (bits
 *    31:0) of its TRUE MSR (SDM A.3-A.5): the controls that are L1's to
 *    choose.  The must-be-1 ("default1", reserved) bits are left out;
 *  - EPT and VPID: bits 31:0 and bits 63:32 of IA32_VMX_EPT_VPID_CAP;
 *  - VM functions: IA32_VMX_VMFUNC.
 *
 * Plain C: the module prints with it, the selftest that compares the
 * parameter with the MSRs and the host-side unit tests parse with it.
 */
#ifndef NVMX_VMX_CAPS_H
#define NVMX_VMX_CAPS_H

#include <nvmx/types.h>

enum nvmx_cap_field {
	NVMX_CAP_PIN,
	NVMX_CAP_PRIMARY,
	NVMX_CAP_SECONDARY,
	NVMX_CAP_EXIT,
	NVMX_CAP_ENTRY,
	NVMX_CAP_EPT,
	NVMX_CAP_VPID,
	NVMX_CAP_VMFUNC,
	NVMX_NR_CAP_FIELDS
};

/* How a field's value is taken from its MSR. */
enum nvmx_cap_kind {
	NVMX_CAP_CTLS,		/* bits 63:32 and not bits 31:0 */
	NVMX_CAP_LOW32,		/* bits 31:0 */
	NVMX_CAP_HIGH32,	/* bits 63:32, as bits 31:0 */
	NVMX_CAP_U64,		/* all 64 bits */
};

struct nvmx_cap_field_desc {
	const char *label;
	u32 msr;		/* SDM Appendix A's MSR address */
	enum nvmx_cap_kind kind;
};

/* In the order of the parameter's lines. */
static const struct nvmx_cap_field_desc nvmx_cap_fields[NVMX_NR_CAP_FIELDS] = {
	[NVMX_CAP_PIN] = { "pin", 0x48d, NVMX_CAP_CTLS },
	[NVMX_CAP_PRIMARY] = { "primary", 0x48e, NVMX_CAP_CTLS },
	[NVMX_CAP_SECONDARY] = { "secondary", 0x48b, NVMX_CAP_CTLS },
	[NVMX_CAP_EXIT] = { "exit", 0x48f, NVMX_CAP_CTLS },
	[NVMX_CAP_ENTRY] = { "entry", 0x490, NVMX_CAP_CTLS },
	[NVMX_CAP_EPT] = { "ept", 0x48c, NVMX_CAP_LOW32 },
	[NVMX_CAP_VPID] = { "vpid", 0x48c, NVMX_CAP_HIGH32 },
	[NVMX_CAP_VMFUNC] = { "vmfunc", 0x491, NVMX_CAP_U64 },
};

struct nvmx_cap_name {
	u8 field;		/* enum nvmx_cap_field */
	u8 bit;
	const char *name;
};

static const struct nvmx_cap_name nvmx_cap_names[] = {
#define NVMX_CAP(f, b, n, k)	{ NVMX_CAP_##f, b, n },
#include <nvmx/vmx_cap_rows.h>
};

/* The field's value that the parameter lists, from its MSR's value @msr. */
static inline u64 nvmx_cap_value(enum nvmx_cap_field f, u64 msr)
{
	switch (nvmx_cap_fields[f].kind) {
	case NVMX_CAP_CTLS:
		return (msr >> 32) & ~msr & 0xffffffffULL;
	case NVMX_CAP_LOW32:
		return msr & 0xffffffffULL;
	case NVMX_CAP_HIGH32:
		return msr >> 32;
	default:
		return msr;
	}
}

/* The name of bit @bit of field @f, or NULL when the table has none. */
static inline const char *nvmx_cap_name(enum nvmx_cap_field f,
					unsigned int bit)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(nvmx_cap_names); i++)
		if (nvmx_cap_names[i].field == f && nvmx_cap_names[i].bit == bit)
			return nvmx_cap_names[i].name;
	return NULL;
}

#endif /* NVMX_VMX_CAPS_H */
