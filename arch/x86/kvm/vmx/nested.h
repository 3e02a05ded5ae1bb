/* SPDX-License-Identifier: GPL-2.0 */
/*
 * nvmx: what the rest of kvm-intel (vmx.c, sgx.c, evmcs.c) uses of nested
 * VMX.  The global functions are the seam with upstream vmx.c; the inline
 * queries read L1's view of the VMCS (vmcs12) and of the VMX capability
 * MSRs.  Written from the Intel SDM Vol. 3C.
 */
#ifndef __KVM_X86_VMX_NESTED_H
#define __KVM_X86_VMX_NESTED_H

#include "evmcs.h"		/* EVMPTR_INVALID */
#include "vmx.h"		/* struct nested_vmx, to_vmx() */
#include "vmcs12.h"

/*
 * Result of entering L2 (VMLAUNCH/VMRESUME, RSM, nested state): 0 when L2
 * is about to run, otherwise how the attempt ended.
 */
enum nvmx_vmentry_status {
	/* Guest state loaded, L2 runs next. */
	NVMX_VMENTRY_SUCCESS,
	/* VMfailValid: a control or host-state check failed (SDM 26.2). */
	NVMX_VMENTRY_VMFAIL,
	/* VM-entry failure, reported to L1 as a VM exit (SDM 26.8). */
	NVMX_VMENTRY_VMEXIT,
	/* KVM itself could not go on (e.g. out of memory). */
	NVMX_VMENTRY_KVM_INTERNAL_ERROR,
};

/* VMX operation, capability MSRs, setup and teardown (nested.c). */
typedef int (*nvmx_exit_handler_t)(struct kvm_vcpu *vcpu);

void nested_vmx_setup_ctls_msrs(struct vmcs_config *vmcs_conf, u32 ept_caps);
int nested_vmx_hardware_setup(nvmx_exit_handler_t exit_handlers[]);
void nested_vmx_hardware_unsetup(void);
int vmx_get_vmx_msr(struct nested_vmx_msrs *msrs, u32 msr_index, u64 *pdata);
int vmx_set_vmx_msr(struct kvm_vcpu *vcpu, u32 msr_index, u64 data);
void vmx_leave_nested(struct kvm_vcpu *vcpu);
void nested_vmx_free_vcpu(struct kvm_vcpu *vcpu);
int get_vmx_mem_address(struct kvm_vcpu *vcpu, unsigned long exit_qualification,
			u32 vmx_instruction_info, bool wr, int len, gva_t *ret);
void nested_vmx_set_vmcs_shadowing_bitmap(void);
void nested_sync_vmcs12_to_shadow(struct kvm_vcpu *vcpu);
void nested_mark_vmcs12_pages_dirty(struct kvm_vcpu *vcpu);

/* VM entry into L2 (nested_entry.c). */
enum nvmx_vmentry_status
nested_vmx_enter_non_root_mode(struct kvm_vcpu *vcpu, bool from_vmentry);

/* VM exit from L2 to L1 (nested_exit.c). */
bool nested_vmx_reflect_vmexit(struct kvm_vcpu *vcpu);
void nested_vmx_vmexit(struct kvm_vcpu *vcpu, u32 vm_exit_reason,
		       u32 exit_intr_info, unsigned long exit_qualification);
bool nested_vmx_check_io_bitmaps(struct kvm_vcpu *vcpu, unsigned int port,
				 int size);

extern struct kvm_x86_nested_ops vmx_nested_ops;

/* L1's current VMCS as KVM caches it; NULL while there is none. */
static inline struct vmcs12 *get_vmcs12(struct kvm_vcpu *vcpu)
{
	return to_vmx(vcpu)->nested.cached_vmcs12;
}

/*
 * SDM 24.1: does L1 have a current VMCS (current-VMCS pointer valid), or
 * an enlightened VMCS (Hyper-V TLFS), mapped or still to be mapped after
 * KVM_SET_NESTED_STATE (hv_evmcs_vmptr EVMPTR_MAP_PENDING)?
 */
static inline bool vmx_has_valid_vmcs12(struct kvm_vcpu *vcpu)
{
	struct vcpu_vmx *vmx = to_vmx(vcpu);

	return vmx->nested.current_vmptr != INVALID_GPA ||
	       vmx->nested.hv_evmcs_vmptr != EVMPTR_INVALID;
}

/*
 * Pin-based VM-execution controls (SDM 25.6.1): do external interrupts
 * and NMIs that arrive while L2 runs belong to L1?
 */
static inline bool nested_pin_based_has(struct kvm_vcpu *vcpu, u32 control)
{
	return get_vmcs12(vcpu)->pin_based_vm_exec_control & control;
}

static inline bool nested_exit_on_intr(struct kvm_vcpu *vcpu)
{
	return nested_pin_based_has(vcpu, PIN_BASED_EXT_INTR_MASK);
}

