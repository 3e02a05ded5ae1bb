// SPDX-License-Identifier: GPL-2.0
/*
 * nvmx: KVM_GET_NESTED_STATE and KVM_SET_NESTED_STATE, the VMX state of a
 * vCPU as a VMM saves, restores and migrates it (6.1's uapi: struct
 * kvm_nested_state, format KVM_STATE_NESTED_FORMAT_VMX; api.rst).
 *
 * The state is what L1 could observe of the virtual processor's VMX
 * operation (Intel SDM Vol. 3C, chapters 23-27), and nothing of L0's:
 *
 *   header  whether L1 is in VMX operation (the VMXON pointer) and has a
 *           current VMCS (its pointer), whether L2 runs (guest mode) and
 *           whether L1's VMLAUNCH or VMRESUME still has to enter it (run
 *           pending), and the VMX operation SMM put aside (SDM 32.14.1:
 *           SMM leaves VMX operation, RSM returns to it and to L2);
 *   vmcs12  the current VMCS, with everything nvmx keeps elsewhere folded
 *           in: the fields L1 wrote in vmcs01's shadow VMCS, the guest
 *           state the last exit left in vmcs02, and, while L2 runs, L2's
 *           state as an exit would save it;
 *   shadow  the shadow VMCS vmcs12's link pointer names for L2's VMREAD
 *           and VMWRITE (SDM 24.10), a copy of L1's memory there: nvmx
 *           keeps none of its own, a VMM restoring the state may have
 *           come from a module that did.
 *
 * L2's events (queued, injected, an NMI or SMI pending) are the vCPU's,
 * saved by KVM_GET_VCPU_EVENTS: the state carries only the event vmcs12
 * asks the entry to inject, while that entry is pending.
 *
 * KVM_SET_NESTED_STATE checks all of it before it changes anything, so a
 * state it refuses (-EINVAL) leaves the vCPU as it was.  A state it takes
 * replaces the vCPU's VMX operation, L2 included, without the VM exit L1
 * would see: the vCPU's registers stay as they are, whether the VMM set
 * them before or sets them after.
 */

#include <linux/kvm_host.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include <asm/vmx.h>

#include "cpuid.h"
#include "kvm_cache_regs.h"
#include "x86.h"
#include "nested_internal.h"

/* The most a state can take: header, vmcs12 and a shadow VMCS. */
#define NVMX_STATE_MAX_SIZE	(sizeof(struct kvm_nested_state) +	\
				 sizeof(struct kvm_vmx_nested_state_data))

#define NVMX_SMM_FLAGS		(KVM_STATE_NESTED_SMM_GUEST_MODE |	\
				 KVM_STATE_NESTED_SMM_VMXON)

/* In VMX operation, or in SMM entered from it. */
static bool nested_vmx_in_operation(struct vcpu_vmx *vmx)
{
	return vmx->nested.vmxon || vmx->nested.smm.vmxon;
}

/*
 * SDM 24.10: @vmcs12 names a shadow VMCS for L2's VMREAD and VMWRITE.
 * (~0 names none, whatever the control says, SDM 26.3.1.5.)
 */
static bool nvmx_names_shadow_vmcs(struct vmcs12 *vmcs12)
{
	return nested_cpu_has2(vmcs12, SECONDARY_EXEC_SHADOW_VMCS) &&
	       vmcs12->vmcs_link_pointer != INVALID_GPA;
}

/* KVM_GET_NESTED_STATE */

/*
 * Everything of vmcs12 that nvmx keeps elsewhere.  L1's writes to vmcs01's
 * shadow VMCS, unless an exit has written vmcs12 since (the shadow VMCS is
 * then the older copy, synced before L1 runs); in guest mode vmcs12 took
 * them at VMLAUNCH or VMRESUME.  Likewise everything L1 wrote in its
 * enlightened VMCS (TLFS), whatever its clean fields say: they describe
 * the changes to a VM entry, not to a saved state.  Then L2's state: in
 * vmcs02 since the last
 * exit, or, while L2 runs, where an exit would take it from.  A pending
 * entry has not started L2 yet: vmcs12 is its input as it stands, but for
 * the state the entry left in vmcs02 rather than load it.
 */
