// SPDX-License-Identifier: GPL-2.0
/*
 * nvmx: VMX operation of L1 and the VMX instructions it executes, written
 * from the Intel SDM Vol. 3C: the capability MSRs L1 reads (Appendix A),
 * VMXON/VMXOFF, the current-VMCS instructions VMCLEAR/VMPTRLD/VMPTRST,
 * VMREAD/VMWRITE (chapter 30), and the per-vCPU state behind them.
 * VMLAUNCH/VMRESUME continue in nested_entry.c, VM exits in nested_exit.c.
 */

#include <linux/hrtimer.h>
#include <linux/kvm_host.h>
#include <linux/moduleparam.h>
#include <linux/slab.h>

#include <asm/msr.h>
#include <asm/vmx.h>

#include "cpuid.h"
#include "kvm_cache_regs.h"
#include "x86.h"
#include "vmx.h"
#include "nested_internal.h"

/*
 * VMCS shadowing for L1's VMREAD and VMWRITE (SDM 24.10): on by default
 * where the processor has it; N makes every VMREAD and VMWRITE of L1 exit
 * and be emulated here (both paths stay tested).
 */
static bool __read_mostly enable_shadow_vmcs = true;
module_param(enable_shadow_vmcs, bool, 0444);

/*
 * What a loaded kvm_intel is (modinfo, /sys/module/kvm_intel/version): the
 * git revision of nvmx it was built from and the Debian kernel ABI it was
 * built for.  The Makefile passes both.
 */
MODULE_VERSION("nvmx " NVMX_REVISION);
MODULE_INFO(nvmx_abi, "Debian " NVMX_KREL " " NVMX_KDEBVER);

/*
 * Capability MSRs (SDM Appendix A).
 *
 * struct nested_vmx_msrs holds the TRUE controls; the non-TRUE MSRs add the
 * "default1" controls as must-be-1 (SDM A.2).  vmcs_config.nested is the
 * most L1 can have; each vCPU starts from it, vmx.c narrows it from guest
 * CPUID, and userspace may narrow it further (vmx_set_vmx_msr).
 */

/* Controls L1 may set, besides the default1 ones, per control field. */
#define NVMX_PIN_OFFERED	(PIN_BASED_EXT_INTR_MASK |		\
				 PIN_BASED_NMI_EXITING |		\
				 PIN_BASED_VIRTUAL_NMIS)
/*
 * Every instruction exit nested_exit.c reflects by a primary control is
 * offered: nested_entry.c puts L1's primary controls into vmcs02 as they are,
 * "use TPR shadow" too, with the virtual-APIC page of L1's memory.
 */
#define NVMX_EXEC_OFFERED	(CPU_BASED_INTR_WINDOW_EXITING |	\
				 CPU_BASED_USE_TSC_OFFSETTING |		\
				 CPU_BASED_HLT_EXITING |		\
				 CPU_BASED_INVLPG_EXITING |		\
				 CPU_BASED_MWAIT_EXITING |		\
				 CPU_BASED_RDPMC_EXITING |		\
				 CPU_BASED_RDTSC_EXITING |		\
				 CPU_BASED_CR3_LOAD_EXITING |		\
				 CPU_BASED_CR3_STORE_EXITING |		\
				 CPU_BASED_CR8_LOAD_EXITING |		\
				 CPU_BASED_CR8_STORE_EXITING |		\
				 CPU_BASED_TPR_SHADOW |			\
				 CPU_BASED_NMI_WINDOW_EXITING |		\
				 CPU_BASED_MOV_DR_EXITING |		\
				 CPU_BASED_UNCOND_IO_EXITING |		\
				 CPU_BASED_USE_IO_BITMAPS |		\
				 CPU_BASED_USE_MSR_BITMAPS |		\
				 CPU_BASED_MONITOR_EXITING |		\
				 CPU_BASED_PAUSE_EXITING |		\
				 CPU_BASED_ACTIVATE_SECONDARY_CONTROLS)
/*
 * vmx.c grants and withdraws exactly these per vCPU, following guest CPUID
 * (vmx_secondary_exec_control()), so they are L1's ceiling as well.
 */
#define NVMX_EXEC2_OFFERED	(SECONDARY_EXEC_ENABLE_RDTSCP |		\
				 SECONDARY_EXEC_ENABLE_INVPCID |	\
				 SECONDARY_EXEC_XSAVES |		\
				 SECONDARY_EXEC_RDRAND_EXITING |	\
				 SECONDARY_EXEC_RDSEED_EXITING |	\
				 SECONDARY_EXEC_ENABLE_USR_WAIT_PAUSE)
/*
 * EPT and VPID capabilities (SDM A.10) as the processor has them, for the
 * EPT paging-structure formats KVM's shadow EPT walks (execute-only, 4- or
 * 5-level, write-back (the memory type KVM reads L1's EPT with),
 * 2-MByte/1-GByte pages, accessed/dirty flags when L0
 * uses them); INVEPT and INVVPID of every type are emulated.
 */
#define NVMX_EPT_HW_CAPS	(VMX_EPT_EXECUTE_ONLY_BIT |		\
				 VMX_EPT_PAGE_WALK_4_BIT |		\
				 VMX_EPT_PAGE_WALK_5_BIT |		\
				 VMX_EPTP_WB_BIT |			\
				 VMX_EPT_2MB_PAGE_BIT |			\
				 VMX_EPT_1GB_PAGE_BIT)
#define NVMX_INVEPT_CAPS	(VMX_EPT_INVEPT_BIT |			\
				 VMX_EPT_EXTENT_CONTEXT_BIT |		\
				 VMX_EPT_EXTENT_GLOBAL_BIT)
#define NVMX_INVVPID_CAPS	(VMX_VPID_INVVPID_BIT |			\
				 VMX_VPID_EXTENT_INDIVIDUAL_ADDR_BIT |	\
				 VMX_VPID_EXTENT_SINGLE_CONTEXT_BIT |	\
				 VMX_VPID_EXTENT_GLOBAL_CONTEXT_BIT |	\
				 VMX_VPID_EXTENT_SINGLE_NON_GLOBAL_BIT)

/* PAT and EFER are saved and loaded in software on both sides. */
#define NVMX_EXIT_OFFERED	(VM_EXIT_SAVE_DEBUG_CONTROLS |		\
				 VM_EXIT_HOST_ADDR_SPACE_SIZE |		\
				 VM_EXIT_ACK_INTR_ON_EXIT |		\
				 VM_EXIT_SAVE_IA32_PAT |		\
				 VM_EXIT_LOAD_IA32_PAT |		\
				 VM_EXIT_SAVE_IA32_EFER |		\
				 VM_EXIT_LOAD_IA32_EFER)
#define NVMX_ENTRY_OFFERED	(VM_ENTRY_LOAD_DEBUG_CONTROLS |		\
				 VM_ENTRY_IA32E_MODE |			\
				 VM_ENTRY_LOAD_IA32_PAT |		\
				 VM_ENTRY_LOAD_IA32_EFER)

/*
 * Default1 controls that the TRUE MSRs let L1 clear, as processors do
 * (SDM A.3.2, A.4.2, A.5): CR3-load/store exiting and the debug controls.
 */
#define NVMX_EXEC_DEFAULT1_CLEARABLE	(CPU_BASED_CR3_LOAD_EXITING |	\
					 CPU_BASED_CR3_STORE_EXITING)

/* IA32_VMX_BASIC bits userspace may clear (SDM A.1). */
#define NVMX_BASIC_FEATURES	(BIT_ULL(49) | VMX_BASIC_INOUT |	\
				 VMX_BASIC_TRUE_CTLS | BIT_ULL(56))

/* IA32_VMX_MISC (SDM A.6): flags userspace may clear, and two counts. */
#define NVMX_MISC_FEATURES	(VMX_MISC_SAVE_EFER_LMA | GENMASK_ULL(8, 6) | \
				 BIT_ULL(14) | BIT_ULL(15) | BIT_ULL(28) | \
				 BIT_ULL(29) | VMX_MISC_ZERO_LEN_INS)
#define NVMX_MISC_CR3_TARGETS	GENMASK_ULL(24, 16)
#define NVMX_MISC_MSR_LIST	GENMASK_ULL(27, 25)

/* What the processor lets vmcs02 have set: bits 63:32 of a control MSR. */
static u32 nvmx_hw_allowed1(u32 msr)
{
	u32 allowed0, allowed1;

	rdmsr(msr, allowed0, allowed1);
	return allowed1;
}

/* SDM A.3-A.5: must-be-1 (TRUE) and may-be-1 settings of one control field. */
static void nvmx_setup_ctls(u32 *low, u32 *high, u32 default1,
			    u32 clearable, u32 offered, u32 hw_allowed1)
{
	*low = default1 & ~clearable;
	*high = default1 | (offered & hw_allowed1);
}

/* SDM A.1: our VMCS revision and size, write-back VMCS memory, TRUE MSRs. */
static u64 nvmx_basic(struct vmcs_config *vmcs_conf)
{
	u64 basic = VMCS12_REVISION | VMX_BASIC_TRUE_CTLS |
		    ((u64)VMCS12_SIZE << VMX_BASIC_VMCS_SIZE_SHIFT) |
		    (VMX_BASIC_MEM_TYPE_WB << VMX_BASIC_MEM_TYPE_SHIFT);

	/* INS/OUTS exits carry instruction information if vmcs02's do. */
	if (((u64)vmcs_conf->basic_cap << 32) & VMX_BASIC_INOUT)
		basic |= VMX_BASIC_INOUT;
	return basic;
}

/*
 * L0's own translation mechanisms, offered when L0 uses them (SDM A.10;
 * @ept_caps are the processor's): L2's EPT is shadowed by KVM's MMU
 * (kvm_init_shadow_ept_mmu), every VPID of L2 maps to one of L0's, and
 * unrestricted guest needs EPT (SDM 26.2.1.1).  "Enable VM functions" rides
 * on EPT and on the processor's allowing it in vmcs02, where it makes every
 * VMFUNC of L2 exit to L0 (nvmx_setup_emulated_exec2()).  "Virtualize APIC
 * accesses" goes into vmcs02 as L1 sets it, with the host-physical address
 * of L1's APIC-access page, whatever L0 does for L1's own APIC; offered
 * only as kvm_intel's flexpriority parameter allows its use.
 */
static u32 nvmx_exec2_offered(void)
{
	u32 offered = NVMX_EXEC2_OFFERED;

	if (flexpriority_enabled)
		offered |= SECONDARY_EXEC_VIRTUALIZE_APIC_ACCESSES;
	/*
	 * APIC-register virtualization, virtual-interrupt delivery and
	 * "virtualize x2APIC mode" (SDM 29.1-29.5) go into vmcs02 as L1 sets
	 * them, acting on L1's virtual-APIC page, whatever L0 does for L1's
	 * own APIC (enable_apicv, which also needs posted interrupts): the
	 * processor virtualizes L2's APIC accesses and delivers L1's virtual
	 * interrupts itself, and its exits (45, 56) are L1's.
	 */
	offered |= SECONDARY_EXEC_APIC_REGISTER_VIRT |
		   SECONDARY_EXEC_VIRTUAL_INTR_DELIVERY |
		   SECONDARY_EXEC_VIRTUALIZE_X2APIC_MODE;
	if (enable_ept) {
		offered |= SECONDARY_EXEC_ENABLE_EPT |
			   SECONDARY_EXEC_ENABLE_VMFUNC;
		if (enable_unrestricted_guest)
			offered |= SECONDARY_EXEC_UNRESTRICTED_GUEST;
	}
	if (enable_vpid)
		offered |= SECONDARY_EXEC_ENABLE_VPID;
	/*
	 * "Use TSC scaling" (SDM 25.3): vmcs02 scales by L1's multiplier
	 * composed with L0's own for L1 (nested_vmx_prepare_tsc02()), which
	 * needs vmcs02's TSC multiplier field, i.e. L0 scaling TSCs itself.
	 */
	if (kvm_caps.has_tsc_control)
		offered |= SECONDARY_EXEC_TSC_SCALING;
	return offered;
}

