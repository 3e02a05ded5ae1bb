/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The vmcs12 field table: every VMCS field L1 can use, named once.
 *
 * The rows live in <nvmx/vmcs12_rows.h>, one per field in vmcs12 layout
 * order, expanded wherever a per-field list is needed:
 *
 *	#define NVMX_VMCS12_FIELD(member, encoding, width, class, sync, save_ctl, \
 *				  shadow) ...
 *	#include <nvmx/vmcs12_rows.h>
 *
 * member    the field's member of struct vmcs12 (6.1's names: vmx.c, evmcs.c
 *           and sgx.c use them)
 * encoding  SDM Vol. 3 Appendix B; bits 14:13 give the width and bits 11:10
 *           the class (SDM 24.11.2), so those two columns restate the
 *           encoding and the unit tests hold them to it
 * sync      what a nested VM exit does to the field (enum nvmx_sync)
 * save_ctl  for NVMX_SYNC_SAVE_CTL the VM-exit control that saves the field,
 *           for NVMX_SYNC_SAVE_EXEC2 the secondary processor-based control,
 *           else 0
 * shadow    whether L1's VMREAD/VMWRITE reach the field in vmcs01's shadow
 *           VMCS without a VM exit (enum nvmx_shadow; 0: they exit)
 *
 * The nvmx_fields[] array, the VMREAD/VMWRITE lookup and the exit path's
 * "save what L2 can have changed" all come from the rows, so a field cannot
 * be known to one of them and forgotten by another.  struct vmcs12 is
 * declared below, member for member as 6.1 has it; the unit tests check
 * that the rows and the padding cover it exactly.  (It is not generated from
 * the rows: a macro that declares a member must end in a semicolon, which
 * checkpatch does not allow.)
 *
 * Where things live: this header holds struct vmcs12, the encoding decoders
 * and the width-correct accessors, and declares nvmx_fields[] and
 * nvmx_vmcs12_field().  Those two are defined in <nvmx/vmcs12_table.h>,
 * which exactly one C file of a program includes (the module's
 * arch/x86/kvm/vmx/vmcs12.c, a host test), so the array exists once and a
 * descriptor's address identifies it.
 *
 * The layout is 6.1's byte for byte: KVM_GET/SET_NESTED_STATE carries vmcs12
 * as a 4 KiB blob, so nested state moves between the stock module and ours.
 * scripts/nvmx/vmcs12-abi.sh compares every member with 6.1's DWARF.
 *
 * Plain C: compiled into the module and into host-side unit tests.
 */
#ifndef NVMX_VMCS12_FIELDS_H
#define NVMX_VMCS12_FIELDS_H

#include <nvmx/types.h>

#ifdef __KERNEL__
#include <linux/bits.h>
#include <linux/build_bug.h>
#include <linux/stddef.h>
#include <linux/string.h>
#include "vmx/vmcs.h"		/* struct vmcs_hdr, KVM_STATE_NESTED_VMX_VMCS_SIZE */
#else
#include <assert.h>
#include <string.h>

/* SDM 24.2: bits 30:0 VMCS revision identifier, bit 31 shadow-VMCS indicator. */
struct vmcs_hdr {
	u32 revision_id:31;
	u32 shadow_vmcs:1;
};
#endif

/*
 * MSR_IA32_VMX_BASIC reports this as our VMCS revision and VMPTRLD checks it
 * (SDM 24.2).  6.1's value: changing it would break nested-state migration.
 */
#define VMCS12_REVISION		0x11e57ed0

/* Bytes L1 allocates for a VMCS region; the size of the nested-state blob. */
#define VMCS12_SIZE		0x1000

/* The parts of a field encoding (SDM 24.11.2). */
#define NVMX_ENC_HIGH		0x1u	/* bit 0, access type: 1 = high 32 bits */
#define NVMX_ENC_INDEX(enc)	(((enc) >> 1) & 0x1ff)	/* bits 9:1 */
#define NVMX_ENC_CLASS(enc)	(((enc) >> 10) & 0x3)	/* bits 11:10 */
#define NVMX_ENC_WIDTH(enc)	(((enc) >> 13) & 0x3)	/* bits 14:13 */

/* Field widths: encoding bits 14:13 (SDM 24.11.2). */
enum nvmx_width {
	NVMX_W16 = 0,
	NVMX_W64 = 1,
	NVMX_W32 = 2,
	NVMX_WNAT = 3,		/* natural width: 64 bits in vmcs12 */
};

