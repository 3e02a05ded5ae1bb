// SPDX-License-Identifier: GPL-2.0-only
/*
 * nvmx_apicv_test: APIC-register virtualization, virtual-interrupt delivery
 * and "virtualize x2APIC mode" for L2 (Intel SDM Vol. 3C: 24.4.2, 24.6.8,
 * 26.2.1.1, 27.2.1, 29.1-29.5), on L1's virtual-APIC page P and
 * APIC-access page A.  L2's IDT (page I) sends vector 31H to l2_isr_mmio,
 * which ends the interrupt with a write to A + B0H, vector 61H to
 * l2_isr_x2apic, which ends it with WRMSR 80BH, and every other vector to
 * l2_isr_wrong.  Each case checks exact values:
 *
 *   vid_delivery        RVI 31H, VIRR bit 31H, VTPR 0, L2 with IF=1: the
 *                       entry delivers vector 31H (29.2.2): L2's handler
 *                       runs first (VMCALL there), with IF=0; guest
 *                       interrupt status 3100H (SVI 31H, RVI 0), VISR bit
 *                       31H set, VIRR clear, VPPR 30H.  The handler's
 *                       EOI (A + B0H, 29.4.3, 29.1.3): VISR clear, status
 *                       0, VPPR 0, no exit
 *   vid_eoi_exit        the same with bit 31H in the EOI-exit bitmap: the
 *                       EOI is a virtualized-EOI exit (45) after the write,
 *                       qualification 31H (27.2.1), VISR clear, SVI 0
 *   vid_vppr            VTPR 40H masks RVI 31H: L2 reaches its VMCALL with
 *                       the status 0031H and VPPR 40H; its MOV to CR8 of 0
 *                       then delivers 31H (29.1.2, 29.2.1)
 *   apic_write_icr      with virtual-interrupt delivery, a write of
 *                       C0031H (all but self) to A + 300H: APIC-write exit
 *                       (56) after the write, qualification 300H, P + 300H
 *                       C0031H (29.4.3.2, 29.4.3.3)
 *   regvirt_read        with APIC-register virtualization, a read of
 *                       A + 20H gives P + 20H (5A000000H) without an exit;
 *                       a read of A + 390H (current count, not
 *                       virtualized) is an APIC-access exit with
 *                       qualification 390H (29.4.2, Table 27-6)
 *   regvirt_write_tmict a write of 1234H to A + 380H: APIC-write exit (56),
 *                       qualification 380H, P + 380H 1234H (29.4.3)
 *   x2apic_msrs         "virtualize x2APIC mode" with register
 *                       virtualization and virtual-interrupt delivery, L1
 *                       intercepting no MSR: RDMSR 802H gives P + 20H/24H,
 *                       WRMSR 808H of 50H writes VTPR, RDMSR 80AH gives VPPR
 *                       50H; WRMSR 83FH of 61H (self IPI) delivers 61H,
 *                       whose handler's WRMSR 80BH ends it: SVI 61H, then
 *                       VISR clear and the status 0 (29.5, 29.1.3)
 *   x2apic_intercepted  the same with L1's read bit of 808H set: RDMSR 808H
 *                       is an RDMSR exit (31) to L1 (25.1.3)
 *   halted_wake_entry   VM entry in the HLT state with RVI 31H above VPPR
 *                       and IF=1: the interrupt wakes L2 and is delivered
 *                       (handler's VMCALL), not the VMX-preemption timer
 *                       that bounds the wait (exit 52)
 *   halted_wake_hlt     L2 runs STI; HLT with RVI 31H pending (L1 does not
 *                       intercept HLT): the same
 *   vid_threshold_bits  with virtual-interrupt delivery, TPR threshold bits
 *                       31:4 may be set (10H): VMLAUNCH enters (26.2.1.1)
 *   vmfail_*            VMLAUNCH fails with VMfailValid 7 (26.2.1.1):
 *                       virtual-interrupt delivery without external-
 *                       interrupt exiting, or without "use TPR shadow";
 *                       APIC-register virtualization or "virtualize x2APIC
 *                       mode" without "use TPR shadow"; "virtualize x2APIC
 *                       mode" with "virtualize APIC accesses"
 *   state_roundtrip     L2 (SVI 31H) stops in the host, which reads vmcs12's
 *                       guest interrupt status from KVM_GET_NESTED_STATE
 *                       (3100H), sets RVI 61H and VIRR bit 61H and sets the
 *                       state again: L2's STI delivers 61H (status 6100H)
 *
 * Posted interrupts (29.6), with "virtualize x2APIC mode" as in
 * x2apic_msrs, notification vector F2H, descriptor D with PIR bit 61H and
 * ON set, L1's local APIC in x2APIC mode:
 *
 *   pi_running          L2 (IF=1) sends itself F2H through L1's ICR (830H,
 *                       not intercepted by L1): the notification is
 *                       processed, no VM exit: L2's handler for 61H runs
 *                       (status 6100H, VISR bit 61H, VPPR 60H), D's ON and
 *                       PIR clear
 *   pi_other_vector     the same with vector 32H: an external-interrupt
 *                       exit (1), interruption information 80000032H
 *                       (27.2.2), D untouched, RVI 0
 *   pi_l1_pending       L1 sends itself F2H with IF=0 before VMLAUNCH: L2
 *                       recognizes it and processes it (no exit); L1's ISR
 *                       holds no F2H afterwards (the EOI of step 4)
 *   pi_halted           L1's APIC timer (vector F2H, one-shot) fires while
 *                       L2 is in HLT (STI; HLT, HLT not intercepted): the
 *                       posted 61H wakes L2 and is delivered; bounded by
 *                       the VMX-preemption timer
 *   vmfail_pi_*         VMfailValid 7 (26.2.1.1): without "acknowledge
 *                       interrupt on exit", a notification vector above
 *                       FFH, a descriptor not 64-byte aligned
 *   pi_left_to_l1       L2 in the shutdown state, which blocks external
 *                       interrupts (26.6.2), when L1's APIC timer sends
 *                       F2H: not processed; the VMX-preemption timer's
 *                       exit (52, activity state shutdown) leaves L2 with
 *                       the notification pending, L1's now: F2H in L1's
 *                       IRR, D untouched.  L1 resumes L2 active, which
 *                       takes and processes it as in pi_l1_pending.  The
 *                       timer is checked to fire in between (IRR clear at
 *                       VMLAUNCH, TMCCT 0 after the exit)
 *   pi_l1_ppr           as pi_running with L1's TPR at F0H: the
 *                       notification is L1's interrupt, which its PPR
 *                       blocks (10.8.3.1): not recognized, so not
 *                       processed: L2 exits at its VMCALL, RVI 0, F2H in
 *                       L1's IRR, D untouched; with TPR 0 again, VMRESUME
 *                       processes it and 61H is delivered
 *   pi_below_timer      as pi_l1_pending with L1's VMX-preemption timer at
 *                       0: its exit (52) comes first, before L2's first
 *                       instruction (25.5.1, 26.7.4: above external
 *                       interrupts), with the notification not recognized:
 *                       F2H in L1's IRR, D untouched; VMRESUME with the
 *                       timer at PREEMPTION_BOUND then processes it
 *   pi_state_outstanding L2 (IF=1) stops in the host with D as use_pi()
 *                       set it: ON set, 61H posted, no notification sent
 *                       (a sender's notification lost with a state that
 *                       cannot carry it); the host moves the state
 *                       (KVM_GET_NESTED_STATE, KVM_SET_NESTED_STATE): nvmx
 *                       takes ON for the notification (Table 29-1's
 *                       "outstanding notification"; a documented
 *                       deviation, design.rst), so L2's next instruction
 *                       boundary processes it, 61H is delivered, D's ON
 *                       and PIR clear
 *
 * Stock KVM 6.1 offers the three controls too, where the processor has
 * them, even without posted interrupts (enable_apicv=N, as on the emulated
 * CPU), but loads vmcs12's EOI-exit bitmaps into vmcs02 only when L0 has
 * APICv: its vid_eoi_exit is an XFAIL.  It offers posted interrupts only
 * with L0's APICv, so not on the emulated CPU.  A case whose control L1 is
 * not offered is skipped.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test_util.h"
#include "kvm_util.h"
#include "processor.h"
#include "apic.h"
#include "vmx.h"

#include <nvmx/vmcs12_table.h>

struct nvmx_env {
	bool strict;
	u64 p_gva, p_gpa;	/* virtual-APIC page P */
	u64 a_gva, a_gpa;	/* APIC-access page A */
	u64 i_gva;		/* L2's IDT */
	u64 d_gva, d_gpa;	/* posted-interrupt descriptor D */
};