/* SDM A.10: IA32_VMX_EPT_VPID_CAP for what nvmx_exec2_offered() gives. */
static void nvmx_setup_ept_vpid_caps(struct nested_vmx_msrs *msrs,
				     u32 ept_caps)
{
	if (msrs->secondary_ctls_high & SECONDARY_EXEC_ENABLE_EPT) {
		msrs->ept_caps = (ept_caps & NVMX_EPT_HW_CAPS) |
				 NVMX_INVEPT_CAPS;
		if (enable_ept_ad_bits)
			msrs->ept_caps |= ept_caps & VMX_EPT_AD_BIT;
	}
	if (msrs->secondary_ctls_high & SECONDARY_EXEC_ENABLE_VPID)
		msrs->vpid_caps = NVMX_INVVPID_CAPS;
}

/*
 * What L0 emulates on top of nested EPT (SDM A.3.3, A.11), asking nothing
 * more of the processor:
 * - "enable PML" with accessed and dirty flags for EPT: KVM's walk of L1's
 *   EPT logs for L2 as it sets dirty flags (nested_vmx_write_log_dirty());
 *   vmcs02 never enables PML.
 * - EPTP switching, VM function 0, with "enable VM functions": vmcs02
 *   enables VM functions with none of them enabled, so every VMFUNC of L2
 *   with EAX < 64 exits to L0 (handle_vmfunc()).
 * And, on any processor, "VMCS shadowing" (SDM 24.10): vmcs02 never sets
 * it, so every VMREAD and VMWRITE of L2 exits to L0, which reflects it or
 * performs it on the shadow VMCS in L1's memory (handle_vmread()).
 */
static void nvmx_setup_emulated_exec2(struct nested_vmx_msrs *msrs)
{
	u32 *high = &msrs->secondary_ctls_high;

	*high |= SECONDARY_EXEC_SHADOW_VMCS;
	if ((*high & SECONDARY_EXEC_ENABLE_EPT) &&
	    (msrs->ept_caps & VMX_EPT_AD_BIT))
		*high |= SECONDARY_EXEC_ENABLE_PML;
	if ((*high & SECONDARY_EXEC_ENABLE_EPT) &&
	    (*high & SECONDARY_EXEC_ENABLE_VMFUNC))
		msrs->vmfunc_controls = VMX_VMFUNC_EPTP_SWITCHING;
	else
		*high &= ~SECONDARY_EXEC_ENABLE_VMFUNC;
}

/*
 * Build L1's capability MSRs: exactly what nvmx implements (see
 * Documentation/nvmx/design.rst), limited to what L0's processor allows in
 * vmcs02.
 */
void nested_vmx_setup_ctls_msrs(struct vmcs_config *vmcs_conf, u32 ept_caps)
{
	struct nested_vmx_msrs *msrs = &vmcs_conf->nested;

	memset(msrs, 0, sizeof(*msrs));

	nvmx_setup_ctls(&msrs->pinbased_ctls_low, &msrs->pinbased_ctls_high,
			PIN_BASED_ALWAYSON_WITHOUT_TRUE_MSR, 0, NVMX_PIN_OFFERED,
			vmcs_conf->pin_based_exec_ctrl);
	nvmx_setup_ctls(&msrs->procbased_ctls_low, &msrs->procbased_ctls_high,
			CPU_BASED_ALWAYSON_WITHOUT_TRUE_MSR,
			NVMX_EXEC_DEFAULT1_CLEARABLE, NVMX_EXEC_OFFERED,
			nvmx_hw_allowed1(MSR_IA32_VMX_PROCBASED_CTLS));
	/* SDM 26.2.1.1: NMI-window exiting needs virtual NMIs. */
	if (!(msrs->pinbased_ctls_high & PIN_BASED_VIRTUAL_NMIS))
		msrs->procbased_ctls_high &= ~CPU_BASED_NMI_WINDOW_EXITING;
	nvmx_setup_ctls(&msrs->secondary_ctls_low, &msrs->secondary_ctls_high,
			0, 0, nvmx_exec2_offered(),
			vmcs_conf->cpu_based_2nd_exec_ctrl);
	nvmx_setup_ept_vpid_caps(msrs, ept_caps);
	nvmx_setup_emulated_exec2(msrs);
	nvmx_setup_ctls(&msrs->exit_ctls_low, &msrs->exit_ctls_high,
			VM_EXIT_ALWAYSON_WITHOUT_TRUE_MSR,
			VM_EXIT_SAVE_DEBUG_CONTROLS, NVMX_EXIT_OFFERED,
			nvmx_hw_allowed1(MSR_IA32_VMX_EXIT_CTLS));
	nvmx_setup_ctls(&msrs->entry_ctls_low, &msrs->entry_ctls_high,
			VM_ENTRY_ALWAYSON_WITHOUT_TRUE_MSR,
			VM_ENTRY_LOAD_DEBUG_CONTROLS, NVMX_ENTRY_OFFERED,
			nvmx_hw_allowed1(MSR_IA32_VMX_ENTRY_CTLS));

	/*
	 * The VMX-preemption timer and saving its value, on any processor:
	 * an hrtimer counts L1's TSC for it (nested_timer.c), never vmcs02.
	 */
	msrs->pinbased_ctls_high |= PIN_BASED_VMX_PREEMPTION_TIMER;
	msrs->exit_ctls_high |= VM_EXIT_SAVE_VMX_PREEMPTION_TIMER;
	/*
	 * Posted interrupts for L2, which need virtual-interrupt delivery and
	 * "acknowledge interrupt on exit" (SDM 26.2.1.1): L0 recognizes L1's
	 * notification and processes the descriptor itself
	 * (nested_vmx_process_posted_intr()), never vmcs02.
	 */
	if ((msrs->secondary_ctls_high & SECONDARY_EXEC_VIRTUAL_INTR_DELIVERY) &&
	    (msrs->exit_ctls_high & VM_EXIT_ACK_INTR_ON_EXIT))
		msrs->pinbased_ctls_high |= PIN_BASED_POSTED_INTR;

	/*
	 * SDM A.6: the timer's rate; exits store EFER.LMA in "IA-32e mode
	 * guest"; activity states HLT, shutdown and wait-for-SIPI, all of which
	 * L0 keeps as a state of the vCPU's, never of vmcs02's
	 * (nested_vmx_run()); no CR3-target values (vmcs12 has no such
	 * fields); MSR lists of up to 512 entries; VMWRITE to any supported
	 * field, the exit information included, on any processor: every such
	 * VMWRITE of L1's and L2's is emulated (handle_vmwrite(); the VMWRITE
	 * bitmap lets none through).
	 */
	msrs->misc_low = NVMX_PREEMPTION_TIMER_RATE | VMX_MISC_SAVE_EFER_LMA |
			 (vmcs_conf->misc & VMX_MISC_ACTIVITY_HLT) |
			 NVMX_MISC_ACTIVITY_SHUTDOWN |
			 VMX_MISC_ACTIVITY_WAIT_SIPI |
			 MSR_IA32_VMX_MISC_VMWRITE_SHADOW_RO_FIELDS;

	msrs->basic = nvmx_basic(vmcs_conf);

	/*
	 * SDM A.7, A.8: PE and PG read as fixed to 1 even with unrestricted
	 * guest, whose VM entries alone exempt them (nested_guest_cr0_valid).
	 */
	msrs->cr0_fixed0 = X86_CR0_PE | X86_CR0_NE | X86_CR0_PG;
	rdmsrl(MSR_IA32_VMX_CR0_FIXED1, msrs->cr0_fixed1);
	msrs->cr4_fixed0 = X86_CR4_VMXE;
	rdmsrl(MSR_IA32_VMX_CR4_FIXED1, msrs->cr4_fixed1);

	/* SDM A.9: bits 9:1 give the highest field index we support. */
	msrs->vmcs_enum = (u64)nvmx_vmcs12_max_index() << 1;
}

/* One VM-execution, VM-exit or VM-entry control MSR in struct nested_vmx_msrs. */
struct nvmx_ctls_msr {
	u32 *low;
	u32 *high;
	u32 default1;	/* non-TRUE MSR: the default1 class reads as must-be-1 */
};

static bool nvmx_ctls_msr(struct nested_vmx_msrs *msrs, u32 msr_index,
			  struct nvmx_ctls_msr *c)
{
	c->default1 = 0;
	switch (msr_index) {
	case MSR_IA32_VMX_PINBASED_CTLS:
		c->default1 = PIN_BASED_ALWAYSON_WITHOUT_TRUE_MSR;
		fallthrough;
	case MSR_IA32_VMX_TRUE_PINBASED_CTLS:
		c->low = &msrs->pinbased_ctls_low;
		c->high = &msrs->pinbased_ctls_high;
		return true;
	case MSR_IA32_VMX_PROCBASED_CTLS:
		c->default1 = CPU_BASED_ALWAYSON_WITHOUT_TRUE_MSR;
		fallthrough;
	case MSR_IA32_VMX_TRUE_PROCBASED_CTLS:
		c->low = &msrs->procbased_ctls_low;
		c->high = &msrs->procbased_ctls_high;
		return true;
	case MSR_IA32_VMX_EXIT_CTLS:
		c->default1 = VM_EXIT_ALWAYSON_WITHOUT_TRUE_MSR;
		fallthrough;
	case MSR_IA32_VMX_TRUE_EXIT_CTLS:
		c->low = &msrs->exit_ctls_low;
		c->high = &msrs->exit_ctls_high;
		return true;
	case MSR_IA32_VMX_ENTRY_CTLS:
		c->default1 = VM_ENTRY_ALWAYSON_WITHOUT_TRUE_MSR;
		fallthrough;
	case MSR_IA32_VMX_TRUE_ENTRY_CTLS:
		c->low = &msrs->entry_ctls_low;
		c->high = &msrs->entry_ctls_high;
		return true;
	case MSR_IA32_VMX_PROCBASED_CTLS2:
		c->low = &msrs->secondary_ctls_low;
		c->high = &msrs->secondary_ctls_high;
		return true;
	default:
		return false;
	}
}

