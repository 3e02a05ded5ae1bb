// SPDX-License-Identifier: GPL-2.0
/*
 * nvmx: the L2->L1 exit path, Intel SDM Vol. 3C chapter 27.
 *
 * Every exit from L2 reaches L0 first.  nested_vmx_reflect_vmexit() decides
 * from vmcs12's controls whether L1 asked for it (SDM 25.1, 25.2); if not,
 * L0 handles it and L2 resumes without L1 seeing anything.  An exit L1 does
 * see, whether the hardware produced it or KVM synthesised it (an event
 * queued for L2, check_events), goes through nested_vmx_exit_to_l1(), in
 * the SDM's order:
 *
 *   27.2  record the exit information (only here, for a reflected exit)
 *   27.3  save the L2 state that can have changed into vmcs12
 *   27.4  store the VM-exit MSR-store list
 *   27.5  load L1's state from vmcs12's host-state area, with KVM's setters
 *   27.6  load the VM-exit MSR-load list
 *   27.7  on a failure in 27.4 to 27.6: VMX abort, reported as a triple fault
 */

#include <linux/kvm_host.h>

#include <asm/debugreg.h>
#include <asm/nospec-branch.h>
#include <asm/vmx.h>

#include <nvmx/cr_owner.h>
#include <nvmx/vmcs12_fields.h>

#include "cpuid.h"
#include "lapic.h"
#include "mmu.h"
#include "trace.h"
#include "x86.h"

#include "nested_internal.h"

/*
 * One exit as L1 will see it in vmcs12's exit-information fields (SDM
 * 27.2).  A hardware exit takes every member from vmcs02; an exit KVM
 * synthesises says what it knows and leaves the rest 0, as the SDM leaves
 * those fields undefined for such exits.
 */
struct nvmx_exit_info {
	u32 reason;
	u32 intr_info;
	u32 error_code;
	u32 insn_len;
	u32 insn_info;
	unsigned long qual;
	unsigned long linear_address;
	u64 gpa;		/* EPT violations and misconfigurations */
	/*
	 * The event whose delivery the exit interrupted (SDM 27.2.4) when
	 * nvmx itself delivered it (nested_vmx_ept_root_exit()), not KVM's
	 * queue: its interruption type exactly as it was injected.
	 */
	u32 idt_info;
	u32 idt_error_code;
};

/* Reflect or not (SDM 25.1, 25.2) */

/*
 * SDM 25.2: an exception exits if its bit in the exception bitmap is set;
 * for #PF the bit is compared with whether the error code matches: it exits
 * iff bit 14 == ((error code & PFEC_MASK) == PFEC_MATCH).
 */
static bool nested_vmx_l1_wants_exception(struct vmcs12 *vmcs12, u8 vector,
					  u32 error_code)
{
	bool bit = vmcs12->exception_bitmap & BIT(vector);
	bool match;

	if (vector != PF_VECTOR)
		return bit;
	match = (error_code & vmcs12->page_fault_error_code_mask) ==
		vmcs12->page_fault_error_code_match;
	return bit == match;
}

bool nested_vmx_is_exception_vmexit(struct kvm_vcpu *vcpu, u8 vector,
				    u32 error_code)
{
	return nested_vmx_l1_wants_exception(get_vmcs12(vcpu), vector,
					     error_code);
}

/*
 * Exit reason 0 from the hardware.  NMIs and machine checks are the host's
 * (L1's NMIs are virtual and reach it through check_events).  A #PF is
 * L0's whenever vmx.c intercepts #PF for itself (shadow paging, a guest
 * MAXPHYADDR smaller than the host's) or it is an asynchronous page fault
 * of L0's own hypervisor: L0's MMU queues L2's own faults, and
 * is_exception_vmexit turns those L1 wants into exits.  An #AC that is a
 * split-lock detection of L0's, not L2's alignment check, stays with L0's
 * split-lock policy, as it does for L1.  #DB and #BP that userspace
 * debugging asked for are L0's.  Everything else is L1's call.
 */
static bool nested_vmx_l1_wants_exception_exit(struct kvm_vcpu *vcpu,
					       struct vmcs12 *vmcs12)
{
	u32 intr_info = vmx_get_intr_info(vcpu);
	u32 error_code = 0;

	if (is_nmi(intr_info) || is_machine_check(intr_info))
		return false;
	if (is_page_fault(intr_info) &&
	    (vmx_need_pf_intercept(vcpu) || vcpu->arch.apf.host_apf_flags))
		return false;
	if (is_alignment_check(intr_info) && !vmx_guest_inject_ac(vcpu))
		return false;
	if (is_debug(intr_info) &&
	    (vcpu->guest_debug &
	     (KVM_GUESTDBG_SINGLESTEP | KVM_GUESTDBG_USE_HW_BP)))
		return false;
	if (is_breakpoint(intr_info) &&
	    (vcpu->guest_debug & KVM_GUESTDBG_USE_SW_BP))
		return false;

	if (is_exception_with_error_code(intr_info))
		error_code = vmcs_read32(VM_EXIT_INTR_ERROR_CODE);
	return nested_vmx_l1_wants_exception(vmcs12,
					     intr_info & INTR_INFO_VECTOR_MASK,
					     error_code);
}

/*
 * SDM 25.1.3: I/O bitmap A covers ports 0-7FFFH, B 8000H-FFFFH; an access
 * exits if the bit of any byte it touches is set, or if it wraps past FFFFH.
 * An unreadable bitmap page exits too: L1 is the one to sort that out.
 */
bool nested_vmx_check_io_bitmaps(struct kvm_vcpu *vcpu, unsigned int port,
				 int size)
{
	struct vmcs12 *vmcs12 = get_vmcs12(vcpu);
	unsigned int last = port + size;
	u64 bitmap;
	u8 byte;

	for (; port < last; port++) {
		if (port > 0xffff)
			return true;
		bitmap = port < 0x8000 ? vmcs12->io_bitmap_a :
					 vmcs12->io_bitmap_b;
		if (kvm_vcpu_read_guest(vcpu, bitmap + (port & 0x7fff) / 8,
					&byte, 1))
			return true;
		if (byte & BIT(port & 7))
			return true;
	}
	return false;
}

/* SDM 25.1.3: IN, INS, OUT, OUTS. */
static bool nested_vmx_l1_wants_io(struct kvm_vcpu *vcpu,
				   struct vmcs12 *vmcs12)
{
	unsigned long qual = vmx_get_exit_qual(vcpu);

	if (!nested_cpu_has(vmcs12, CPU_BASED_USE_IO_BITMAPS))
		return nested_cpu_has(vmcs12, CPU_BASED_UNCOND_IO_EXITING);
	return nested_vmx_check_io_bitmaps(vcpu, qual >> 16, (qual & 7) + 1);
}

/*
 * SDM 24.6.9, 25.1.3: RDMSR/WRMSR exit unless MSR bitmaps are in use and
 * the bit for ECX is clear.  The page holds four 1 KiB bitmaps: read-low
 * (MSRs 0-1FFFH), read-high (C0000000H-C0001FFFH), write-low, write-high;
 * an MSR in neither range always exits.  One of L2's reaches L0 when L0 or
 * L1 intercepts it (vmcs02's bitmap merges both, nested_entry.c): it is
 * L1's exactly when L1's bitmap says so, else vmx.c completes it for L2.
 */
static bool nested_vmx_l1_wants_msr(struct kvm_vcpu *vcpu,
				    struct vmcs12 *vmcs12, bool write)
{
	u32 msr = kvm_rcx_read(vcpu);
	unsigned int offset;
	u8 byte;

	if (!nested_cpu_has(vmcs12, CPU_BASED_USE_MSR_BITMAPS))
		return true;
	if (msr <= 0x1fff)
		offset = 0;
	else if (msr - 0xc0000000 <= 0x1fff)
		offset = 1024;
	else
		return true;
	if (write)
		offset += 2048;
	offset += (msr & 0x1fff) / 8;

	if (kvm_vcpu_read_guest(vcpu, vmcs12->msr_bitmap + offset, &byte, 1))
		return true;
	return byte & BIT(msr & 7);
}

/*
 * CR0 as L2 sees it (SDM 25.3): L1's shadow at L1's bits, L2's own value
 * everywhere else, whatever KVM left in vmcs02's shadow at L1's bits.
 */
static u64 nested_vmx_l2_cr0_view(struct vmcs12 *vmcs12,
				  const struct nvmx_cr *c)
{
	u64 l2_cr0 = nvmx_cr_guest12(c, vmcs12->guest_cr0,
				     vmcs_readl(CR0_READ_SHADOW),
				     vmcs_readl(GUEST_CR0));

	return nvmx_cr_shadow02(c, l2_cr0);
}

/* SDM 25.1.3: MOV to CR0/CR4 as a value; CR3 and CR8 by their controls. */
static bool nested_vmx_l1_wants_mov_to_cr(struct kvm_vcpu *vcpu,
					  struct vmcs12 *vmcs12, int cr,
					  unsigned long val)
{
	struct nvmx_cr c;

	switch (cr) {
	case 0:
		c = nested_vmx_cr0_owners(vcpu, vmcs12);
		return nvmx_cr_write_exits_to_l1(&c, val);
	case 4:
		c = nested_vmx_cr4_owners(vcpu, vmcs12);
		return nvmx_cr_write_exits_to_l1(&c, val);
	case 3:
		/* L1 gets no CR3-target values: every load exits. */
		return nested_cpu_has(vmcs12, CPU_BASED_CR3_LOAD_EXITING);
	case 8:
		return nested_cpu_has(vmcs12, CPU_BASED_CR8_LOAD_EXITING);
	}
	return false;
}

/*
 * SDM 25.1.3, exit qualification of SDM Table 27-3: bits 3:0 the CR, 5:4
 * the access (MOV to, MOV from, CLTS, LMSW), 11:8 the GPR, 31:16 the LMSW
 * source.  CLTS and LMSW are writes of a computed CR0 value.
 */
static bool nested_vmx_l1_wants_cr_access(struct kvm_vcpu *vcpu,
					  struct vmcs12 *vmcs12)
{
	unsigned long qual = vmx_get_exit_qual(vcpu);
	int cr = qual & 15;
	struct nvmx_cr c;
	u64 view;

	switch ((qual >> 4) & 3) {
	case 0:
		return nested_vmx_l1_wants_mov_to_cr(vcpu, vmcs12, cr,
				kvm_register_read(vcpu, (qual >> 8) & 15));
	case 1:
		if (cr == 3)
			return nested_cpu_has(vmcs12,
					      CPU_BASED_CR3_STORE_EXITING);
		return cr == 8 &&
		       nested_cpu_has(vmcs12, CPU_BASED_CR8_STORE_EXITING);
	case 2:
		c = nested_vmx_cr0_owners(vcpu, vmcs12);
		view = nested_vmx_l2_cr0_view(vmcs12, &c);
		return nvmx_cr_write_exits_to_l1(&c, nvmx_cr0_clts_value(view));
	default:
		c = nested_vmx_cr0_owners(vcpu, vmcs12);
		view = nested_vmx_l2_cr0_view(vmcs12, &c);
		return nvmx_cr_write_exits_to_l1(&c,
				nvmx_cr0_lmsw_value(view, (u16)(qual >> 16)));
	}
}

/*
 * Exits that one vmcs12 control bit asks for (SDM 25.1.2, 25.1.3), or that
 * L1 always gets (SDM 25.1.2: CPUID, GETSEC, INVD, XSETBV and the VMX
 * instructions but VMREAD and VMWRITE, which "VMCS shadowing" decides;
 * task switches and triple faults, SDM 25.2).  A reason not
 * listed, and not decided by a function below, is L0's own: it comes from
 * a control L0 set in vmcs02 for itself (EPT, external interrupts, APIC
 * virtualisation, preemption timer, PML, ...).
 */
enum nvmx_exit_owner {
	NVMX_EXIT_L0,
	NVMX_EXIT_L1,
	NVMX_EXIT_PRIMARY,	/* L1's if the primary control .bit is set */
	NVMX_EXIT_SECONDARY,	/* L1's if the secondary control .bit is set */
};

struct nvmx_exit_rule {
	u8 owner;
	u32 bit;
};

/* SDM Appendix C; asm/vmx.h has no name for it */
#define NVMX_EXIT_REASON_GETSEC		11

static const struct nvmx_exit_rule nvmx_exit_rules[] = {
	[EXIT_REASON_TRIPLE_FAULT]	= { NVMX_EXIT_L1 },
	[EXIT_REASON_TASK_SWITCH]	= { NVMX_EXIT_L1 },
	[EXIT_REASON_CPUID]		= { NVMX_EXIT_L1 },
	[NVMX_EXIT_REASON_GETSEC]	= { NVMX_EXIT_L1 },
	[EXIT_REASON_INVD]		= { NVMX_EXIT_L1 },
	[EXIT_REASON_XSETBV]		= { NVMX_EXIT_L1 },
	[EXIT_REASON_VMCALL]		= { NVMX_EXIT_L1 },
	[EXIT_REASON_VMCLEAR]		= { NVMX_EXIT_L1 },
	[EXIT_REASON_VMLAUNCH]		= { NVMX_EXIT_L1 },
	[EXIT_REASON_VMPTRLD]		= { NVMX_EXIT_L1 },
	[EXIT_REASON_VMPTRST]		= { NVMX_EXIT_L1 },
	[EXIT_REASON_VMRESUME]		= { NVMX_EXIT_L1 },
	[EXIT_REASON_VMOFF]		= { NVMX_EXIT_L1 },
	[EXIT_REASON_VMON]		= { NVMX_EXIT_L1 },
	[EXIT_REASON_INVEPT]		= { NVMX_EXIT_L1 },
	[EXIT_REASON_INVVPID]		= { NVMX_EXIT_L1 },
	[EXIT_REASON_INTERRUPT_WINDOW]	= { NVMX_EXIT_PRIMARY,
					    CPU_BASED_INTR_WINDOW_EXITING },
	[EXIT_REASON_NMI_WINDOW]	= { NVMX_EXIT_PRIMARY,
					    CPU_BASED_NMI_WINDOW_EXITING },
	[EXIT_REASON_HLT]		= { NVMX_EXIT_PRIMARY,
					    CPU_BASED_HLT_EXITING },
	[EXIT_REASON_INVLPG]		= { NVMX_EXIT_PRIMARY,
					    CPU_BASED_INVLPG_EXITING },
	[EXIT_REASON_RDPMC]		= { NVMX_EXIT_PRIMARY,
					    CPU_BASED_RDPMC_EXITING },
	[EXIT_REASON_RDTSC]		= { NVMX_EXIT_PRIMARY,
					    CPU_BASED_RDTSC_EXITING },
	[EXIT_REASON_RDTSCP]		= { NVMX_EXIT_PRIMARY,
					    CPU_BASED_RDTSC_EXITING },
	[EXIT_REASON_DR_ACCESS]		= { NVMX_EXIT_PRIMARY,
					    CPU_BASED_MOV_DR_EXITING },
	[EXIT_REASON_MWAIT_INSTRUCTION]	= { NVMX_EXIT_PRIMARY,
					    CPU_BASED_MWAIT_EXITING },
	[EXIT_REASON_MONITOR_INSTRUCTION] = { NVMX_EXIT_PRIMARY,
					    CPU_BASED_MONITOR_EXITING },
	/*
	 * SDM 25.2: with L1's TPR shadow and APIC-access page in vmcs02
	 * (29.1.2, 29.4), their exits are L1's
	 */
	[EXIT_REASON_TPR_BELOW_THRESHOLD] = { NVMX_EXIT_PRIMARY,
					    CPU_BASED_TPR_SHADOW },
	[EXIT_REASON_APIC_ACCESS]	= { NVMX_EXIT_SECONDARY,
					    SECONDARY_EXEC_VIRTUALIZE_APIC_ACCESSES },
	/*
	 * SDM 29.1.3, 29.4.3.3: EOI virtualization exits with the vector's
	 * bit set in L1's EOI-exit bitmap, APIC-write emulation for the
	 * writes L1's controls let through to its virtual-APIC page: vmcs02
	 * virtualizes L2's APIC only as L1 asks, so both are L1's
	 */
	[EXIT_REASON_EOI_INDUCED]	= { NVMX_EXIT_SECONDARY,
					    SECONDARY_EXEC_VIRTUAL_INTR_DELIVERY },
	[EXIT_REASON_APIC_WRITE]	= { NVMX_EXIT_L1 },
	[EXIT_REASON_WBINVD]		= { NVMX_EXIT_SECONDARY,
					    SECONDARY_EXEC_WBINVD_EXITING },
	[EXIT_REASON_GDTR_IDTR]		= { NVMX_EXIT_SECONDARY,
					    SECONDARY_EXEC_DESC },
	[EXIT_REASON_LDTR_TR]		= { NVMX_EXIT_SECONDARY,
					    SECONDARY_EXEC_DESC },
	[EXIT_REASON_RDRAND]		= { NVMX_EXIT_SECONDARY,
					    SECONDARY_EXEC_RDRAND_EXITING },
	[EXIT_REASON_RDSEED]		= { NVMX_EXIT_SECONDARY,
					    SECONDARY_EXEC_RDSEED_EXITING },
	/* SDM 25.1.3: only with L1's XSS-exiting bitmap, which vmcs02 has */
	[EXIT_REASON_XSAVES]		= { NVMX_EXIT_SECONDARY,
					    SECONDARY_EXEC_XSAVES },
	[EXIT_REASON_XRSTORS]		= { NVMX_EXIT_SECONDARY,
					    SECONDARY_EXEC_XSAVES },
	/* SDM 25.1.3: with "enable user wait and pause", by RDTSC exiting */
	[EXIT_REASON_UMWAIT]		= { NVMX_EXIT_PRIMARY,
					    CPU_BASED_RDTSC_EXITING },
	[EXIT_REASON_TPAUSE]		= { NVMX_EXIT_PRIMARY,
					    CPU_BASED_RDTSC_EXITING },
};

