// SPDX-License-Identifier: GPL-2.0
/*
 * nvmx: Hyper-V's enlightened VMCS for L1 (Hyper-V TLFS, "Nested
 * Virtualization", section "Enlightened VMCS (Intel)", and the virtual
 * processor assist page).
 *
 * An L1 that sees the eVMCS version in Hyper-V CPUID leaf 0x4000000A (the
 * VMM enabled KVM_CAP_HYPERV_ENLIGHTENED_VMCS) may keep its VMCS as a 4-KByte
 * page of ordinary memory, struct hv_enlightened_vmcs, instead of using
 * VMPTRLD, VMREAD and VMWRITE.  It names the page in its VP assist page
 * (current_nested_vmcs, with enlighten_vmentry set), and its next VMLAUNCH
 * or VMRESUME makes that page the current VMCS.  vmcs12 stays the VMCS
 * that nvmx works on; the eVMCS is copied into it at VM entry and the
 * fields a VM exit writes are copied back before L1 runs again:
 *
 *   entry  the fields L1 writes, but only those of the groups whose bit in
 *          hv_clean_fields is clear: L1 clears a group's bit whenever it
 *          changes a field of the group, and L0 may keep its copy of the
 *          others (TLFS, "Clean Fields").  At VMLAUNCH and for a page not
 *          current before, every group is copied.
 *   exit   the exit information, the guest state the exit saved (SDM
 *          27.2, 27.3), and the two controls an exit updates (the valid
 *          bit of the VM-entry event, IA-32e mode guest); VMfailValid
 *          writes the VM-instruction error field.
 *
 * Which eVMCS field holds which VMCS field, and its clean-fields group, is
 * upstream evmcs.c's table (vmcs_field_to_evmcs_1, by encoding); the rows
 * that travel each way are picked from nvmx's field table at module load.
 * A field the eVMCS does not have keeps vmcs12's value, zero from the
 * start: an eVMCS starts zeroed (TLFS).
 *
 * The page is shared with L1's other vCPUs, which may write it while this
 * one reads it: every field is read once (READ_ONCE), and what is checked
 * is the copy in vmcs12, never the page.  It stays mapped while it is
 * current (kvm_vcpu_map, which holds the page); the mapping follows the
 * memslot generation, as KVM's gfn_to_hva caches do, and is taken again
 * before the page is next read or written when a memslot change may have
 * put other memory at its address (nested_evmcs_refresh()).
 */

#include <linux/kvm_host.h>

#include <asm/vmx.h>

#include "nested_internal.h"

/* One vmcs12 row that has an eVMCS field. */
struct nvmx_evmcs_row {
	u8 row;		/* in nvmx_fields[] */
	u16 offset;	/* in struct hv_enlightened_vmcs */
	u16 clean;	/* HV_VMX_ENLIGHTENED_CLEAN_FIELD_*: 0 for none */
};

static struct {
	struct nvmx_evmcs_row in[NVMX_NR_FIELDS];	/* L1 writes them */
	struct nvmx_evmcs_row out[NVMX_NR_FIELDS];	/* an exit writes them */
	unsigned int nr_in, nr_out;
} nvmx_evmcs __ro_after_init;

/*
 * Does a VM exit write @f (SDM 27.2, 27.3)?  The exit information, the
 * guest state it saves (under the controls, nvmx_exit_saves_field()), and
 * in the controls the valid bit of the VM-entry event (24.8.3) and
 * "IA-32e mode guest" (27.2.5 of the entry controls: IA32_EFER.LMA).
 */
static bool __init nvmx_evmcs_exit_writes(const struct nvmx_field *f)
{
	return f->sync != NVMX_SYNC_NEVER ||
	       f->encoding == VM_ENTRY_INTR_INFO_FIELD ||
	       f->encoding == VM_ENTRY_CONTROLS;
}

