// SPDX-License-Identifier: GPL-2.0-only
/*
 * nvmx_shutdown_test: the shutdown activity state for L2 (Intel SDM Vol. 3C
 * 24.4.2, 25.2, 26.3.1.5, 26.6.2, 26.7.4, 26.7.6, 27.1, 27.3.4, A.6).
 *
 * L1 enters L2 in the shutdown state (2) and the host, once it finds the
 * vCPU there (KVM_RUN interrupted by a timer signal, KVM_GET_MP_STATE
 * INIT_RECEIVED: nvmx's representation of the state), sends the event the
 * case asks for: an INIT (latched with KVM_SET_VCPU_EVENTS) or an NMI
 * (KVM_NMI).  The cases:
 *
 *   init_exit        INIT: VM exit 3 (25.2), qualification 0, RIP as L1
 *                    entered it, activity state saved as shutdown (27.3.4,
 *                    the state before the exit, 27.1); VMRESUME active then
 *                    runs L2 to its VMCALL.
 *   nmi_wakes        NMI with "NMI exiting" 0: shutdown blocks no NMI
 *                    (26.6.2), L2 wakes and delivers it through its IDT
 *                    (vector 2 gate to a VMCALL): exit 18 there, activity
 *                    state saved as active.
 *   nmi_exit         NMI with "NMI exiting" 1: VM exit 0, interruption
 *                    information 0x80000202, activity state shutdown.
 *   nmi_window       "NMI-window exiting" (with virtual NMIs): the exit
 *                    wakes L2 from shutdown right after the entry (26.7.6),
 *                    exit 8, activity state shutdown.
 *   timer_exit       VMX-preemption timer at 0: it counts in shutdown
 *                    (25.5.1), exit 52, activity state shutdown.
 *   state_round_trip KVM_GET_NESTED_STATE of L2 in shutdown: vmcs12's
 *                    activity state 2 and KVM_GET_MP_STATE INIT_RECEIVED;
 *                    SET both back, then INIT: exit 3, activity shutdown.
 *   vectoring_entry  shutdown with an NMI to inject: allowed (26.3.1.5), the
 *                    entry is vectoring and L2 active (26.6.2): the NMI
 *                    reaches L2's handler, exit 18 there, activity active.
 *   bad_entries      shutdown with an external interrupt or a #UD to
 *                    inject, or with blocking by STI: VM-entry failure,
 *                    exit 33 with bit 31, qualification 0 (26.3.1.5, 26.8).
 *                    The activity-state rules are guest-state checks: no
 *                    VMfailValid comes from them.
 *   extint_active    the control for extint_blocked, in the active state:
 *                    an interrupt pending in L1's local APIC (a self-IPI,
 *                    vector 40H, L1's RFLAGS.IF 0) under "external-interrupt
 *                    exiting" and "acknowledge interrupt on exit" is a VM
 *                    exit before L2's first instruction at VMLAUNCH, and
 *                    again at VMRESUME: exit 1 at the RIP L1 entered with,
 *                    interruption information 80000040H, 40H in service.
 *   extint_blocked   the same interrupt with L2 in shutdown: the state
 *                    blocks it, no VM exit (26.6.2); the host waits
 *                    NVMX_WAIT_TICKS in shutdown, then INIT: exit 3,
 *                    activity state shutdown, the interrupt still in L1's
 *                    IRR; VMRESUME active then takes it as extint_active's.
 *   sipi_discarded   a SIPI (vector 42H, from vCPU 1's x2APIC ICR) while L2
 *                    is in shutdown is discarded, no VM exit (26.6.2): L2
 *                    stays in shutdown NVMX_WAIT_TICKS, then INIT: exit 3 at
 *                    the RIP and CS L1 entered it with, activity shutdown.
 *   vectoring_mc     shutdown with a machine check to inject: allowed
 *                    (26.3.1.5), the entry is vectoring, L2 active (26.6.2):
 *                    the #MC reaches L2's handler (vector 18 gate to a
 *                    VMCALL), exit 18 there, activity state active.
 *
 * Then the same L1 in a VM without an in-kernel irqchip (no local APIC in
 * KVM: no INIT or SIPI to take, KVM_NMI still works): timer_exit,
 * nmi_exit and nmi_window.  Last, so that an oops there stops no other
 * case; none of them checks an interruptibility state that Bochs saves
 * after the NMIs injected into L2 before (their exits from shutdown do
 * not run vmcs02).
 *
 * Stock 6.1 does not offer the state (IA32_VMX_MISC bit 7 clear on the
 * emulated CPU): every case but extint_active is skipped there.
 *
 * Mutation run (d44b032's lapic_in_kernel() guard in
 * nested_vmx_shutdown_events() removed): timer_exit_no_irqchip oopsed the
 * emulated host, a NULL pointer dereference at 0xe0 (the local APIC's
 * pending_events) in nested_vmx_check_events(), and the host died.
 */
