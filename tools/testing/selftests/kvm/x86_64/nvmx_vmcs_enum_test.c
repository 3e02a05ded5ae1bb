// SPDX-License-Identifier: GPL-2.0-only
/*
 * nvmx_vmcs_enum_test: IA32_VMX_VMCS_ENUM against the fields VMREAD takes.
 *
 * SDM Vol. 3C A.9: bits 9:1 of IA32_VMX_VMCS_ENUM are the highest index of
 * any VMCS field encoding; bit 0 and bits 63:10 are 0.  L1 VMREADs every
 * encoding the layout of 24.11.2 allows (bit 0 access type, 9:1 index,
 * 11:10 type, 12 reserved and 0, 14:13 width): the highest index among those
 * VMREAD takes must be the MSR's, every other encoding must fail with
 * VMfailValid and VM-instruction error 12 (30.3 VMREAD, 30.4), and a
 * "high" access (bit 0 set) exists exactly for the 64-bit fields (24.11.2).
 * Encodings with a reserved bit set (12, 15, 31:16, 63:32) must fail too.
 *
 * Each case is a set of VMX features the VMM offers L1, written into the
 * capability MSRs before L1 runs, in a VM of its own: what KVM offers, then
 * less of it, and IA32_VMX_VMCS_ENUM as QEMU writes it for a CPU model
 * without TSC scaling (2EH: the preemption-timer value, 482EH, is then the
 * field with the highest index).
 */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>

#include "test_util.h"
#include "kvm_util.h"
#include "processor.h"
#include "vmx.h"

/* Set by the host before L1 runs. */
struct nvmx_env {
	bool strict;		/* known stock deviations fail instead of XFAIL */
	u32 set;		/* the feature set this VM offers L1 */
};

struct nvmx_env nvmx_env;

#include "nvmx_selftest.h"

#define F_ZF			0x0040ull
#define ERR_UNSUPPORTED_FIELD	12

/* Encoding layout (24.11.2) */
#define ENC_HIGH		BIT(0)
#define ENC_INDEX(enc)		(((enc) >> 1) & 0x1ff)
#define ENC_RESERVED_BIT12	BIT(12)
#define ENC_WIDTH(enc)		(((enc) >> 13) & 3)
#define ENC_WIDTH_64		1
#define NR_ENCODINGS		0x8000
#define VMCS_ENUM_RESERVED	(~0x3feull)

/* QEMU's IA32_VMX_VMCS_ENUM for a CPU model without TSC scaling */
#define QEMU_VMCS_ENUM_NO_TSC_SCALING	0x2e
/* The highest index of 6.1's vmcs12 fields: TSC multiplier, 2032H */
#define KVM61_MAX_INDEX			0x19

static u8 accepted[NR_ENCODINGS / 8];

static bool is_accepted(u32 enc)
{
	return accepted[enc / 8] & BIT(enc % 8);
}

/*
 * A refused VMREAD: VMfailValid (ZF alone, 30.2) with error 12.  Reports
 * the first encoding refused otherwise; returns whether it was refused so.
 */
static bool check_refused(u64 enc, u64 rflags, const char *sdm)
{
	if (rflags != F_ZF) {
		report("encoding refused without VMfailValid (RFLAGS)", 0, enc,
		       sdm);
		report("its RFLAGS", F_ZF, rflags, sdm);
		return false;
	}
	if (vmreadz(VM_INSTRUCTION_ERROR) != ERR_UNSUPPORTED_FIELD) {
		report("encoding refused with another error", 0, enc, sdm);
		CHECK(VM_INSTRUCTION_ERROR, ERR_UNSUPPORTED_FIELD, sdm);
		return false;
	}
	return true;
}

/*
 * VMREAD every encoding with bit 12 clear; returns the highest index of
 * those accepted (-1 if none) and fills accepted[].
 */
static int scan_encodings(void)
{
	bool refused_ok = true;
	int max_index = -1;
	u64 rflags, val;
	u32 enc;

	memset(accepted, 0, sizeof(accepted));
	for (enc = 0; enc < NR_ENCODINGS; enc++) {
		if (enc & ENC_RESERVED_BIT12)
			continue;
		rflags = nvmx_vmread_rflags(enc, &val) & F_ARITH;
		if (!rflags) {
			accepted[enc / 8] |= BIT(enc % 8);
			if ((int)ENC_INDEX(enc) > max_index)
				max_index = ENC_INDEX(enc);
		} else if (refused_ok) {
			refused_ok = check_refused(enc, rflags, "30.3 VMREAD");
		}
	}
	return max_index;
}

/* 24.11.2: the high access type exists for the 64-bit fields alone. */
static void check_high_access(void)
{
	bool high, full;
	u32 enc;

	for (enc = 0; enc < NR_ENCODINGS; enc += 2) {
		if (enc & ENC_RESERVED_BIT12)
			continue;
		full = is_accepted(enc);
		high = is_accepted(enc | ENC_HIGH);
		if (high == (full && ENC_WIDTH(enc) == ENC_WIDTH_64))
			continue;
		report("field whose high access is wrong", 0, enc, "24.11.2");
		report("high access taken", full && ENC_WIDTH(enc) == ENC_WIDTH_64,
		       high, "24.11.2");
		return;
	}
}