static void nested_vmx_fold_into_vmcs12(struct kvm_vcpu *vcpu)
{
	struct vcpu_vmx *vmx = to_vmx(vcpu);

	if (!is_guest_mode(vcpu)) {
		if (!vmx->nested.need_vmcs12_to_shadow_sync) {
			nested_vmx_shadow_read_back(vmx);
			if (nested_evmcs_mapped(vmx))
				nested_evmcs_copy_all_to_vmcs12(vcpu);
		}
		nested_vmx_save_vmcs02_state(vcpu);
	} else if (!vmx->nested.nested_run_pending) {
		nested_vmx_save_l2_state_in_place(vcpu);
	} else {
		nested_vmx_save_vmcs02_state_pending(vcpu);
	}
}

/*
 * L1's shadow VMCS for L2 (SDM 24.10), as L1's memory holds it: a page of
 * its own, or NULL when vmcs12 names none or no memory is there (the state
 * then has no shadow VMCS).  An ERR_PTR when KVM has no memory for it.
 * L1's memory is the VM's outside SMM, also while the vCPU is in SMM
 * (whose address space may hold SMRAM alone).
 */
static void *nested_vmx_read_shadow_vmcs(struct kvm_vcpu *vcpu)
{
	struct vmcs12 *vmcs12 = get_vmcs12(vcpu);
	void *page;
	int idx, r;

	if (!nvmx_names_shadow_vmcs(vmcs12))
		return NULL;
	page = kmalloc(VMCS12_SIZE, GFP_KERNEL_ACCOUNT);
	if (!page)
		return ERR_PTR(-ENOMEM);
	/* x86.c holds kvm->srcu for KVM_SET_NESTED_STATE, not for GET */
	idx = srcu_read_lock(&vcpu->kvm->srcu);
	r = kvm_read_guest(vcpu->kvm, vmcs12->vmcs_link_pointer, page,
			   VMCS12_SIZE);
	srcu_read_unlock(&vcpu->kvm->srcu, idx);
	if (r) {
		kfree(page);
		return NULL;
	}
	return page;
}

/* The header of a vCPU in VMX operation (or in SMM entered from it). */
static void nested_vmx_state_header(struct kvm_vcpu *vcpu,
				    struct kvm_nested_state *kvm_state)
{
	struct vcpu_vmx *vmx = to_vmx(vcpu);
	struct kvm_vmx_nested_state_hdr *hdr = &kvm_state->hdr.vmx;

	hdr->vmxon_pa = vmx->nested.vmxon_ptr;
	hdr->vmcs12_pa = vmx->nested.current_vmptr;
	/* The current VMCS is an eVMCS, found through the VP assist page */
	if (vmx->nested.hv_evmcs_vmptr != EVMPTR_INVALID)
		kvm_state->flags |= KVM_STATE_NESTED_EVMCS;
	if (is_guest_mode(vcpu))
		kvm_state->flags |= KVM_STATE_NESTED_GUEST_MODE;
	if (vmx->nested.nested_run_pending)
		kvm_state->flags |= KVM_STATE_NESTED_RUN_PENDING;
	if (vmx->nested.smm.vmxon)
		hdr->smm.flags |= KVM_STATE_NESTED_SMM_VMXON;
	if (vmx->nested.smm.guest_mode)
		hdr->smm.flags |= KVM_STATE_NESTED_SMM_GUEST_MODE;
	/* L2's timer: when its count ends, in L1's TSC >> rate (nested_timer.c) */
	if (is_guest_mode(vcpu) && vmx->nested.has_preemption_timer_deadline) {
		hdr->flags |= KVM_STATE_VMX_PREEMPTION_TIMER_DEADLINE;
		hdr->preemption_timer_deadline =
			vmx->nested.preemption_timer_deadline;
	}
}

