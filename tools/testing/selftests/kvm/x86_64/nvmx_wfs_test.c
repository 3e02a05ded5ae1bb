// SPDX-License-Identifier: GPL-2.0-only
/*
 * nvmx_wfs_test: the wait-for-SIPI activity state for L2 and the SIPI VM
 * exit (Intel SDM Vol. 3C 24.4.2, 26.3.1.5, 26.6.2, 25.2, 27.2.1).
 *
 * Two vCPUs.  vCPU 1 is a plain guest that sends SIPIs (vector 42H, x2APIC
 * ICR) to vCPU 0 until vCPU 0's last case says stop.  On vCPU 0, L1 runs the cases:
 *
 *   sipi_exit        VMLAUNCH with activity state wait-for-SIPI (3): L2
 *                    waits; the SIPI is a VM exit, reason 4, qualification
 *                    the vector, RIP as L1 entered it, activity state saved
 *                    as wait-for-SIPI (27.3.4); VMRESUME active then runs
 *                    L2 to its VMCALL.  The SIPIs that reach vCPU 0 while
 *                    it is in VMX root operation or L2 is active are
 *                    discarded (26.6.2), so nothing else happens to L1.
 *   timer_in_wfs     the same with the VMX-preemption timer at 0: the
 *                    state blocks the timer's exit (25.2, 26.7.4), the
 *                    SIPI is the exit, the count saved as 0.
 *   wfs_with_event   VMLAUNCH with wait-for-SIPI and an event to inject: no
 *                    event may be injected in that state (26.3.1.5), a
 *                    VM-entry failure, exit 33, qualification 0 (26.8).
 *                    Stock 6.1 enters the state and drops the event: L1
 *                    gets the SIPI exit (a reported deviation).
 *
 * Section numbers are those of the SDM editions that number the VMX chapters
 * 24 (VMCS) to 27 (VM exits); newer editions add one to the chapter.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "test_util.h"
#include "kvm_util.h"
#include "processor.h"
#include "apic.h"
#include "vmx.h"

#define EXIT_REASON_SIPI_NR		4
#define EXIT_REASON_INVALID_STATE_NR	(BIT(31) | 33)
#define NVMX_ACTIVITY_WAIT_SIPI		3
#define SIPI_VECTOR			0x42
#define SIPI_SENDS_MAX			20000000ul

struct nvmx_env {
	bool strict;
};

struct nvmx_env nvmx_env;

#include "nvmx_selftest.h"

/* vCPU 0's L1 sets it when the sender may stop */
static u64 sipi_done;

enum { SIPI_EXIT, TIMER_IN_WFS, WFS_WITH_EVENT };

#define EXIT_REASON_PREEMPTION_TIMER_NR	52

asm(".pushsection .text\n"
	"l2_vmcall:\n\t"
	"vmcall\n\t"
	"ud2\n"
	"l2_intr_30h:\n\t"
	"vmcall\n\t"
	"ud2\n\t"
	".popsection\n");

/*
 * L2's IDT: vector 30H is a 64-bit interrupt gate to l2_intr_30h, so an
 * injected interrupt that is delivered ends in a VMCALL there.
 */
static u64 l2_idt[2 * 256] __aligned(16);

static void l2_idt_setup(void)
{
	u64 handler = ASM_LABEL(l2_intr_30h);
	u64 cs = vmreadz(GUEST_CS_SELECTOR);

	l2_idt[2 * 0x30] = (handler & 0xffff) | cs << 16 | 0x8eull << 40 |
			   (handler >> 16 & 0xffff) << 48;
	l2_idt[2 * 0x30 + 1] = handler >> 32;
	vmwrite(GUEST_IDTR_BASE, (u64)l2_idt);
	vmwrite(GUEST_IDTR_LIMIT, sizeof(l2_idt) - 1);
}

/* ---------------------------------------------------------------------- */
/* vCPU 1: the sender.                                                      */

static void sender_code(void)
{
	u64 n;

	x2apic_enable();
	for (n = 0; !READ_ONCE(sipi_done); n++) {
		GUEST_ASSERT_1(n < SIPI_SENDS_MAX, n);
		/* Physical destination APIC ID 0 in ICR[63:32] */
		x2apic_write_reg(APIC_ICR, APIC_DEST_PHYSICAL | APIC_DM_STARTUP |
				 APIC_INT_ASSERT | SIPI_VECTOR);
	}
	GUEST_DONE();
}

/* ---------------------------------------------------------------------- */
/* vCPU 0: L1.                                                              */

static bool wfs_offered(void)
{
	/* A.6: IA32_VMX_MISC bit 8, activity state wait-for-SIPI */
	if (rdmsr(MSR_IA32_VMX_MISC) & BIT(8))
		return true;
	skip("activity state wait-for-SIPI not offered (IA32_VMX_MISC[8])");
	return false;
}

static void sipi_exit(void)
{
	if (!wfs_offered())
		return;
	l2_setup(ASM_LABEL(l2_vmcall));
	vmwrite(GUEST_ACTIVITY_STATE, NVMX_ACTIVITY_WAIT_SIPI);
	if (!l2_launch() ||
	    !nvmx_exit_at(EXIT_REASON_SIPI_NR, ASM_LABEL(l2_vmcall), "25.2"))
		return;
	CHECK(EXIT_QUALIFICATION, SIPI_VECTOR, "27.2.1");
	CHECK(GUEST_ACTIVITY_STATE, NVMX_ACTIVITY_WAIT_SIPI, "27.3.4");
	CHECK(VM_EXIT_INTR_INFO, 0, "27.2.2");
	CHECK(IDT_VECTORING_INFO_FIELD, 0, "27.2.4");

	vmwrite(GUEST_ACTIVITY_STATE, 0);
	if (nvmx_l2_resume(false))
		nvmx_vmcall_at(ASM_LABEL(l2_vmcall));
}

