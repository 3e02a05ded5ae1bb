/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Declarations shared by nvmx's nested.c (VMX operation and instructions),
 * nested_entry.c (VM entry, SDM 26) and nested_exit.c (VM exit, SDM 27),
 * and by nothing else.  What the rest of kvm-intel uses is in nested.h.
 * Each file owns one section below.
 */
#ifndef __KVM_X86_VMX_NESTED_INTERNAL_H
#define __KVM_X86_VMX_NESTED_INTERNAL_H

#include <nvmx/cr_owner.h>

#include "nested.h"

/*
 * SDM A.6: IA32_VMX_MISC bit 7, activity state shutdown (6.1's asm/vmx.h
 * names bits 6 and 8 only).
 */
#define NVMX_MISC_ACTIVITY_SHUTDOWN	BIT(7)

/*
 * Rules both MSR lists share, VM entry's load list (SDM 26.4) and VM exit's
 * store and load lists (SDM 27.4, 27.6).
 */

/* The most entries a list may have: IA32_VMX_MISC bits 27:25 (SDM A.6). */
static inline u32 nested_vmx_max_msr_list(struct kvm_vcpu *vcpu)
{
	u32 misc = to_vmx(vcpu)->nested.msrs.misc_low;

	return (vmx_misc_max_msr(misc) + 1) * VMX_MISC_MSR_LIST_MULTIPLIER;
}

/*
 * MSRs an MSR-load list may not name: the FS/GS bases (loaded from the
 * segment fields), the x2APIC registers and the SMM monitor control.
 */
static inline bool nested_vmx_msr_load_forbidden(u32 index)
{
	return index == MSR_FS_BASE || index == MSR_GS_BASE ||
	       (index >> 8) == (APIC_BASE_MSR >> 8) ||
	       index == MSR_IA32_SMM_MONITOR_CTL;
}

/*
 * An MSR-load entry that fails before its WRMSR (SDM 26.4, 27.6): reserved
 * bits set, an MSR no load list may name, or one the VMM's MSR filter
 * (KVM_X86_SET_MSR_FILTER) keeps L1 from writing.  A list is L1's WRMSRs
 * done by the processor, so the filter applies as it does to WRMSR.
 */
static inline bool nested_vmx_msr_load_refused(struct kvm_vcpu *vcpu,
					       const struct vmx_msr_entry *e)
{
	return e->reserved || nested_vmx_msr_load_forbidden(e->index) ||
	       !kvm_msr_allowed(vcpu, e->index, KVM_MSR_FILTER_WRITE);
}

/*
 * Does L2 have TLB entries of its own (SDM 28.3.3.1)?  With "enable VPID"
 * in vmcs12 it runs on vpid02, apart from L1's; nested exits then
 * invalidate nothing, and entries only when the VPID changes.  Otherwise
 * it shares L1's, flushed by both.
 */
static inline bool nested_vmx_l2_tagged(struct kvm_vcpu *vcpu,
					struct vmcs12 *vmcs12)
{
	return nested_cpu_has_vpid(vmcs12) && to_vmx(vcpu)->nested.vpid02;
}

/*
 * One segment register of the current VMCS's guest state (SDM 24.4.1).
 * The fields are in the same order in each of the four groups of
 * encodings (selector, limit, access rights, base), one encoding step (2)
 * per register: ES, CS, SS, DS, FS, GS, LDTR, TR (@step 0 to 7).
 */
static inline void nvmx_vmcs_write_segment(int step, u16 sel, u32 limit,
					   u32 ar, u64 base)
{
	vmcs_write16(GUEST_ES_SELECTOR + 2 * step, sel);
	vmcs_write32(GUEST_ES_LIMIT + 2 * step, limit);
	vmcs_write32(GUEST_ES_AR_BYTES + 2 * step, ar);
	vmcs_writel(GUEST_ES_BASE + 2 * step, base);
}