void __init nested_evmcs_setup_rows(void)
{
	const struct nvmx_field *f;
	struct nvmx_evmcs_row r;
	u16 clean;
	int offset;

	nvmx_for_each_field(f) {
		offset = evmcs_field_offset(f->encoding, &clean);
		if (offset < 0)
			continue;
		r = (struct nvmx_evmcs_row) {
			.row = f - nvmx_fields, .offset = offset, .clean = clean,
		};
		if (f->class != NVMX_EXIT_INFO)
			nvmx_evmcs.in[nvmx_evmcs.nr_in++] = r;
		if (nvmx_evmcs_exit_writes(f))
			nvmx_evmcs.out[nvmx_evmcs.nr_out++] = r;
	}
}

/* One read of the @width field at @offset: L1 may be writing it. */
static u64 nvmx_evmcs_read_once(struct hv_enlightened_vmcs *evmcs, u16 offset,
				enum nvmx_width width)
{
	void *p = (u8 *)evmcs + offset;

	switch (width) {
	case NVMX_W16:
		return READ_ONCE(*(u16 *)p);
	case NVMX_W32:
		return READ_ONCE(*(u32 *)p);
	default:
		return READ_ONCE(*(u64 *)p);
	}
}

static u64 nvmx_evmcs_read(struct hv_enlightened_vmcs *evmcs,
			   const struct nvmx_evmcs_row *r)
{
	return nvmx_evmcs_read_once(evmcs, r->offset,
				    (enum nvmx_width)nvmx_fields[r->row].width);
}

static void nvmx_evmcs_write(struct hv_enlightened_vmcs *evmcs,
			     const struct nvmx_evmcs_row *r, u64 value)
{
	nvmx_field_set(evmcs, r->offset,
		       (enum nvmx_width)nvmx_fields[r->row].width, false, value);
}

void nested_evmcs_release(struct kvm_vcpu *vcpu)
{
	struct vcpu_vmx *vmx = to_vmx(vcpu);

	if (nested_evmcs_mapped(vmx)) {
		kvm_vcpu_unmap(vcpu, &vmx->nested.hv_evmcs_map, true);
		vmx->nested.hv_evmcs = NULL;
	}
	vmx->nested.hv_evmcs_vmptr = EVMPTR_INVALID;
}

/*
 * Map the eVMCS page at @gpa, a 4-KByte page of L1's memory (TLFS), and
 * note the memslot generation it was found in: upstream's vmcs12_cache,
 * the cache of the current VMCS's address, describes the eVMCS while one
 * is current (a normal VMCS is not then).  A mapping already held is
 * given up only once the new one is taken.  Under kvm->srcu.
 */
static int nested_evmcs_map_page(struct kvm_vcpu *vcpu, u64 gpa)
{
	struct vcpu_vmx *vmx = to_vmx(vcpu);
	struct kvm_host_map map;

	if (!PAGE_ALIGNED(gpa) || kvm_vcpu_map(vcpu, gpa_to_gfn(gpa), &map))
		return -EFAULT;
	if (nested_evmcs_mapped(vmx))
		kvm_vcpu_unmap(vcpu, &vmx->nested.hv_evmcs_map, true);
	vmx->nested.hv_evmcs_map = map;
	vmx->nested.hv_evmcs = map.hva;
	vmx->nested.hv_evmcs_vmptr = gpa;
	kvm_gfn_to_hva_cache_init(vcpu->kvm, &vmx->nested.vmcs12_cache, gpa,
				  PAGE_SIZE);
	return 0;
}

/*
 * Has a memslot changed since the eVMCS was mapped?  Then its address may
 * hold other memory now (a VMM that deleted, moved or re-created it).
 * Under kvm->srcu.
 */
static bool nested_evmcs_stale(struct kvm_vcpu *vcpu)
{
	return kvm_memslots(vcpu->kvm)->generation !=
	       to_vmx(vcpu)->nested.vmcs12_cache.generation;
}

/*
 * Did the last attempt to map the eVMCS again fail (its address in no
 * usable memslot then)?  The cache says so: it was taken for the
 * generation that failed, without an address.
 */