static bool nested_vmx_l1_wants_by_rule(struct vmcs12 *vmcs12, u16 reason)
{
	const struct nvmx_exit_rule *rule;

	if (reason >= ARRAY_SIZE(nvmx_exit_rules))
		return false;
	rule = &nvmx_exit_rules[reason];

	switch (rule->owner) {
	case NVMX_EXIT_L1:
		return true;
	case NVMX_EXIT_PRIMARY:
		return nested_cpu_has(vmcs12, rule->bit);
	case NVMX_EXIT_SECONDARY:
		return nested_cpu_has2(vmcs12, rule->bit);
	default:
		return false;
	}
}

/*
 * SDM 25.5.5.2: VMFUNC with EAX < 64 (else #UD, delivered by the processor)
 * exits when VM-function control EAX is 0 in vmcs12.  A function L1 enabled
 * is L0's to perform for L2 (nested.c's handle_vmfunc()), which exits to
 * L1 itself where the function's own checks say so.
 */
static bool nested_vmx_l1_wants_vmfunc(struct kvm_vcpu *vcpu,
				       struct vmcs12 *vmcs12)
{
	u32 function = kvm_rax_read(vcpu);

	return function >= 64 ||
	       !(vmcs12->vm_function_control & BIT_ULL(function));
}

/*
 * SDM 25.1.3, 30.3: L2's VMREAD or VMWRITE exits to L1 unless vmcs12 has
 * "VMCS shadowing", the field encoding in register reg2 has no bit set
 * above bit 14 (the register is 32 bits outside 64-bit mode) and the
 * encoding's bit in the VMREAD or VMWRITE bitmap, @bitmap (SDM 24.6.15), is
 * 0; L0 performs the others on the shadow VMCS (nested.c).  The bit's
 * offset is masked, not only checked, so that no speculation takes it past
 * the bitmap's 4 KBytes.  A bitmap byte not in memory reads as all ones.
 */
static bool nested_vmx_l1_wants_vmcs_access(struct kvm_vcpu *vcpu,
					    struct vmcs12 *vmcs12, u64 bitmap)
{
	u32 info = vmcs_read32(VMX_INSTRUCTION_INFO);
	unsigned long enc = kvm_register_read(vcpu,
					      vmx_get_instr_info_reg2(info));
	u8 byte;

	if (!nested_cpu_has2(vmcs12, SECONDARY_EXEC_SHADOW_VMCS) ||
	    enc >> 15)
		return true;
	enc &= GENMASK(14, 0);
	if (kvm_vcpu_read_guest(vcpu, bitmap + enc / BITS_PER_BYTE, &byte,
				sizeof(byte)))
		return true;
	return byte & BIT(enc % BITS_PER_BYTE);
}

/* Does L1 want this exit from L2 (SDM 25.1, 25.2)? */
static bool nested_vmx_l1_wants_exit(struct kvm_vcpu *vcpu, u16 reason)
{
	struct vmcs12 *vmcs12 = get_vmcs12(vcpu);

	switch (reason) {
	case EXIT_REASON_EXCEPTION_NMI:
		return nested_vmx_l1_wants_exception_exit(vcpu, vmcs12);
	case EXIT_REASON_CR_ACCESS:
		return nested_vmx_l1_wants_cr_access(vcpu, vmcs12);
	case EXIT_REASON_IO_INSTRUCTION:
		return nested_vmx_l1_wants_io(vcpu, vmcs12);
	case EXIT_REASON_MSR_READ:
		return nested_vmx_l1_wants_msr(vcpu, vmcs12, false);
	case EXIT_REASON_MSR_WRITE:
		return nested_vmx_l1_wants_msr(vcpu, vmcs12, true);
	case EXIT_REASON_PAUSE_INSTRUCTION:
		/* SDM 25.1.3: "PAUSE exiting", or L1's own PAUSE-loop exiting */
		return nested_cpu_has(vmcs12, CPU_BASED_PAUSE_EXITING) ||
		       nested_cpu_has2(vmcs12,
				       SECONDARY_EXEC_PAUSE_LOOP_EXITING);
	case EXIT_REASON_INVPCID:
		/* SDM 25.1.3: "INVLPG exiting" and "enable INVPCID" */
		return nested_cpu_has(vmcs12, CPU_BASED_INVLPG_EXITING) &&
		       nested_cpu_has2(vmcs12, SECONDARY_EXEC_ENABLE_INVPCID);
	case EXIT_REASON_VMFUNC:
		return nested_vmx_l1_wants_vmfunc(vcpu, vmcs12);
	case EXIT_REASON_VMREAD:
		return nested_vmx_l1_wants_vmcs_access(vcpu, vmcs12,
						       vmcs12->vmread_bitmap);
	case EXIT_REASON_VMWRITE:
		return nested_vmx_l1_wants_vmcs_access(vcpu, vmcs12,
						       vmcs12->vmwrite_bitmap);
	default:
		return nested_vmx_l1_wants_by_rule(vmcs12, reason);
	}
}

static void nested_vmx_exit_to_l1(struct kvm_vcpu *vcpu,
				  const struct nvmx_exit_info *info);

/*
 * The exit as the hardware reported it in vmcs02 (SDM 27.2.1 to 27.2.5).
 * Exits L1 gets from the processor's own exits never carry a guest-physical
 * address: EPT violations and misconfigurations of vmcs02 are L0's, and
 * those of L1's EPT come from nested_vmx_ept_inject_page_fault().
 */
static void nested_vmx_hw_exit_info(struct kvm_vcpu *vcpu,
				    struct nvmx_exit_info *info)
{
	info->reason = to_vmx(vcpu)->exit_reason.full;
	info->qual = vmx_get_exit_qual(vcpu);
	if (to_vmx(vcpu)->exit_reason.failed_vmentry)
		return;

	info->intr_info = vmx_get_intr_info(vcpu);
	if (is_exception_with_error_code(info->intr_info))
		info->error_code = vmcs_read32(VM_EXIT_INTR_ERROR_CODE);
	info->insn_len = vmcs_read32(VM_EXIT_INSTRUCTION_LEN);
	info->insn_info = vmcs_read32(VMX_INSTRUCTION_INFO);
	info->linear_address = vmcs_readl(GUEST_LINEAR_ADDRESS);
}

/*
 * A failed entry into vmcs02 (SDM 26.8) is L1's failed VM entry when L2's
 * state caused it: nvmx leaves to the processor the guest-state checks on
 * fields that reach vmcs02 unchanged.  A failed MSR load is about L0's own
 * list in vmcs02.  A machine check during the entry (SDM 26.9) is an event
 * of the physical processor, not of the virtual one L1 runs on: vmx.c has
 * passed it to the host's handler (kvm_machine_check()) and reports the
 * failed entry to userspace (KVM_EXIT_FAIL_ENTRY), as it does for vmcs01.
 * Both stay with L0.
 */
static bool nested_vmx_l1_wants_entry_failure(u16 reason)
{
	return reason == EXIT_REASON_INVALID_STATE;
}

/*
 * The processor refused vmcs02 with VMfailValid (vmx->fail).  nvmx checks
 * every vmcs12 field that reaches vmcs02 as SDM 26.2 does, and before the
 * guest-state checks and the MSR-load list as SDM 26.1 orders them, so
 * such a failure comes from L0's own fields, not from L1's instruction:
 * vmx.c reports it to userspace (KVM_EXIT_FAIL_ENTRY), as for vmcs01.
 *
 * Except VTPR, which the processor checks against the TPR threshold at
 * every entry of vmcs02 (SDM 26.2.1.1), L0's re-entries after the exits it
 * handles itself included: L2 (when L1 maps the virtual-APIC page into its
 * memory) or another vCPU may have lowered it with a plain write since.
 * L1 is told as the processor tells of VTPR below the threshold, with a
 * TPR-below-threshold exit (SDM 29.1.2; qualification 0, 27.2.1).  L2 did
 * not run: the exit saves L2's state as L0 left it in vmcs02 and KVM's
 * registers, and an event L0 was injecting as IDT-vectoring information.
 */
static bool nested_vmx_vmcs02_vmfail(struct kvm_vcpu *vcpu)
{
	struct vcpu_vmx *vmx = to_vmx(vcpu);
	struct vmcs12 *vmcs12 = get_vmcs12(vcpu);
	void *vapic = vmx->nested.virtual_apic_map.hva;
	u32 error = vmcs_read32(VM_INSTRUCTION_ERROR);

	if (error == VMXERR_ENTRY_INVALID_CONTROL_FIELD && vapic &&
	    nested_vmx_tpr_rule_applies(vmcs12) &&
	    nested_vmx_vtpr_below_threshold(vmcs12, vapic)) {
		vmx->fail = 0;
		nested_vmx_vmexit(vcpu, EXIT_REASON_TPR_BELOW_THRESHOLD, 0, 0);
		return true;
	}
	pr_warn_once("vmcs02 refused by the processor, VM-instruction error %u: L0's failure, reported to userspace (pid %d)\n",
		     error, current->tgid);
	return false;
}

/*
 * SDM 25.3: an LMSW of L2's that does not exit to L1 leaves the CR0 bits L1
 * owns unchanged, and L2 goes on reading them from L1's read shadow.  vmx.c
 * completes an LMSW that exits to L0 with kvm_lmsw(), which loads CR0[3:0]
 * from the source operand and makes the read shadow the new CR0: right
 * only when L1 owns none of MP, EM and TS.  Otherwise L0 completes it
 * here, as vmx.c's MOV to CR0 does for L2.  LMSW only ever sets PE.
 */
static bool nested_vmx_l0_completes_lmsw(struct kvm_vcpu *vcpu)
{
	struct vmcs12 *vmcs12 = get_vmcs12(vcpu);
	unsigned long qual = vmx_get_exit_qual(vcpu);
	u64 l1 = vmcs12->cr0_guest_host_mask;
	u64 msw = (qual >> LMSW_SOURCE_DATA_SHIFT) & 0xf;
	u64 cr0 = kvm_read_cr0(vcpu);
	u64 val;

	if (((qual >> 4) & 3) != 3 ||
	    !(l1 & (X86_CR0_MP | X86_CR0_EM | X86_CR0_TS)))
		return false;

	val = (cr0 & ~0xeULL) | msw;
	val = (val & ~l1) | (cr0 & l1);
	if (kvm_set_cr0(vcpu, val)) {
		kvm_inject_gp(vcpu, 0);
		return true;
	}
	vmcs_writel(CR0_READ_SHADOW, (val & ~l1) |
		    (vmcs12->cr0_read_shadow & l1));
	/* A single-step debug exit to userspace is not reported here. */
	kvm_skip_emulated_instruction(vcpu);
	return true;
}

/*
 * Has a memslot changed since vmcs02's APIC pages were mapped (a VMM that
 * moved or deleted the memory at their addresses, or put other memory
 * there while L2 runs)?  Then they are mapped again, from L1's memory as
 * it is now, at L2's next exit to L0: x86.c kicks every running vCPU once
 * the new memslots are in place (kvm_arch_memslots_updated()).  Until
 * then, an L2 that waits halted or in the shutdown state without exiting
 * keeps the old pages, pinned.  No memory there any more: the pages are
 * released and KVM_RUN ends with an internal error, as for a restored
 * state whose pages are gone (KVM_REQ_GET_NESTED_STATE_PAGES,
 * nested_vmx_get_state_pages(), which fails the same way while they are).
 */
static void nested_vmx_apic_pages_refresh(struct kvm_vcpu *vcpu)
{
	struct nested_vmx *nested = &to_vmx(vcpu)->nested;

	if ((nested->virtual_apic_map.hva || nested->apic_access_page_map.hva) &&
	    nested->shadow_vmcs12_cache.generation !=
	    kvm_vcpu_memslots(vcpu)->generation &&
	    !nested_vmx_map_apic_pages(vcpu))
		kvm_make_request(KVM_REQ_GET_NESTED_STATE_PAGES, vcpu);
}

/*
 * Called by vmx.c for every exit while L2 is active.  True: the exit went
 * to L1, or nvmx completed it for L2 (an LMSW, above).  False: vmx.c
 * handles it as L0's own, and L2 runs on.
 */
bool nested_vmx_reflect_vmexit(struct kvm_vcpu *vcpu)
{
	struct vcpu_vmx *vmx = to_vmx(vcpu);
	union vmx_exit_reason reason = vmx->exit_reason;

	if (unlikely(vmx->fail))
		return nested_vmx_vmcs02_vmfail(vcpu);
	trace_kvm_nested_vmexit(vcpu, KVM_ISA_VMX);
	nested_vmx_apic_pages_refresh(vcpu);

	if (reason.failed_vmentry) {
		if (!nested_vmx_l1_wants_entry_failure(reason.basic))
			return false;
	} else if (!nested_vmx_l1_wants_exit(vcpu, reason.basic)) {
		return reason.basic == EXIT_REASON_CR_ACCESS &&
		       nested_vmx_l0_completes_lmsw(vcpu);
	}

	nested_vmx_reflect_hw_exit(vcpu);
	return true;
}