/* A field of the current VMCS at its width. */
static inline u64 nvmx_vmcs_read(const struct nvmx_field *f)
{
	switch (f->width) {
	case NVMX_W16:
		return vmcs_read16(f->encoding);
	case NVMX_W32:
		return vmcs_read32(f->encoding);
	case NVMX_W64:
		return vmcs_read64(f->encoding);
	default:
		return vmcs_readl(f->encoding);
	}
}

static inline void nvmx_vmcs_write(const struct nvmx_field *f, u64 value)
{
	switch (f->width) {
	case NVMX_W16:
		vmcs_write16(f->encoding, value);
		break;
	case NVMX_W32:
		vmcs_write32(f->encoding, value);
		break;
	case NVMX_W64:
		vmcs_write64(f->encoding, value);
		break;
	default:
		vmcs_writel(f->encoding, value);
	}
}

/* nested.c */

/* vmcs01 shadows L1's current VMCS (SDM 24.10): see nested.c. */
static inline bool nested_vmx_shadowing(struct vcpu_vmx *vmx)
{
	return vmx->vmcs01.controls_shadow.secondary_exec &
	       SECONDARY_EXEC_SHADOW_VMCS;
}

/*
 * Before vmcs12 is read (VMLAUNCH, VMRESUME) or written to memory: the
 * fields L1 may have written in the shadow VMCS without a VM exit.
 */
void nested_vmx_shadow_read_back(struct vcpu_vmx *vmx);

/*
 * VMXON (SDM 30.3) once its checks passed, or a restored nested state:
 * L0's per-vCPU structures for VMX operation, the VMXON region at
 * @vmxon_ptr, no current VMCS.  -ENOMEM leaves the vCPU outside.
 */
int nested_vmx_enter_vmx_operation(struct kvm_vcpu *vcpu, gpa_t vmxon_ptr);

/*
 * KVM_SET_NESTED_STATE: out of whatever VMX operation the vCPU had, L2
 * left without a VM exit, the current VMCS not written back.
 */
void nested_vmx_discard_state(struct kvm_vcpu *vcpu);

/*
 * No current VMCS any more (VMPTRLD of another, VMCLEAR, VMXOFF, an eVMCS
 * made current): a normal one goes back to L1's memory; an eVMCS is there
 * already, every exit having written it.
 */
void nested_flush_vmcs12(struct kvm_vcpu *vcpu);

/*
 * The vmcs12 in KVM's cache becomes L1's current VMCS, at @vmptr (SDM
 * 24.1): read from there by VMPTRLD, or brought by a restored nested
 * state.  vmcs02 takes all of it at the next entry; vmcs01's shadow VMCS
 * takes the shadowed fields.
 */
void nested_vmx_make_vmcs12_current(struct kvm_vcpu *vcpu, gpa_t vmptr);

/*
 * Outcome of a VMX instruction (SDM 30.2), each skipping the instruction and
 * returning 1 for the exit handler: VMsucceed; VMfailInvalid, for the
 * failures the SDM reports without a VMCS to hold an error number;
 * nested_vmx_fail() is the SDM's VMfail(ErrorNumber): VMfailValid with the
 * error number when there is a current VMCS, else VMfailInvalid.
 */
int nested_vmx_succeed(struct kvm_vcpu *vcpu);
int nested_vmx_fail_invalid(struct kvm_vcpu *vcpu);
int nested_vmx_fail(struct kvm_vcpu *vcpu, u32 vm_instruction_error);

/* nested_entry.c */

/*
 * VMLAUNCH/VMRESUME after nested.c raised the faults (#UD, #GP): VMfail,
 * VM-entry failure exit, or L2 runs next (nested_run_pending).
 */
int nested_vmx_run(struct kvm_vcpu *vcpu, bool launch);

/*
 * Make @vmcs (&vmx->vmcs01 or &vmx->nested.vmcs02) the loaded VMCS.  The
 * caller must first read what vmx.c caches lazily from the VMCS being left
 * (kvm_rip_read, kvm_rsp_read, vmx_get_rflags, kvm_read_cr0/cr3/cr4, the
 * segments): afterwards those caches are empty and fill from @vmcs.  The
 * host-state cache and the autoload MSR counts follow the switch, and on
 * the way to vmcs01 the guest-owned CR0/CR4 bits (complement of vmcs01's
 * masks); TSC_OFFSET, PAT, DR7 and DEBUGCTL of @vmcs are the caller's.
 */