static bool nested_evmcs_lost(struct vcpu_vmx *vmx)
{
	return kvm_is_error_hva(vmx->nested.vmcs12_cache.hva);
}

/*
 * Before the mapped eVMCS is read or written from a context that may
 * sleep: mapped again if a memslot changed since (the same address, L1's
 * memory as it is now), and if @retry after an attempt that failed.  A
 * memslot being changed (KVM_MEMSLOT_INVALID), or deleted before it is
 * added again, gives no page for a while: the page held stays the eVMCS,
 * nothing of the vCPU's state changes, and the next VM entry tries again
 * (nested_evmcs_vmentry()).  The generation that failed is noted, so that
 * a failure is not retried at every entry to L1.  True when an eVMCS is
 * mapped and its address gave the page held.
 */
static bool __nested_evmcs_refresh(struct kvm_vcpu *vcpu, bool retry)
{
	struct vcpu_vmx *vmx = to_vmx(vcpu);
	bool ok = true;
	int idx;

	if (!nested_evmcs_mapped(vmx))
		return false;
	idx = srcu_read_lock(&vcpu->kvm->srcu);
	if (nested_evmcs_stale(vcpu) || (retry && nested_evmcs_lost(vmx))) {
		ok = !nested_evmcs_map_page(vcpu, vmx->nested.hv_evmcs_vmptr);
		if (!ok)
			kvm_gfn_to_hva_cache_init(vcpu->kvm,
						  &vmx->nested.vmcs12_cache,
						  vmx->nested.hv_evmcs_vmptr,
						  PAGE_SIZE);
	} else {
		ok = !nested_evmcs_lost(vmx);
	}
	srcu_read_unlock(&vcpu->kvm->srcu, idx);
	return ok;
}

/* True when an eVMCS is mapped (the page held, even if it was lost). */
bool nested_evmcs_refresh(struct kvm_vcpu *vcpu)
{
	__nested_evmcs_refresh(vcpu, false);
	return nested_evmcs_mapped(to_vmx(vcpu));
}

/*
 * The eVMCS page at @gpa becomes current: mapped, and its version KVM's
 * eVMCS version, or VMCS12_REVISION, which L1s written for KVM's first
 * eVMCS implementation put there.  The version counts here only (TLFS:
 * it is checked when the page becomes current); what L1 writes there
 * later is L1's business, also across a save and restore.  A page not in
 * memory is #UD at the VM entry that names it, as with the stock module;
 * a wrong version is VMfailInvalid.
 */
static enum nvmx_evmcs_status nested_evmcs_map(struct kvm_vcpu *vcpu, u64 gpa)
{
	struct vcpu_vmx *vmx = to_vmx(vcpu);
	u32 version;

	if (nested_evmcs_map_page(vcpu, gpa))
		return NVMX_EVMCS_UD;

	version = READ_ONCE(vmx->nested.hv_evmcs->revision_id);
	if (version != KVM_EVMCS_VERSION && version != VMCS12_REVISION) {
		nested_evmcs_release(vcpu);
		return NVMX_EVMCS_VMFAIL;
	}
	return NVMX_EVMCS_CURRENT;
}

/*
 * vmcs12 takes the fields of the @dirty groups (and those of no group)
 * that L1 wrote in the eVMCS.  A field that changed other than a shadowed
 * one makes vmcs12 the newer copy for the entry (dirty_vmcs12), as
 * VMWRITE does; a changed MSR bitmap group has vmcs02's bitmap rebuilt.
 */
