/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The rows of the VMX capability name table: one name per bit of the
 * capability MSRs that the nested_features module parameter lists (see
 * vmx_caps.h).  No include guard: a user defines NVMX_CAP(), includes this
 * file, and the file undefines it again (the X-macro idiom).
 *
 *	NVMX_CAP(field, bit, name, kconst)
 *
 * @bit is the SDM's bit number within the field's value (vmx_caps.h says
 * which value); @kconst is the kernel's mask for that bit in asm/vmx.h,
 * which the module checks against @bit at compile time and nobody else
 * expands.  Every bit that Linux 6.1's asm/vmx.h names has a row; the
 * parameter prints a bit without one as "bitN".
 */

/* Pin-based VM-execution controls (SDM 24.6.1) */
NVMX_CAP(PIN, 0, "ext_intr_exiting", PIN_BASED_EXT_INTR_MASK)
NVMX_CAP(PIN, 3, "nmi_exiting", PIN_BASED_NMI_EXITING)
NVMX_CAP(PIN, 5, "virtual_nmis", PIN_BASED_VIRTUAL_NMIS)
NVMX_CAP(PIN, 6, "preemption_timer", PIN_BASED_VMX_PREEMPTION_TIMER)
NVMX_CAP(PIN, 7, "posted_intr", PIN_BASED_POSTED_INTR)

/* Primary processor-based VM-execution controls (SDM 24.6.2) */
NVMX_CAP(PRIMARY, 2, "intr_window_exiting", CPU_BASED_INTR_WINDOW_EXITING)
NVMX_CAP(PRIMARY, 3, "tsc_offsetting", CPU_BASED_USE_TSC_OFFSETTING)
NVMX_CAP(PRIMARY, 7, "hlt_exiting", CPU_BASED_HLT_EXITING)
NVMX_CAP(PRIMARY, 9, "invlpg_exiting", CPU_BASED_INVLPG_EXITING)
NVMX_CAP(PRIMARY, 10, "mwait_exiting", CPU_BASED_MWAIT_EXITING)
NVMX_CAP(PRIMARY, 11, "rdpmc_exiting", CPU_BASED_RDPMC_EXITING)
NVMX_CAP(PRIMARY, 12, "rdtsc_exiting", CPU_BASED_RDTSC_EXITING)
NVMX_CAP(PRIMARY, 15, "cr3_load_exiting", CPU_BASED_CR3_LOAD_EXITING)
NVMX_CAP(PRIMARY, 16, "cr3_store_exiting", CPU_BASED_CR3_STORE_EXITING)
NVMX_CAP(PRIMARY, 17, "tertiary_controls", CPU_BASED_ACTIVATE_TERTIARY_CONTROLS)
NVMX_CAP(PRIMARY, 19, "cr8_load_exiting", CPU_BASED_CR8_LOAD_EXITING)
NVMX_CAP(PRIMARY, 20, "cr8_store_exiting", CPU_BASED_CR8_STORE_EXITING)
NVMX_CAP(PRIMARY, 21, "tpr_shadow", CPU_BASED_TPR_SHADOW)
NVMX_CAP(PRIMARY, 22, "nmi_window_exiting", CPU_BASED_NMI_WINDOW_EXITING)
NVMX_CAP(PRIMARY, 23, "mov_dr_exiting", CPU_BASED_MOV_DR_EXITING)
NVMX_CAP(PRIMARY, 24, "uncond_io_exiting", CPU_BASED_UNCOND_IO_EXITING)
NVMX_CAP(PRIMARY, 25, "io_bitmaps", CPU_BASED_USE_IO_BITMAPS)
NVMX_CAP(PRIMARY, 27, "monitor_trap_flag", CPU_BASED_MONITOR_TRAP_FLAG)
NVMX_CAP(PRIMARY, 28, "msr_bitmaps", CPU_BASED_USE_MSR_BITMAPS)
NVMX_CAP(PRIMARY, 29, "monitor_exiting", CPU_BASED_MONITOR_EXITING)
NVMX_CAP(PRIMARY, 30, "pause_exiting", CPU_BASED_PAUSE_EXITING)
NVMX_CAP(PRIMARY, 31, "secondary_controls", CPU_BASED_ACTIVATE_SECONDARY_CONTROLS)