void nested_vmx_switch_vmcs(struct kvm_vcpu *vcpu, struct loaded_vmcs *vmcs);

/*
 * SDM 26.2.1.1: an EPTP VM entry accepts (INVEPT single-context refuses the
 * others, SDM 30.3).
 */
bool nested_vmx_eptp_valid(struct kvm_vcpu *vcpu, u64 eptp);

/*
 * L2's guest-physical space from vmcs12's EPTP, at VM entry and when EPTP
 * switching (SDM 25.5.5.3) has changed it: KVM's shadow EPT MMU takes the
 * EPTP's root and accessed/dirty setting.
 */
void nested_vmx_init_ept_mmu(struct kvm_vcpu *vcpu, struct vmcs12 *vmcs12);

/*
 * SDM 26.6: vmcs12's VM-entry event into vmcs02 (loaded), for the entry
 * about to happen.
 */
void nested_vmx_inject_event02(struct vcpu_vmx *vmx, struct vmcs12 *vmcs12);

/*
 * KVM_SET_NESTED_STATE into L2: the checks of SDM 26.2 and 26.3.1 on a
 * vmcs12 that would be current at @vmptr, @shadow the header of the VMCS
 * its link pointer names (NULL: none), @pending: the entry is still to
 * load vmcs12's guest state.
 */
bool nested_vmx_restored_l2_valid(struct kvm_vcpu *vcpu, struct vmcs12 *vmcs12,
				  gpa_t vmptr, const struct vmcs_hdr *shadow,
				  bool pending);

/* vmcs02 names pages of L1's memory for APIC virtualization (SDM 24.6.8) */
static inline bool nested_vmx_has_apic_pages(struct vmcs12 *vmcs12)
{
	return nested_cpu_has(vmcs12, CPU_BASED_TPR_SHADOW) ||
	       nested_cpu_has2(vmcs12, SECONDARY_EXEC_VIRTUALIZE_APIC_ACCESSES);
}

/*
 * SDM 26.2.1.1: with "use TPR shadow" and neither "virtualize APIC accesses"
 * nor virtual-interrupt delivery, bits 3:0 of the TPR threshold may not
 * exceed bits 7:4 of VTPR (byte 80H of the virtual-APIC page, @vapic).
 */
static inline bool nested_vmx_tpr_rule_applies(struct vmcs12 *vmcs12)
{
	return nested_cpu_has(vmcs12, CPU_BASED_TPR_SHADOW) &&
	       !nested_cpu_has2(vmcs12, SECONDARY_EXEC_VIRTUALIZE_APIC_ACCESSES) &&
	       !nested_cpu_has2(vmcs12, SECONDARY_EXEC_VIRTUAL_INTR_DELIVERY);
}

static inline bool nested_vmx_vtpr_below_threshold(struct vmcs12 *vmcs12,
						   const void *vapic)
{
	u8 vtpr = READ_ONCE(*((const u8 *)vapic + APIC_TASKPRI));

	return (vmcs12->tpr_threshold & 0xf) > vtpr >> 4;
}

/*
 * Those pages, for vmcs12 as it is current, with vmcs02 loaded: mapped
 * (false: memory does not back one, and none is), and released whenever L2
 * is left.
 */
bool nested_vmx_map_apic_pages(struct kvm_vcpu *vcpu);
/* One page of L1's memory at @gpa, mapped writable for the processor. */
int nested_vmx_map_l1_page(struct kvm_vcpu *vcpu, gpa_t gpa,
			   struct kvm_host_map *map);
void nested_vmx_release_apic_pages(struct kvm_vcpu *vcpu);
bool nested_vmx_pi_notification_to_irr(struct kvm_vcpu *vcpu, u16 nv);
void nested_vmx_pi_outstanding_to_irr(struct kvm_vcpu *vcpu);

/*
 * KVM_RUN ends with an internal error: a page vmcs02 must name is not in
 * L1's memory, where KVM cannot emulate what the processor would do.
 */