struct nvmx_env nvmx_env;

#include "nvmx_selftest.h"

#define EXIT_APIC_ACCESS_NR	44
#define EXIT_EOI_INDUCED_NR	45
#define EXIT_APIC_WRITE_NR	56
#define EXIT_RDMSR_NR		31
#define EXIT_PREEMPTION_NR	52
#define ERR_INVALID_CONTROL	7
#define F_IF			BIT(9)
#define ACTIVITY_HLT		1
#define ACTIVITY_SHUTDOWN	2
#define VEC_MMIO		0x31
#define VEC_X2APIC		0x61
#define VEC_OTHER		0x32
#define VTPR			0x80
#define VPPR			0xa0
#define VEOI			0xb0
#define VISR			0x100
#define VIRR			0x200
#define PREEMPTION_BOUND	0x100000
#define NVMX_STUB_SIZE		10
#define EXIT_EXT_INTR_NR	1
#define PINV			0xf2
#define VEC_L1			0x32
#define INTR_VALID		BIT(31)
/* x2APIC registers by xAPIC offset (SDM 10.12.1.2) */
#define X2_ISR			0x100
#define X2_IRR			0x200
#define X2_LVTT			0x320
#define X2_TMICT		0x380
#define X2_TMCCT		0x390
#define X2_TPR			0x80
#define X2_TDCR			0x3e0

enum { MSG_STATE = NVMX_MSG_EXITS + 32 };

/* L2's register numbers (nvmx_gpr_*[]) */
#define RAX	0
#define RDX	2
#define RBX	3

static struct vmx_pages *l1_vmx;

/* L2: stop in the host, which moves the state (state_roundtrip/move()) */
void l2_stop_in_host(void)
{
	ucall(UCALL_SYNC, 2, MSG_STATE, cur_case);
}

/* RDX: A's linear address in every case */
asm(".pushsection .text\n"
	"l2_isr_mmio:\n\t"
	"vmcall\n\t"
	"movl $0, 0xb0(%rdx)\n"
	"l2_isr_mmio_eoi:\n\t"
	"vmcall\n\t"
	"ud2\n"
	"l2_isr_x2apic:\n\t"
	"vmcall\n\t"
	"mov $0x80b, %ecx\n\t"
	"xor %eax, %eax\n\t"
	"xor %edx, %edx\n\t"
	"wrmsr\n"
	"l2_isr_x2apic_eoi:\n\t"
	"vmcall\n\t"
	"ud2\n"
	/* vector N: PUSH N (imm32), JMP l2_isr_wrong: 10 bytes each */
	"l2_isr_stubs:\n\t"
	".set nvmx_vec, 0\n\t"
	".rept 256\n\t"
	".byte 0x68\n\t"
	".long nvmx_vec\n\t"
	".byte 0xe9\n\t"
	".long l2_isr_wrong - . - 4\n\t"
	".set nvmx_vec, nvmx_vec + 1\n\t"
	".endr\n"
	"l2_isr_wrong:\n\t"
	"pop %rax\n\t"
	"mov (%rsp), %rbx\n\t"
	"mov %rsp, %rsi\n"
	"l2_isr_wrong_vmcall:\n\t"
	"vmcall\n\t"
	"ud2\n"
	"l2_warm:\n\t"
	"mov (%rdi), %rax\n\t"
	"mov %rax, -40(%rsp)\n\t"
	"sgdt -16(%rsp)\n\t"
	"mov -14(%rsp), %rax\n\t"
	"mov (%rax), %rax\n\t"
	"mov l2_isr_mmio(%rip), %al\n\t"
	"mov l2_isr_stubs(%rip), %al\n\t"
	"vmcall\n\t"
	"ud2\n"
	"l2_idle:\n\t"
	"vmcall\n\t"
	"ud2\n"
	"l2_cr8_zero:\n\t"
	"vmcall\n\t"
	"xor %eax, %eax\n\t"
	"mov %rax, %cr8\n\t"
	"vmcall\n\t"
	"ud2\n"
	"l2_write_icr:\n\t"
	"movl $0xc0031, 0x300(%rdx)\n"
	"l2_write_icr_after:\n\t"
	"vmcall\n\t"
	"ud2\n"
	"l2_regvirt_read:\n\t"
	"mov 0x20(%rdx), %ebx\n"
	"l2_read_ccr:\n\t"
	"mov 0x390(%rdx), %eax\n\t"
	"vmcall\n\t"
	"ud2\n"
	"l2_write_tmict:\n\t"
	"movl $0x1234, 0x380(%rdx)\n"
	"l2_write_tmict_after:\n\t"
	"vmcall\n\t"
	"ud2\n"
	"l2_x2apic:\n\t"
	"mov $0x802, %ecx\n\t"
	"rdmsr\n\t"
	"mov %eax, %ebx\n\t"
	"mov %edx, %esi\n\t"
	"mov $0x808, %ecx\n\t"
	"mov $0x50, %eax\n\t"
	"xor %edx, %edx\n\t"
	"wrmsr\n\t"
	"mov $0x80a, %ecx\n\t"
	"rdmsr\n\t"
	"mov %eax, %edi\n\t"
	"vmcall\n\t"
	"mov $0x83f, %ecx\n\t"
	"mov $0x61, %eax\n\t"
	"xor %edx, %edx\n\t"
	"wrmsr\n\t"
	"vmcall\n\t"
	"ud2\n"
	"l2_x2apic_tpr_read:\n\t"
	"mov $0x808, %ecx\n"
	"l2_x2apic_tpr_rdmsr:\n\t"
	"rdmsr\n\t"
	"vmcall\n\t"
	"ud2\n"
	"l2_pi_send:\n\t"
	"mov $0x830, %ecx\n\t"
	"xor %edx, %edx\n\t"
	"wrmsr\n"
	"l2_pi_sent:\n\t"
	"vmcall\n\t"
	"ud2\n"
	"l2_sti_hlt:\n\t"
	"sti\n\t"
	"hlt\n\t"
	"vmcall\n\t"
	"ud2\n"
	"l2_state:\n\t"
	"call l2_stop_in_host\n\t"
	"sti\n\t"
	"nop\n\t"
	"vmcall\n\t"
	"ud2\n"
	".popsection\n");