static int nested_vmx_copy_state_out(struct kvm_nested_state __user *user,
				     struct kvm_nested_state *kvm_state,
				     struct vmcs12 *vmcs12, void *shadow)
{
	struct kvm_vmx_nested_state_data __user *data = user->data.vmx;

	if (copy_to_user(user, kvm_state, sizeof(*kvm_state)) ||
	    (vmcs12 && copy_to_user(data->vmcs12, vmcs12, VMCS12_SIZE)) ||
	    (shadow && copy_to_user(data->shadow_vmcs12, shadow, VMCS12_SIZE)))
		return -EFAULT;
	return 0;
}

/*
 * kvm_x86_nested_ops.get_state: the size the state takes (the most it can
 * take without a vCPU, for KVM_CAP_NESTED_STATE), after copying it out if
 * @user_data_size holds it; x86.c turns a larger size into -E2BIG.
 */
int nested_vmx_get_state(struct kvm_vcpu *vcpu,
			 struct kvm_nested_state __user *user_kvm_nested_state,
			 unsigned int user_data_size)
{
	struct kvm_nested_state kvm_state = {
		.format = KVM_STATE_NESTED_FORMAT_VMX,
		.size = sizeof(kvm_state),
		.hdr.vmx.vmxon_pa = INVALID_GPA,
		.hdr.vmx.vmcs12_pa = INVALID_GPA,
	};
	struct vmcs12 *vmcs12 = NULL;
	void *shadow = NULL;
	int ret;

	if (!vcpu)
		return NVMX_STATE_MAX_SIZE;

	/* L1's eVMCS is read below: where L1's memory has it now */
	if (!is_guest_mode(vcpu))
		nested_evmcs_refresh(vcpu);
	if (nested_vmx_in_operation(to_vmx(vcpu)))
		nested_vmx_state_header(vcpu, &kvm_state);
	if (nested_vmx_in_operation(to_vmx(vcpu)) &&
	    vmx_has_valid_vmcs12(vcpu)) {
		nested_vmx_fold_into_vmcs12(vcpu);
		vmcs12 = get_vmcs12(vcpu);
		kvm_state.size += VMCS12_SIZE;
		shadow = nested_vmx_read_shadow_vmcs(vcpu);
		if (IS_ERR(shadow))
			return PTR_ERR(shadow);
		if (shadow)
			kvm_state.size += VMCS12_SIZE;
	}

	ret = kvm_state.size;
	if (user_data_size >= kvm_state.size &&
	    nested_vmx_copy_state_out(user_kvm_nested_state, &kvm_state,
				      vmcs12, shadow))
		ret = -EFAULT;
	kfree(shadow);
	return ret;
}

/* KVM_SET_NESTED_STATE: the checks */

/*
 * The VMXON region and the current VMCS: 4-KByte aligned within the
 * physical-address width (SDM 30.3, VMXON and VMPTRLD), and in L1's
 * memory, where L0 writes vmcs12 back: the VM's memory outside SMM, also
 * for a vCPU in SMM.
 */
static bool nvmx_region_addr_ok(struct kvm_vcpu *vcpu, gpa_t gpa)
{
	return page_address_valid(vcpu, gpa) &&
	       kvm_is_visible_gfn(vcpu->kvm, gpa_to_gfn(gpa));
}

/*
 * SMM puts VMX operation aside while the vCPU is in SMM (vmx.c's
 * enter_smm: SDM 32.14.1 without the dual-monitor treatment), and never
 * starts it there (CR4.VMXE cannot be set in SMM): the SMM flags say so
 * exactly while the vCPU is in SMM (KVM_SET_VCPU_EVENTS), and L2 runs only
 * outside SMM.
 */
static bool nested_vmx_smm_flags_ok(struct kvm_vcpu *vcpu,
				    struct kvm_nested_state *kvm_state)
{
	u16 smm = kvm_state->hdr.vmx.smm.flags;