#define _GNU_SOURCE
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "test_util.h"
#include "kvm_util.h"
#include "processor.h"
#include "apic.h"
#include "vmx.h"

#define EXIT_REASON_NMI_NR		0
#define EXIT_REASON_EXTINT_NR		1
#define EXIT_REASON_INIT_NR		3
#define EXIT_REASON_NMI_WINDOW_NR	8
#define EXIT_REASON_INVALID_STATE_NR	(BIT(31) | 33)
#define EXIT_REASON_PREEMPTION_TIMER_NR	52
#define NVMX_ACTIVITY_ACTIVE		0
#define NVMX_ACTIVITY_SHUTDOWN		2
#define NVMX_NMI_INFO			(BIT(31) | (2 << 8) | 2)
#define NVMX_MC_INFO			(BIT(31) | (3 << 8) | 18)
#define NVMX_EXTINT_VECTOR		0x40
#define NVMX_APIC_ISR			0x100
#define NVMX_SIPI_VECTOR		0x42
/* struct vmcs12's guest_activity_state, 6.1's layout (vmcs12.h) */
#define NVMX_VMCS12_ACTIVITY_OFF	916

struct nvmx_env {
	bool strict;
	bool no_irqchip;	/* L1 runs no_irqchip_cases[] */
};

struct nvmx_env nvmx_env;

#include "nvmx_selftest.h"

/*
 * What the host does once it finds L2 in shutdown; the _LATER ones wait
 * NVMX_WAIT_TICKS there first (after the SIPI for ACT_SIPI_INIT_LATER).
 */
enum {
	ACT_NONE, ACT_INIT, ACT_NMI, ACT_STATE_THEN_INIT, ACT_INIT_LATER,
	ACT_SIPI_INIT_LATER,
};

/*
 * The cases in which Bochs injects an NMI into L2 come last: after that it
 * saves "blocking by NMI" on every VM exit of the boot (emulator limit).
 */
enum {
	INIT_EXIT, NMI_EXIT, NMI_WINDOW, TIMER_EXIT, STATE_ROUND_TRIP,
	BAD_ENTRIES, EXTINT_ACTIVE, EXTINT_BLOCKED, SIPI_DISCARDED,
	VECTORING_MC, NMI_WAKES, VECTORING_ENTRY,
};

asm(".pushsection .text\n"
	"l2_vmcall:\n\t"
	"vmcall\n\t"
	"ud2\n"
	"l2_nmi:\n\t"
	"vmcall\n\t"
	"ud2\n"
	"l2_mc:\n\t"
	"vmcall\n\t"
	"ud2\n\t"
	".popsection\n");

/*
 * L2's IDT: vector 2 (NMI) is a 64-bit interrupt gate to l2_nmi, vector
 * 18 (#MC) one to l2_mc.
 */
static u64 l2_idt[2 * 256] __aligned(16);

static void l2_idt_gate(int vector, u64 handler)
{
	u64 cs = vmreadz(GUEST_CS_SELECTOR);

	l2_idt[2 * vector] = (handler & 0xffff) | cs << 16 | 0x8eull << 40 |
			     (handler >> 16 & 0xffff) << 48;
	l2_idt[2 * vector + 1] = handler >> 32;
}

static void l2_idt_setup(void)
{
	l2_idt_gate(2, ASM_LABEL(l2_nmi));
	l2_idt_gate(18, ASM_LABEL(l2_mc));
	vmwrite(GUEST_IDTR_BASE, (u64)l2_idt);
	vmwrite(GUEST_IDTR_LIMIT, sizeof(l2_idt) - 1);
}

/* ---------------------------------------------------------------------- */
/* L1.                                                                      */

static bool shutdown_offered(void)
{
	/* A.6: IA32_VMX_MISC bit 7, activity state shutdown */
	if (rdmsr(MSR_IA32_VMX_MISC) & BIT(7))
		return true;
	skip("activity state shutdown not offered (IA32_VMX_MISC[7]; stock 6.1 does not offer it)");
	return false;
}