/* ---------------------------------------------------------------------- */
/* L1.                                                                      */

static u32 *p_reg(u32 offset)
{
	return (u32 *)(nvmx_env.p_gva + offset);
}

/* The 32-bit word of VISR (@base VISR) or VIRR holding @vector's bit */
static u32 *vec_word(u32 base, u8 vector)
{
	return p_reg(base + (vector / 32) * 0x10);
}

static u32 vec_bit(u8 vector)
{
	return 1u << (vector % 32);
}

/* A 64-bit interrupt gate to @handler (SDM 6.14.1) */
static void idt_gate(u8 vector, u64 handler, u16 cs)
{
	u64 *gate = (u64 *)(nvmx_env.i_gva + vector * 16);

	gate[0] = (handler & 0xffff) | (u64)cs << 16 | 0x8eull << 40 |
		  (handler >> 16 & 0xffff) << 48;
	gate[1] = handler >> 32;
}

static void l2_idt(void)
{
	u16 cs = vmreadz(GUEST_CS_SELECTOR);
	int v;

	for (v = 0; v < 256; v++)
		idt_gate(v, ASM_LABEL(l2_isr_stubs) + v * NVMX_STUB_SIZE, cs);
	idt_gate(VEC_MMIO, ASM_LABEL(l2_isr_mmio), cs);
	idt_gate(VEC_X2APIC, ASM_LABEL(l2_isr_x2apic), cs);
	vmwrite(GUEST_IDTR_BASE, nvmx_env.i_gva);
	vmwrite(GUEST_IDTR_LIMIT, 256 * 16 - 1);
}

/* P cleared, VTPR @vtpr */
static void p_reset(u8 vtpr)
{
	memset((void *)nvmx_env.p_gva, 0, 4096);
	*p_reg(VTPR) = vtpr;
}

/*
 * An emulator limit, as it seems: where the delivery of a virtual
 * interrupt to L2 exits to L0 (an EPT violation the first time L2 touches
 * its IDT, GDT, stack or handler, which L0 resolves and re-enters), L2
 * gets vector 0 (seen with stock and nvmx alike, in the first delivery of
 * the VM only): the IDT-vectoring information would hold vector 0.  L2
 * touches those pages first, with the VMCS's launch state cleared again
 * afterwards (VMCLEAR, VMPTRLD).
 */
static void l2_warm_up(void)
{
	l2_setup(ASM_LABEL(l2_warm));
	nvmx_gpr_in[7] = nvmx_env.i_gva;
	GUEST_ASSERT(!nvmx_l2_run(1));
	GUEST_ASSERT(vmreadz(VM_EXIT_REASON) == EXIT_REASON_VMCALL_NR);
	GUEST_ASSERT(load_vmcs(l1_vmx));
}

/* "use TPR shadow" with P and the secondary controls @exec2; false: skip */
static bool use_apicv(u32 exec2, const char *what)
{
	l2_idt();
	l2_warm_up();
	if (!ctl_update(CPU_BASED_VM_EXEC_CONTROL, MSR_IA32_VMX_PROCBASED_CTLS,
			CPU_BASED_TPR_SHADOW |
			CPU_BASED_ACTIVATE_SECONDARY_CONTROLS,
			CPU_BASED_CR8_LOAD_EXITING |
			CPU_BASED_CR8_STORE_EXITING | CPU_BASED_HLT_EXITING) ||
	    !ctl_update(SECONDARY_VM_EXEC_CONTROL, MSR_IA32_VMX_PROCBASED_CTLS2,
			exec2, 0)) {
		skip(what);
		return false;
	}
	vmwrite(VIRTUAL_APIC_PAGE_ADDR, nvmx_env.p_gpa);
	vmwrite(TPR_THRESHOLD, 0);
	if (exec2 & SECONDARY_EXEC_VIRTUALIZE_APIC_ACCESSES)
		vmwrite(APIC_ACCESS_ADDR, nvmx_env.a_gpa);
	return true;
}

#define VID_CTLS	(SECONDARY_EXEC_VIRTUAL_INTR_DELIVERY |		\
			 SECONDARY_EXEC_VIRTUALIZE_APIC_ACCESSES)
#define NO_VID		"L1 is not offered virtual-interrupt delivery"
#define NO_REGVIRT	"L1 is not offered APIC-register virtualization"
#define NO_X2APIC	"L1 is not offered \"virtualize x2APIC mode\""

