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

/*
 * X, pages A and B, and the registers of the L2 bodies (RDX X, RBX the
 * address of X's PTE, RSI and RDI X's PTE mapping A and B, R8 and R9 the
 * reads through X) are nvmx_selftest.h's.
 */

/* Set by the host before L1 runs (and nvmx_x). */
struct nvmx_env {
	bool strict;		/* the header's: no known stock deviation here */
};

struct nvmx_env nvmx_env;

#include "nvmx_selftest.h"

/*
 * L2 bodies.  None of them executes INVLPG: only the VM entry or VM exit
 * between the PTE write and the next read through X may make it count.
 */
asm(".pushsection .text\n"
	/* Map X to A, read it, remap X to B; after VMRESUME read it again. */
	NVMX_ASM_L2_X_REMAP(l2_remap_own)
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

static u64 read_x(void)
{
	return READ_ONCE(*(u64 *)nvmx_x.x);
}

static void l2_remaps_then_vmresume(void)
{
	nvmx_x_map_a();
	if (!nvmx_x_launch_read_a(ASM_LABEL(l2_remap_own),
				  ASM_LABEL(l2_remap_own_exit),
				  "28.3.3.1 (VMLAUNCH, VPID disabled)"))
		return;

	if (!nvmx_l2_resume(true) || !nvmx_vmcall_at(ASM_LABEL(l2_remap_own_end)))
		return;
	report("L2's read through X after its remap to B and VMRESUME",
	       NVMX_VAL_B, nvmx_gpr_out[NVMX_X_GPR_READ2],
	       "28.3.3.1 (VM entry, VPID disabled)");
}

static void l1_remaps_then_vmresume(void)
{
	nvmx_x_map_a();
	if (!nvmx_x_launch_read_a(ASM_LABEL(l2_read_twice),
				  ASM_LABEL(l2_read_twice_exit),
				  "28.3.3.1 (VMLAUNCH, VPID disabled)"))
		return;

	nvmx_x_set_pte(nvmx_x.pte_b);
	if (!nvmx_l2_resume(true) || !nvmx_vmcall_at(ASM_LABEL(l2_read_twice_end)))
		return;
	report("L2's read through X after L1's remap to B and VMRESUME",
	       NVMX_VAL_B, nvmx_gpr_out[NVMX_X_GPR_READ2],
	       "28.3.3.1 (VM entry, VPID disabled)");
}

static void l2_remaps_then_vm_exit(void)
{
	nvmx_x_map_a();
	report("L1's read through X mapped to A", NVMX_VAL_A, read_x(),
	       "4.10.4.1");

	nvmx_x_l2_setup(ASM_LABEL(l2_remap_l1));
	if (!l2_launch() || !nvmx_vmcall_at(ASM_LABEL(l2_remap_l1_exit)))
		return;
	report("L1's read through X after L2's remap to B and the VM exit",
	       NVMX_VAL_B, read_x(), "28.3.3.1 (VM exit, VPID disabled)");
}

/*
 * Every case starts with X mapped to A and no translation of X cached for
 * L1 (nvmx_x_map_a()); the VM entry that starts L2 leaves none for L2
 * either.
 */
static const struct nvmx_case cases[] = {
	{ "l2_remaps_then_vmresume", l2_remaps_then_vmresume },
	{ "l1_remaps_then_vmresume", l1_remaps_then_vmresume },
	{ "l2_remaps_then_vm_exit", l2_remaps_then_vm_exit },
};

void l1_guest_code(struct vmx_pages *vmx)
{
	nvmx_l1_run_table(vmx, cases, ARRAY_SIZE(cases));
}

/* ---------------------------------------------------------------------- */
/* Host.                                                                    */

int main(int argc, char *argv[])
{
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;

	vm = nvmx_host_create_table(&vcpu, cases, ARRAY_SIZE(cases));
	nvmx_host_setup_x(vm, vcpu);
	ksft_print_msg("kvm_intel ept=%c: %s\n", kvm_is_tdp_enabled() ? 'Y' : 'N',
		       kvm_is_tdp_enabled() ? "L0 maps L1's memory with EPT" :
		       "L0 shadows the guest's page tables");
	return nvmx_host_run(vm, vcpu, nvmx_host_case_message);
}
