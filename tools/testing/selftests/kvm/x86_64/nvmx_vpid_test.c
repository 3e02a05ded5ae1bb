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

#define X_VADDR_MIN		0x40000000ul
#define VAL_A			0x4141414141414141ull
#define VAL_B			0x4242424242424242ull
#define L2_VPID			1

/* Registers of the L2 bodies (SDM Table 27-3). */
#define GPR_RDX			2	/* X */
#define GPR_RBX			3	/* the address of X's PTE */
#define GPR_RSI			6	/* X's PTE mapping A */
#define GPR_RDI			7	/* X's PTE mapping B */
#define GPR_R8			8
#define GPR_R9			9

enum { G_FULL, G_NO_VPID_CTL, G_NO_INVVPID, G_NR };

/* Set by the host before L1 runs. */
struct nvmx_env {
	bool strict;		/* the header's: no known stock deviation here */
	u32 first, nr;		/* the cases of this VM */
	bool cut_ok;		/* the host restricted the capabilities */
	u64 x;			/* the linear address X */
	u64 pte;		/* the linear address of X's PTE */
	u64 pte_a, pte_b;	/* X's PTE mapping page A, page B */
};

struct nvmx_env nvmx_env;

#include "nvmx_selftest.h"
#include "nvmx_ept.h"

/*
 * L2: map X to A, read it, remap X to B, VMCALL; after VMRESUME read X
 * again.  No INVLPG.
 */
asm(".pushsection .text\n"
	"l2_remap:\n\t"
	"mov %rsi, (%rbx)\n\t"
	"mov (%rdx), %r8\n\t"
	"mov %rdi, (%rbx)\n"
	"l2_remap_exit:\n\t"
	"vmcall\n\t"
	"mov (%rdx), %r9\n"
	"l2_remap_end:\n\t"
	"vmcall\n\t"
	"ud2\n"
	"l2_vmcall:\n\t"
	"vmcall\n\t"
	"ud2\n"
	".popsection\n");

struct vpid_case {
	const char *name;
	void (*run)(const struct vpid_case *c);
	int group;
	u64 arg;
};

/* ---------------------------------------------------------------------- */
/* L1.                                                                      */

/*
 * What every case needs (issue 9: VPID for L2, INVVPID with all four
 * types).
 */