/*
 * Virtual-interrupt delivery (with "virtualize APIC accesses" and A) and
 * external-interrupt exiting; guest interrupt status @status; L2 starts at
 * @rip with RFLAGS @rflags
 */
static bool use_vid(u16 status, u64 rip, u64 rflags)
{
	if (!use_apicv(VID_CTLS, NO_VID) ||
	    !ctl_update(PIN_BASED_VM_EXEC_CONTROL, MSR_IA32_VMX_PINBASED_CTLS,
			PIN_BASED_EXT_INTR_MASK, 0)) {
		skip(NO_VID);
		return false;
	}
	vmwrite(GUEST_INTR_STATUS, status);
	vmwrite(EOI_EXIT_BITMAP0, 0);
	vmwrite(EOI_EXIT_BITMAP1, 0);
	vmwrite(EOI_EXIT_BITMAP2, 0);
	vmwrite(EOI_EXIT_BITMAP3, 0);
	l2_setup(rip);
	vmwrite(GUEST_RFLAGS, rflags);
	nvmx_gpr_in[RDX] = nvmx_env.a_gva;
	return true;
}

/* RVI @vector with its VIRR bit, VTPR @vtpr */
static void pend(u8 vector, u8 vtpr)
{
	p_reset(vtpr);
	*vec_word(VIRR, vector) = vec_bit(vector);
}

/*
 * The entry delivered @vector: L2's handler at @isr made its VMCALL.  At
 * l2_isr_wrong instead, what the stack holds tells which event it was.
 */
static bool delivered(u8 vector, u64 isr)
{
	if (!nvmx_vmcall_at(isr)) {
		if (vmreadz(GUEST_RIP) != ASM_LABEL(l2_isr_wrong_vmcall))
			return false;
		report("vector", vector, nvmx_gpr_out[RAX], "29.2.2");
		report("its frame: RSP (RSI)",
		       (u64)&l2_stack[ARRAY_SIZE(l2_stack)] - 40,
		       nvmx_gpr_out[6], "6.14.2");
		report("its frame: [RSP] (RBX)", 0, nvmx_gpr_out[RBX], "6.14.2");
		CHECK(GUEST_INTR_STATUS, (u16)vector << 8, "29.2.2");
		return false;
	}
	CHECK(GUEST_INTR_STATUS, (u16)vector << 8, "29.2.2");
	report("VISR word", vec_bit(vector), *vec_word(VISR, vector), "29.2.2");
	report("VIRR word", 0, *vec_word(VIRR, vector), "29.2.2");
	report("VPPR", vector & 0xf0, *p_reg(VPPR), "29.1.3, 29.2.2");
	report("L2's RFLAGS.IF in the handler", 0,
	       vmreadz(GUEST_RFLAGS) & F_IF, "6.12.1");
	return true;
}

/* After the handler's EOI of @vector, without an exit */
static void eoi_done(u8 vector)
{
	CHECK(GUEST_INTR_STATUS, 0, "29.1.3");
	report("VISR word after EOI", 0, *vec_word(VISR, vector), "29.1.3");
	report("VPPR after EOI", 0, *p_reg(VPPR), "29.1.3");
}

static void case_vid_delivery(void)
{
	pend(VEC_MMIO, 0);
	if (!use_vid(VEC_MMIO, ASM_LABEL(l2_idle), 0x202))
		return;
	if (!l2_launch() || !delivered(VEC_MMIO, ASM_LABEL(l2_isr_mmio)))
		return;
	if (!nvmx_l2_resume(true) ||
	    !nvmx_vmcall_at(ASM_LABEL(l2_isr_mmio_eoi)))
		return;
	eoi_done(VEC_MMIO);
	report("VEOI", 0, *p_reg(VEOI), "29.4.3.2");
}

static void case_vid_eoi_exit(void)
{
	pend(VEC_MMIO, 0);
	if (!use_vid(VEC_MMIO, ASM_LABEL(l2_idle), 0x202))
		return;
	vmwrite(EOI_EXIT_BITMAP0, BIT_ULL(VEC_MMIO));
	if (!l2_launch() || !delivered(VEC_MMIO, ASM_LABEL(l2_isr_mmio)))
		return;
	if (!nvmx_l2_resume(true))
		return;
	report_known("VM_EXIT_REASON", EXIT_EOI_INDUCED_NR,
		     vmreadz(VM_EXIT_REASON), EXIT_REASON_VMCALL_NR, "29.1.3",
		     "stock 6.1 loads the EOI-exit bitmaps into vmcs02 only when L0 has APICv (posted interrupts): L2's EOI does not exit");
	if (vmreadz(VM_EXIT_REASON) != EXIT_EOI_INDUCED_NR)
		return;
	CHECK(GUEST_RIP, ASM_LABEL(l2_isr_mmio_eoi), "27.3.3");
	CHECK(EXIT_QUALIFICATION, VEC_MMIO, "27.2.1");
	CHECK(GUEST_INTR_STATUS, 0, "29.1.3");
	report("VISR word after EOI", 0, *vec_word(VISR, VEC_MMIO), "29.1.3");
}

static void case_vid_vppr(void)
{
	pend(VEC_MMIO, 0x40);
	if (!use_vid(VEC_MMIO, ASM_LABEL(l2_cr8_zero), 0x202))
		return;
	if (!l2_launch() || !nvmx_vmcall_at(ASM_LABEL(l2_cr8_zero)))
		return;
	CHECK(GUEST_INTR_STATUS, VEC_MMIO, "29.2.1");
	report("VPPR", 0x40, *p_reg(VPPR), "29.1.3");
	if (nvmx_l2_resume(true))
		delivered(VEC_MMIO, ASM_LABEL(l2_isr_mmio));
}

static void case_apic_write_icr(void)
{
	p_reset(0);
	if (!use_vid(0, ASM_LABEL(l2_write_icr), 2))
		return;
	if (!l2_launch() ||
	    !nvmx_exit_at(EXIT_APIC_WRITE_NR, ASM_LABEL(l2_write_icr_after),
			  "29.4.3.3"))
		return;
	CHECK(EXIT_QUALIFICATION, 0x300, "27.2.1");
	report("P + 300H", 0xc0031, *p_reg(0x300), "29.4.3.2");
}

static bool use_regvirt(void)
{
	p_reset(0);
	*p_reg(0x20) = 0x5a000000;
	if (!use_apicv(SECONDARY_EXEC_APIC_REGISTER_VIRT |
		       SECONDARY_EXEC_VIRTUALIZE_APIC_ACCESSES, NO_REGVIRT))
		return false;
	return true;
}