/* Field classes: encoding bits 11:10 (SDM 24.11.2). */
enum nvmx_class {
	NVMX_CONTROL = 0,
	NVMX_EXIT_INFO = 1,	/* the VM-exit information ("read-only data") fields */
	NVMX_GUEST = 2,
	NVMX_HOST = 3,
};

/*
 * What a nested VM exit does with a field.  The rules are SDM 27.2
 * (recording VM-exit information) and 27.3 (saving guest state), for the
 * controls L1 is offered: a field the SDM saves only under a control or
 * feature L1 does not get is never written, as on a processor without it.
 */
enum nvmx_sync {
	/*
	 * Not copied from vmcs02 on exit: controls and host state, which L2
	 * cannot change; the VMCS link pointer, guest state that is not
	 * processor state, so no VM exit writes it (vmcs02's is L0's own);
	 * guest state saved only under a control L1 is not offered.
	 * The exit path still updates two control fields bit by bit: it
	 * clears the valid bit of vm_entry_intr_info_field (SDM 24.8.3) and
	 * stores IA32_EFER.LMA in the IA-32e-mode-guest bit of
	 * vm_entry_controls.
	 */
	NVMX_SYNC_NEVER,
	/* Guest state L2 can change: saved on every reflected exit (27.3). */
	NVMX_SYNC_L2,
	/*
	 * Guest state L2 can change that lives in vmcs02 alone (segments,
	 * descriptor tables, SYSENTER MSRs, pending debug exceptions): saved
	 * like NVMX_SYNC_L2, but an exit leaves it in vmcs02 and vmcs12's
	 * copy is written only before someone reads it (L1's VMREAD or
	 * VMWRITE of such a field, vmcs12 going to memory); until then the
	 * next entry to the same vmcs12 finds it in place.  Never shadowed.
	 */
	NVMX_SYNC_VMCS02,
	/* Guest state saved only when the VM-exit control .save_ctl is 1. */
	NVMX_SYNC_SAVE_CTL,
	/*
	 * Guest state saved only when the secondary processor-based control
	 * .save_ctl is 1 (and the secondary controls are activated).
	 */
	NVMX_SYNC_SAVE_EXEC2,
	/*
	 * Exit information: written only when an exit is reflected to L1
	 * (27.2); vm_instruction_error is written by VMfailValid instead.
	 * L1's VMWRITE may write it too (IA32_VMX_MISC[29], SDM A.6), which
	 * changes nothing L0 does: no VM entry reads it (SDM 26).
	 */
	NVMX_SYNC_EXIT_INFO,
};

/*
 * VMCS shadowing for L1 (SDM 24.10, 25.1.3): which fields L1 reaches in the
 * shadow VMCS that vmcs01 links to, without a VM exit.  The choice is what
 * an exit handler of a typical L1 touches on most exits: the exit
 * information, RIP/RSP/RFLAGS, the control registers and interruptibility
 * it emulates, the event it injects and the window controls it toggles;
 * and host RSP/RIP, which some L1s (the KVM selftests' library) write
 * before every VM entry.  Each field shadowed costs a VMWRITE into the
 * shadow VMCS after the exits that change it, and a read-write one also a
 * VMREAD back before every VM entry; every field left out costs L1 a VM
 * exit per access.
 */
enum nvmx_shadow {
	NVMX_SHADOW_NONE = 0,	/* VMREAD and VMWRITE exit to L0 */
	/*
	 * VMREAD from the shadow VMCS, VMWRITE exits: the exit-information
	 * fields, which L1 may write only as its IA32_VMX_MISC[29] says (SDM
	 * A.6, 30.3 VMWRITE); the emulation then updates the shadow VMCS.
	 */
	NVMX_SHADOW_READ,
	/* Both from the shadow VMCS: L0 reads them back before VM entry. */
	NVMX_SHADOW_RW,
};

/* VM-exit controls that save guest state (SDM 24.7.1, 27.3.1). */
#define NVMX_EXIT_SAVE_DEBUG_CONTROLS	BIT(2)	/* DR7, IA32_DEBUGCTL */
#define NVMX_EXIT_SAVE_IA32_PAT		BIT(18)
#define NVMX_EXIT_SAVE_IA32_EFER	BIT(20)
#define NVMX_EXIT_SAVE_PREEMPTION_TIMER	BIT(22)