/* Ask the host for @action once L2 is in shutdown */
static void host_action(int action)
{
	ucall(UCALL_SYNC, 3, NVMX_MSG_HOST_EVENT, cur_case, action);
}

/* VMLAUNCH into shutdown, the host doing @action there: exit @reason */
static bool launch_shutdown(int action, u32 reason, u64 rip, const char *sdm)
{
	l2_setup(ASM_LABEL(l2_vmcall));
	l2_idt_setup();
	vmwrite(GUEST_ACTIVITY_STATE, NVMX_ACTIVITY_SHUTDOWN);
	if (action != ACT_NONE)
		host_action(action);
	return l2_launch() && nvmx_exit_at(reason, rip, sdm);
}

/* The exit came from shutdown: nothing delivered, state saved (27.3.4) */
static void check_exit_from_shutdown(u32 intr_info)
{
	CHECK(EXIT_QUALIFICATION, 0, "27.2.1");
	CHECK(VM_EXIT_INTR_INFO, intr_info, "27.2.2");
	CHECK(IDT_VECTORING_INFO_FIELD, 0, "27.2.4");
	CHECK(GUEST_ACTIVITY_STATE, NVMX_ACTIVITY_SHUTDOWN, "27.1, 27.3.4");
}

/* L1 runs L2 on, active: to its VMCALL */
static void resume_active(void)
{
	vmwrite(GUEST_ACTIVITY_STATE, NVMX_ACTIVITY_ACTIVE);
	if (nvmx_l2_resume(false))
		nvmx_vmcall_at(ASM_LABEL(l2_vmcall));
}

static void case_init_exit(void)
{
	if (!shutdown_offered() ||
	    !launch_shutdown(ACT_INIT, EXIT_REASON_INIT_NR,
			     ASM_LABEL(l2_vmcall), "25.2"))
		return;
	check_exit_from_shutdown(0);
	resume_active();
}

static void case_nmi_wakes(void)
{
	if (!shutdown_offered() ||
	    !launch_shutdown(ACT_NMI, EXIT_REASON_VMCALL_NR,
			     ASM_LABEL(l2_nmi), "26.6.2, 6.15"))
		return;
	CHECK(GUEST_ACTIVITY_STATE, NVMX_ACTIVITY_ACTIVE, "27.3.4");
	CHECK(IDT_VECTORING_INFO_FIELD, 0, "27.2.4");
}

static void case_nmi_exit(void)
{
	if (!shutdown_offered())
		return;
	GUEST_ASSERT(ctl_update(PIN_BASED_VM_EXEC_CONTROL,
				MSR_IA32_VMX_PINBASED_CTLS,
				PIN_BASED_NMI_EXITING, 0));
	if (!launch_shutdown(ACT_NMI, EXIT_REASON_NMI_NR,
			     ASM_LABEL(l2_vmcall), "25.2"))
		return;
	check_exit_from_shutdown(NVMX_NMI_INFO);
	resume_active();
}

static void case_nmi_window(void)
{
	if (!shutdown_offered())
		return;
	if (!ctl_update(PIN_BASED_VM_EXEC_CONTROL,
			MSR_IA32_VMX_PINBASED_CTLS,
			PIN_BASED_NMI_EXITING | PIN_BASED_VIRTUAL_NMIS, 0) ||
	    !ctl_update(CPU_BASED_VM_EXEC_CONTROL,
			MSR_IA32_VMX_PROCBASED_CTLS,
			CPU_BASED_NMI_WINDOW_EXITING, 0)) {
		skip("virtual NMIs or NMI-window exiting not offered");
		return;
	}
	if (!launch_shutdown(ACT_NONE, EXIT_REASON_NMI_WINDOW_NR,
			     ASM_LABEL(l2_vmcall), "26.7.6"))
		return;
	check_exit_from_shutdown(0);
}

static void case_timer_exit(void)
{
	if (!shutdown_offered())
		return;
	if (!ctl_update(PIN_BASED_VM_EXEC_CONTROL,
			MSR_IA32_VMX_PINBASED_CTLS,
			PIN_BASED_VMX_PREEMPTION_TIMER, 0)) {
		skip("VMX-preemption timer not offered");
		return;
	}
	vmwrite(VMX_PREEMPTION_TIMER_VALUE, 0);
	if (!launch_shutdown(ACT_NONE, EXIT_REASON_PREEMPTION_TIMER_NR,
			     ASM_LABEL(l2_vmcall), "25.5.1, 26.7.4"))
		return;
	check_exit_from_shutdown(0);
}