	if (smm & ~NVMX_SMM_FLAGS)
		return false;
	if (!is_smm(vcpu))
		return !smm;
	return (smm & KVM_STATE_NESTED_SMM_VMXON) &&
	       !(kvm_state->flags & KVM_STATE_NESTED_GUEST_MODE);
}

/* L2 runs in the state, or SMM was entered from it. */
static bool nvmx_state_in_l2(struct kvm_nested_state *kvm_state)
{
	return (kvm_state->flags & KVM_STATE_NESTED_GUEST_MODE) ||
	       (kvm_state->hdr.vmx.smm.flags & KVM_STATE_NESTED_SMM_GUEST_MODE);
}

/*
 * SDM 23.8: CR0 and CR4 in VMX root operation, as the vCPU has them now
 * (KVM_SET_SREGS).  CR4.VMXE is not required: 6.1's uapi has a VMM
 * restore VMX operation whatever order it sets the registers in
 * (vmx_set_nested_state_test restores it on a vCPU whose CR4.VMXE is 0);
 * with it set, vmx.c keeps L1 from clearing it.  In guest mode and in SMM
 * the registers are L2's or the SMM handler's: L1's are vmcs12's host
 * state, or in SMRAM.
 */
static bool nested_vmx_root_crs_ok(struct kvm_vcpu *vcpu)
{
	struct nested_vmx_msrs *msrs = &to_vmx(vcpu)->nested.msrs;

	return nested_host_cr0_valid(vcpu, kvm_read_cr0(vcpu)) &&
	       nested_cr_fixed_bits_ok(kvm_read_cr4(vcpu),
				       msrs->cr4_fixed0 & ~X86_CR4_VMXE,
				       msrs->cr4_fixed1);
}

/*
 * The state says that L1's current VMCS is an eVMCS, which the VP assist
 * page names: the eVMCS flag in VMX operation with vmcs12_pa ~0.  With a
 * vmcs12_pa the flag keeps its old meaning, "the VMM enabled the eVMCS",
 * which 6.1's uapi still accepts (as outside VMX operation): the state's
 * VMCS is then a normal one at vmcs12_pa, as the stock module takes it.
 */
static bool nvmx_state_evmcs_current(struct kvm_nested_state *kvm_state)
{
	return (kvm_state->flags & KVM_STATE_NESTED_EVMCS) &&
	       kvm_state->hdr.vmx.vmxon_pa != INVALID_GPA &&
	       kvm_state->hdr.vmx.vmcs12_pa == INVALID_GPA;
}

/*
 * The header, before any data is read.  Flags x86.c let through that nvmx
 * does not offer are refused: a pending MTF exit (L1 has no monitor trap
 * flag), SVM's GIF, and any VMX header flag but the preemption-timer
 * deadline, which only an L2 with the timer offered has.  The eVMCS flag
 * only where the VMM enabled the enlightened VMCS
 * (KVM_CAP_HYPERV_ENLIGHTENED_VMCS); a current eVMCS only where L1 can
 * have had one: Hyper-V's CPUID, without which VMLAUNCH and VMRESUME never
 * look at the VP assist page.
 */
static int nested_vmx_check_state_header(struct kvm_vcpu *vcpu,
					 struct kvm_nested_state *kvm_state)
{
	struct kvm_vmx_nested_state_hdr *hdr = &kvm_state->hdr.vmx;
	bool evmcs = nvmx_state_evmcs_current(kvm_state);
	bool in_l2 = nvmx_state_in_l2(kvm_state);