/* The capability MSRs that are a single u64 of struct nested_vmx_msrs. */
static const struct {
	u32 msr_index;
	u16 offset;
} nvmx_u64_msrs[] = {
	{ MSR_IA32_VMX_BASIC, offsetof(struct nested_vmx_msrs, basic) },
	{ MSR_IA32_VMX_CR0_FIXED0, offsetof(struct nested_vmx_msrs, cr0_fixed0) },
	{ MSR_IA32_VMX_CR0_FIXED1, offsetof(struct nested_vmx_msrs, cr0_fixed1) },
	{ MSR_IA32_VMX_CR4_FIXED0, offsetof(struct nested_vmx_msrs, cr4_fixed0) },
	{ MSR_IA32_VMX_CR4_FIXED1, offsetof(struct nested_vmx_msrs, cr4_fixed1) },
	{ MSR_IA32_VMX_VMCS_ENUM, offsetof(struct nested_vmx_msrs, vmcs_enum) },
	{ MSR_IA32_VMX_VMFUNC, offsetof(struct nested_vmx_msrs, vmfunc_controls) },
};

static u64 *nvmx_u64_msr(struct nested_vmx_msrs *msrs, u32 msr_index)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(nvmx_u64_msrs); i++)
		if (nvmx_u64_msrs[i].msr_index == msr_index)
			return (u64 *)((u8 *)msrs + nvmx_u64_msrs[i].offset);
	return NULL;
}

/* Two MSRs pack two u32 members: MISC (low, MSEG revision), EPT/VPID. */
static u64 nvmx_misc(struct nested_vmx_msrs *msrs)
{
	return msrs->misc_low | (u64)msrs->misc_high << 32;
}

static u64 nvmx_ept_vpid_cap(struct nested_vmx_msrs *msrs)
{
	return msrs->ept_caps | (u64)msrs->vpid_caps << 32;
}

int vmx_get_vmx_msr(struct nested_vmx_msrs *msrs, u32 msr_index, u64 *pdata)
{
	struct nvmx_ctls_msr c;
	u64 *p;

	if (nvmx_ctls_msr(msrs, msr_index, &c)) {
		*pdata = (*c.low | c.default1) | (u64)*c.high << 32;
		return 0;
	}
	p = nvmx_u64_msr(msrs, msr_index);
	if (p)
		*pdata = *p;
	else if (msr_index == MSR_IA32_VMX_MISC)
		*pdata = nvmx_misc(msrs);
	else if (msr_index == MSR_IA32_VMX_EPT_VPID_CAP)
		*pdata = nvmx_ept_vpid_cap(msrs);
	else
		return 1;
	return 0;
}

/*
 * Userspace may only take features away.  A control MSR may require more
 * controls to be 1 and allow fewer to be 1 (SDM A.3); only the TRUE MSRs
 * and IA32_VMX_PROCBASED_CTLS2 are stored, the others are derived.
 */
static int nvmx_set_ctls(struct nvmx_ctls_msr *c, struct nvmx_ctls_msr *sup,
			 u64 data)
{
	u32 low = data, high = data >> 32;

	if (c->default1 || (low & *sup->low) != *sup->low ||
	    (high & ~*sup->high))
		return -EINVAL;
	*c->low = low;
	*c->high = high;
	return 0;
}

/* Keep every non-feature bit as it is, clear features only (SDM A.1). */
static int nvmx_set_basic(struct nested_vmx_msrs *msrs, u64 data)
{
	u64 sup = vmcs_config.nested.basic;

	if ((data ^ sup) & ~NVMX_BASIC_FEATURES ||
	    (data & NVMX_BASIC_FEATURES & ~sup))
		return -EINVAL;
	msrs->basic = data;
	return 0;
}

/* SDM A.6: clear flags, lower the counts, keep everything else. */
static int nvmx_set_misc(struct nested_vmx_msrs *msrs, u64 data)
{
	const u64 counts = NVMX_MISC_CR3_TARGETS | NVMX_MISC_MSR_LIST;
	u64 sup = nvmx_misc(&vmcs_config.nested);

	if ((data ^ sup) & ~(NVMX_MISC_FEATURES | counts) ||
	    (data & NVMX_MISC_FEATURES & ~sup) ||
	    (data & NVMX_MISC_CR3_TARGETS) > (sup & NVMX_MISC_CR3_TARGETS) ||
	    (data & NVMX_MISC_MSR_LIST) > (sup & NVMX_MISC_MSR_LIST))
		return -EINVAL;
	msrs->misc_low = data;
	msrs->misc_high = data >> 32;
	return 0;
}

/* SDM A.7, A.8: FIXED0 may only add bits that must be 1. */
static int nvmx_set_fixed0(u64 *fixed0, u64 sup, u64 data)
{
	if ((data & sup) != sup)
		return -EINVAL;
	*fixed0 = data;
	return 0;
}

/* A plain capability mask (EPT/VPID, VM functions): a subset of ours. */
static int nvmx_check_subset(u64 sup, u64 data)
{
	return (data & ~sup) ? -EINVAL : 0;
}

int vmx_set_vmx_msr(struct kvm_vcpu *vcpu, u32 msr_index, u64 data)
{
	struct vcpu_vmx *vmx = to_vmx(vcpu);
	struct nested_vmx_msrs *msrs = &vmx->nested.msrs;
	struct nested_vmx_msrs *sup = &vmcs_config.nested;
	struct nvmx_ctls_msr c, sup_c;
	int r;

	/* L1 already relies on them. */
	if (vmx->nested.vmxon || vmx->nested.smm.vmxon)
		return -EBUSY;

	if (nvmx_ctls_msr(msrs, msr_index, &c)) {
		nvmx_ctls_msr(sup, msr_index, &sup_c);
		return nvmx_set_ctls(&c, &sup_c, data);
	}

	switch (msr_index) {
	case MSR_IA32_VMX_BASIC:
		return nvmx_set_basic(msrs, data);
	case MSR_IA32_VMX_MISC:
		return nvmx_set_misc(msrs, data);
	case MSR_IA32_VMX_CR0_FIXED0:
		return nvmx_set_fixed0(&msrs->cr0_fixed0, sup->cr0_fixed0, data);
	case MSR_IA32_VMX_CR4_FIXED0:
		return nvmx_set_fixed0(&msrs->cr4_fixed0, sup->cr4_fixed0, data);
	case MSR_IA32_VMX_CR0_FIXED1:
		/* vmx.c derives the FIXED1 MSRs from guest CPUID. */
		return data == msrs->cr0_fixed1 ? 0 : -EINVAL;
	case MSR_IA32_VMX_CR4_FIXED1:
		return data == msrs->cr4_fixed1 ? 0 : -EINVAL;
	case MSR_IA32_VMX_VMCS_ENUM:
		/*
		 * SDM A.9: the highest index of any field; VMREAD and VMWRITE
		 * take no field above it (nested_vmx_operand_field()).  A VMM
		 * that hides a feature lowers it for the feature's fields
		 * (QEMU writes 2EH without TSC scaling).  As in 6.1, any value
		 * is taken: one above the field table's names fields nvmx does
		 * not have, which VMREAD and VMWRITE still refuse.
		 */
		msrs->vmcs_enum = data;
		return 0;
	case MSR_IA32_VMX_EPT_VPID_CAP:
		r = nvmx_check_subset(nvmx_ept_vpid_cap(sup), data);
		if (!r) {
			msrs->ept_caps = data;
			msrs->vpid_caps = data >> 32;
		}
		return r;
	case MSR_IA32_VMX_VMFUNC:
		r = nvmx_check_subset(sup->vmfunc_controls, data);
		if (!r)
			msrs->vmfunc_controls = data;
		return r;
	default:
		return -EINVAL;
	}
}

/*
 * Outcome of a VMX instruction (SDM 30.2).
 */
#define NVMX_RFLAGS_STATUS	(X86_EFLAGS_CF | X86_EFLAGS_PF | X86_EFLAGS_AF | \
				 X86_EFLAGS_ZF | X86_EFLAGS_SF | X86_EFLAGS_OF)

static int nested_vmx_complete(struct kvm_vcpu *vcpu, unsigned long status)
{
	unsigned long rflags = vmx_get_rflags(vcpu) & ~NVMX_RFLAGS_STATUS;

	vmx_set_rflags(vcpu, rflags | status);
	return kvm_skip_emulated_instruction(vcpu);
}

int nested_vmx_succeed(struct kvm_vcpu *vcpu)
{
	return nested_vmx_complete(vcpu, 0);
}

int nested_vmx_fail_invalid(struct kvm_vcpu *vcpu)
{
	return nested_vmx_complete(vcpu, X86_EFLAGS_CF);
}

int nested_vmx_fail(struct kvm_vcpu *vcpu, u32 vm_instruction_error)
{
	/* An eVMCS whose memory the VMM took away is current no more */
	if (!is_guest_mode(vcpu))
		nested_evmcs_refresh(vcpu);
	if (!vmx_has_valid_vmcs12(vcpu))
		return nested_vmx_fail_invalid(vcpu);

	get_vmcs12(vcpu)->vm_instruction_error = vm_instruction_error;
	nested_evmcs_set_vm_instruction_error(to_vmx(vcpu),
					      vm_instruction_error);
	return nested_vmx_complete(vcpu, X86_EFLAGS_ZF);
}

/*
 * Operands (SDM 27.2.5: the VM-exit instruction-information field of the
 * VMX instructions and INVPCID; the exit qualification is the displacement).
 */
#define NVMX_INFO_SCALE(i)	((i) & 3)
#define NVMX_INFO_REG1(i)	(((i) >> 3) & 0xf)
#define NVMX_INFO_ADDR_SIZE(i)	(((i) >> 7) & 7)	/* 16 << n bits */
#define NVMX_INFO_REG_OPERAND	BIT(10)			/* VMREAD, VMWRITE */
#define NVMX_INFO_SEG(i)	(((i) >> 15) & 7)
#define NVMX_INFO_INDEX(i)	(((i) >> 18) & 0xf)
#define NVMX_INFO_NO_INDEX	BIT(22)
#define NVMX_INFO_BASE(i)	(((i) >> 23) & 0xf)
#define NVMX_INFO_NO_BASE	BIT(27)

static int nvmx_seg_fault(struct kvm_vcpu *vcpu, int seg)
{
	kvm_queue_exception_e(vcpu, seg == VCPU_SREG_SS ? SS_VECTOR : GP_VECTOR,
			      0);
	return 1;
}

/* 64-bit mode: only FS and GS have a base, the address must be canonical. */
static int nvmx_linear_address_64(struct kvm_vcpu *vcpu, int seg,
				  struct kvm_segment *s, u64 off, int len,
				  gva_t *ret)
{
	u64 la = off;

	if (seg == VCPU_SREG_FS || seg == VCPU_SREG_GS)
		la += s->base;
	if (is_noncanonical_address(la, vcpu) ||
	    is_noncanonical_address(la + len - 1, vcpu))
		return nvmx_seg_fault(vcpu, seg);
	*ret = la;
	return 0;
}

/* Segment type and usability (protected mode only, SDM Vol. 3A 5.4). */
static int nvmx_check_seg_access(struct kvm_vcpu *vcpu, int seg,
				 struct kvm_segment *s, bool wr)
{
	bool code = s->type & 8, rw = s->type & 2;

	if (s->unusable)
		return nvmx_seg_fault(vcpu, seg);
	/* Writes need a writable data segment, reads a readable one. */
	if ((wr && (code || !rw)) || (!wr && code && !rw)) {
		kvm_inject_gp(vcpu, 0);
		return 1;
	}
	return 0;
}