static void nested_evmcs_copy_to_vmcs12(struct kvm_vcpu *vcpu, u32 dirty)
{
	struct vcpu_vmx *vmx = to_vmx(vcpu);
	struct hv_enlightened_vmcs *evmcs = vmx->nested.hv_evmcs;
	struct vmcs12 *vmcs12 = get_vmcs12(vcpu);
	const struct nvmx_evmcs_row *r;
	const struct nvmx_field *f;
	u64 value;

	/* vmcs12's copy of the state in vmcs02 first, as for VMWRITE */
	nested_vmx_save_vmcs02_state(vcpu);

	for (r = nvmx_evmcs.in; r < nvmx_evmcs.in + nvmx_evmcs.nr_in; r++) {
		if (r->clean && !(r->clean & dirty))
			continue;
		f = &nvmx_fields[r->row];
		value = nvmx_evmcs_read(evmcs, r);
		if (value == nvmx_vmcs12_read(vmcs12, f))
			continue;
		nvmx_vmcs12_write(vmcs12, f, value);
		if (f->shadow == NVMX_SHADOW_NONE)
			vmx->nested.dirty_vmcs12 = true;
	}
	if (dirty & HV_VMX_ENLIGHTENED_CLEAN_FIELD_MSR_BITMAP)
		vmx->nested.force_msr_bitmap_recalc = true;
}

/*
 * A page that was not the current VMCS becomes it: vmcs12 starts from
 * zero (the fields the eVMCS lacks) with our revision, a VMCS made current
 * whose every field vmcs02 must take.
 */
static void nested_evmcs_make_current(struct kvm_vcpu *vcpu)
{
	struct vcpu_vmx *vmx = to_vmx(vcpu);
	struct vmcs12 *vmcs12 = get_vmcs12(vcpu);

	memset(vmcs12, 0, VMCS12_SIZE);
	vmcs12->hdr.revision_id = VMCS12_REVISION;
	vmx->nested.need_sync_vmcs02_to_vmcs12_rare = false;
	vmx->nested.dirty_vmcs12 = true;
	vmx->nested.force_msr_bitmap_recalc = true;
}

/*
 * VMLAUNCH (@launch) or VMRESUME of an L1 that may use an eVMCS: the VP
 * assist page decides which VMCS is current (TLFS).  With enlighten_vmentry
 * clear, none of them: a normal VMCS made current by VMPTRLD, if any.
 * Otherwise the page current_nested_vmcs names, which replaces any other
 * current VMCS, and vmcs12 takes what L1 changed in it.  The eVMCS has no
 * launch state, so both instructions accept it (as with the stock
 * module).
 */
enum nvmx_evmcs_status nested_evmcs_vmentry(struct kvm_vcpu *vcpu, bool launch)
{
	struct vcpu_vmx *vmx = to_vmx(vcpu);
	u32 dirty = HV_VMX_ENLIGHTENED_CLEAN_FIELD_ALL;
	enum nvmx_evmcs_status status;
	u64 gpa;

	if (!guest_cpuid_has_evmcs(vcpu)) {
		/* KVM_SET_CPUID2 took Hyper-V away: no eVMCS any more */
		nested_evmcs_release(vcpu);
		return NVMX_EVMCS_NONE;
	}
	if (!nested_enlightened_vmentry(vcpu, &gpa)) {
		nested_evmcs_release(vcpu);
		return NVMX_EVMCS_NONE;
	}

	if (gpa != vmx->nested.hv_evmcs_vmptr) {
		nested_flush_vmcs12(vcpu);
		status = nested_evmcs_map(vcpu, gpa);
		if (status != NVMX_EVMCS_CURRENT)
			return status;
		nested_evmcs_make_current(vcpu);
	} else if (!__nested_evmcs_refresh(vcpu, true)) {
		/* The VMM took its memory away: as for a page not there */
		nested_evmcs_release(vcpu);
		return NVMX_EVMCS_UD;
	} else if (!launch) {
		/* TLFS: the groups L1 left marked clean may be L0's copy */
		dirty = ~READ_ONCE(vmx->nested.hv_evmcs->hv_clean_fields);
	}

	nested_evmcs_copy_to_vmcs12(vcpu, dirty);
	get_vmcs12(vcpu)->launch_state = !launch;
	return NVMX_EVMCS_CURRENT;
}

/*
 * SDM 30.2 VMfailValid with an eVMCS current: the error number goes into
 * its VM-instruction error field too.
 */
