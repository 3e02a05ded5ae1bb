// SPDX-License-Identifier: GPL-2.0-only
/*
 * nvmx_tlb_test: VM entries and VM exits without VPID flush the TLB.
 *
 * With the "enable VPID" VM-execution control 0, VM entries and VM exits
 * invalidate the linear and combined mappings of VPID 0000H, for all PCIDs
 * (SDM Vol. 3C 28.3.3.1); L1 and L2 both run with VPID 0000H.  So a paging-
 * structure entry changed without INVLPG takes effect, for L1 and for L2,
 * at the next VM entry or VM exit.  Three cases, on one linear address X
 * whose page table maps nothing else (L1 and L2 share L1's page tables),
 * with X first mapped to page A and then remapped to page B:
 *
 *   l2_remaps_then_vmresume   L2 maps X to A, reads A through it, remaps X
 *                             to B, VMCALL; L1 resumes it; L2 reads B
 *   l1_remaps_then_vmresume   L2 reads A through X, flushes its TLB (MOV
 *                             to CR3), VMCALL; L1 remaps X to B; L1 resumes
 *                             L2; L2 reads B
 *   l2_remaps_then_vm_exit    L1 reads A through X and launches L2; L2
 *                             remaps X to B, VMCALL; L1 reads B
 *
 * Run with kvm_intel ept=0 as well ("nvmx_tlb_test[ept=0]" in the emulated
 * host's plan): KVM then shadows the guest's page tables, and a page table
 * the guest writes to becomes an unsync'd shadow page that KVM brings up to
 * date only when the guest flushes its TLB.  A nested VM entry or exit that
 * flushes less than the whole guest TLB (for instance only the hardware
 * TLB of the current root) lets L2 or L1 keep reading A.  The second case
 * is the one a VM entry alone must get right: L2's MOV to CR3 leaves L2's
 * shadow pages in sync, so KVM keeps them across the exit to L1 and finds
 * them again at VMRESUME, and only L1's write has made them stale (in the
 * first case L2's own write does, and the exit's flush catches it).  With
 * ept=1 the emulated CPU's own TLB holds the stale translation instead.
 */
#define _GNU_SOURCE
#include <string.h>

#include "test_util.h"
#include "kvm_util.h"
#include "processor.h"
#include "vmx.h"

/* X lies in a 1-GByte region of its own: its page table maps only X. */
#define X_VADDR_MIN		0x40000000ul

/* What pages A and B hold, so that a read through X tells them apart. */
#define VAL_A			0x4141414141414141ull
#define VAL_B			0x4242424242424242ull

/* Registers of the L2 bodies (index into nvmx_gpr_in/out, SDM Table 27-3). */
#define GPR_RDX			2	/* X */
#define GPR_RBX			3	/* the address of X's PTE */
#define GPR_RSI			6	/* X's PTE mapping A */
#define GPR_RDI			7	/* X's PTE mapping B */
#define GPR_R8			8	/* first read through X */
#define GPR_R9			9	/* second read through X */

/* Set by the host before L1 runs. */
struct nvmx_env {
	bool strict;		/* the header's: no known stock deviation here */
	u64 x;			/* the linear address X */
	u64 pte;		/* the linear address of X's PTE */
	u64 pte_a, pte_b;	/* X's PTE mapping page A, page B */
};

struct nvmx_env nvmx_env;

#include "nvmx_selftest.h"

/*
 * L2 bodies.  None of them executes INVLPG: only the VM entry or VM exit
 * between the PTE write and the next read through X may make it count.
 */
asm(".pushsection .text\n"
	/* Map X to A, read it, remap X to B; after VMRESUME read it again. */
	"l2_remap_own:\n\t"
	"mov %rsi, (%rbx)\n\t"
	"mov (%rdx), %r8\n\t"
	"mov %rdi, (%rbx)\n"
	"l2_remap_own_exit:\n\t"
	"vmcall\n\t"
	"mov (%rdx), %r9\n"
	"l2_remap_own_end:\n\t"
	"vmcall\n\t"
	"ud2\n"
	/*
	 * Read X, then flush L2's TLB (MOV to CR3, SDM 4.10.4.1): nothing L2
	 * wrote is left for L0 to bring up to date.  After VMRESUME read X
	 * again.
	 */
	"l2_read_twice:\n\t"
	"mov (%rdx), %r8\n\t"
	"mov %cr3, %rax\n\t"
	"mov %rax, %cr3\n"
	"l2_read_twice_exit:\n\t"
	"vmcall\n\t"
	"mov (%rdx), %r9\n"
	"l2_read_twice_end:\n\t"
	"vmcall\n\t"
	"ud2\n"
	/* Remap X to B. */
	"l2_remap_l1:\n\t"
	"mov %rdi, (%rbx)\n"
	"l2_remap_l1_exit:\n\t"
	"vmcall\n\t"
	"ud2\n"
	".popsection\n");

/* ---------------------------------------------------------------------- */
/* L1.                                                                      */

static void set_x_pte(u64 pte)
{
	WRITE_ONCE(*(u64 *)nvmx_env.pte, pte);
}

static u64 read_x(void)
{
	return READ_ONCE(*(u64 *)nvmx_env.x);
}

/*
 * Every case starts with X mapped to A and no translation of X cached for
 * L1 (INVLPG, SDM 4.10.4.1); the VM entry that starts L2 leaves none for
 * L2 either.
 */
static void map_x_to_a(void)
{
	set_x_pte(nvmx_env.pte_a);
	asm volatile("invlpg (%0)" : : "r"(nvmx_env.x) : "memory");
}