/* Segment limit, expand-up or expand-down (SDM Vol. 3A 5.3). */
static bool nvmx_within_limit(struct kvm_segment *s, u64 off, int len)
{
	u64 last = off + len - 1;

	if (!(s->type & 8) && (s->type & 4))
		return off > s->limit && last <= (s->db ? 0xffffffffull : 0xffff);
	return last <= s->limit;
}

static int nvmx_linear_address_seg(struct kvm_vcpu *vcpu, int seg,
				   struct kvm_segment *s, u64 off, bool wr,
				   int len, gva_t *ret)
{
	if (is_protmode(vcpu) && !(vmx_get_rflags(vcpu) & X86_EFLAGS_VM) &&
	    nvmx_check_seg_access(vcpu, seg, s, wr))
		return 1;
	if (!nvmx_within_limit(s, off, len))
		return nvmx_seg_fault(vcpu, seg);
	*ret = (u32)(s->base + off);
	return 0;
}

/*
 * Linear address of the memory operand of the instruction that exited;
 * nonzero (with #GP or #SS queued) when the access must fault.
 */
int get_vmx_mem_address(struct kvm_vcpu *vcpu, unsigned long exit_qualification,
			u32 vmx_instruction_info, bool wr, int len, gva_t *ret)
{
	u32 info = vmx_instruction_info;
	int seg = NVMX_INFO_SEG(info);
	int addr_bits = 16 << NVMX_INFO_ADDR_SIZE(info);
	u64 off = exit_qualification;
	struct kvm_segment s;

	if (!(info & NVMX_INFO_NO_BASE))
		off += kvm_register_read(vcpu, NVMX_INFO_BASE(info));
	if (!(info & NVMX_INFO_NO_INDEX))
		off += (u64)kvm_register_read(vcpu, NVMX_INFO_INDEX(info)) <<
		       NVMX_INFO_SCALE(info);
	if (addr_bits < 64)
		off &= BIT_ULL(addr_bits) - 1;

	vmx_get_segment(vcpu, &s, seg);
	if (is_64_bit_mode(vcpu))
		return nvmx_linear_address_64(vcpu, seg, &s, off, len, ret);
	return nvmx_linear_address_seg(vcpu, seg, &s, off, wr, len, ret);
}

/*
 * Read or write the memory operand.  False when the instruction cannot go
 * on (exception queued, or exit to userspace); *ret is then the exit
 * handler's return value.
 */
static bool nested_vmx_read_operand(struct kvm_vcpu *vcpu, void *val,
				    int len, int *ret)
{
	struct x86_exception e;
	gva_t gva;
	int r;

	if (get_vmx_mem_address(vcpu, vmx_get_exit_qual(vcpu),
				vmcs_read32(VMX_INSTRUCTION_INFO), false, len,
				&gva)) {
		*ret = 1;
		return false;
	}
	r = kvm_read_guest_virt(vcpu, gva, val, len, &e);
	if (r != X86EMUL_CONTINUE) {
		*ret = kvm_handle_memory_failure(vcpu, r, &e);
		return false;
	}
	return true;
}

static bool nested_vmx_write_operand(struct kvm_vcpu *vcpu, void *val,
				     int len, int *ret)
{
	struct x86_exception e;
	gva_t gva;
	int r;

	if (get_vmx_mem_address(vcpu, vmx_get_exit_qual(vcpu),
				vmcs_read32(VMX_INSTRUCTION_INFO), true, len,
				&gva)) {
		*ret = 1;
		return false;
	}
	r = kvm_write_guest_virt_system(vcpu, gva, val, len, &e);
	if (r != X86EMUL_CONTINUE) {
		*ret = kvm_handle_memory_failure(vcpu, r, &e);
		return false;
	}
	return true;
}

/*
 * SDM 30.3, every VMX instruction: #UD in real-address, virtual-8086 and
 * compatibility mode.  (Hardware checks these before exiting; L0 checks
 * again because it may emulate the instruction from another state.)
 */
static bool nested_vmx_insn_mode_ok(struct kvm_vcpu *vcpu)
{
	if (!is_protmode(vcpu) || (vmx_get_rflags(vcpu) & X86_EFLAGS_VM))
		return false;
	return !is_long_mode(vcpu) || is_64_bit_mode(vcpu);
}

/* SDM 30.3: #UD outside VMX operation, #GP(0) at CPL > 0. */
static bool nested_vmx_check_permission(struct kvm_vcpu *vcpu)
{
	if (!to_vmx(vcpu)->nested.vmxon || !nested_vmx_insn_mode_ok(vcpu)) {
		kvm_queue_exception(vcpu, UD_VECTOR);
		return false;
	}
	if (vmx_get_cpl(vcpu)) {
		kvm_inject_gp(vcpu, 0);
		return false;
	}
	return true;
}

/*
 * The revision identifier at the start of a VMXON region or VMCS (SDM
 * 24.2), bit 31 (shadow-VMCS indicator) included; all ones when nothing
 * backs the address, as a read of nonexistent memory gives.
 */
static u32 nested_vmx_region_revision(struct kvm_vcpu *vcpu, gpa_t addr)
{
	u32 rev;

	if (kvm_vcpu_read_guest(vcpu, addr, &rev, sizeof(rev)))
		return U32_MAX;
	return rev;
}

/*
 * VMCS shadowing for L1 (SDM 24.10, 25.1.3, 30.3).  While L1 has a current
 * VMCS, vmcs01 sets "VMCS shadowing" and links to a shadow VMCS of L0's:
 * L1's VMREAD and VMWRITE of the fields the table marks (enum nvmx_shadow)
 * then reach it without a VM exit; the VMREAD/VMWRITE bitmaps send every
 * other field to the handlers below.  vmcs12 stays the reference: L0 copies
 * the shadowed fields into the shadow VMCS when it has changed them (at
 * VMPTRLD all of them, after an exit to L1 those an exit writes), and the
 * read-write ones back into vmcs12 before it reads vmcs12 (VMLAUNCH,
 * VMRESUME) or writes it to memory.
 */
static unsigned long *nvmx_vmread_bitmap;
static unsigned long *nvmx_vmwrite_bitmap;

/* Table rows of the shadowed fields, in the groups the copies need. */
static struct {
	u8 exit[NVMX_NR_FIELDS];	/* written by a VM exit (SDM 27.2, 27.3) */
	u8 rw[NVMX_NR_FIELDS];		/* L1 writes them in the shadow VMCS */
	u8 nr_exit, nr_rw;
	u16 max_index;			/* highest field index (SDM 24.11.2) */
} nvmx_shadow __ro_after_init;

/*
 * Can a VM exit write @f?  What the table's sync column says it saves
 * (SDM 27.2, 27.3), and the event-injection field, whose valid bit every
 * exit clears (SDM 24.8.3).
 */
static bool __init nvmx_exit_writes(const struct nvmx_field *f)
{
	return f->sync != NVMX_SYNC_NEVER ||
	       f->encoding == VM_ENTRY_INTR_INFO_FIELD;
}

/*
 * The bitmaps (SDM 24.6.15: bits 14:0 of the encoding index them; a set
 * bit makes the access exit) and the row groups, from the table.  No
 * 64-bit field is shadowed: its high half (SDM 24.11.2), left to exit,
 * would read a vmcs12 the shadow VMCS has moved ahead of.
 */
static __init int nested_vmx_setup_shadowing(void)
{
	const struct nvmx_field *f;

	nvmx_vmread_bitmap = (unsigned long *)get_zeroed_page(GFP_KERNEL);
	nvmx_vmwrite_bitmap = (unsigned long *)get_zeroed_page(GFP_KERNEL);
	if (!nvmx_vmread_bitmap || !nvmx_vmwrite_bitmap) {
		free_page((unsigned long)nvmx_vmread_bitmap);
		free_page((unsigned long)nvmx_vmwrite_bitmap);
		return -ENOMEM;
	}
	memset(nvmx_vmread_bitmap, 0xff, PAGE_SIZE);
	memset(nvmx_vmwrite_bitmap, 0xff, PAGE_SIZE);

	nvmx_for_each_field(f) {
		if (f->shadow == NVMX_SHADOW_NONE)
			continue;
		if (WARN_ON_ONCE(f->width == NVMX_W64))
			continue;
		__clear_bit(f->encoding & 0x7fff, nvmx_vmread_bitmap);
		if (nvmx_exit_writes(f))
			nvmx_shadow.exit[nvmx_shadow.nr_exit++] = f - nvmx_fields;
		if (f->shadow == NVMX_SHADOW_RW) {
			__clear_bit(f->encoding & 0x7fff, nvmx_vmwrite_bitmap);
			nvmx_shadow.rw[nvmx_shadow.nr_rw++] = f - nvmx_fields;
		}
		nvmx_shadow.max_index = max_t(u16, nvmx_shadow.max_index,
					      NVMX_ENC_INDEX(f->encoding));
	}
	return 0;
}

static void nested_vmx_free_shadowing(void)
{
	free_page((unsigned long)nvmx_vmread_bitmap);
	free_page((unsigned long)nvmx_vmwrite_bitmap);
	nvmx_vmread_bitmap = NULL;
	nvmx_vmwrite_bitmap = NULL;
}

/*
 * L0's own accesses to the shadow VMCS: it is current in between, vmcs01
 * (or vmcs02) again after, on the same CPU.  VMCLEAR makes it inactive
 * again (SDM 24.11.1: a VMCS is active on one processor at a time): vmx.c
 * clears it with vmcs01 when the vCPU moves only once vmcs01 has been
 * launched, and the vCPU may move before the next VM entry.
 */
static void nvmx_shadow_vmcs_get(struct vcpu_vmx *vmx)
{
	preempt_disable();
	vmcs_load(vmx->vmcs01.shadow_vmcs);
}

static void nvmx_shadow_vmcs_put(struct vcpu_vmx *vmx)
{
	vmcs_clear(vmx->vmcs01.shadow_vmcs);
	vmcs_load(vmx->loaded_vmcs->vmcs);
	preempt_enable();
}

static void nvmx_shadow_write_rows(struct vmcs12 *vmcs12, const u8 *rows,
				   unsigned int nr)
{
	const struct nvmx_field *f;

	while (nr--) {
		f = &nvmx_fields[*rows++];
		__vmcs_writel(f->encoding, nvmx_vmcs12_read(vmcs12, f));
	}
}

/*
 * L1's VMWRITE of an exit-information field (IA32_VMX_MISC[29]), which
 * exits even where L1 reads the field in the shadow VMCS (NVMX_SHADOW_READ:
 * the VMWRITE bitmap keeps its bit set, so that IA32_VMX_MISC as the VMM
 * set it decides): the shadow VMCS takes vmcs12's new value, which L1's
 * next VMREAD, not exiting, returns.  L0 writes the field there as any
 * exit does (cpu_has_vmx_shadow_vmcs() asked the processor for bit 29);
 * only this field: L1 may have written the read-write ones since they were
 * read back, and vmcs12 is older there.
 */
