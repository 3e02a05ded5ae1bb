// SPDX-License-Identifier: GPL-2.0
/*
 * nvmx: VM entry into L2 (Intel SDM Vol. 3C, chapter 26).
 *
 * VMLAUNCH/VMRESUME run the checks of SDM 26.2 on vmcs12 (VMfailValid when
 * they fail), the guest-state checks of SDM 26.3.1 that the processor cannot
 * make on vmcs02 because L0 rewrites the field (VM-entry failure exit), then
 * build vmcs02 from L0's own vmcs01 settings and L1's vmcs12, load L2's
 * state through KVM's setters, process the VM-entry MSR-load list (SDM 26.4)
 * and leave the actual entry to vmx.c's run loop (nested_run_pending).
 *
 * Without EPT in vmcs12, L2 runs in L1's guest-physical space on a root of
 * KVM's MMU tagged as L2's; with it, on KVM's shadow of L1's EPT.  Without
 * VPID in vmcs12, L2 runs with L1's VPID and the guest's TLB is flushed,
 * unsync'd shadow pages included, on every entry (and by nested_exit.c on
 * every exit); with it, on vpid02 (SDM 28.3.3.1).
 */

#include <linux/kvm_host.h>

#include <asm/vmx.h>

#include "cpuid.h"
#include "mmu.h"
#include "trace.h"
#include "x86.h"

#include "sgx.h"
#include "nested_internal.h"

/*
 * Every consistency check is written as the rule the SDM states, and goes
 * through this macro: when the rule does not hold, the kvm_nested_vmenter_failed
 * tracepoint carries the rule's own text, so a refused entry explains itself.
 */
#define nvmx_rule(rule) nvmx_rule_holds(!!(rule), "SDM rule broken: " #rule)

static __always_inline bool nvmx_rule_holds(bool holds, const char *text)
{
	if (unlikely(!holds))
		trace_kvm_nested_vmenter_failed(text, 0);
	return holds;
}

/* A control field obeys its capability MSR: allowed-0 and allowed-1 bits. */
static bool nvmx_ctls_allowed(u32 val, u32 must_be_1, u32 may_be_1)
{
	return (val & must_be_1) == must_be_1 && !(val & ~may_be_1);
}

/*
 * The must-be-1 settings of a control field: the TRUE MSR's (@low), and
 * the default1 class (@default1) when L1's IA32_VMX_BASIC bit 55 is 0 (a
 * VMM may clear it): then the non-TRUE MSRs, with every default1 control
 * fixed to 1, report the allowed settings (SDM A.2, A.3-A.5).
 */
static u32 nvmx_must_be_1(struct nested_vmx_msrs *msrs, u32 low, u32 default1)
{
	return (msrs->basic & VMX_BASIC_TRUE_CTLS) ? low : low | default1;
}

/* An address of a 4-KByte structure in L1's physical-address space. */
static bool nvmx_page_addr_ok(struct kvm_vcpu *vcpu, u64 gpa)
{
	return kvm_vcpu_is_legal_aligned_gpa(vcpu, gpa, PAGE_SIZE);
}

/* An MSR list of @count 16-byte entries at @gpa (SDM 26.2.1.2, 26.2.1.3). */
static bool nvmx_msr_list_addr_ok(struct kvm_vcpu *vcpu, u32 count, u64 gpa)
{
	u64 last = gpa + (u64)count * sizeof(struct vmx_msr_entry) - 1;

	return !count || (IS_ALIGNED(gpa, 16) &&
			  kvm_vcpu_is_legal_gpa(vcpu, gpa) &&
			  kvm_vcpu_is_legal_gpa(vcpu, last) && last > gpa);
}

static bool nvmx_entry_has_event(struct vmcs12 *vmcs12)
{
	return vmcs12->vm_entry_intr_info_field & INTR_INFO_VALID_MASK;
}

static u32 nvmx_event_type(struct vmcs12 *vmcs12)
{
	return vmcs12->vm_entry_intr_info_field & INTR_INFO_INTR_TYPE_MASK;
}

static u8 nvmx_event_vector(struct vmcs12 *vmcs12)
{
	return vmcs12->vm_entry_intr_info_field & INTR_INFO_VECTOR_MASK;
}

static bool nvmx_ia32e_guest(struct vmcs12 *vmcs12)
{
	return vmcs12->vm_entry_controls & VM_ENTRY_IA32E_MODE;
}

static bool nvmx_host_64bit(struct vmcs12 *vmcs12)
{
	return vmcs12->vm_exit_controls & VM_EXIT_HOST_ADDR_SPACE_SIZE;
}

/*
 * SDM 26.2.1.1: the EPTP of "enable EPT": a memory type and a page-walk
 * length IA32_VMX_EPT_VPID_CAP reports, accessed/dirty flags only where it
 * reports them, bits 11:7 and those beyond the physical-address width 0.
 */
bool nested_vmx_eptp_valid(struct kvm_vcpu *vcpu, u64 eptp)
{
	u32 caps = to_vmx(vcpu)->nested.msrs.ept_caps;
	u64 mt = eptp & VMX_EPTP_MT_MASK;
	u64 pwl = eptp & VMX_EPTP_PWL_MASK;

	return ((mt == VMX_EPTP_MT_UC && (caps & VMX_EPTP_UC_BIT)) ||
		(mt == VMX_EPTP_MT_WB && (caps & VMX_EPTP_WB_BIT))) &&
	       ((pwl == VMX_EPTP_PWL_4 && (caps & VMX_EPT_PAGE_WALK_4_BIT)) ||
		(pwl == VMX_EPTP_PWL_5 && (caps & VMX_EPT_PAGE_WALK_5_BIT))) &&
	       (!(eptp & VMX_EPTP_AD_ENABLE_BIT) || (caps & VMX_EPT_AD_BIT)) &&
	       !(eptp & GENMASK_ULL(11, 7)) &&
	       kvm_vcpu_is_legal_gpa(vcpu, eptp);
}

/*
 * SDM 26.2.1.1, "enable VM functions": no VM-function control that
 * IA32_VMX_VMFUNC reserves (A.11), and EPTP switching needs "enable EPT"
 * and a 4-KByte aligned EPTP-list address within the physical-address
 * width.
 */
static bool nested_vmx_check_vmfunc_controls(struct kvm_vcpu *vcpu,
					     struct vmcs12 *vmcs12)
{
	u64 allowed = to_vmx(vcpu)->nested.msrs.vmfunc_controls;
	u64 vmfunc = vmcs12->vm_function_control;

	if (!nvmx_rule(!(vmfunc & ~allowed)))
		return false;

	return !(vmfunc & VMX_VMFUNC_EPTP_SWITCHING) ||
	       (nvmx_rule(nested_cpu_has_ept(vmcs12)) &&
		nvmx_rule(nvmx_page_addr_ok(vcpu, vmcs12->eptp_list_address)));
}

/*
 * SDM 26.2.1.1, "VMCS shadowing": the VMREAD-bitmap and VMWRITE-bitmap
 * addresses 4-KByte aligned and within the physical-address width.
 */
static bool nested_vmx_check_shadowing_controls(struct kvm_vcpu *vcpu,
						struct vmcs12 *vmcs12)
{
	return !nested_cpu_has2(vmcs12, SECONDARY_EXEC_SHADOW_VMCS) ||
	       (nvmx_rule(nvmx_page_addr_ok(vcpu, vmcs12->vmread_bitmap)) &&
		nvmx_rule(nvmx_page_addr_ok(vcpu, vmcs12->vmwrite_bitmap)));
}

/*
 * SDM 26.2.1.1: the controls of the secondary field that name a structure
 * or depend on each other: VPID 0 is L1's own, EPT needs a valid EPTP, PML
 * needs EPT and a 4-KByte aligned PML address within the physical-address
 * width, unrestricted guest needs EPT, and the VM-function controls.
 */
static bool nested_vmx_check_exec2_controls(struct kvm_vcpu *vcpu,
					    struct vmcs12 *vmcs12)
{
	if (nested_cpu_has_vpid(vmcs12) &&
	    !nvmx_rule(vmcs12->virtual_processor_id != 0))
		return false;

	if (nested_cpu_has_ept(vmcs12) &&
	    !nvmx_rule(nested_vmx_eptp_valid(vcpu, vmcs12->ept_pointer)))
		return false;

	if (nested_cpu_has2(vmcs12, SECONDARY_EXEC_ENABLE_PML) &&
	    (!nvmx_rule(nested_cpu_has_ept(vmcs12)) ||
	     !nvmx_rule(nvmx_page_addr_ok(vcpu, vmcs12->pml_address))))
		return false;

	if (nested_cpu_has2(vmcs12, SECONDARY_EXEC_UNRESTRICTED_GUEST) &&
	    !nvmx_rule(nested_cpu_has_ept(vmcs12)))
		return false;

	if (!nested_vmx_check_shadowing_controls(vcpu, vmcs12))
		return false;

	return !nested_cpu_has2(vmcs12, SECONDARY_EXEC_ENABLE_VMFUNC) ||
	       nested_vmx_check_vmfunc_controls(vcpu, vmcs12);
}

/*
 * SDM 26.2.1.1: "virtualize x2APIC mode", APIC-register virtualization and
 * virtual-interrupt delivery act on the virtual-APIC page, so they need
 * "use TPR shadow"; x2APIC mode excludes "virtualize APIC accesses" (the
 * two are different ways of reaching the virtual APIC); virtual-interrupt
 * delivery needs "external-interrupt exiting" (external interrupts are
 * never delivered through the virtual APIC, SDM 29.2).
 */
static bool nested_vmx_check_vapic_users(struct vmcs12 *vmcs12)
{
	u32 users = SECONDARY_EXEC_VIRTUALIZE_X2APIC_MODE |
		    SECONDARY_EXEC_APIC_REGISTER_VIRT |
		    SECONDARY_EXEC_VIRTUAL_INTR_DELIVERY;

	if (!nested_cpu_has(vmcs12, CPU_BASED_TPR_SHADOW) &&
	    !nvmx_rule(!nested_cpu_has2(vmcs12, users)))
		return false;

	if (nested_cpu_has2(vmcs12, SECONDARY_EXEC_VIRTUALIZE_X2APIC_MODE) &&
	    !nvmx_rule(!nested_cpu_has2(vmcs12,
					SECONDARY_EXEC_VIRTUALIZE_APIC_ACCESSES)))
		return false;

	return !nested_cpu_has2(vmcs12, SECONDARY_EXEC_VIRTUAL_INTR_DELIVERY) ||
	       nvmx_rule(vmcs12->pin_based_vm_exec_control &
			 PIN_BASED_EXT_INTR_MASK);
}

/*
 * SDM 26.2.1.1, "process posted interrupts": virtual-interrupt delivery
 * (the descriptor's requests become virtual interrupts) and "acknowledge
 * interrupt on exit" (an interrupt that is not the notification exits with
 * its vector); a notification vector with bits 15:8 clear; a 64-byte
 * aligned descriptor within the physical-address width.
 */
static bool nested_vmx_check_posted_intr(struct kvm_vcpu *vcpu,
					 struct vmcs12 *vmcs12)
{
	if (!(vmcs12->pin_based_vm_exec_control & PIN_BASED_POSTED_INTR))
		return true;

	return nvmx_rule(nested_cpu_has2(vmcs12,
					 SECONDARY_EXEC_VIRTUAL_INTR_DELIVERY)) &&
	       nvmx_rule(vmcs12->vm_exit_controls & VM_EXIT_ACK_INTR_ON_EXIT) &&
	       nvmx_rule(!(vmcs12->posted_intr_nv & 0xff00)) &&
	       nvmx_rule(kvm_vcpu_is_legal_aligned_gpa(vcpu,
						       vmcs12->posted_intr_desc_addr,
						       64));
}

/*
 * SDM 26.2.1.1, APIC virtualization: "use TPR shadow" needs a 4-KByte
 * aligned virtual-APIC address within the physical-address width and,
 * without virtual-interrupt delivery, a TPR threshold with bits 31:4 clear;
 * "virtualize APIC accesses" needs a 4-KByte aligned APIC-access address
 * within the width.  The rule on the threshold against VTPR reads L1's
 * memory: see nested_vmx_check_vtpr().  The controls that act on the
 * virtual-APIC page need it (nested_vmx_check_vapic_users()).
 */
static bool nested_vmx_check_apic_controls(struct kvm_vcpu *vcpu,
					   struct vmcs12 *vmcs12)
{
	bool vid = nested_cpu_has2(vmcs12, SECONDARY_EXEC_VIRTUAL_INTR_DELIVERY);

	if (nested_cpu_has(vmcs12, CPU_BASED_TPR_SHADOW) &&
	    (!nvmx_rule(nvmx_page_addr_ok(vcpu, vmcs12->virtual_apic_page_addr)) ||
	     !nvmx_rule(vid || !(vmcs12->tpr_threshold & GENMASK(31, 4)))))
		return false;

	if (!nested_vmx_check_vapic_users(vmcs12))
		return false;

	if (nested_cpu_has2(vmcs12, SECONDARY_EXEC_VIRTUALIZE_APIC_ACCESSES) &&
	    !nvmx_rule(nvmx_page_addr_ok(vcpu, vmcs12->apic_access_addr)))
		return false;

	return nested_vmx_check_posted_intr(vcpu, vmcs12);
}

/* SDM 26.2.1.1: checks on VM-execution control fields. */
static bool nested_vmx_check_exec_controls(struct kvm_vcpu *vcpu,
					   struct vmcs12 *vmcs12)
{
	struct nested_vmx_msrs *msrs = &to_vmx(vcpu)->nested.msrs;
	u32 pin = vmcs12->pin_based_vm_exec_control;
	u32 exec = vmcs12->cpu_based_vm_exec_control;

	if (!nvmx_rule(nvmx_ctls_allowed(pin,
					 nvmx_must_be_1(msrs, msrs->pinbased_ctls_low,
							PIN_BASED_ALWAYSON_WITHOUT_TRUE_MSR),
					 msrs->pinbased_ctls_high)) ||
	    !nvmx_rule(nvmx_ctls_allowed(exec,
					 nvmx_must_be_1(msrs, msrs->procbased_ctls_low,
							CPU_BASED_ALWAYSON_WITHOUT_TRUE_MSR),
					 msrs->procbased_ctls_high)))
		return false;

	if ((exec & CPU_BASED_ACTIVATE_SECONDARY_CONTROLS) &&
	    !nvmx_rule(nvmx_ctls_allowed(vmcs12->secondary_vm_exec_control,
					 msrs->secondary_ctls_low,
					 msrs->secondary_ctls_high)))
		return false;

	if (!nvmx_rule(vmcs12->cr3_target_count <=
		       vmx_misc_cr3_count(msrs->misc_low)))
		return false;

	if ((exec & CPU_BASED_USE_IO_BITMAPS) &&
	    (!nvmx_rule(nvmx_page_addr_ok(vcpu, vmcs12->io_bitmap_a)) ||
	     !nvmx_rule(nvmx_page_addr_ok(vcpu, vmcs12->io_bitmap_b))))
		return false;

	if ((exec & CPU_BASED_USE_MSR_BITMAPS) &&
	    !nvmx_rule(nvmx_page_addr_ok(vcpu, vmcs12->msr_bitmap)))
		return false;

	if (!(pin & PIN_BASED_NMI_EXITING) &&
	    !nvmx_rule(!(pin & PIN_BASED_VIRTUAL_NMIS)))
		return false;

	if (!nested_vmx_check_exec2_controls(vcpu, vmcs12) ||
	    !nested_vmx_check_apic_controls(vcpu, vmcs12))
		return false;

	return (pin & PIN_BASED_VIRTUAL_NMIS) ||
	       nvmx_rule(!(exec & CPU_BASED_NMI_WINDOW_EXITING));
}

/* SDM 26.2.1.2: checks on VM-exit control fields. */
static bool nested_vmx_check_exit_controls(struct kvm_vcpu *vcpu,
					   struct vmcs12 *vmcs12)
{
	struct nested_vmx_msrs *msrs = &to_vmx(vcpu)->nested.msrs;
	u32 exit = vmcs12->vm_exit_controls;

	if (!nvmx_rule(nvmx_ctls_allowed(exit,
					 nvmx_must_be_1(msrs, msrs->exit_ctls_low,
							VM_EXIT_ALWAYSON_WITHOUT_TRUE_MSR),
					 msrs->exit_ctls_high)))
		return false;
	/* SDM 26.2.1.2: no timer value to save without the timer */
	if (!nvmx_rule(!(exit & VM_EXIT_SAVE_VMX_PREEMPTION_TIMER) ||
		       (vmcs12->pin_based_vm_exec_control &
			PIN_BASED_VMX_PREEMPTION_TIMER)))
		return false;

	return nvmx_rule(nvmx_msr_list_addr_ok(vcpu,
					       vmcs12->vm_exit_msr_store_count,
					       vmcs12->vm_exit_msr_store_addr)) &&
	       nvmx_rule(nvmx_msr_list_addr_ok(vcpu,
					       vmcs12->vm_exit_msr_load_count,
					       vmcs12->vm_exit_msr_load_addr));
}

/*
 * SDM 26.2.1.3: the deliver-error-code bit must be set exactly for hardware
 * exceptions that push an error code, and not at all for an L2 that starts
 * in real mode (unrestricted guest with CR0.PE 0).
 */