static void case_regvirt_read(void)
{
	if (!use_regvirt())
		return;
	l2_setup(ASM_LABEL(l2_regvirt_read));
	nvmx_gpr_in[RDX] = nvmx_env.a_gva;
	if (!l2_launch() ||
	    !nvmx_exit_at(EXIT_APIC_ACCESS_NR, ASM_LABEL(l2_read_ccr), "29.4.2"))
		return;
	/* Table 27-6: offset 390H, linear data read (access type 0) */
	CHECK(EXIT_QUALIFICATION, 0x390, "27.2.1");
	report("read of A + 20H (RBX)", 0x5a000000, nvmx_gpr_out[RBX] & ~0u,
	       "29.4.2");
}

static void case_regvirt_write_tmict(void)
{
	if (!use_regvirt())
		return;
	l2_setup(ASM_LABEL(l2_write_tmict));
	nvmx_gpr_in[RDX] = nvmx_env.a_gva;
	if (!l2_launch() ||
	    !nvmx_exit_at(EXIT_APIC_WRITE_NR, ASM_LABEL(l2_write_tmict_after),
			  "29.4.3.3"))
		return;
	CHECK(EXIT_QUALIFICATION, 0x380, "27.2.1");
	report("P + 380H", 0x1234, *p_reg(0x380), "29.4.3.2");
}

/* "virtualize x2APIC mode" with register virtualization and VID */
static bool use_x2apic(u64 rip)
{
	p_reset(0x20);
	*p_reg(0x20) = 0x77;
	*p_reg(0x24) = 0x88;
	if (!use_apicv(SECONDARY_EXEC_VIRTUALIZE_X2APIC_MODE |
		       SECONDARY_EXEC_APIC_REGISTER_VIRT |
		       SECONDARY_EXEC_VIRTUAL_INTR_DELIVERY, NO_X2APIC) ||
	    !ctl_update(PIN_BASED_VM_EXEC_CONTROL, MSR_IA32_VMX_PINBASED_CTLS,
			PIN_BASED_EXT_INTR_MASK, 0) ||
	    !ctl_update(CPU_BASED_VM_EXEC_CONTROL, MSR_IA32_VMX_PROCBASED_CTLS,
			CPU_BASED_USE_MSR_BITMAPS, 0)) {
		skip(NO_X2APIC);
		return false;
	}
	memset(l1_vmx->msr, 0, 4096);
	vmwrite(GUEST_INTR_STATUS, 0);
	l2_setup(rip);
	vmwrite(GUEST_RFLAGS, 0x202);
	return true;
}

static void case_x2apic_msrs(void)
{
	if (!use_x2apic(ASM_LABEL(l2_x2apic)) || !l2_launch() ||
	    !expect_exit(EXIT_REASON_VMCALL_NR))
		return;
	report("RDMSR 802H: EAX (RBX)", 0x77, nvmx_gpr_out[RBX], "29.5");
	report("RDMSR 802H: EDX (RSI)", 0x88, nvmx_gpr_out[6], "29.5");
	report("VTPR after WRMSR 808H", 0x50, *p_reg(VTPR), "29.5");
	report("RDMSR 80AH (RDI)", 0x50, nvmx_gpr_out[7], "29.5");
	if (!nvmx_l2_resume(true) ||
	    !delivered(VEC_X2APIC, ASM_LABEL(l2_isr_x2apic)))
		return;
	if (!nvmx_l2_resume(true) ||
	    !nvmx_vmcall_at(ASM_LABEL(l2_isr_x2apic_eoi)))
		return;
	CHECK(GUEST_INTR_STATUS, 0, "29.1.3");
	report("VISR word after EOI", 0, *vec_word(VISR, VEC_X2APIC), "29.1.3");
	report("VPPR after EOI", 0x50, *p_reg(VPPR), "29.1.3");
}

static void case_x2apic_intercepted(void)
{
	if (!use_x2apic(ASM_LABEL(l2_x2apic_tpr_read)))
		return;
	/* SDM 24.6.9: read bitmap for low MSRs, bit 808H */
	((u8 *)l1_vmx->msr)[0x808 / 8] |= 1 << (0x808 % 8);
	if (!l2_launch())
		return;
	nvmx_exit_at(EXIT_RDMSR_NR, ASM_LABEL(l2_x2apic_tpr_rdmsr), "25.1.3");
}

/* The wait is bounded by L1's VMX-preemption timer */
static bool bound_by_timer(void)
{
	if (!ctl_update(PIN_BASED_VM_EXEC_CONTROL, MSR_IA32_VMX_PINBASED_CTLS,
			PIN_BASED_VMX_PREEMPTION_TIMER, 0)) {
		skip("L1 is not offered the VMX-preemption timer that bounds the wait");
		return false;
	}
	vmwrite(VMX_PREEMPTION_TIMER_VALUE, PREEMPTION_BOUND);
	return true;
}

static void case_halted_wake_entry(void)
{
	pend(VEC_MMIO, 0);
	if (!use_vid(VEC_MMIO, ASM_LABEL(l2_idle), 0x202) || !bound_by_timer())
		return;
	vmwrite(GUEST_ACTIVITY_STATE, ACTIVITY_HLT);
	if (l2_launch())
		delivered(VEC_MMIO, ASM_LABEL(l2_isr_mmio));
}

static void case_halted_wake_hlt(void)
{
	pend(VEC_MMIO, 0);
	if (!use_vid(VEC_MMIO, ASM_LABEL(l2_sti_hlt), 2) || !bound_by_timer())
		return;
	if (l2_launch())
		delivered(VEC_MMIO, ASM_LABEL(l2_isr_mmio));
}

static void case_vid_threshold_bits(void)
{
	p_reset(0);
	if (!use_vid(0, ASM_LABEL(l2_idle), 2))
		return;
	vmwrite(TPR_THRESHOLD, 0x10);
	if (l2_launch())
		nvmx_vmcall_at(ASM_LABEL(l2_idle));
}

/* VMLAUNCH of L2 at l2_idle must fail with VMfailValid 7. */
static void expect_vmfail_7(void)
{
	l2_setup(ASM_LABEL(l2_idle));
	report("VMLAUNCH failed (VMfail)", 1, nvmx_l2_run(1), "26.2.1.1");
	CHECK(VM_INSTRUCTION_ERROR, ERR_INVALID_CONTROL, "26.2.1.1");
}