static void nested_vmx_shadow_write_field(struct vcpu_vmx *vmx,
					  const struct nvmx_field *f)
{
	if (f->shadow != NVMX_SHADOW_READ || !nested_vmx_shadowing(vmx))
		return;
	nvmx_shadow_vmcs_get(vmx);
	__vmcs_writel(f->encoding,
		      nvmx_vmcs12_read(vmx->nested.cached_vmcs12, f));
	nvmx_shadow_vmcs_put(vmx);
}

/* VMPTRLD: every shadowed field of the new current VMCS. */
static void nested_vmx_shadow_write_all(struct vcpu_vmx *vmx)
{
	struct vmcs12 *vmcs12 = vmx->nested.cached_vmcs12;
	const struct nvmx_field *f;

	nvmx_shadow_vmcs_get(vmx);
	nvmx_for_each_field(f) {
		if (f->shadow != NVMX_SHADOW_NONE)
			__vmcs_writel(f->encoding, nvmx_vmcs12_read(vmcs12, f));
	}
	nvmx_shadow_vmcs_put(vmx);
}

/*
 * Before L1 runs again after an exit to it (vmx.c's call, when the exit
 * path asked): the shadowed fields the exit wrote, or every field it
 * wrote into the eVMCS.
 */
void nested_sync_vmcs12_to_shadow(struct kvm_vcpu *vcpu)
{
	struct vcpu_vmx *vmx = to_vmx(vcpu);

	if (nested_evmcs_mapped(vmx)) {
		/* still to do after a stale mapping is taken again */
		vmx->nested.need_vmcs12_to_shadow_sync =
			!nested_evmcs_sync_from_vmcs12(vcpu);
		return;
	}
	vmx->nested.need_vmcs12_to_shadow_sync = false;
	if (!nested_vmx_shadowing(vmx))
		return;
	nvmx_shadow_vmcs_get(vmx);
	nvmx_shadow_write_rows(vmx->nested.cached_vmcs12, nvmx_shadow.exit,
			       nvmx_shadow.nr_exit);
	nvmx_shadow_vmcs_put(vmx);
}

void nested_vmx_shadow_read_back(struct vcpu_vmx *vmx)
{
	struct vmcs12 *vmcs12 = vmx->nested.cached_vmcs12;
	const struct nvmx_field *f;
	unsigned int i;

	if (!nested_vmx_shadowing(vmx))
		return;
	nvmx_shadow_vmcs_get(vmx);
	for (i = 0; i < nvmx_shadow.nr_rw; i++) {
		f = &nvmx_fields[nvmx_shadow.rw[i]];
		nvmx_vmcs12_write(vmcs12, f, __vmcs_readl(f->encoding));
	}
	nvmx_shadow_vmcs_put(vmx);
}

/*
 * L1 has a current VMCS (VMPTRLD): vmcs01 (loaded) links to the shadow
 * VMCS, which gets vmcs12's fields.  Not when L1 was told of a highest
 * field index (IA32_VMX_VMCS_ENUM, SDM A.9) below a shadowed field's: the
 * VMREAD handler refuses those fields, the processor would not.
 */
static void nested_vmx_shadowing_on(struct vcpu_vmx *vmx)
{
	if (!vmx->vmcs01.shadow_vmcs ||
	    NVMX_ENC_INDEX(vmx->nested.msrs.vmcs_enum) < nvmx_shadow.max_index)
		return;
	nested_vmx_shadow_write_all(vmx);
	/* SDM 26.3.1.5: a shadow VMCS exactly when "VMCS shadowing" is 1 */
	vmcs_write64(VMCS_LINK_POINTER, __pa(vmx->vmcs01.shadow_vmcs));
	secondary_exec_controls_setbit(vmx, SECONDARY_EXEC_SHADOW_VMCS);
}

/* No current VMCS: every VMREAD and VMWRITE exits (VMfailInvalid). */
static void nested_vmx_shadowing_off(struct vcpu_vmx *vmx)
{
	if (!nested_vmx_shadowing(vmx))
		return;
	secondary_exec_controls_clearbit(vmx, SECONDARY_EXEC_SHADOW_VMCS);
	vmcs_write64(VMCS_LINK_POINTER, INVALID_GPA);
	vmx->nested.need_vmcs12_to_shadow_sync = false;
}

/* VMXON: L1's shadow VMCS, when L0 shadows (SDM 24.10: indicator set). */
static int nested_vmx_alloc_shadow_vmcs(struct vcpu_vmx *vmx)
{
	struct vmcs *shadow;

	if (!enable_shadow_vmcs)
		return 0;
	shadow = alloc_vmcs(true);
	if (!shadow)
		return -ENOMEM;
	vmcs_clear(shadow);
	vmx->vmcs01.shadow_vmcs = shadow;
	return 0;
}

/* Leaving VMX operation, with vmcs01 loaded on this CPU. */
static void nested_vmx_free_shadow_vmcs(struct vcpu_vmx *vmx)
{
	struct vmcs *shadow = vmx->vmcs01.shadow_vmcs;

	if (!shadow)
		return;
	nested_vmx_shadowing_off(vmx);
	vmcs_clear(shadow);
	free_vmcs(shadow);
	vmx->vmcs01.shadow_vmcs = NULL;
}

/*
 * The current VMCS (SDM 24.1): KVM works on a copy, cached_vmcs12, read at
 * VMPTRLD and written back when L1 can expect to see it in memory.
 */
void nested_flush_vmcs12(struct kvm_vcpu *vcpu)
{
	struct vcpu_vmx *vmx = to_vmx(vcpu);

	if (vmx->nested.hv_evmcs_vmptr != EVMPTR_INVALID) {
		nested_evmcs_release(vcpu);
		return;
	}
	if (!vmx_has_valid_vmcs12(vcpu))
		return;

	nested_vmx_shadow_read_back(vmx);
	nested_vmx_save_vmcs02_state(vcpu);
	kvm_vcpu_write_guest(vcpu, vmx->nested.current_vmptr,
			     vmx->nested.cached_vmcs12, VMCS12_SIZE);
	vmx->nested.current_vmptr = INVALID_GPA;
	nested_vmx_shadowing_off(vmx);
}

void nested_vmx_make_vmcs12_current(struct kvm_vcpu *vcpu, gpa_t vmptr)
{
	struct vcpu_vmx *vmx = to_vmx(vcpu);

	vmx->nested.current_vmptr = vmptr;
	vmx->nested.dirty_vmcs12 = true;
	nested_vmx_shadowing_on(vmx);
}

static int nested_load_vmcs12(struct kvm_vcpu *vcpu, gpa_t vmptr)
{
	int r;

	nested_flush_vmcs12(vcpu);
	r = kvm_vcpu_read_guest(vcpu, vmptr, get_vmcs12(vcpu), VMCS12_SIZE);
	if (r)
		return r;
	nested_vmx_make_vmcs12_current(vcpu, vmptr);
	return 0;
}

/*
 * VMX operation.
 */

/* SDM 30.3 VMXON: CR0 and CR4 must honour the fixed bits (SDM 23.8). */
static bool nested_vmxon_cr_ok(struct kvm_vcpu *vcpu)
{
	return nested_host_cr0_valid(vcpu, kvm_read_cr0(vcpu)) &&
	       nested_cr4_valid(vcpu, kvm_read_cr4(vcpu));
}

/* SDM 23.7: IA32_FEATURE_CONTROL locked, VMXON allowed outside SMX. */
static bool nested_vmxon_feature_control_ok(struct vcpu_vmx *vmx)
{
	const u64 need = FEAT_CTL_LOCKED | FEAT_CTL_VMX_ENABLED_OUTSIDE_SMX;

	return (vmx->msr_ia32_feature_control & need) == need;
}

/*
 * SDM 23.8: L1 is offered no Intel PT in VMX operation (IA32_VMX_MISC[14]
 * is 0), so VMXON clears IA32_RTIT_CTL.TraceEn, and vmx.c refuses to set
 * it again until VMXOFF.  Only with PT in host-guest mode (pt_mode=1) does
 * L1 have the MSR.
 */
static void nested_vmx_stop_l1_trace(struct vcpu_vmx *vmx)
{
	if (!vmx_pt_mode_is_host_guest() ||
	    !(vmx->pt_desc.guest.ctl & RTIT_CTL_TRACEEN))
		return;
	vmx->pt_desc.guest.ctl &= ~RTIT_CTL_TRACEEN;
	vmcs_write64(GUEST_IA32_RTIT_CTL, vmx->pt_desc.guest.ctl);
	pt_update_intercept_for_msr(&vmx->vcpu);
}

int nested_vmx_enter_vmx_operation(struct kvm_vcpu *vcpu, gpa_t vmxon_ptr)
{
	struct vcpu_vmx *vmx = to_vmx(vcpu);

	vmx->nested.cached_vmcs12 = kzalloc(VMCS12_SIZE, GFP_KERNEL_ACCOUNT);
	if (!vmx->nested.cached_vmcs12)
		return -ENOMEM;
	if (alloc_loaded_vmcs(&vmx->nested.vmcs02))
		goto free_vmcs12;
	if (nested_vmx_alloc_shadow_vmcs(vmx)) {
		free_loaded_vmcs(&vmx->nested.vmcs02);
		goto free_vmcs12;
	}
	vmx->nested.vmcs02_initialized = false;
	/* 0 when L0 runs without VPIDs or has none left: L2 then uses L1's */
	vmx->nested.vpid02 = allocate_vpid();
	vmx->nested.last_vpid = 0;
	nested_vmx_init_preemption_timer(vmx);

	vmx->nested.vmxon_ptr = vmxon_ptr;
	vmx->nested.current_vmptr = INVALID_GPA;
	vmx->nested.vmxon = true;
	nested_vmx_stop_l1_trace(vmx);
	return 0;

free_vmcs12:
	kfree(vmx->nested.cached_vmcs12);
	vmx->nested.cached_vmcs12 = NULL;
	return -ENOMEM;
}

/*
 * Leave VMX operation, also from SMM, where vmx.c parks the flag in
 * nested.smm.vmxon.  @flush: write the current VMCS back to L1's memory
 * (VMXOFF); a vCPU being reset or destroyed leaves L1's memory alone.
 */
static void nested_vmx_leave_vmx_operation(struct kvm_vcpu *vcpu, bool flush)
{
	struct vcpu_vmx *vmx = to_vmx(vcpu);

	if (!vmx->nested.vmxon && !vmx->nested.smm.vmxon)
		return;

	if (flush)
		nested_flush_vmcs12(vcpu);
	/* Also the deadline an L2 parked in SMM had */
	nested_vmx_stop_preemption_timer(vcpu, false);
	nested_evmcs_release(vcpu);
	vmx->nested.current_vmptr = INVALID_GPA;
	vmx->nested.need_sync_vmcs02_to_vmcs12_rare = false;
	vmx->nested.vmxon_ptr = INVALID_GPA;
	vmx->nested.vmxon = false;
	vmx->nested.smm.vmxon = false;
	vmx->nested.smm.guest_mode = false;
	kvm_clear_request(KVM_REQ_GET_NESTED_STATE_PAGES, vcpu);
	/* No sync into a VMCS (shadow or enlightened) that is gone */
	vmx->nested.need_vmcs12_to_shadow_sync = false;

	free_loaded_vmcs(&vmx->nested.vmcs02);
	nested_vmx_free_shadow_vmcs(vmx);
	kfree(vmx->nested.cached_vmcs12);
	vmx->nested.cached_vmcs12 = NULL;
	free_vpid(vmx->nested.vpid02);
	vmx->nested.vpid02 = 0;
	/* L2's shadow EPT tables belong to this VMX operation */
	kvm_mmu_free_roots(vcpu->kvm, &vcpu->arch.guest_mmu, KVM_MMU_ROOTS_ALL);
}

