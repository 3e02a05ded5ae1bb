// SPDX-License-Identifier: GPL-2.0-only
/*
 * nvmx_state_pdpte_test: the PAE PDPTEs of a vCPU that KVM_SET_NESTED_STATE
 * takes out of L2 before L2 ran again.  Without EPT in vmcs12, a state set
 * in L2 has L2's PDPTEs read from memory at L2's CR3 (SDM 4.4.1) when L2
 * next runs; a second SET before that (here: L1's root operation, the
 * vCPU keeping its registers, so CR3 and PAE paging) must give the vCPU
 * the PDPTEs of that CR3, not those KVM held before the first SET.
 *
 * L1 enters 32-bit L2 (PAE paging, no EPT) with PDPTE 1 mapping a marker
 * page at 0x40000000; L2 reads it into EBX and stops at the host.  The host
 * takes the state, points PDPTE 1 in memory at a second marker page, sets
 * the state, then L1's root state: KVM_GET_SREGS2 must show the new
 * PDPTE 1.  The host then puts L1's registers back; L1 launches L2 again,
 * which reads the second marker and exits to L1.
 *
 * Stock 6.1 runs L1's VM exit first (vmx_leave_nested()): the vCPU then
 * holds vmcs12's host state, IA-32e mode without PDPTEs, a known deviation
 * (counted); anything else fails.  Its exit also leaves vmcs12 to be
 * overwritten from vmcs02 at the next GET or entry (nvmx_state_replace_test):
 * with stock the root state is read and set again (counted).
 *
 * Mutation run (the PDPTEs not read before the registers are saved):
 * PDPTE 1 read 0x0 with EPT, the old PDPTE with ept=0.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "nvmx_state.h"
#include "test_util.h"
#include "kvm_util.h"
#include "processor.h"
#include "vmx.h"

#define STAGE_ROOT		1
#define STOP_PORT		0x1234
#define PAE_MARKER_VA		0x40000000
#define MARKER			0xaaaa5555u
#define MARKER2			0x5555aaaau
#define L2_CS32_SEL		0x78

/* 32-bit L2 under PAE paging: the marker into EBX, a stop, a VMCALL */
asm(".pushsection .text\n"
	".code32\n"
	"l2_pae_begin:\n\t"
	"mov " __stringify(PAE_MARKER_VA) ", %ebx\n\t"
	"mov $" __stringify(STOP_PORT) ", %dx\n\t"
	"out %al, %dx\n\t"
	"vmcall\n\t"
	"ud2\n"
	"l2_pae_end:\n\t"
	".code64\n\t"
	".popsection\n");

static u64 pdpt_gpa;
static u64 l1_resume_stack[NVMX_RESUME_STACK_WORDS] __aligned(16);

/* L2's VMCALL is its only exit.  Not static: l1_resume_entry calls it. */
void l1_launch(void)
{
	GUEST_ASSERT(!vmlaunch());
	GUEST_ASSERT_2(vmreadz(VM_EXIT_REASON) == EXIT_REASON_VMCALL,
		       vmreadz(VM_EXIT_REASON), vmreadz(EXIT_QUALIFICATION));
	GUEST_DONE();
}

NVMX_L1_RESUME_ENTRY();

static void l1_guest_code(struct vmx_pages *vmx_pages)
{
	unsigned long l2_stack[64];

	GUEST_ASSERT(prepare_for_vmx_operation(vmx_pages));
	GUEST_ASSERT(load_vmcs(vmx_pages));
	prepare_vmcs(vmx_pages, (void *)NVMX_LABEL(l2_pae_begin), &l2_stack[64]);
	/* No EPT (no EPTP prepared): L2's CR3 is in L1's memory */
	GUEST_ASSERT(!(vmreadz(SECONDARY_VM_EXEC_CONTROL) &
		       SECONDARY_EXEC_ENABLE_EPT));
	nvmx_l2_pae32(L2_CS32_SEL, pdpt_gpa);
	GUEST_SYNC(STAGE_ROOT);
	l1_launch();
}

/* Host side */

static struct kvm_vm *vm;

static u64 *pdpt;
static u64 pdpte1_new;

/*
 * PDPTE 0: L2's code at L1's linear addresses; PDPTE 1: the marker page at
 * PAE_MARKER_VA; pdpte1_new: a PD that maps the second marker there.
 */
static void host_setup_pae(void)
{
	u64 pd0_gpa, pt0_gpa, pd1_gpa, pt1_gpa, pd2_gpa, pt2_gpa, m_gpa, m2_gpa;
	u64 *pd0, *pt0, *pd1, *pt1, *pd2, *pt2;
	u32 *marker, *marker2;

	pdpt = nvmx_alloc_page(vm, &pdpt_gpa);
	pd0 = nvmx_alloc_page(vm, &pd0_gpa);
	pt0 = nvmx_alloc_page(vm, &pt0_gpa);
	pd1 = nvmx_alloc_page(vm, &pd1_gpa);
	pt1 = nvmx_alloc_page(vm, &pt1_gpa);
	pd2 = nvmx_alloc_page(vm, &pd2_gpa);
	pt2 = nvmx_alloc_page(vm, &pt2_gpa);
	marker = (u32 *)nvmx_alloc_page(vm, &m_gpa);
	marker2 = (u32 *)nvmx_alloc_page(vm, &m2_gpa);
	nvmx_pae_map_code(vm, pd0, pt0, pt0_gpa, NVMX_LABEL(l2_pae_begin),
			  NVMX_LABEL(l2_pae_end));
	*marker = MARKER;
	*marker2 = MARKER2;
	pd1[0] = pt1_gpa | 3;
	pt1[0] = m_gpa | 3;
	pd2[0] = pt2_gpa | 3;
	pt2[0] = m2_gpa | 3;
	pdpt[0] = pd0_gpa | 1;
	pdpt[1] = pd1_gpa | 1;
	pdpte1_new = pd2_gpa | 1;
	sync_global_to_guest(vm, pdpt_gpa);
}