static void case_vmfail_vid_no_ext_intr(void)
{
	p_reset(0);
	if (!use_vid(0, ASM_LABEL(l2_idle), 2))
		return;
	vmwrite(PIN_BASED_VM_EXEC_CONTROL,
		vmreadz(PIN_BASED_VM_EXEC_CONTROL) & ~PIN_BASED_EXT_INTR_MASK);
	expect_vmfail_7();
}

/* @exec2 (offered) without "use TPR shadow" */
static void vmfail_without_tpr_shadow(u32 exec2, const char *what)
{
	p_reset(0);
	if (!use_apicv(exec2, what) ||
	    !ctl_update(PIN_BASED_VM_EXEC_CONTROL, MSR_IA32_VMX_PINBASED_CTLS,
			PIN_BASED_EXT_INTR_MASK, 0))
		return;
	vmwrite(CPU_BASED_VM_EXEC_CONTROL,
		vmreadz(CPU_BASED_VM_EXEC_CONTROL) & ~CPU_BASED_TPR_SHADOW);
	expect_vmfail_7();
}

static void case_vmfail_vid_no_tpr_shadow(void)
{
	vmfail_without_tpr_shadow(SECONDARY_EXEC_VIRTUAL_INTR_DELIVERY, NO_VID);
}

static void case_vmfail_regvirt_no_tpr_shadow(void)
{
	vmfail_without_tpr_shadow(SECONDARY_EXEC_APIC_REGISTER_VIRT,
				  NO_REGVIRT);
}

static void case_vmfail_x2apic_no_tpr_shadow(void)
{
	vmfail_without_tpr_shadow(SECONDARY_EXEC_VIRTUALIZE_X2APIC_MODE,
				  NO_X2APIC);
}

static void case_vmfail_x2apic_apic_access(void)
{
	p_reset(0);
	if (use_apicv(SECONDARY_EXEC_VIRTUALIZE_X2APIC_MODE |
		      SECONDARY_EXEC_VIRTUALIZE_APIC_ACCESSES, NO_X2APIC))
		expect_vmfail_7();
}

static void case_state_roundtrip(void)
{
	p_reset(0);
	*vec_word(VISR, VEC_MMIO) = vec_bit(VEC_MMIO);
	*p_reg(VPPR) = 0x30;
	if (!use_vid((u16)VEC_MMIO << 8, ASM_LABEL(l2_state), 2))
		return;
	if (l2_launch())
		delivered(VEC_X2APIC, ASM_LABEL(l2_isr_x2apic));
}

/* ---------------------------------------------------------------------- */
/* Posted interrupts (29.6).                                                */

#define NO_PI	"L1 is not offered posted interrupts"

static u32 *d_word(u32 index)
{
	return (u32 *)nvmx_env.d_gva + index;
}

/*
 * x2apic_msrs' controls with posted interrupts, D posting 61H with ON set,
 * L2 at @rip with IF=1 and EAX @icr for l2_pi_send; false: skip
 */
static bool use_pi(u64 rip, u32 icr)
{
	if (!use_x2apic(rip) ||
	    !ctl_update(PIN_BASED_VM_EXEC_CONTROL, MSR_IA32_VMX_PINBASED_CTLS,
			PIN_BASED_POSTED_INTR, 0) ||
	    !ctl_update(VM_EXIT_CONTROLS, MSR_IA32_VMX_EXIT_CTLS,
			VM_EXIT_ACK_INTR_ON_EXIT, 0)) {
		skip(NO_PI);
		return false;
	}
	p_reset(0);
	memset((void *)nvmx_env.d_gva, 0, 64);
	*d_word(VEC_X2APIC / 32) = vec_bit(VEC_X2APIC);
	*d_word(8) = 1;				/* ON, bit 256 */
	vmwrite(POSTED_INTR_NV, PINV);
	vmwrite(POSTED_INTR_DESC_ADDR, nvmx_env.d_gpa);
	x2apic_enable();
	nvmx_gpr_in[RAX] = icr;
	return true;
}

/* D after processing: ON clear, the PIR empty */
static void d_processed(void)
{
	int i;

	report("D's ON", 0, *d_word(8) & 1, "29.6");
	for (i = 0; i < 8; i++)
		report("D's PIR word", 0, *d_word(i), "29.6");
}

/* D as use_pi() set it: ON set, 61H posted */
static void d_untouched(void)
{
	report("D's ON", 1, *d_word(8) & 1, "29.6");
	report("D's PIR word", vec_bit(VEC_X2APIC),
	       *d_word(VEC_X2APIC / 32), "29.6");
}

/* The notification is L1's, not processed: F2H in L1's IRR, D untouched */
static void notification_left_to_l1(const char *sdm)
{
	report("L1's IRR word of F2H", vec_bit(PINV),
	       x2apic_read_reg(X2_IRR + (PINV / 32) * 0x10), sdm);
	d_untouched();
}

/* VMRESUME: L2 processes the notification pending in L1's APIC, gets 61H */
static void resume_processes_notification(void)
{
	if (nvmx_l2_vmresume() &&
	    delivered(VEC_X2APIC, ASM_LABEL(l2_isr_x2apic)))
		d_processed();
}

/* Shorthand "self" (bits 19:18 = 01), fixed delivery, @vector */
#define ICR_SELF(vector)	(0x40000 | (vector))

static void case_pi_running(void)
{
	if (!use_pi(ASM_LABEL(l2_pi_send), ICR_SELF(PINV)) || !l2_launch() ||
	    !delivered(VEC_X2APIC, ASM_LABEL(l2_isr_x2apic)))
		return;
	d_processed();
}

static void case_pi_other_vector(void)
{
	if (!use_pi(ASM_LABEL(l2_pi_send), ICR_SELF(VEC_L1)) || !l2_launch() ||
	    !nvmx_exit_at(EXIT_EXT_INTR_NR, ASM_LABEL(l2_pi_sent), "29.6"))
		return;
	CHECK(VM_EXIT_INTR_INFO, INTR_VALID | VEC_L1, "27.2.2");
	CHECK(GUEST_INTR_STATUS, 0, "29.6");
	d_untouched();
	/* acknowledged on exit: L1's in service */
	x2apic_write_reg(APIC_EOI, 0);
}