static int handle_vmxon(struct kvm_vcpu *vcpu)
{
	struct vcpu_vmx *vmx = to_vmx(vcpu);
	gpa_t vmxon_ptr;
	int ret;

	if (!kvm_read_cr4_bits(vcpu, X86_CR4_VMXE) ||
	    !nested_vmx_insn_mode_ok(vcpu)) {
		kvm_queue_exception(vcpu, UD_VECTOR);
		return 1;
	}
	if (vmx_get_cpl(vcpu)) {
		kvm_inject_gp(vcpu, 0);
		return 1;
	}
	if (vmx->nested.vmxon)
		return nested_vmx_fail(vcpu, VMXERR_VMXON_IN_VMX_ROOT_OPERATION);
	if (!nested_vmxon_cr_ok(vcpu) ||
	    !nested_vmxon_feature_control_ok(vmx)) {
		kvm_inject_gp(vcpu, 0);
		return 1;
	}

	if (!nested_vmx_read_operand(vcpu, &vmxon_ptr, sizeof(vmxon_ptr), &ret))
		return ret;
	if (!page_address_valid(vcpu, vmxon_ptr) ||
	    nested_vmx_region_revision(vcpu, vmxon_ptr) != VMCS12_REVISION)
		return nested_vmx_fail_invalid(vcpu);

	ret = nested_vmx_enter_vmx_operation(vcpu, vmxon_ptr);
	if (ret)
		return ret;
	return nested_vmx_succeed(vcpu);
}

static int handle_vmxoff(struct kvm_vcpu *vcpu)
{
	if (!nested_vmx_check_permission(vcpu))
		return 1;

	nested_vmx_leave_vmx_operation(vcpu, true);
	/* INIT is no longer blocked (SDM 23.8): deliver a latched one. */
	kvm_make_request(KVM_REQ_EVENT, vcpu);
	return nested_vmx_succeed(vcpu);
}

/*
 * KVM forces L1 out of VMX operation (vCPU reset, SMM state set by
 * userspace, IA32_FEATURE_CONTROL cleared, vCPU teardown).
 */
void vmx_leave_nested(struct kvm_vcpu *vcpu)
{
	struct vcpu_vmx *vmx = to_vmx(vcpu);

	/* An entry still pending is abandoned with L2; no exit info. */
	if (is_guest_mode(vcpu)) {
		vmx->nested.nested_run_pending = 0;
		nested_vmx_vmexit(vcpu, -1, 0, 0);
	}
	nested_vmx_leave_vmx_operation(vcpu, false);
}

/*
 * The state a VMM sets replaces the vCPU's VMX operation: nothing of it is
 * L1's doing, so L1's VM exit does not happen (nested_vmx_drop_l2()) and
 * the current VMCS stays out of L1's memory.
 */
void nested_vmx_discard_state(struct kvm_vcpu *vcpu)
{
	if (is_guest_mode(vcpu))
		nested_vmx_drop_l2(vcpu);
	nested_vmx_leave_vmx_operation(vcpu, false);
}

void nested_vmx_free_vcpu(struct kvm_vcpu *vcpu)
{
	struct vcpu_vmx *vmx = to_vmx(vcpu);

	if (!vmx->nested.vmxon && !vmx->nested.smm.vmxon)
		return;
	/* Leaving L2 and freeing vmcs02 touch the loaded VMCS. */
	vcpu_load(vcpu);
	vmx_leave_nested(vcpu);
	vcpu_put(vcpu);
}

/*
 * The current-VMCS instructions.
 */

static bool nested_vmx_read_vmptr(struct kvm_vcpu *vcpu, gpa_t *vmptr,
				  int *ret)
{
	return nested_vmx_read_operand(vcpu, vmptr, sizeof(*vmptr), ret);
}

/* SDM 30.3 VMCLEAR: launch state "clear", data in memory, not current. */
static int handle_vmclear(struct kvm_vcpu *vcpu)
{
	struct vcpu_vmx *vmx = to_vmx(vcpu);
	u32 clear = 0;
	gpa_t vmptr;
	int ret;

	if (!nested_vmx_check_permission(vcpu))
		return 1;
	if (!nested_vmx_read_vmptr(vcpu, &vmptr, &ret))
		return ret;

	if (!page_address_valid(vcpu, vmptr))
		return nested_vmx_fail(vcpu, VMXERR_VMCLEAR_INVALID_ADDRESS);
	if (vmptr == vmx->nested.vmxon_ptr)
		return nested_vmx_fail(vcpu, VMXERR_VMCLEAR_VMXON_POINTER);

	if (nested_evmcs_vmclear(vcpu, vmptr))
		return nested_vmx_succeed(vcpu);
	if (vmptr == vmx->nested.current_vmptr) {
		vmx->nested.cached_vmcs12->launch_state = 0;
		nested_flush_vmcs12(vcpu);
	} else {
		kvm_vcpu_write_guest(vcpu,
				     vmptr + offsetof(struct vmcs12, launch_state),
				     &clear, sizeof(clear));
	}
	return nested_vmx_succeed(vcpu);
}

/*
 * SDM 30.3 VMPTRLD: bits 30:0 of the region's first 4 bytes must be our
 * VMCS revision identifier; bit 31, the shadow-VMCS indicator (SDM 24.10),
 * may be 1 only where the 1-setting of "VMCS shadowing" is offered.  A
 * shadow VMCS is then current like any other; VMLAUNCH and VMRESUME
 * refuse it (SDM 26.1).
 */
static bool nested_vmx_vmptrld_revision_ok(struct kvm_vcpu *vcpu, gpa_t vmptr)
{
	u32 exec2 = to_vmx(vcpu)->nested.msrs.secondary_ctls_high;
	u32 rev = nested_vmx_region_revision(vcpu, vmptr);

	if (exec2 & SECONDARY_EXEC_SHADOW_VMCS)
		rev &= ~BIT(31);
	return rev == VMCS12_REVISION;
}

/* SDM 30.3 VMPTRLD. */
static int handle_vmptrld(struct kvm_vcpu *vcpu)
{
	struct vcpu_vmx *vmx = to_vmx(vcpu);
	gpa_t vmptr;
	int ret;

	if (!nested_vmx_check_permission(vcpu))
		return 1;
	if (!nested_vmx_read_vmptr(vcpu, &vmptr, &ret))
		return ret;

	if (!page_address_valid(vcpu, vmptr))
		return nested_vmx_fail(vcpu, VMXERR_VMPTRLD_INVALID_ADDRESS);
	if (vmptr == vmx->nested.vmxon_ptr)
		return nested_vmx_fail(vcpu, VMXERR_VMPTRLD_VMXON_POINTER);
	if (vmptr == vmx->nested.current_vmptr)
		return nested_vmx_succeed(vcpu);
	if (!nested_vmx_vmptrld_revision_ok(vcpu, vmptr) ||
	    nested_load_vmcs12(vcpu, vmptr))
		return nested_vmx_fail(vcpu,
				       VMXERR_VMPTRLD_INCORRECT_VMCS_REVISION_ID);
	return nested_vmx_succeed(vcpu);
}

/* SDM 30.3 VMPTRST: all ones when there is no current VMCS. */
static int handle_vmptrst(struct kvm_vcpu *vcpu)
{
	gpa_t vmptr = to_vmx(vcpu)->nested.current_vmptr;
	int ret;

	if (!nested_vmx_check_permission(vcpu))
		return 1;
	if (!nested_vmx_write_operand(vcpu, &vmptr, sizeof(vmptr), &ret))
		return ret;
	return nested_vmx_succeed(vcpu);
}

/*
 * VMREAD and VMWRITE (SDM 30.3).  The field encoding is in the register
 * reg2; the value operand is 64 bits in 64-bit mode, 32 bits otherwise.
 * While L1 runs, vmcs12 holds every field these handlers see: the exit
 * that returned to L1 saved every guest field L2 can have changed, CR0/CR4
 * through cr_owner.h (nvmx_cr_guest12()); the fields L1 reaches in the
 * shadow VMCS never exit here (no 64-bit field is shadowed, so no high
 * half of one either).
 *
 * L2's VMREAD and VMWRITE reach here only when vmcs12 has "VMCS shadowing"
 * and its VMREAD or VMWRITE bitmap lets the field through (nested_exit.c);
 * in VMX non-root operation they access the VMCS that vmcs12's link
 * pointer names (SDM 24.10).  L0 keeps no copy of that shadow VMCS: each access goes to L1's
 * memory at the link pointer plus the field's offset in struct vmcs12, the
 * layout in which VMPTRLD and VMCLEAR of the region read and write it.  VM
 * entry made sure that the region is a shadow VMCS and not the current
 * VMCS (SDM 26.3.1.5), the one region L0 caches, and vmcs12 cannot change
 * while L2 runs.
 */
static int nested_vmx_operand_bytes(struct kvm_vcpu *vcpu)
{
	return is_64_bit_mode(vcpu) ? 8 : 4;
}

/*
 * SDM 30.3: VMfailInvalid without a current VMCS in VMX root operation, or
 * without a VMCS link pointer in VMX non-root operation (VM entry accepts
 * FFFFFFFF_FFFFFFFFH with "VMCS shadowing", SDM 26.3.1.5).  An eVMCS is
 * read and written in memory, not with VMREAD and VMWRITE (TLFS: those
 * are unsupported while it is active): it counts as none here (VMREAD
 * makes an exception, below), as VMPTRST reports none.
 */
static bool nested_vmx_vmcs_valid(struct kvm_vcpu *vcpu)
{
	if (is_guest_mode(vcpu))
		return get_vmcs12(vcpu)->vmcs_link_pointer != INVALID_GPA;
	return to_vmx(vcpu)->nested.current_vmptr != INVALID_GPA;
}

/*
 * Where field @f of L2's shadow VMCS is in L1's memory, and its @len bytes;
 * the high half of a 64-bit field (SDM 24.11.2) is its upper 4 bytes.
 */
static gpa_t nested_vmx_shadow_field_gpa(struct kvm_vcpu *vcpu,
					 const struct nvmx_field *f,
					 unsigned int *len)
{
	gpa_t gpa = get_vmcs12(vcpu)->vmcs_link_pointer + f->offset;

	if (f->encoding & NVMX_ENC_HIGH) {
		*len = 4;
		return gpa + 4;
	}
	*len = nvmx_width_bytes((enum nvmx_width)f->width);
	return gpa;
}