static bool need_vpid(void)
{
	return nvmx_need_ctls2(SECONDARY_EXEC_ENABLE_VPID,
			       "enable VPID allowed (PROCBASED_CTLS2[37])") &&
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

static void vmentry_vpid_0(const struct vpid_case *c)
{
	if (!vpid_begin(0))
		return;
	l2_setup(ASM_LABEL(l2_vmcall));
	report("VMLAUNCH with VPID 0000H (-:flags:error)",
	       NVMX_VMFAIL(0, ERR_INVALID_CONTROL), nvmx_launch_outcome(0),
	       "26.2.1.1");

	/* L1 and the VMCS are as they were: with VPID 1 it launches. */
	vmwrite(VIRTUAL_PROCESSOR_ID, L2_VPID);
	l2_setup(ASM_LABEL(l2_vmcall));
	if (l2_launch())
		nvmx_vmcall_at(ASM_LABEL(l2_vmcall));
}

/* INVVPID of type @c->arg with a valid descriptor: VMsucceed. */
static void invvpid_type(const struct vpid_case *c)
{
	if (!vpid_begin(L2_VPID))
		return;
	nvmx_expect_vmsucceed("INVVPID (RFLAGS)",
			      nvmx_invvpid(c->arg, L2_VPID, nvmx_env.x),
			      "30.3 INVVPID");
}

static void expect_invvpid(const char *what, u64 tag, u64 type, u64 vpid,
			   u64 gla, bool ok)
{
	report(what, ok ? NVMX_VMSUCCEED(tag) :
	       NVMX_VMFAIL(tag, ERR_INVALID_INV_OPERAND),
	       nvmx_outcome(tag, nvmx_invvpid(type, vpid, gla)), "30.3 INVVPID");
}

static void invvpid_unsupported_types(const struct vpid_case *c)
{
	static const u64 types[] = { 4, 5, 7, 0x80000000ull, 0x100000000ull,
				     0x100000001ull, ~0ull };
	u32 i;

	if (!vpid_begin(L2_VPID))
		return;
	for (i = 0; i < ARRAY_SIZE(types); i++)
		expect_invvpid("INVVPID, unsupported type (index:flags:error)",
			       i, types[i], L2_VPID, nvmx_env.x, false);
}

/* VPID 0000H: VMfail for types 0, 1, 3; type 2 needs no VPID. */
static void invvpid_vpid_0(const struct vpid_case *c)
{
	u64 t;

	if (!vpid_begin(L2_VPID))
		return;
	for (t = 0; t <= 3; t++)
		expect_invvpid("INVVPID with VPID 0000H (type:flags:error)",
			       t, t, 0, nvmx_env.x, t == INVVPID_ALL);
}

/* INVVPID_DESC[63:16] must be 0, whatever the type. */
static void invvpid_reserved_bits(const struct vpid_case *c)
{
	u64 t;

	if (!vpid_begin(L2_VPID))
		return;
	for (t = 0; t <= 3; t++) {
		expect_invvpid("INVVPID, descriptor bit 16 (type:flags:error)",
			       t, t, L2_VPID | BIT_ULL(16), nvmx_env.x, false);
		expect_invvpid("INVVPID, descriptor bit 63 (type:flags:error)",
			       t, t, L2_VPID | BIT_ULL(63), nvmx_env.x, false);
	}
}

/* Only type 0 uses, and checks, the linear address. */
static void invvpid_non_canonical(const struct vpid_case *c)
{
	u64 t;

	if (!vpid_begin(L2_VPID))
		return;
	for (t = 0; t <= 3; t++)
		expect_invvpid("INVVPID, non-canonical address (type:flags:error)",
			       t, t, L2_VPID, NVMX_NONCANONICAL, t != INVVPID_ADDR);
}

static void invvpid_cpl1(const struct vpid_case *c)
{
	if (!vpid_begin(L2_VPID))
		return;
	nvmx_cpl1_desc.lo = L2_VPID;
	nvmx_cpl1_desc.hi = 0;
	nvmx_inv_cpl1(true);
}

static void invvpid_mem_faults(const struct vpid_case *c)
{
	if (vpid_begin(L2_VPID))
		nvmx_inv_mem_faults(true, INVVPID_ALL);
}

/* #UD without "enable VPID" or without INVVPID (30.3 INVVPID, #UD). */
static void invvpid_ud(const struct vpid_case *c)
{
	struct nvmx_inv_desc d = { 0, 0 };
	u8 v;

	report("the host restricted the capability MSR", 1, nvmx_env.cut_ok,
	       "A.3.3, A.10 (userspace write)");
	if (c->arg == G_NO_VPID_CTL) {
		report("enable VPID allowed after the host cleared it", 0,
		       !!(nvmx_ctls2_may1() & SECONDARY_EXEC_ENABLE_VPID), "A.3.3");
	} else {
		if (!nvmx_need_ctls2(SECONDARY_EXEC_ENABLE_VPID,
				     "enable VPID allowed (PROCBASED_CTLS2[37])"))
			return;
		report("EPT_VPID_CAP[32] after the host cleared it", 0,
		       !!(nvmx_ept_vpid_cap() & VPID_CAP_INVVPID), "A.10");
	}
	v = kvm_asm_safe("invvpid %[d], %[t]", [d] "m"(d),
			 [t] "r"((u64)INVVPID_ALL));
	report("vector of INVVPID", UD_VECTOR, v, "30.3 (#UD)");
}

/* ---- TLB ---- */

static void set_x_pte(u64 pte)
{
	WRITE_ONCE(*(u64 *)nvmx_env.pte, pte);
}

/*
 * L2 (VPID 1) maps X to A, reads A, remaps X to B and exits; L1 then
 * invalidates with INVVPID type @c->arg for VPID 1 and X, or (@c->arg ~0)
 * turns VPID off; L2 then reads B (28.3.3.1, 28.3.3.3).
 */
static void tlb_case(const struct vpid_case *c)
{
	if (!vpid_begin(L2_VPID))
		return;
	set_x_pte(nvmx_env.pte_a);
	asm volatile("invlpg (%0)" : : "r"(nvmx_env.x) : "memory");
	/* Nothing of an earlier case stays cached for VPID 1. */
	nvmx_expect_vmsucceed("INVVPID single-context before the launch",
			      nvmx_invvpid(INVVPID_SINGLE, L2_VPID, 0),
			      "30.3 INVVPID");

	l2_setup(ASM_LABEL(l2_remap));
	nvmx_gpr_in[GPR_RDX] = nvmx_env.x;
	nvmx_gpr_in[GPR_RBX] = nvmx_env.pte;
	nvmx_gpr_in[GPR_RSI] = nvmx_env.pte_a;
	nvmx_gpr_in[GPR_RDI] = nvmx_env.pte_b;
	if (!l2_launch() || !nvmx_vmcall_at(ASM_LABEL(l2_remap_exit)))
		return;
	report("L2's read through X mapped to A", VAL_A, nvmx_gpr_out[GPR_R8],
	       "28.3.3.1 (INVVPID before the launch)");

	if (c->arg == ~0ull)
		vmwrite(SECONDARY_VM_EXEC_CONTROL,
			vmreadz(SECONDARY_VM_EXEC_CONTROL) &
			~SECONDARY_EXEC_ENABLE_VPID);
	else
		nvmx_expect_vmsucceed("INVVPID after L2's remap",
				      nvmx_invvpid(c->arg, L2_VPID, nvmx_env.x),
				      "30.3 INVVPID");
	if (!nvmx_l2_resume(true) || !nvmx_vmcall_at(ASM_LABEL(l2_remap_end)))
		return;
	report("L2's read through X after its remap to B", VAL_B,
	       nvmx_gpr_out[GPR_R9], c->arg == ~0ull ?
	       "28.3.3.1 (VM entry, VPID disabled)" : "28.3.3.1 (INVVPID)");
}

static const struct vpid_case cases[] = {
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

static void run_case(int i)
{
	const struct vpid_case *c = &cases[nvmx_env.first + i];

	c->run(c);
}

void l1_guest_code(struct vmx_pages *vmx)
{
	GUEST_ASSERT(prepare_for_vmx_operation(vmx));
	nvmx_l1_run_cases(vmx, nvmx_env.nr, run_case);
}

/* ---------------------------------------------------------------------- */
/* Host.                                                                    */

static u32 case_base;

static const char *case_name(int i)
{
	return cases[case_base + i].name;
}

/* The guest-physical address of the page table that maps @gva. */
static vm_paddr_t page_table_of(struct kvm_vm *vm, vm_vaddr_t gva)
{
	vm_paddr_t table = vm->pgd;
	int level;

	for (level = PG_LEVEL_512G; level > PG_LEVEL_4K; level--) {
		u64 *entry = addr_gpa2hva(vm, table);

		table = entry[(gva >> PG_LEVEL_SHIFT(level)) & 0x1ff] &
			PHYSICAL_PAGE_MASK;
	}
	return table;
}

static u64 x_pte_to(struct kvm_vm *vm, u64 pte, vm_vaddr_t page)
{
	return (pte & ~PHYSICAL_PAGE_MASK) | addr_gva2gpa(vm, page);
}

/*
 * Pages A and B with their values, X, and a linear address through which
 * the guest writes X's PTE: a page of its own remapped to X's page table.
 */
static void setup_vm(struct kvm_vm *vm, struct kvm_vcpu *vcpu)
{
	vm_vaddr_t a = vm_vaddr_alloc_page(vm);
	vm_vaddr_t b = vm_vaddr_alloc_page(vm);
	vm_vaddr_t x = vm_vaddr_alloc(vm, PAGE_SIZE, X_VADDR_MIN);
	vm_vaddr_t table = vm_vaddr_alloc_page(vm);
	u64 pte = vm_get_page_table_entry(vm, vcpu, x);

	*(u64 *)addr_gva2hva(vm, a) = VAL_A;
	*(u64 *)addr_gva2hva(vm, b) = VAL_B;
	vm_set_page_table_entry(vm, vcpu, table,
				(vm_get_page_table_entry(vm, vcpu, table) &
				 ~PHYSICAL_PAGE_MASK) | page_table_of(vm, x));
	nvmx_host_exceptions(vm, vcpu);

	nvmx_env.x = x;
	nvmx_env.pte = table + ((x >> PAGE_SHIFT) & 0x1ff) * sizeof(u64);
	nvmx_env.pte_a = x_pte_to(vm, pte, a);
	nvmx_env.pte_b = x_pte_to(vm, pte, b);
}

int main(int argc, char *argv[])
{
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;
	u32 i, g;

	nvmx_case_name = case_name;
	for (g = 0; g < G_NR; g++) {
		for (i = 0; i < ARRAY_SIZE(cases) && cases[i].group != g; i++)
			;
		case_base = i;
		while (i < ARRAY_SIZE(cases) && cases[i].group == g)
			i++;
		if (i == case_base)
			continue;
		if (g == G_FULL) {
			vm = nvmx_host_create(&vcpu, ARRAY_SIZE(cases), NULL);
			nvmx_host_print_caps(vcpu);
		} else {
			vm = nvmx_host_create_vm(&vcpu, NULL);
		}
		setup_vm(vm, vcpu);
		nvmx_env.cut_ok = nvmx_host_cut_caps(vcpu, &cuts[g]);
		nvmx_env.first = case_base;
		nvmx_env.nr = i - case_base;
		nvmx_host_run_vm(vm, vcpu, nvmx_host_case_message);
	}
	return nvmx_host_finish();
}