static inline void nested_vmx_report_missing_page(struct kvm_vcpu *vcpu)
{
	vcpu->run->exit_reason = KVM_EXIT_INTERNAL_ERROR;
	vcpu->run->internal.suberror = KVM_INTERNAL_ERROR_EMULATION;
	vcpu->run->internal.ndata = 0;
}

/* Back in vmcs01: L1's TSC offset and multiplier into KVM and vmcs01. */
void nested_vmx_restore_l1_tsc(struct kvm_vcpu *vcpu);

/*
 * The inputs of cr_owner.h's helpers for CR0 or CR4, right whether L1 or L2
 * runs: L1's mask and shadow from @vmcs12, L0's mask from vmcs01's.
 */
struct nvmx_cr nested_vmx_cr0_owners(struct kvm_vcpu *vcpu,
				     struct vmcs12 *vmcs12);
struct nvmx_cr nested_vmx_cr4_owners(struct kvm_vcpu *vcpu,
				     struct vmcs12 *vmcs12);

/* nested_exit.c */

/*
 * L2 in the shutdown state (SDM 24.4.2, 26.6.2).  L0 keeps it as it keeps
 * wait-for-SIPI, a vCPU in guest mode in KVM_MP_STATE_INIT_RECEIVED, which
 * x86.c does not run; vmcs12's activity state tells the two apart.  L1
 * writes it before the entry; an NMI or SMI that wakes L2 from shutdown
 * sets it active.  A vectoring entry in the shutdown state leaves it as L1
 * wrote it and the vCPU runnable (nested_vmx_enter_shutdown()): vmcs12
 * says shutdown with L2 active until L2's next exit saves its state.  A
 * VMM that puts the vCPU in KVM_MP_STATE_INIT_RECEIVED meanwhile (allowed
 * in guest mode) gets L2 in shutdown, not waiting for a SIPI; so does one
 * that sets a state saying shutdown with L2 running.
 */
static inline bool nested_vmx_l2_in_shutdown(struct kvm_vcpu *vcpu)
{
	return is_guest_mode(vcpu) &&
	       vcpu->arch.mp_state == KVM_MP_STATE_INIT_RECEIVED &&
	       get_vmcs12(vcpu)->guest_activity_state ==
	       GUEST_ACTIVITY_SHUTDOWN;
}

/*
 * After entering or leaving L2: KVM_REQ_EVENT if an event is waiting whose
 * destination the switch changed.
 */
void nested_vmx_request_event_if_pending(struct kvm_vcpu *vcpu);

/*
 * VM-entry failure during or after loading guest state (SDM 26.8): record
 * the basic exit reason with bit 31 set and the qualification in vmcs12 and
 * load L1's host state (SDM 27.5), as a VM exit would; called on vmcs01,
 * not in guest mode.
 */
void nested_vmx_entry_failure(struct kvm_vcpu *vcpu, struct vmcs12 *vmcs12,
			      u32 exit_reason, unsigned long exit_qual);

/* Leaving guest mode: the MMU L1's own paging runs on. */
void nested_vmx_restore_l1_mmu(struct kvm_vcpu *vcpu);

/*
 * The vCPU's registers that the VMM reads and sets (KVM_GET_REGS,
 * KVM_GET_SREGS2, KVM_GET_MSRS, KVM_GET_DEBUGREGS, KVM_GET_VCPU_EVENTS)
 * where they live in the loaded VMCS, or where KVM's view of them depends
 * on it (EFER's IA-32e entry control, PAT and DR7 in the VMCS, the MMU);
 * the rest is vcpu->arch's and follows any VMCS.
 */
struct nvmx_vcpu_regs {
	unsigned long rip, rsp, rflags, cr0, cr3, cr4, dr7;
	u64 efer, pat, debugctl, bndcfgs, pdptrs[4];
	struct {
		u16 sel;
		u32 limit, ar;
		unsigned long base;
	} segs[8];		/* as nvmx_vmcs_write_segment() numbers them */
	struct desc_ptr gdt, idt;
	u32 sysenter_cs, shadow;
	unsigned long sysenter_esp, sysenter_eip, pending_dbg;
	bool pae, nmi_masked;
};