void nested_vmx_reflect_hw_exit(struct kvm_vcpu *vcpu)
{
	struct nvmx_exit_info info = {};

	nested_vmx_hw_exit_info(vcpu, &info);
	nested_vmx_exit_to_l1(vcpu, &info);
}

/*
 * SDM 27.2.1, Table 27-7: the exit qualification of an EPT violation of
 * L1's EPT.  KVM's walk of L1's EPT gives the access (bits 2:0) and the
 * permissions the translation has (bits 5:3), and keeps bits 7 and 8 of
 * the exit that caused the walk (vcpu->arch.exit_qualification).  Those and
 * bit 12 (NMI unblocking by IRET) describe L2's access only when that exit
 * was the processor's EPT violation on vmcs02; for an access L0 emulated
 * for L2, no linear address is reported.
 */
static unsigned long nvmx_ept_violation_qual(struct kvm_vcpu *vcpu, bool hw,
					     bool nmi_unblocked)
{
	unsigned long qual = vcpu->arch.exit_qualification;

	if (!hw)
		return qual & ~(EPT_VIOLATION_GVA_IS_VALID |
				EPT_VIOLATION_GVA_TRANSLATED);
	/*
	 * Table 27-7, note 1: with accessed/dirty flags on in L1's EPTP, an
	 * access to a guest paging-structure entry is a write as well as a
	 * read, and reports both.
	 */
	if (nested_ept_ad_enabled(vcpu) && (qual & EPT_VIOLATION_GVA_IS_VALID) &&
	    !(qual & EPT_VIOLATION_GVA_TRANSLATED))
		qual |= EPT_VIOLATION_ACC_READ | EPT_VIOLATION_ACC_WRITE;
	return nmi_unblocked ? qual | INTR_INFO_UNBLOCK_NMI : qual;
}

/*
 * SDM 27.1: an EPT violation or misconfiguration of an IRET that unblocked
 * NMIs leaves them unblocked as the exit saves L2's state.  The processor
 * said so for its EPT violation on vmcs02 (bit 12, undefined during event
 * delivery), and vmx.c blocked NMIs again there to retry the IRET itself.
 */
static bool nvmx_iret_unblocked_nmi(struct kvm_vcpu *vcpu, bool hw)
{
	if (!hw || (to_vmx(vcpu)->idt_vectoring_info & VECTORING_INFO_VALID_MASK))
		return false;
	return vmx_get_exit_qual(vcpu) & INTR_INFO_UNBLOCK_NMI;
}

/*
 * SDM 28.3.3.1: an EPT violation invalidates the guest-physical mappings
 * of its address for the current EP4TA.  KVM dropped the current root's
 * (kvm_inject_emulated_page_fault()); the cached roots of EPTPs with the
 * same EP4TA hold them too.
 */
static void nested_vmx_ept_invalidate_gpa(struct kvm_vcpu *vcpu, gpa_t gpa)
{
	struct kvm_mmu *mmu = &vcpu->arch.guest_mmu;
	u64 eptp = get_vmcs12(vcpu)->ept_pointer;
	unsigned int i;

	for (i = 0; i < KVM_MMU_NUM_PREV_ROOTS; i++)
		if (VALID_PAGE(mmu->prev_roots[i].hpa) &&
		    nvmx_ept_same_ep4ta(mmu->prev_roots[i].pgd, eptp))
			mmu->invlpg(vcpu, gpa, mmu->prev_roots[i].hpa);
}

/* Bits 51:12 of an EPTP or an EPT paging-structure entry (SDM 28.2.2) */
#define NVMX_EPT_ADDR_MASK	GENMASK_ULL(51, 12)

/*
 * SDM 28.2.3.1 with the platform's answer to a read of nonexistent memory,
 * all ones: an EPT paging structure outside L1's memory holds entries that
 * are present with reserved bits set (51:MAXPHYADDR, and the memory type
 * 7 of a leaf), an EPT misconfiguration.  KVM's walk of L1's EPT takes
 * such a structure for a not-present entry (an EPT violation).  Walk L1's
 * EPT for @gpa again: does it reach a structure L1's memory does not hold?
 * (A race with L1 changing its EPT gives one of the answers either order
 * of the accesses could have given.)
 */
static bool nvmx_ept_walk_leaves_memory(struct kvm_vcpu *vcpu, gpa_t gpa)
{
	u64 eptp = get_vmcs12(vcpu)->ept_pointer;
	int level = ((eptp & VMX_EPTP_PWL_MASK) >> 3) + 1;
	gpa_t table = eptp & NVMX_EPT_ADDR_MASK;
	u64 entry;

	for (; level >= 1; level--) {
		gpa_t at = table + ((gpa >> (PAGE_SHIFT + 9 * (level - 1))) &
				    0x1ff) * sizeof(entry);

		if (kvm_vcpu_read_guest(vcpu, at, &entry, sizeof(entry)))
			return true;
		/* not present, or a leaf: the violation is the entry's */
		if (!(entry & VMX_EPT_RWX_MASK) || level == 1 ||
		    (entry & PT_PAGE_SIZE_MASK))
			return false;
		table = entry & NVMX_EPT_ADDR_MASK;
	}
	return false;
}

void nested_vmx_ept_inject_page_fault(struct kvm_vcpu *vcpu,
				      struct x86_exception *fault)
{
	struct vcpu_vmx *vmx = to_vmx(vcpu);
	struct nvmx_exit_info info = {};
	bool hw = !vmx->exit_reason.failed_vmentry &&
		  vmx->exit_reason.basic == EXIT_REASON_EPT_VIOLATION;
	bool nmi_unblocked = nvmx_iret_unblocked_nmi(vcpu, hw);

	if (hw)
		nested_vmx_hw_exit_info(vcpu, &info);

	if (vmx->nested.pml_full) {
		/*
		 * A page-modification log-full event (SDM 28.2.5, from
		 * nested_vmx_write_log_dirty()): of the exit qualification
		 * only bit 12 is defined, as for an EPT violation (27.2.1),
		 * and an IRET's unblocking of NMIs stands likewise (27.1).
		 */
		vmx->nested.pml_full = false;
		info.reason = EXIT_REASON_PML_FULL;
		info.qual = nmi_unblocked ? INTR_INFO_UNBLOCK_NMI : 0;
	} else if ((fault->error_code & PFERR_RSVD_MASK) ||
		   nvmx_ept_walk_leaves_memory(vcpu, fault->address)) {
		info.reason = EXIT_REASON_EPT_MISCONFIG;
		info.qual = 0;
	} else {
		info.reason = EXIT_REASON_EPT_VIOLATION;
		info.qual = nvmx_ept_violation_qual(vcpu, hw, nmi_unblocked);
		nested_vmx_ept_invalidate_gpa(vcpu, fault->address);
	}
	info.gpa = fault->address;

	if (nmi_unblocked)
		vmcs_clear_bits(GUEST_INTERRUPTIBILITY_INFO,
				GUEST_INTR_STATE_NMI);

	nested_vmx_exit_to_l1(vcpu, &info);
}

/* Save L2's state into vmcs12 (SDM 27.2, 27.3) */

/*
 * Exception error codes have 16 defined bits (SDM 6.13) and a processor
 * never reports more in an exit; KVM may hold more (from userspace).
 */
static u32 nvmx_error_code(u32 error_code)
{
	return (u16)error_code;
}

/*
 * SDM 27.2.2 "acknowledge interrupt on exit": an external-interrupt exit
 * acknowledges the interrupt controller (here KVM's local APIC or PIC) and
 * reports the vector as valid in the interruption information.
 */
static void nested_vmx_ack_interrupt(struct kvm_vcpu *vcpu,
				     struct vmcs12 *vmcs12,
				     struct nvmx_exit_info *info)
{
	int vector;

	if (info->reason != EXIT_REASON_EXTERNAL_INTERRUPT ||
	    (info->intr_info & INTR_INFO_VALID_MASK) ||
	    !(vmcs12->vm_exit_controls & VM_EXIT_ACK_INTR_ON_EXIT))
		return;

	vector = kvm_cpu_get_interrupt(vcpu);
	if (vector >= 0)
		info->intr_info = INTR_INFO_VALID_MASK | INTR_TYPE_EXT_INTR |
				  vector;
}

/*
 * SDM 27.2.4: the event whose delivery the exit interrupted, as
 * IDT-vectoring information (24.9.3), 0 if none.  vmx.c has already moved
 * vmcs02's IDT-vectoring information into KVM's queue (exception/NMI/
 * interrupt "injected"), which also holds an event L1 asked to inject that
 * has not been delivered yet; it is read from there, with its error code
 * into *@error_code and, for a software event, the length of its
 * instruction into *@insn_len (SDM 27.2.5).
 */
static u32 nvmx_queued_event(struct kvm_vcpu *vcpu, u32 *error_code,
			     u32 *insn_len)
{
	struct kvm_vcpu_arch *arch = &vcpu->arch;
	u32 idt = INTR_INFO_VALID_MASK;
	bool soft;

	if (arch->exception.injected) {
		soft = kvm_exception_is_soft(arch->exception.vector);
		idt |= arch->exception.vector;
		idt |= soft ? INTR_TYPE_SOFT_EXCEPTION :
			      INTR_TYPE_HARD_EXCEPTION;
		if (arch->exception.has_error_code) {
			idt |= INTR_INFO_DELIVER_CODE_MASK;
			*error_code = nvmx_error_code(arch->exception.error_code);
		}
	} else if (arch->nmi_injected) {
		soft = false;
		idt |= INTR_TYPE_NMI_INTR | NMI_VECTOR;
	} else if (arch->interrupt.injected) {
		soft = arch->interrupt.soft;
		idt |= arch->interrupt.nr;
		idt |= soft ? INTR_TYPE_SOFT_INTR : INTR_TYPE_EXT_INTR;
	} else {
		return 0;
	}

	if (soft)
		*insn_len = arch->event_exit_inst_len;
	return idt;
}

static void vmcs12_save_idt_vectoring(struct kvm_vcpu *vcpu,
				      struct vmcs12 *vmcs12)
{
	vmcs12->idt_vectoring_info_field =
		nvmx_queued_event(vcpu, &vmcs12->idt_vectoring_error_code,
				  &vmcs12->vm_exit_instruction_len);
}

/*
 * SDM 27.2.4: a triple fault, and a double fault that exits directly, are
 * not exits during event delivery, whatever KVM still holds in its queue
 * (the event whose delivery escalated to them).
 */
static bool nvmx_exit_may_interrupt_delivery(const struct nvmx_exit_info *info)
{
	u16 basic = info->reason;

	if (basic == EXIT_REASON_TRIPLE_FAULT)
		return false;
	return !(basic == EXIT_REASON_EXCEPTION_NMI &&
		 (info->intr_info & INTR_INFO_INTR_TYPE_MASK) ==
		 INTR_TYPE_HARD_EXCEPTION &&
		 (info->intr_info & INTR_INFO_VECTOR_MASK) == DF_VECTOR);
}

/*
 * SDM 27.2.1: the exits that report a guest-physical address (not a
 * page-modification log-full event, for which the field is undefined).
 */
static bool nvmx_exit_has_gpa(const struct nvmx_exit_info *info)
{
	return info->reason == EXIT_REASON_EPT_VIOLATION ||
	       info->reason == EXIT_REASON_EPT_MISCONFIG;
}

/* SDM 27.2: the exit-information fields, for an exit L1 sees. */
static void vmcs12_save_exit_info(struct kvm_vcpu *vcpu,
				  struct vmcs12 *vmcs12,
				  const struct nvmx_exit_info *info)
{
	vmcs12->vm_exit_reason = info->reason;
	vmcs12->exit_qualification = info->qual;
	vmcs12->vm_exit_intr_info = info->intr_info;
	if (is_exception_with_error_code(info->intr_info))
		vmcs12->vm_exit_intr_error_code = info->error_code;
	vmcs12->vm_exit_instruction_len = info->insn_len;
	vmcs12->vmx_instruction_info = info->insn_info;
	vmcs12->guest_linear_address = info->linear_address;
	if (nvmx_exit_has_gpa(info))
		vmcs12->guest_physical_address = info->gpa;
	if (!nvmx_exit_may_interrupt_delivery(info)) {
		vmcs12->idt_vectoring_info_field = 0;
	} else if (info->idt_info & INTR_INFO_VALID_MASK) {
		vmcs12->idt_vectoring_info_field = info->idt_info;
		if (info->idt_info & INTR_INFO_DELIVER_CODE_MASK)
			vmcs12->idt_vectoring_error_code = info->idt_error_code;
	} else {
		vmcs12_save_idt_vectoring(vcpu, vmcs12);
	}
}

/* CR0 or CR4 as L1 sees L2's (SDM 27.3.1), from the ownership helpers. */
static u64 vmcs12_l2_cr(const struct nvmx_cr *c, u64 guest12, u32 shadow_field,
			u32 guest_field)
{
	return nvmx_cr_guest12(c, guest12, vmcs_readl(shadow_field),
			       vmcs_readl(guest_field));
}

/*
 * The value L2 has for guest-state field @f, from where KVM keeps it: the
 * register caches, KVM's software copies of CRs and MSRs, else vmcs02
 * (segments too: vmx.c writes them through to the VMCS and caches reads).
 */
static u64 vmcs12_l2_value(struct kvm_vcpu *vcpu, struct vmcs12 *vmcs12,
			   const struct nvmx_field *f)
{
	unsigned long dr7;
	struct nvmx_cr c;

	switch (f->encoding) {
	case GUEST_CR0:
		c = nested_vmx_cr0_owners(vcpu, vmcs12);
		return vmcs12_l2_cr(&c, vmcs12->guest_cr0, CR0_READ_SHADOW,
				    GUEST_CR0);
	case GUEST_CR4:
		c = nested_vmx_cr4_owners(vcpu, vmcs12);
		return vmcs12_l2_cr(&c, vmcs12->guest_cr4, CR4_READ_SHADOW,
				    GUEST_CR4);
	case GUEST_CR3:
		return kvm_read_cr3(vcpu);
	case GUEST_PDPTR0:
	case GUEST_PDPTR1:
	case GUEST_PDPTR2:
	case GUEST_PDPTR3:
		/* SDM 27.3.4: undefined unless L2 uses PAE paging: kept */
		if (!is_pae_paging(vcpu))
			return nvmx_vmcs12_read(vmcs12, f);
		return kvm_pdptr_read(vcpu, (f->encoding - GUEST_PDPTR0) / 2);
	case GUEST_RSP:
		return kvm_rsp_read(vcpu);
	case GUEST_RIP:
		return kvm_rip_read(vcpu);
	case GUEST_RFLAGS:
		return vmx_get_rflags(vcpu);
	case GUEST_DR7:
		kvm_get_dr(vcpu, 7, &dr7);
		return dr7;
	case GUEST_IA32_DEBUGCTL:
		return vmx_guest_debugctl_read();
	case GUEST_IA32_PAT:
		return vcpu->arch.pat;
	case GUEST_IA32_EFER:
		return vcpu->arch.efer;
	case VMX_PREEMPTION_TIMER_VALUE:
		return nested_vmx_preemption_timer_value(vcpu);
	case GUEST_ACTIVITY_STATE:
		/*
		 * L0 runs L2's HLT as a halted vCPU, its wait-for-SIPI and
		 * shutdown as one waiting for a SIPI, never as vmcs02's state
		 */
		switch (vcpu->arch.mp_state) {
		case KVM_MP_STATE_HALTED:
			return GUEST_ACTIVITY_HLT;
		case KVM_MP_STATE_INIT_RECEIVED:
			return nested_vmx_l2_in_shutdown(vcpu) ?
			       GUEST_ACTIVITY_SHUTDOWN :
			       GUEST_ACTIVITY_WAIT_SIPI;
		default:
			return GUEST_ACTIVITY_ACTIVE;
		}
	default:
		return nvmx_vmcs_read(f);
	}
}