	if (kvm_state->format != KVM_STATE_NESTED_FORMAT_VMX ||
	    (kvm_state->flags & ~(KVM_STATE_NESTED_GUEST_MODE |
				  KVM_STATE_NESTED_RUN_PENDING |
				  KVM_STATE_NESTED_EVMCS)) ||
	    (hdr->flags & ~KVM_STATE_VMX_PREEMPTION_TIMER_DEADLINE))
		return -EINVAL;
	if ((hdr->flags & KVM_STATE_VMX_PREEMPTION_TIMER_DEADLINE) &&
	    (!(kvm_state->flags & KVM_STATE_NESTED_GUEST_MODE) ||
	     !(to_vmx(vcpu)->nested.msrs.pinbased_ctls_high &
	       PIN_BASED_VMX_PREEMPTION_TIMER)))
		return -EINVAL;
	if ((kvm_state->flags & KVM_STATE_NESTED_EVMCS) &&
	    (!nested_vmx_allowed(vcpu) ||
	     !to_vmx(vcpu)->nested.enlightened_vmcs_enabled))
		return -EINVAL;

	/*
	 * Outside VMX operation: nothing else may be set but the eVMCS flag,
	 * which 6.1's uapi accepts there (it once meant "eVMCS enabled").
	 */
	if (hdr->vmxon_pa == INVALID_GPA)
		return (hdr->vmcs12_pa != INVALID_GPA ||
			(kvm_state->flags & ~KVM_STATE_NESTED_EVMCS) ||
			hdr->smm.flags) ? -EINVAL : 0;

	if (!nested_vmx_allowed(vcpu) ||
	    !nvmx_region_addr_ok(vcpu, hdr->vmxon_pa) ||
	    !nested_vmx_smm_flags_ok(vcpu, kvm_state))
		return -EINVAL;

	if (hdr->vmcs12_pa == INVALID_GPA) {
		if (evmcs ? (kvm_state->size < sizeof(*kvm_state) + VMCS12_SIZE ||
			     !guest_cpuid_has_evmcs(vcpu)) : in_l2)
			return -EINVAL;
	} else if (!nvmx_region_addr_ok(vcpu, hdr->vmcs12_pa) ||
		   hdr->vmcs12_pa == hdr->vmxon_pa ||
		   kvm_state->size < sizeof(*kvm_state) + VMCS12_SIZE) {
		return -EINVAL;
	}

	if (!in_l2 && !is_smm(vcpu) && !nested_vmx_root_crs_ok(vcpu))
		return -EINVAL;
	return 0;
}

/* The VMCSs of a state being set, copied from userspace. */
struct nvmx_state_vmcs {
	struct vmcs12 *vmcs12;
	struct vmcs12 *shadow;	/* NULL: the state has no shadow VMCS */
};

static void nvmx_state_vmcs_free(struct nvmx_state_vmcs *v)
{
	kfree(v->vmcs12);
	kfree(v->shadow);
}

/*
 * vmcs12 and, when vmcs12 names one and the state is large enough to hold
 * it, the shadow VMCS.  Whatever else follows in the user's buffer is not
 * the state's.
 */
static int nvmx_state_vmcs_copy_in(struct kvm_nested_state __user *user,
				   struct kvm_nested_state *kvm_state,
				   struct nvmx_state_vmcs *v)
{
	struct kvm_vmx_nested_state_data __user *data = user->data.vmx;
	struct vmcs12 *copy;

	copy = memdup_user(data->vmcs12, VMCS12_SIZE);
	if (IS_ERR(copy))
		return PTR_ERR(copy);
	v->vmcs12 = copy;

	if (!nvmx_names_shadow_vmcs(v->vmcs12) ||
	    kvm_state->size < NVMX_STATE_MAX_SIZE)
		return 0;
	copy = memdup_user(data->shadow_vmcs12, VMCS12_SIZE);
	if (IS_ERR(copy))
		return PTR_ERR(copy);
	v->shadow = copy;
	return 0;
}

/*
 * The header of the VMCS vmcs12's link pointer names (SDM 26.3.1.5): the
 * state's shadow VMCS, which a state with VMCS shadowing must carry, or,
 * without shadowing, L1's memory there (the state carries no such VMCS).
 * NULL when it is not there.  x86.c holds kvm->srcu for
 * KVM_SET_NESTED_STATE.
 */
