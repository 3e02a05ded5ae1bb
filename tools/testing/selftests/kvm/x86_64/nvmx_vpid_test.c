// SPDX-License-Identifier: GPL-2.0-only
/*
 * nvmx_vpid_test: VPID for L2 and INVVPID in L1 (SDM Vol. 3C 28.1, 28.3,
 * 26.2.1.1, 30.3).
 *
 *   VM entry with "enable VPID" and VPID 0000H: VMfailValid(7) (26.2.1.1),
 *   after which a VPID of 1 launches.
 *   INVVPID (30.3): each of the four types succeeds; an unsupported type,
 *   VPID 0000H for types 0, 1 and 3, a descriptor with bits 63:16 set and
 *   a non-canonical address for type 0 VMfailValid(28), while type 2 needs
 *   no VPID and types 1-3 ignore the address; #GP(0) at CPL 1; #GP and #PF
 *   for the memory operand; #UD without "enable VPID" or without INVVPID
 *   (in VMs whose capability MSRs the host restricts).
 *   TLB (28.3.3): L2 runs with VPID 1, reads the linear address X mapped
 *   to page A, remaps X to page B in its own PTE without INVLPG and exits.
 *   With VPID on, VM exits and entries need not invalidate anything
 *   (28.3.3.1), so only an INVVPID of the right kind makes the new mapping
 *   certain: after each of the four types, and after a VM entry with
 *   "enable VPID" 0 (VPID 0000H is then invalidated), L2 reads B.
 *
 * X lies in a 1-GByte region of its own, so its page table maps nothing
 * else; L1 and L2 share L1's page tables, no EPT.  A capability issue 9
 * requires that L1 lacks (VPID, INVVPID, one of the four types) fails the
 * case.
 */
#define _GNU_SOURCE
#include <string.h>

#include "test_util.h"
#include "kvm_util.h"
#include "processor.h"
#include "vmx.h"

#define L2_VPID			1

enum { G_FULL, G_NO_VPID_CTL, G_NO_INVVPID, G_NR };

/* Set by the host before L1 runs (and nvmx_group, nvmx_x: the headers). */
struct nvmx_env {
	bool strict;		/* the header's: no known stock deviation here */
};

struct nvmx_env nvmx_env;

#include "nvmx_selftest.h"
#include "nvmx_ept.h"

/*
 * L2: map X to A, read it, remap X to B, VMCALL; after VMRESUME read X
 * again.  No INVLPG.
 */
asm(".pushsection .text\n"
	NVMX_ASM_L2_X_REMAP(l2_remap)
	"l2_vmcall:\n\t"
	"vmcall\n\t"
	"ud2\n"
	".popsection\n");

/* ---------------------------------------------------------------------- */
/* L1.                                                                      */

/*
 * What every case needs (issue 9: VPID for L2, INVVPID with all four
 * types).
 */
static bool need_vpid(void)
{
	return nvmx_need_vpid_ctl() &&
	       nvmx_need_cap(VPID_CAP_INVVPID | VPID_CAP_TYPE(INVVPID_ADDR) |
			     VPID_CAP_TYPE(INVVPID_SINGLE) |
			     VPID_CAP_TYPE(INVVPID_ALL) |
			     VPID_CAP_TYPE(INVVPID_SINGLE_NONGLOBAL),
			     "EPT_VPID_CAP: INVVPID and its types 0-3 (32, 40-43)");
}

/* Turn VPID on for L2 with @vpid. */
static bool vpid_begin(u16 vpid)
{
	if (!need_vpid())
		return false;
	vmwrite(SECONDARY_VM_EXEC_CONTROL,
		vmreadz(SECONDARY_VM_EXEC_CONTROL) | SECONDARY_EXEC_ENABLE_VPID);
	vmwrite(VIRTUAL_PROCESSOR_ID, vpid);
	return true;
}

static void vmentry_vpid_0(const struct nvmx_group_case *c)
{
	if (!vpid_begin(0))
		return;
	l2_setup(ASM_LABEL(l2_vmcall));
	nvmx_expect_launch_vmfail("VMLAUNCH with VPID 0000H (-:flags:error)", 0);

	/* L1 and the VMCS are as they were: with VPID 1 it launches. */
	vmwrite(VIRTUAL_PROCESSOR_ID, L2_VPID);
	nvmx_launch_to_vmcall(ASM_LABEL(l2_vmcall));
}