/* Controls that decide whether an exit saves guest state (SDM 27.3.4). */
#define NVMX_EXEC_ACTIVATE_SECONDARY	BIT(31)
#define NVMX_EXEC2_ENABLE_EPT		BIT(1)	/* the PDPTEs */
#define NVMX_EXEC2_VIRTUAL_INTR_DELIVERY	BIT(9)	/* RVI and SVI */

/*
 * L1's VMCS as KVM keeps it: in the cached copy and in the nested-state
 * blob.  6.1's layout, member for member; packed like 6.1's, so sizeof is
 * 998 rather than 1000.  The rows of vmcs12_rows.h say what each member
 * is; the unit tests hold the rows and this declaration to each other and
 * scripts/nvmx/vmcs12-abi.sh holds it to 6.1's DWARF.
 */
struct __packed vmcs12 {
	/* SDM 24.2: every VMCS region starts with these two */
	struct vmcs_hdr hdr;
	u32 abort;			/* VMX-abort indicator */
	u32 launch_state;		/* 0: clear (VMCLEAR), 1: launched */
	u32 padding[7];

	/* 64-bit fields: controls */
	u64 io_bitmap_a, io_bitmap_b, msr_bitmap;
	u64 vm_exit_msr_store_addr, vm_exit_msr_load_addr;
	u64 vm_entry_msr_load_addr;
	u64 tsc_offset, virtual_apic_page_addr, apic_access_addr;
	u64 posted_intr_desc_addr, ept_pointer;
	u64 eoi_exit_bitmap0, eoi_exit_bitmap1, eoi_exit_bitmap2;
	u64 eoi_exit_bitmap3, xss_exit_bitmap;
	/* exit information, guest and host state, then later controls */
	u64 guest_physical_address;
	u64 vmcs_link_pointer, guest_ia32_debugctl, guest_ia32_pat;
	u64 guest_ia32_efer, guest_ia32_perf_global_ctrl;
	u64 guest_pdptr0, guest_pdptr1, guest_pdptr2, guest_pdptr3;
	u64 guest_bndcfgs;
	u64 host_ia32_pat, host_ia32_efer, host_ia32_perf_global_ctrl;
	u64 vmread_bitmap, vmwrite_bitmap, vm_function_control;
	u64 eptp_list_address, pml_address, encls_exiting_bitmap;
	u64 tsc_multiplier;
	u64 padding64[1];

	/* natural-width fields, 64 bits whatever L1's mode */
	u64 cr0_guest_host_mask, cr4_guest_host_mask;
	u64 cr0_read_shadow, cr4_read_shadow;
	u64 dead_space[4];		/* formerly the CR3-target values */
	u64 exit_qualification, guest_linear_address;
	u64 guest_cr0, guest_cr3, guest_cr4;
	u64 guest_es_base, guest_cs_base, guest_ss_base, guest_ds_base;
	u64 guest_fs_base, guest_gs_base, guest_ldtr_base, guest_tr_base;
	u64 guest_gdtr_base, guest_idtr_base;
	u64 guest_dr7, guest_rsp, guest_rip, guest_rflags;
	u64 guest_pending_dbg_exceptions;
	u64 guest_sysenter_esp, guest_sysenter_eip;
	u64 host_cr0, host_cr3, host_cr4;
	u64 host_fs_base, host_gs_base, host_tr_base;
	u64 host_gdtr_base, host_idtr_base;
	u64 host_ia32_sysenter_esp, host_ia32_sysenter_eip;
	u64 host_rsp, host_rip;
	u64 paddingl[8];

	/* 32-bit fields */
	u32 pin_based_vm_exec_control, cpu_based_vm_exec_control;
	u32 exception_bitmap;
	u32 page_fault_error_code_mask, page_fault_error_code_match;
	u32 cr3_target_count;
	u32 vm_exit_controls, vm_exit_msr_store_count, vm_exit_msr_load_count;
	u32 vm_entry_controls, vm_entry_msr_load_count;
	u32 vm_entry_intr_info_field, vm_entry_exception_error_code;
	u32 vm_entry_instruction_len;
	u32 tpr_threshold, secondary_vm_exec_control;
	u32 vm_instruction_error, vm_exit_reason;
	u32 vm_exit_intr_info, vm_exit_intr_error_code;
	u32 idt_vectoring_info_field, idt_vectoring_error_code;
	u32 vm_exit_instruction_len, vmx_instruction_info;
	u32 guest_es_limit, guest_cs_limit, guest_ss_limit, guest_ds_limit;
	u32 guest_fs_limit, guest_gs_limit, guest_ldtr_limit, guest_tr_limit;
	u32 guest_gdtr_limit, guest_idtr_limit;
	u32 guest_es_ar_bytes, guest_cs_ar_bytes;
	u32 guest_ss_ar_bytes, guest_ds_ar_bytes;
	u32 guest_fs_ar_bytes, guest_gs_ar_bytes;
	u32 guest_ldtr_ar_bytes, guest_tr_ar_bytes;
	u32 guest_interruptibility_info, guest_activity_state;
	u32 guest_sysenter_cs, host_ia32_sysenter_cs;
	u32 vmx_preemption_timer_value;
	u32 padding32[7];