static bool nvmx_event_needs_error_code(struct vmcs12 *vmcs12)
{
	if (nested_cpu_has2(vmcs12, SECONDARY_EXEC_UNRESTRICTED_GUEST) &&
	    !(vmcs12->guest_cr0 & X86_CR0_PE))
		return false;

	return nvmx_event_type(vmcs12) == INTR_TYPE_HARD_EXCEPTION &&
	       x86_exception_has_error_code(nvmx_event_vector(vmcs12));
}

/* SDM 26.2.1.3: the VM-entry event-injection fields. */
static bool nested_vmx_check_event_injection(struct kvm_vcpu *vcpu,
					     struct vmcs12 *vmcs12)
{
	struct nested_vmx_msrs *msrs = &to_vmx(vcpu)->nested.msrs;
	u32 info = vmcs12->vm_entry_intr_info_field;
	u32 type = nvmx_event_type(vmcs12);
	u8 vector = nvmx_event_vector(vmcs12);
	bool has_error_code = info & INTR_INFO_DELIVER_CODE_MASK;
	u32 len = vmcs12->vm_entry_instruction_len;

	if (!nvmx_rule(type != INTR_TYPE_RESERVED) ||
	    !nvmx_rule(!(info & INTR_INFO_RESVD_BITS_MASK)))
		return false;

	if (type == INTR_TYPE_OTHER_EVENT &&
	    (!nvmx_rule(msrs->procbased_ctls_high &
			CPU_BASED_MONITOR_TRAP_FLAG) ||
	     !nvmx_rule(vector == 0)))
		return false;

	if ((type == INTR_TYPE_NMI_INTR && !nvmx_rule(vector == NMI_VECTOR)) ||
	    (type == INTR_TYPE_HARD_EXCEPTION && !nvmx_rule(vector <= 31)))
		return false;

	if (!nvmx_rule(has_error_code == nvmx_event_needs_error_code(vmcs12)))
		return false;

	if (has_error_code &&
	    !nvmx_rule(!(vmcs12->vm_entry_exception_error_code & GENMASK(31, 16))))
		return false;

	if (type != INTR_TYPE_SOFT_INTR && type != INTR_TYPE_SOFT_EXCEPTION &&
	    type != INTR_TYPE_PRIV_SW_EXCEPTION)
		return true;

	/*
	 * SDM 26.2.1.3: a length of 1 to 15, 0 too with IA32_VMX_MISC[30].
	 * Checked here, before the guest state (26.3) and the MSR-load list
	 * (26.4), as the processor orders them, for every software event.
	 */
	return nvmx_rule(len <= 15) &&
	       (len || nvmx_rule(msrs->misc_low & VMX_MISC_ZERO_LEN_INS));
}

/* SDM 26.2.1.3: checks on VM-entry control fields. */
static bool nested_vmx_check_entry_controls(struct kvm_vcpu *vcpu,
					    struct vmcs12 *vmcs12)
{
	struct nested_vmx_msrs *msrs = &to_vmx(vcpu)->nested.msrs;
	u32 entry = vmcs12->vm_entry_controls;

	if (!nvmx_rule(nvmx_ctls_allowed(entry,
					 nvmx_must_be_1(msrs, msrs->entry_ctls_low,
							VM_ENTRY_ALWAYSON_WITHOUT_TRUE_MSR),
					 msrs->entry_ctls_high)))
		return false;

	if (nvmx_entry_has_event(vmcs12) &&
	    !nested_vmx_check_event_injection(vcpu, vmcs12))
		return false;

	return nvmx_rule(nvmx_msr_list_addr_ok(vcpu,
					       vmcs12->vm_entry_msr_load_count,
					       vmcs12->vm_entry_msr_load_addr));
}

/*
 * SDM 26.2.1: the checks on VMX controls that read a field L1 reaches in
 * the shadow VMCS: the primary processor-based controls, which decide
 * which other execution checks apply, and the event to inject.
 */
static bool nested_vmx_check_shadowed_controls(struct kvm_vcpu *vcpu,
					       struct vmcs12 *vmcs12)
{
	return nested_vmx_check_exec_controls(vcpu, vmcs12) &&
	       (!nvmx_entry_has_event(vmcs12) ||
		nested_vmx_check_event_injection(vcpu, vmcs12));
}

/* SDM 26.2.1: checks on VMX controls, all failing with VMfailValid(7). */
static bool nested_vmx_check_controls(struct kvm_vcpu *vcpu,
				      struct vmcs12 *vmcs12)
{
	return nested_vmx_check_exec_controls(vcpu, vmcs12) &&
	       nested_vmx_check_exit_controls(vcpu, vmcs12) &&
	       nested_vmx_check_entry_controls(vcpu, vmcs12);
}

/* SDM 26.2.2: host control registers and MSRs. */
static bool nested_vmx_check_host_regs(struct kvm_vcpu *vcpu,
				       struct vmcs12 *vmcs12)
{
	bool host_64bit = nvmx_host_64bit(vmcs12);
	u64 efer = vmcs12->host_ia32_efer;

	if (!nvmx_rule(nested_host_cr0_valid(vcpu, vmcs12->host_cr0)) ||
	    !nvmx_rule(nested_cr4_valid(vcpu, vmcs12->host_cr4)) ||
	    !nvmx_rule(kvm_vcpu_is_legal_gpa(vcpu, vmcs12->host_cr3)))
		return false;

	if (!nvmx_rule(!is_noncanonical_address(vmcs12->host_ia32_sysenter_esp, vcpu)) ||
	    !nvmx_rule(!is_noncanonical_address(vmcs12->host_ia32_sysenter_eip, vcpu)))
		return false;

	if ((vmcs12->vm_exit_controls & VM_EXIT_LOAD_IA32_PAT) &&
	    !nvmx_rule(kvm_pat_valid(vmcs12->host_ia32_pat)))
		return false;

	if (!(vmcs12->vm_exit_controls & VM_EXIT_LOAD_IA32_EFER))
		return true;

	return nvmx_rule(kvm_valid_efer(vcpu, efer)) &&
	       nvmx_rule(!!(efer & EFER_LMA) == host_64bit) &&
	       nvmx_rule(!!(efer & EFER_LME) == host_64bit);
}

/* SDM 26.2.3: host segment and descriptor-table registers. */
static bool nested_vmx_check_host_segments(struct kvm_vcpu *vcpu,
					   struct vmcs12 *vmcs12)
{
	u16 sels = vmcs12->host_es_selector | vmcs12->host_cs_selector |
		   vmcs12->host_ss_selector | vmcs12->host_ds_selector |
		   vmcs12->host_fs_selector | vmcs12->host_gs_selector |
		   vmcs12->host_tr_selector;

	if (!nvmx_rule(!(sels & (SEGMENT_RPL_MASK | SEGMENT_TI_MASK))) ||
	    !nvmx_rule(vmcs12->host_cs_selector != 0) ||
	    !nvmx_rule(vmcs12->host_tr_selector != 0))
		return false;

	if (!nvmx_host_64bit(vmcs12) &&
	    !nvmx_rule(vmcs12->host_ss_selector != 0))
		return false;

	return nvmx_rule(!is_noncanonical_address(vmcs12->host_fs_base, vcpu)) &&
	       nvmx_rule(!is_noncanonical_address(vmcs12->host_gs_base, vcpu)) &&
	       nvmx_rule(!is_noncanonical_address(vmcs12->host_gdtr_base, vcpu)) &&
	       nvmx_rule(!is_noncanonical_address(vmcs12->host_idtr_base, vcpu)) &&
	       nvmx_rule(!is_noncanonical_address(vmcs12->host_tr_base, vcpu));
}

/*
 * SDM 26.2.4: checks related to address-space size; @l1_long: L1 executes
 * VMLAUNCH or VMRESUME in IA-32e mode.
 */
static bool nested_vmx_check_address_space_size(struct kvm_vcpu *vcpu,
						struct vmcs12 *vmcs12,
						bool l1_long)
{
	bool host_64bit = nvmx_host_64bit(vmcs12);

	if (!l1_long &&
	    (!nvmx_rule(!host_64bit) || !nvmx_rule(!nvmx_ia32e_guest(vmcs12))))
		return false;

	if (l1_long && !nvmx_rule(host_64bit))
		return false;

	if (host_64bit)
		return nvmx_rule(vmcs12->host_cr4 & X86_CR4_PAE) &&
		       nvmx_rule(!is_noncanonical_address(vmcs12->host_rip, vcpu));

	return nvmx_rule(!nvmx_ia32e_guest(vmcs12)) &&
	       nvmx_rule(!(vmcs12->host_cr4 & X86_CR4_PCIDE)) &&
	       nvmx_rule(!(vmcs12->host_rip >> 32));
}

/* SDM 26.2.2-26.2.4: the host-state area, failing with VMfailValid(8). */
static bool nested_vmx_check_host_state(struct kvm_vcpu *vcpu,
					struct vmcs12 *vmcs12, bool l1_long)
{
	return nested_vmx_check_host_regs(vcpu, vmcs12) &&
	       nested_vmx_check_host_segments(vcpu, vmcs12) &&
	       nested_vmx_check_address_space_size(vcpu, vmcs12, l1_long);
}

/*
 * SDM 26.3.1.1: guest control registers, debug registers and MSRs.  L0
 * forces bits of CR0/CR4 and switches EFER, PAT and DEBUGCTL itself, so the
 * processor would check its own values on vmcs02, not L1's.  IA32_EFER
 * only for an entry that loads it (@entering): L2 resumed from a saved
 * state keeps its own (nvmx_guest_efer()), which may have left the mode
 * vmcs12's field says since.
 */
static bool nested_vmx_check_guest_regs(struct kvm_vcpu *vcpu,
					struct vmcs12 *vmcs12, bool entering)
{
	bool ia32e = nvmx_ia32e_guest(vmcs12);
	u64 cr0 = vmcs12->guest_cr0, cr4 = vmcs12->guest_cr4;
	u64 efer = vmcs12->guest_ia32_efer;

	if (!nvmx_rule(nested_vmcs12_guest_cr0_valid(vcpu, vmcs12, cr0)) ||
	    !nvmx_rule(!(cr0 & X86_CR0_PG) || (cr0 & X86_CR0_PE)) ||
	    !nvmx_rule(nested_cr4_valid(vcpu, cr4)) ||
	    !nvmx_rule(kvm_vcpu_is_legal_gpa(vcpu, vmcs12->guest_cr3)))
		return false;

	if (ia32e ? !nvmx_rule((cr0 & X86_CR0_PG) && (cr4 & X86_CR4_PAE)) :
		    !nvmx_rule(!(cr4 & X86_CR4_PCIDE)))
		return false;

	if ((vmcs12->vm_entry_controls & VM_ENTRY_LOAD_DEBUG_CONTROLS) &&
	    (!nvmx_rule(vmx_is_valid_debugctl(vcpu, vmcs12->guest_ia32_debugctl,
					      false)) ||
	     !nvmx_rule(kvm_dr7_valid(vmcs12->guest_dr7))))
		return false;

	/*
	 * While the last exit's SYSENTER values are still in vmcs02
	 * (NVMX_SYNC_VMCS02), vmcs12 holds those this check passed at an
	 * earlier entry or those vmx.c wrote through for an intercepted
	 * WRMSR of L2's, canonical; L2 can only have changed vmcs02's by
	 * WRMSR, which takes no non-canonical address (#GP, or made
	 * canonical by KVM).
	 */
	if (!nvmx_rule(!is_noncanonical_address(vmcs12->guest_sysenter_esp, vcpu)) ||
	    !nvmx_rule(!is_noncanonical_address(vmcs12->guest_sysenter_eip, vcpu)))
		return false;

	if ((vmcs12->vm_entry_controls & VM_ENTRY_LOAD_IA32_PAT) &&
	    !nvmx_rule(kvm_pat_valid(vmcs12->guest_ia32_pat)))
		return false;

	if (!entering || !(vmcs12->vm_entry_controls & VM_ENTRY_LOAD_IA32_EFER))
		return true;

	return nvmx_rule(kvm_valid_efer(vcpu, efer)) &&
	       nvmx_rule(!!(efer & EFER_LMA) == ia32e) &&
	       nvmx_rule(!(cr0 & X86_CR0_PG) ||
			 !!(efer & EFER_LMA) == !!(efer & EFER_LME));
}

/* SDM 26.3.1.4: RFLAGS (L0 may rewrite it for its own purposes). */
static bool nested_vmx_check_guest_rflags(struct vmcs12 *vmcs12)
{
	u64 rflags = vmcs12->guest_rflags;
	u64 reserved = GENMASK_ULL(63, 22) | BIT(15) | BIT(5) | BIT(3);

	if (!nvmx_rule(!(rflags & reserved)) ||
	    !nvmx_rule(rflags & X86_EFLAGS_FIXED))
		return false;

	if ((nvmx_ia32e_guest(vmcs12) || !(vmcs12->guest_cr0 & X86_CR0_PE)) &&
	    !nvmx_rule(!(rflags & X86_EFLAGS_VM)))
		return false;

	return !nvmx_entry_has_event(vmcs12) ||
	       nvmx_event_type(vmcs12) != INTR_TYPE_EXT_INTR ||
	       nvmx_rule(rflags & X86_EFLAGS_IF);
}

/* SDM 26.3.1.5: in HLT only some events may be injected. */
static bool nvmx_event_allowed_in_hlt(struct vmcs12 *vmcs12)
{
	u8 vector = nvmx_event_vector(vmcs12);

	switch (nvmx_event_type(vmcs12)) {
	case INTR_TYPE_EXT_INTR:
	case INTR_TYPE_NMI_INTR:
		return true;
	case INTR_TYPE_HARD_EXCEPTION:
		return vector == DB_VECTOR || vector == MC_VECTOR;
	case INTR_TYPE_OTHER_EVENT:
		return vector == 0;
	default:
		return false;
	}
}

/* SDM 26.3.1.5: in shutdown only NMIs and machine checks may be injected. */
static bool nvmx_event_allowed_in_shutdown(struct vmcs12 *vmcs12)
{
	switch (nvmx_event_type(vmcs12)) {
	case INTR_TYPE_NMI_INTR:
		return true;
	case INTR_TYPE_HARD_EXCEPTION:
		return nvmx_event_vector(vmcs12) == MC_VECTOR;
	default:
		return false;
	}
}

/*
 * SDM 26.3.1.5: activity and interruptibility state.  vmcs02 always starts
 * L2 active (L0 emulates HLT, shutdown and wait-for-SIPI), so the
 * processor never sees L1's activity state and the rules that tie it to
 * the other fields: an activity state IA32_VMX_MISC offers, HLT only at
 * SS.DPL 0, and only the events each state lets through injected, none in
 * wait-for-SIPI ("entry to SMM", which also excludes it, is not offered).
 */
static bool nested_vmx_check_guest_activity(struct kvm_vcpu *vcpu,
					    struct vmcs12 *vmcs12)
{
	u32 misc = to_vmx(vcpu)->nested.msrs.misc_low;
	u32 activity = vmcs12->guest_activity_state;
	u32 intr = vmcs12->guest_interruptibility_info;
	u32 dpl;

	if (!nvmx_rule(!(intr & (GUEST_INTR_STATE_STI |
				 GUEST_INTR_STATE_MOV_SS)) ||
		       activity == GUEST_ACTIVITY_ACTIVE) ||
	    !nvmx_rule((intr & (GUEST_INTR_STATE_STI | GUEST_INTR_STATE_MOV_SS))
		       != (GUEST_INTR_STATE_STI | GUEST_INTR_STATE_MOV_SS)))
		return false;

	if (activity == GUEST_ACTIVITY_ACTIVE)
		return true;

	if (activity == GUEST_ACTIVITY_WAIT_SIPI)
		return nvmx_rule(misc & VMX_MISC_ACTIVITY_WAIT_SIPI) &&
		       nvmx_rule(!nvmx_entry_has_event(vmcs12));
	if (activity == GUEST_ACTIVITY_SHUTDOWN)
		return nvmx_rule(misc & NVMX_MISC_ACTIVITY_SHUTDOWN) &&
		       nvmx_rule(!nvmx_entry_has_event(vmcs12) ||
				 nvmx_event_allowed_in_shutdown(vmcs12));

	dpl = (vmcs12->guest_ss_ar_bytes >> 5) & 3;
	return nvmx_rule(activity == GUEST_ACTIVITY_HLT &&
			 (misc & VMX_MISC_ACTIVITY_HLT)) &&
	       nvmx_rule(dpl == 0) &&
	       nvmx_rule(!nvmx_entry_has_event(vmcs12) ||
			 nvmx_event_allowed_in_hlt(vmcs12));
}

/*
 * SDM 26.3.1.5: the VMCS link pointer.  vmcs02's is L0's own, so the
 * processor never sees L1's.  A pointer other than ~0 must be 4-KByte
 * aligned within the physical-address width, name a region with our
 * revision identifier whose shadow-VMCS indicator is the "VMCS shadowing"
 * control (so it is a shadow VMCS exactly when L2's VMREAD and VMWRITE can
 * reach it, SDM 24.10), and not be the current VMCS, at @vmptr.  @hdr is
 * the region's header, NULL when no memory holds it.  ~0 passes with
 * either setting: L2's VMREAD and VMWRITE that do not exit then fail with
 * VMfailInvalid (SDM 30.3).
 */