static void case_pi_l1_pending(void)
{
	if (!use_pi(ASM_LABEL(l2_idle), 0))
		return;
	x2apic_write_reg(APIC_ICR, ICR_SELF(PINV));
	if (!l2_launch() || !delivered(VEC_X2APIC, ASM_LABEL(l2_isr_x2apic)))
		return;
	d_processed();
	report("L1's ISR word of F2H", 0,
	       x2apic_read_reg(X2_ISR + (PINV / 32) * 0x10), "29.6");
}

static void case_pi_halted(void)
{
	if (!use_pi(ASM_LABEL(l2_sti_hlt), 0) || !bound_by_timer())
		return;
	vmwrite(GUEST_RFLAGS, 2);
	x2apic_write_reg(X2_TDCR, 0xb);		/* divide by 1 */
	x2apic_write_reg(X2_LVTT, PINV);		/* one-shot */
	x2apic_write_reg(X2_TMICT, 1000000);
	if (!l2_launch() || !delivered(VEC_X2APIC, ASM_LABEL(l2_isr_x2apic)))
		return;
	d_processed();
}

static void case_pi_left_to_l1(void)
{
	if (!use_pi(ASM_LABEL(l2_idle), 0) || !bound_by_timer())
		return;
	if (!(rdmsr(MSR_IA32_VMX_MISC) & BIT(7))) {
		skip("activity state shutdown not offered (IA32_VMX_MISC[7])");
		return;
	}
	vmwrite(GUEST_ACTIVITY_STATE, ACTIVITY_SHUTDOWN);
	x2apic_write_reg(X2_TDCR, 0xb);		/* divide by 1 */
	x2apic_write_reg(X2_LVTT, PINV);		/* one-shot */
	x2apic_write_reg(X2_TMICT, 1000000);
	/* the notification comes while L2 is in shutdown, not before */
	report("F2H in L1's IRR before VMLAUNCH", 0,
	       x2apic_read_reg(X2_IRR + (PINV / 32) * 0x10), "29.6");
	if (!l2_launch() ||
	    !nvmx_exit_at(EXIT_PREEMPTION_NR, ASM_LABEL(l2_idle), "26.6.2"))
		return;
	report("L1's APIC timer expired while L2 was in shutdown (TMCCT)", 0,
	       x2apic_read_reg(X2_TMCCT), "10.5.4");
	CHECK(GUEST_ACTIVITY_STATE, ACTIVITY_SHUTDOWN, "27.3.4");
	notification_left_to_l1("29.6");
	vmwrite(GUEST_ACTIVITY_STATE, 0);
	resume_processes_notification();
}

static void case_pi_l1_ppr(void)
{
	if (!use_pi(ASM_LABEL(l2_pi_send), ICR_SELF(PINV)))
		return;
	x2apic_write_reg(X2_TPR, 0xf0);
	if (!l2_launch() || !nvmx_vmcall_at(ASM_LABEL(l2_pi_sent)))
		goto out;
	CHECK(GUEST_INTR_STATUS, 0, "29.6");
	notification_left_to_l1("29.6, 10.8.3.1");
	x2apic_write_reg(X2_TPR, 0);
	resume_processes_notification();
out:
	x2apic_write_reg(X2_TPR, 0);
}

static void case_pi_below_timer(void)
{
	if (!use_pi(ASM_LABEL(l2_idle), 0) || !bound_by_timer())
		return;
	vmwrite(VMX_PREEMPTION_TIMER_VALUE, 0);
	x2apic_write_reg(APIC_ICR, ICR_SELF(PINV));
	if (!l2_launch() ||
	    !nvmx_exit_at(EXIT_PREEMPTION_NR, ASM_LABEL(l2_idle),
			  "25.5.1, 26.7.4"))
		return;
	notification_left_to_l1("25.5.1, 29.6");
	vmwrite(VMX_PREEMPTION_TIMER_VALUE, PREEMPTION_BOUND);
	resume_processes_notification();
}

static void case_pi_state_outstanding(void)
{
	if (use_pi(ASM_LABEL(l2_state), 0) && l2_launch() &&
	    delivered(VEC_X2APIC, ASM_LABEL(l2_isr_x2apic)))
		d_processed();
}

/* Posted interrupts as use_pi() sets them, then @field := @value */
static void vmfail_pi(u64 field, u64 value)
{
	if (!use_pi(ASM_LABEL(l2_idle), 0))
		return;
	vmwrite(field, value);
	expect_vmfail_7();
}

static void case_vmfail_pi_no_ack(void)
{
	vmfail_pi(VM_EXIT_CONTROLS,
		  vmreadz(VM_EXIT_CONTROLS) & ~VM_EXIT_ACK_INTR_ON_EXIT);
}

static void case_vmfail_pi_vector(void)
{
	vmfail_pi(POSTED_INTR_NV, 0x1f2);
}

static void case_vmfail_pi_desc(void)
{
	vmfail_pi(POSTED_INTR_DESC_ADDR, nvmx_env.d_gpa + 32);
}

enum {
	VID_DELIVERY, VID_EOI_EXIT, VID_VPPR, APIC_WRITE_ICR, REGVIRT_READ,
	REGVIRT_WRITE_TMICT, X2APIC_MSRS, X2APIC_INTERCEPTED,
	HALTED_WAKE_ENTRY, HALTED_WAKE_HLT, VID_THRESHOLD_BITS,
	VMFAIL_VID_NO_EXT_INTR, VMFAIL_VID_NO_TPR_SHADOW,
	VMFAIL_REGVIRT_NO_TPR_SHADOW, VMFAIL_X2APIC_NO_TPR_SHADOW,
	VMFAIL_X2APIC_APIC_ACCESS, STATE_ROUNDTRIP, PI_RUNNING,
	PI_OTHER_VECTOR, PI_L1_PENDING, PI_HALTED, VMFAIL_PI_NO_ACK,
	VMFAIL_PI_VECTOR, VMFAIL_PI_DESC, PI_LEFT_TO_L1, PI_L1_PPR,
	PI_BELOW_TIMER, PI_STATE_OUTSTANDING, NR_CASES
};

