// SPDX-License-Identifier: GPL-2.0-only
/*
 * nvmx_smm_cpl3_test: an SMI while L2 runs at CPL 3, and RSM back into L2.
 *
 * An SMI in VMX non-root operation leaves L2 for L1's VMX operation put
 * aside (vmx.c's enter_smm: a VM exit without exit information) and runs
 * the SMM handler in real mode; RSM returns to VMX non-root operation and
 * to L2's state in SMRAM (SDM 32.14.1 without the dual-monitor treatment).
 * KVM's RSM clears CR0.PE before it re-enters L2, and without unrestricted
 * guest (kvm-intel ept=0) vmx.c then emulates real mode with vm86 on the
 * loaded VMCS, vmcs01.  Re-entering L2 must leave vm86 there: carried to
 * vmcs02, vmx.c's return to protected mode would rebuild L2's CS and SS
 * from the SMM handler's real-mode segments with L2's selectors, a CS whose
 * DPL (0) is not its RPL (3), which vmx.c cannot run.  smm_test's L2 runs
 * at CPL 0, where that goes unnoticed.
 *
 * L2 runs 64-bit code at CPL 3 (CS, SS, DS and ES selectors with RPL 3,
 * DPL 3, IOPL 3 for the host's port I/O, user pages) and reports its CS and
 * SS.  The host injects an SMI; the SMM handler reports from SMM (where the
 * nested state says SMM was entered from L2) and executes RSM; L2 reports
 * its CS, SS and RFLAGS again, and the host reads its segments with
 * KVM_GET_SREGS; L2's VMCALL exits to L1, which reports the CS and SS the
 * exit saved (SDM 27.3.2).  All must be L2's as before the SMI.  Run with
 * ept=0 too (the expectations' [ept=0] line), where the bug was.
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

#define STAGE_L2_BEFORE		1
#define STAGE_L2_AFTER		2
#define STAGE_L1_EXIT		3

#define SMRAM_SIZE		65536
#define SMRAM_MEMSLOT		((1 << 16) | 1)
#define SMRAM_PAGES		(SMRAM_SIZE / PAGE_SIZE)
#define SMRAM_GPA		0x1000000
#define SMM_SYNC_PORT		0xe
#define SMM_STAGE		0xfe

/* L2 at CPL 3: selectors with RPL 3, segments with DPL 3 (SDM 26.3.1.2) */
#define L2_CS			0x2b
#define L2_SS			0x33
#define L2_CS_AR		0xa0fb	/* 64-bit code, DPL 3, accessed */
#define L2_DATA_AR		0xc0f3	/* read/write data, DPL 3, accessed */
#define L2_RFLAGS		(X86_EFLAGS_FIXED | (3ul << 12))	/* IOPL 3 */

/* Real mode at SMBASE + 8000H: report SMM_STAGE, then RSM */
static const u8 smi_handler[] = {
	0xb0, SMM_STAGE,	/* mov $SMM_STAGE, %al */
	0xe4, SMM_SYNC_PORT,	/* in $SMM_SYNC_PORT, %al */
	0x0f, 0xaa,		/* rsm */
};

static u64 read_rflags(void)
{
	u64 v;

	asm volatile("pushf; pop %0" : "=r"(v));
	return v;
}

static void l2_guest_code(void)
{
	GUEST_SYNC_ARGS(STAGE_L2_BEFORE, get_cs(), get_ss(), read_rflags(), 0);
	GUEST_SYNC_ARGS(STAGE_L2_AFTER, get_cs(), get_ss(), read_rflags(), 0);
	vmcall();
	GUEST_ASSERT(0);
}