static const struct vmcs_hdr *nvmx_state_link_hdr(struct kvm_vcpu *vcpu,
						  struct nvmx_state_vmcs *v,
						  struct vmcs_hdr *hdr)
{
	gpa_t link = v->vmcs12->vmcs_link_pointer;

	if (nvmx_names_shadow_vmcs(v->vmcs12))
		return v->shadow ? &v->shadow->hdr : NULL;
	if (link == INVALID_GPA ||
	    kvm_read_guest(vcpu->kvm, link, hdr, sizeof(*hdr)))
		return NULL;
	return hdr;
}

/*
 * A pending entry into an inactive state.  Into HLT only one that leaves
 * L2 halted after the entry's event or the window it opens (SDM 26.6.2,
 * 26.7.5, 26.7.6).  nvmx's VMLAUNCH and VMRESUME halt L2 at once
 * otherwise; the stock module leaves the entry pending when a window exit
 * comes first.  None into the wait-for-SIPI state, which they always
 * enter at once, nor into the shutdown state but a vectoring one, which
 * leaves L2 active (26.6.2).
 */
static bool nvmx_pending_entry_activity_ok(struct vmcs12 *vmcs12)
{
	u32 exec = vmcs12->cpu_based_vm_exec_control;

	if (vmcs12->guest_activity_state == GUEST_ACTIVITY_WAIT_SIPI)
		return false;
	if (vmcs12->guest_activity_state == GUEST_ACTIVITY_SHUTDOWN)
		return vmcs12->vm_entry_intr_info_field & INTR_INFO_VALID_MASK;
	return vmcs12->guest_activity_state != GUEST_ACTIVITY_HLT ||
	       (vmcs12->vm_entry_intr_info_field & INTR_INFO_VALID_MASK) ||
	       (exec & CPU_BASED_NMI_WINDOW_EXITING) ||
	       ((exec & CPU_BASED_INTR_WINDOW_EXITING) &&
		(vmcs12->guest_rflags & X86_EFLAGS_IF));
}

/*
 * vmcs12 as the state has it.  Our revision identifier (SDM 24.2); the
 * shadow-VMCS indicator only where L1 is offered VMCS shadowing, and never
 * for L2's VMCS (SDM 26.1: VMLAUNCH and VMRESUME refuse a shadow VMCS).
 * With L2 running or SMM entered from it, every check of VM entry: the
 * entry is pending or happened.  Once it happened, the event vmcs12 had
 * injected is L2's past (see nested_vmx_save_l2_state_in_place()): a state
 * saved where it was still marked valid gets it cleared before the checks
 * that read it.  vmcs12's IA32_EFER is checked where an entry or RSM
 * will load it.
 */
static int nested_vmx_check_state_vmcs12(struct kvm_vcpu *vcpu,
					 struct kvm_nested_state *kvm_state,
					 struct nvmx_state_vmcs *v)
{
	u32 exec2 = to_vmx(vcpu)->nested.msrs.secondary_ctls_high;
	bool pending = kvm_state->flags & KVM_STATE_NESTED_RUN_PENDING;
	struct vmcs12 *vmcs12 = v->vmcs12;
	bool in_l2 = nvmx_state_in_l2(kvm_state);
	struct vmcs_hdr hdr;

	if (vmcs12->hdr.revision_id != VMCS12_REVISION)
		return -EINVAL;
	if (vmcs12->hdr.shadow_vmcs &&
	    (in_l2 || !(exec2 & SECONDARY_EXEC_SHADOW_VMCS)))
		return -EINVAL;
	if (!in_l2)
		return 0;

	if (guest_cpuid_has_evmcs(vcpu) &&
	    !nested_evmcs_vmcs12_controls_ok(vmcs12))
		return -EINVAL;
	if (!pending)
		vmcs12->vm_entry_intr_info_field &= ~INTR_INFO_VALID_MASK;
	else if (!nvmx_pending_entry_activity_ok(vmcs12))
		return -EINVAL;
	if (!nested_vmx_restored_l2_valid(vcpu, vmcs12,
					  kvm_state->hdr.vmx.vmcs12_pa,
					  nvmx_state_link_hdr(vcpu, v, &hdr),
					  pending || (kvm_state->hdr.vmx.smm.flags &
						      KVM_STATE_NESTED_SMM_GUEST_MODE)))
		return -EINVAL;
	return 0;
}