struct host {
	struct kvm_vcpu *vcpu;
	struct nvmx_vcpu_snapshot root;
	struct kvm_nested_state *root_state;
};

/*
 * At L2's stop: PDPTE 1 changed in memory, the state set, L1's root state
 * set before L2 ran: the vCPU's PDPTE 1 is the one in memory.
 */
static void stop_in_l2(struct host *h)
{
	struct kvm_nested_state *l2 = nvmx_nested_state_get(h->vcpu);
	struct kvm_sregs2 s2;
	struct kvm_regs regs;

	vcpu_regs_get(h->vcpu, &regs);
	HOST_CHECK((u32)regs.rbx == MARKER, "EBX 0x%x, the marker is 0x%x",
		   (u32)regs.rbx, MARKER);
	HOST_CHECK(l2->flags == KVM_STATE_NESTED_GUEST_MODE, "flags 0x%x",
		   l2->flags);

	pdpt[1] = pdpte1_new;
	vcpu_nested_state_set(h->vcpu, l2);
	vcpu_nested_state_set(h->vcpu, h->root_state);
	vcpu_ioctl(h->vcpu, KVM_GET_SREGS2, &s2);
	if (!(s2.flags & KVM_SREGS2_FLAGS_PDPTRS_VALID) &&
	    !nvmx_host_module_is_nvmx() && (s2.efer & EFER_LMA)) {
		ksft_print_msg("%s (known stock deviation)\n",
			       "the vCPU holds vmcs12's host state, IA-32e mode");
		nvmx_deviations++;
	} else {
		HOST_CHECK(s2.flags & KVM_SREGS2_FLAGS_PDPTRS_VALID,
			   "no PDPTEs: flags 0x%x CR4 0x%llx EFER 0x%llx",
			   s2.flags, s2.cr4, s2.efer);
		HOST_CHECK(s2.pdptrs[1] == pdpte1_new,
			   "PDPTE 1 0x%llx, memory at CR3 has 0x%lx",
			   s2.pdptrs[1], pdpte1_new);
	}
	nvmx_stock_root_state_again(h->vcpu, h->root_state);
	/* L1 back at l1_resume_entry, in 64-bit mode */
	nvmx_vcpu_snapshot_put(h->vcpu, &h->root);
	free(l2);
}

int main(int argc, char *argv[])
{
	struct host h = {};
	vm_vaddr_t vmx_gva;
	struct kvm_regs regs;
	struct ucall uc;
	int stops = 0;

	TEST_REQUIRE(kvm_cpu_has(X86_FEATURE_VMX));
	TEST_REQUIRE(kvm_has_cap(KVM_CAP_NESTED_STATE));
	TEST_REQUIRE(kvm_has_cap(KVM_CAP_SREGS2));

	vm = vm_create_with_one_vcpu(&h.vcpu, l1_guest_code);
	vcpu_alloc_vmx(vm, &vmx_gva);
	vcpu_args_set(h.vcpu, 1, vmx_gva);
	host_setup_pae();

	ksft_print_header();
	ksft_set_plan(1);
	for (;;) {
		vcpu_run(h.vcpu);
		TEST_ASSERT(h.vcpu->run->exit_reason == KVM_EXIT_IO,
			    "exit reason %u (%s)", h.vcpu->run->exit_reason,
			    exit_reason_str(h.vcpu->run->exit_reason));
		if (h.vcpu->run->io.port == STOP_PORT) {
			vcpu_run_complete_io(h.vcpu);
			if (!stops++) {
				stop_in_l2(&h);
				continue;
			}
			vcpu_regs_get(h.vcpu, &regs);
			HOST_CHECK((u32)regs.rbx == MARKER2,
				   "EBX 0x%x in L2 launched again, the marker is 0x%x",
				   (u32)regs.rbx, MARKER2);
			continue;
		}
		if (!nvmx_sync_or_done(get_ucall(h.vcpu, &uc), &uc))
			break;
		vcpu_run_complete_io(h.vcpu);
		h.root_state = nvmx_root_take(h.vcpu, &h.root, l1_resume_stack);
	}
	HOST_CHECK(stops == 2, "%d stops", stops);
	if (nvmx_deviations)
		ksft_print_msg("%d known stock deviations\n", nvmx_deviations);
	ksft_test_result(!nvmx_failures,
			 "a SET out of L2 before it ran gives the PDPTEs of CR3\n");
	free(h.root_state);
	kvm_vm_free(vm);
	ksft_finished();
	return 0;
}