void nested_vmx_save_vcpu_regs(struct kvm_vcpu *vcpu, struct nvmx_vcpu_regs *r);

/* Into the loaded VMCS (vmcs01), with the MMU reset for them. */
void nested_vmx_load_vcpu_regs(struct kvm_vcpu *vcpu,
			       const struct nvmx_vcpu_regs *r);

/*
 * KVM_SET_NESTED_STATE replaces the state of a vCPU in L2: out of L2 with
 * no VM exit, the vCPU's registers kept (see nested_exit.c).
 */
void nested_vmx_drop_l2(struct kvm_vcpu *vcpu);

/*
 * vmcs12's copy of the guest state that the last exit left in vmcs02
 * (NVMX_SYNC_VMCS02), before L0 reads it or L1 may; on vmcs01, not in
 * guest mode.
 */
void nested_vmx_save_vmcs02_state(struct kvm_vcpu *vcpu);

/*
 * In guest mode, vmcs02 current: L2's state into vmcs12 as an exit would
 * save it, without leaving L2 (KVM_GET_NESTED_STATE).
 */
void nested_vmx_save_l2_state_in_place(struct kvm_vcpu *vcpu);

/*
 * The same with the entry pending, or at the entry's checks: only what the
 * last exit left in vmcs02.
 */
void nested_vmx_save_vmcs02_state_pending(struct kvm_vcpu *vcpu);

/* The EPT PML4 table address (bits 51:12) of two EPTPs, SDM 28.3.1. */
static inline bool nvmx_ept_same_ep4ta(u64 a, u64 b)
{
	return !((a ^ b) & GENMASK_ULL(51, 12));
}

/*
 * KVM's shadow EPT MMU found no translation, or a forbidden one, in L1's
 * EPT for L2 (guest_mmu's inject_page_fault): an EPT violation or
 * misconfiguration exit to L1 (SDM 28.3.3).
 */
void nested_vmx_ept_inject_page_fault(struct kvm_vcpu *vcpu,
				      struct x86_exception *fault);

/*
 * L2's EPT PML4 table is not in L1's memory, and what L2 meets there: an
 * EPT misconfiguration at its first access (SDM 28.2.3.1), the exit to L1
 * that L0 makes instead of running L2.
 */
bool nvmx_ept_root_outside_memory(struct kvm_vcpu *vcpu, struct vmcs12 *vmcs12);
bool nested_vmx_ept_root_outside_memory(struct kvm_vcpu *vcpu);
void nested_vmx_ept_root_exit(struct kvm_vcpu *vcpu);

/*
 * The exit from L2 that L0 is handling, reflected to L1 as the processor
 * reported it in vmcs02 (SDM 27.2): for an exit L0 first tried to complete
 * for L2 itself (VMFUNC).
 */
void nested_vmx_reflect_hw_exit(struct kvm_vcpu *vcpu);

/*
 * nested_timer.c: L2's VMX-preemption timer, counting down each time this
 * bit of L1's TSC changes (IA32_VMX_MISC bits 4:0, SDM A.6); 5 as in 6.1.
 */
#define NVMX_PREEMPTION_TIMER_RATE	5
void nested_vmx_init_preemption_timer(struct vcpu_vmx *vmx);
void nested_vmx_start_preemption_timer(struct kvm_vcpu *vcpu,
				       struct vmcs12 *vmcs12, bool from_vmentry);
void nested_vmx_stop_preemption_timer(struct kvm_vcpu *vcpu,
				      bool keep_deadline);
u32 nested_vmx_preemption_timer_value(struct kvm_vcpu *vcpu);

/* Members of vmx_nested_ops (struct kvm_x86_nested_ops, kvm_host.h). */
bool nested_vmx_is_exception_vmexit(struct kvm_vcpu *vcpu, u8 vector,
				    u32 error_code);