static void case_state_round_trip(void)
{
	if (!shutdown_offered() ||
	    !launch_shutdown(ACT_STATE_THEN_INIT, EXIT_REASON_INIT_NR,
			     ASM_LABEL(l2_vmcall), "25.2"))
		return;
	check_exit_from_shutdown(0);
	resume_active();
}

static void case_vectoring_entry(void)
{
	if (!shutdown_offered())
		return;
	l2_setup(ASM_LABEL(l2_vmcall));
	l2_idt_setup();
	vmwrite(GUEST_ACTIVITY_STATE, NVMX_ACTIVITY_SHUTDOWN);
	vmwrite(VM_ENTRY_INTR_INFO_FIELD, NVMX_NMI_INFO);
	if (!l2_launch() ||
	    !nvmx_exit_at(EXIT_REASON_VMCALL_NR, ASM_LABEL(l2_nmi), "26.6.2"))
		return;
	CHECK(GUEST_ACTIVITY_STATE, NVMX_ACTIVITY_ACTIVE, "26.6.2, 27.3.4");
}

/* L1 sends itself 40H, which stays pending: it runs with RFLAGS.IF 0 */
static void extint_self_ipi(void)
{
	x2apic_write_reg(APIC_ICR, APIC_DEST_SELF | APIC_INT_ASSERT |
			 APIC_DM_FIXED | NVMX_EXTINT_VECTOR);
}

/* Vector 40H's bit in L1's IRR or ISR (@reg: APIC_IRR, NVMX_APIC_ISR) */
static u32 extint_l1_bit(u32 reg)
{
	return x2apic_read_reg(reg + NVMX_EXTINT_VECTOR / 32 * 0x10) &
	       BIT(NVMX_EXTINT_VECTOR % 32);
}

/*
 * L1's interrupt for the extint cases, pending in its local APIC.  False,
 * with the case skipped: a control is missing.
 */
static bool extint_pending_in_l1(void)
{
	if (!ctl_update(PIN_BASED_VM_EXEC_CONTROL,
			MSR_IA32_VMX_PINBASED_CTLS,
			PIN_BASED_EXT_INTR_MASK, 0) ||
	    !ctl_update(VM_EXIT_CONTROLS, MSR_IA32_VMX_EXIT_CTLS,
			VM_EXIT_ACK_INTR_ON_EXIT, 0)) {
		skip("external-interrupt exiting or acknowledge on exit not offered");
		return false;
	}
	x2apic_enable();
	extint_self_ipi();
	return true;
}

/*
 * The next entry runs L2 with RFLAGS.IF 1.  Under "external-interrupt
 * exiting" IF does not block the interrupt (SDM 24.6.1, Table 24-5) and
 * the SDM's answer is the same with 0, but Bochs 2.7 does not recognize
 * an interrupt that is pending in its own local APIC at VM entry while the
 * guest's IF is 0.  vmx.c's immediate exit (a self-IPI: the emulated CPU
 * gives KVM no VMX-preemption timer) then comes after L2's first
 * instruction, its VMCALL (measured with the kvm_entry and
 * kvm_nested_vmexit events; stock passed with 0 only because each of its
 * entries took an EPT violation first, which let it take the exit).
 */
static void l2_if_set(void)
{
	vmwrite(GUEST_RFLAGS, vmreadz(GUEST_RFLAGS) | BIT(9));	/* IF */
}

/*
 * 25.2: the interrupt's VM exit, before L2's first instruction; 24.7.1,
 * 27.2.2: acknowledged, its vector in the interruption information and in
 * service in L1's local APIC, no longer requested.
 */
static bool extint_exit(const char *sdm)
{
	if (!nvmx_exit_at(EXIT_REASON_EXTINT_NR, ASM_LABEL(l2_vmcall), sdm))
		return false;
	CHECK(VM_EXIT_INTR_INFO, BIT(31) | NVMX_EXTINT_VECTOR, "27.2.2");
	CHECK(GUEST_ACTIVITY_STATE, NVMX_ACTIVITY_ACTIVE, "27.3.4");
	report("L1's ISR bit of vector 40H", BIT(NVMX_EXTINT_VECTOR % 32),
	       extint_l1_bit(NVMX_APIC_ISR), "24.7.1");
	report("L1's IRR bit of vector 40H", 0, extint_l1_bit(APIC_IRR),
	       "24.7.1");
	return true;
}