static bool nvmx_link_pointer_ok(struct kvm_vcpu *vcpu, struct vmcs12 *vmcs12,
				 gpa_t vmptr, const struct vmcs_hdr *hdr)
{
	bool shadowing = nested_cpu_has2(vmcs12, SECONDARY_EXEC_SHADOW_VMCS);
	u64 link = vmcs12->vmcs_link_pointer;

	if (link == INVALID_GPA)
		return true;

	return nvmx_rule(nvmx_page_addr_ok(vcpu, link)) &&
	       nvmx_rule(hdr) &&
	       nvmx_rule(hdr->revision_id == VMCS12_REVISION) &&
	       nvmx_rule(hdr->shadow_vmcs == shadowing) &&
	       nvmx_rule(link != vmptr);
}

/* The link pointer of L1's current VMCS, read from L1's memory. */
static bool nested_vmx_check_link_pointer(struct kvm_vcpu *vcpu,
					  struct vmcs12 *vmcs12)
{
	u64 link = vmcs12->vmcs_link_pointer;
	struct vmcs_hdr hdr;
	bool readable;

	readable = link != INVALID_GPA &&
		   !kvm_vcpu_read_guest(vcpu, link, &hdr, sizeof(hdr));
	return nvmx_link_pointer_ok(vcpu, vmcs12,
				    to_vmx(vcpu)->nested.current_vmptr,
				    readable ? &hdr : NULL);
}

/*
 * SDM 26.3.1: the guest-state checks that hardware cannot make on vmcs02,
 * but the link pointer's.  Segment, descriptor-table, RIP and
 * pending-debug-exception fields reach vmcs02 unchanged and are checked by
 * the processor itself; a failure there comes back as a VM-entry failure
 * exit of vmcs02 and is reflected.  The SS.DPL rule of an entry in the HLT
 * state reads vmcs12's SS, which must be L2's latest.  @entering: the entry
 * loads vmcs12's guest state (VMLAUNCH, VMRESUME, a pending one restored).
 */
static bool nested_vmx_check_guest_fields(struct kvm_vcpu *vcpu,
					  struct vmcs12 *vmcs12, bool entering)
{
	return nested_vmx_check_guest_regs(vcpu, vmcs12, entering) &&
	       nested_vmx_check_guest_rflags(vmcs12) &&
	       nested_vmx_check_guest_activity(vcpu, vmcs12);
}

static bool nested_vmx_check_guest_segments(struct kvm_vcpu *vcpu,
					    struct vmcs12 *vmcs12);
static bool nvmx_guest_rip_ok(struct kvm_vcpu *vcpu, struct vmcs12 *vmcs12);
static bool nvmx_guest_ss_dpl_ok(struct vmcs12 *vmcs12);
static bool nested_vmx_check_guest_blocking(struct kvm_vcpu *vcpu,
					    struct vmcs12 *vmcs12,
					    u64 l1_debugctl);
static bool nested_vmx_check_guest_pdptes(struct kvm_vcpu *vcpu,
					  struct vmcs12 *vmcs12);

/*
 * Whether the checks need all of the guest state that lives in vmcs02
 * alone (NVMX_SYNC_VMCS02) while L1 has written none of it since L2's last
 * exit (need_sync_vmcs02_to_vmcs12_rare; vmcs02 current).  That state is
 * then L2's as the exit saved it (SDM 27.3.2, 27.3.4), and the entry hands
 * it to the processor unchanged; it passed the checks of SDM 26.3.1 with
 * the rest of the guest state as the exit saved that too.  What L1 may
 * have changed since without a VM exit are the shadowed fields (the
 * shadow column: CR0, CR3, CR4, RSP, RIP, RFLAGS, interruptibility, the
 * event, primary controls); a write of any other field makes vmcs12 dirty
 * (dirty_vmcs12).  Everything is needed when vmcs12 is dirty, when L1's
 * activity state is not vmcs02's (26.3.1.5 ties HLT to SS, BS to the
 * state), when L2 does not run on vmcs02 (@no_run: the checks are all
 * nvmx's), and when RFLAGS.VM is 1 now or was at the exit (26.3.1.2's
 * rules for virtual-8086 mode are other rules for every segment).  It was
 * 0 at the exit when "IA-32e mode guest" is 1: vmcs12 not dirty, that is
 * the exit's EFER.LMA (27.2), and IA-32e mode has no virtual-8086 mode.
 */
static bool nvmx_check_all_vmcs02_rows(struct kvm_vcpu *vcpu,
				       struct vmcs12 *vmcs12, bool no_run)
{
	return to_vmx(vcpu)->nested.dirty_vmcs12 || no_run ||
	       vmcs12->guest_activity_state != GUEST_ACTIVITY_ACTIVE ||
	       (vmcs12->guest_rflags & X86_EFLAGS_VM) ||
	       (!nvmx_ia32e_guest(vmcs12) &&
		(vmcs_readl(GUEST_RFLAGS) & X86_EFLAGS_VM));
}

/*
 * Otherwise, the rules of 26.3.1 that tie a shadowed field to the state
 * vmcs02 alone holds, and the fields of that state they read, copied into
 * vmcs12 (the same values a later sync copies): RIP with CS's L bit
 * (26.3.1.4: only a RIP above 4 GBytes of an IA-32e mode guest needs it),
 * CR0.PE with SS's DPL and CS's type (26.3.1.2: only with "unrestricted
 * guest" can PE be 0 or CS's type be 3), blocking by STI or MOV SS and
 * RFLAGS.TF with the pending debug exceptions (26.3.1.5).  Every other rule
 * reads only fields of one kind.
 */
static void nvmx_read_vmcs02_rows_for_shadowed(struct vmcs12 *vmcs12)
{
	bool ug = nested_cpu_has2(vmcs12, SECONDARY_EXEC_UNRESTRICTED_GUEST);

	if (ug || (nvmx_ia32e_guest(vmcs12) && vmcs12->guest_rip >> 32))
		vmcs12->guest_cs_ar_bytes = vmcs_read32(GUEST_CS_AR_BYTES);
	if (ug)
		vmcs12->guest_ss_ar_bytes = vmcs_read32(GUEST_SS_AR_BYTES);
	if (vmcs12->guest_interruptibility_info &
	    (GUEST_INTR_STATE_STI | GUEST_INTR_STATE_MOV_SS))
		vmcs12->guest_pending_dbg_exceptions =
			vmcs_readl(GUEST_PENDING_DBG_EXCEPTIONS);
}

/* SDM 26.3.1.2 to 26.3.1.4 on the fields nvmx_read_vmcs02_rows_for_shadowed() read */
static bool nvmx_guest_segs_for_shadowed_ok(struct kvm_vcpu *vcpu,
					    struct vmcs12 *vmcs12)
{
	return nvmx_guest_rip_ok(vcpu, vmcs12) &&
	       (!nested_cpu_has2(vmcs12, SECONDARY_EXEC_UNRESTRICTED_GUEST) ||
		nvmx_guest_ss_dpl_ok(vmcs12));
}

/*
 * SDM 26.3.1, before any guest state is loaded (26.3.2) and the VM-entry
 * MSR-load list with it (26.4): an entry refused here leaves L1's state
 * alone but for what the failure exit loads (26.8).  With vmcs02 current,
 * so that the state an exit left there is read where it is.  The
 * processor checks vmcs02 again later, but not all of L1's state reaches
 * it: an entry in the HLT state runs vmcs02 active, vmcs02 never runs at
 * all on an EPT whose PML4 table is not in L1's memory
 * (nested_vmx_ept_root_exit()), nor in the wait-for-SIPI state, which only
 * a VM exit ends, nor, until an NMI or SMI wakes it, in the shutdown
 * state.  The checks read the guest state the processor would find:
 * vmcs12's, but for the state vmcs02 alone holds (NVMX_SYNC_VMCS02) while
 * L1 has written none of it since L2's exit, read from vmcs02 as far as
 * the rules need it (nvmx_check_all_vmcs02_rows()).  DEBUGCTL, where the
 * entry does not load it, is L1's, which L2 starts with (26.3.2.1).
 */
static bool nested_vmx_check_guest_state(struct kvm_vcpu *vcpu,
					 struct vmcs12 *vmcs12, u32 *qual)
{
	struct vcpu_vmx *vmx = to_vmx(vcpu);
	u32 activity = vmcs12->guest_activity_state;
	bool no_run = nvmx_ept_root_outside_memory(vcpu, vmcs12) ||
		      activity == GUEST_ACTIVITY_WAIT_SIPI ||
		      activity == GUEST_ACTIVITY_SHUTDOWN;
	bool all = true;

	*qual = ENTRY_FAIL_DEFAULT;

	if (vmx->nested.need_sync_vmcs02_to_vmcs12_rare) {
		all = nvmx_check_all_vmcs02_rows(vcpu, vmcs12, no_run);
		if (all)
			nested_vmx_save_vmcs02_state_pending(vcpu);
		else
			nvmx_read_vmcs02_rows_for_shadowed(vmcs12);
	}
	if (!nested_vmx_check_guest_fields(vcpu, vmcs12, true) ||
	    !(all ? nested_vmx_check_guest_segments(vcpu, vmcs12) :
		    nvmx_guest_segs_for_shadowed_ok(vcpu, vmcs12)) ||
	    !nested_vmx_check_guest_blocking(vcpu, vmcs12,
					     vmx->nested.pre_vmenter_debugctl))
		return false;

	*qual = ENTRY_FAIL_VMCS_LINK_PTR;
	if (!nested_vmx_check_link_pointer(vcpu, vmcs12))
		return false;

	*qual = ENTRY_FAIL_PDPTE;
	return nested_vmx_check_guest_pdptes(vcpu, vmcs12);
}

/*
 * CR0/CR4 ownership while L2 runs (include/nvmx/cr_owner.h).  L0's mask is
 * vmcs01's, which L2 cannot change but which is not the current VMCS while
 * L2 runs.  The vCPU's guest-owned bits are the complement of vmcs01's mask
 * until the entry makes them that of vmcs02's, vmcs01's with vmcs12's added
 * (vmx.c's set_cr4_guest_host_mask() keeps that rule in guest mode).  Less
 * vmcs12's bits, both are vmcs01's mask less L1's claims: the same value
 * whenever this is called, and all the helpers need, as L1's claim wins.
 */
static struct nvmx_cr nested_vmx_cr_owners(u64 l1_mask, u64 l1_shadow,
					   unsigned long guest_owned)
{
	return (struct nvmx_cr) {
		.l1_mask = l1_mask,
		.l1_shadow = l1_shadow,
		.l0_mask = ~(u64)guest_owned & ~l1_mask,
	};
}

struct nvmx_cr nested_vmx_cr0_owners(struct kvm_vcpu *vcpu,
				     struct vmcs12 *vmcs12)
{
	return nested_vmx_cr_owners(vmcs12->cr0_guest_host_mask,
				    vmcs12->cr0_read_shadow,
				    vcpu->arch.cr0_guest_owned_bits);
}

struct nvmx_cr nested_vmx_cr4_owners(struct kvm_vcpu *vcpu,
				     struct vmcs12 *vmcs12)
{
	return nested_vmx_cr_owners(vmcs12->cr4_guest_host_mask,
				    vmcs12->cr4_read_shadow,
				    vcpu->arch.cr4_guest_owned_bits);
}

/*
 * vmcs02's fields that depend only on L0: written once per vmcs02, while it
 * is loaded and before its host-state cache is synced (the host FS/GS fields
 * are zeroed to match the cache alloc_loaded_vmcs() cleared).  @ple_gap is
 * vmcs01's PLE_GAP, for L0's PAUSE-loop exiting, which vmcs02 keeps.
 */
static void nested_vmx_init_vmcs02(struct vcpu_vmx *vmx, u32 ple_gap)
{
	vmcs_write64(VMCS_LINK_POINTER, INVALID_GPA);
	vmcs_write32(CR3_TARGET_COUNT, 0);
	vmcs_write16(HOST_FS_SELECTOR, 0);
	vmcs_write16(HOST_GS_SELECTOR, 0);
	vmcs_writel(HOST_FS_BASE, 0);
	vmcs_writel(HOST_GS_BASE, 0);
	vmx_set_constant_host_state(vmx);

	if (cpu_has_vmx_msr_bitmap())
		vmcs_write64(MSR_BITMAP, __pa(vmx->nested.vmcs02.msr_bitmap));
	vmcs_write64(VM_EXIT_MSR_LOAD_ADDR, __pa(vmx->msr_autoload.host.val));
	vmcs_write64(VM_ENTRY_MSR_LOAD_ADDR, __pa(vmx->msr_autoload.guest.val));
	vmcs_write32(VM_EXIT_MSR_STORE_COUNT, 0);

	if (vmx->vpid)
		vmcs_write16(VIRTUAL_PROCESSOR_ID, vmx->vpid);
	/* VM functions, when L1 enables them, all exit to L0 (handle_vmfunc) */
	if (cpu_has_vmx_vmfunc())
		vmcs_write64(VM_FUNCTION_CONTROL, 0);
	if (kvm_notify_vmexit_enabled(vmx->vcpu.kvm))
		vmcs_write32(NOTIFY_WINDOW, vmx->vcpu.kvm->arch.notify_window);
	if (cpu_has_vmx_ple())
		vmcs_write32(PLE_GAP, ple_gap);

	vmx->nested.vmcs02_initialized = true;
}

/*
 * The host state of the running task was stored in the VMCS being left
 * (vmx_prepare_switch_to_guest); the new one must hold the same, since
 * vmx_prepare_switch_to_host() restores from whichever is loaded.
 */
static void nested_vmx_sync_host_state(struct vcpu_vmx *vmx,
				       struct loaded_vmcs *prev)
{
	struct vmcs_host_state *dst = &vmx->loaded_vmcs->host_state;
	struct vmcs_host_state *src = &prev->host_state;

	if (!vmx->guest_state_loaded)
		return;

	vmx_set_host_fs_gs(dst, src->fs_sel, src->gs_sel, src->fs_base,
			   src->gs_base);
	dst->ldt_sel = src->ldt_sel;
#ifdef CONFIG_X86_64
	dst->ds_sel = src->ds_sel;
	dst->es_sel = src->es_sel;
#endif
}

/*
 * Make @vmcs the current VMCS of the vCPU.  Whatever vmx.c caches lazily
 * from the VMCS being left (RIP, RSP, RFLAGS, CR0/CR3/CR4, PDPTRs,
 * segments, exit information) must have been read by the caller: after the
 * switch those caches are empty and fill from @vmcs.  State vmx.c keeps
 * outside the VMCS follows the new one: the autoload MSR counts, the PLE
 * window, and on the way back to vmcs01 the CR0/CR4 bits L1 owns.
 */
void nested_vmx_switch_vmcs(struct kvm_vcpu *vcpu, struct loaded_vmcs *vmcs)
{
	struct vcpu_vmx *vmx = to_vmx(vcpu);
	struct loaded_vmcs *prev = vmx->loaded_vmcs;
	bool init02 = vmcs == &vmx->nested.vmcs02 &&
		      !vmx->nested.vmcs02_initialized;
	u32 ple_gap = 0;
	int cpu;

	if (WARN_ON_ONCE(prev == vmcs))
		return;
	/*
	 * vmx.c writes L0's PLE gap into vmcs01 alone, at vCPU creation,
	 * unless PAUSEs are left to the guest (kvm_pause_in_guest()), which
	 * can only turn on later and then takes the control out of vmcs01,
	 * and so out of vmcs02: read the gap while vmcs01 is current.
	 */
	if (init02 && (secondary_exec_controls_get(vmx) &
		       SECONDARY_EXEC_PAUSE_LOOP_EXITING))
		ple_gap = vmcs_read32(PLE_GAP);

	/*
	 * Preemption puts the vCPU (vmx_vcpu_put()), which restores the
	 * task's segments from the loaded VMCS's host-state cache: the new
	 * VMCS must have it before preemption can come.  The other writes
	 * may follow on another CPU, where vcpu_load() makes @vmcs current.
	 */
	cpu = get_cpu();
	vmx->loaded_vmcs = vmcs;
	vmx_vcpu_load_vmcs(vcpu, cpu, prev);
	if (init02)
		nested_vmx_init_vmcs02(vmx, ple_gap);
	nested_vmx_sync_host_state(vmx, prev);
	put_cpu();

	vcpu->arch.regs_avail &= ~VMX_REGS_LAZY_LOAD_SET;
	vcpu->arch.regs_dirty &= ~VMX_REGS_LAZY_LOAD_SET;
	vmx->segment_cache.bitmask = 0;

	vmcs_write32(VM_ENTRY_MSR_LOAD_COUNT, vmx->msr_autoload.guest.nr);
	vmcs_write32(VM_EXIT_MSR_LOAD_COUNT, vmx->msr_autoload.host.nr);
	vmx->ple_window_dirty = true;

	/*
	 * Back in vmcs01, the guest owns what its masks leave out.  Towards
	 * vmcs02 the bits stay L1's: the entry derives vmcs02's masks from
	 * them (nested_vmx_cr0_owners()) before replacing them.
	 */
	if (vmcs == &vmx->vmcs01) {
		vcpu->arch.cr0_guest_owned_bits = ~vmcs_readl(CR0_GUEST_HOST_MASK);
		vcpu->arch.cr4_guest_owned_bits = ~vmcs_readl(CR4_GUEST_HOST_MASK);
	}
}

