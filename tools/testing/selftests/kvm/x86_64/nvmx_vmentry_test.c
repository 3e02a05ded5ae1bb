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

static const struct nvmx_case cases[] = {
	{ "launch_state_after_guest_state_failure",
	  launch_state_after_guest_state_failure },
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

int main(int argc, char *argv[])
{
	return nvmx_host_main(ARRAY_SIZE(cases), case_name);
}