int nested_vmx_check_events(struct kvm_vcpu *vcpu);
bool nested_vmx_has_events(struct kvm_vcpu *vcpu, bool for_injection);
void nested_vmx_triple_fault(struct kvm_vcpu *vcpu);

/* nested_evmcs.c: Hyper-V's enlightened VMCS (TLFS) for L1 */

/* An eVMCS is L1's current VMCS, mapped (not waiting for a restore). */
static inline bool nested_evmcs_mapped(struct vcpu_vmx *vmx)
{
	return evmptr_is_valid(vmx->nested.hv_evmcs_vmptr);
}

/* What VMLAUNCH/VMRESUME makes of the VP assist page (TLFS). */
enum nvmx_evmcs_status {
	NVMX_EVMCS_NONE,	/* no eVMCS: the normal current VMCS, if any */
	NVMX_EVMCS_CURRENT,	/* vmcs12 has taken what L1 changed in it */
	NVMX_EVMCS_VMFAIL,	/* not an eVMCS version: VMfailInvalid */
	NVMX_EVMCS_UD,		/* the page is not in L1's memory: #UD */
};

void __init nested_evmcs_setup_rows(void);
enum nvmx_evmcs_status nested_evmcs_vmentry(struct kvm_vcpu *vcpu,
					    bool launch);
void nested_evmcs_release(struct kvm_vcpu *vcpu);
void nested_evmcs_set_vm_instruction_error(struct vcpu_vmx *vmx, u32 error);
bool nested_evmcs_vmread(struct vcpu_vmx *vmx, unsigned long enc, u64 *value);
bool nested_evmcs_sync_from_vmcs12(struct kvm_vcpu *vcpu);
bool nested_evmcs_refresh(struct kvm_vcpu *vcpu);
void nested_evmcs_copy_all_to_vmcs12(struct kvm_vcpu *vcpu);
bool nested_evmcs_vmclear(struct kvm_vcpu *vcpu, gpa_t vmptr);
bool nested_evmcs_map_restored(struct kvm_vcpu *vcpu);

void nested_evmcs_restore(struct kvm_vcpu *vcpu);

/*
 * SDM 26.2.1 for an L1 offered the eVMCS (Hyper-V CPUID and the VMM's
 * KVM_CAP_HYPERV_ENLIGHTENED_VMCS), whichever VMCS it uses: no control the
 * eVMCS has no field for.  vmx.c hides them from the capability MSRs such
 * an L1 reads (evmcs.c's filter), so they are reserved for it, as with
 * the stock module.  evmcs.c's check warns about VM-function controls
 * above bit 31, which no VMCS has: refused first.
 */
static inline bool nested_evmcs_vmcs12_controls_ok(struct vmcs12 *vmcs12)
{
	return !(vmcs12->vm_function_control >> 32) &&
	       !nested_evmcs_check_controls(vmcs12);
}

/*
 * TLFS: with the enlightened MSR bitmap, the eVMCS's MSR-bitmap clean bit
 * covers the bitmap's contents too, so vmcs02's merged bitmap is kept
 * while it is set, unless vmx.c changed vmcs01's (force_msr_bitmap_recalc).
 */
static inline bool nested_evmcs_msr_bitmap_clean(struct vcpu_vmx *vmx)
{
	return nested_evmcs_mapped(vmx) &&
	       READ_ONCE(vmx->nested.hv_evmcs->hv_enlightenments_control).msr_bitmap &&
	       !vmx->nested.force_msr_bitmap_recalc;
}

/* nested_state.c: KVM_GET_NESTED_STATE and KVM_SET_NESTED_STATE. */
int nested_vmx_get_state(struct kvm_vcpu *vcpu,
			 struct kvm_nested_state __user *user_kvm_nested_state,
			 unsigned int user_data_size);
int nested_vmx_set_state(struct kvm_vcpu *vcpu,
			 struct kvm_nested_state __user *user_kvm_nested_state,
			 struct kvm_nested_state *kvm_state);
bool nested_vmx_get_state_pages(struct kvm_vcpu *vcpu);

#endif /* __KVM_X86_VMX_NESTED_INTERNAL_H */