static void case_extint_active(void)
{
	if (!extint_pending_in_l1())
		return;
	l2_setup(ASM_LABEL(l2_vmcall));
	l2_if_set();
	if (!l2_launch() || !extint_exit("25.2, VMLAUNCH"))
		goto out;
	x2apic_write_reg(APIC_EOI, 0);
	extint_self_ipi();
	if (nvmx_l2_resume(false))
		extint_exit("25.2, VMRESUME");
out:
	/* In service once an exit acknowledged it (24.7.1): L1 ends it */
	x2apic_write_reg(APIC_EOI, 0);
}

/*
 * 26.6.2: the shutdown state blocks external interrupts, also under
 * "external-interrupt exiting".  L1's interrupt waits in its IRR through
 * L2's shutdown and the INIT exit, and is L1's at the next entry (26.7.5
 * does not apply: the exit is the interrupt's own, 25.2).
 */
static void extint_blocked(void)
{
	if (!launch_shutdown(ACT_INIT_LATER, EXIT_REASON_INIT_NR,
			     ASM_LABEL(l2_vmcall), "26.6.2, 25.2"))
		return;
	check_exit_from_shutdown(0);
	report("L1's IRR bit of vector 40H", BIT(NVMX_EXTINT_VECTOR % 32),
	       extint_l1_bit(APIC_IRR), "26.6.2");
	vmwrite(GUEST_ACTIVITY_STATE, NVMX_ACTIVITY_ACTIVE);
	l2_if_set();
	if (nvmx_l2_resume(false))
		extint_exit("25.2");
}

static void case_extint_blocked(void)
{
	if (!shutdown_offered() || !extint_pending_in_l1())
		return;
	extint_blocked();
	/* In service once an exit acknowledged it (24.7.1): L1 ends it */
	x2apic_write_reg(APIC_EOI, 0);
}

/* 26.6.2: a SIPI in the shutdown state is discarded, with no VM exit */
static void case_sipi_discarded(void)
{
	u64 cs = vmreadz(GUEST_CS_SELECTOR);

	if (!shutdown_offered())
		return;
	if (!launch_shutdown(ACT_SIPI_INIT_LATER, EXIT_REASON_INIT_NR,
			     ASM_LABEL(l2_vmcall), "26.6.2, 25.2"))
		return;
	check_exit_from_shutdown(0);
	CHECK(GUEST_CS_SELECTOR, cs, "26.6.2");
	resume_active();
}

/*
 * 26.3.1.5: a machine check may be injected in the shutdown state; the
 * entry is vectoring, so L2 is active after it (26.6.2) and delivers the
 * #MC through its IDT.  CR4.MCE 1 where L1 may set it, as a machine check
 * with CR4.MCE 0 would shut the processor down.
 */
static void case_vectoring_mc(void)
{
	if (!shutdown_offered())
		return;
	l2_setup(ASM_LABEL(l2_vmcall));
	l2_idt_setup();
	if (rdmsr(MSR_IA32_VMX_CR4_FIXED1) & X86_CR4_MCE)
		vmwrite(GUEST_CR4, vmreadz(GUEST_CR4) | X86_CR4_MCE);
	vmwrite(GUEST_ACTIVITY_STATE, NVMX_ACTIVITY_SHUTDOWN);
	vmwrite(VM_ENTRY_INTR_INFO_FIELD, NVMX_MC_INFO);
	if (!l2_launch() ||
	    !nvmx_exit_at(EXIT_REASON_VMCALL_NR, ASM_LABEL(l2_mc),
			  "26.3.1.5, 26.6.2"))
		return;
	CHECK(GUEST_ACTIVITY_STATE, NVMX_ACTIVITY_ACTIVE, "26.6.2, 27.3.4");
	CHECK(IDT_VECTORING_INFO_FIELD, 0, "27.2.4");
}

