// SPDX-License-Identifier: GPL-2.0-only
/*
 * nvmx_vmentry_test: how VMLAUNCH/VMRESUME end when the entry is refused.
 *
 * Each case sets up vmcs12 on top of prepare_vmcs(), runs VMLAUNCH or
 * VMRESUME and checks the outcome the SDM (Vol. 3C) prescribes: VMfailValid
 * with the VM-instruction error (30.4), a VM-entry failure exit (26.8), or
 * L2 running and exiting to L1.  The launch state (24.11.3) shows in which
 * of VMLAUNCH and VMRESUME fails with error 4 or 5.
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
};

struct nvmx_env nvmx_env;

#include "nvmx_selftest.h"

/* VM-instruction errors (30.4) */
#define ERR_VMLAUNCH_NONCLEAR		4
#define ERR_VMRESUME_NONLAUNCHED	5
#define ERR_INVALID_CONTROL		7

/* Exit reasons (Appendix C) */
#define REASON_EXCEPTION_NMI		0
#define REASON_ENTRY_FAIL_GUEST		(BIT(31) | 33)

/* An L2 that exits at once. */
asm(".pushsection .text\n"
	"l2_vmcall:\n\t"
	"vmcall\n\t"
	"ud2\n"
	".popsection");

static void expect_vmfail(int failed, u32 error, const char *sdm)
{
	report("VMLAUNCH/VMRESUME failed (VMfail)", 1, failed, sdm);
	if (failed)
		CHECK(VM_INSTRUCTION_ERROR, error, sdm);
}

static void expect_vmcall_exit(int failed, const char *sdm)
{
	report("VMLAUNCH/VMRESUME failed (VMfail)", 0, failed, sdm);
	if (!failed)
		CHECK(VM_EXIT_REASON, EXIT_REASON_VMCALL_NR, sdm);
}

/*
 * A guest state only the processor checks on vmcs02 (GDTR limit above
 * FFFFH, 26.3.1.3) fails the entry after the checks of 26.2: the VMCS stays
 * clear (30.3 VMLAUNCH sets "launched" only on success), so VMRESUME fails
 * with error 5 and a corrected VMLAUNCH succeeds; then the VMCS is launched.
 */
static void launch_state_after_guest_state_failure(void)
{
	l2_setup(ASM_LABEL(l2_vmcall));
	vmwrite(GUEST_GDTR_LIMIT, 0x10000);
	report("VMLAUNCH failed (VMfail)", 0, nvmx_l2_run(1), "26.3.1.3");
	CHECK(VM_EXIT_REASON, REASON_ENTRY_FAIL_GUEST, "26.8");
	CHECK(EXIT_QUALIFICATION, 0, "26.8");

	l2_setup(ASM_LABEL(l2_vmcall));
	expect_vmfail(nvmx_l2_run(0), ERR_VMRESUME_NONLAUNCHED,
		      "30.3 VMRESUME (launch state still clear)");

	vmwrite(GUEST_GDTR_LIMIT, 0xffff);
	expect_vmcall_exit(nvmx_l2_run(1), "30.3 VMLAUNCH");
	l2_setup(ASM_LABEL(l2_vmcall));
	expect_vmfail(nvmx_l2_run(1), ERR_VMLAUNCH_NONCLEAR,
		      "30.3 VMLAUNCH (launched after the successful entry)");
}

/* Event information (24.8.3, 27.2.2): valid, type, deliver error code. */
#define EV_VALID		BIT(31)
#define EV_HW_EXC		(3u << 8)
#define EV_ERRCODE		BIT(11)
#define CP_VECTOR		21
#define GP_VECTOR_NR		13
/* #GP while reading IDT entry @v: index, IDT flag, external event (6.13) */
#define IDT_ERROR_CODE(v)	((v) << 3 | 2 | 1)

/*
 * #CP (21) is not an exception that delivers an error code for L1: L1 is
 * offered neither CET nor IA32_VMX_BASIC[56], so 26.2.1.3's list is 8,
 * 10-14 and 17, and a #CP injected with its deliver-error-code bit set is a
 * VMfailValid(7) (this is also what a processor without CET does, and what
 * one with CET but without VMX_BASIC[56] does).  Without the bit it is
 * delivered: with an IDT limit of 0 its delivery raises #GP, which L1
 * intercepts, and the exit reports the #GP and, as the event being
 * delivered, the #CP without an error code (27.2.2, 27.2.4).
 */