/*
 * Pin-based controls of vmcs02: L0 keeps its own interception of external
 * interrupts and NMIs (and its virtual NMIs, which then track L2's NMI
 * blocking); L1's requests are added.
 */
static u32 nested_vmx_pin_controls02(struct vcpu_vmx *vmx,
				     struct vmcs12 *vmcs12)
{
	u32 l0 = __pin_controls_get(&vmx->vmcs01) & ~PIN_BASED_POSTED_INTR;

	/*
	 * L1's VMX-preemption timer is an hrtimer (nested_timer.c); L0
	 * processes L1's posted interrupts (nested_vmx_process_posted_intr()).
	 */
	return l0 | (vmcs12->pin_based_vm_exec_control &
		     ~(PIN_BASED_VMX_PREEMPTION_TIMER | PIN_BASED_POSTED_INTR));
}

/*
 * Primary processor-based controls of vmcs02: exiting is the union of L0's
 * and L1's.  Every I/O instruction exits to L0, which then consults L1's
 * bitmaps; MSR accesses go through vmcs02's own MSR bitmap when L0 and L1
 * both use one, and otherwise all exit.  With L1's TPR shadow, L2's CR8 is
 * VTPR in L1's virtual-APIC page (SDM 29.3), where L1's own TPR is out of
 * L2's reach: CR8 accesses exit only as L1 asks.  Without it, they all exit
 * so that L0 serves them from L1's local APIC.  The window exits are L1's
 * until KVM asks for its own.
 */
static u32 nested_vmx_exec_controls02(struct vcpu_vmx *vmx,
				      struct vmcs12 *vmcs12)
{
	u32 l0 = __exec_controls_get(&vmx->vmcs01);
	u32 l1 = vmcs12->cpu_based_vm_exec_control;
	u32 msr_bitmaps = l0 & l1 & CPU_BASED_USE_MSR_BITMAPS;
	u32 cr8 = CPU_BASED_CR8_LOAD_EXITING | CPU_BASED_CR8_STORE_EXITING;

	l0 &= ~(CPU_BASED_INTR_WINDOW_EXITING | CPU_BASED_NMI_WINDOW_EXITING |
		CPU_BASED_TPR_SHADOW | CPU_BASED_ACTIVATE_TERTIARY_CONTROLS |
		CPU_BASED_USE_MSR_BITMAPS);
	l1 &= ~(CPU_BASED_USE_IO_BITMAPS | CPU_BASED_USE_MSR_BITMAPS);
	if (l1 & CPU_BASED_TPR_SHADOW)
		l0 &= ~cr8;
	else
		l1 |= cr8;

	return l0 | l1 | msr_bitmaps | CPU_BASED_UNCOND_IO_EXITING;
}

/*
 * The MSRs an RDMSR or WRMSR of L2's may reach without a VM exit, in the
 * directions vmx.c gets right while vmcs02 is the current VMCS:
 *
 * - FS_BASE, GS_BASE, SYSENTER_CS/ESP/EIP are guest-state fields: the entry
 *   loads them into vmcs02, the processor saves them at every exit (SDM
 *   27.3.1, 27.3.2) and the exit copies them into vmcs12.
 * - KERNEL_GS_BASE and SPEC_CTRL are in no VMCS field: VM entries and exits
 *   leave them alone, so L1 and L2 share the register, as on a processor.
 *   vmx.c keeps the guest's value in the register while the guest's state
 *   is loaded and reads it back, whichever VMCS is current: KERNEL_GS_BASE
 *   when it switches to the host's state, SPEC_CTRL after every exit whose
 *   current VMCS lets writes through (VMX_RUN_SAVE_SPEC_CTRL).
 * - PRED_CMD writes are a command (IBPB), with no state to keep.
 * - TSC reads: vmcs02 holds L2's TSC offset (L0's and L1's composed), so
 *   the processor returns L2's TSC (SDM 25.3), as vmx.c's RDMSR would.
 * - The core C-state residency counters are read-only and the same for
 *   L1 and L2; L0 lets them through only when the VMM lets the guest own
 *   C-states.
 *
 * The x2APIC MSRs are L1's to virtualize (nested_vmx_merge_x2apic_msrs());
 * always intercepted: XFD and XFD_ERR (tied to
 * KVM's #NM and FPU handling, and absent from the emulated CPU that tests
 * run on), the LBR and Intel PT MSRs (KVM switches their interception in
 * vmcs01 as its perf events and L1's RTIT_CTL come and go), and FLUSH_CMD,
 * which 6.1's vmx.c intercepts for L1 as well.
 */
static const struct nvmx_l2_msr {
	u32 msr;
	u8 type;	/* MSR_TYPE_R, MSR_TYPE_W or both */
} nvmx_l2_msrs[] = {
	{ MSR_FS_BASE,			MSR_TYPE_RW },
	{ MSR_GS_BASE,			MSR_TYPE_RW },
	{ MSR_KERNEL_GS_BASE,		MSR_TYPE_RW },
	{ MSR_IA32_SYSENTER_CS,		MSR_TYPE_RW },
	{ MSR_IA32_SYSENTER_ESP,	MSR_TYPE_RW },
	{ MSR_IA32_SYSENTER_EIP,	MSR_TYPE_RW },
	{ MSR_IA32_SPEC_CTRL,		MSR_TYPE_RW },
	{ MSR_IA32_PRED_CMD,		MSR_TYPE_W },
	{ MSR_IA32_TSC,			MSR_TYPE_R },
	{ MSR_CORE_C1_RES,		MSR_TYPE_R },
	{ MSR_CORE_C3_RESIDENCY,	MSR_TYPE_R },
	{ MSR_CORE_C6_RESIDENCY,	MSR_TYPE_R },
	{ MSR_CORE_C7_RESIDENCY,	MSR_TYPE_R },
};

/*
 * SDM 25.1.3: L2's RDMSR of @msr exits if L0's bit (vmcs01's bitmap) or
 * L1's (vmcs12's) is set.  L1's bitmap has the layout of the processor's,
 * which vmx.h's helpers read.
 */
static void nvmx_merge_msr_read(unsigned long *bitmap02,
				unsigned long *bitmap01,
				unsigned long *bitmap12, u32 msr)
{
	if (vmx_test_msr_bitmap_read(bitmap01, msr) ||
	    vmx_test_msr_bitmap_read(bitmap12, msr))
		vmx_set_msr_bitmap_read(bitmap02, msr);
	else
		vmx_clear_msr_bitmap_read(bitmap02, msr);
}

/* SDM 25.1.3: the same for L2's WRMSR of @msr. */
static void nvmx_merge_msr_write(unsigned long *bitmap02,
				 unsigned long *bitmap01,
				 unsigned long *bitmap12, u32 msr)
{
	if (vmx_test_msr_bitmap_write(bitmap01, msr) ||
	    vmx_test_msr_bitmap_write(bitmap12, msr))
		vmx_set_msr_bitmap_write(bitmap02, msr);
	else
		vmx_clear_msr_bitmap_write(bitmap02, msr);
}

/* The x2APIC MSRs' bits 800H-8FFH of a read or write bitmap (SDM 24.6.9) */
#define NVMX_X2APIC_WORDS	(256 / BITS_PER_LONG)

static unsigned long *nvmx_x2apic_read_bits(unsigned long *bitmap)
{
	return bitmap + APIC_BASE_MSR / BITS_PER_LONG;
}

static unsigned long *nvmx_x2apic_write_bits(unsigned long *bitmap)
{
	return bitmap + (0x800 + APIC_BASE_MSR / BITS_PER_BYTE) /
			sizeof(unsigned long);
}

/* vmcs02 lets L2's WRMSR of @msr through where L1's bitmap does */
static void nvmx_x2apic_write_through(unsigned long *bitmap02,
				      unsigned long *bitmap12, u32 msr)
{
	if (!vmx_test_msr_bitmap_write(bitmap12, msr))
		vmx_clear_msr_bitmap_write(bitmap02, msr);
}

/*
 * SDM 29.5: with "virtualize x2APIC mode", an RDMSR or WRMSR of L2's in
 * 800H-8FFH that L1's bitmap lets through is virtualized on L1's
 * virtual-APIC page by the processor, where vmcs02 lets it through too:
 * every RDMSR with APIC-register virtualization, else that of the TPR
 * (808H); WRMSR of the TPR, and with virtual-interrupt delivery of EOI
 * (80BH) and self-IPI (83FH).  Any other access L1 lets through would
 * reach the processor's own x2APIC ("operates normally"): it exits to L0,
 * which gives L2 L1's local APIC (or reflects the exit, as L1 asks), as
 * it does without "virtualize x2APIC mode", where none is let through.
 * L0's own bits for these MSRs are about L1's APIC, which a virtualized
 * access never touches.
 */
static void nested_vmx_merge_x2apic_msrs(unsigned long *bitmap02,
					 unsigned long *bitmap12,
					 struct vmcs12 *vmcs12)
{
	unsigned long *read02 = nvmx_x2apic_read_bits(bitmap02);
	unsigned long *write02 = nvmx_x2apic_write_bits(bitmap02);
	unsigned long *read12 = nvmx_x2apic_read_bits(bitmap12);
	unsigned int i;

	for (i = 0; i < NVMX_X2APIC_WORDS; i++) {
		read02[i] = ~0ul;
		write02[i] = ~0ul;
	}
	if (!nested_cpu_has2(vmcs12, SECONDARY_EXEC_VIRTUALIZE_X2APIC_MODE))
		return;

	if (nested_cpu_has2(vmcs12, SECONDARY_EXEC_APIC_REGISTER_VIRT))
		memcpy(read02, read12, NVMX_X2APIC_WORDS * sizeof(*read02));
	else if (!vmx_test_msr_bitmap_read(bitmap12, X2APIC_MSR(APIC_TASKPRI)))
		vmx_clear_msr_bitmap_read(bitmap02, X2APIC_MSR(APIC_TASKPRI));

	nvmx_x2apic_write_through(bitmap02, bitmap12, X2APIC_MSR(APIC_TASKPRI));
	if (nested_cpu_has2(vmcs12, SECONDARY_EXEC_VIRTUAL_INTR_DELIVERY)) {
		nvmx_x2apic_write_through(bitmap02, bitmap12,
					  X2APIC_MSR(APIC_EOI));
		nvmx_x2apic_write_through(bitmap02, bitmap12,
					  X2APIC_MSR(APIC_SELF_IPI));
	}
}

/*
 * SDM 24.6.9: vmcs02's MSR bitmap.  Every bit outside nvmx_l2_msrs stays
 * set, as alloc_loaded_vmcs() left it.  Built at every entry, from L1's
 * bitmap as it is then: SDM 24.11.4 has software change the bitmap only
 * while no processor is in VMX non-root operation with a VMCS that
 * references it, so L1 changes it between entries and L0 need not track
 * it.  vmcs01's bitmap changes while L2 runs (vmx.c's
 * force_msr_bitmap_recalc) reach vmcs02 at the next entry: until then L2
 * exits for an MSR vmx.c has just stopped intercepting, and an MSR filter
 * set meanwhile applies to L2 from that entry on.  The one exception is
 * an eVMCS with the enlightened MSR bitmap (TLFS): L1 then says by the
 * MSR-bitmap clean field when it changed its bitmap, and vmcs02's is kept
 * while neither it nor vmcs01's changed (nested_evmcs_msr_bitmap_clean(),
 * force_msr_bitmap_recalc cleared here).  False if L1's bitmap
 * cannot be mapped: vmcs02 then does without, and every RDMSR/WRMSR exits
 * to be decided by the exit path.
 */
static bool nested_vmx_prepare_msr_bitmap02(struct kvm_vcpu *vcpu,
					    struct vmcs12 *vmcs12)
{
	struct vcpu_vmx *vmx = to_vmx(vcpu);
	unsigned long *bitmap01 = vmx->vmcs01.msr_bitmap;
	unsigned long *bitmap02 = vmx->nested.vmcs02.msr_bitmap;
	const struct nvmx_l2_msr *m;
	struct kvm_host_map map;

	if (kvm_vcpu_map(vcpu, gpa_to_gfn(vmcs12->msr_bitmap), &map))
		return false;

	for (m = nvmx_l2_msrs; m < nvmx_l2_msrs + ARRAY_SIZE(nvmx_l2_msrs); m++) {
		if (m->type & MSR_TYPE_R)
			nvmx_merge_msr_read(bitmap02, bitmap01, map.hva, m->msr);
		if (m->type & MSR_TYPE_W)
			nvmx_merge_msr_write(bitmap02, bitmap01, map.hva, m->msr);
	}
	nested_vmx_merge_x2apic_msrs(bitmap02, map.hva, vmcs12);
	kvm_vcpu_unmap(vcpu, &map, false);
	return true;
}

/*
 * Secondary controls vmcs02 takes from vmcs01: L0's own mechanisms.  With
 * PAUSE-loop exiting, L0 sees L2 spin as it sees L1 spin: vmcs02 has
 * vmcs01's PLE_GAP (nested_vmx_init_vmcs02()) and vmx.c's PLE_WINDOW, and a
 * PAUSE exit L1 did not ask for is vmx.c's (handle_pause()).
 */
#define NVMX_SEC_FROM_L0 (SECONDARY_EXEC_ENABLE_EPT |			\
			  SECONDARY_EXEC_ENABLE_VPID |			\
			  SECONDARY_EXEC_PAUSE_LOOP_EXITING |		\
			  SECONDARY_EXEC_WBINVD_EXITING |		\
			  SECONDARY_EXEC_RDRAND_EXITING |		\
			  SECONDARY_EXEC_RDSEED_EXITING |		\
			  SECONDARY_EXEC_DESC |				\
			  SECONDARY_EXEC_TSC_SCALING |			\
			  SECONDARY_EXEC_ENCLS_EXITING |		\
			  SECONDARY_EXEC_PT_USE_GPA |			\
			  SECONDARY_EXEC_PT_CONCEAL_VMX |		\
			  SECONDARY_EXEC_BUS_LOCK_DETECTION |		\
			  SECONDARY_EXEC_NOTIFY_VM_EXITING)

/*
 * Secondary controls vmcs02 takes from vmcs12: exiting L1 asks for, APIC
 * virtualization (on L1's pages, nested_vmx_map_apic_pages()),
 * instructions L1 lets L2 execute (vmx.c offers these to L1 only when L1's
 * CPUID has the feature, i.e. when vmcs01 enables it too; VMFUNC, offered
 * only when the processor allows it, with no VM function enabled in vmcs02:
 * L0 performs or reflects each, SDM 25.5.5.2), and the guest states L1 lets
 * L2 run in (unrestricted guest, offered only when vmcs01 has it).  Never
 * PML: L0 logs for L1 in software (nested_vmx_write_log_dirty()).
 */
#define NVMX_SEC_FROM_L1 (SECONDARY_EXEC_RDRAND_EXITING |		\
			  SECONDARY_EXEC_RDSEED_EXITING |		\
			  SECONDARY_EXEC_VIRTUALIZE_APIC_ACCESSES |	\
			  SECONDARY_EXEC_VIRTUALIZE_X2APIC_MODE |	\
			  SECONDARY_EXEC_APIC_REGISTER_VIRT |		\
			  SECONDARY_EXEC_VIRTUAL_INTR_DELIVERY |	\
			  SECONDARY_EXEC_ENABLE_RDTSCP |		\
			  SECONDARY_EXEC_ENABLE_INVPCID |		\
			  SECONDARY_EXEC_XSAVES |			\
			  SECONDARY_EXEC_ENABLE_USR_WAIT_PAUSE |	\
			  SECONDARY_EXEC_ENABLE_VMFUNC |		\
			  SECONDARY_EXEC_UNRESTRICTED_GUEST)

static u32 nested_vmx_secondary_controls02(struct vcpu_vmx *vmx,
					   struct vmcs12 *vmcs12)
{
	u32 l0 = __secondary_exec_controls_get(&vmx->vmcs01) & NVMX_SEC_FROM_L0;
	u32 l1 = 0;

	if (nested_cpu_has(vmcs12, CPU_BASED_ACTIVATE_SECONDARY_CONTROLS))
		l1 = vmcs12->secondary_vm_exec_control & NVMX_SEC_FROM_L1;

	return l0 | l1;
}

/*
 * VM-entry and VM-exit controls of vmcs02 are L0's: L1's exit controls are
 * applied in software at the nested exit.  The EFER and PERF_GLOBAL_CTRL
 * loads and IA-32e mode are set by vmx.c as L2's EFER and the PMU require.
 * Intel PT in host-guest mode (pt_mode=1) keeps vmcs01's RTIT_CTL load and
 * clear: L2 runs with L1's IA32_RTIT_CTL (L1 gets no PT in VMX operation).
 */
static void nested_vmx_entry_exit_controls02(struct vcpu_vmx *vmx)
{
	u32 dynamic_entry = VM_ENTRY_IA32E_MODE | VM_ENTRY_LOAD_IA32_EFER |
			    VM_ENTRY_LOAD_IA32_PERF_GLOBAL_CTRL;
	u32 dynamic_exit = VM_EXIT_LOAD_IA32_EFER |
			   VM_EXIT_LOAD_IA32_PERF_GLOBAL_CTRL;

	vm_entry_controls_set(vmx, __vm_entry_controls_get(&vmx->vmcs01) &
				   ~dynamic_entry);
	vm_exit_controls_set(vmx, __vm_exit_controls_get(&vmx->vmcs01) &
				  ~dynamic_exit);
	if (vm_entry_controls_get(vmx) & VM_ENTRY_LOAD_IA32_RTIT_CTL)
		vmcs_write64(GUEST_IA32_RTIT_CTL, vmx->pt_desc.guest.ctl);
}