/* VMLAUNCH of shutdown with @event injected and @intr: exit 33 */
static void bad_entry(u32 event, u32 intr)
{
	l2_setup(ASM_LABEL(l2_vmcall));
	vmwrite(GUEST_ACTIVITY_STATE, NVMX_ACTIVITY_SHUTDOWN);
	vmwrite(GUEST_RFLAGS, vmreadz(GUEST_RFLAGS) | BIT(9));	/* IF */
	vmwrite(VM_ENTRY_INTR_INFO_FIELD, event);
	vmwrite(GUEST_INTERRUPTIBILITY_INFO, intr);
	if (!l2_launch())
		return;
	CHECK(VM_EXIT_REASON, EXIT_REASON_INVALID_STATE_NR, "26.3.1.5");
	CHECK(EXIT_QUALIFICATION, 0, "26.8");
}

static void case_bad_entries(void)
{
	if (!shutdown_offered())
		return;
	/* External interrupt 30H: not allowed in shutdown */
	bad_entry(BIT(31) | 0x30, 0);
	/* Hardware exception #UD: only #MC is */
	bad_entry(BIT(31) | (3 << 8) | 6, 0);
	/* Blocking by STI asks for the active state */
	bad_entry(0, BIT(0));
}

static const struct nvmx_case cases[] = {
	[INIT_EXIT] = { "init_exit", case_init_exit },
	[NMI_EXIT] = { "nmi_exit", case_nmi_exit },
	[NMI_WINDOW] = { "nmi_window", case_nmi_window },
	[TIMER_EXIT] = { "timer_exit", case_timer_exit },
	[STATE_ROUND_TRIP] = { "state_round_trip", case_state_round_trip },
	[BAD_ENTRIES] = { "bad_entries", case_bad_entries },
	[EXTINT_ACTIVE] = { "extint_active", case_extint_active },
	[EXTINT_BLOCKED] = { "extint_blocked", case_extint_blocked },
	[SIPI_DISCARDED] = { "sipi_discarded", case_sipi_discarded },
	[VECTORING_MC] = { "vectoring_mc", case_vectoring_mc },
	[NMI_WAKES] = { "nmi_wakes", case_nmi_wakes },
	[VECTORING_ENTRY] = { "vectoring_entry", case_vectoring_entry },
};

/* Without an in-kernel local APIC: the events that still reach L2 in shutdown */
static const struct nvmx_case no_irqchip_cases[] = {
	{ "timer_exit_no_irqchip", case_timer_exit },
	{ "nmi_exit_no_irqchip", case_nmi_exit },
	{ "nmi_window_no_irqchip", case_nmi_window },
};

void l1_guest_code(struct vmx_pages *vmx)
{
	if (nvmx_env.no_irqchip)
		nvmx_l1_run_table(vmx, no_irqchip_cases,
				  ARRAY_SIZE(no_irqchip_cases));
	else
		nvmx_l1_run_table(vmx, cases, ARRAY_SIZE(cases));
}

/* ---------------------------------------------------------------------- */
/* Host.                                                                    */

static int pending_action = ACT_NONE;

static void on_tick(int sig)
{
}

static void ticks(long us)
{
	struct itimerval t = {
		.it_interval = { .tv_usec = us },
		.it_value = { .tv_usec = us },
	};

	TEST_ASSERT(!setitimer(ITIMER_REAL, &t, NULL), "setitimer");
}

static u32 mp_state_of(struct kvm_vcpu *vcpu)
{
	struct kvm_mp_state mp;

	vcpu_ioctl(vcpu, KVM_GET_MP_STATE, &mp);
	return mp.mp_state;
}

/* KVM_SET_VCPU_EVENTS: an INIT latched in the vCPU's local APIC */
static void latch_init(struct kvm_vcpu *vcpu)
{
	struct kvm_vcpu_events ev;

	vcpu_events_get(vcpu, &ev);
	ev.flags |= KVM_VCPUEVENT_VALID_SMM;
	ev.smi.latched_init = 1;
	vcpu_events_set(vcpu, &ev);
}

static u32 state_activity(struct kvm_nested_state *s)
{
	u32 v;

	memcpy(&v, (u8 *)s->data.vmx[0].vmcs12 + NVMX_VMCS12_ACTIVITY_OFF,
	       sizeof(v));
	return v;
}

/* The table L1 runs in the VM the host runs now */
static const struct nvmx_case *host_cases;

/* The case the host found wrong, -1 if none */
static int host_failed = -1;

static void host_check(bool ok, const char *what, u64 expected, u64 actual)
{
	if (ok)
		return;
	ksft_print_msg("%s: %s: expected 0x%lx, got 0x%lx\n",
		       host_cases[cur_case].name, what, expected, actual);
	host_failed = cur_case;
}