/* Field @f of the VMCS VMREAD reads; memory not there reads as all ones. */
static u64 nested_vmx_vmcs_read(struct kvm_vcpu *vcpu,
				const struct nvmx_field *f)
{
	unsigned int len;
	u64 value = 0;
	gpa_t gpa;

	if (!is_guest_mode(vcpu)) {
		if (f->sync == NVMX_SYNC_VMCS02)
			nested_vmx_save_vmcs02_state(vcpu);
		return nvmx_vmcs12_read(get_vmcs12(vcpu), f);
	}

	gpa = nested_vmx_shadow_field_gpa(vcpu, f, &len);
	if (kvm_vcpu_read_guest(vcpu, gpa, &value, len))
		return GENMASK_ULL(len * BITS_PER_BYTE - 1, 0);
	return value;
}

/*
 * Field @f of the VMCS VMWRITE writes, keeping the bits of @value that fit
 * (little-endian, as struct vmcs12).  kvm_vcpu_write_guest() marks the
 * shadow VMCS's page dirty; a write to memory not there is lost.
 */
static void nested_vmx_vmcs_write(struct kvm_vcpu *vcpu,
				  const struct nvmx_field *f, u64 value)
{
	unsigned int len;
	gpa_t gpa;

	if (is_guest_mode(vcpu)) {
		gpa = nested_vmx_shadow_field_gpa(vcpu, f, &len);
		kvm_vcpu_write_guest(vcpu, gpa, &value, len);
		return;
	}

	/*
	 * The entry will load all the fields of this kind from vmcs12:
	 * vmcs12 first takes the others back from vmcs02.
	 */
	if (f->sync == NVMX_SYNC_VMCS02)
		nested_vmx_save_vmcs02_state(vcpu);
	nvmx_vmcs12_write(get_vmcs12(vcpu), f, value);
	/*
	 * No VM entry checks or loads exit information (SDM 26): vmcs02
	 * takes nothing of it, but L1 may read it in the shadow VMCS.
	 */
	if (f->class == NVMX_EXIT_INFO) {
		nested_vmx_shadow_write_field(to_vmx(vcpu), f);
		return;
	}
	/* vmcs02 takes it at the next entry (nested_entry.c) */
	if (f->shadow == NVMX_SHADOW_NONE)
		to_vmx(vcpu)->nested.dirty_vmcs12 = true;
}

/*
 * NULL: no such field (SDM 24.11.2: encodings are 32 bits), or none on the
 * processor L1 is offered, whose highest field index is
 * IA32_VMX_VMCS_ENUM's (SDM A.9).
 */
static const struct nvmx_field *nested_vmx_operand_field(struct kvm_vcpu *vcpu,
							 u32 info)
{
	unsigned long enc = kvm_register_read(vcpu,
					      vmx_get_instr_info_reg2(info));
	u64 vmcs_enum = to_vmx(vcpu)->nested.msrs.vmcs_enum;

	if (enc > U32_MAX || NVMX_ENC_INDEX(enc) > NVMX_ENC_INDEX(vmcs_enum))
		return NULL;
	return nvmx_vmcs12_field(enc);
}

/*
 * VMREAD of the eVMCS (TLFS: unsupported while an eVMCS is active; some
 * Windows 11 versions do it all the same, and Hyper-V and the stock
 * module let them): its field as L1 or the last exit wrote it.
 */
static bool nested_vmx_evmcs_read(struct kvm_vcpu *vcpu, u32 info, u64 *value)
{
	unsigned long enc = kvm_register_read(vcpu,
					      vmx_get_instr_info_reg2(info));

	return nested_evmcs_vmread(to_vmx(vcpu), enc, value);
}

static int handle_vmread(struct kvm_vcpu *vcpu)
{
	u32 info = vmcs_read32(VMX_INSTRUCTION_INFO);
	const struct nvmx_field *f;
	u64 value;
	int ret;

	if (!nested_vmx_check_permission(vcpu))
		return 1;
	if (!is_guest_mode(vcpu) && nested_evmcs_refresh(vcpu)) {
		if (!nested_vmx_evmcs_read(vcpu, info, &value))
			return nested_vmx_fail(vcpu,
					       VMXERR_UNSUPPORTED_VMCS_COMPONENT);
	} else {
		if (!nested_vmx_vmcs_valid(vcpu))
			return nested_vmx_fail_invalid(vcpu);
		f = nested_vmx_operand_field(vcpu, info);
		if (!f)
			return nested_vmx_fail(vcpu,
					       VMXERR_UNSUPPORTED_VMCS_COMPONENT);
		value = nested_vmx_vmcs_read(vcpu, f);
	}

	if (info & NVMX_INFO_REG_OPERAND)
		kvm_register_write(vcpu, NVMX_INFO_REG1(info), value);
	else if (!nested_vmx_write_operand(vcpu, &value,
					   nested_vmx_operand_bytes(vcpu), &ret))
		return ret;
	return nested_vmx_succeed(vcpu);
}

/*
 * SDM 30.3 VMWRITE: the VM-exit information fields are read-only
 * (VMfailValid 13) unless IA32_VMX_MISC bit 29 says VMWRITE may write any
 * supported field (SDM A.6).  The bit as L1 reads it: the VMM may have
 * cleared it (vmx_set_vmx_msr()).  L2's VMWRITE that L0 performs on L1's
 * shadow VMCS follows the same bit, the one of the processor L2 runs on.
 */
static bool nested_vmx_vmwrite_any_field(struct kvm_vcpu *vcpu)
{
	return to_vmx(vcpu)->nested.msrs.misc_low &
	       MSR_IA32_VMX_MISC_VMWRITE_SHADOW_RO_FIELDS;
}

static int handle_vmwrite(struct kvm_vcpu *vcpu)
{
	u32 info = vmcs_read32(VMX_INSTRUCTION_INFO);
	const struct nvmx_field *f;
	u64 value = 0;
	int ret;

	if (!nested_vmx_check_permission(vcpu))
		return 1;
	if (!nested_vmx_vmcs_valid(vcpu))
		return nested_vmx_fail_invalid(vcpu);
	/* A faulting memory operand wins over a bad field (SDM 30.3). */
	if (info & NVMX_INFO_REG_OPERAND)
		value = kvm_register_read(vcpu, NVMX_INFO_REG1(info));
	else if (!nested_vmx_read_operand(vcpu, &value,
					  nested_vmx_operand_bytes(vcpu), &ret))
		return ret;

	f = nested_vmx_operand_field(vcpu, info);
	if (!f)
		return nested_vmx_fail(vcpu, VMXERR_UNSUPPORTED_VMCS_COMPONENT);
	if (f->class == NVMX_EXIT_INFO && !nested_vmx_vmwrite_any_field(vcpu))
		return nested_vmx_fail(vcpu,
				       VMXERR_VMWRITE_READ_ONLY_VMCS_COMPONENT);

	nested_vmx_vmcs_write(vcpu, f, value);
	return nested_vmx_succeed(vcpu);
}

/*
 * VMLAUNCH and VMRESUME: the common checks of SDM 30.3 here, the rest of
 * the instruction in nested_entry.c.
 */
static int handle_vmlaunch(struct kvm_vcpu *vcpu)
{
	if (!nested_vmx_check_permission(vcpu))
		return 1;
	return nested_vmx_run(vcpu, true);
}

static int handle_vmresume(struct kvm_vcpu *vcpu)
{
	if (!nested_vmx_check_permission(vcpu))
		return 1;
	return nested_vmx_run(vcpu, false);
}

/*
 * INVEPT and INVVPID (SDM 30.3): the type in the register operand reg2, a
 * 128-bit descriptor in memory.  #UD when L1 is not offered the instruction,
 * then the usual faults; an unsupported type fails before the descriptor is
 * read.
 */
struct nvmx_inv_desc {
	u64 lo;		/* INVEPT: the EPTP; INVVPID: the VPID in bits 15:0 */
	u64 hi;		/* INVVPID: the linear address */
};

static bool nested_vmx_inv_offered(struct kvm_vcpu *vcpu, u32 control,
				   bool cap)
{
	struct nested_vmx_msrs *msrs = &to_vmx(vcpu)->nested.msrs;

	if ((msrs->secondary_ctls_high & control) && cap)
		return nested_vmx_check_permission(vcpu);
	kvm_queue_exception(vcpu, UD_VECTOR);
	return false;
}

static unsigned long nested_vmx_inv_type(struct kvm_vcpu *vcpu)
{
	u32 info = vmcs_read32(VMX_INSTRUCTION_INFO);

	return kvm_register_read(vcpu, vmx_get_instr_info_reg2(info));
}

/* INVEPT types 1 and 2 are IA32_VMX_EPT_VPID_CAP bits 25 and 26. */
static bool nvmx_invept_type_ok(struct kvm_vcpu *vcpu, unsigned long type)
{
	u32 caps = to_vmx(vcpu)->nested.msrs.ept_caps;

	return (type == VMX_EPT_EXTENT_CONTEXT &&
		(caps & VMX_EPT_EXTENT_CONTEXT_BIT)) ||
	       (type == VMX_EPT_EXTENT_GLOBAL &&
		(caps & VMX_EPT_EXTENT_GLOBAL_BIT));
}

/*
 * The guest-physical and combined mappings INVEPT invalidates are KVM's
 * shadow EPT tables for L2: single-context frees the roots built from an
 * EPTP with the same EPT PML4 table address (SDM 28.3.3.1), global every
 * root.  They are rebuilt from L1's EPT as L2 touches memory again, and
 * loading a new root flushes the processor's TLB for it.
 */
static void nested_vmx_invept_roots(struct kvm_vcpu *vcpu, u64 eptp,
				    bool global)
{
	struct kvm_mmu *mmu = &vcpu->arch.guest_mmu;
	unsigned long roots = 0;
	unsigned int i;

	if (global) {
		roots = KVM_MMU_ROOTS_ALL;
	} else {
		if (nvmx_ept_same_ep4ta(mmu->root.pgd, eptp))
			roots |= KVM_MMU_ROOT_CURRENT;
		for (i = 0; i < KVM_MMU_NUM_PREV_ROOTS; i++)
			if (nvmx_ept_same_ep4ta(mmu->prev_roots[i].pgd, eptp))
				roots |= KVM_MMU_ROOT_PREVIOUS(i);
	}
	if (roots)
		kvm_mmu_free_roots(vcpu->kvm, mmu, roots);
}

static int handle_invept(struct kvm_vcpu *vcpu)
{
	struct nested_vmx_msrs *msrs = &to_vmx(vcpu)->nested.msrs;
	struct nvmx_inv_desc desc;
	unsigned long type;
	int ret;

	if (!nested_vmx_inv_offered(vcpu, SECONDARY_EXEC_ENABLE_EPT,
				    msrs->ept_caps & VMX_EPT_INVEPT_BIT))
		return 1;

	type = nested_vmx_inv_type(vcpu);
	if (!nvmx_invept_type_ok(vcpu, type))
		return nested_vmx_fail(vcpu,
				       VMXERR_INVALID_OPERAND_TO_INVEPT_INVVPID);
	if (!nested_vmx_read_operand(vcpu, &desc, sizeof(desc), &ret))
		return ret;

	/* Single-context: an EPTP that VM entry would refuse fails. */
	if (type == VMX_EPT_EXTENT_CONTEXT &&
	    !nested_vmx_eptp_valid(vcpu, desc.lo))
		return nested_vmx_fail(vcpu,
				       VMXERR_INVALID_OPERAND_TO_INVEPT_INVVPID);

	nested_vmx_invept_roots(vcpu, desc.lo, type == VMX_EPT_EXTENT_GLOBAL);
	return nested_vmx_succeed(vcpu);
}

