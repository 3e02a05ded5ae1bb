/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * nvmx_ept_map.h: the EPT paging structures that L1 gives L2, as the selftest
 * library builds them (lib/x86_64/vmx.c: prepare_eptp(), nested_map*()),
 * seen from the host, and the EPTP values L1 writes (SDM Vol. 3C 24.6.11).
 */
#ifndef SELFTEST_KVM_NVMX_EPT_MAP_H
#define SELFTEST_KVM_NVMX_EPT_MAP_H

#include "kvm_util.h"
#include "processor.h"
#include "vmx.h"

/* EPT paging-structure entries (SDM 28.2.2, 28.2.4) */
#define NVMX_EPT_ACCESSED	BIT_ULL(8)
#define NVMX_EPT_DIRTY		BIT_ULL(9)
#define NVMX_EPT_ADDR		GENMASK_ULL(51, 12)

/* EPTP (SDM 24.6.11): write-back, 4-level walk, A/D flags if @ad */
#define NVMX_EPTP_WB_4		(6ull | (3ull << 3))
#define NVMX_EPTP_AD		BIT_ULL(6)

static inline u64 nvmx_map_eptp(u64 pml4_gpa, bool ad)
{
	return pml4_gpa | NVMX_EPTP_WB_4 | (ad ? NVMX_EPTP_AD : 0);
}

/*
 * The entry of the EPT hierarchy at @pml4 (a host address) that maps the
 * 4-KByte page of guest-physical address @gpa, or NULL if none does.
 */
static inline u64 *nvmx_ept_pte(struct kvm_vm *vm, void *pml4, u64 gpa)
{
	u64 *table = pml4;
	int level;

	for (level = PG_LEVEL_512G; level > PG_LEVEL_4K; level--) {
		u64 e = table[(gpa >> PG_LEVEL_SHIFT(level)) & 0x1ff];

		if (!(e & 7) || (e & BIT_ULL(7)))
			return NULL;
		table = addr_gpa2hva(vm, e & NVMX_EPT_ADDR);
	}
	return &table[(gpa >> PAGE_SHIFT) & 0x1ff];
}

/* The guest-physical address of the EPT page table holding that entry. */
static inline u64 nvmx_ept_pt_gpa(struct kvm_vm *vm, void *pml4, u64 gpa)
{
	u64 *pte = nvmx_ept_pte(vm, pml4, gpa);

	TEST_ASSERT(pte, "no EPT mapping of 0x%lx", gpa);
	return addr_hva2gpa(vm, (void *)((uintptr_t)pte & ~(PAGE_SIZE - 1)));
}

/* Clear the accessed and dirty flags of the EPT PTE that maps @gpa. */
static inline void nvmx_ept_clear_ad(struct kvm_vm *vm, void *pml4, u64 gpa)
{
	u64 *pte = nvmx_ept_pte(vm, pml4, gpa);

	TEST_ASSERT(pte, "no EPT mapping of 0x%lx", gpa);
	*pte &= ~(NVMX_EPT_ACCESSED | NVMX_EPT_DIRTY);
}

#endif /* SELFTEST_KVM_NVMX_EPT_MAP_H */