void nested_evmcs_set_vm_instruction_error(struct vcpu_vmx *vmx, u32 error)
{
	if (nested_evmcs_mapped(vmx))
		vmx->nested.hv_evmcs->vm_instruction_error = error;
}

/*
 * VMREAD of @enc with an eVMCS current in VMX root operation (nested.c
 * says why): false for an encoding the eVMCS has no field for.
 */
bool nested_evmcs_vmread(struct vcpu_vmx *vmx, unsigned long enc, u64 *value)
{
	int offset;

	if (enc > U16_MAX)	/* evmcs.c's index keeps 16 bits */
		return false;
	offset = evmcs_field_offset(enc, NULL);
	if (offset < 0)
		return false;
	*value = nvmx_evmcs_read_once(vmx->nested.hv_evmcs, offset,
				      (enum nvmx_width)NVMX_ENC_WIDTH(enc));
	return true;
}

/*
 * After an exit to L1 (or a VM-entry failure), before L1 runs: what the
 * exit wrote into vmcs12, into the eVMCS, where L1 reads it.  Guest state
 * saved only under a control is written only when the exit saved it, so
 * that L1's own value stays where the exit leaves it alone.
 *
 * vmx.c calls this on the way into the guest, with preemption off and
 * kvm->srcu held: a mapping a memslot change made stale cannot be taken
 * again here.  False then, with nothing written: KVM_REQ_GET_NESTED_STATE_
 * PAGES maps the page again (nested_evmcs_map_restored()) and, pending
 * before the entry, makes vcpu_enter_guest() cancel it, so L1 runs only
 * after this has written the page L1 sees.
 */
bool nested_evmcs_sync_from_vmcs12(struct kvm_vcpu *vcpu)
{
	struct vcpu_vmx *vmx = to_vmx(vcpu);
	struct hv_enlightened_vmcs *evmcs = vmx->nested.hv_evmcs;
	struct vmcs12 *vmcs12 = get_vmcs12(vcpu);
	const struct nvmx_evmcs_row *r;
	const struct nvmx_field *f;

	if (nested_evmcs_stale(vcpu) || nested_evmcs_lost(vmx)) {
		kvm_make_request(KVM_REQ_GET_NESTED_STATE_PAGES, vcpu);
		return false;
	}
	nested_vmx_save_vmcs02_state(vcpu);
	for (r = nvmx_evmcs.out; r < nvmx_evmcs.out + nvmx_evmcs.nr_out; r++) {
		f = &nvmx_fields[r->row];
		if (f->class == NVMX_GUEST && !nvmx_exit_saves_field(vmcs12, f))
			continue;
		nvmx_evmcs_write(evmcs, r, nvmx_vmcs12_read(vmcs12, f));
	}
	return true;
}

/*
 * KVM_GET_NESTED_STATE while L1 runs: everything L1 wrote in the eVMCS,
 * whatever the clean fields say (they tell only a VM entry what changed).
 */
void nested_evmcs_copy_all_to_vmcs12(struct kvm_vcpu *vcpu)
{
	nested_evmcs_copy_to_vmcs12(vcpu, HV_VMX_ENLIGHTENED_CLEAN_FIELD_ALL);
}

/*
 * SDM 30.3 VMCLEAR while L1 uses eVMCSs: TLFS, VMCLEAR makes an eVMCS
 * inactive, current or not (Hyper-V clears one before it moves an L2
 * vCPU, with the VP assist page naming another).  The current one is no
 * longer current; nothing is written into any: an eVMCS has no launch
 * state, and VMCLEAR's would land on its host selectors.  False when
 * VMCLEAR is the SDM's: no eVMCS in use, or the current normal VMCS.
 */