/*
 * Virtual-interrupt delivery's fields (SDM 24.4.2 guest interrupt status,
 * 24.6.8 EOI-exit bitmaps), L1's as they are: the processor delivers L1's
 * virtual interrupts to L2 from RVI and virtualizes L2's EOIs (29.1.2,
 * 29.2) on L1's virtual-APIC page.  Written only when vmcs12 may hold
 * newer values than vmcs02: vmcs02 did not run L2 with virtual-interrupt
 * delivery last time (@had_vid), or dirty_vmcs12 (a VMWRITE of L1's, none
 * of the five being shadowed; a new vmcs12; a failed entry).  Otherwise
 * the bitmaps are those L1 wrote, and the status is the one the last exit
 * from L2 saved (NVMX_SYNC_SAVE_EXEC2), which vmcs02 still holds.
 */
static void nested_vmx_load_vid_fields02(struct vcpu_vmx *vmx,
					 struct vmcs12 *vmcs12, bool had_vid)
{
	if (had_vid && !vmx->nested.dirty_vmcs12)
		return;
	vmcs_write16(GUEST_INTR_STATUS, vmcs12->guest_intr_status);
	vmcs_write64(EOI_EXIT_BITMAP0, vmcs12->eoi_exit_bitmap0);
	vmcs_write64(EOI_EXIT_BITMAP1, vmcs12->eoi_exit_bitmap1);
	vmcs_write64(EOI_EXIT_BITMAP2, vmcs12->eoi_exit_bitmap2);
	vmcs_write64(EOI_EXIT_BITMAP3, vmcs12->eoi_exit_bitmap3);
}

static void nested_vmx_prepare_controls02(struct vcpu_vmx *vmx,
					  struct vmcs12 *vmcs12)
{
	u32 secondary = nested_vmx_secondary_controls02(vmx, vmcs12);
	bool had_vid = cpu_has_secondary_exec_ctrls() &&
		       (secondary_exec_controls_get(vmx) &
			SECONDARY_EXEC_VIRTUAL_INTR_DELIVERY);

	pin_controls_set(vmx, nested_vmx_pin_controls02(vmx, vmcs12));
	exec_controls_set(vmx, nested_vmx_exec_controls02(vmx, vmcs12));
	if ((exec_controls_get(vmx) & CPU_BASED_USE_MSR_BITMAPS) &&
	    !nested_evmcs_msr_bitmap_clean(vmx)) {
		if (nested_vmx_prepare_msr_bitmap02(&vmx->vcpu, vmcs12))
			vmx->nested.force_msr_bitmap_recalc = false;
		else
			exec_controls_clearbit(vmx, CPU_BASED_USE_MSR_BITMAPS);
	}
	if (cpu_has_secondary_exec_ctrls())
		secondary_exec_controls_set(vmx, secondary);
	nested_vmx_entry_exit_controls02(vmx);

	if (secondary & SECONDARY_EXEC_XSAVES)
		vmcs_write64(XSS_EXIT_BITMAP, vmcs12->xss_exit_bitmap);
	/* L0 needs none of its own: L2 cannot lower L1's TPR (above) */
	if (exec_controls_get(vmx) & CPU_BASED_TPR_SHADOW)
		vmcs_write32(TPR_THRESHOLD, vmcs12->tpr_threshold);
	if (secondary & SECONDARY_EXEC_VIRTUAL_INTR_DELIVERY)
		nested_vmx_load_vid_fields02(vmx, vmcs12, had_vid);
	/*
	 * ENCLS in L2 exits for the leaves L0 handles for L1 (sgx.c, from
	 * L1's CPUID), so that handle_encls() sees only those; L1 is offered
	 * no ENCLS exiting, and every other leaf runs as L1 set up SGX.
	 */
	if (secondary & SECONDARY_EXEC_ENCLS_EXITING)
		vmx_write_encls_bitmap(&vmx->vcpu, vmcs12);
}

/*
 * A page of L1's memory for vmcs02 to name (SDM 24.6.8), mapped writable:
 * the processor writes it behind KVM's back.  Only a page the mapping pins,
 * one with a struct page: a pfn without one (a VM_PFNMAP or VM_IO memslot)
 * is mapped without a reference and could be given back to its owner while
 * vmcs02 names it.  Refused as if no memory were behind @gpa.
 */
int nested_vmx_map_l1_page(struct kvm_vcpu *vcpu, gpa_t gpa,
			   struct kvm_host_map *map)
{
	if (kvm_vcpu_map(vcpu, gpa_to_gfn(gpa), map))
		return -EFAULT;
	if (map->page != KVM_UNMAPPED_PAGE)
		return 0;
	kvm_vcpu_unmap(vcpu, map, false);
	return -EFAULT;
}

/*
 * The posted-interrupt descriptor (SDM 29.6), which L0 reads and writes for
 * the processor at each notification while L2 runs, and the notification
 * vector that vmx.c then hands to nvmx instead of L1's local APIC
 * (vmx_deliver_nested_posted_interrupt(): nested.pi_pending).
 */
static bool nested_vmx_map_pi_desc(struct kvm_vcpu *vcpu,
				   struct vmcs12 *vmcs12)
{
	struct vcpu_vmx *vmx = to_vmx(vcpu);
	gpa_t gpa = vmcs12->posted_intr_desc_addr;

	if (!(vmcs12->pin_based_vm_exec_control & PIN_BASED_POSTED_INTR))
		return true;
	if (nested_vmx_map_l1_page(vcpu, gpa, &vmx->nested.pi_desc_map)) {
		nested_vmx_release_apic_pages(vcpu);
		return false;
	}
	vmx->nested.pi_desc = vmx->nested.pi_desc_map.hva + offset_in_page(gpa);
	WRITE_ONCE(vmx->nested.posted_intr_nv, vmcs12->posted_intr_nv);
	return true;
}

/*
 * A notification vmx.c took for L2 (nested.pi_pending) with vector @nv is
 * an external interrupt of L1's local APIC (SDM 29.6): put it in L1's IRR,
 * where the processor would find it, so that it is recognized with L1's
 * priorities and PPR, then processed for L2 if L2 still runs
 * (check_events) or taken by L1 if L2 is left first.  The exchange orders
 * the reads of the descriptor after the notification.  vmx.c compares the
 * vector before it sets the flag, so a notification can still be flagged
 * after L2 was left: @nv is then 100H plus the vector L2 had
 * (nested_vmx_release_apic_pages()), which no vector matches, and the
 * notification goes to L1's IRR at the next conversion (the next entry's
 * at the latest).  There is no pi_pending without a local APIC in the
 * kernel.  True: L1's IRR has the notification now.
 */
bool nested_vmx_pi_notification_to_irr(struct kvm_vcpu *vcpu, u16 nv)
{
	struct vcpu_vmx *vmx = to_vmx(vcpu);

	if (!READ_ONCE(vmx->nested.pi_pending) ||
	    !xchg(&vmx->nested.pi_pending, false) || nv > 0x1ff)
		return false;
	kvm_lapic_set_irr(nv & 0xff, vcpu->arch.apic);
	return true;
}

/*
 * A notification outstanding when L2 resumes without an entry (RSM,
 * KVM_SET_NESTED_STATE), once the descriptor is mapped.  One that vmx.c
 * had taken for L2 but not yet moved to L1's IRR (nested.pi_pending) is
 * not in the nested state's format, and the sender that set the
 * descriptor's ON bit notifies no more while it is set (KVM's convention,
 * and L1 KVM's): lost, it would leave the PIR waiting for good.  ON is
 * taken for such a notification, as Table 29-1 names the bit
 * ("outstanding notification"), though the processor processes the PIR
 * only when a notification arrives (29.6): an L1 that resumes L2 this way
 * with ON set and nothing sent sees it processed where the processor
 * would not (design.rst).  Raised in L1's IRR, where a restored local APIC
 * may already hold it (one interrupt either way); check_events then takes
 * it as any notification.  Not for an L2 restored halted until it runs:
 * nothing wakes it for this.
 */
void nested_vmx_pi_outstanding_to_irr(struct kvm_vcpu *vcpu)
{
	struct vcpu_vmx *vmx = to_vmx(vcpu);

	if (!vmx->nested.pi_desc || !lapic_in_kernel(vcpu) ||
	    !pi_test_on(vmx->nested.pi_desc))
		return;
	kvm_lapic_set_irr(vmx->nested.posted_intr_nv & 0xff, vcpu->arch.apic);
	kvm_make_request(KVM_REQ_EVENT, vcpu);
}

/*
 * The pages of L1's memory that vmcs02 names by host-physical address (SDM
 * 24.6.8): the virtual-APIC page under "use TPR shadow", the APIC-access
 * page under "virtualize APIC accesses", and the posted-interrupt
 * descriptor (nested_vmx_map_pi_desc()).  The processor then reads and
 * writes VTPR in L1's page (SDM 29.3), and finds L2's accesses to L1's
 * APIC-access page where L2's translation ends (29.4): in L1's memory, as
 * KVM's MMU maps it for L2, through L1's EPT or not.  Mapped, and so
 * pinned, from the entry until L2 is left, on every path
 * (nested_vmx_release_apic_pages()): the host cannot reuse a page vmcs02
 * names.  The memslot generation they were found in is kept in upstream's
 * shadow_vmcs12_cache, the cache of the shadow VMCS's address, which nvmx
 * does not use (it reads the shadow VMCS with kvm_vcpu_read_guest()): a
 * VMM that changes the memslots while L2 runs has them mapped again.
 * False, with none mapped, when memory no longer backs one.
 */
bool nested_vmx_map_apic_pages(struct kvm_vcpu *vcpu)
{
	struct vcpu_vmx *vmx = to_vmx(vcpu);
	struct vmcs12 *vmcs12 = get_vmcs12(vcpu);
	struct kvm_host_map *vapic = &vmx->nested.virtual_apic_map;
	struct kvm_host_map *access = &vmx->nested.apic_access_page_map;

	nested_vmx_release_apic_pages(vcpu);
	if (nested_cpu_has(vmcs12, CPU_BASED_TPR_SHADOW)) {
		if (nested_vmx_map_l1_page(vcpu, vmcs12->virtual_apic_page_addr,
					   vapic))
			return false;
		vmcs_write64(VIRTUAL_APIC_PAGE_ADDR, pfn_to_hpa(vapic->pfn));
	}
	if (nested_cpu_has2(vmcs12, SECONDARY_EXEC_VIRTUALIZE_APIC_ACCESSES)) {
		if (nested_vmx_map_l1_page(vcpu, vmcs12->apic_access_addr,
					   access)) {
			nested_vmx_release_apic_pages(vcpu);
			return false;
		}
		vmcs_write64(APIC_ACCESS_ADDR, pfn_to_hpa(access->pfn));
	}
	/* The memslots they came from (nested_vmx_apic_pages_refresh()) */
	vmx->nested.shadow_vmcs12_cache.generation =
		kvm_vcpu_memslots(vcpu)->generation;
	return nested_vmx_map_pi_desc(vcpu, vmcs12);
}

/*
 * vmcs02, if loaded, names no page: an all-ones address fails the entry
 * (SDM 26.2.1.1, beyond the physical-address width) should one happen
 * without mapping the pages again, rather than let the processor use a
 * page given back to the host.
 */
static void nested_vmx_unname_apic_pages(struct vcpu_vmx *vmx)
{
	if (vmx->loaded_vmcs != &vmx->nested.vmcs02)
		return;
	if (cpu_has_vmx_tpr_shadow())
		vmcs_write64(VIRTUAL_APIC_PAGE_ADDR, INVALID_GPA);
	if (cpu_has_vmx_virtualize_apic_accesses())
		vmcs_write64(APIC_ACCESS_ADDR, INVALID_GPA);
}

/*
 * Whatever the last entry mapped; the virtual-APIC page is dirty (L2 may
 * have written VTPR since the last exit marked it).  Every way out of L2
 * comes here, and so does a new mapping: a posted-interrupt notification
 * L2 did not take becomes L1's, in its IRR.
 */
void nested_vmx_release_apic_pages(struct kvm_vcpu *vcpu)
{
	struct vcpu_vmx *vmx = to_vmx(vcpu);
	u16 nv = vmx->nested.posted_intr_nv;

	/* later notifications are L1's; one L2 did not take is L1's too */
	if (nv <= 0xff)
		WRITE_ONCE(vmx->nested.posted_intr_nv, 0x100 | nv);
	if (nested_vmx_pi_notification_to_irr(vcpu, nv))
		kvm_make_request(KVM_REQ_EVENT, vcpu);
	vmx->nested.pi_desc = NULL;
	kvm_vcpu_unmap(vcpu, &vmx->nested.pi_desc_map, true);
	kvm_vcpu_unmap(vcpu, &vmx->nested.virtual_apic_map, true);
	kvm_vcpu_unmap(vcpu, &vmx->nested.apic_access_page_map, false);
	nested_vmx_unname_apic_pages(vmx);
}

/*
 * The APIC pages for an entry: at once for VMLAUNCH and VMRESUME, whose
 * checks found the virtual-APIC page in L1's memory; an APIC-access page
 * outside it KVM cannot map for L2 at all, and says so to userspace (an
 * internal error, as stock KVM does; the SDM has no such failure).  When
 * L2 resumes without an entry (RSM, KVM_SET_NESTED_STATE), before it runs,
 * once the VMM has set L1's memory (nested_vmx_get_state_pages()).
 */
static bool nested_vmx_get_apic_pages(struct kvm_vcpu *vcpu,
				      struct vmcs12 *vmcs12, bool from_vmentry)
{
	if (!nested_vmx_has_apic_pages(vmcs12))
		return true;
	if (!from_vmentry) {
		nested_vmx_unname_apic_pages(to_vmx(vcpu));
		kvm_make_request(KVM_REQ_GET_NESTED_STATE_PAGES, vcpu);
		return true;
	}
	if (nested_vmx_map_apic_pages(vcpu))
		return true;
	nested_vmx_report_missing_page(vcpu);
	return false;
}

/*
 * Exceptions: vmx_update_exception_bitmap() adds L1's bitmap to L0's in
 * guest mode.  #PF filtering by error code is L1's unless L0 needs every
 * #PF itself (shadow paging), where mask = match = 0 lets all of them exit.
 */
static void nested_vmx_prepare_exceptions02(struct kvm_vcpu *vcpu,
					    struct vmcs12 *vmcs12)
{
	bool l0_wants_pf = vmx_need_pf_intercept(vcpu);

	vmx_update_exception_bitmap(vcpu);
	vmcs_write32(PAGE_FAULT_ERROR_CODE_MASK,
		     l0_wants_pf ? 0 : vmcs12->page_fault_error_code_mask);
	vmcs_write32(PAGE_FAULT_ERROR_CODE_MATCH,
		     l0_wants_pf ? 0 : vmcs12->page_fault_error_code_match);
}

/*
 * SDM 25.3: with "use TSC offsetting", L2's TSC is L1's scaled by vmcs12's
 * multiplier (with "use TSC scaling") and offset by vmcs12's offset; L1's
 * is the host's scaled and offset by L0.  kvm.ko composes the two into the
 * one multiplier and offset vmcs02 holds, and reads L2's TSC with them when
 * L0 emulates a read (RDMSR of IA32_TSC).  The SDM (25.3, 26.2.1.1) puts
 * no rule on the multiplier, but a processor may refuse 0 in vmcs02 (the
 * emulated one fails the entry with VMfailValid 7, which L0 could only
 * report to userspace as its own failure): L1's 0, or a product that
 * rounds down to 0 (a small multiplier of L1's where L0 slows L1's TSC),
 * gives vmcs02 1, the same rate to within the rounding.  kvm.ko's own
 * recomputation when the VMM sets L1's TSC frequency while L2 runs
 * (kvm_vcpu_write_tsc_multiplier()) does not know this.
 */
static void nested_vmx_prepare_tsc02(struct kvm_vcpu *vcpu)
{
	u64 l2_ratio = vmx_get_l2_tsc_multiplier(vcpu);

	vcpu->arch.tsc_offset =
		kvm_calc_nested_tsc_offset(vcpu->arch.l1_tsc_offset,
					   vmx_get_l2_tsc_offset(vcpu),
					   l2_ratio);
	vcpu->arch.tsc_scaling_ratio =
		max_t(u64, 1,
		      kvm_calc_nested_tsc_multiplier(vcpu->arch.l1_tsc_scaling_ratio,
						     l2_ratio));

	vmcs_write64(TSC_OFFSET, vcpu->arch.tsc_offset);
	if (secondary_exec_controls_get(to_vmx(vcpu)) &
	    SECONDARY_EXEC_TSC_SCALING)
		vmcs_write64(TSC_MULTIPLIER, vcpu->arch.tsc_scaling_ratio);
}

/*
 * SDM 26.3.2.1: the entry loads the MSR or debug register under the entry
 * control @ctl from vmcs12.  Not when L2 is @resumed (RSM, or a state set
 * after L2 ran): vmcs12 then holds what L1 gave the entry, and L2 runs on
 * with the value it has since made its own, which the vCPU holds (SMRAM,
 * KVM_SET_SREGS, KVM_SET_MSRS, KVM_SET_DEBUGREGS).
 */