/* Secondary processor-based VM-execution controls (SDM 24.6.2) */
NVMX_CAP(SECONDARY, 0, "virtualize_apic_accesses", SECONDARY_EXEC_VIRTUALIZE_APIC_ACCESSES)
NVMX_CAP(SECONDARY, 1, "ept", SECONDARY_EXEC_ENABLE_EPT)
NVMX_CAP(SECONDARY, 2, "desc_exiting", SECONDARY_EXEC_DESC)
NVMX_CAP(SECONDARY, 3, "rdtscp", SECONDARY_EXEC_ENABLE_RDTSCP)
NVMX_CAP(SECONDARY, 4, "virtualize_x2apic_mode", SECONDARY_EXEC_VIRTUALIZE_X2APIC_MODE)
NVMX_CAP(SECONDARY, 5, "vpid", SECONDARY_EXEC_ENABLE_VPID)
NVMX_CAP(SECONDARY, 6, "wbinvd_exiting", SECONDARY_EXEC_WBINVD_EXITING)
NVMX_CAP(SECONDARY, 7, "unrestricted_guest", SECONDARY_EXEC_UNRESTRICTED_GUEST)
NVMX_CAP(SECONDARY, 8, "apic_register_virt", SECONDARY_EXEC_APIC_REGISTER_VIRT)
NVMX_CAP(SECONDARY, 9, "virtual_intr_delivery", SECONDARY_EXEC_VIRTUAL_INTR_DELIVERY)
NVMX_CAP(SECONDARY, 10, "pause_loop_exiting", SECONDARY_EXEC_PAUSE_LOOP_EXITING)
NVMX_CAP(SECONDARY, 11, "rdrand_exiting", SECONDARY_EXEC_RDRAND_EXITING)
NVMX_CAP(SECONDARY, 12, "invpcid", SECONDARY_EXEC_ENABLE_INVPCID)
NVMX_CAP(SECONDARY, 13, "vmfunc", SECONDARY_EXEC_ENABLE_VMFUNC)
NVMX_CAP(SECONDARY, 14, "vmcs_shadowing", SECONDARY_EXEC_SHADOW_VMCS)
NVMX_CAP(SECONDARY, 15, "encls_exiting", SECONDARY_EXEC_ENCLS_EXITING)
NVMX_CAP(SECONDARY, 16, "rdseed_exiting", SECONDARY_EXEC_RDSEED_EXITING)
NVMX_CAP(SECONDARY, 17, "pml", SECONDARY_EXEC_ENABLE_PML)
NVMX_CAP(SECONDARY, 19, "pt_conceal_vmx", SECONDARY_EXEC_PT_CONCEAL_VMX)
NVMX_CAP(SECONDARY, 20, "xsaves", SECONDARY_EXEC_XSAVES)
NVMX_CAP(SECONDARY, 22, "mode_based_ept_exec", SECONDARY_EXEC_MODE_BASED_EPT_EXEC)
NVMX_CAP(SECONDARY, 24, "pt_use_gpa", SECONDARY_EXEC_PT_USE_GPA)
NVMX_CAP(SECONDARY, 25, "tsc_scaling", SECONDARY_EXEC_TSC_SCALING)
NVMX_CAP(SECONDARY, 26, "usr_wait_pause", SECONDARY_EXEC_ENABLE_USR_WAIT_PAUSE)
NVMX_CAP(SECONDARY, 30, "bus_lock_detection", SECONDARY_EXEC_BUS_LOCK_DETECTION)
NVMX_CAP(SECONDARY, 31, "notify_vm_exiting", SECONDARY_EXEC_NOTIFY_VM_EXITING)

/* VM-exit controls (SDM 24.7.1) */
NVMX_CAP(EXIT, 2, "save_debug_controls", VM_EXIT_SAVE_DEBUG_CONTROLS)
NVMX_CAP(EXIT, 9, "host_addr_space_size", VM_EXIT_HOST_ADDR_SPACE_SIZE)
NVMX_CAP(EXIT, 12, "load_perf_global_ctrl", VM_EXIT_LOAD_IA32_PERF_GLOBAL_CTRL)
NVMX_CAP(EXIT, 15, "ack_intr_on_exit", VM_EXIT_ACK_INTR_ON_EXIT)
NVMX_CAP(EXIT, 18, "save_pat", VM_EXIT_SAVE_IA32_PAT)
NVMX_CAP(EXIT, 19, "load_pat", VM_EXIT_LOAD_IA32_PAT)
NVMX_CAP(EXIT, 20, "save_efer", VM_EXIT_SAVE_IA32_EFER)
NVMX_CAP(EXIT, 21, "load_efer", VM_EXIT_LOAD_IA32_EFER)
NVMX_CAP(EXIT, 22, "save_preemption_timer", VM_EXIT_SAVE_VMX_PREEMPTION_TIMER)
NVMX_CAP(EXIT, 23, "clear_bndcfgs", VM_EXIT_CLEAR_BNDCFGS)
NVMX_CAP(EXIT, 24, "pt_conceal_pip", VM_EXIT_PT_CONCEAL_PIP)
NVMX_CAP(EXIT, 25, "clear_rtit_ctl", VM_EXIT_CLEAR_IA32_RTIT_CTL)