	/* 16-bit fields */
	u16 virtual_processor_id, posted_intr_nv;
	u16 guest_es_selector, guest_cs_selector;
	u16 guest_ss_selector, guest_ds_selector;
	u16 guest_fs_selector, guest_gs_selector;
	u16 guest_ldtr_selector, guest_tr_selector;
	u16 guest_intr_status;
	u16 host_es_selector, host_cs_selector, host_ss_selector;
	u16 host_ds_selector, host_fs_selector, host_gs_selector;
	u16 host_tr_selector;
	u16 guest_pml_index;
};

static_assert(sizeof(struct vmcs12) <= VMCS12_SIZE,
	      "struct vmcs12 must fit the VMCS region L1 allocates");
#ifdef __KERNEL__
static_assert(VMCS12_SIZE == KVM_STATE_NESTED_VMX_VMCS_SIZE,
	      "the nested-state blob carries exactly one VMCS region");
#endif

/* One field: a table row, as VMREAD/VMWRITE and the exit path use it. */
struct nvmx_field {
	u32 encoding;
	u16 offset;		/* in struct vmcs12 */
	u8 width;		/* enum nvmx_width */
	u8 class;		/* enum nvmx_class */
	u8 sync;		/* enum nvmx_sync */
	u8 shadow;		/* enum nvmx_shadow */
	u32 save_ctl;
	const char *name;	/* the member's name */
};

/* Index of each row in nvmx_fields[]: NVMX_IDX_<member>. */
enum nvmx_field_index {
#define NVMX_VMCS12_FIELD(m, enc, w, cl, sy, ctl, sh)	NVMX_IDX_##m,
#include <nvmx/vmcs12_rows.h>
	NVMX_NR_FIELDS
};

/* Every row of the table, in layout order (vmcs12_table.h defines it). */
extern const struct nvmx_field nvmx_fields[NVMX_NR_FIELDS];

/*
 * The rows a VM exit saves at once, and those it leaves in vmcs02
 * (NVMX_SYNC_VMCS02); vmcs12_table.h defines them.
 */
extern const u8 nvmx_saved_rows[];
extern const unsigned int nvmx_nr_saved_rows;
extern const u8 nvmx_vmcs02_rows[];
extern const unsigned int nvmx_nr_vmcs02_rows;

/* Every row in layout order; @f is a const struct nvmx_field pointer. */
#define nvmx_for_each_field(f)						\
	for (unsigned int nvmx_row__ = 0;				\
	     nvmx_row__ < NVMX_NR_FIELDS &&				\
	     ((f) = &nvmx_fields[nvmx_row__], true);			\
	     nvmx_row__++)

/*
 * The descriptor VMREAD/VMWRITE use for @encoding, or NULL when L1 cannot
 * use it (VMfailValid, error 12: unsupported VMCS component).  Odd encodings
 * of 64-bit fields (access type high, SDM 24.11.2) get a descriptor of their
 * own, which the accessors below treat as bits 63:32 of the field.  An
 * encoding with bits 63:32 set must be refused before narrowing it to u32.
 */
const struct nvmx_field *nvmx_vmcs12_field(u32 encoding);

/* Bytes the field takes in struct vmcs12. */
static inline unsigned int nvmx_width_bytes(enum nvmx_width width)
{
	switch (width) {
	case NVMX_W16:
		return 2;
	case NVMX_W32:
		return 4;
	default:
		return 8;
	}
}

/*
 * The value of a @width field at @offset in @base; @high reads bits 63:32
 * of a 64-bit field into bits 31:0.  memcpy keeps the access well defined
 * whatever the alignment of @base (struct vmcs12 is packed); it compiles to
 * a single load.
 */
static inline u64 nvmx_field_get(const void *base, u16 offset,
				 enum nvmx_width width, bool high)
{
	const u8 *p = (const u8 *)base + offset;
	u16 v16;
	u32 v32;
	u64 v64;