/* INVVPID of type @c->arg with a valid descriptor: VMsucceed. */
static void invvpid_type(const struct nvmx_group_case *c)
{
	if (!vpid_begin(L2_VPID))
		return;
	nvmx_expect_vmsucceed("INVVPID (RFLAGS)",
			      nvmx_invvpid(c->arg, L2_VPID, nvmx_x.x),
			      "30.3 INVVPID");
}

static void expect_invvpid(const char *what, u64 tag, u64 type, u64 vpid,
			   u64 gla, bool ok)
{
	report(what, ok ? NVMX_VMSUCCEED(tag) :
	       NVMX_VMFAIL(tag, ERR_INVALID_INV_OPERAND),
	       nvmx_outcome(tag, nvmx_invvpid(type, vpid, gla)), "30.3 INVVPID");
}

static void invvpid_unsupported_types(const struct nvmx_group_case *c)
{
	static const u64 types[] = { 4, 5, 7, 0x80000000ull, 0x100000000ull,
				     0x100000001ull, ~0ull };
	u32 i;

	if (!vpid_begin(L2_VPID))
		return;
	for (i = 0; i < ARRAY_SIZE(types); i++)
		expect_invvpid("INVVPID, unsupported type (index:flags:error)",
			       i, types[i], L2_VPID, nvmx_x.x, false);
}

/*
 * INVVPID of each type 0-3 with descriptor {@vpid, @gla}: VMsucceed for
 * the types in @ok (bit t for type t), VMfailValid(28) for the others.
 */
static void invvpid_types(const char *what, u64 vpid, u64 gla, u64 ok)
{
	u64 t;

	for (t = 0; t <= 3; t++)
		expect_invvpid(what, t, t, vpid, gla, ok & BIT_ULL(t));
}

/* VPID 0000H: VMfail for types 0, 1, 3; type 2 needs no VPID. */
static void invvpid_vpid_0(const struct nvmx_group_case *c)
{
	if (vpid_begin(L2_VPID))
		invvpid_types("INVVPID with VPID 0000H (type:flags:error)", 0,
			      nvmx_x.x, BIT_ULL(INVVPID_ALL));
}

/* INVVPID_DESC[63:16] must be 0, whatever the type. */
static void invvpid_reserved_bits(const struct nvmx_group_case *c)
{
	if (!vpid_begin(L2_VPID))
		return;
	invvpid_types("INVVPID, descriptor bit 16 (type:flags:error)",
		      L2_VPID | BIT_ULL(16), nvmx_x.x, 0);
	invvpid_types("INVVPID, descriptor bit 63 (type:flags:error)",
		      L2_VPID | BIT_ULL(63), nvmx_x.x, 0);
}

/* Only type 0 uses, and checks, the linear address. */
static void invvpid_non_canonical(const struct nvmx_group_case *c)
{
	if (vpid_begin(L2_VPID))
		invvpid_types("INVVPID, non-canonical address (type:flags:error)",
			      L2_VPID, NVMX_NONCANONICAL, ~BIT_ULL(INVVPID_ADDR));
}

static void invvpid_cpl1(const struct nvmx_group_case *c)
{
	if (vpid_begin(L2_VPID))
		nvmx_inv_cpl1(true, L2_VPID);
}

static void invvpid_mem_faults(const struct nvmx_group_case *c)
{
	if (vpid_begin(L2_VPID))
		nvmx_inv_mem_faults(true, INVVPID_ALL);
}

/* #UD without "enable VPID" or without INVVPID (30.3 INVVPID, #UD). */
static void invvpid_ud(const struct nvmx_group_case *c)
{
	nvmx_inv_ud(true, c->arg == G_NO_VPID_CTL);
}

/* ---- TLB ---- */

/*
 * L2 (VPID 1) maps X to A, reads A, remaps X to B and exits; L1 then
 * invalidates with INVVPID type @c->arg for VPID 1 and X, or (@c->arg ~0)
 * turns VPID off; L2 then reads B (28.3.3.1, 28.3.3.3).
 */
