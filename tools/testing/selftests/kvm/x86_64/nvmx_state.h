/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Host-side helpers of the nested-state selftests: a check that counts
 * failures (guest code has nvmx_selftest.h's CHECK), the count of known
 * stock deviations, KVM_GET_NESTED_STATE into a buffer of its own, and
 * L1's root operation as the host puts it back.
 */
#ifndef SELFTEST_KVM_NVMX_STATE_H
#define SELFTEST_KVM_NVMX_STATE_H

#include "nvmx_module.h"
#include "vmx.h"

/* Room for the header and both VMCS pages of the nested-state ABI */
#define NVMX_STATE_BUF		16384

/* What fails the test, and what stock does that the SDM does not */
static int nvmx_failures;
static int nvmx_deviations;

/* A failed @cond is printed with where it is, and fails the test at the end */
#define HOST_CHECK(cond, fmt, ...)					\
do {									\
	if (!(cond)) {							\
		ksft_print_msg("%s:%d: " fmt "\n", __func__, __LINE__,	\
			       ##__VA_ARGS__);				\
		nvmx_failures++;					\
	}								\
} while (0)

/* The address of a label of a test's asm, in L1 and in the host alike */
#define NVMX_LABEL(sym) ({						\
	u64 __addr;							\
									\
	asm("lea " #sym "(%%rip), %0" : "=r"(__addr));			\
	__addr;								\
})

/* L1's code that l1_resume_entry calls: a test's own, not static */
void l1_launch(void);

/*
 * l1_resume_entry: where the host puts L1 back into root operation, on a
 * stack of its own; it calls l1_launch().
 */
#define NVMX_L1_RESUME_ENTRY()						\
	asm(".pushsection .text\n"					\
	    "l1_resume_entry:\n\t"					\
	    "and $-16, %rsp\n\t"					\
	    "call l1_launch\n\t"					\
	    "ud2\n\t"							\
	    ".popsection\n")

/* A zeroed nested-state buffer of NVMX_STATE_BUF bytes */
static inline struct kvm_nested_state *nvmx_nested_state_alloc(void)
{
	struct kvm_nested_state *s = calloc(1, NVMX_STATE_BUF);

	TEST_ASSERT(s, "no memory");
	s->size = NVMX_STATE_BUF;
	return s;
}

/* The vCPU's nested state, in a buffer the caller frees */
static inline struct kvm_nested_state *
nvmx_nested_state_get(struct kvm_vcpu *vcpu)
{
	struct kvm_nested_state *s = nvmx_nested_state_alloc();

	vcpu_nested_state_get(vcpu, s);
	return s;
}

/* The 16-byte aligned stack l1_resume_entry runs on, in u64s */
#define NVMX_RESUME_STACK_WORDS	512

/*
 * L1 in root operation as the host will put it back: its registers in
 * @root with RIP at l1_resume_entry and RSP at the top of @stack
 * (NVMX_RESUME_STACK_WORDS long); its nested state is returned (the
 * caller frees it).
 */
static inline struct kvm_nested_state *
nvmx_root_take(struct kvm_vcpu *vcpu, struct nvmx_vcpu_snapshot *root,
	       u64 *stack)
{
	nvmx_vcpu_snapshot_take(vcpu, root);
	root->regs.rip = NVMX_LABEL(l1_resume_entry);
	root->regs.rsp = (u64)(stack + NVMX_RESUME_STACK_WORDS);
	return nvmx_nested_state_get(vcpu);
}

/*
 * Stock's VM exit in SET leaves its "vmcs02 has newer guest state" flag
 * set, so its next GET or VM entry copies a fresh vmcs02's guest fields
 * into vmcs12 (nvmx_state_replace_test): with stock, a root state that
 * reads back otherwise is a known deviation, and is set again.
 */
static inline void nvmx_stock_root_state_again(struct kvm_vcpu *vcpu,
					       struct kvm_nested_state *root_state)
{
	struct kvm_nested_state *now;

	if (nvmx_host_module_is_nvmx())
		return;
	now = nvmx_nested_state_get(vcpu);
	if (now->size != root_state->size ||
	    memcmp(now, root_state, now->size)) {
		ksft_print_msg("the root state reads back otherwise (known stock deviation)\n");
		nvmx_deviations++;
		vcpu_nested_state_set(vcpu, root_state);
	}
	free(now);
}

/*
 * Guest side, in L1: vmcs12 for a 32-bit L2 under PAE paging (IA-32e mode
 * guest 0): a flat 32-bit code segment with selector @cs, and CR3 @cr3.
 */
static inline void nvmx_l2_pae32(u16 cs, u64 cr3)
{
	GUEST_ASSERT(!vmwrite(VM_ENTRY_CONTROLS, vmreadz(VM_ENTRY_CONTROLS) &
			      ~VM_ENTRY_IA32E_MODE));
	GUEST_ASSERT(!vmwrite(GUEST_CS_SELECTOR, cs));
	GUEST_ASSERT(!vmwrite(GUEST_CS_BASE, 0));
	GUEST_ASSERT(!vmwrite(GUEST_CS_LIMIT, 0xffffffff));
	GUEST_ASSERT(!vmwrite(GUEST_CS_AR_BYTES, 0xc09b)); /* 32-bit code */
	GUEST_ASSERT(!vmwrite(GUEST_CR3, cr3));
}

/* A page of @vm's: its host address, its guest-physical one in @gpa */
static inline u64 *nvmx_alloc_page(struct kvm_vm *vm, u64 *gpa)
{
	vm_vaddr_t va = vm_vaddr_alloc_page(vm);

	*gpa = addr_gva2gpa(vm, va);
	return addr_gva2hva(vm, va);
}

/*
 * L2's 32-bit code [@begin, @end) at L1's linear addresses under PAE
 * paging (SDM 4.4.2): 4-KByte pages of page table @pt (at @pt_gpa), which
 * page directory @pd points to.
 */
static inline void nvmx_pae_map_code(struct kvm_vm *vm, u64 *pd, u64 *pt,
				     u64 pt_gpa, u64 begin, u64 end)
{
	u64 va = begin & ~0xfffull;

	TEST_ASSERT(end < (1ull << 30) && (va >> 21) == ((end - 1) >> 21),
		    "L2's 32-bit code must lie in one 2 MiB region below 1 GiB");
	pd[(va >> 21) & 511] = pt_gpa | 3;
	for (; va < end; va += 4096)
		pt[(va >> 12) & 511] = addr_gva2gpa(vm, va) | 3;
}

#endif /* SELFTEST_KVM_NVMX_STATE_H */