static bool nvmx_entry_loads(struct vmcs12 *vmcs12, u32 ctl, bool resumed)
{
	return !resumed && (vmcs12->vm_entry_controls & ctl);
}

/*
 * SDM 26.3.2.1: IA32_EFER as L2 starts with it: vmcs12's when the entry
 * loads it, else L1's with LMA (and LME when paging) from "IA-32e mode
 * guest".
 */
static u64 nvmx_guest_efer(struct kvm_vcpu *vcpu, struct vmcs12 *vmcs12,
			   bool resumed)
{
	u64 efer = vcpu->arch.efer;
	u64 mode_bits = EFER_LMA;

	if (nvmx_entry_loads(vmcs12, VM_ENTRY_LOAD_IA32_EFER, resumed))
		return vmcs12->guest_ia32_efer;

	if (vmcs12->guest_cr0 & X86_CR0_PG)
		mode_bits |= EFER_LME;
	return nvmx_ia32e_guest(vmcs12) ? efer | mode_bits : efer & ~mode_bits;
}

/*
 * SDM 26.3.2.1: CR0, CR4 and IA32_EFER through KVM's own setters, so that
 * vmx.c's view (vcpu->arch, forced bits, IA-32e entry control, EFER
 * switching) is L2's; masks and read shadows from the ownership rule.
 */
static void nested_vmx_load_cr_efer02(struct kvm_vcpu *vcpu,
				      struct vmcs12 *vmcs12, bool resumed)
{
	struct nvmx_cr cr0 = nested_vmx_cr0_owners(vcpu, vmcs12);
	struct nvmx_cr cr4 = nested_vmx_cr4_owners(vcpu, vmcs12);

	vcpu->arch.cr0_guest_owned_bits = ~nvmx_cr_mask02(&cr0);
	vcpu->arch.cr4_guest_owned_bits = ~nvmx_cr_mask02(&cr4);
	vmcs_writel(CR0_GUEST_HOST_MASK, nvmx_cr_mask02(&cr0));
	vmcs_writel(CR4_GUEST_HOST_MASK, nvmx_cr_mask02(&cr4));

	vmx_set_efer(vcpu, nvmx_guest_efer(vcpu, vmcs12, resumed));
	vmx_set_cr0(vcpu, vmcs12->guest_cr0);
	vmx_set_cr4(vcpu, vmcs12->guest_cr4);
	vmcs_writel(CR0_READ_SHADOW, nvmx_cr_shadow02(&cr0, vmcs12->guest_cr0));
	vmcs_writel(CR4_READ_SHADOW, nvmx_cr_shadow02(&cr4, vmcs12->guest_cr4));
}

/* The root of L1's EPT for L2, as KVM's shadow EPT MMU walks it. */
static unsigned long nested_ept_get_eptp(struct kvm_vcpu *vcpu)
{
	return get_vmcs12(vcpu)->ept_pointer;
}

/* The largest page L1's EPT may map, from what L1 is offered (SDM A.10). */
static int nvmx_ept_huge_page_level(struct kvm_vcpu *vcpu)
{
	u32 caps = to_vmx(vcpu)->nested.msrs.ept_caps;

	if (caps & VMX_EPT_1GB_PAGE_BIT)
		return PG_LEVEL_1G;
	if (caps & VMX_EPT_2MB_PAGE_BIT)
		return PG_LEVEL_2M;
	return PG_LEVEL_4K;
}

/*
 * L2's guest-physical space is L1's EPT (SDM 28.2): KVM's MMU shadows it
 * (guest_mmu, rooted at vmcs12's EPTP, whose faults become EPT violations
 * and misconfigurations for L1), and walks L2's own page tables through it
 * (nested_mmu).  Every way out of guest mode puts root_mmu back
 * (nested_vmx_restore_l1_mmu()).
 */
void nested_vmx_init_ept_mmu(struct kvm_vcpu *vcpu, struct vmcs12 *vmcs12)
{
	struct kvm_mmu *mmu = &vcpu->arch.guest_mmu;
	u32 caps = to_vmx(vcpu)->nested.msrs.ept_caps;

	vcpu->arch.mmu = mmu;
	kvm_init_shadow_ept_mmu(vcpu, caps & VMX_EPT_EXECUTE_ONLY_BIT,
				nvmx_ept_huge_page_level(vcpu),
				nested_ept_ad_enabled(vcpu),
				vmcs12->ept_pointer);
	mmu->get_guest_pgd = nested_ept_get_eptp;
	mmu->inject_page_fault = nested_vmx_ept_inject_page_fault;
	mmu->get_pdptr = kvm_pdptr_read;
	vcpu->arch.walk_mmu = &vcpu->arch.nested_mmu;
}

/*
 * SDM 26.3.2.4: with EPT, PAE paging takes its PDPTEs from the guest-state
 * fields, not from memory; the processor checks them on vmcs02 (SDM
 * 26.3.1.6), where vmx.c writes them before the entry.
 */
static void nested_vmx_load_pdptes12(struct kvm_vcpu *vcpu,
				     struct vmcs12 *vmcs12)
{
	u64 *pdptrs = vcpu->arch.walk_mmu->pdptrs;

	pdptrs[0] = vmcs12->guest_pdptr0;
	pdptrs[1] = vmcs12->guest_pdptr1;
	pdptrs[2] = vmcs12->guest_pdptr2;
	pdptrs[3] = vmcs12->guest_pdptr3;
	kvm_register_mark_dirty(vcpu, VCPU_EXREG_PDPTR);
}

/*
 * SDM 26.3.2.1 and 26.3.1.6: CR3, and the PDPTEs when L2 uses PAE paging.
 * Without EPT in vmcs12, L2's guest-physical space is L1's: KVM's MMU
 * gets a root for the L2 role (guest mode) over the same memory, found by
 * CR3.  With EPT the root follows the EPTP, and CR3 goes to vmcs02.
 */
static bool nested_vmx_load_cr3(struct kvm_vcpu *vcpu, struct vmcs12 *vmcs12,
				bool from_vmentry)
{
	unsigned long cr3 = vmcs12->guest_cr3;
	bool ept = nested_cpu_has_ept(vmcs12);

	if (ept)
		nested_vmx_init_ept_mmu(vcpu, vmcs12);
	vcpu->arch.cr3 = cr3;
	kvm_register_mark_dirty(vcpu, VCPU_EXREG_CR3);
	kvm_init_mmu(vcpu);

	if (ept) {
		if (is_pae_paging(vcpu))
			nested_vmx_load_pdptes12(vcpu, vmcs12);
		/* L1's memory may not hold the EPT PML4 table: looked at then */
		if (!from_vmentry)
			kvm_make_request(KVM_REQ_GET_NESTED_STATE_PAGES, vcpu);
		return true;
	}

	/*
	 * Without an entry now (RSM, KVM_SET_NESTED_STATE), the entry that
	 * loaded L2's PDPTEs has happened, and the processor keeps them:
	 * SMRAM's CR3 reloads them, the VMM may set them (KVM_SET_SREGS2),
	 * else they are read again before L2 runs, once the VMM has set
	 * L1's memory (nested_vmx_get_state_pages()).
	 */
	if (!from_vmentry)
		kvm_make_request(KVM_REQ_GET_NESTED_STATE_PAGES, vcpu);
	else if (is_pae_paging(vcpu) && !nvmx_rule(load_pdptrs(vcpu, cr3)))
		return false;

	kvm_mmu_new_pgd(vcpu, cr3);
	return true;
}

/*
 * SDM 26.3.2.1: DR7 and IA32_DEBUGCTL from vmcs12 under "load debug
 * controls", else the vCPU's values stay, L1's or, when L2 resumes, L2's
 * (vmcs02 always loads both, so they are written into it).
 */
static void nested_vmx_load_debug02(struct kvm_vcpu *vcpu,
				    struct vmcs12 *vmcs12, bool resumed)
{
	struct vcpu_vmx *vmx = to_vmx(vcpu);
	u64 debugctl = vmx->nested.pre_vmenter_debugctl;

	if (nvmx_entry_loads(vmcs12, VM_ENTRY_LOAD_DEBUG_CONTROLS, resumed)) {
		kvm_set_dr(vcpu, 7, vmcs12->guest_dr7);
		debugctl = vmcs12->guest_ia32_debugctl &
			   vmx_get_supported_debugctl(vcpu, false);
	} else {
		kvm_update_dr7(vcpu);
	}
	vmx_guest_debugctl_write(vcpu, debugctl);
}

/*
 * SDM 26.3.2.1: PAT (under its load control).  vmcs02 inherits vmcs01's
 * "load IA32_BNDCFGS", which L0 sets for L1's MPX state where the processor
 * has it; L1 has no such control, so L2 starts with L1's value.
 */
static void nested_vmx_load_msrs02(struct kvm_vcpu *vcpu,
				   struct vmcs12 *vmcs12, bool resumed)
{
	struct vcpu_vmx *vmx = to_vmx(vcpu);

	if (nvmx_entry_loads(vmcs12, VM_ENTRY_LOAD_IA32_PAT, resumed))
		vcpu->arch.pat = vmcs12->guest_ia32_pat;
	if (vm_entry_controls_get(vmx) & VM_ENTRY_LOAD_IA32_PAT)
		vmcs_write64(GUEST_IA32_PAT, vcpu->arch.pat);
	if (vm_entry_controls_get(vmx) & VM_ENTRY_LOAD_BNDCFGS)
		vmcs_write64(GUEST_BNDCFGS, vmx->nested.pre_vmenter_bndcfgs);
}

/*
 * SDM 26.3.2.3 and 26.3.2.4: RIP, RSP, RFLAGS and the non-register state.
 * L2 always starts active in vmcs02; a HLT activity state is emulated.
 */
static void nested_vmx_load_rip_and_state02(struct kvm_vcpu *vcpu,
					    struct vmcs12 *vmcs12)
{
	struct vcpu_vmx *vmx = to_vmx(vcpu);
	u32 intr = vmcs12->guest_interruptibility_info;

	kvm_rip_write(vcpu, vmcs12->guest_rip);
	kvm_rsp_write(vcpu, vmcs12->guest_rsp);
	vmx_set_rflags(vcpu, vmcs12->guest_rflags);

	vmcs_write32(GUEST_INTERRUPTIBILITY_INFO, intr);
	vmcs_write32(GUEST_ACTIVITY_STATE, GUEST_ACTIVITY_ACTIVE);
	vmx->loaded_vmcs->nmi_known_unmasked = !(intr & GUEST_INTR_STATE_NMI);
}

/*
 * The guest state that lives in vmcs02 alone, where KVM keeps no copy
 * (NVMX_SYNC_VMCS02): segments, descriptor tables (SDM 26.3.2.2), SYSENTER
 * MSRs (26.3.2.1) and the pending debug exceptions (26.3.2.4).  It needs
 * loading only when vmcs12's copy is newer than vmcs02's: not while
 * vmcs02 still holds what the last exit left there (vmcs12's copy is then
 * the older one: so at RSM, SMM having been entered from L2 by an exit),
 * and otherwise only if L1 wrote a field of vmcs12 other than the shadowed
 * ones (which are loaded on every entry), vmcs12 is new (VMPTRLD), or the
 * last entry failed (dirty_vmcs12).
 */
static void nested_vmx_load_vmcs02_state(struct vcpu_vmx *vmx,
					 struct vmcs12 *vmcs12)
{
	const struct nvmx_field *f;
	unsigned int i;

	if (vmx->nested.need_sync_vmcs02_to_vmcs12_rare ||
	    !vmx->nested.dirty_vmcs12)
		return;

	for (i = 0; i < nvmx_nr_vmcs02_rows; i++) {
		f = &nvmx_fields[nvmx_vmcs02_rows[i]];
		nvmx_vmcs_write(f, nvmx_vmcs12_read(vmcs12, f));
	}
	/*
	 * vmx.c may have cached vmcs02's old segments since the switch (a
	 * preemption reads the CPL): they are L2's now.
	 */
	vmx->segment_cache.bitmask = 0;
}

/*
 * Load L2's guest state into vmcs02 and KVM.  L2 resumes rather than
 * starts when KVM_SET_NESTED_STATE restores it after it ran (!@from_vmentry,
 * no entry pending, not RSM).  At RSM, SMRAM reloads EFER and DR7 next,
 * and vmcs12 has L2's PAT and DEBUGCTL where the SMI's exit saved them:
 * the SMI's exit loaded L1's into the vCPU, where an SMI in VMX non-root
 * operation leaves them alone.  Fails only where the SDM's checks
 * need L2's paging context (PDPTEs) or where KVM could not run the result
 * on hardware without emulating it; *qual then holds the VM-entry failure
 * qualification (SDM 26.8).
 */
static bool nested_vmx_load_guest_state02(struct kvm_vcpu *vcpu,
					  struct vmcs12 *vmcs12,
					  bool from_vmentry, u32 *qual)
{
	struct vcpu_vmx *vmx = to_vmx(vcpu);
	bool resumed = !from_vmentry && !vmx->nested.nested_run_pending &&
		       !vmx->nested.smm.guest_mode;

	nested_vmx_load_vmcs02_state(vmx, vmcs12);
	nested_vmx_load_cr_efer02(vcpu, vmcs12, resumed);
	nested_vmx_load_debug02(vcpu, vmcs12, resumed);
	nested_vmx_load_msrs02(vcpu, vmcs12, resumed);
	nested_vmx_load_rip_and_state02(vcpu, vmcs12);

	*qual = ENTRY_FAIL_PDPTE;
	if (!nested_vmx_load_cr3(vcpu, vmcs12, from_vmentry))
		return false;

	/*
	 * State KVM cannot run on hardware is refused: at VMLAUNCH and
	 * VMRESUME as a VM-entry failure.  At RSM, L2's state was valid
	 * when L2 had it, and KVM_SET_NESTED_STATE checked it as the
	 * processor would (nested_vmx_check_guest_segments()): only a state
	 * some rule of vmx.c's own refuses gets here, and the caller fails
	 * (vmx.c would otherwise find L2 in a state it must emulate).
	 * vmx_set_cr0() judged vmx->emulation_required with L2's segments
	 * in place, vmx_set_rflags() again if RFLAGS.VM changed.
	 */
	*qual = ENTRY_FAIL_DEFAULT;
	return nvmx_rule(!vmx->emulation_required);
}

/*
 * SDM 26.4: an entry a VM-entry MSR-load list may not have: those no
 * MSR-load list may, and the microcode-update trigger.
 */
static bool nvmx_msr_loadable_on_entry(struct kvm_vcpu *vcpu,
				       const struct vmx_msr_entry *e)
{
	return !nested_vmx_msr_load_refused(vcpu, e) &&
	       e->index != MSR_IA32_UCODE_WRITE;
}

/*
 * SDM 26.4: load the VM-entry MSR-load list, in order.  Returns 0 on
 * success, else the 1-based number of the entry that failed.
 */
static u32 nested_vmx_load_entry_msrs(struct kvm_vcpu *vcpu,
				      struct vmcs12 *vmcs12)
{
	u32 max = nested_vmx_max_msr_list(vcpu);
	u64 gpa = vmcs12->vm_entry_msr_load_addr;
	struct vmx_msr_entry e;
	u32 i;

	for (i = 0; i < vmcs12->vm_entry_msr_load_count; i++, gpa += sizeof(e)) {
		if (!nvmx_rule(i < max) ||
		    !nvmx_rule(!kvm_vcpu_read_guest(vcpu, gpa, &e, sizeof(e))) ||
		    !nvmx_rule(nvmx_msr_loadable_on_entry(vcpu, &e)) ||
		    !nvmx_rule(!kvm_set_msr(vcpu, e.index, e.value)))
			return i + 1;
	}
	return 0;
}

/*
 * SDM 26.6: the event of vmcs12's VM-entry interruption-information field
 * goes into vmcs02's, so the processor delivers it on the coming entry,
 * once: if KVM cancels that entry, vmx.c moves it to its re-injection
 * state, and a VM exit clears the field.
 */
void nested_vmx_inject_event02(struct vcpu_vmx *vmx, struct vmcs12 *vmcs12)
{
	u32 info = vmcs12->vm_entry_intr_info_field;

	vmcs_write32(VM_ENTRY_INTR_INFO_FIELD, info);
	if (!(info & INTR_INFO_VALID_MASK))
		return;

	vmcs_write32(VM_ENTRY_EXCEPTION_ERROR_CODE,
		     vmcs12->vm_entry_exception_error_code);
	vmcs_write32(VM_ENTRY_INSTRUCTION_LEN, vmcs12->vm_entry_instruction_len);
	if ((info & INTR_INFO_INTR_TYPE_MASK) == INTR_TYPE_NMI_INTR)
		vmx->loaded_vmcs->nmi_known_unmasked = false;
}

/*
 * Give up an entry that failed after vmcs02 was loaded and L2's state
 * partly installed: back to vmcs01 and L1's TSC.  For a VM-entry failure
 * the caller then loads L1's host state from vmcs12 (SDM 26.8); for an
 * APIC page memory does not back, it loads nothing and KVM_RUN ends with
 * an internal error, L1 left at its VMLAUNCH or VMRESUME.
 */