static void tlb_case(const struct nvmx_group_case *c)
{
	if (!vpid_begin(L2_VPID))
		return;
	nvmx_x_map_a();
	/* Nothing of an earlier case stays cached for VPID 1. */
	nvmx_expect_vmsucceed("INVVPID single-context before the launch",
			      nvmx_invvpid(INVVPID_SINGLE, L2_VPID, 0),
			      "30.3 INVVPID");

	if (!nvmx_x_launch_read_a(ASM_LABEL(l2_remap), ASM_LABEL(l2_remap_exit),
				  "28.3.3.1 (INVVPID before the launch)"))
		return;

	if (c->arg == ~0ull)
		vmwrite(SECONDARY_VM_EXEC_CONTROL,
			vmreadz(SECONDARY_VM_EXEC_CONTROL) &
			~SECONDARY_EXEC_ENABLE_VPID);
	else
		nvmx_expect_vmsucceed("INVVPID after L2's remap",
				      nvmx_invvpid(c->arg, L2_VPID, nvmx_x.x),
				      "30.3 INVVPID");
	if (!nvmx_l2_resume(true) || !nvmx_vmcall_at(ASM_LABEL(l2_remap_end)))
		return;
	report("L2's read through X after its remap to B", NVMX_VAL_B,
	       nvmx_gpr_out[NVMX_X_GPR_READ2], c->arg == ~0ull ?
	       "28.3.3.1 (VM entry, VPID disabled)" : "28.3.3.1 (INVVPID)");
}

static const struct nvmx_group_case cases[] = {
	{ "vmentry_vpid_0", vmentry_vpid_0, G_FULL, 0 },
	{ "invvpid_individual_address", invvpid_type, G_FULL, INVVPID_ADDR },
	{ "invvpid_single_context", invvpid_type, G_FULL, INVVPID_SINGLE },
	{ "invvpid_all_context", invvpid_type, G_FULL, INVVPID_ALL },
	{ "invvpid_single_context_retaining_globals", invvpid_type, G_FULL,
	  INVVPID_SINGLE_NONGLOBAL },
	{ "invvpid_unsupported_types", invvpid_unsupported_types, G_FULL, 0 },
	{ "invvpid_vpid_0", invvpid_vpid_0, G_FULL, 0 },
	{ "invvpid_descriptor_reserved_bits", invvpid_reserved_bits, G_FULL, 0 },
	{ "invvpid_non_canonical_address", invvpid_non_canonical, G_FULL, 0 },
	{ "invvpid_cpl1_gp", invvpid_cpl1, G_FULL, 0 },
	{ "invvpid_memory_operand_faults", invvpid_mem_faults, G_FULL, 0 },
	{ "tlb_invvpid_individual_address", tlb_case, G_FULL, INVVPID_ADDR },
	{ "tlb_invvpid_single_context", tlb_case, G_FULL, INVVPID_SINGLE },
	{ "tlb_invvpid_all_context", tlb_case, G_FULL, INVVPID_ALL },
	{ "tlb_invvpid_single_context_retaining_globals", tlb_case, G_FULL,
	  INVVPID_SINGLE_NONGLOBAL },
	{ "tlb_vmentry_vpid_disabled", tlb_case, G_FULL, ~0ull },
	{ "invvpid_ud_vpid_not_offered", invvpid_ud, G_NO_VPID_CTL, G_NO_VPID_CTL },
	{ "invvpid_ud_invvpid_not_offered", invvpid_ud, G_NO_INVVPID, G_NO_INVVPID },
};

static const struct nvmx_caps_cut cuts[G_NR] = {
	[G_NO_VPID_CTL] = { .ctls2 = SECONDARY_EXEC_ENABLE_VPID },
	[G_NO_INVVPID] = { .ept_vpid = VPID_CAP_INVVPID },
};

void l1_guest_code(struct vmx_pages *vmx)
{
	nvmx_l1_run_group(vmx);
}

/* ---------------------------------------------------------------------- */
/* Host.                                                                    */

static void setup_vm(struct kvm_vm *vm, struct kvm_vcpu *vcpu)
{
	nvmx_host_setup_x(vm, vcpu);
	nvmx_host_exceptions(vm, vcpu);
}

int main(int argc, char *argv[])
{
	return nvmx_host_run_groups(cases, ARRAY_SIZE(cases), cuts, G_NR,
				    setup_vm);
}