/*
 * GET and SET of L2 in shutdown: guest mode, no entry pending, vmcs12's
 * activity state shutdown, the mp_state INIT_RECEIVED; the same after
 * SET (the VMM's KVM_SET_MP_STATE after KVM_SET_NESTED_STATE).
 */
static void state_round_trip(struct kvm_vcpu *vcpu)
{
	size_t size = sizeof(struct kvm_nested_state) +
		      sizeof(struct kvm_vmx_nested_state_data);
	struct kvm_nested_state *s = calloc(1, size);
	struct kvm_mp_state mp = { .mp_state = KVM_MP_STATE_INIT_RECEIVED };
	u32 flags = KVM_STATE_NESTED_GUEST_MODE | KVM_STATE_NESTED_RUN_PENDING;

	TEST_ASSERT(s, "no memory");
	s->size = size;
	vcpu_nested_state_get(vcpu, s);
	host_check((s->flags & flags) == KVM_STATE_NESTED_GUEST_MODE,
		   "state flags (guest mode, run pending)",
		   KVM_STATE_NESTED_GUEST_MODE, s->flags & flags);
	host_check(state_activity(s) == NVMX_ACTIVITY_SHUTDOWN,
		   "vmcs12 activity state in the state", NVMX_ACTIVITY_SHUTDOWN,
		   state_activity(s));
	vcpu_nested_state_set(vcpu, s);
	vcpu_ioctl(vcpu, KVM_SET_MP_STATE, &mp);
	memset(s->data.vmx[0].vmcs12, 0, sizeof(s->data.vmx[0].vmcs12));
	vcpu_nested_state_get(vcpu, s);
	host_check(state_activity(s) == NVMX_ACTIVITY_SHUTDOWN,
		   "vmcs12 activity state after SET", NVMX_ACTIVITY_SHUTDOWN,
		   state_activity(s));
	host_check(mp_state_of(vcpu) == KVM_MP_STATE_INIT_RECEIVED,
		   "mp_state after SET", KVM_MP_STATE_INIT_RECEIVED,
		   mp_state_of(vcpu));
	free(s);
}

/*
 * vCPU 1 of the VM with an irqchip: each KVM_RUN of it sends one SIPI to
 * vCPU 0 (x2APIC ICR, physical destination APIC ID 0) and stops.
 */
static struct kvm_vcpu *sipi_sender;

static void sender_code(void)
{
	x2apic_enable();
	for (;;) {
		x2apic_write_reg(APIC_ICR, APIC_DEST_PHYSICAL | APIC_DM_STARTUP |
				 APIC_INT_ASSERT | NVMX_SIPI_VECTOR);
		GUEST_SYNC(0);
	}
}

static void send_sipi(void)
{
	struct ucall uc;

	/* The ticks go on: a KVM_RUN they interrupt is run again */
	while (__vcpu_run(sipi_sender))
		TEST_ASSERT(errno == EINTR, "SIPI sender: KVM_RUN errno %d",
			    errno);
	TEST_ASSERT(get_ucall(sipi_sender, &uc) == UCALL_SYNC,
		    "SIPI sender: exit reason %u, ucall %lu",
		    sipi_sender->run->exit_reason, uc.cmd);
}

/* Ticks that L2 waits in shutdown before the _LATER actions' INIT */
#define NVMX_WAIT_TICKS		5

/*
 * @action's part for the @tick'th tick at which the vCPU is found in
 * INIT_RECEIVED (from 1): true once the action is done.
 */
static bool do_action(struct kvm_vcpu *vcpu, int action, int tick)
{
	switch (action) {
	case ACT_INIT:
		latch_init(vcpu);
		break;
	case ACT_NMI:
		vcpu_ioctl(vcpu, KVM_NMI, NULL);
		break;
	case ACT_STATE_THEN_INIT:
		state_round_trip(vcpu);
		latch_init(vcpu);
		break;
	default:
		if (action == ACT_SIPI_INIT_LATER && tick == 1)
			send_sipi();
		if (tick < NVMX_WAIT_TICKS)
			return false;
		latch_init(vcpu);
		break;
	}
	return true;
}

/*
 * Run L1 to its next ucall, KVM_RUN interrupted every 20 ms.  With an
 * action pending, the action once the vCPU is found in INIT_RECEIVED in
 * guest mode (L2 in shutdown); L1 reaching its next ucall first means L2
 * never waited (or left the state before the action was done): L1's
 * checks then say what happened.  A vCPU still in INIT_RECEIVED
 * NVMX_STUCK_TICKS later (the event did not end the state, or nothing
 * did) fails the test rather than hang it.
 */