static void inject_cp(bool error_code)
{
	u32 ev = EV_VALID | EV_HW_EXC | CP_VECTOR;
	int failed;

	l2_setup(ASM_LABEL(l2_vmcall));
	vmwrite(GUEST_IDTR_LIMIT, 0);
	vmwrite(EXCEPTION_BITMAP, BIT(GP_VECTOR_NR));
	if (error_code)
		ev |= EV_ERRCODE;
	vmwrite(VM_ENTRY_INTR_INFO_FIELD, ev);
	vmwrite(VM_ENTRY_EXCEPTION_ERROR_CODE, 5);
	failed = nvmx_l2_run(1);
	if (error_code) {
		expect_vmfail(failed, ERR_INVALID_CONTROL, "26.2.1.3");
		return;
	}
	GUEST_ASSERT_2(!failed, failed, vmreadz(VM_INSTRUCTION_ERROR));
	CHECK(VM_EXIT_REASON, REASON_EXCEPTION_NMI, "25.2");
	CHECK(VM_EXIT_INTR_INFO, EV_VALID | EV_HW_EXC | EV_ERRCODE |
	      GP_VECTOR_NR, "27.2.2");
	CHECK(VM_EXIT_INTR_ERROR_CODE, IDT_ERROR_CODE(CP_VECTOR), "27.2.2");
	CHECK(IDT_VECTORING_INFO_FIELD, ev, "27.2.4");
}

static void inject_cp_without_error_code(void)
{
	inject_cp(false);
}

static void inject_cp_with_error_code(void)
{
	inject_cp(true);
}

/*
 * The VM-entry MSR-load list is L1's WRMSRs, done by the processor: an MSR
 * the VMM's filter (KVM_X86_SET_MSR_FILTER) keeps L1 from writing fails
 * the entry as a WRMSR fault would, with the entry's number (26.4, 26.8),
 * as it does in the VM-exit MSR-load list.  The host denies writes to
 * IA32_KERNEL_GS_BASE: no host-state field reloads it when the failed entry
 * returns to L1 (27.5), so a write the list wrongly did would stay visible.
 */
#define FILTERED_MSR		0xc0000102	/* IA32_KERNEL_GS_BASE */
#define FILTERED_VALUE		0x5a5a5000ull
#define REASON_ENTRY_FAIL_MSR	(BIT(31) | 34)

static struct vmx_msr_entry entry_msrs[1] __aligned(16);
static u64 entry_msrs_gpa;

static void entry_msr_load_filtered(void)
{
	u64 before = rdmsr(FILTERED_MSR);
	u32 reason;

	l2_setup(ASM_LABEL(l2_vmcall));
	entry_msrs[0].index = FILTERED_MSR;
	entry_msrs[0].reserved = 0;
	entry_msrs[0].value = FILTERED_VALUE;
	vmwrite(VM_ENTRY_MSR_LOAD_ADDR, entry_msrs_gpa);
	vmwrite(VM_ENTRY_MSR_LOAD_COUNT, 1);
	report("VMLAUNCH failed (VMfail)", 0, nvmx_l2_run(1), "26.4");
	reason = vmreadz(VM_EXIT_REASON);
	report_known("VM_EXIT_REASON", REASON_ENTRY_FAIL_MSR, reason,
		     EXIT_REASON_VMCALL_NR, "26.4, 26.8",
		     "stock KVM 6.1 ignores the MSR filter in the MSR-load lists");
	if (reason != REASON_ENTRY_FAIL_MSR)
		return;
	CHECK(EXIT_QUALIFICATION, 1, "26.8 (the failing entry, from 1)");
	report("IA32_KERNEL_GS_BASE after the failed entry", before,
	       rdmsr(FILTERED_MSR), "26.4");
}

static const struct nvmx_case cases[] = {
	{ "launch_state_after_guest_state_failure",
	  launch_state_after_guest_state_failure },
	{ "inject_cp_without_error_code", inject_cp_without_error_code },
	{ "inject_cp_with_error_code", inject_cp_with_error_code },
	{ "entry_msr_load_filtered", entry_msr_load_filtered },
};

static void run_case(int i)
{
	cases[i].run();
}

static const char *case_name(int i)
{
	return cases[i].name;
}

void l1_guest_code(struct vmx_pages *vmx)
{
	GUEST_ASSERT(prepare_for_vmx_operation(vmx));
	nvmx_l1_run_cases(vmx, ARRAY_SIZE(cases), run_case);
}

/* Writes of FILTERED_MSR denied, everything else allowed. */
static void deny_filtered_msr_writes(struct kvm_vm *vm)
{
	static u8 deny;
	struct kvm_msr_filter filter = {
		.flags = KVM_MSR_FILTER_DEFAULT_ALLOW,
		.ranges = {
			{
				.flags = KVM_MSR_FILTER_WRITE,
				.nmsrs = 1,
				.base = FILTERED_MSR,
				.bitmap = &deny,
			},
		},
	};

	TEST_REQUIRE(kvm_has_cap(KVM_CAP_X86_MSR_FILTER));
	vm_ioctl(vm, KVM_X86_SET_MSR_FILTER, &filter);
}

int main(int argc, char *argv[])
{
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;

	nvmx_case_name = case_name;
	vm = nvmx_host_create(&vcpu, ARRAY_SIZE(cases), NULL);
	deny_filtered_msr_writes(vm);
	entry_msrs_gpa = addr_gva2gpa(vm, (vm_vaddr_t)entry_msrs);
	sync_global_to_guest(vm, entry_msrs_gpa);
	return nvmx_host_run(vm, vcpu, nvmx_host_case_message);
}