static void nested_vmx_abandon_entry(struct kvm_vcpu *vcpu)
{
	struct vcpu_vmx *vmx = to_vmx(vcpu);

	/* L2's CR0/CR4 as far as installed: the failure exit starts from it. */
	kvm_read_cr0(vcpu);
	kvm_read_cr4(vcpu);
	kvm_clear_request(KVM_REQ_GET_NESTED_STATE_PAGES, vcpu);
	nested_vmx_release_apic_pages(vcpu);
	leave_guest_mode(vcpu);
	nested_vmx_restore_l1_mmu(vcpu);
	nested_vmx_switch_vmcs(vcpu, &vmx->vmcs01);
	nested_vmx_restore_l1_tsc(vcpu);
}

/*
 * SDM 28.3.3.1: the VPID vmcs02 runs L2 with, and the TLB at VM entry.
 *
 * With "enable VPID" 0 in vmcs12 (or no vpid02 to give L2), L2 runs on
 * L1's VPID, and the entry invalidates the linear and combined mappings of
 * VPID 0000H, L1's and L2's alike.  That is a flush of the guest's whole
 * TLB: with shadow paging it syncs the shadow pages left unsync'd (a
 * "current" flush would not), and it is serviced in L2's context, before
 * L2 runs.
 *
 * With "enable VPID" 1, L2 runs on vpid02 and the entry invalidates
 * nothing, except that vpid02 holds the translations of the VPID that L1
 * gave L2 last time (nested.last_vpid, 0 when L2 ran on L1's): another VPID
 * starts empty.  VIRTUAL_PROCESSOR_ID is written only when it changes.
 */
static void nested_vmx_entry_tlb(struct kvm_vcpu *vcpu, struct vmcs12 *vmcs12)
{
	struct vcpu_vmx *vmx = to_vmx(vcpu);
	u16 vpid12 = nested_vmx_l2_tagged(vcpu, vmcs12) ?
		     vmcs12->virtual_processor_id : 0;

	if (!vpid12 || vpid12 != vmx->nested.last_vpid)
		kvm_make_request(KVM_REQ_TLB_FLUSH_GUEST, vcpu);
	if (!vpid12 != !vmx->nested.last_vpid)
		vmcs_write16(VIRTUAL_PROCESSOR_ID,
			     vpid12 ? vmx->nested.vpid02 : vmx->vpid);
	vmx->nested.last_vpid = vpid12;
}

/*
 * L1TF: L2 must not find L1's data in the L1 data cache.  vmx.c's
 * conditional mitigation flushes L1D before the next hardware entry only
 * when asked; L1's VMRESUME exited to L0 with nothing else asking.  Not
 * inlined: the tests count its calls with a kprobe.
 */
static noinline void nested_vmx_hide_l1d_from_l2(struct kvm_vcpu *vcpu)
{
	vcpu->arch.l1tf_flush_l1d = true;
}

/*
 * L1 state that L2 starts with when vmcs12 does not load it, but that vmcs02
 * loads: IA32_DEBUGCTL, and IA32_BNDCFGS under vmcs01's own load control.
 */
static void nested_vmx_snapshot_l1_state(struct vcpu_vmx *vmx)
{
	vmx->nested.pre_vmenter_debugctl = vmx_guest_debugctl_read();
	if (vm_entry_controls_get(vmx) & VM_ENTRY_LOAD_BNDCFGS)
		vmx->nested.pre_vmenter_bndcfgs = vmcs_read64(GUEST_BNDCFGS);
}

/*
 * kvm.ko's tracepoint, shared with nested SVM (trace.h): L1's RIP, the
 * VMCS, L2's RIP, SVM's virtual-interrupt control "int_ctl", whose VMX
 * counterpart is the guest interrupt status (RVI and SVI, SDM 24.4.2), the
 * event to inject, and the paging root L2 starts from.
 */
static void nested_vmx_trace_entry(struct kvm_vcpu *vcpu,
				   struct vmcs12 *vmcs12)
{
	trace_kvm_nested_vmenter(kvm_rip_read(vcpu),
				 to_vmx(vcpu)->nested.current_vmptr,
				 vmcs12->guest_rip,
				 vmcs12->guest_intr_status,
				 vmcs12->vm_entry_intr_info_field,
				 nested_cpu_has_ept(vmcs12),
				 vmcs12->ept_pointer, vmcs12->guest_cr3,
				 KVM_ISA_VMX);
}

/*
 * Enter VMX non-root operation with vmcs12's guest state.  From VMLAUNCH
 * and VMRESUME (@from_vmentry) after the checks of SDM 26.2 passed: the
 * guest-state checks, the MSR-load list and event injection happen here.
 * From RSM (vmx_leave_smm), L2's state was valid when SMM was entered;
 * from KVM_SET_NESTED_STATE, the state was checked, and the entry may
 * still be pending (nested_run_pending already set).
 */
enum nvmx_vmentry_status nested_vmx_enter_non_root_mode(struct kvm_vcpu *vcpu,
							bool from_vmentry)
{
	struct vcpu_vmx *vmx = to_vmx(vcpu);
	struct vmcs12 *vmcs12 = get_vmcs12(vcpu);
	u32 reason = EXIT_REASON_INVALID_STATE;
	u32 qual;

	if (from_vmentry)
		nested_vmx_trace_entry(vcpu, vmcs12);

	/*
	 * Flushes still pending were asked for L1's context (its MMU root,
	 * its EPTP): done after the switch, they would flush L2's instead.
	 */
	kvm_service_local_tlb_flush_requests(vcpu);
	/*
	 * vmx.c's real-mode emulation (vm86) belongs to vmcs01: RSM cleared
	 * CR0.PE before it gets here, a VMM may set the nested state of a
	 * vCPU in real mode.  Left in it, vmx_set_cr0() would leave it on
	 * vmcs02, over L2's segments.
	 */
	if (!from_vmentry && vmx->rmode.vm86_active)
		vmx_set_cr0(vcpu, kvm_read_cr0(vcpu) | X86_CR0_PE);
	nested_vmx_snapshot_l1_state(vmx);
	nested_vmx_switch_vmcs(vcpu, &vmx->nested.vmcs02);
	if (from_vmentry && !nested_vmx_check_guest_state(vcpu, vmcs12, &qual)) {
		nested_vmx_switch_vmcs(vcpu, &vmx->vmcs01);
		goto fail_on_vmcs01;
	}
	/* vmx.c records L1's TPR threshold here while L2 runs (nested_exit.c) */
	vmx->nested.l1_tpr_threshold = -1;
	/* No page-modification log-full event is pending for the new L2 */
	vmx->nested.pml_full = false;
	enter_guest_mode(vcpu);

	nested_vmx_prepare_controls02(vmx, vmcs12);
	nested_vmx_prepare_exceptions02(vcpu, vmcs12);
	nested_vmx_prepare_tsc02(vcpu);
	if (!nested_vmx_get_apic_pages(vcpu, vmcs12, from_vmentry)) {
		nested_vmx_abandon_entry(vcpu);
		return NVMX_VMENTRY_KVM_INTERNAL_ERROR;
	}
	if (!nested_vmx_load_guest_state02(vcpu, vmcs12, from_vmentry, &qual))
		goto fail_on_vmcs02;

	if (from_vmentry) {
		qual = nested_vmx_load_entry_msrs(vcpu, vmcs12);
		if (qual) {
			reason = EXIT_REASON_MSR_LOAD_FAIL;
			goto fail_on_vmcs02;
		}
		nested_vmx_inject_event02(vmx, vmcs12);
	} else {
		vmcs_write32(VM_ENTRY_INTR_INFO_FIELD, 0);
	}

	nested_vmx_entry_tlb(vcpu, vmcs12);
	nested_vmx_hide_l1d_from_l2(vcpu);
	nested_vmx_start_preemption_timer(vcpu, vmcs12, from_vmentry);
	nested_vmx_request_event_if_pending(vcpu);
	vmx->nested.dirty_vmcs12 = false;
	return NVMX_VMENTRY_SUCCESS;

fail_on_vmcs02:
	nested_vmx_abandon_entry(vcpu);
fail_on_vmcs01:
	/*
	 * vmcs02 may hold part of vmcs12's state: the next entry loads all
	 * of it that vmcs12 holds the newer copy of.
	 */
	vmx->nested.dirty_vmcs12 = true;
	if (!from_vmentry)
		return NVMX_VMENTRY_KVM_INTERNAL_ERROR;
	nested_vmx_entry_failure(vcpu, vmcs12, reason, qual);
	return NVMX_VMENTRY_VMEXIT;
}

/* A segment register of vmcs12's guest state (SDM 24.4.1). */
struct nvmx_seg {
	u16 sel;
	u64 base;
	u32 limit;
	u32 ar;
};

/* The SDM's order of the segment fields' encodings (SDM B.1.2 to B.4.3) */
enum {
	NVMX_ES, NVMX_CS, NVMX_SS, NVMX_DS, NVMX_FS, NVMX_GS, NVMX_LDTR, NVMX_TR
};

static u64 nvmx_guest_field(struct vmcs12 *vmcs12, u32 encoding)
{
	return nvmx_vmcs12_read(vmcs12, nvmx_vmcs12_field(encoding));
}

static struct nvmx_seg nvmx_guest_seg(struct vmcs12 *vmcs12, u32 i)
{
	return (struct nvmx_seg){
		.sel = nvmx_guest_field(vmcs12, GUEST_ES_SELECTOR + 2 * i),
		.base = nvmx_guest_field(vmcs12, GUEST_ES_BASE + 2 * i),
		.limit = nvmx_guest_field(vmcs12, GUEST_ES_LIMIT + 2 * i),
		.ar = nvmx_guest_field(vmcs12, GUEST_ES_AR_BYTES + 2 * i),
	};
}

static bool nvmx_seg_usable(const struct nvmx_seg *s)
{
	return !(s->ar & VMX_AR_UNUSABLE_MASK);
}

static u32 nvmx_seg_type(const struct nvmx_seg *s)
{
	return s->ar & VMX_AR_TYPE_MASK;
}

/*
 * SDM 26.3.1.2, access rights outside virtual-8086 mode, the rules every
 * usable segment (and CS, TR, LDTR) shares: present, reserved bits 11:8
 * and 31:17 clear, and the granularity flag that the limit implies.
 */
static bool nvmx_seg_ar_ok(const struct nvmx_seg *s, bool system)
{
	return nvmx_rule(!(s->ar & VMX_AR_S_MASK) == system) &&
	       nvmx_rule(s->ar & VMX_AR_P_MASK) &&
	       nvmx_rule(!(s->ar & VMX_AR_RESERVD_MASK)) &&
	       nvmx_rule((s->limit & 0xfff) == 0xfff ||
			 !(s->ar & VMX_AR_G_MASK)) &&
	       nvmx_rule(!(s->limit & 0xfff00000) || (s->ar & VMX_AR_G_MASK));
}

/* SDM 26.3.1.2: CS, SS, DS, ES, FS and GS in virtual-8086 mode. */
static bool nvmx_seg_v86_ok(const struct nvmx_seg *s)
{
	return nvmx_rule(s->base == (u64)s->sel << 4) &&
	       nvmx_rule(s->limit == 0xffff) &&
	       nvmx_rule(s->ar == 0xf3);
}

/*
 * SDM 26.3.1.2: CS outside virtual-8086 mode, and SS's DPL, which CS's
 * type decides.  vmx.c also runs no unusable CS on hardware without
 * "unrestricted guest" (it would emulate L2).
 */
static bool nvmx_guest_cs_ss_ok(struct vmcs12 *vmcs12, bool ug)
{
	struct nvmx_seg cs = nvmx_guest_seg(vmcs12, NVMX_CS);
	struct nvmx_seg ss = nvmx_guest_seg(vmcs12, NVMX_SS);
	u32 type = nvmx_seg_type(&cs), dpl = VMX_AR_DPL(cs.ar);
	u32 ss_dpl = VMX_AR_DPL(ss.ar);

	if (!nvmx_rule(type == 9 || type == 11 || type == 13 || type == 15 ||
		       (ug && type == 3)) ||
	    !nvmx_rule(ug || nvmx_seg_usable(&cs)) ||
	    !nvmx_seg_ar_ok(&cs, false) ||
	    !nvmx_rule(!(cs.base >> 32)))
		return false;

	if (!nvmx_rule(type != 3 || dpl == 0) ||
	    !nvmx_rule((type != 9 && type != 11) || dpl == ss_dpl) ||
	    !nvmx_rule((type != 13 && type != 15) || dpl <= ss_dpl) ||
	    !nvmx_rule(!nvmx_ia32e_guest(vmcs12) || !(cs.ar & VMX_AR_L_MASK) ||
		       !(cs.ar & VMX_AR_DB_MASK)))
		return false;

	if (!nvmx_rule(ug || (ss.sel & SEGMENT_RPL_MASK) ==
			     (cs.sel & SEGMENT_RPL_MASK)) ||
	    !nvmx_rule(ug || ss_dpl == (ss.sel & SEGMENT_RPL_MASK)) ||
	    !nvmx_guest_ss_dpl_ok(vmcs12))
		return false;

	if (!nvmx_seg_usable(&ss))
		return true;
	return nvmx_rule(nvmx_seg_type(&ss) == 3 || nvmx_seg_type(&ss) == 7) &&
	       nvmx_seg_ar_ok(&ss, false) &&
	       nvmx_rule(!(ss.base >> 32));
}

/* SDM 26.3.1.2: SS's DPL is 0 when CR0.PE is 0 or CS's type is 3. */
static bool nvmx_guest_ss_dpl_ok(struct vmcs12 *vmcs12)
{
	u32 cs_type = vmcs12->guest_cs_ar_bytes & VMX_AR_TYPE_MASK;

	return nvmx_rule((cs_type != 3 && (vmcs12->guest_cr0 & X86_CR0_PE)) ||
			 !VMX_AR_DPL(vmcs12->guest_ss_ar_bytes));
}

/* SDM 26.3.1.2: DS, ES, FS or GS outside virtual-8086 mode. */
static bool nvmx_guest_data_seg_ok(const struct nvmx_seg *s, bool ug)
{
	u32 type = nvmx_seg_type(s);

	if (!nvmx_seg_usable(s))
		return true;
	return nvmx_rule(type & VMX_AR_TYPE_ACCESSES_MASK) &&
	       nvmx_rule(!(type & VMX_AR_TYPE_CODE_MASK) ||
			 (type & VMX_AR_TYPE_READABLE_MASK)) &&
	       nvmx_rule(ug || type > 11 ||
			 VMX_AR_DPL(s->ar) >= (s->sel & SEGMENT_RPL_MASK)) &&
	       nvmx_seg_ar_ok(s, false);
}

/* SDM 26.3.1.2: TR and LDTR, in any mode. */
static bool nvmx_guest_system_segs_ok(struct kvm_vcpu *vcpu,
				      struct vmcs12 *vmcs12)
{
	struct nvmx_seg tr = nvmx_guest_seg(vmcs12, NVMX_TR);
	struct nvmx_seg ldtr = nvmx_guest_seg(vmcs12, NVMX_LDTR);
	u32 type = nvmx_seg_type(&tr);

	if (!nvmx_rule(!(tr.sel & SEGMENT_TI_MASK)) ||
	    !nvmx_rule(!is_noncanonical_address(tr.base, vcpu)) ||
	    !nvmx_rule(type == VMX_AR_TYPE_BUSY_64_TSS ||
		       (!nvmx_ia32e_guest(vmcs12) &&
			type == VMX_AR_TYPE_BUSY_16_TSS)) ||
	    !nvmx_rule(nvmx_seg_usable(&tr)) ||
	    !nvmx_seg_ar_ok(&tr, true))
		return false;

	if (!nvmx_seg_usable(&ldtr))
		return true;
	return nvmx_rule(!(ldtr.sel & SEGMENT_TI_MASK)) &&
	       nvmx_rule(!is_noncanonical_address(ldtr.base, vcpu)) &&
	       nvmx_rule(nvmx_seg_type(&ldtr) == VMX_AR_TYPE_LDT) &&
	       nvmx_seg_ar_ok(&ldtr, true);
}

/*
 * SDM 26.3.1.4: RIP, by the mode CS gives an IA-32e mode guest: in 64-bit
 * mode bits 63:N identical, N the linear-address width of the processor L1
 * is offered (57 with 5-level paging, else 48), so that bit N-1 is free (a
 * RIP that is not canonical passes, and L2's first fetch takes #GP); else
 * bits 63:32 clear.
 */
static bool nvmx_guest_rip_ok(struct kvm_vcpu *vcpu, struct vmcs12 *vmcs12)
{
	bool l = nvmx_ia32e_guest(vmcs12) &&
		 (vmcs12->guest_cs_ar_bytes & VMX_AR_L_MASK);
	s64 high = (s64)vmcs12->guest_rip >> 48;

	if (!l)
		return nvmx_rule(!(vmcs12->guest_rip >> 32));
	/* bits 63:48 identical: so are 63:57 (CPUID only when they are not) */
	if (high != 0 && high != -1 && guest_cpuid_has(vcpu, X86_FEATURE_LA57))
		high = (s64)vmcs12->guest_rip >> 57;
	return nvmx_rule(high == 0 || high == -1);
}