	switch (width) {
	case NVMX_W16:
		memcpy(&v16, p, sizeof(v16));
		return v16;
	case NVMX_W32:
		memcpy(&v32, p, sizeof(v32));
		return v32;
	default:
		memcpy(&v64, p, sizeof(v64));
		return high ? v64 >> 32 : v64;
	}
}

/*
 * Store @value into a @width field: VMWRITE keeps the low bits that fit
 * (SDM 30.3, VMWRITE).  @high replaces bits 63:32 of a 64-bit field with
 * bits 31:0 of @value and leaves bits 31:0 of the field alone.
 */
static inline void nvmx_field_set(void *base, u16 offset,
				  enum nvmx_width width, bool high, u64 value)
{
	u8 *p = (u8 *)base + offset;
	u16 v16;
	u32 v32;
	u64 v64;

	switch (width) {
	case NVMX_W16:
		v16 = (u16)value;
		memcpy(p, &v16, sizeof(v16));
		break;
	case NVMX_W32:
		v32 = (u32)value;
		memcpy(p, &v32, sizeof(v32));
		break;
	default:
		if (high) {
			memcpy(&v64, p, sizeof(v64));
			v64 = (v64 & 0xffffffffull) | ((u64)(u32)value << 32);
		} else {
			v64 = value;
		}
		memcpy(p, &v64, sizeof(v64));
		break;
	}
}

static inline u64 nvmx_vmcs12_read(const struct vmcs12 *vmcs12,
				   const struct nvmx_field *f)
{
	return nvmx_field_get(vmcs12, f->offset, (enum nvmx_width)f->width,
			      f->encoding & NVMX_ENC_HIGH);
}

static inline void nvmx_vmcs12_write(struct vmcs12 *vmcs12,
				     const struct nvmx_field *f, u64 value)
{
	nvmx_field_set(vmcs12, f->offset, (enum nvmx_width)f->width,
		       f->encoding & NVMX_ENC_HIGH, value);
}

/*
 * Does a reflected VM exit save guest-state field @f into @vmcs12?  Decided
 * by the field's sync rule and vmcs12's own controls.
 */
static inline bool nvmx_exit_saves_field(const struct vmcs12 *vmcs12,
					 const struct nvmx_field *f)
{
	switch (f->sync) {
	case NVMX_SYNC_L2:
	case NVMX_SYNC_VMCS02:
		return true;
	case NVMX_SYNC_SAVE_CTL:
		return vmcs12->vm_exit_controls & f->save_ctl;
	case NVMX_SYNC_SAVE_EXEC2:
		return (vmcs12->cpu_based_vm_exec_control &
			NVMX_EXEC_ACTIVATE_SECONDARY) &&
		       (vmcs12->secondary_vm_exec_control & f->save_ctl);
	default:
		return false;
	}
}

/*
 * The highest field index (encoding bits 9:1) of any field we support:
 * IA32_VMX_VMCS_ENUM reports it in its bits 9:1 (SDM A.9).
 */
static inline u32 nvmx_vmcs12_max_index(void)
{
	const struct nvmx_field *f;
	u32 max = 0;

	nvmx_for_each_field(f) {
		if (NVMX_ENC_INDEX(f->encoding) > max)
			max = NVMX_ENC_INDEX(f->encoding);
	}
	return max;
}

/*
 * For upstream's evmcs.h, which reads a field at an offset of its own table
 * (in a struct hv_enlightened_vmcs cast to struct vmcs12).  The width comes
 * from @field's encoding; an odd (high-access) encoding is a 32-bit access
 * at @offset, which such a table points at the field's upper half.
 */
static inline u64 vmcs12_read_any(struct vmcs12 *vmcs12, unsigned long field,
				  u16 offset)
{
	if (field & NVMX_ENC_HIGH)
		return nvmx_field_get(vmcs12, offset, NVMX_W32, false);
	return nvmx_field_get(vmcs12, offset, NVMX_ENC_WIDTH(field), false);
}

static inline void vmcs12_write_any(struct vmcs12 *vmcs12, unsigned long field,
				    u16 offset, u64 field_value)
{
	if (field & NVMX_ENC_HIGH)
		nvmx_field_set(vmcs12, offset, NVMX_W32, false, field_value);
	else
		nvmx_field_set(vmcs12, offset, NVMX_ENC_WIDTH(field), false,
			       field_value);
}

#endif /* NVMX_VMCS12_FIELDS_H */