/*
 * SDM 27.3: save what L2 can have changed, as the field table says (guest
 * state on every exit, some fields under their exit controls).  Controls,
 * host state and read-only fields are never read.  The state that lives
 * in vmcs02 alone stays there until vmcs12's copy is needed
 * (nested_vmx_save_vmcs02_state()).
 */
static void vmcs12_save_l2_rows(struct kvm_vcpu *vcpu, struct vmcs12 *vmcs12)
{
	const struct nvmx_field *f;
	unsigned int i;

	for (i = 0; i < nvmx_nr_saved_rows; i++) {
		f = &nvmx_fields[nvmx_saved_rows[i]];
		if (nvmx_exit_saves_field(vmcs12, f))
			nvmx_vmcs12_write(vmcs12, f,
					  vmcs12_l2_value(vcpu, vmcs12, f));
	}

	/* SDM 27.2: "IA-32e mode guest" takes IA32_EFER.LMA */
	if (vcpu->arch.efer & EFER_LMA)
		vmcs12->vm_entry_controls |= VM_ENTRY_IA32E_MODE;
	else
		vmcs12->vm_entry_controls &= ~VM_ENTRY_IA32E_MODE;
}

/* The guest state that lives in vmcs02 alone, from the current VMCS. */
static void vmcs12_save_vmcs02_rows(struct vmcs12 *vmcs12)
{
	const struct nvmx_field *f;
	unsigned int i;

	for (i = 0; i < nvmx_nr_vmcs02_rows; i++) {
		f = &nvmx_fields[nvmx_vmcs02_rows[i]];
		nvmx_vmcs12_write(vmcs12, f, nvmx_vmcs_read(f));
	}
}

/*
 * The state that lives in vmcs02 alone waits there until vmcs12's copy is
 * needed, which loads vmcs02 again; an eVMCS needs it before L1 runs,
 * after every exit (nested_evmcs_sync_from_vmcs12()), so it is read now,
 * while vmcs02 is still the current VMCS.
 */
static void vmcs12_save_l2_state(struct kvm_vcpu *vcpu, struct vmcs12 *vmcs12)
{
	vmcs12_save_l2_rows(vcpu, vmcs12);
	if (nested_evmcs_mapped(to_vmx(vcpu))) {
		vmcs12_save_vmcs02_rows(vmcs12);
		to_vmx(vcpu)->nested.need_sync_vmcs02_to_vmcs12_rare = false;
	} else {
		to_vmx(vcpu)->nested.need_sync_vmcs02_to_vmcs12_rare = true;
	}
}

/*
 * KVM_GET_NESTED_STATE while L2 runs: vmcs12 takes L2's state as an exit
 * would save it (SDM 27.3), L2 going on as it was.  vmcs02 is current, so
 * the state an exit leaves there (NVMX_SYNC_VMCS02) is read directly.  The
 * event vmcs12 had injected is L2's past: delivered, or in KVM's queue of
 * injected events that KVM_GET_VCPU_EVENTS reports; its valid bit is
 * cleared as an exit clears it (SDM 24.8.3), so that vmcs12 describes the
 * entry L2 would be resumed with.  Not while the entry is pending: vmcs12
 * is then still the input of the entry, event included.
 */
void nested_vmx_save_l2_state_in_place(struct kvm_vcpu *vcpu)
{
	struct vmcs12 *vmcs12 = get_vmcs12(vcpu);

	vmcs12_save_l2_rows(vcpu, vmcs12);
	vmcs12_save_vmcs02_rows(vmcs12);
	vmcs12->vm_entry_intr_info_field &= ~INTR_INFO_VALID_MASK;
}

/*
 * The guest state the last exit left in vmcs02 (NVMX_SYNC_VMCS02), newer
 * than vmcs12's copy, copied into vmcs12 with vmcs02 current; vmcs02 keeps
 * it, so the copies are equal and neither needs loading into the other.
 * For KVM_GET_NESTED_STATE with L1's VMLAUNCH or VMRESUME still to enter
 * L2 (vmcs12 is the entry's input, but the entry did not load that state,
 * nested_vmx_load_vmcs02_state()), and for the entry's own guest-state
 * checks, which read it before anything is loaded.
 */
void nested_vmx_save_vmcs02_state_pending(struct kvm_vcpu *vcpu)
{
	if (to_vmx(vcpu)->nested.need_sync_vmcs02_to_vmcs12_rare)
		vmcs12_save_vmcs02_rows(get_vmcs12(vcpu));
}

/*
 * SDM 27.3, the rest of it: the guest state an exit left in vmcs02
 * (NVMX_SYNC_VMCS02), copied into vmcs12 before vmcs12's copy is read or
 * written: by L1's VMREAD or VMWRITE of such a field, by a check that
 * needs it, on vmcs12's way to memory, or into KVM_GET_NESTED_STATE.  L1
 * runs on vmcs01; vmcs02 is made current only for the reads, with
 * preemption off, and nothing vmx.c caches from the VMCS is touched.  Not
 * for L2's side, where vmcs02 is current: the exit saves everything there
 * (nested_vmx_save_l2_state_in_place() without an exit).
 */
void nested_vmx_save_vmcs02_state(struct kvm_vcpu *vcpu)
{
	struct vcpu_vmx *vmx = to_vmx(vcpu);
	int cpu;

	if (!vmx->nested.need_sync_vmcs02_to_vmcs12_rare ||
	    WARN_ON_ONCE(vmx->loaded_vmcs != &vmx->vmcs01))
		return;

	cpu = get_cpu();
	vmx->loaded_vmcs = &vmx->nested.vmcs02;
	vmx_vcpu_load_vmcs(vcpu, cpu, &vmx->vmcs01);
	vmcs12_save_vmcs02_rows(get_vmcs12(vcpu));
	vmx->loaded_vmcs = &vmx->vmcs01;
	vmx_vcpu_load_vmcs(vcpu, cpu, &vmx->nested.vmcs02);
	put_cpu();

	vmx->nested.need_sync_vmcs02_to_vmcs12_rare = false;
}

/* VM-exit MSR lists and VMX abort (SDM 27.4, 27.6, 27.7) */

/* SDM 27.7: record why in the VMCS region, then shut down (triple fault). */
static void nested_vmx_abort(struct kvm_vcpu *vcpu, u32 indicator)
{
	get_vmcs12(vcpu)->abort = indicator;
	kvm_make_request(KVM_REQ_TRIPLE_FAULT, vcpu);
}

/* SDM 27.4: why an MSR-store entry fails, apart from RDMSR itself. */
static bool nested_vmx_msr_unstorable(struct kvm_vcpu *vcpu,
				      const struct vmx_msr_entry *e)
{
	return (e->index >> 8) == 0x8 ||	/* x2APIC registers */
	       e->index == MSR_IA32_SMBASE ||	/* readable in SMM only */
	       e->reserved ||
	       !kvm_msr_allowed(vcpu, e->index, KVM_MSR_FILTER_READ);
}

/* SDM 27.4: store L2's MSRs into the VM-exit MSR-store area. */
static bool nested_vmx_store_msr_list(struct kvm_vcpu *vcpu,
				      struct vmcs12 *vmcs12)
{
	gpa_t gpa = vmcs12->vm_exit_msr_store_addr;
	struct vmx_msr_entry e;
	u32 i;

	if (vmcs12->vm_exit_msr_store_count > nested_vmx_max_msr_list(vcpu))
		return false;

	for (i = 0; i < vmcs12->vm_exit_msr_store_count; i++, gpa += sizeof(e)) {
		if (kvm_vcpu_read_guest(vcpu, gpa, &e,
					offsetof(struct vmx_msr_entry, value)) ||
		    nested_vmx_msr_unstorable(vcpu, &e) ||
		    kvm_get_msr(vcpu, e.index, &e.value) ||
		    kvm_vcpu_write_guest(vcpu,
					 gpa + offsetof(struct vmx_msr_entry, value),
					 &e.value, sizeof(e.value)))
			return false;
	}
	return true;
}

/* SDM 27.6: load L1's MSRs from the VM-exit MSR-load area, in order. */
static bool nested_vmx_load_msr_list(struct kvm_vcpu *vcpu,
				     struct vmcs12 *vmcs12)
{
	gpa_t gpa = vmcs12->vm_exit_msr_load_addr;
	struct vmx_msr_entry e;
	u32 i;

	if (vmcs12->vm_exit_msr_load_count > nested_vmx_max_msr_list(vcpu))
		return false;

	for (i = 0; i < vmcs12->vm_exit_msr_load_count; i++, gpa += sizeof(e)) {
		if (kvm_vcpu_read_guest(vcpu, gpa, &e, sizeof(e)) ||
		    nested_vmx_msr_load_refused(vcpu, &e) ||
		    kvm_set_msr(vcpu, e.index, e.value))
			return false;
	}
	return true;
}

/* Load L1's state (SDM 27.5) */

/* SDM 27.5.1: CR0 bits a VM exit leaves alone: ET, CD, NW, reserved. */
#define NVMX_HOST_CR0_LOADED	(X86_CR0_PE | X86_CR0_MP | X86_CR0_EM | \
				 X86_CR0_TS | X86_CR0_NE | X86_CR0_WP | \
				 X86_CR0_AM | X86_CR0_PG)

/*
 * SDM 27.5.1: IA32_EFER from its field under "load IA32_EFER", else LMA
 * and LME follow "host address-space size"; then CR0 (keeping the bits the
 * SDM keeps from @cur_cr0) and CR4 (PAE set for a 64-bit host), all through
 * KVM's own setters so the MMU and mode tracking follow.
 */
static void load_host_efer_cr0_cr4(struct kvm_vcpu *vcpu,
				   struct vmcs12 *vmcs12, u64 cur_cr0)
{
	bool host_64 = vmcs12->vm_exit_controls & VM_EXIT_HOST_ADDR_SPACE_SIZE;
	u64 efer = vcpu->arch.efer & ~(EFER_LMA | EFER_LME);
	u64 cr4 = vmcs12->host_cr4;

	if (vmcs12->vm_exit_controls & VM_EXIT_LOAD_IA32_EFER)
		efer = vmcs12->host_ia32_efer;
	else if (host_64)
		efer |= EFER_LMA | EFER_LME;
	vmx_set_efer(vcpu, efer);

	vmx_set_cr0(vcpu, (vmcs12->host_cr0 & NVMX_HOST_CR0_LOADED) |
			  (cur_cr0 & ~NVMX_HOST_CR0_LOADED));

	if (host_64)
		cr4 |= X86_CR4_PAE;
	vmx_set_cr4(vcpu, cr4);
}

/*
 * L1's own paging, out of L1's EPT for L2 if the entry went there; the
 * caller then gives the MMU L1's paging mode (kvm_init_mmu()).
 */
void nested_vmx_restore_l1_mmu(struct kvm_vcpu *vcpu)
{
	vcpu->arch.mmu = &vcpu->arch.root_mmu;
	vcpu->arch.walk_mmu = &vcpu->arch.root_mmu;
}

/*
 * SDM 27.5.1, 27.5.4: CR3 without bits 63:52 and those beyond the physical
 * address width; with PAE paging outside IA-32e mode, the PDPTEs from it.
 * Then the MMU takes the new paging mode and root.
 */
static bool load_host_cr3(struct kvm_vcpu *vcpu, struct vmcs12 *vmcs12)
{
	unsigned long cr3 = vmcs12->host_cr3 & ~vcpu->arch.reserved_gpa_bits;

	nested_vmx_restore_l1_mmu(vcpu);
	vcpu->arch.cr3 = cr3;
	kvm_register_mark_dirty(vcpu, VCPU_EXREG_CR3);
	kvm_init_mmu(vcpu);
	if (is_pae_paging(vcpu) && !load_pdptrs(vcpu, cr3))
		return false;
	kvm_mmu_new_pgd(vcpu, cr3);
	return true;
}

/*
 * SDM 27.5.1: DR7 = 400H, IA32_DEBUGCTL = 0, the SYSENTER MSRs from their
 * fields, IA32_PAT under its load control.  Without "load IA32_PAT" the MSR
 * keeps L2's value, which vmcs01 must then take over too.
 */
static bool load_host_msrs(struct kvm_vcpu *vcpu, struct vmcs12 *vmcs12)
{
	u64 pat = vcpu->arch.pat;

	kvm_set_dr(vcpu, 7, DR7_FIXED_1);
	vmx_guest_debugctl_write(vcpu, 0);

	vmcs_write32(GUEST_SYSENTER_CS, vmcs12->host_ia32_sysenter_cs);
	vmcs_writel(GUEST_SYSENTER_ESP, vmcs12->host_ia32_sysenter_esp);
	vmcs_writel(GUEST_SYSENTER_EIP, vmcs12->host_ia32_sysenter_eip);

	if (vmcs12->vm_exit_controls & VM_EXIT_LOAD_IA32_PAT)
		pat = vmcs12->host_ia32_pat;
	return !kvm_set_msr(vcpu, MSR_IA32_CR_PAT, pat);
}

/*
 * SDM 27.5.2: the host segment registers, written straight into vmcs01
 * (L1 is in protected mode: no real-mode bookkeeping of vmx.c's applies).
 * CS is an accessed execute/read code segment (64-bit under "host
 * address-space size"), TR a busy TSS with limit 67H, the others accessed
 * read/write data segments, unusable when their selector is null; all with
 * base 0 unless the host state gives one, and limit FFFFFFFFH.  LDTR is
 * unusable; GDTR and IDTR get limit FFFFH.  Access rights in the VMCS
 * format (SDM 24.4.1): type, S (bit 4), P (7), L (13), D/B (14), G (15),
 * unusable (16).
 */
#define NVMX_AR_DATA		0xc093
#define NVMX_AR_CODE_32		0xc09b
#define NVMX_AR_CODE_64		0xa09b
#define NVMX_AR_TSS_BUSY	0x008b
#define NVMX_AR_UNUSABLE	0x10000

static u32 nvmx_host_data_ar(u16 selector)
{
	return selector ? NVMX_AR_DATA : NVMX_AR_DATA | NVMX_AR_UNUSABLE;
}