static void l1_guest_code(struct vmx_pages *vmx_pages)
{
	unsigned long l2_stack[256];

	GUEST_ASSERT(prepare_for_vmx_operation(vmx_pages));
	GUEST_ASSERT(load_vmcs(vmx_pages));
	prepare_vmcs(vmx_pages, l2_guest_code, &l2_stack[256]);
	GUEST_ASSERT(!vmwrite(GUEST_CS_SELECTOR, L2_CS));
	GUEST_ASSERT(!vmwrite(GUEST_CS_AR_BYTES, L2_CS_AR));
	GUEST_ASSERT(!vmwrite(GUEST_SS_SELECTOR, L2_SS));
	GUEST_ASSERT(!vmwrite(GUEST_SS_AR_BYTES, L2_DATA_AR));
	GUEST_ASSERT(!vmwrite(GUEST_DS_SELECTOR, L2_SS));
	GUEST_ASSERT(!vmwrite(GUEST_DS_AR_BYTES, L2_DATA_AR));
	GUEST_ASSERT(!vmwrite(GUEST_ES_SELECTOR, L2_SS));
	GUEST_ASSERT(!vmwrite(GUEST_ES_AR_BYTES, L2_DATA_AR));
	GUEST_ASSERT(!vmwrite(GUEST_RFLAGS, L2_RFLAGS));
	GUEST_ASSERT(!vmlaunch());
	GUEST_SYNC_ARGS(STAGE_L1_EXIT, vmreadz(VM_EXIT_REASON),
			vmreadz(GUEST_CS_SELECTOR) << 32 |
			vmreadz(GUEST_CS_AR_BYTES),
			vmreadz(GUEST_SS_SELECTOR) << 32 |
			vmreadz(GUEST_SS_AR_BYTES), vmreadz(GUEST_RFLAGS));
	GUEST_DONE();
}

/* Host side */

/* Every page L1 maps, L2 at CPL 3 may use too (U/S at every level) */
static void set_user_bits(struct kvm_vm *vm, u64 table_gpa, int level)
{
	u64 *e = addr_gpa2hva(vm, table_gpa);
	int i;

	for (i = 0; i < 512; i++) {
		if (!(e[i] & PTE_PRESENT_MASK))
			continue;
		e[i] |= PTE_USER_MASK;
		if (level > 1 && !(e[i] & PTE_LARGE_MASK))
			set_user_bits(vm, e[i] & PHYSICAL_PAGE_MASK, level - 1);
	}
}

/* In the SMM handler: SMM entered from L2, VMX operation put aside */
static void check_in_smm(struct kvm_vcpu *vcpu)
{
	u16 want = KVM_STATE_NESTED_SMM_VMXON | KVM_STATE_NESTED_SMM_GUEST_MODE;
	struct kvm_nested_state *s;

	HOST_CHECK(vcpu->run->flags & KVM_RUN_X86_SMM, "not in SMM");
	s = nvmx_nested_state_get(vcpu);
	HOST_CHECK(!s->flags && s->hdr.vmx.smm.flags == want,
		   "flags 0x%x, SMM flags 0x%x, expected 0 and 0x%x", s->flags,
		   s->hdr.vmx.smm.flags, want);
	free(s);
}

/* L2's segment registers as KVM has them after RSM */
static void check_l2_sregs(struct kvm_vcpu *vcpu)
{
	struct kvm_sregs sregs;

	vcpu_sregs_get(vcpu, &sregs);
	HOST_CHECK(sregs.cs.selector == L2_CS && sregs.cs.dpl == 3 &&
		   sregs.cs.l == 1 && sregs.cs.type == 0xb,
		   "CS 0x%x DPL %u L %u type 0x%x", sregs.cs.selector, sregs.cs.dpl,
		   sregs.cs.l, sregs.cs.type);
	HOST_CHECK(sregs.ss.selector == L2_SS && sregs.ss.dpl == 3 &&
		   sregs.ss.type == 3,
		   "SS 0x%x DPL %u type 0x%x", sregs.ss.selector, sregs.ss.dpl,
		   sregs.ss.type);
	HOST_CHECK(sregs.ds.selector == L2_SS && sregs.ds.dpl == 3 &&
		   sregs.es.selector == L2_SS && sregs.es.dpl == 3,
		   "DS 0x%x DPL %u, ES 0x%x DPL %u", sregs.ds.selector,
		   sregs.ds.dpl, sregs.es.selector, sregs.es.dpl);
}

/* L2's report: its CS, SS and RFLAGS (arithmetic flags aside) */
static void check_l2_report(struct ucall *uc)
{
	HOST_CHECK(uc->args[2] == L2_CS && uc->args[3] == L2_SS,
		   "stage %lu: L2's CS 0x%lx SS 0x%lx, expected 0x%x 0x%x",
		   uc->args[1], uc->args[2], uc->args[3], L2_CS, L2_SS);
	HOST_CHECK((uc->args[4] & ~0x8d5ul) == L2_RFLAGS,
		   "stage %lu: L2's RFLAGS 0x%lx", uc->args[1], uc->args[4]);
}