/* KVM_SET_NESTED_STATE: the change */

/*
 * L2 resumes as at RSM (nested_vmx_enter_non_root_mode() from vmcs12's
 * guest state, no checks: they were made), with the registers and MSRs
 * the vCPU holds; a pending entry instead loads those vmcs12's entry
 * controls say, and injects vmcs12's event, as VMLAUNCH or VMRESUME had
 * done when the state was saved (SDM 26.3.2, 26.6).  The checks cover
 * vmx.c's rule for what it runs without emulation (the segments), so
 * this does not fail; if vmx.c ever refuses more, the vCPU is left
 * outside VMX operation with the registers it had, a state the VMM can
 * set again.
 */
static int nested_vmx_resume_l2(struct kvm_vcpu *vcpu, bool run_pending)
{
	struct vcpu_vmx *vmx = to_vmx(vcpu);
	struct nvmx_vcpu_regs regs;

	nested_vmx_save_vcpu_regs(vcpu, &regs);
	vmx->nested.nested_run_pending = run_pending;
	if (nested_vmx_enter_non_root_mode(vcpu, false) !=
	    NVMX_VMENTRY_SUCCESS) {
		vmx->nested.nested_run_pending = 0;
		nested_vmx_load_vcpu_regs(vcpu, &regs);
		nested_vmx_discard_state(vcpu);
		return -EINVAL;
	}
	if (run_pending)
		nested_vmx_inject_event02(vmx, get_vmcs12(vcpu));
	return 0;
}

/*
 * Out of whatever VMX operation the vCPU had (nested_vmx_discard_state():
 * L2 left without L1's VM exit), into the state's: VMXON's structures,
 * vmcs12 current as after VMPTRLD, the shadow VMCS written where vmcs12's
 * link pointer names it in L1's memory (memory not there takes nothing,
 * as for L2's VMWRITE), SMM's or L2's part.
 */
static int nested_vmx_restore_state(struct kvm_vcpu *vcpu,
				    struct kvm_nested_state *kvm_state,
				    struct nvmx_state_vmcs *v)
{
	struct kvm_vmx_nested_state_hdr *hdr = &kvm_state->hdr.vmx;
	struct vcpu_vmx *vmx = to_vmx(vcpu);
	int ret;

	nested_vmx_discard_state(vcpu);
	ret = nested_vmx_enter_vmx_operation(vcpu, hdr->vmxon_pa);
	if (ret)
		return ret;

	if (v->vmcs12) {
		memcpy(get_vmcs12(vcpu), v->vmcs12, VMCS12_SIZE);
		if (nvmx_state_evmcs_current(kvm_state))
			nested_evmcs_restore(vcpu);
		else
			nested_vmx_make_vmcs12_current(vcpu, hdr->vmcs12_pa);
	}
	if (v->shadow)
		kvm_write_guest(vcpu->kvm, v->vmcs12->vmcs_link_pointer,
				v->shadow, VMCS12_SIZE);

	if (hdr->smm.flags & KVM_STATE_NESTED_SMM_VMXON) {
		vmx->nested.vmxon = false;
		vmx->nested.smm.vmxon = true;
		vmx->nested.smm.guest_mode =
			hdr->smm.flags & KVM_STATE_NESTED_SMM_GUEST_MODE;
		return 0;
	}
	if (!(kvm_state->flags & KVM_STATE_NESTED_GUEST_MODE))
		return 0;
	/* Without a deadline, L2's timer starts again from vmcs12's value */
	if (hdr->flags & KVM_STATE_VMX_PREEMPTION_TIMER_DEADLINE) {
		vmx->nested.preemption_timer_deadline =
			hdr->preemption_timer_deadline;
		vmx->nested.has_preemption_timer_deadline = true;
	}
	return nested_vmx_resume_l2(vcpu, kvm_state->flags &
				    KVM_STATE_NESTED_RUN_PENDING);
}