static void load_host_segments(struct kvm_vcpu *vcpu, struct vmcs12 *vmcs12)
{
	bool host_64 = vmcs12->vm_exit_controls & VM_EXIT_HOST_ADDR_SPACE_SIZE;
	const u32 lim = 0xffffffff;

	nvmx_vmcs_write_segment(0, vmcs12->host_es_selector, lim,
				nvmx_host_data_ar(vmcs12->host_es_selector), 0);
	nvmx_vmcs_write_segment(1, vmcs12->host_cs_selector, lim,
				host_64 ? NVMX_AR_CODE_64 : NVMX_AR_CODE_32, 0);
	nvmx_vmcs_write_segment(2, vmcs12->host_ss_selector, lim,
				nvmx_host_data_ar(vmcs12->host_ss_selector), 0);
	nvmx_vmcs_write_segment(3, vmcs12->host_ds_selector, lim,
				nvmx_host_data_ar(vmcs12->host_ds_selector), 0);
	nvmx_vmcs_write_segment(4, vmcs12->host_fs_selector, lim,
				nvmx_host_data_ar(vmcs12->host_fs_selector),
				vmcs12->host_fs_base);
	nvmx_vmcs_write_segment(5, vmcs12->host_gs_selector, lim,
				nvmx_host_data_ar(vmcs12->host_gs_selector),
				vmcs12->host_gs_base);
	nvmx_vmcs_write_segment(6, 0, 0, NVMX_AR_UNUSABLE, 0);
	nvmx_vmcs_write_segment(7, vmcs12->host_tr_selector, 0x67,
				NVMX_AR_TSS_BUSY, vmcs12->host_tr_base);
	/* vmx.c caches segments it read: they are L1's now */
	to_vmx(vcpu)->segment_cache.bitmask = 0;

	vmcs_writel(GUEST_GDTR_BASE, vmcs12->host_gdtr_base);
	vmcs_write32(GUEST_GDTR_LIMIT, 0xffff);
	vmcs_writel(GUEST_IDTR_BASE, vmcs12->host_idtr_base);
	vmcs_write32(GUEST_IDTR_LIMIT, 0xffff);
}

/*
 * SDM 27.5: L1's state from vmcs12's host-state area, then the VM-exit
 * MSR-load list (27.6).  @cur_cr0 is CR0 as the exit found it.
 */
static void load_vmcs12_host_state(struct kvm_vcpu *vcpu,
				   struct vmcs12 *vmcs12, u64 cur_cr0)
{
	load_host_efer_cr0_cr4(vcpu, vmcs12, cur_cr0);
	if (!load_host_cr3(vcpu, vmcs12))
		nested_vmx_abort(vcpu, VMX_ABORT_LOAD_HOST_PDPTE_FAIL);
	if (!load_host_msrs(vcpu, vmcs12))
		nested_vmx_abort(vcpu, VMX_ABORT_LOAD_HOST_MSR_FAIL);
	load_host_segments(vcpu, vmcs12);

	/* SDM 27.5.3: RSP and RIP from their fields, RFLAGS all clear */
	kvm_rsp_write(vcpu, vmcs12->host_rsp);
	kvm_rip_write(vcpu, vmcs12->host_rip);
	vmx_set_rflags(vcpu, X86_EFLAGS_FIXED);
	/* L1 resumes at an instruction boundary of its own */
	vmx_set_interrupt_shadow(vcpu, 0);
	to_vmx(vcpu)->emulation_required = vmx_emulation_required(vcpu);

	if (!nested_vmx_load_msr_list(vcpu, vmcs12))
		nested_vmx_abort(vcpu, VMX_ABORT_LOAD_HOST_MSR_FAIL);

	/*
	 * SDM 28.3.3.1: without VPID, exits invalidate the linear and
	 * combined mappings of VPID 0000H: a flush of L1's whole TLB, in
	 * L1's context, unsync'd shadow pages included.  With VPID, L2's
	 * translations are tagged apart from L1's, and nothing is flushed.
	 */
	if (!nested_vmx_l2_tagged(vcpu, vmcs12))
		kvm_make_request(KVM_REQ_TLB_FLUSH_GUEST, vcpu);

	/*
	 * L1 runs next and reads what the exit or the entry failure wrote
	 * into vmcs12 from the shadow VMCS or the eVMCS: vmx.c syncs it
	 * before the entry.
	 */
	to_vmx(vcpu)->nested.need_vmcs12_to_shadow_sync =
		nested_vmx_shadowing(to_vmx(vcpu)) ||
		nested_evmcs_mapped(to_vmx(vcpu));
}

/* Leave L2 (SDM 27) */

/*
 * L1's TSC offset and multiplier (SDM 25.3: L2's are L1's composed with
 * vmcs12's).  KVM writes a change of L1's TSC made while L2 runs (L2 writing
 * IA32_TSC, an MSR-load list entry, a host-side adjustment) into the
 * current VMCS, vmcs02, so vmcs01, current again, takes L1's values back.
 */
void nested_vmx_restore_l1_tsc(struct kvm_vcpu *vcpu)
{
	vcpu->arch.tsc_offset = vcpu->arch.l1_tsc_offset;
	vmcs_write64(TSC_OFFSET, vcpu->arch.tsc_offset);
	if (kvm_caps.has_tsc_control) {
		vcpu->arch.tsc_scaling_ratio = vcpu->arch.l1_tsc_scaling_ratio;
		vmcs_write64(TSC_MULTIPLIER, vcpu->arch.tsc_scaling_ratio);
	}
}

/* vmx.c's updates of vmcs01 that had to wait while vmcs02 was current. */
static void nested_vmx_apply_deferred_vmcs01(struct kvm_vcpu *vcpu)
{
	struct nested_vmx *nested = &to_vmx(vcpu)->nested;

	if (nested->change_vmcs01_virtual_apic_mode) {
		nested->change_vmcs01_virtual_apic_mode = false;
		vmx_set_virtual_apic_mode(vcpu);
	}
	if (nested->reload_vmcs01_apic_access_page) {
		nested->reload_vmcs01_apic_access_page = false;
		kvm_make_request(KVM_REQ_APIC_PAGE_RELOAD, vcpu);
	}
	if (nested->update_vmcs01_cpu_dirty_logging) {
		nested->update_vmcs01_cpu_dirty_logging = false;
		vmx_update_cpu_dirty_logging(vcpu);
	}
	if (nested->update_vmcs01_apicv_status) {
		nested->update_vmcs01_apicv_status = false;
		vmx_refresh_apicv_exec_ctrl(vcpu);
	}
	if (nested->update_vmcs01_hwapic_isr) {
		nested->update_vmcs01_hwapic_isr = false;
		kvm_apic_update_hwapic_isr(vcpu);
	}
}

/*
 * Branch predictions L2 trained must not steer L1 (CVE-2022-2196).  The
 * processor separates predictor modes only between VMX root and non-root
 * operation, not between two VMCSs, and the switch to vmcs01 named vmcs02
 * as its buddy, so vmx_vcpu_load_vmcs() skipped its barrier.  L1 whose
 * CPUID has IBRS/IBPB (SPEC_CTRL) relies on that separation, as bare metal
 * gives it between its guest and itself.  Not inlined: the tests count its
 * calls with a kprobe.
 */
static noinline void nested_vmx_ibpb_for_l1(void)
{
	indirect_branch_prediction_barrier();
}

/* Events queued for L2 end with it: reported to L1 above, or moot. */
static void nested_vmx_drop_l2_events(struct kvm_vcpu *vcpu)
{
	kvm_clear_exception_queue(vcpu);
	kvm_clear_interrupt_queue(vcpu);
	vcpu->arch.nmi_injected = false;
}

/*
 * Entering or leaving L2 changes who the vCPU's events are for: an
 * interrupt or NMI L2 could not take may now cause a VM exit to L1, or be
 * L1's to take (SDM 25.2, 26.6.5).  KVM looks at them again before its
 * next entry when asked to (KVM_REQ_EVENT); an event that arrives later
 * asks by itself, so ask only when one is already waiting: an NMI, SMI,
 * INIT or SIPI, or any interrupt in the local APIC's IRR, including one
 * L1's TPR masks, so that vmx.c also sets the TPR threshold of the VMCS
 * that is loaded.
 */
void nested_vmx_request_event_if_pending(struct kvm_vcpu *vcpu)
{
	if (vcpu->arch.nmi_pending || atomic_read(&vcpu->arch.nmi_queued) ||
	    vcpu->arch.smi_pending || kvm_cpu_has_interrupt(vcpu) ||
	    kvm_apic_has_pending_init_or_sipi(vcpu) ||
	    (lapic_in_kernel(vcpu) && kvm_lapic_find_highest_irr(vcpu) != -1))
		kvm_make_request(KVM_REQ_EVENT, vcpu);
}

/*
 * L1's TPR threshold (SDM 24.6.8), which vmx.c computes while L2 runs but
 * keeps in nested.l1_tpr_threshold: vmcs01 was not the loaded VMCS.  An
 * interrupt L2 took, or a CR8 write of L2's, can have changed it; vmcs01
 * needs it before L1 runs (SDM 26.2.1.1: a threshold above VTPR fails
 * the VM entry).  -1: vmx.c computed none since the nested entry.
 */
static void nested_vmx_update_l1_tpr_threshold(struct kvm_vcpu *vcpu)
{
	struct vcpu_vmx *vmx = to_vmx(vcpu);

	if (vmx->nested.l1_tpr_threshold == -1)
		return;
	vmcs_write32(TPR_THRESHOLD, vmx->nested.l1_tpr_threshold);
	vmx->nested.l1_tpr_threshold = -1;
}

/* What L1 sees of the exit, for trace-cmd users of kvm_nested_vmexit_inject. */
static void nested_vmx_trace_exit(const struct nvmx_exit_info *info, u32 idt)
{
	trace_kvm_nested_vmexit_inject(info->reason, info->qual, idt,
				       info->intr_info, info->error_code,
				       KVM_ISA_VMX);
}

/*
 * The exit to L1.  @info is NULL when KVM leaves L2 for its own reasons
 * (SMM, vCPU reset): L2's state is still saved, so that RSM can resume it,
 * but L1 gets no exit information and no MSR-store list.
 */
static void nested_vmx_exit_to_l1(struct kvm_vcpu *vcpu,
				  const struct nvmx_exit_info *info)
{
	struct vcpu_vmx *vmx = to_vmx(vcpu);
	struct vmcs12 *vmcs12 = get_vmcs12(vcpu);
	u64 l2_cr0 = kvm_read_cr0(vcpu);
	bool entry_failed = info && (info->reason &
				     VMX_EXIT_REASONS_FAILED_VMENTRY);
	bool msrs_ok = true;

	vmx->nested.nested_run_pending = 0;

	if (entry_failed) {
		/* SDM 26.8: reason and qualification only; L2 never ran */
		vmcs12->vm_exit_reason = info->reason;
		vmcs12->exit_qualification = info->qual;
		/*
		 * The entry may have loaded vmcs12's state into vmcs02 in
		 * part: the next one loads all of it that vmcs12 holds the
		 * newer copy of (not what an earlier exit left in vmcs02).
		 */
		vmx->nested.dirty_vmcs12 = true;
	} else {
		/*
		 * SDM 30.3 VMLAUNCH: a successful entry makes the VMCS
		 * launched; an exit that is not a VM-entry failure (26.8)
		 * shows the entry succeeded, the processor's checks on
		 * vmcs02 included.
		 */
		vmcs12->launch_state = 1;
		/*
		 * SDM 27.2: every exit clears the valid bit of the entry
		 * event, KVM's for SMM (no exit information) included.
		 */
		vmcs12->vm_entry_intr_info_field &= ~INTR_INFO_VALID_MASK;
		if (info)
			vmcs12_save_exit_info(vcpu, vmcs12, info);
		vmcs12_save_l2_state(vcpu, vmcs12);
		if (info)
			msrs_ok = nested_vmx_store_msr_list(vcpu, vmcs12);
	}
	if (info)
		nested_vmx_trace_exit(info, entry_failed ? 0 :
				      vmcs12->idt_vectoring_info_field);

	nested_vmx_drop_l2_events(vcpu);
	nested_vmx_release_apic_pages(vcpu);
	/* L2's count goes on in SMM (info NULL), not after an exit to L1 */
	nested_vmx_stop_preemption_timer(vcpu, !info);
	/* Flushes still pending are L2's: done before L1's context is back. */
	kvm_service_local_tlb_flush_requests(vcpu);
	leave_guest_mode(vcpu);
	/* vmcs01 current again; the CR0/CR4 bits L1 owns come back with it */
	nested_vmx_switch_vmcs(vcpu, &vmx->vmcs01);
	if (guest_cpuid_has(vcpu, X86_FEATURE_SPEC_CTRL))
		nested_vmx_ibpb_for_l1();
	nested_vmx_restore_l1_tsc(vcpu);

	load_vmcs12_host_state(vcpu, vmcs12, l2_cr0);
	if (!msrs_ok)
		nested_vmx_abort(vcpu, VMX_ABORT_SAVE_GUEST_MSR_FAIL);

	/* SDM 27.5.5: an exit caused by an NMI leaves NMIs blocked */
	if (info && info->reason == EXIT_REASON_EXCEPTION_NMI &&
	    is_nmi(info->intr_info))
		vmx_set_nmi_mask(vcpu, true);
	/* L1 runs: it is in neither L2's HLT nor its wait-for-SIPI */
	if (vcpu->arch.mp_state == KVM_MP_STATE_HALTED ||
	    vcpu->arch.mp_state == KVM_MP_STATE_INIT_RECEIVED)
		vcpu->arch.mp_state = KVM_MP_STATE_RUNNABLE;

	nested_vmx_apply_deferred_vmcs01(vcpu);
	nested_vmx_update_l1_tpr_threshold(vcpu);
	/*
	 * Leaving L2 for KVM's own reasons (info NULL: SMM, vCPU reset or
	 * teardown, when the VM's PIC may already be gone) asks KVM to look
	 * at the events without looking at them here.
	 */
	if (info)
		nested_vmx_request_event_if_pending(vcpu);
	else
		kvm_make_request(KVM_REQ_EVENT, vcpu);
}

void nested_vmx_vmexit(struct kvm_vcpu *vcpu, u32 vm_exit_reason,
		       u32 exit_intr_info, unsigned long exit_qualification)
{
	struct nvmx_exit_info info = {
		.reason = vm_exit_reason,
		.intr_info = exit_intr_info,
		.qual = exit_qualification,
	};

	if (vm_exit_reason == (u32)-1) {
		nested_vmx_exit_to_l1(vcpu, NULL);
		return;
	}
	nested_vmx_ack_interrupt(vcpu, get_vmcs12(vcpu), &info);
	nested_vmx_exit_to_l1(vcpu, &info);
}

void nested_vmx_entry_failure(struct kvm_vcpu *vcpu, struct vmcs12 *vmcs12,
			      u32 exit_reason, unsigned long exit_qual)
{
	vmcs12->vm_exit_reason = exit_reason | VMX_EXIT_REASONS_FAILED_VMENTRY;
	vmcs12->exit_qualification = exit_qual;
	trace_kvm_nested_vmexit_inject(vmcs12->vm_exit_reason, exit_qual, 0, 0,
				       0, KVM_ISA_VMX);
	load_vmcs12_host_state(vcpu, vmcs12, kvm_read_cr0(vcpu));
}

/* Leave L2 without a VM exit (KVM_SET_NESTED_STATE) */