static inline bool nested_exit_on_nmi(struct kvm_vcpu *vcpu)
{
	return nested_pin_based_has(vcpu, PIN_BASED_NMI_EXITING);
}

/*
 * Primary processor-based VM-execution controls (SDM 25.6.2).
 */
static inline bool nested_cpu_has(struct vmcs12 *vmcs12, u32 bit)
{
	return vmcs12->cpu_based_vm_exec_control & bit;
}

static inline bool nested_cpu_has_mtf(struct vmcs12 *vmcs12)
{
	return nested_cpu_has(vmcs12, CPU_BASED_MONITOR_TRAP_FLAG);
}

/*
 * Secondary processor-based VM-execution controls (SDM 25.6.2): they count
 * only while the primary "activate secondary controls" bit is set.
 */
static inline bool nested_cpu_has2(struct vmcs12 *vmcs12, u32 bit)
{
	return nested_cpu_has(vmcs12, CPU_BASED_ACTIVATE_SECONDARY_CONTROLS) &&
	       (vmcs12->secondary_vm_exec_control & bit);
}

static inline bool nested_cpu_has_ept(struct vmcs12 *vmcs12)
{
	return nested_cpu_has2(vmcs12, SECONDARY_EXEC_ENABLE_EPT);
}

static inline bool nested_cpu_has_vpid(struct vmcs12 *vmcs12)
{
	return nested_cpu_has2(vmcs12, SECONDARY_EXEC_ENABLE_VPID);
}

static inline bool nested_cpu_has_encls_exit(struct vmcs12 *vmcs12)
{
	return nested_cpu_has2(vmcs12, SECONDARY_EXEC_ENCLS_EXITING);
}

/*
 * The VPID vmcs02 tags L2's translations with while vmcs12 enables VPID
 * (vmx.c asks only then): one of L0's own, allocated at VMXON, for every
 * VPID L1 gives its guests; L1's when none was left to allocate.
 */
static inline u16 nested_get_vpid02(struct kvm_vcpu *vcpu)
{
	struct vcpu_vmx *vmx = to_vmx(vcpu);

	return vmx->nested.vpid02 ? vmx->nested.vpid02 : vmx->vpid;
}

/* SDM 25.6.11: accessed/dirty flags enabled in the EPTP that L1 gave L2. */
static inline bool nested_ept_ad_enabled(struct kvm_vcpu *vcpu)
{
	struct vmcs12 *vmcs12 = get_vmcs12(vcpu);

	return nested_cpu_has_ept(vmcs12) &&
	       (vmcs12->ept_pointer & VMX_EPTP_AD_ENABLE_BIT);
}

/*
 * SDM A.7/A.8: a bit set in IA32_VMX_CRn_FIXED0 must be 1 in CRn, a bit
 * clear in IA32_VMX_CRn_FIXED1 must be 0, while in VMX operation.
 */
static inline bool nested_cr_fixed_bits_ok(u64 val, u64 fixed0, u64 fixed1)
{
	return (val & fixed0) == fixed0 && !(val & ~fixed1);
}

/* L1's CR0 (VMX root operation). */
static inline bool nested_host_cr0_valid(struct kvm_vcpu *vcpu,
					 unsigned long val)
{
	struct nested_vmx_msrs *msrs = &to_vmx(vcpu)->nested.msrs;

	return nested_cr_fixed_bits_ok(val, msrs->cr0_fixed0, msrs->cr0_fixed1);
}

/*
 * L2's CR0 under @vmcs12: SDM 26.3.1.1 exempts PE and PG from FIXED0 when
 * L1 runs L2 with "unrestricted guest".
 */
static inline bool nested_vmcs12_guest_cr0_valid(struct kvm_vcpu *vcpu,
						 struct vmcs12 *vmcs12,
						 unsigned long val)
{
	struct nested_vmx_msrs *msrs = &to_vmx(vcpu)->nested.msrs;
	u64 fixed0 = msrs->cr0_fixed0;

	if (nested_cpu_has2(vmcs12, SECONDARY_EXEC_UNRESTRICTED_GUEST))
		fixed0 &= ~(u64)(X86_CR0_PE | X86_CR0_PG);

	return nested_cr_fixed_bits_ok(val, fixed0, msrs->cr0_fixed1);
}

/* L2's CR0 under L1's current VMCS. */
static inline bool nested_guest_cr0_valid(struct kvm_vcpu *vcpu,
					  unsigned long val)
{
	return nested_vmcs12_guest_cr0_valid(vcpu, get_vmcs12(vcpu), val);
}

/* CR4 of L1 or L2: the same fixed bits apply to both. */
static inline bool nested_cr4_valid(struct kvm_vcpu *vcpu, unsigned long val)
{
	struct nested_vmx_msrs *msrs = &to_vmx(vcpu)->nested.msrs;

	return nested_cr_fixed_bits_ok(val, msrs->cr4_fixed0, msrs->cr4_fixed1);
}

#endif /* __KVM_X86_VMX_NESTED_H */