/*
 * INVVPID's checks on the descriptor (SDM 30.3): bits 63:16 reserved; a
 * VPID of 0 for every type but all-contexts; a canonical linear address
 * for individual-address.
 */
static bool nvmx_invvpid_desc_ok(struct kvm_vcpu *vcpu, unsigned long type,
				 const struct nvmx_inv_desc *desc)
{
	if (desc->lo >> 16)
		return false;
	if (type == VMX_VPID_EXTENT_ALL_CONTEXT)
		return true;
	if (!desc->lo)
		return false;
	return type != VMX_VPID_EXTENT_INDIVIDUAL_ADDR ||
	       !is_noncanonical_address(desc->hi, vcpu);
}

/*
 * Every VPID of L1's guests maps to vpid02, so any INVVPID invalidates
 * vpid02's linear and combined mappings (more than asked for is allowed,
 * SDM 28.3.3.3).  Without vpid02, L2 shares L1's VPID and every nested
 * entry and exit flush it already.  With shadow paging, L2's linear
 * mappings are also KVM's shadow tables for L2's page tables: those roots
 * are dropped and rebuilt from L2's page tables.
 */
static void nested_vmx_invvpid_flush(struct kvm_vcpu *vcpu, unsigned long type,
				     const struct nvmx_inv_desc *desc)
{
	u16 vpid02 = to_vmx(vcpu)->nested.vpid02;

	if (vpid02 && type == VMX_VPID_EXTENT_INDIVIDUAL_ADDR)
		vpid_sync_vcpu_addr(vpid02, desc->hi);
	else if (vpid02)
		vpid_sync_context(vpid02);
	if (!enable_ept)
		kvm_mmu_free_guest_mode_roots(vcpu->kvm, &vcpu->arch.root_mmu);
}

static int handle_invvpid(struct kvm_vcpu *vcpu)
{
	struct nested_vmx_msrs *msrs = &to_vmx(vcpu)->nested.msrs;
	struct nvmx_inv_desc desc;
	unsigned long type;
	int ret;

	if (!nested_vmx_inv_offered(vcpu, SECONDARY_EXEC_ENABLE_VPID,
				    msrs->vpid_caps & VMX_VPID_INVVPID_BIT))
		return 1;

	/* Types 0 to 3 are IA32_VMX_EPT_VPID_CAP bits 40 to 43. */
	type = nested_vmx_inv_type(vcpu);
	if (type > VMX_VPID_EXTENT_SINGLE_NON_GLOBAL ||
	    !(msrs->vpid_caps & (VMX_VPID_EXTENT_INDIVIDUAL_ADDR_BIT << type)))
		return nested_vmx_fail(vcpu,
				       VMXERR_INVALID_OPERAND_TO_INVEPT_INVVPID);
	if (!nested_vmx_read_operand(vcpu, &desc, sizeof(desc), &ret))
		return ret;
	if (!nvmx_invvpid_desc_ok(vcpu, type, &desc))
		return nested_vmx_fail(vcpu,
				       VMXERR_INVALID_OPERAND_TO_INVEPT_INVVPID);

	nested_vmx_invvpid_flush(vcpu, type, &desc);
	return nested_vmx_succeed(vcpu);
}

/*
 * SDM 25.5.5.3 EPTP switching (VM function 0): entry ECX of L1's EPTP list,
 * if ECX < 512 and the entry is an EPTP that VM entry would accept, becomes
 * vmcs12's EPTP and the root of L2's guest-physical space: KVM's shadow EPT
 * MMU takes it, with its accessed/dirty setting.  Nothing is invalidated:
 * cached translations are tagged by the EPT PML4 table (SDM 28.3.1), as
 * the shadow roots are by their own EPTP in vmcs02.  False: the VM exit the
 * SDM takes instead.
 */
static bool nested_vmx_eptp_switching(struct kvm_vcpu *vcpu)
{
	struct vmcs12 *vmcs12 = get_vmcs12(vcpu);
	u32 index = kvm_rcx_read(vcpu);
	u64 eptp;

	if (index >= VMFUNC_EPTP_ENTRIES ||
	    kvm_vcpu_read_guest(vcpu, vmcs12->eptp_list_address +
				index * sizeof(eptp), &eptp, sizeof(eptp)) ||
	    !nested_vmx_eptp_valid(vcpu, eptp))
		return false;

	if (eptp != vmcs12->ept_pointer) {
		vmcs12->ept_pointer = eptp;
		nested_vmx_init_ept_mmu(vcpu, vmcs12);
	}
	return true;
}

/*
 * VMFUNC (SDM 30.3, 25.5.5).  L1 runs in VMX root operation, where it is
 * #UD (vmx.c enables VM functions in vmcs01 with none enabled, so L1's
 * VMFUNC with EAX < 64 exits here).  From L2, nested_exit.c has reflected
 * the functions L1 did not enable (25.5.5.2): what reaches here is one L1
 * enabled, EPTP switching, which L0 performs or turns into its VM exit.
 */
static int handle_vmfunc(struct kvm_vcpu *vcpu)
{
	if (!is_guest_mode(vcpu)) {
		kvm_queue_exception(vcpu, UD_VECTOR);
		return 1;
	}
	if ((u32)kvm_rax_read(vcpu) == 0 && nested_vmx_eptp_switching(vcpu))
		return kvm_skip_emulated_instruction(vcpu);

	nested_vmx_reflect_hw_exit(vcpu);
	return 1;
}

__init int nested_vmx_hardware_setup(nvmx_exit_handler_t exit_handlers[])
{
	if (!cpu_has_vmx_shadow_vmcs())
		enable_shadow_vmcs = false;
	if (enable_shadow_vmcs && nested_vmx_setup_shadowing())
		return -ENOMEM;
	nested_evmcs_setup_rows();

	exit_handlers[EXIT_REASON_VMON] = handle_vmxon;
	exit_handlers[EXIT_REASON_VMOFF] = handle_vmxoff;
	exit_handlers[EXIT_REASON_VMCLEAR] = handle_vmclear;
	exit_handlers[EXIT_REASON_VMPTRLD] = handle_vmptrld;
	exit_handlers[EXIT_REASON_VMPTRST] = handle_vmptrst;
	exit_handlers[EXIT_REASON_VMREAD] = handle_vmread;
	exit_handlers[EXIT_REASON_VMWRITE] = handle_vmwrite;
	exit_handlers[EXIT_REASON_VMLAUNCH] = handle_vmlaunch;
	exit_handlers[EXIT_REASON_VMRESUME] = handle_vmresume;
	exit_handlers[EXIT_REASON_INVEPT] = handle_invept;
	exit_handlers[EXIT_REASON_INVVPID] = handle_invvpid;
	exit_handlers[EXIT_REASON_VMFUNC] = handle_vmfunc;
	return 0;
}

void nested_vmx_hardware_unsetup(void)
{
	if (enable_shadow_vmcs)
		nested_vmx_free_shadowing();
}

/* vmx.c's init_vmcs(), vmcs01 loaded: the bitmaps L1's shadowing uses. */
void nested_vmx_set_vmcs_shadowing_bitmap(void)
{
	if (!enable_shadow_vmcs)
		return;
	vmcs_write64(VMREAD_BITMAP, __pa(nvmx_vmread_bitmap));
	vmcs_write64(VMWRITE_BITMAP, __pa(nvmx_vmwrite_bitmap));
}

/*
 * vmx.c, at every exit from L2: the virtual-APIC page, which the processor
 * writes through vmcs02 behind KVM's dirty tracking (SDM 29.3: MOV to CR8
 * writes VTPR), is dirty; its gfn is marked.  The posted-interrupt
 * descriptor is not: the processor never writes it (vmcs02 has no posted
 * interrupts), L0 does, and marks it then (nested_vmx_process_posted_intr()).
 * Nor is the APIC-access page: L2's linear accesses to it exit or go to the
 * virtual-APIC page, but physical accesses (SDM 29.4.6) may write it, and
 * are not tracked here.
 */
void nested_mark_vmcs12_pages_dirty(struct kvm_vcpu *vcpu)
{
	struct kvm_host_map *vapic = &to_vmx(vcpu)->nested.virtual_apic_map;

	if (vapic->hva)
		kvm_vcpu_mark_page_dirty(vcpu, vapic->gfn);
}

/*
 * SDM 28.2.5 page-modification logging, for L2: KVM's walk of L1's EPT is
 * about to set a dirty flag in it (28.2.4; kvm.ko's EPT walker calls this
 * for every such flag, for L2's access to @gpa).  With "enable PML" in
 * vmcs12 and accessed and dirty flags in its EPTP:
 * - a PML index outside 0-511 is a page-modification log-full event: the
 *   flag is not set and the access does not happen (nonzero fails the
 *   walk; nested_vmx_ept_inject_page_fault() makes it the VM exit);
 * - otherwise the 4-KByte aligned guest-physical address is written at
 *   the PML address plus 8 times the index, and the index is decremented
 *   (from 0 to FFFFH).
 * The index is vmcs12's alone (vmcs02 never enables PML), so L1 reads it
 * as L2 left it without the exit saving anything.
 */
static int nested_vmx_write_log_dirty(struct kvm_vcpu *vcpu, gpa_t gpa)
{
	struct vmcs12 *vmcs12;
	u64 entry = gpa & ~(u64)(PAGE_SIZE - 1);

	if (!is_guest_mode(vcpu))
		return 0;
	vmcs12 = get_vmcs12(vcpu);
	if (!nested_cpu_has2(vmcs12, SECONDARY_EXEC_ENABLE_PML) ||
	    !nested_ept_ad_enabled(vcpu))
		return 0;

	if (vmcs12->guest_pml_index >= PML_ENTITY_NUM) {
		to_vmx(vcpu)->nested.pml_full = true;
		return 1;
	}
	/* A write to memory that is not there is lost, as on hardware */
	kvm_vcpu_write_guest(vcpu, vmcs12->pml_address +
			     vmcs12->guest_pml_index * sizeof(entry),
			     &entry, sizeof(entry));
	vmcs12->guest_pml_index--;
	return 0;
}

/*
 * get_nested_state_pages reads L2's PDPTEs after RSM or
 * KVM_SET_NESTED_STATE, and maps a restored eVMCS.  The enlightened VMCS
 * (nested_evmcs.c) is enabled per vCPU by the VMM and reported in Hyper-V
 * CPUID by upstream evmcs.c's helpers; vmx.c filters the capability MSRs
 * L1 reads with it.
 */
struct kvm_x86_nested_ops vmx_nested_ops = {
	.leave_nested = vmx_leave_nested,
	.is_exception_vmexit = nested_vmx_is_exception_vmexit,
	.check_events = nested_vmx_check_events,
	.has_events = nested_vmx_has_events,
	.triple_fault = nested_vmx_triple_fault,
	.get_state = nested_vmx_get_state,
	.set_state = nested_vmx_set_state,
	.get_nested_state_pages = nested_vmx_get_state_pages,
	.write_log_dirty = nested_vmx_write_log_dirty,
	.enable_evmcs = nested_enable_evmcs,
	.get_evmcs_version = nested_get_evmcs_version,
};