void nested_vmx_save_vcpu_regs(struct kvm_vcpu *vcpu, struct nvmx_vcpu_regs *r)
{
	int i;

	r->rip = kvm_rip_read(vcpu);
	r->rsp = kvm_rsp_read(vcpu);
	r->rflags = vmx_get_rflags(vcpu);
	r->cr0 = kvm_read_cr0(vcpu);
	r->cr3 = kvm_read_cr3(vcpu);
	r->cr4 = kvm_read_cr4(vcpu);
	r->dr7 = vcpu->arch.dr7;
	r->efer = vcpu->arch.efer;
	r->pat = vcpu->arch.pat;
	r->debugctl = vmx_guest_debugctl_read();
	r->pae = is_pae_paging(vcpu);
	for (i = 0; r->pae && i < ARRAY_SIZE(r->pdptrs); i++)
		r->pdptrs[i] = kvm_pdptr_read(vcpu, i);
	for (i = 0; i < ARRAY_SIZE(r->segs); i++) {
		r->segs[i].sel = vmcs_read16(GUEST_ES_SELECTOR + 2 * i);
		r->segs[i].limit = vmcs_read32(GUEST_ES_LIMIT + 2 * i);
		r->segs[i].ar = vmcs_read32(GUEST_ES_AR_BYTES + 2 * i);
		r->segs[i].base = vmcs_readl(GUEST_ES_BASE + 2 * i);
	}
	r->gdt.size = vmcs_read32(GUEST_GDTR_LIMIT);
	r->gdt.address = vmcs_readl(GUEST_GDTR_BASE);
	r->idt.size = vmcs_read32(GUEST_IDTR_LIMIT);
	r->idt.address = vmcs_readl(GUEST_IDTR_BASE);
	r->sysenter_cs = vmcs_read32(GUEST_SYSENTER_CS);
	r->sysenter_esp = vmcs_readl(GUEST_SYSENTER_ESP);
	r->sysenter_eip = vmcs_readl(GUEST_SYSENTER_EIP);
	r->shadow = vmx_get_interrupt_shadow(vcpu);
	r->pending_dbg = vmcs_readl(GUEST_PENDING_DBG_EXCEPTIONS);
	r->nmi_masked = vmx_get_nmi_mask(vcpu);
	if (vm_entry_controls_get(to_vmx(vcpu)) & VM_ENTRY_LOAD_BNDCFGS)
		r->bndcfgs = vmcs_read64(GUEST_BNDCFGS);
}

/*
 * As the exit loads L1's (load_vmcs12_host_state()): EFER, CR0 and CR4
 * through vmx.c's setters, CR3 (and the PDPTEs of PAE paging) known to
 * KVM before them, so that vmx.c's view (real-mode emulation, IA-32e
 * mode, CR3 interception) is the vCPU's; the MMU then starts again from
 * them (kvm_mmu_reset_context()).  The segment fields go back as they
 * were, bit for bit (vmx.c's setter would mark them accessed), into a
 * VMCS that holds them in the same form: the one they came from, or
 * vmcs01 from vmcs02, where vmx.c's real-mode emulation (vm86) is never
 * on; vmcs01 gets it only for a CR0.PE of 0, which L2 can have only with
 * unrestricted guest, which needs none.
 */
void nested_vmx_load_vcpu_regs(struct kvm_vcpu *vcpu,
			       const struct nvmx_vcpu_regs *r)
{
	struct vcpu_vmx *vmx = to_vmx(vcpu);
	int i;

	vcpu->arch.cr3 = r->cr3;
	kvm_register_mark_dirty(vcpu, VCPU_EXREG_CR3);
	vmx_set_efer(vcpu, r->efer);
	vmx_set_cr0(vcpu, r->cr0);
	vmx_set_cr4(vcpu, r->cr4);
	if (r->pae) {
		memcpy(vcpu->arch.walk_mmu->pdptrs, r->pdptrs,
		       sizeof(r->pdptrs));
		kvm_register_mark_dirty(vcpu, VCPU_EXREG_PDPTR);
	}
	for (i = 0; i < ARRAY_SIZE(r->segs); i++)
		nvmx_vmcs_write_segment(i, r->segs[i].sel, r->segs[i].limit,
					r->segs[i].ar, r->segs[i].base);
	vmx->segment_cache.bitmask = 0;
	vmcs_write32(GUEST_GDTR_LIMIT, r->gdt.size);
	vmcs_writel(GUEST_GDTR_BASE, r->gdt.address);
	vmcs_write32(GUEST_IDTR_LIMIT, r->idt.size);
	vmcs_writel(GUEST_IDTR_BASE, r->idt.address);
	kvm_rip_write(vcpu, r->rip);
	kvm_rsp_write(vcpu, r->rsp);
	vmx_set_rflags(vcpu, r->rflags);

	vmx_guest_debugctl_write(vcpu, r->debugctl);
	vcpu->arch.dr7 = r->dr7;
	kvm_update_dr7(vcpu);
	vcpu->arch.pat = r->pat;
	if (vm_entry_controls_get(vmx) & VM_ENTRY_LOAD_IA32_PAT)
		vmcs_write64(GUEST_IA32_PAT, r->pat);
	vmcs_write32(GUEST_SYSENTER_CS, r->sysenter_cs);
	vmcs_writel(GUEST_SYSENTER_ESP, r->sysenter_esp);
	vmcs_writel(GUEST_SYSENTER_EIP, r->sysenter_eip);
	vmx_set_interrupt_shadow(vcpu, r->shadow);
	/*
	 * The pending debug exceptions go with the interruptibility state
	 * and RFLAGS kept above: VM entry checks them together (SDM
	 * 26.3.1.5, BS with TF under STI or MOV-SS blocking); what vmcs01
	 * held is L1's from before L2 ran.
	 */
	vmcs_writel(GUEST_PENDING_DBG_EXCEPTIONS, r->pending_dbg);
	vmx_set_nmi_mask(vcpu, r->nmi_masked);
	/* IA32_BNDCFGS is in the VMCS that loads it (vmx.c's MSR access) */
	if (vm_entry_controls_get(vmx) & VM_ENTRY_LOAD_BNDCFGS)
		vmcs_write64(GUEST_BNDCFGS, r->bndcfgs);

	vmx_update_exception_bitmap(vcpu);
	vmx->emulation_required = vmx_emulation_required(vcpu);
	kvm_mmu_reset_context(vcpu);
}

/*
 * What L2 was doing ends with it, as at a VM exit, but with no vmcs12 to
 * take it: the event being delivered through L2's IDT (an exit makes it
 * L1's IDT-vectoring information, SDM 27.2.4), an exception L2's
 * instruction raised, KVM's VM exit to L1 for one (exception_vmexit,
 * never pending outside guest mode), L2's shutdown (a VM exit to L1, SDM
 * 25.2) and L2's HLT or wait-for-SIPI (L1 runs active after an exit; a
 * vCPU in VMX root operation cannot wait for a SIPI, which x86.c would
 * WARN about at the next INIT or SIPI).  The new
 * context's events and activity are the VMM's: KVM_SET_VCPU_EVENTS and
 * KVM_SET_MP_STATE, which a VMM issues after KVM_SET_NESTED_STATE
 * (QEMU's kvm_arch_put_registers()).  Pending NMIs, SMIs and interrupts
 * are the vCPU's, not L2's: they stay.
 */
static void nested_vmx_end_l2_activity(struct kvm_vcpu *vcpu)
{
	nested_vmx_drop_l2_events(vcpu);
	kvm_clear_request(KVM_REQ_TRIPLE_FAULT, vcpu);
	if (vcpu->arch.mp_state == KVM_MP_STATE_HALTED ||
	    vcpu->arch.mp_state == KVM_MP_STATE_INIT_RECEIVED)
		vcpu->arch.mp_state = KVM_MP_STATE_RUNNABLE;
}

/*
 * L2's PAE PDPTEs without EPT are read from memory at its CR3 when it next
 * runs (nested_vmx_get_state_pages()) after a SET, unless the VMM gave
 * them (KVM_SET_SREGS2); a SET that leaves L2 before then finds in
 * walk_mmu those of the context before.  The vCPU keeps L2's CR3: its
 * PDPTEs are those a load of CR3 reads (SDM 4.4.1).  Memory not there
 * leaves them as they were, as KVM_RUN would have refused to run L2.
 */
static void nested_vmx_read_due_pdptes(struct kvm_vcpu *vcpu)
{
	if (kvm_test_request(KVM_REQ_GET_NESTED_STATE_PAGES, vcpu) &&
	    !nested_cpu_has_ept(get_vmcs12(vcpu)) && is_pae_paging(vcpu) &&
	    !vcpu->arch.pdptrs_from_userspace)
		load_pdptrs(vcpu, kvm_read_cr3(vcpu));
}

/*
 * A VM exit (SDM 27) is L1's, and a VMM replacing the state of a vCPU in
 * L2 is not one: vmcs12 takes nothing of L2's and the vCPU none of
 * vmcs12's host state or VM-exit MSR-load list.  The vCPU keeps the
 * registers it has, as the VMM may have set them while L2 ran (QEMU sets
 * the segment and control registers first), now in vmcs01, but not L2's
 * activity; what vmcs01 missed while vmcs02 was loaded (L1's TSC offset,
 * vmx.c's deferred updates, L1's TPR threshold) comes back as at an exit,
 * and KVM looks at the vCPU's events again.
 */
void nested_vmx_drop_l2(struct kvm_vcpu *vcpu)
{
	struct vcpu_vmx *vmx = to_vmx(vcpu);
	struct nvmx_vcpu_regs regs;

	nested_vmx_read_due_pdptes(vcpu);
	nested_vmx_save_vcpu_regs(vcpu, &regs);
	vmx->nested.nested_run_pending = 0;
	nested_vmx_end_l2_activity(vcpu);
	nested_vmx_stop_preemption_timer(vcpu, false);
	/* vmcs02's pages of L1's memory, unnamed while vmcs02 is current */
	nested_vmx_release_apic_pages(vcpu);
	kvm_clear_request(KVM_REQ_GET_NESTED_STATE_PAGES, vcpu);
	/* Flushes still pending are L2's: done before L1's context is back. */
	kvm_service_local_tlb_flush_requests(vcpu);
	leave_guest_mode(vcpu);
	nested_vmx_restore_l1_mmu(vcpu);
	nested_vmx_switch_vmcs(vcpu, &vmx->vmcs01);
	if (guest_cpuid_has(vcpu, X86_FEATURE_SPEC_CTRL))
		nested_vmx_ibpb_for_l1();
	nested_vmx_restore_l1_tsc(vcpu);
	nested_vmx_apply_deferred_vmcs01(vcpu);
	nested_vmx_update_l1_tpr_threshold(vcpu);
	nested_vmx_load_vcpu_regs(vcpu, &regs);
	kvm_make_request(KVM_REQ_EVENT, vcpu);
}

/* Events for L2 that L1 intercepts (kvm_x86_nested_ops) */

/*
 * SDM 27.2.1, 27.2.2: the exception KVM queued for L2 as a VM exit to L1.
 * #PF reports the faulting address and #DB its causes (B3-B0, BD, BS, RTM)
 * in the qualification; neither touches CR2 or DR6 of L2.
 */
static void nested_vmx_exception_exit_info(struct kvm_vcpu *vcpu,
					   struct nvmx_exit_info *info)
{
	struct kvm_queued_exception *ex = &vcpu->arch.exception_vmexit;
	u32 type = INTR_TYPE_HARD_EXCEPTION;

	if (kvm_exception_is_soft(ex->vector)) {
		type = INTR_TYPE_SOFT_EXCEPTION;
		info->insn_len = vcpu->arch.event_exit_inst_len;
	}
	info->reason = EXIT_REASON_EXCEPTION_NMI;
	info->intr_info = INTR_INFO_VALID_MASK | type | ex->vector;
	if (ex->has_error_code) {
		info->intr_info |= INTR_INFO_DELIVER_CODE_MASK;
		info->error_code = nvmx_error_code(ex->error_code);
	}

	if (ex->vector == PF_VECTOR)
		info->qual = ex->has_payload ? ex->payload : vcpu->arch.cr2;
	else if (ex->vector == DB_VECTOR && ex->has_payload)
		info->qual = ex->payload &
			     (DR_TRAP_BITS | DR6_BD | DR6_BS | DR6_RTM);
}

static int nested_vmx_exception_exit(struct kvm_vcpu *vcpu)
{
	struct nvmx_exit_info info = {};

	nested_vmx_exception_exit_info(vcpu, &info);
	nested_vmx_exit_to_l1(vcpu, &info);
	return 0;
}

/*
 * SDM 27.3.4: a single-step trap of L2's that INIT overtakes stays pending,
 * in the pending debug exceptions field of L2's state (BS, 24.4.2), rather
 * than being lost with the queued exception.  A breakpoint match (B0-B3)
 * in KVM's queue may be an instruction-breakpoint fault, which recurs when
 * L2 executes the instruction again: it is not recorded.
 */
static void nested_vmx_keep_pending_dbg(struct kvm_vcpu *vcpu)
{
	struct kvm_queued_exception *ex = &vcpu->arch.exception_vmexit;

	if (!ex->pending)
		ex = &vcpu->arch.exception;
	if (!ex->pending || ex->vector != DB_VECTOR || !ex->has_payload)
		return;
	vmcs_writel(GUEST_PENDING_DBG_EXCEPTIONS,
		    vmcs_readl(GUEST_PENDING_DBG_EXCEPTIONS) |
		    (ex->payload & DR6_BS));
}

static bool nested_vmx_l2_waits_for_sipi(struct kvm_vcpu *vcpu)
{
	return vcpu->arch.mp_state == KVM_MP_STATE_INIT_RECEIVED &&
	       !nested_vmx_l2_in_shutdown(vcpu);
}

/*
 * SDM 25.2: INIT in VMX non-root operation is a VM exit, and is consumed,
 * also in the shutdown state (26.6.2 blocks no INIT there).  In the
 * wait-for-SIPI state it is blocked (SDM 25.2, 26.6.2) and stays pending
 * on a processor, through the SIPI exit and VMX root operation (where
 * INIT is blocked too) until VMXOFF.  nvmx drops it instead: left latched
 * in guest mode, x86.c would reset the vCPU under L2.
 */
static int nested_vmx_init_exit(struct kvm_vcpu *vcpu)
{
	clear_bit(KVM_APIC_INIT, &vcpu->arch.apic->pending_events);
	if (nested_vmx_l2_waits_for_sipi(vcpu))
		return 0;
	nested_vmx_keep_pending_dbg(vcpu);
	nested_vmx_vmexit(vcpu, EXIT_REASON_INIT_SIGNAL, 0, 0);
	return 0;
}

/*
 * SDM 26.6.2, 25.2: L2 in the wait-for-SIPI state (L1's entry, or the VMM's
 * KVM_SET_MP_STATE) takes a SIPI as a VM exit with the vector in the
 * qualification (27.2.1) and blocks every other event: external
 * interrupts, NMIs and SMIs wait, INIT is dropped (above).  Outside it
 * x86.c discards SIPIs (kvm_apic_accept_events()).
 */
static int nested_vmx_sipi_exit(struct kvm_vcpu *vcpu)
{
	struct kvm_lapic *apic = vcpu->arch.apic;

	if (!lapic_in_kernel(vcpu) ||
	    !test_and_clear_bit(KVM_APIC_SIPI, &apic->pending_events))
		return 0;
	/* test_and_clear_bit() orders the read after __apic_accept_irq()'s */
	nested_vmx_vmexit(vcpu, EXIT_REASON_SIPI_SIGNAL, 0, apic->sipi_vector);
	return 0;
}

static int nested_vmx_nmi_exit(struct kvm_vcpu *vcpu)
{
	vcpu->arch.nmi_pending--;
	nested_vmx_vmexit(vcpu, EXIT_REASON_EXCEPTION_NMI,
			  INTR_INFO_VALID_MASK | INTR_TYPE_NMI_INTR | NMI_VECTOR,
			  0);
	return 0;
}