static void l2_setup_remap(u64 rip)
{
	l2_setup(rip);
	nvmx_gpr_in[GPR_RDX] = nvmx_env.x;
	nvmx_gpr_in[GPR_RBX] = nvmx_env.pte;
	nvmx_gpr_in[GPR_RSI] = nvmx_env.pte_a;
	nvmx_gpr_in[GPR_RDI] = nvmx_env.pte_b;
}

/* L2 left with a VMCALL at @rip (the exit L1 expects next). */
static bool vmcall_exit_at(u64 rip)
{
	u32 reason = vmreadz(VM_EXIT_REASON);

	report("VM_EXIT_REASON", EXIT_REASON_VMCALL_NR, reason, "25.1.2");
	if (reason != EXIT_REASON_VMCALL_NR)
		return false;
	CHECK(GUEST_RIP, rip, "27.3.3");
	return vmreadz(GUEST_RIP) == rip;
}

/* Resume L2 after its VMCALL, with the registers it left. */
static bool l2_resume(void)
{
	memcpy(nvmx_gpr_in, nvmx_gpr_out, sizeof(nvmx_gpr_in));
	vmwrite(GUEST_RIP,
		vmreadz(GUEST_RIP) + vmreadz(VM_EXIT_INSTRUCTION_LEN));
	if (nvmx_l2_run(0)) {
		report("VMRESUME succeeded (VM-instruction error)", 0,
		       vmreadz(VM_INSTRUCTION_ERROR), "26.1");
		return false;
	}
	return true;
}

static void l2_remaps_then_vmresume(void)
{
	map_x_to_a();
	l2_setup_remap(ASM_LABEL(l2_remap_own));
	if (!l2_launch() || !vmcall_exit_at(ASM_LABEL(l2_remap_own_exit)))
		return;
	report("L2's read through X mapped to A", VAL_A, nvmx_gpr_out[GPR_R8],
	       "28.3.3.1 (VMLAUNCH, VPID disabled)");

	if (!l2_resume() || !vmcall_exit_at(ASM_LABEL(l2_remap_own_end)))
		return;
	report("L2's read through X after its remap to B and VMRESUME", VAL_B,
	       nvmx_gpr_out[GPR_R9], "28.3.3.1 (VM entry, VPID disabled)");
}

static void l1_remaps_then_vmresume(void)
{
	map_x_to_a();
	l2_setup_remap(ASM_LABEL(l2_read_twice));
	if (!l2_launch() || !vmcall_exit_at(ASM_LABEL(l2_read_twice_exit)))
		return;
	report("L2's read through X mapped to A", VAL_A, nvmx_gpr_out[GPR_R8],
	       "28.3.3.1 (VMLAUNCH, VPID disabled)");

	set_x_pte(nvmx_env.pte_b);
	if (!l2_resume() || !vmcall_exit_at(ASM_LABEL(l2_read_twice_end)))
		return;
	report("L2's read through X after L1's remap to B and VMRESUME", VAL_B,
	       nvmx_gpr_out[GPR_R9], "28.3.3.1 (VM entry, VPID disabled)");
}

static void l2_remaps_then_vm_exit(void)
{
	map_x_to_a();
	report("L1's read through X mapped to A", VAL_A, read_x(), "4.10.4.1");

	l2_setup_remap(ASM_LABEL(l2_remap_l1));
	if (!l2_launch() || !vmcall_exit_at(ASM_LABEL(l2_remap_l1_exit)))
		return;
	report("L1's read through X after L2's remap to B and the VM exit",
	       VAL_B, read_x(), "28.3.3.1 (VM exit, VPID disabled)");
}

static const struct nvmx_case cases[] = {
	{ "l2_remaps_then_vmresume", l2_remaps_then_vmresume },
	{ "l1_remaps_then_vmresume", l1_remaps_then_vmresume },
	{ "l2_remaps_then_vm_exit", l2_remaps_then_vm_exit },
};

static void run_case(int i)
{
	cases[i].run();
}

void l1_guest_code(struct vmx_pages *vmx)
{
	GUEST_ASSERT(prepare_for_vmx_operation(vmx));
	nvmx_l1_run_cases(vmx, ARRAY_SIZE(cases), run_case);
}

/* ---------------------------------------------------------------------- */
/* Host.                                                                    */

static const char *case_name(int i)
{
	return cases[i].name;
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

/* X's PTE with its address replaced by @page's. */
static u64 x_pte_to(struct kvm_vm *vm, u64 pte, vm_vaddr_t page)
{
	return (pte & ~PHYSICAL_PAGE_MASK) | addr_gva2gpa(vm, page);
}

/*
 * Pages A and B with their values, X, and a linear address through which
 * the guest writes X's PTE: a page of its own remapped to X's page table.
 */
static void setup_x(struct kvm_vm *vm, struct kvm_vcpu *vcpu)
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

	nvmx_env.x = x;
	nvmx_env.pte = table + ((x >> PAGE_SHIFT) & 0x1ff) * sizeof(u64);
	nvmx_env.pte_a = x_pte_to(vm, pte, a);
	nvmx_env.pte_b = x_pte_to(vm, pte, b);
}

int main(int argc, char *argv[])
{
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;

	nvmx_case_name = case_name;
	vm = nvmx_host_create(&vcpu, ARRAY_SIZE(cases), NULL);
	setup_x(vm, vcpu);
	ksft_print_msg("kvm_intel ept=%c: %s\n", kvm_is_tdp_enabled() ? 'Y' : 'N',
		       kvm_is_tdp_enabled() ? "L0 maps L1's memory with EPT" :
		       "L0 shadows the guest's page tables");
	return nvmx_host_run(vm, vcpu, nvmx_host_case_message);
}