bool nested_evmcs_vmclear(struct kvm_vcpu *vcpu, gpa_t vmptr)
{
	struct vcpu_vmx *vmx = to_vmx(vcpu);
	u64 gpa;

	if (vmptr == vmx->nested.hv_evmcs_vmptr) {
		nested_evmcs_release(vcpu);
		return true;
	}
	return vmptr != vmx->nested.current_vmptr &&
	       guest_cpuid_has_evmcs(vcpu) &&
	       nested_enlightened_vmentry(vcpu, &gpa);
}

/*
 * KVM_SET_NESTED_STATE: the state's vmcs12 is that of an eVMCS, which is
 * found and mapped before the vCPU runs (nested_evmcs_map_restored()).
 * vmcs02 takes all of vmcs12.
 */
void nested_evmcs_restore(struct kvm_vcpu *vcpu)
{
	struct vcpu_vmx *vmx = to_vmx(vcpu);

	vmx->nested.hv_evmcs_vmptr = EVMPTR_MAP_PENDING;
	vmx->nested.dirty_vmcs12 = true;
	vmx->nested.force_msr_bitmap_recalc = true;
	kvm_make_request(KVM_REQ_GET_NESTED_STATE_PAGES, vcpu);
}

/*
 * KVM_REQ_GET_NESTED_STATE_PAGES, before the vCPU runs.  KVM_SET_NESTED_
 * STATE restored vmcs12 with an eVMCS current; the VP assist page says
 * where it is once the VMM has restored that MSR too, so the page is
 * mapped now.  Its version is not checked again: it was when the page
 * became current, on the vCPU the state was saved from.  vmcs12 is the
 * newer copy: the eVMCS takes what an exit writes before L1 runs.  A VP
 * assist page that no longer enlightens VM entry leaves L1 in VMX root
 * operation with no current VMCS; for L2, and for a page not there, the
 * run fails with an internal error, as for PDPTEs not there.
 *
 * Or the mapped eVMCS was found stale on the way to L1 (a memslot
 * changed, nested_evmcs_sync_from_vmcs12()): mapped again.  A page not in
 * L1's memory now, while an exit's information is still to be written
 * there (or L2 runs), fails the run with an internal error: L1 would read
 * the previous exit's.  The page held stays the eVMCS, so that a VMM that
 * puts the memory back can run the vCPU again.
 *
 * Without Hyper-V's CPUID (KVM_SET_CPUID2 after KVM_SET_NESTED_STATE) L1
 * has no eVMCS: none is mapped, and L1 is left in VMX root operation with
 * no current VMCS, where the stock module (nested_get_evmcs_page()) leaves
 * the restored state pending and the run going; L2 needs its VMCS, so it
 * is kept, and every run fails with an internal error.
 */
bool nested_evmcs_map_restored(struct kvm_vcpu *vcpu)
{
	struct vcpu_vmx *vmx = to_vmx(vcpu);
	bool l2 = is_guest_mode(vcpu) || vmx->nested.smm.guest_mode;
	u64 gpa;

	if (vmx->nested.hv_evmcs_vmptr == EVMPTR_INVALID)
		return true;
	if (!guest_cpuid_has_evmcs(vcpu)) {
		if (l2) {
			/* L2 keeps its VMCS; every run fails */
			kvm_make_request(KVM_REQ_GET_NESTED_STATE_PAGES, vcpu);
			return false;
		}
		nested_evmcs_release(vcpu);
		return true;
	}
	if (nested_evmcs_mapped(vmx))
		return __nested_evmcs_refresh(vcpu, true) ||
		       !(l2 || vmx->nested.need_vmcs12_to_shadow_sync);
	if (!nested_enlightened_vmentry(vcpu, &gpa)) {
		nested_evmcs_release(vcpu);
		/* L2, or SMM entered from it, needs its VMCS */
		return !l2;
	}
	if (nested_evmcs_map_page(vcpu, gpa)) {
		vmx->nested.hv_evmcs_vmptr = EVMPTR_INVALID;
		return false;
	}
	/* In L2, the next exit to L1 writes it */
	if (!is_guest_mode(vcpu))
		vmx->nested.need_vmcs12_to_shadow_sync = true;
	return true;
}