/* VM-entry controls (SDM 24.8.1) */
NVMX_CAP(ENTRY, 2, "load_debug_controls", VM_ENTRY_LOAD_DEBUG_CONTROLS)
NVMX_CAP(ENTRY, 9, "ia32e_mode_guest", VM_ENTRY_IA32E_MODE)
NVMX_CAP(ENTRY, 10, "entry_to_smm", VM_ENTRY_SMM)
NVMX_CAP(ENTRY, 11, "deact_dual_monitor", VM_ENTRY_DEACT_DUAL_MONITOR)
NVMX_CAP(ENTRY, 13, "load_perf_global_ctrl", VM_ENTRY_LOAD_IA32_PERF_GLOBAL_CTRL)
NVMX_CAP(ENTRY, 14, "load_pat", VM_ENTRY_LOAD_IA32_PAT)
NVMX_CAP(ENTRY, 15, "load_efer", VM_ENTRY_LOAD_IA32_EFER)
NVMX_CAP(ENTRY, 16, "load_bndcfgs", VM_ENTRY_LOAD_BNDCFGS)
NVMX_CAP(ENTRY, 17, "pt_conceal_pip", VM_ENTRY_PT_CONCEAL_PIP)
NVMX_CAP(ENTRY, 18, "load_rtit_ctl", VM_ENTRY_LOAD_IA32_RTIT_CTL)

/* IA32_VMX_EPT_VPID_CAP bits 31:0: EPT and INVEPT (SDM A.10) */
NVMX_CAP(EPT, 0, "execute_only", VMX_EPT_EXECUTE_ONLY_BIT)
NVMX_CAP(EPT, 6, "page_walk_4", VMX_EPT_PAGE_WALK_4_BIT)
NVMX_CAP(EPT, 7, "page_walk_5", VMX_EPT_PAGE_WALK_5_BIT)
NVMX_CAP(EPT, 8, "uc", VMX_EPTP_UC_BIT)
NVMX_CAP(EPT, 14, "wb", VMX_EPTP_WB_BIT)
NVMX_CAP(EPT, 16, "2mb_page", VMX_EPT_2MB_PAGE_BIT)
NVMX_CAP(EPT, 17, "1gb_page", VMX_EPT_1GB_PAGE_BIT)
NVMX_CAP(EPT, 20, "invept", VMX_EPT_INVEPT_BIT)
NVMX_CAP(EPT, 21, "ad", VMX_EPT_AD_BIT)
NVMX_CAP(EPT, 25, "invept_single_context", VMX_EPT_EXTENT_CONTEXT_BIT)
NVMX_CAP(EPT, 26, "invept_all_context", VMX_EPT_EXTENT_GLOBAL_BIT)

/* IA32_VMX_EPT_VPID_CAP bits 63:32, numbered from bit 32: INVVPID (SDM A.10) */
NVMX_CAP(VPID, 0, "invvpid", VMX_VPID_INVVPID_BIT)
NVMX_CAP(VPID, 8, "invvpid_individual_addr", VMX_VPID_EXTENT_INDIVIDUAL_ADDR_BIT)
NVMX_CAP(VPID, 9, "invvpid_single_context", VMX_VPID_EXTENT_SINGLE_CONTEXT_BIT)
NVMX_CAP(VPID, 10, "invvpid_all_context", VMX_VPID_EXTENT_GLOBAL_CONTEXT_BIT)
NVMX_CAP(VPID, 11, "invvpid_single_context_keep_globals", VMX_VPID_EXTENT_SINGLE_NON_GLOBAL_BIT)

/* IA32_VMX_VMFUNC: the VM functions (SDM A.11, 25.5.6) */
NVMX_CAP(VMFUNC, 0, "eptp_switching", VMX_VMFUNC_EPTP_SWITCHING)

#undef NVMX_CAP