static int nested_vmx_intr_exit(struct kvm_vcpu *vcpu)
{
	trace_kvm_nested_intr_vmexit(kvm_rip_read(vcpu));
	nested_vmx_vmexit(vcpu, EXIT_REASON_EXTERNAL_INTERRUPT, 0, 0);
	return 0;
}

/*
 * SDM 26.7.5, 26.7.6: the interrupt-window and NMI-window exits happen
 * right after VM entry when their window is open, and they wake a logical
 * processor that the entry left in the HLT state.  L0 runs that state as a
 * halted vCPU (nested_vmx_run()), where vmcs02's controls cannot act: these
 * exits are taken here, and the HLT activity state is saved (SDM 27.3.4).
 * The same holds when L2 halted itself (HLT that L1 does not intercept)
 * right after STI or MOV SS: the blocking ends with the HLT.
 */
static bool nested_vmx_l2_halted(struct kvm_vcpu *vcpu)
{
	return vcpu->arch.mp_state == KVM_MP_STATE_HALTED;
}

static bool nested_vmx_intr_window_open(struct kvm_vcpu *vcpu)
{
	struct vmcs12 *vmcs12 = get_vmcs12(vcpu);

	return nested_cpu_has(vmcs12, CPU_BASED_INTR_WINDOW_EXITING) &&
	       (vmx_get_rflags(vcpu) & X86_EFLAGS_IF) &&
	       !vmx_get_interrupt_shadow(vcpu);
}

/* Virtual NMIs are on (SDM 26.2.1.1): the NMI mask is L2's virtual one. */
static bool nested_vmx_nmi_window_open(struct kvm_vcpu *vcpu)
{
	return nested_cpu_has(get_vmcs12(vcpu), CPU_BASED_NMI_WINDOW_EXITING) &&
	       !vmx_get_nmi_mask(vcpu) &&
	       !(vmx_get_interrupt_shadow(vcpu) & KVM_X86_SHADOW_INT_MOV_SS);
}

/* Also the timer's exit: qualification 0 too (SDM 27.2.1) */
static int nested_vmx_window_exit(struct kvm_vcpu *vcpu, u32 reason)
{
	nested_vmx_vmexit(vcpu, reason, 0, 0);
	return 0;
}

/*
 * L2 leaves the shutdown state without a VM exit: an NMI that L1 does not
 * intercept, or an SMI, ends it (SDM 6.15; 26.6.2 blocks neither), and
 * x86.c delivers it as to an active L2: the NMI through L2's IDT, the SMI
 * into SMM, whose RSM returns to L2 active (the SMRAM state save map keeps
 * an auto HALT restart, nothing of shutdown, SDM 34.4.1).
 */
static int nested_vmx_wake_from_shutdown(struct kvm_vcpu *vcpu)
{
	get_vmcs12(vcpu)->guest_activity_state = GUEST_ACTIVITY_ACTIVE;
	vcpu->arch.mp_state = KVM_MP_STATE_RUNNABLE;
	kvm_make_request(KVM_REQ_EVENT, vcpu);
	return 0;
}

/*
 * NMIs and SMIs sent to the vCPU (KVM_NMI, KVM_SMI, an NMI or SMI IPI)
 * wait as requests until x86.c's vcpu_enter_guest() takes them
 * (process_nmi(), process_smi(): static, and reached otherwise only by
 * KVM_GET_VCPU_EVENTS), which a vCPU in INIT_RECEIVED never reaches, while
 * the requests keep it from sleeping: taken here, the same way, for L2 in
 * shutdown, which they end or exit.  At most one NMI pending while NMIs
 * are blocked or one is being injected, two otherwise (one being
 * delivered, one latched: SDM 6.7.1); KVM looks at the events again.
 */
static void nested_vmx_take_nmi_smi_requests(struct kvm_vcpu *vcpu)
{
	unsigned int most = 2;

	if (vmx_get_nmi_mask(vcpu) || vcpu->arch.nmi_injected)
		most = 1;
	if (kvm_check_request(KVM_REQ_SMI, vcpu)) {
		vcpu->arch.smi_pending = true;
		kvm_make_request(KVM_REQ_EVENT, vcpu);
	}
	if (kvm_check_request(KVM_REQ_NMI, vcpu)) {
		vcpu->arch.nmi_pending =
			min(vcpu->arch.nmi_pending +
			    atomic_xchg(&vcpu->arch.nmi_queued, 0), most);
		kvm_make_request(KVM_REQ_EVENT, vcpu);
	}
}

/*
 * check_events for L2 in the shutdown state, below INIT (its exit, SDM
 * 25.2).  The state blocks external interrupts, however L1 controls them,
 * and SIPIs, which are discarded (26.6.2); the interrupt window does not
 * open in it (26.7.5) nor does the monitor trap flag's exit happen (not
 * offered).  An SMI ends it; the VMX-preemption timer counts in it and its
 * exit is taken (25.5.1); the NMI-window exit wakes it (26.7.6), as does an
 * NMI, as a VM exit where L1 intercepts NMIs, else unless NMIs are blocked.
 * Each exit saves the activity state shutdown (27.3.4: the state before
 * the exit, which the processor leaves only once it is done, 27.1).
 */
static int nested_vmx_shutdown_events(struct kvm_vcpu *vcpu)
{
	/* No local APIC in the kernel: no SIPI either (kvm_apic_accept_events()) */
	if (lapic_in_kernel(vcpu))
		clear_bit(KVM_APIC_SIPI, &vcpu->arch.apic->pending_events);
	nested_vmx_take_nmi_smi_requests(vcpu);
	if (vcpu->arch.smi_pending && !is_smm(vcpu))
		return nested_vmx_wake_from_shutdown(vcpu);
	if (to_vmx(vcpu)->nested.preemption_timer_expired)
		return nested_vmx_window_exit(vcpu,
					      EXIT_REASON_PREEMPTION_TIMER);
	if (nested_vmx_nmi_window_open(vcpu))
		return nested_vmx_window_exit(vcpu, EXIT_REASON_NMI_WINDOW);
	if (vcpu->arch.nmi_pending && nested_exit_on_nmi(vcpu))
		return nested_vmx_nmi_exit(vcpu);
	if (vcpu->arch.nmi_pending && !vmx_nmi_blocked(vcpu))
		return nested_vmx_wake_from_shutdown(vcpu);
	return 0;
}

/*
 * No exit to L1 is pending: L2 goes on, delivering an event x86.c injects
 * or fetching its next instruction (SDM 6.9 Table 6-2: below every event
 * above).  If its EPT PML4 table left L1's memory while it ran (the VMM
 * deleted the memslot), that is where it meets it, and the exit is taken
 * now, before x86.c injects: its MMU would fail to load a root next and
 * ask for a triple fault with the injection to cancel, which cannot
 * requeue an exception then.  A halted L2 fetches nothing.
 */
static int nested_vmx_l2_goes_on(struct kvm_vcpu *vcpu, bool halted)
{
	if (!halted && nested_vmx_ept_root_outside_memory(vcpu))
		nested_vmx_ept_root_exit(vcpu);
	return 0;
}

/*
 * SDM 29.6 steps 3 to 6, posted-interrupt processing, once L2 has
 * recognized and acknowledged the notification: clear the
 * outstanding-notification bit, EOI to L1's local APIC, move the
 * descriptor's PIR into VIRR on L1's virtual-APIC page and raise RVI to
 * the highest vector moved; the VM entry that resumes L2 then evaluates
 * pending virtual interrupts (step 7; SDM 26.3.2.5, 29.2.1).  Each PIR
 * word is taken with an atomic exchange: L1's other vCPUs post to it
 * meanwhile.  Both pages are L1's memory that L0 writes without a VM exit:
 * marked dirty for the VMM's dirty log.  The virtual-APIC page is mapped
 * with the descriptor: posted interrupts need virtual-interrupt delivery,
 * which needs "use TPR shadow" (26.2.1.1).
 */
static void nested_vmx_process_posted_intr(struct kvm_vcpu *vcpu)
{
	struct vcpu_vmx *vmx = to_vmx(vcpu);
	struct pi_desc *desc = vmx->nested.pi_desc;
	void *vapic = vmx->nested.virtual_apic_map.hva;
	int i, max = -1;
	u16 status;

	pi_clear_on(desc);
	kvm_lapic_set_eoi(vcpu);
	for (i = 0; i < ARRAY_SIZE(desc->pir); i++) {
		u32 pir = xchg(&desc->pir[i], 0);

		if (!pir)
			continue;
		atomic_or(pir, (atomic_t *)(vapic + APIC_IRR + i * 0x10));
		max = i * 32 + __fls(pir);
	}
	kvm_vcpu_mark_page_dirty(vcpu, vmx->nested.pi_desc_map.gfn);
	kvm_vcpu_mark_page_dirty(vcpu, vmx->nested.virtual_apic_map.gfn);
	status = vmcs_read16(GUEST_INTR_STATUS);
	if (max > (status & 0xff))
		vmcs_write16(GUEST_INTR_STATUS, (status & 0xff00) | max);
}

/*
 * SDM 29.6 steps 1 and 2: L1's interrupt that L2 recognizes with "process
 * posted interrupts" is acknowledged; if its vector is the notification
 * vector it is processed, with no VM exit.  Every notification for L2
 * reaches L1's local APIC first (nested_vmx_pi_notification_to_irr()).  An
 * interrupt of the PIC's comes first (kvm_cpu_get_interrupt()): once
 * acknowledged, it is the external-interrupt exit's.  Until the descriptor
 * is mapped again (a restored state, KVM_REQ_GET_NESTED_STATE_PAGES, which
 * a halted L2 meets only once it runs) the notification waits in L1's IRR:
 * it is not acknowledged before it can be processed.  False: the exit is
 * still to be taken, its interrupt not acknowledged.
 */
static bool nested_vmx_take_notification(struct kvm_vcpu *vcpu)
{
	struct vmcs12 *vmcs12 = get_vmcs12(vcpu);
	int vector;

	if (!(vmcs12->pin_based_vm_exec_control & PIN_BASED_POSTED_INTR) ||
	    kvm_apic_has_interrupt(vcpu) != vmcs12->posted_intr_nv)
		return false;
	if (!to_vmx(vcpu)->nested.pi_desc) {
		kvm_make_request(KVM_REQ_EVENT, vcpu);
		return true;
	}
	vector = kvm_cpu_get_interrupt(vcpu);
	if (vector != vmcs12->posted_intr_nv) {
		nested_vmx_vmexit(vcpu, EXIT_REASON_EXTERNAL_INTERRUPT,
				  INTR_INFO_VALID_MASK | INTR_TYPE_EXT_INTR |
				  vector, 0);
		return true;
	}
	nested_vmx_process_posted_intr(vcpu);
	return true;
}

/*
 * kvm_x86_nested_ops.check_events: deliver as a VM exit the first pending
 * event L1 intercepts, in the SDM's order (SDM 6.9 Table 6-2, 26.7): INIT
 * (priority 3) first; in the wait-for-SIPI state nothing but a SIPI; then
 * an exception KVM queued for L2, which completes the instruction that
 * raised it; then SMI, the VMX-preemption timer's exit (below debug traps,
 * above the NMI window: SDM 25.2, 26.7.4), the NMI-window exit, NMI, the
 * interrupt-window exit and external interrupt.  An SMI is never L1's, nor
 * is an NMI L1 does not intercept: x86.c delivers them (vmx_enter_smm()
 * leaves L2 on the way into SMM), as is an exception L1 does not
 * intercept, and the events below wait.  -EBUSY asks x86.c for an
 * immediate exit so that the event comes back: nothing may come between VM
 * entry and L2's first instruction, and no new event is taken while one is
 * being delivered (SDM 6.9: at instruction boundaries only).
 */
int nested_vmx_check_events(struct kvm_vcpu *vcpu)
{
	struct vcpu_vmx *vmx = to_vmx(vcpu);
	bool entering = vmx->nested.nested_run_pending;
	bool busy = entering || kvm_event_needs_reinjection(vcpu);
	bool halted = nested_vmx_l2_halted(vcpu);

	if (kvm_lapic_latched_init(vcpu))
		return busy ? -EBUSY : nested_vmx_init_exit(vcpu);
	if (nested_vmx_l2_waits_for_sipi(vcpu))
		return nested_vmx_sipi_exit(vcpu);
	if (nested_vmx_l2_in_shutdown(vcpu))
		return nested_vmx_shutdown_events(vcpu);
	/* a notification is an interrupt of L1's, taken below (SDM 29.6) */
	nested_vmx_pi_notification_to_irr(vcpu, vmx->nested.posted_intr_nv);
	if (vcpu->arch.exception_vmexit.pending)
		return entering ? -EBUSY : nested_vmx_exception_exit(vcpu);
	if (vcpu->arch.exception.pending)
		return entering ? -EBUSY : nested_vmx_l2_goes_on(vcpu, halted);
	if (vcpu->arch.smi_pending && !is_smm(vcpu))
		return busy ? -EBUSY : 0;
	if (to_vmx(vcpu)->nested.preemption_timer_expired)
		return busy ? -EBUSY :
			nested_vmx_window_exit(vcpu,
					       EXIT_REASON_PREEMPTION_TIMER);
	if (halted && nested_vmx_nmi_window_open(vcpu))
		return busy ? -EBUSY :
			nested_vmx_window_exit(vcpu, EXIT_REASON_NMI_WINDOW);
	if (vcpu->arch.nmi_pending && nested_exit_on_nmi(vcpu))
		return busy ? -EBUSY : nested_vmx_nmi_exit(vcpu);
	if (vcpu->arch.nmi_pending && !vmx_nmi_blocked(vcpu))
		return busy ? -EBUSY : nested_vmx_l2_goes_on(vcpu, halted);
	if (halted && nested_vmx_intr_window_open(vcpu))
		return busy ? -EBUSY :
			nested_vmx_window_exit(vcpu,
					       EXIT_REASON_INTERRUPT_WINDOW);
	if (kvm_cpu_has_interrupt(vcpu) && nested_exit_on_intr(vcpu)) {
		if (busy)
			return -EBUSY;
		if (!nested_vmx_take_notification(vcpu))
			return nested_vmx_intr_exit(vcpu);
	}
	return entering ? 0 : nested_vmx_l2_goes_on(vcpu, halted);
}

/*
 * SDM 29.2.1, 29.2.2: with virtual-interrupt delivery, RVI above VPPR
 * (bits 7:4 of each) is a virtual interrupt that the processor delivers
 * to L2, and that wakes it from the HLT state, once RFLAGS.IF is 1 and
 * nothing blocks by STI or MOV SS.  L0 runs L2's HLT as a halted vCPU,
 * where the processor cannot see it: when this holds, L2 wakes and the
 * VM entry that resumes it delivers the interrupt (26.7, evaluation of
 * pending virtual interrupts).  RVI is vmcs02's, where the processor keeps
 * it while L2 runs; VPPR is in L1's virtual-APIC page.
 */
static bool nested_vmx_virtual_intr_pending(struct kvm_vcpu *vcpu)
{
	void *vapic = to_vmx(vcpu)->nested.virtual_apic_map.hva;
	u8 rvi, vppr;

	if (!vapic ||
	    !nested_cpu_has2(get_vmcs12(vcpu),
			     SECONDARY_EXEC_VIRTUAL_INTR_DELIVERY) ||
	    !(vmx_get_rflags(vcpu) & X86_EFLAGS_IF) ||
	    vmx_get_interrupt_shadow(vcpu))
		return false;
	rvi = vmcs_read16(GUEST_INTR_STATUS) & 0xff;
	vppr = READ_ONCE(*((u8 *)vapic + APIC_PROCPRI));
	return (rvi & 0xf0) > (vppr & 0xf0);
}