int main(int argc, char *argv[])
{
	struct kvm_vcpu *vcpu;
	vm_vaddr_t vmx_gva;
	struct kvm_vm *vm;
	struct ucall uc;
	u64 stages = 0;
	int smm_stops = 0;

	TEST_REQUIRE(kvm_cpu_has(X86_FEATURE_VMX));
	TEST_REQUIRE(kvm_has_cap(KVM_CAP_NESTED_STATE));
	TEST_REQUIRE(kvm_has_cap(KVM_CAP_X86_SMM));

	vm = vm_create_with_one_vcpu(&vcpu, l1_guest_code);
	vm_userspace_mem_region_add(vm, VM_MEM_SRC_ANONYMOUS, SMRAM_GPA,
				    SMRAM_MEMSLOT, SMRAM_PAGES, 0);
	TEST_ASSERT(vm_phy_pages_alloc(vm, SMRAM_PAGES, SMRAM_GPA,
				       SMRAM_MEMSLOT) == SMRAM_GPA,
		    "no SMRAM at 0x%x", SMRAM_GPA);
	memset(addr_gpa2hva(vm, SMRAM_GPA), 0, SMRAM_SIZE);
	memcpy(addr_gpa2hva(vm, SMRAM_GPA) + 0x8000, smi_handler,
	       sizeof(smi_handler));
	vcpu_set_msr(vcpu, MSR_IA32_SMBASE, SMRAM_GPA);
	vcpu_alloc_vmx(vm, &vmx_gva);
	vcpu_args_set(vcpu, 1, vmx_gva);
	/* Last: every mapping L1 has */
	set_user_bits(vm, vm->pgd, vm->pgtable_levels);

	ksft_print_header();
	ksft_set_plan(1);
	ksft_print_msg("kvm-intel %s unrestricted guest\n",
		       vm_is_unrestricted_guest(vm) ? "with" : "without");
	for (;;) {
		vcpu_run(vcpu);
		TEST_ASSERT(vcpu->run->exit_reason == KVM_EXIT_IO,
			    "exit reason %u (%s) after %d SMM stops",
			    vcpu->run->exit_reason,
			    exit_reason_str(vcpu->run->exit_reason), smm_stops);
		if (vcpu->run->io.port == SMM_SYNC_PORT) {
			smm_stops++;
			check_in_smm(vcpu);
			continue;
		}
		if (!nvmx_sync_or_done(get_ucall(vcpu, &uc), &uc))
			break;
		stages |= BIT_ULL(uc.args[1]);
		switch (uc.args[1]) {
		case STAGE_L2_BEFORE:
			check_l2_report(&uc);
			nvmx_inject_smi(vcpu);
			break;
		case STAGE_L2_AFTER:
			HOST_CHECK(smm_stops == 1, "%d SMM stops before", smm_stops);
			check_l2_report(&uc);
			check_l2_sregs(vcpu);
			break;
		case STAGE_L1_EXIT:
			HOST_CHECK(uc.args[2] == EXIT_REASON_VMCALL,
				   "exit reason 0x%lx", uc.args[2]);
			HOST_CHECK(uc.args[3] == ((u64)L2_CS << 32 | L2_CS_AR),
				   "GUEST_CS selector:AR 0x%lx", uc.args[3]);
			HOST_CHECK(uc.args[4] == ((u64)L2_SS << 32 | L2_DATA_AR),
				   "GUEST_SS selector:AR 0x%lx", uc.args[4]);
			HOST_CHECK((uc.args[5] & ~0x8d5ul) == L2_RFLAGS,
				   "GUEST_RFLAGS 0x%lx", uc.args[5]);
			break;
		default:
			TEST_FAIL("unknown stage %lu", uc.args[1]);
		}
	}
	HOST_CHECK(stages == GENMASK_ULL(STAGE_L1_EXIT, STAGE_L2_BEFORE),
		   "stages seen 0x%lx", stages);
	ksft_test_result(!nvmx_failures, "RSM returns to L2 at CPL 3 with its segments\n");
	kvm_vm_free(vm);
	ksft_finished();
	return 0;
}
