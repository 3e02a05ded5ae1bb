/* SPDX-License-Identifier: GPL-2.0 */
/*
 * nvmx: struct vmcs12 and its field table for the kernel.  Everything is in
 * the plain-C <nvmx/vmcs12_fields.h> (also built into the host unit tests);
 * this header is the name upstream's vmx.c, evmcs.h and sgx.c include, and
 * gives them struct vmcs12 with 6.1's member names, VMCS12_REVISION,
 * VMCS12_SIZE and vmcs12_read_any().
 */
#ifndef __KVM_X86_VMX_VMCS12_H
#define __KVM_X86_VMX_VMCS12_H

#include <linux/build_bug.h>
#include <linux/stddef.h>

#include <nvmx/vmcs12_fields.h>

/*
 * Called by vmx.c at module init; a build-time check.  vmcs12 travels in
 * KVM_GET/SET_NESTED_STATE, so its layout is 6.1's: pin where each group of
 * fields starts and where the last one lies (every member is compared with
 * 6.1's DWARF by scripts/nvmx/vmcs12-abi.sh).
 */
static inline void vmx_check_vmcs12_offsets(void)
{
	/* SDM 24.2: revision identifier, abort indicator; then launch state */
	BUILD_BUG_ON(offsetof(struct vmcs12, hdr) != 0);
	BUILD_BUG_ON(offsetof(struct vmcs12, abort) != 4);
	BUILD_BUG_ON(offsetof(struct vmcs12, launch_state) != 8);
	/* the 64-bit, natural-width, 32-bit and 16-bit groups */
	BUILD_BUG_ON(offsetof(struct vmcs12, io_bitmap_a) != 40);
	BUILD_BUG_ON(offsetof(struct vmcs12, cr0_guest_host_mask) != 344);
	BUILD_BUG_ON(offsetof(struct vmcs12, pin_based_vm_exec_control) != 744);
	BUILD_BUG_ON(offsetof(struct vmcs12, virtual_processor_id) != 960);
	BUILD_BUG_ON(offsetof(struct vmcs12, guest_pml_index) != 996);
}

#endif /* __KVM_X86_VMX_VMCS12_H */