/* A field VMREAD takes, with one reserved bit of the encoding set. */
static void check_reserved_bits(void)
{
	static const u64 reserved[] = {
		BIT_ULL(12), BIT_ULL(15), BIT_ULL(16), BIT_ULL(31),
		BIT_ULL(32), BIT_ULL(63),
	};
	u64 rflags, val;
	int i;

	for (i = 0; i < ARRAY_SIZE(reserved); i++) {
		rflags = nvmx_vmread_rflags(GUEST_RIP | reserved[i], &val) &
			 F_ARITH;
		if (!check_refused(GUEST_RIP | reserved[i], rflags,
				   "24.11.2, 30.3 VMREAD"))
			return;
	}
}

static void check_vmcs_enum(void)
{
	u64 vmcs_enum = rdmsr(MSR_IA32_VMX_VMCS_ENUM);
	int max_index = scan_encodings();

	report("IA32_VMX_VMCS_ENUM reserved bits", 0,
	       vmcs_enum & VMCS_ENUM_RESERVED, "A.9");
	report_known("highest index VMREAD takes", ENC_INDEX(vmcs_enum),
		     max_index, KVM61_MAX_INDEX, "A.9",
		     "stock KVM 6.1 takes every vmcs12 field, whatever IA32_VMX_VMCS_ENUM says");
	check_high_access();
	check_reserved_bits();
}

/* Host: the feature sets, each a change of the capability MSRs. */
struct feature_set {
	const char *name;
	void (*offer)(struct kvm_vcpu *vcpu);
};

static void offer_all(struct kvm_vcpu *vcpu)
{
}

/* Take a control away: clear it in the allowed-1 half (A.3-A.5). */
static void take_controls(struct kvm_vcpu *vcpu, u32 msr, u32 controls)
{
	vcpu_set_msr(vcpu, msr,
		     vcpu_get_msr(vcpu, msr) & ~((u64)controls << 32));
}

static void offer_no_secondary_controls(struct kvm_vcpu *vcpu)
{
	take_controls(vcpu, MSR_IA32_VMX_TRUE_PROCBASED_CTLS,
		      CPU_BASED_ACTIVATE_SECONDARY_CONTROLS);
	vcpu_set_msr(vcpu, MSR_IA32_VMX_PROCBASED_CTLS2, 0);
}

static void offer_no_pat_efer_controls(struct kvm_vcpu *vcpu)
{
	take_controls(vcpu, MSR_IA32_VMX_TRUE_ENTRY_CTLS,
		      VM_ENTRY_LOAD_IA32_PAT | VM_ENTRY_LOAD_IA32_EFER);
	take_controls(vcpu, MSR_IA32_VMX_TRUE_EXIT_CTLS,
		      VM_EXIT_SAVE_IA32_PAT | VM_EXIT_LOAD_IA32_PAT |
		      VM_EXIT_SAVE_IA32_EFER | VM_EXIT_LOAD_IA32_EFER);
}

static void offer_as_qemu_without_tsc_scaling(struct kvm_vcpu *vcpu)
{
	vcpu_set_msr(vcpu, MSR_IA32_VMX_VMCS_ENUM,
		     QEMU_VMCS_ENUM_NO_TSC_SCALING);
}

static const struct feature_set sets[] = {
	{ "as_kvm_offers", offer_all },
	{ "without_secondary_controls", offer_no_secondary_controls },
	{ "without_pat_efer_controls", offer_no_pat_efer_controls },
	{ "vmcs_enum_as_qemu_without_tsc_scaling",
	  offer_as_qemu_without_tsc_scaling },
};

static void run_set(int i)
{
	check_vmcs_enum();
}

void l1_guest_code(struct vmx_pages *vmx)
{
	GUEST_ASSERT(prepare_for_vmx_operation(vmx));
	nvmx_l1_run_cases(vmx, 1, run_set);
}

static void host_message(struct ucall *uc)
{
	nvmx_host_message(uc, sets[nvmx_env.set].name);
}

int main(int argc, char *argv[])
{
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;

	TEST_REQUIRE(kvm_cpu_has(X86_FEATURE_VMX));
	ksft_print_header();
	ksft_set_plan(ARRAY_SIZE(sets));

	for (nvmx_env.set = 0; nvmx_env.set < ARRAY_SIZE(sets);
	     nvmx_env.set++) {
		vm = nvmx_host_create_vm(&vcpu, NULL);
		/* Stock's known deviation is XFAIL; nvmx has no such excuse. */
		nvmx_env.strict |= nvmx_host_module_is_nvmx();
		sets[nvmx_env.set].offer(vcpu);
		nvmx_host_run_vm(vm, vcpu, host_message);
	}
	return nvmx_host_finish();
}