/*
 * kvm_x86_nested_ops.set_state; x86.c has checked the size against the
 * header's and that RUN_PENDING comes with GUEST_MODE.
 */
int nested_vmx_set_state(struct kvm_vcpu *vcpu,
			 struct kvm_nested_state __user *user_kvm_nested_state,
			 struct kvm_nested_state *kvm_state)
{
	struct nvmx_state_vmcs v = {};
	int ret;

	ret = nested_vmx_check_state_header(vcpu, kvm_state);
	if (ret)
		return ret;
	if (kvm_state->hdr.vmx.vmxon_pa == INVALID_GPA) {
		nested_vmx_discard_state(vcpu);
		return 0;
	}

	if (kvm_state->hdr.vmx.vmcs12_pa != INVALID_GPA ||
	    nvmx_state_evmcs_current(kvm_state)) {
		ret = nvmx_state_vmcs_copy_in(user_kvm_nested_state, kvm_state,
					      &v);
		if (!ret)
			ret = nested_vmx_check_state_vmcs12(vcpu, kvm_state,
							    &v);
	}
	if (!ret)
		ret = nested_vmx_restore_state(vcpu, kvm_state, &v);
	nvmx_state_vmcs_free(&v);
	return ret;
}

/*
 * kvm_x86_nested_ops.get_nested_state_pages, asked for when L2 resumes
 * without an entry (RSM, KVM_SET_NESTED_STATE), before L2 runs, and when
 * KVM_SET_NESTED_STATE restored an eVMCS: the eVMCS page the VP assist page
 * names (nested_evmcs_map_restored()); L2's PAE PDPTEs without EPT, from
 * L1's memory at L2's CR3 (SDM 4.4.1), unless the VMM set them
 * (KVM_SET_SREGS2) or SMRAM's CR3 reloaded them; vmcs02's APIC pages
 * (nested_vmx_map_apic_pages()), and with them a notification the
 * descriptor says is outstanding (nested_vmx_pi_outstanding_to_irr()).
 * Pages the memory no longer gives are the VMM's error: KVM_RUN ends with
 * an internal error, as for L1's own PDPTEs.  Without its APIC pages
 * vmcs02 must not run: asked for again, so that every later KVM_RUN fails
 * the same way until the VMM sets a state.  An EPT PML4 table that is not
 * in L1's memory is L1's: L2 exits to L1 before it runs
 * (nested_vmx_ept_root_exit()).
 */
bool nested_vmx_get_state_pages(struct kvm_vcpu *vcpu)
{
	bool evmcs_ok = nested_evmcs_map_restored(vcpu);
	bool l2;

	/* An EPT PML4 table outside L1's memory: L2 exits at once */
	if (evmcs_ok && nested_vmx_ept_root_outside_memory(vcpu))
		nested_vmx_ept_root_exit(vcpu);
	l2 = is_guest_mode(vcpu);
	if (evmcs_ok &&
	    (!l2 || nested_cpu_has_ept(get_vmcs12(vcpu)) ||
	     !is_pae_paging(vcpu) || vcpu->arch.pdptrs_from_userspace ||
	     load_pdptrs(vcpu, kvm_read_cr3(vcpu))) &&
	    (!l2 || nested_vmx_map_apic_pages(vcpu))) {
		if (l2)
			nested_vmx_pi_outstanding_to_irr(vcpu);
		return true;
	}

	if (l2 && nested_vmx_has_apic_pages(get_vmcs12(vcpu)))
		kvm_make_request(KVM_REQ_GET_NESTED_STATE_PAGES, vcpu);
	nested_vmx_report_missing_page(vcpu);
	return false;
}