static const struct nvmx_case cases[NR_CASES] = {
	[VID_DELIVERY] = { "vid_delivery", case_vid_delivery },
	[VID_EOI_EXIT] = { "vid_eoi_exit", case_vid_eoi_exit },
	[VID_VPPR] = { "vid_vppr", case_vid_vppr },
	[APIC_WRITE_ICR] = { "apic_write_icr", case_apic_write_icr },
	[REGVIRT_READ] = { "regvirt_read", case_regvirt_read },
	[REGVIRT_WRITE_TMICT] = { "regvirt_write_tmict",
				  case_regvirt_write_tmict },
	[X2APIC_MSRS] = { "x2apic_msrs", case_x2apic_msrs },
	[X2APIC_INTERCEPTED] = { "x2apic_intercepted",
				 case_x2apic_intercepted },
	[HALTED_WAKE_ENTRY] = { "halted_wake_entry", case_halted_wake_entry },
	[HALTED_WAKE_HLT] = { "halted_wake_hlt", case_halted_wake_hlt },
	[VID_THRESHOLD_BITS] = { "vid_threshold_bits",
				 case_vid_threshold_bits },
	[VMFAIL_VID_NO_EXT_INTR] = { "vmfail_vid_no_ext_intr",
				     case_vmfail_vid_no_ext_intr },
	[VMFAIL_VID_NO_TPR_SHADOW] = { "vmfail_vid_no_tpr_shadow",
				       case_vmfail_vid_no_tpr_shadow },
	[VMFAIL_REGVIRT_NO_TPR_SHADOW] = { "vmfail_regvirt_no_tpr_shadow",
					   case_vmfail_regvirt_no_tpr_shadow },
	[VMFAIL_X2APIC_NO_TPR_SHADOW] = { "vmfail_x2apic_no_tpr_shadow",
					  case_vmfail_x2apic_no_tpr_shadow },
	[VMFAIL_X2APIC_APIC_ACCESS] = { "vmfail_x2apic_with_apic_access",
					case_vmfail_x2apic_apic_access },
	[STATE_ROUNDTRIP] = { "state_roundtrip", case_state_roundtrip },
	[PI_RUNNING] = { "pi_running", case_pi_running },
	[PI_OTHER_VECTOR] = { "pi_other_vector", case_pi_other_vector },
	[PI_L1_PENDING] = { "pi_l1_pending", case_pi_l1_pending },
	[PI_HALTED] = { "pi_halted", case_pi_halted },
	[VMFAIL_PI_NO_ACK] = { "vmfail_pi_no_ack", case_vmfail_pi_no_ack },
	[VMFAIL_PI_VECTOR] = { "vmfail_pi_vector", case_vmfail_pi_vector },
	[VMFAIL_PI_DESC] = { "vmfail_pi_desc", case_vmfail_pi_desc },
	[PI_LEFT_TO_L1] = { "pi_left_to_l1", case_pi_left_to_l1 },
	[PI_L1_PPR] = { "pi_l1_ppr", case_pi_l1_ppr },
	[PI_BELOW_TIMER] = { "pi_below_timer", case_pi_below_timer },
	[PI_STATE_OUTSTANDING] = { "pi_state_outstanding",
				   case_pi_state_outstanding },
};

void l1_guest_code(struct vmx_pages *vmx)
{
	l1_vmx = vmx;
	nvmx_l1_run_table(vmx, cases, NR_CASES);
}

/* ---------------------------------------------------------------------- */
/* Host.                                                                    */

static struct kvm_vm *the_vm;
static struct kvm_vcpu *the_vcpu;

/* KVM_GET_NESTED_STATE of L2, which must be running */
static struct kvm_nested_state *state_get_l2(void)
{
	struct kvm_nested_state *s = calloc(1, 16384);

	TEST_ASSERT(s, "no memory");
	s->size = 16384;
	vcpu_nested_state_get(the_vcpu, s);
	TEST_ASSERT(s->flags & KVM_STATE_NESTED_GUEST_MODE, "L2 not running");
	return s;
}

/* KVM_SET_NESTED_STATE of @s, then free it */
static void state_set(struct kvm_nested_state *s)
{
	vcpu_nested_state_set(the_vcpu, s);
	free(s);
}

/*
 * state_roundtrip: vmcs12 of KVM_GET_NESTED_STATE holds the guest
 * interrupt status L2 has (SVI 31H); set again with RVI 61H and its VIRR
 * bit, which L2's STI then takes.
 */
static void state_roundtrip(void)
{
	struct kvm_nested_state *s = state_get_l2();
	u32 *virr = addr_gva2hva(the_vm, nvmx_env.p_gva + VIRR +
				 (VEC_X2APIC / 32) * 0x10);
	struct vmcs12 *vmcs12;

	vmcs12 = (struct vmcs12 *)s->data.vmx[0].vmcs12;
	TEST_ASSERT(vmcs12->guest_intr_status == VEC_MMIO << 8,
		    "vmcs12's guest interrupt status 0x%x, not 0x%x",
		    vmcs12->guest_intr_status, VEC_MMIO << 8);
	vmcs12->guest_intr_status = VEC_MMIO << 8 | VEC_X2APIC;
	*virr = vec_bit(VEC_X2APIC);
	state_set(s);
}

/* pi_state_outstanding: the state moved as it is */
static void state_move(void)
{
	state_set(state_get_l2());
}

static void host_message(struct ucall *uc)
{
	if (uc->args[0] == MSG_STATE) {
		if (uc->args[1] == PI_STATE_OUTSTANDING)
			state_move();
		else
			state_roundtrip();
		return;
	}
	nvmx_host_message(uc, cases[uc->args[1]].name);
}

int main(int argc, char *argv[])
{
	u64 *gvas[] = { &nvmx_env.p_gva, &nvmx_env.a_gva, &nvmx_env.i_gva,
			&nvmx_env.d_gva };
	int i;

	TEST_REQUIRE(kvm_cpu_has(X86_FEATURE_VMX));
	ksft_print_header();
	ksft_set_plan(NR_CASES);
	nvmx_table = cases;
	nvmx_case_name = nvmx_table_case_name;
	the_vm = nvmx_host_create_vm(&the_vcpu, NULL);
	for (i = 0; i < ARRAY_SIZE(gvas); i++) {
		*gvas[i] = vm_vaddr_alloc_page(the_vm);
		memset(addr_gva2hva(the_vm, *gvas[i]), 0, 4096);
	}
	nvmx_env.p_gpa = addr_gva2gpa(the_vm, nvmx_env.p_gva);
	nvmx_env.a_gpa = addr_gva2gpa(the_vm, nvmx_env.a_gva);
	nvmx_env.d_gpa = addr_gva2gpa(the_vm, nvmx_env.d_gva);
	nvmx_host_run_vm(the_vm, the_vcpu, host_message);
	return nvmx_host_finish();
}