/*
 * kvm_x86_nested_ops.has_events: an exit to L1 pending that KVM's generic
 * checks cannot see: the timer's exit, which wakes L2 from the HLT and
 * shutdown states as an NMI would whatever its RFLAGS.IF (SDM 25.2), and a
 * window exit that wakes it: the NMI window's from either, the interrupt
 * window's from HLT only (26.7.5, 26.7.6); or a virtual interrupt of L1's
 * that wakes it from HLT.  Not in the wait-for-SIPI state, which blocks the
 * timer's exit (SDM 25.2, 26.7.4) and which only a SIPI ends.  A
 * posted-interrupt notification for a halted L2 is moved to L1's local
 * APIC here (nested_vmx_pi_notification_to_irr()), and ends the HLT state
 * (25.2) once L1's PPR lets it be recognized; check_events then processes
 * it.  L2 leaves HLT then even when nothing it posted is deliverable, where
 * the processor would stay halted: x86.c's vcpu_block() makes a woken vCPU
 * runnable.  This changes the vCPU's state, which x86.c's callers allow:
 * the notification is where it would be anyway.
 */
bool nested_vmx_has_events(struct kvm_vcpu *vcpu, bool for_injection)
{
	struct vcpu_vmx *vmx = to_vmx(vcpu);
	bool halted = nested_vmx_l2_halted(vcpu);

	if (halted &&
	    nested_vmx_pi_notification_to_irr(vcpu, vmx->nested.posted_intr_nv) &&
	    kvm_cpu_has_interrupt(vcpu))
		return true;
	return (vmx->nested.preemption_timer_expired &&
		!nested_vmx_l2_waits_for_sipi(vcpu)) ||
	       ((halted || nested_vmx_l2_in_shutdown(vcpu)) &&
		nested_vmx_nmi_window_open(vcpu)) ||
	       (halted && (nested_vmx_intr_window_open(vcpu) ||
			   nested_vmx_virtual_intr_pending(vcpu)));
}

/*
 * Is the PML4 table @vmcs12's EPTP names outside L1's memory?  The test is
 * the one kvm.ko's MMU makes before it builds a root for L2
 * (mmu_check_root(): kvm_vcpu_is_visible_gfn()), since what is decided
 * here is whether that MMU can run L2: it would ask for a triple fault
 * instead.  It reads the vCPU's memslots, L1's address space: VMX
 * operation is set aside in SMM (vmx.c's enter_smm()) and an SMI leaves
 * L2 first, so at VMLAUNCH, VMRESUME and while L2 runs that is address
 * space 0, the same view kvm_vcpu_read_guest() reads L1's other
 * structures through (nvmx_ept_walk_leaves_memory(), the MSR-load lists)
 * and kvm_is_visible_gfn() tests (nested_state.c).
 */
bool nvmx_ept_root_outside_memory(struct kvm_vcpu *vcpu, struct vmcs12 *vmcs12)
{
	return nested_cpu_has_ept(vmcs12) &&
	       !kvm_vcpu_is_visible_gfn(vcpu, vmcs12->ept_pointer >> PAGE_SHIFT);
}

/* L2 runs on such an EPT */
bool nested_vmx_ept_root_outside_memory(struct kvm_vcpu *vcpu)
{
	return is_guest_mode(vcpu) &&
	       nvmx_ept_root_outside_memory(vcpu, get_vmcs12(vcpu));
}

/*
 * The guest-physical address of L2's first memory access for linear
 * address @la (SDM 4.3, 4.4, 4.5): the entry of the first paging
 * structure its translation reads, or @la itself without paging.  PAE
 * paging starts from the PDPTE registers (with EPT loaded from vmcs12, SDM
 * 26.3.2.4); false when that PDPTE is not present: no access then.
 */
static bool nvmx_l2_first_gpa(struct kvm_vcpu *vcpu, u64 la, gpa_t *gpa)
{
	u64 cr3 = kvm_read_cr3(vcpu);
	u64 pdpte;

	if (!is_paging(vcpu)) {
		*gpa = la;
	} else if (is_long_mode(vcpu)) {
		*gpa = (cr3 & NVMX_EPT_ADDR_MASK) + sizeof(u64) *
		       ((la >> (kvm_read_cr4_bits(vcpu, X86_CR4_LA57) ? 48 : 39)) &
			0x1ff);
	} else if (is_pae(vcpu)) {
		pdpte = kvm_pdptr_read(vcpu, (la >> 30) & 3);
		if (!(pdpte & PT_PRESENT_MASK))
			return false;
		*gpa = (pdpte & NVMX_EPT_ADDR_MASK) +
		       sizeof(u64) * ((la >> 21) & 0x1ff);
	} else {
		*gpa = (cr3 & 0xfffff000ull) + sizeof(u32) * ((la >> 22) & 0x3ff);
	}
	return true;
}

/*
 * The linear address L2 accesses first: the IDT gate of @event, the
 * IDT-vectoring information of the event being delivered (SDM 6.10,
 * 6.14.1, 20.1.4: 16-, 8- or 4-byte gates), else the instruction at CS:RIP.
 */
static u64 nvmx_l2_first_la(struct kvm_vcpu *vcpu, u32 event)
{
	struct kvm_segment cs;
	u64 la;

	if (event & INTR_INFO_VALID_MASK) {
		la = vmcs_readl(GUEST_IDTR_BASE) +
		     (event & INTR_INFO_VECTOR_MASK) *
		     (is_long_mode(vcpu) ? 16 : is_protmode(vcpu) ? 8 : 4);
		return is_long_mode(vcpu) ? la : (u32)la;
	}
	if (is_64_bit_mode(vcpu))
		return kvm_rip_read(vcpu);
	vmx_get_segment(vcpu, &cs, VCPU_SREG_CS);
	return (u32)(cs.base + kvm_rip_read(vcpu));
}

/*
 * The event L2 is delivering, as IDT-vectoring information: the one the
 * pending VM entry injects (vmcs02's VM-entry interruption information,
 * from vmcs12's: its interruption type exactly, SDM 27.2.4), taken out of
 * vmcs02, else the one KVM's queue holds (L2 was running).  Its error
 * code, and the length of a software event's instruction (SDM 27.2.5), go
 * into @info.  None while KVM has an exception of its own pending for L2.
 */
static u32 nvmx_l2_event(struct kvm_vcpu *vcpu, struct nvmx_exit_info *info)
{
	u32 event = vmcs_read32(VM_ENTRY_INTR_INFO_FIELD);
	u32 type = event & INTR_INFO_INTR_TYPE_MASK;

	if (vcpu->arch.exception.pending ||
	    vcpu->arch.exception_vmexit.pending ||
	    kvm_test_request(KVM_REQ_TRIPLE_FAULT, vcpu))
		return 0;
	if (!(event & INTR_INFO_VALID_MASK))
		return nvmx_queued_event(vcpu, &info->idt_error_code,
					 &info->insn_len);

	vmcs_write32(VM_ENTRY_INTR_INFO_FIELD, 0);
	info->idt_error_code = vmcs_read32(VM_ENTRY_EXCEPTION_ERROR_CODE);
	if (type == INTR_TYPE_SOFT_INTR || type == INTR_TYPE_SOFT_EXCEPTION ||
	    type == INTR_TYPE_PRIV_SW_EXCEPTION)
		info->insn_len = vmcs_read32(VM_ENTRY_INSTRUCTION_LEN);
	return event;
}

/*
 * L2 raises hardware exception @vector (@error_code; @payload: CR2 for
 * #PF, the debug exceptions for #DB) before it reaches memory: an exit to
 * L1 if L1 intercepts it (SDM 25.2; the payload is the exit qualification,
 * 27.2.1, CR2 and DR6 unchanged), else L2 delivers it (CR2 or DR6 loaded
 * first, SDM 4.7, 17.2.3) and *@event becomes it.  True for the exit.
 */
static bool nvmx_l2_raise(struct kvm_vcpu *vcpu, struct nvmx_exit_info *info,
			  u32 *event, u8 vector, u32 error_code, u64 payload)
{
	struct kvm_queued_exception ex = {
		.vector = vector,
		.has_payload = true,
		.payload = payload,
	};
	u32 intr = INTR_INFO_VALID_MASK | INTR_TYPE_HARD_EXCEPTION | vector;

	if (vector == PF_VECTOR || vector == DF_VECTOR)
		intr |= INTR_INFO_DELIVER_CODE_MASK;
	if (nested_vmx_l1_wants_exception(get_vmcs12(vcpu), vector,
					  error_code)) {
		info->reason = EXIT_REASON_EXCEPTION_NMI;
		info->intr_info = intr;
		info->error_code = error_code;
		info->qual = payload;
		return true;
	}
	kvm_deliver_exception_payload(vcpu, &ex);
	*event = intr;
	info->idt_error_code = error_code;
	return false;
}

static bool nvmx_is_hw_exception(u32 event, u8 vector)
{
	return (event & (INTR_INFO_VALID_MASK | INTR_INFO_INTR_TYPE_MASK |
			 INTR_INFO_VECTOR_MASK)) ==
	       (INTR_INFO_VALID_MASK | INTR_TYPE_HARD_EXCEPTION | vector);
}

/*
 * SDM 26.7: with no event injected, the exits VM entry induces before L2's
 * first access, in the order of Table 6-2: a TPR below the threshold
 * (26.7.7, with "virtualize APIC accesses": without it the entry failed,
 * 26.2.1.1), then a pending debug exception (26.7.3: unless blocked by MOV
 * SS; an exit if L1 intercepts #DB, else L2 delivers it), then the
 * VMX-preemption timer's exit for a count of 0 (26.7.4), then the
 * NMI-window (26.7.6) and interrupt-window (26.7.5) exits.  MTF is not
 * offered to L1.  True when one of them is the exit.
 */
static bool nvmx_entry_induced_exit(struct kvm_vcpu *vcpu,
				    struct nvmx_exit_info *info, u32 *event)
{
	struct vcpu_vmx *vmx = to_vmx(vcpu);
	struct vmcs12 *vmcs12 = get_vmcs12(vcpu);
	void *vapic = vmx->nested.virtual_apic_map.hva;
	u64 dbg = vmcs_readl(GUEST_PENDING_DBG_EXCEPTIONS);

	if (vapic && nested_cpu_has(vmcs12, CPU_BASED_TPR_SHADOW) &&
	    !nested_cpu_has2(vmcs12, SECONDARY_EXEC_VIRTUAL_INTR_DELIVERY) &&
	    nested_vmx_vtpr_below_threshold(vmcs12, vapic)) {
		info->reason = EXIT_REASON_TPR_BELOW_THRESHOLD;
		return true;
	}
	if ((dbg & (DR6_BS | BIT(12))) &&
	    !(vmx_get_interrupt_shadow(vcpu) & KVM_X86_SHADOW_INT_MOV_SS)) {
		vmcs_writel(GUEST_PENDING_DBG_EXCEPTIONS, 0);
		return nvmx_l2_raise(vcpu, info, event, DB_VECTOR, 0,
				     dbg & (DR_TRAP_BITS | DR6_BS | DR6_RTM));
	}
	if (vmx->nested.preemption_timer_expired) {
		info->reason = EXIT_REASON_PREEMPTION_TIMER;
		return true;
	}
	if (nested_vmx_nmi_window_open(vcpu)) {
		info->reason = EXIT_REASON_NMI_WINDOW;
		return true;
	}
	if (nested_vmx_intr_window_open(vcpu)) {
		info->reason = EXIT_REASON_INTERRUPT_WINDOW;
		return true;
	}
	return false;
}

/*
 * L2's first memory access, delivering *@event if it is valid.  On an EPT
 * whose PML4 table is not memory it reads that table as all ones: an EPT
 * misconfiguration (SDM 28.2.3.1), exit qualification 0 and the access's
 * guest-physical address (27.2.1).  A PAE L2 may find the PDPTE for the
 * access not present first (SDM 4.4.1): a #PF (4.7: not present, a read;
 * an instruction fetch at CS:RIP, a supervisor access to the IDT), whose
 * delivery then reads its own gate.  A #PF while delivering a #PF is a
 * #DF, and any fault while delivering a #DF a triple fault (SDM 6.15,
 * Table 6-5); other events are followed by the #PF (handled serially).
 */
static void nvmx_l2_first_access(struct kvm_vcpu *vcpu,
				 struct nvmx_exit_info *info, u32 *event)
{
	u64 la;
	u32 pfec;

	for (;;) {
		la = nvmx_l2_first_la(vcpu, *event);
		if (nvmx_l2_first_gpa(vcpu, la, &info->gpa))
			return;
		if (nvmx_is_hw_exception(*event, DF_VECTOR)) {
			info->reason = EXIT_REASON_TRIPLE_FAULT;
			return;
		}
		if (nvmx_is_hw_exception(*event, PF_VECTOR)) {
			if (nvmx_l2_raise(vcpu, info, event, DF_VECTOR, 0, 0))
				return;
			continue;
		}
		pfec = 0;
		if (!(*event & INTR_INFO_VALID_MASK)) {
			if ((vcpu->arch.efer & EFER_NX) ||
			    kvm_read_cr4_bits(vcpu, X86_CR4_SMEP))
				pfec |= PFERR_FETCH_MASK;
			if (vmx_get_cpl(vcpu) == 3)
				pfec |= PFERR_USER_MASK;
		}
		if (nvmx_l2_raise(vcpu, info, event, PF_VECTOR, pfec, la))
			return;
	}
}

/*
 * L2 entered (or resumes) on an EPT whose PML4 table is outside L1's
 * memory (nested_vmx_ept_root_outside_memory()).  L0 does not run L2 for
 * it: kvm.ko's MMU has no root to run it on.  What the processor would do
 * up to L2's first memory access is done here: while the entry is pending
 * (a state restored with one pending included), the exits the entry
 * induces; then that access (nvmx_l2_first_access()).
 */
void nested_vmx_ept_root_exit(struct kvm_vcpu *vcpu)
{
	struct nvmx_exit_info info = { .reason = EXIT_REASON_EPT_MISCONFIG };
	u32 event = nvmx_l2_event(vcpu, &info);

	if ((event & INTR_INFO_VALID_MASK) ||
	    !to_vmx(vcpu)->nested.nested_run_pending ||
	    !nvmx_entry_induced_exit(vcpu, &info, &event))
		nvmx_l2_first_access(vcpu, &info, &event);
	info.idt_info = event;
	nested_vmx_exit_to_l1(vcpu, &info);
}

/*
 * SDM 25.2: a triple fault in L2 is always an exit to L1.  kvm.ko's MMU
 * also asks for one when L2's EPT PML4 table left L1's memory while L2
 * ran (a memslot was deleted) and no event check came first
 * (nested_vmx_check_events()): nested_vmx_ept_root_exit() says what L2
 * meets instead.
 */
void nested_vmx_triple_fault(struct kvm_vcpu *vcpu)
{
	kvm_clear_request(KVM_REQ_TRIPLE_FAULT, vcpu);
	if (nested_vmx_ept_root_outside_memory(vcpu) &&
	    !VALID_PAGE(vcpu->arch.guest_mmu.root.hpa)) {
		nested_vmx_ept_root_exit(vcpu);
		return;
	}
	nested_vmx_vmexit(vcpu, EXIT_REASON_TRIPLE_FAULT, 0, 0);
}