/*
 * SDM 26.3.1.2 to 26.3.1.4: segment registers, GDTR and IDTR, RIP: the
 * guest-state checks the processor makes on vmcs02, made before anything
 * is loaded at L1's VMLAUNCH or VMRESUME (nested_vmx_check_guest_state()),
 * and for a state that did not come through that entry
 * (KVM_SET_NESTED_STATE) before the state is taken.
 */
static bool nested_vmx_check_guest_segments(struct kvm_vcpu *vcpu,
					    struct vmcs12 *vmcs12)
{
	bool ug = nested_cpu_has2(vmcs12, SECONDARY_EXEC_UNRESTRICTED_GUEST);
	struct nvmx_seg seg;
	u32 i;

	if (!nvmx_guest_system_segs_ok(vcpu, vmcs12) ||
	    !nvmx_rule(!is_noncanonical_address(vmcs12->guest_fs_base, vcpu)) ||
	    !nvmx_rule(!is_noncanonical_address(vmcs12->guest_gs_base, vcpu)) ||
	    !nvmx_rule(!is_noncanonical_address(vmcs12->guest_gdtr_base, vcpu)) ||
	    !nvmx_rule(!is_noncanonical_address(vmcs12->guest_idtr_base, vcpu)) ||
	    !nvmx_rule(!(vmcs12->guest_gdtr_limit >> 16)) ||
	    !nvmx_rule(!(vmcs12->guest_idtr_limit >> 16)) ||
	    !nvmx_guest_rip_ok(vcpu, vmcs12))
		return false;

	for (i = NVMX_ES; i <= NVMX_GS; i++) {
		seg = nvmx_guest_seg(vmcs12, i);
		if (vmcs12->guest_rflags & X86_EFLAGS_VM) {
			if (!nvmx_seg_v86_ok(&seg))
				return false;
			continue;
		}
		if ((i == NVMX_ES || i == NVMX_DS) &&
		    !nvmx_rule(!nvmx_seg_usable(&seg) || !(seg.base >> 32)))
			return false;
		if (i != NVMX_CS && i != NVMX_SS &&
		    !nvmx_guest_data_seg_ok(&seg, ug))
			return false;
	}
	return (vmcs12->guest_rflags & X86_EFLAGS_VM) ||
	       nvmx_guest_cs_ss_ok(vmcs12, ug);
}

/*
 * SDM 26.3.1.5: interruptibility state and pending debug exceptions, the
 * checks the processor makes on vmcs02 (nested_vmx_check_guest_activity()
 * makes those that involve the activity state alone), made before anything
 * is loaded, and for a state vmcs02 does not carry to the processor (HLT,
 * a restored state).  Reserved bits; blocking by STI only
 * with RFLAGS.IF set; an enclave interruption only with SGX and without
 * blocking by MOV SS; no blocking by STI or MOV SS for an external
 * interrupt injected, nor by MOV SS for an NMI; no blocking by SMI outside
 * SMM (L2 never runs in SMM); no blocking by NMI for an NMI injected with
 * "virtual NMIs".  With blocking by STI or MOV SS or in the HLT state, BS
 * says whether a single step is pending: set exactly when RFLAGS.TF is
 * set and DEBUGCTL.BTF (the DEBUGCTL L2 gets, 26.3.2.1: vmcs12's or
 * @l1_debugctl) clear.  An RTM debug exception (bit 16) only with RTM,
 * alone with bit 12 and without blocking by MOV SS.
 */
static bool nested_vmx_check_guest_blocking(struct kvm_vcpu *vcpu,
					    struct vmcs12 *vmcs12,
					    u64 l1_debugctl)
{
	u32 intr = vmcs12->guest_interruptibility_info;
	u64 dbg = vmcs12->guest_pending_dbg_exceptions;
	bool event = nvmx_entry_has_event(vmcs12);
	u32 type = nvmx_event_type(vmcs12);
	u64 debugctl = vmcs12->vm_entry_controls & VM_ENTRY_LOAD_DEBUG_CONTROLS ?
		       vmcs12->guest_ia32_debugctl : l1_debugctl;
	bool step = (vmcs12->guest_rflags & X86_EFLAGS_TF) &&
		    !(debugctl & DEBUGCTLMSR_BTF);

	if (!nvmx_rule(!(intr & GENMASK(31, 5))) ||
	    !nvmx_rule(!(intr & GUEST_INTR_STATE_ENCLAVE_INTR) ||
		       (guest_cpuid_has(vcpu, X86_FEATURE_SGX) &&
			!(intr & GUEST_INTR_STATE_MOV_SS))) ||
	    !nvmx_rule(!(intr & GUEST_INTR_STATE_SMI)) ||
	    !nvmx_rule(!(intr & GUEST_INTR_STATE_STI) ||
		       (vmcs12->guest_rflags & X86_EFLAGS_IF)) ||
	    !nvmx_rule(!(dbg & (GENMASK_ULL(63, 17) | BIT_ULL(15) |
				BIT_ULL(13) | GENMASK_ULL(11, 4)))))
		return false;
	if ((intr & (GUEST_INTR_STATE_STI | GUEST_INTR_STATE_MOV_SS) ||
	     vmcs12->guest_activity_state == GUEST_ACTIVITY_HLT) &&
	    !nvmx_rule(!(dbg & DR6_BS) == !step))
		return false;
	if ((dbg & DR6_RTM) &&
	    !nvmx_rule(guest_cpuid_has(vcpu, X86_FEATURE_RTM) &&
		       dbg == (DR6_RTM | BIT_ULL(12)) &&
		       !(intr & GUEST_INTR_STATE_MOV_SS)))
		return false;
	if (!event)
		return true;
	return nvmx_rule(type != INTR_TYPE_EXT_INTR ||
			 !(intr & (GUEST_INTR_STATE_STI |
				   GUEST_INTR_STATE_MOV_SS))) &&
	       nvmx_rule(type != INTR_TYPE_NMI_INTR ||
			 !(intr & GUEST_INTR_STATE_MOV_SS)) &&
	       nvmx_rule(type != INTR_TYPE_NMI_INTR ||
			 !(vmcs12->pin_based_vm_exec_control &
			   PIN_BASED_VIRTUAL_NMIS) ||
			 !(intr & GUEST_INTR_STATE_NMI));
}

/*
 * SDM 26.3.1.6: with EPT and PAE paging, the PDPTE fields vmcs02 takes:
 * a present one has its reserved bits (2:1, 8:5, those beyond the
 * physical-address width) clear.  The processor checks them on vmcs02;
 * this is made before anything is loaded, and for a restored state.
 */
static bool nested_vmx_check_guest_pdptes(struct kvm_vcpu *vcpu,
					  struct vmcs12 *vmcs12)
{
	u64 pdptes[] = { vmcs12->guest_pdptr0, vmcs12->guest_pdptr1,
			 vmcs12->guest_pdptr2, vmcs12->guest_pdptr3 };
	u64 rsvd = vcpu->arch.reserved_gpa_bits | GENMASK_ULL(8, 5) |
		   GENMASK_ULL(2, 1);
	int i;

	if (!nested_cpu_has_ept(vmcs12) || nvmx_ia32e_guest(vmcs12) ||
	    !(vmcs12->guest_cr0 & X86_CR0_PG) ||
	    !(vmcs12->guest_cr4 & X86_CR4_PAE))
		return true;
	for (i = 0; i < ARRAY_SIZE(pdptes); i++)
		if (!nvmx_rule(!(pdptes[i] & 1) || !(pdptes[i] & rsvd)))
			return false;
	return true;
}

/*
 * KVM_SET_NESTED_STATE into L2, or into SMM entered from L2: would L1's
 * VMLAUNCH or VMRESUME of @vmcs12, current at @vmptr, have entered L2?
 * Every check of SDM 26.2 and 26.3.1 that nvmx makes, and the processor's
 * on guest segments, GDTR, IDTR and RIP (26.3.1.2 to 26.3.1.4), on a
 * vmcs12 that is not the vCPU's yet, on interruptibility and pending
 * debug exceptions (26.3.1.5) and on EPT's PDPTEs (26.3.1.6).
 * L1 returns to the mode "host address-space size" gives it (SDM 27.5.1),
 * and entered L2 from that mode (26.2.4).  @shadow is the header of the
 * VMCS the link pointer names, NULL when no memory holds it.  The launch
 * state is not checked: a pending VMLAUNCH leaves it clear.
 */
bool nested_vmx_restored_l2_valid(struct kvm_vcpu *vcpu, struct vmcs12 *vmcs12,
				  gpa_t vmptr, const struct vmcs_hdr *shadow,
				  bool pending)
{
	return nested_vmx_check_controls(vcpu, vmcs12) &&
	       nested_vmx_check_host_state(vcpu, vmcs12,
					   nvmx_host_64bit(vmcs12)) &&
	       nested_vmx_check_guest_fields(vcpu, vmcs12, pending) &&
	       nested_vmx_check_guest_segments(vcpu, vmcs12) &&
	       nested_vmx_check_guest_blocking(vcpu, vmcs12,
					       vmcs_read64(GUEST_IA32_DEBUGCTL)) &&
	       nested_vmx_check_guest_pdptes(vcpu, vmcs12) &&
	       nvmx_link_pointer_ok(vcpu, vmcs12, vmptr, shadow);
}

/*
 * SDM 26.2.1.1: with "use TPR shadow" and neither "virtualize APIC
 * accesses" nor virtual-interrupt delivery, bits 3:0 of the TPR threshold
 * may not exceed bits 7:4 of VTPR, byte 80H of the virtual-APIC page.  That
 * page is L1's memory, which L1 writes without VMWRITE: checked at every
 * entry.  A virtual-APIC page vmcs02 could not name fails here too, as the
 * processor fails one it cannot use: no memory behind the address, or
 * memory L0 cannot map for the processor to write (a read-only memslot).
 * VTPR is read through the same mapping the entry then makes.
 */
static bool nested_vmx_check_vtpr(struct kvm_vcpu *vcpu, struct vmcs12 *vmcs12)
{
	struct kvm_host_map map;
	bool ok;

	if (!nested_cpu_has(vmcs12, CPU_BASED_TPR_SHADOW))
		return true;
	if (!nvmx_rule(!nested_vmx_map_l1_page(vcpu,
					       vmcs12->virtual_apic_page_addr,
					       &map)))
		return false;
	ok = !nested_vmx_tpr_rule_applies(vmcs12) ||
	     nvmx_rule(!nested_vmx_vtpr_below_threshold(vmcs12, map.hva));
	kvm_vcpu_unmap(vcpu, &map, false);
	return ok;
}

/*
 * SDM 30.3: the VMfail checks, then those of SDM 26.2.  The checks of 26.2
 * read vmcs12's fields and what stays fixed while L1 is in VMX operation
 * (its VMX capability MSRs, CPUID, IA-32e mode).  Fields L1 has not written
 * since the last successful entry to this vmcs12 passed them then: unless
 * L1 wrote a field other than the shadowed ones, vmcs12 is new or the last
 * entry failed (dirty_vmcs12), only the checks that read a shadowed field
 * L1 may write run again.
 */
static u32 nested_vmx_check_vmcs_state(struct kvm_vcpu *vcpu,
				       struct vmcs12 *vmcs12, bool launch)
{
	bool all = to_vmx(vcpu)->nested.dirty_vmcs12;

	if (!nvmx_rule(!(vmx_get_interrupt_shadow(vcpu) &
			 KVM_X86_SHADOW_INT_MOV_SS)))
		return VMXERR_ENTRY_EVENTS_BLOCKED_BY_MOV_SS;
	if (launch && !nvmx_rule(!vmcs12->launch_state))
		return VMXERR_VMLAUNCH_NONCLEAR_VMCS;
	if (!launch && !nvmx_rule(vmcs12->launch_state))
		return VMXERR_VMRESUME_NONLAUNCHED_VMCS;
	if (all ? !nested_vmx_check_controls(vcpu, vmcs12) :
		  !nested_vmx_check_shadowed_controls(vcpu, vmcs12))
		return VMXERR_ENTRY_INVALID_CONTROL_FIELD;
	if (!nested_vmx_check_vtpr(vcpu, vmcs12))
		return VMXERR_ENTRY_INVALID_CONTROL_FIELD;
	if (guest_cpuid_has_evmcs(vcpu) &&
	    !nested_evmcs_vmcs12_controls_ok(vmcs12))
		return VMXERR_ENTRY_INVALID_CONTROL_FIELD;
	/* Host RSP has no check, host RIP those of 26.2.4 */
	if (all ? !nested_vmx_check_host_state(vcpu, vmcs12, is_long_mode(vcpu)) :
		  !nested_vmx_check_address_space_size(vcpu, vmcs12,
						       is_long_mode(vcpu)))
		return VMXERR_ENTRY_INVALID_HOST_STATE_FIELD;
	return 0;
}

/*
 * L2 enters in the HLT activity state when no event is injected (SDM
 * 26.6.2): KVM halts the vCPU in guest mode; the event that wakes it is
 * handled as one arriving while L2 runs.
 */
static bool nvmx_enters_hlt(struct vmcs12 *vmcs12)
{
	return vmcs12->guest_activity_state == GUEST_ACTIVITY_HLT &&
	       !nvmx_entry_has_event(vmcs12);
}

/*
 * SDM 26.6.2: an entry in the shutdown state leaves L2 there, unless it is
 * vectoring (an NMI or machine check injected, 26.3.1.5): L2 is then
 * active and delivers it, a runnable vCPU as for an entry in the active
 * state.  L0 keeps L2's shutdown as it keeps its wait-for-SIPI, a vCPU in
 * KVM_MP_STATE_INIT_RECEIVED that x86.c does not run, told apart by
 * vmcs12's activity state (nested_vmx_l2_in_shutdown()).  vmcs12 is the
 * entry's input and stays as L1 wrote it (26.8: a VM-entry failure that
 * the processor reports on vmcs02 changes no guest-state field); the exit
 * saves the state L2 is in (27.3.4, from the vCPU's).  True when L2 stays
 * in shutdown.
 */
static bool nested_vmx_enter_shutdown(struct kvm_vcpu *vcpu,
				      struct vmcs12 *vmcs12)
{
	if (nvmx_entry_has_event(vmcs12))
		return false;
	vcpu->arch.mp_state = KVM_MP_STATE_INIT_RECEIVED;
	return true;
}

/*
 * VMLAUNCH (@launch) and VMRESUME, SDM 30.3 and chapter 26, once nested.c
 * has raised the faults (#UD outside VMX operation, #GP at CPL > 0).
 */
int nested_vmx_run(struct kvm_vcpu *vcpu, bool launch)
{
	struct vcpu_vmx *vmx = to_vmx(vcpu);
	struct vmcs12 *vmcs12;
	u32 err;

	/* An enlightened VMCS (TLFS) becomes current here, not at VMPTRLD */
	switch (nested_evmcs_vmentry(vcpu, launch)) {
	case NVMX_EVMCS_UD:
		kvm_queue_exception(vcpu, UD_VECTOR);
		return 1;
	case NVMX_EVMCS_VMFAIL:
		return nested_vmx_fail_invalid(vcpu);
	default:
		break;
	}

	/* SDM 26.1: VMfailInvalid without a current VMCS or with a shadow one */
	if (!vmx_has_valid_vmcs12(vcpu) || get_vmcs12(vcpu)->hdr.shadow_vmcs)
		return nested_vmx_fail_invalid(vcpu);

	vmcs12 = get_vmcs12(vcpu);
	nested_vmx_shadow_read_back(vmx);
	err = nested_vmx_check_vmcs_state(vcpu, vmcs12, launch);
	if (err) {
		trace_kvm_nested_vmenter_failed("VMfailValid", err);
		return nested_vmx_fail(vcpu, err);
	}

	/*
	 * A VM-entry failure has already resumed L1 at its host RIP.  The
	 * processor may still refuse vmcs02's guest state, so the VMCS is
	 * "launched" only once L2 has left it (nested_exit.c).
	 */
	switch (nested_vmx_enter_non_root_mode(vcpu, true)) {
	case NVMX_VMENTRY_SUCCESS:
		break;
	case NVMX_VMENTRY_KVM_INTERNAL_ERROR:
		/* L1 stays at its VMLAUNCH or VMRESUME; vcpu->run says why */
		return 0;
	default:
		return 1;
	}

	if (nvmx_enters_hlt(vmcs12)) {
		/* The windows an HLT state leaves open end it (SDM 26.6.5) */
		kvm_make_request(KVM_REQ_EVENT, vcpu);
		return kvm_emulate_halt_noskip(vcpu);
	}
	if (vmcs12->guest_activity_state == GUEST_ACTIVITY_WAIT_SIPI) {
		/* Only a SIPI ends it, with a VM exit (SDM 26.6.2, 25.2) */
		vcpu->arch.mp_state = KVM_MP_STATE_INIT_RECEIVED;
		return 1;
	}
	if (vmcs12->guest_activity_state == GUEST_ACTIVITY_SHUTDOWN &&
	    nested_vmx_enter_shutdown(vcpu, vmcs12))
		return 1;

	vmx->nested.nested_run_pending = 1;
	/*
	 * On an EPT whose PML4 table is outside L1's memory, L0 has no root
	 * to run L2 on: what L2 meets first is nvmx's to say (its guest
	 * state was checked, nested_vmx_check_guest_state()).
	 */
	if (nested_vmx_ept_root_outside_memory(vcpu))
		nested_vmx_ept_root_exit(vcpu);
	return 1;
}