static void wfs_with_event(void)
{
	if (!wfs_offered())
		return;
	l2_setup(ASM_LABEL(l2_vmcall));
	l2_idt_setup();
	vmwrite(GUEST_ACTIVITY_STATE, NVMX_ACTIVITY_WAIT_SIPI);
	vmwrite(GUEST_RFLAGS, vmreadz(GUEST_RFLAGS) | BIT(9));	/* IF */
	/* External interrupt 30H: allowed in the active state only */
	vmwrite(VM_ENTRY_INTR_INFO_FIELD, BIT(31) | 0x30);
	if (!l2_launch())
		return;
	report_known("VM_EXIT_REASON", EXIT_REASON_INVALID_STATE_NR,
		     vmreadz(VM_EXIT_REASON), EXIT_REASON_SIPI_NR, "26.3.1.5",
		     "stock 6.1 enters wait-for-SIPI, its event dropped");
	if (vmreadz(VM_EXIT_REASON) == EXIT_REASON_INVALID_STATE_NR)
		CHECK(EXIT_QUALIFICATION, 0, "26.8");
}

static void case_sipi_exit(void)
{
	sipi_exit();
}

/*
 * 25.2, 26.7.4: the wait-for-SIPI state blocks the VMX-preemption timer's
 * exit: with a count of 0 L2 still waits, and the SIPI is the exit, the
 * count saved as 0 (27.3.4).
 */
static void case_timer_in_wfs(void)
{
	if (!wfs_offered())
		return;
	if (!ctl_update(PIN_BASED_VM_EXEC_CONTROL, MSR_IA32_VMX_PINBASED_CTLS,
			PIN_BASED_VMX_PREEMPTION_TIMER, 0) ||
	    !ctl_update(VM_EXIT_CONTROLS, MSR_IA32_VMX_EXIT_CTLS,
			VM_EXIT_SAVE_VMX_PREEMPTION_TIMER, 0)) {
		skip("VMX-preemption timer or saving its value not offered");
		return;
	}
	vmwrite(VMX_PREEMPTION_TIMER_VALUE, 0);
	l2_setup(ASM_LABEL(l2_vmcall));
	vmwrite(GUEST_ACTIVITY_STATE, NVMX_ACTIVITY_WAIT_SIPI);
	if (!l2_launch())
		return;
	report_known("VM_EXIT_REASON", EXIT_REASON_SIPI_NR,
		     vmreadz(VM_EXIT_REASON), EXIT_REASON_PREEMPTION_TIMER_NR,
		     "25.2, 26.7.4",
		     "stock 6.1 takes the timer's exit in wait-for-SIPI");
	CHECK(VMX_PREEMPTION_TIMER_VALUE, 0, "27.3.4");
}

/* The last case: then the sender stops, whatever the outcome */
static void case_wfs_with_event(void)
{
	wfs_with_event();
	WRITE_ONCE(sipi_done, 1);
	ucall(UCALL_SYNC, 2, NVMX_MSG_HOST_EVENT, cur_case);
}

static const struct nvmx_case cases[] = {
	[SIPI_EXIT] = { "sipi_exit", case_sipi_exit },
	[TIMER_IN_WFS] = { "timer_in_wfs", case_timer_in_wfs },
	[WFS_WITH_EVENT] = { "wfs_with_event", case_wfs_with_event },
};

void l1_guest_code(struct vmx_pages *vmx)
{
	nvmx_l1_run_table(vmx, cases, ARRAY_SIZE(cases));
}

/* ---------------------------------------------------------------------- */
/* Host.                                                                    */

static pthread_t sender_thread;

static void *sender_run(void *arg)
{
	struct kvm_vcpu *vcpu = arg;
	struct ucall uc;

	vcpu_run(vcpu);
	switch (get_ucall(vcpu, &uc)) {
	case UCALL_DONE:
		break;
	case UCALL_ABORT:
		REPORT_GUEST_ASSERT_1(uc, "SIPIs sent: %lu");
		break;
	default:
		TEST_FAIL("sender: exit reason %u, ucall %lu",
			  vcpu->run->exit_reason, uc.cmd);
	}
	return NULL;
}

static void host_message(struct ucall *uc)
{
	if (uc->args[0] == NVMX_MSG_HOST_EVENT) {
		pthread_join(sender_thread, NULL);
		return;
	}
	nvmx_host_message(uc, cases[uc->args[1]].name);
}

int main(int argc, char *argv[])
{
	struct kvm_vcpu *vcpu, *sender;
	struct kvm_vm *vm;

	/* A case that hangs still leaves its lines in the log */
	setbuf(stdout, NULL);
	TEST_REQUIRE(kvm_cpu_has(X86_FEATURE_VMX));
	ksft_print_header();
	ksft_set_plan(ARRAY_SIZE(cases));
	/* Room in memslot 0 for the sender's stack and page tables */
	vm = nvmx_host_create_vm_mem(&vcpu, NULL, 64);
	sender = vm_vcpu_add(vm, 1, sender_code);
	pthread_create(&sender_thread, NULL, sender_run, sender);
	return nvmx_host_run(vm, vcpu, host_message);
}