#define NVMX_STUCK_TICKS	250

static u64 run_l1(struct kvm_vcpu *vcpu, struct ucall *uc, const char *name)
{
	int action = pending_action;
	int tick = 0;

	pending_action = ACT_NONE;
	ticks(20000);
	for (;;) {
		if (!__vcpu_run(vcpu))
			break;
		TEST_ASSERT(errno == EINTR, "KVM_RUN: errno %d", errno);
		if (mp_state_of(vcpu) != KVM_MP_STATE_INIT_RECEIVED)
			continue;
		tick++;
		if (action != ACT_NONE && do_action(vcpu, action, tick))
			action = ACT_NONE;
		TEST_ASSERT(tick < NVMX_STUCK_TICKS + NVMX_WAIT_TICKS,
			    "%s: L2 still in shutdown 5 s after the event",
			    name);
	}
	ticks(0);
	TEST_ASSERT(vcpu->run->exit_reason == KVM_EXIT_IO,
		    "L1 stopped with exit reason %u", vcpu->run->exit_reason);
	return get_ucall(vcpu, uc);
}

/* Run L1's @table in @vm to its end, and free @vm */
static void run_vm(struct kvm_vm *vm, struct kvm_vcpu *vcpu,
		   const struct nvmx_case *table)
{
	struct ucall uc;

	host_cases = table;
	host_failed = -1;
	sync_global_to_guest(vm, nvmx_env);
	for (;;) {
		switch (run_l1(vcpu, &uc, table[cur_case].name)) {
		case UCALL_SYNC:
			cur_case = uc.args[1];
			if (uc.args[0] == NVMX_MSG_HOST_EVENT)
				pending_action = uc.args[2];
			else if (uc.args[0] == NVMX_MSG_CASE_END &&
				 host_failed == cur_case)
				ksft_test_result_fail("%s\n", table[cur_case].name);
			else
				nvmx_host_message(&uc, table[uc.args[1]].name);
			break;
		case UCALL_ABORT:
			REPORT_GUEST_ASSERT(uc);
			break;
		case UCALL_DONE:
			kvm_vm_free(vm);
			cur_case = 0;
			return;
		default:
			TEST_FAIL("unexpected ucall %lu", uc.cmd);
		}
	}
}

/*
 * A VM whose one vCPU enters L1 at l1_entry, with no in-kernel irqchip:
 * what nvmx_host_create_vm() makes but for KVM_CREATE_IRQCHIP, which the
 * 6.1 library's __vm_create() always issues.
 */
#define NVMX_NO_IRQCHIP_PAGES	2048

static struct kvm_vm *vm_create_no_irqchip(struct kvm_vcpu **vcpu)
{
	struct kvm_vm *vm = ____vm_create(VM_MODE_DEFAULT,
					  NVMX_NO_IRQCHIP_PAGES);
	vm_vaddr_t vmx_gva;

	kvm_vm_elf_load(vm, program_invocation_name);
	*vcpu = vm_vcpu_add(vm, 0, (void *)ASM_LABEL(l1_entry));
	vcpu_alloc_vmx(vm, &vmx_gva);
	vcpu_args_set(*vcpu, 1, vmx_gva);
	return vm;
}

int main(int argc, char *argv[])
{
	struct sigaction sa = { .sa_handler = on_tick };
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;

	setbuf(stdout, NULL);
	TEST_REQUIRE(kvm_cpu_has(X86_FEATURE_VMX));
	TEST_REQUIRE(kvm_has_cap(KVM_CAP_NESTED_STATE));
	TEST_ASSERT(!sigaction(SIGALRM, &sa, NULL), "sigaction");
	ksft_print_header();
	ksft_set_plan(ARRAY_SIZE(cases) + ARRAY_SIZE(no_irqchip_cases));

	/* Room in memslot 0 for the SIPI sender's stack and page tables */
	vm = nvmx_host_create_vm_mem(&vcpu, NULL, 64);
	sipi_sender = vm_vcpu_add(vm, 1, sender_code);
	run_vm(vm, vcpu, cases);

	nvmx_env.no_irqchip = true;
	vm = vm_create_no_irqchip(&vcpu);
	run_vm(vm, vcpu, no_irqchip_cases);
	return nvmx_host_finish();
}
