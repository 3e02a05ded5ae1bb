/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * nvmx_fuzz_vmcs12.h: the vmcs12 mutators of nvmx's fuzzers, taken from the
 * one vmcs12 field table (include/nvmx/vmcs12_rows.h through nvmx_fields[]
 * of vmcs12_table.h): a new row is fuzzed without another list.
 * nvmx_fuzz_vmcs12_test mutates the fields L1 writes before VMLAUNCH, in
 * L1; nvmx_fuzz_nested_state_test the vmcs12 of a KVM_SET_NESTED_STATE, on
 * the host.  Include it after <nvmx/vmcs12_table.h> and nvmx_selftest.h
 * (nvmx_xorshift64()); fill nvmx_fuzz's addresses and seed, then call
 * nvmx_fuzz_init().
 */
#ifndef SELFTEST_KVM_NVMX_FUZZ_VMCS12_H
#define SELFTEST_KVM_NVMX_FUZZ_VMCS12_H

#define ENC_EPTP_LIST_ADDRESS	0x2024	/* not in the library's vmx.h */

/* What the mutators draw from, and the rows they mutate */
struct nvmx_fuzz {
	u64 rng;		/* xorshift64 state, not 0 */
	u32 maxphyaddr;
	u64 mem_end_gpa;	/* the first GPA beyond L1's memslot 0 */
	u64 zero_gpa;		/* a page of zeros */
	u64 list_gpa;		/* an MSR list of valid entries */
	u64 edge_gpa;		/* the last page of L1's memory, zeros (or 0) */
	bool root_in_memory;	/* no EPTP with its PML4 table outside it */
	u8 kinds[NVMX_NR_FIELDS];	/* enum fuzz_kind per row */
	u8 rows[NVMX_NR_FIELDS];	/* the rows not K_SKIP */
	u32 nr_rows;
};

struct nvmx_fuzz nvmx_fuzz;

static u64 fuzz_rnd(void)
{
	return nvmx_xorshift64(&nvmx_fuzz.rng);
}

static u32 fuzz_below(u32 n)
{
	return (u32)(fuzz_rnd() % n);
}

/* How a row is mutated */
enum fuzz_kind {
	K_SKIP,			/* not fuzzed (see fuzz_kind()) */
	K_GENERIC,		/* bit flips, boundaries, random */
	K_ADDR,			/* a guest-physical address (page, list) */
	K_APIC_ADDR,		/* virtual-APIC, APIC-access, PI descriptor */
	K_BASE,			/* a linear address (canonical or not) */
	K_MSR_COUNT,		/* the VM-entry MSR-load count */
	K_HOST_CR0,
	K_HOST_CR4,
	K_CR3,			/* host or guest CR3 */
	K_RIP,			/* host or guest RIP: non-canonical only */
	K_ACTIVITY,
	K_EPTP,
};

/*
 * The kind of row @f.  Mutated only in ways L1 survives:
 * - host RSP: not checked at entry (26.2.4 checks RIP only), and a VM exit
 *   to an unusable RSP kills L1; host RIP and CR3: only values that fail
 *   the checks (non-canonical, bits beyond MAXPHYADDR) or change nothing
 *   L1 depends on (CR3's PWT/PCD and ignored low bits);
 * - host CR0/CR4: not TS, EM, OSFXSR, OSXSAVE, SMEP/SMAP (L1 uses SSE, its
 *   pages may be user pages);
 * - guest RIP: only non-canonical values (L2 shares L1's page tables: a
 *   valid RIP elsewhere would run L1's code as L2); guest CR3 like host CR3;
 * - guest activity state: not HLT, shutdown or wait-for-SIPI (L2 would wait
 *   forever for an event nobody sends);
 * - VM-exit MSR-store and -load counts: not mutated (entries in L1's memory
 *   VMX-abort L1, SDM 27.7, and the store writes L1's memory); their
 *   addresses are (count 0: only 26.2.1.2's address checks);
 * - the virtual-APIC page, the APIC-access page and the posted-interrupt
 *   descriptor (K_APIC_ADDR): an address the entry's checks let through
 *   (aligned, within MAXPHYADDR) is one that no memory backs, or the last
 *   page (descriptor) of L1's memory, which is zeros: a VM entry with
 *   virtual-interrupt delivery writes VPPR into the virtual-APIC page
 *   (SDM 26.3.2.5, 29.1.3), so not into another page of L1's; and only the
 *   virtual-APIC page goes where no memory is (an outcome of its class:
 *   VMfailValid 7 with nvmx, design.rst; stock 6.1 checks the guest state
 *   first and fails it through the processor), as an APIC-access page or
 *   a descriptor there
 *   ends KVM_RUN with an internal error, not an outcome L1 sees
 *   (design.rst, nested_vmx_report_missing_page());
 * - EPTP: from a set (a valid format points at a page of zeros, so L2's
 *   first access is an EPT violation, never L1's memory as paging
 *   structures; or just beyond L1's memory, unless root_in_memory: stock
 *   6.1 WARNs and ends KVM_RUN with EIO there);
 * - exit-information fields: not inputs of VM entry.
 */
static enum fuzz_kind fuzz_kind(const struct nvmx_field *f)
{
	if (f->class == NVMX_EXIT_INFO)
		return K_SKIP;
	switch (f->encoding) {
	case HOST_RSP:
	case VM_EXIT_MSR_STORE_COUNT:
	case VM_EXIT_MSR_LOAD_COUNT:
		return K_SKIP;
	case HOST_RIP:
	case GUEST_RIP:
		return K_RIP;
	case HOST_CR0:
		return K_HOST_CR0;
	case HOST_CR4:
		return K_HOST_CR4;
	case HOST_CR3:
	case GUEST_CR3:
		return K_CR3;
	case GUEST_ACTIVITY_STATE:
		return K_ACTIVITY;
	case EPT_POINTER:
		return K_EPTP;
	case VIRTUAL_APIC_PAGE_ADDR:
	case APIC_ACCESS_ADDR:
	case POSTED_INTR_DESC_ADDR:
		return K_APIC_ADDR;
	case VM_ENTRY_MSR_LOAD_COUNT:
		return K_MSR_COUNT;
	case IO_BITMAP_A:
	case IO_BITMAP_B:
	case MSR_BITMAP:
	case VM_EXIT_MSR_STORE_ADDR:
	case VM_EXIT_MSR_LOAD_ADDR:
	case VM_ENTRY_MSR_LOAD_ADDR:
	case VMREAD_BITMAP:
	case VMWRITE_BITMAP:
	case ENC_EPTP_LIST_ADDRESS:
	case PML_ADDRESS:
	case VMCS_LINK_POINTER:
		return K_ADDR;
	}
	if (f->width == NVMX_WNAT &&
	    (f->class == NVMX_HOST || f->class == NVMX_GUEST) &&
	    f->encoding != GUEST_CR0 && f->encoding != GUEST_CR4 &&
	    f->encoding != GUEST_RFLAGS && f->encoding != GUEST_DR7 &&
	    f->encoding != GUEST_PENDING_DBG_EXCEPTIONS)
		return K_BASE;	/* segment, table, SYSENTER bases, RSP */
	return K_GENERIC;
}

static u32 width_bits(const struct nvmx_field *f)
{
	switch (f->width) {
	case NVMX_W16:
		return 16;
	case NVMX_W32:
		return 32;
	default:
		return 64;
	}
}

static u64 width_mask(const struct nvmx_field *f)
{
	u32 bits = width_bits(f);

	return bits == 64 ? ~0ull : (1ull << bits) - 1;
}

/* A bit at or above MAXPHYADDR */
static u64 beyond_maxphy_bit(void)
{
	return 1ull << (nvmx_fuzz.maxphyaddr + fuzz_below(64 - nvmx_fuzz.maxphyaddr));
}

/* A bit of 63:47: flipping it makes a canonical lower-half address not */
static u64 noncanonical_bit(void)
{
	return 1ull << (47 + fuzz_below(17));
}

static u64 fuzz_mutate_generic(const struct nvmx_field *f, u64 old)
{
	u32 bits = width_bits(f);

	switch (fuzz_below(8)) {
	case 0:
	case 1:
		return old ^ (1ull << fuzz_below(bits));
	case 2:
		return old ^ (1ull << fuzz_below(bits)) ^ (1ull << fuzz_below(bits));
	case 3:
		return 0;
	case 4:
		return ~0ull;
	case 5:
		return 1ull << fuzz_below(bits);
	case 6:
		return old | (1ull << (bits - 1 - fuzz_below(bits < 16 ? bits : 16)));
	default:
		return fuzz_rnd();
	}
}

static u64 mutate_addr(u64 old)
{
	switch (fuzz_below(14)) {
	case 0:
		return old + 1 + fuzz_below(15);	/* unaligned (16 bytes) */
	case 1:
		return old + 8;
	case 2:
		return old + 0x800;		/* unaligned (page) */
	case 3:
		return nvmx_fuzz.mem_end_gpa;	/* beyond L1's memory */
	case 4:
		return nvmx_fuzz.mem_end_gpa - 0x10;	/* list runs past it */
	case 5:
		return (1ull << nvmx_fuzz.maxphyaddr) - 0x1000;
	case 6:
		return 1ull << nvmx_fuzz.maxphyaddr;
	case 7:
		return old ^ beyond_maxphy_bit();
	case 8:
		return old ^ (1ull << (12 + fuzz_below(nvmx_fuzz.maxphyaddr - 12)));
	case 9:
		return 0;
	case 10:
		return ~0ull;
	case 11:
		return nvmx_fuzz.zero_gpa;
	case 12:
		return nvmx_fuzz.list_gpa;
	default:
		return old ^ (1ull << fuzz_below(64));
	}
}

/* The alignment SDM 26.2.1.1 asks of an APIC address row */
static u64 apic_addr_align(u32 encoding)
{
	return encoding == POSTED_INTR_DESC_ADDR ? 64 : 0x1000;
}

/* See fuzz_kind(): K_APIC_ADDR */
static u64 mutate_apic_addr(const struct nvmx_field *f, u64 old)
{
	u64 align = apic_addr_align(f->encoding);
	u64 edge = nvmx_fuzz.edge_gpa ? nvmx_fuzz.edge_gpa : nvmx_fuzz.zero_gpa;
	u64 v = mutate_addr(old);

	if ((v & (align - 1)) || (v >> nvmx_fuzz.maxphyaddr))
		return v;		/* fails 26.2.1.1 */
	if (v >= nvmx_fuzz.mem_end_gpa) {
		if (f->encoding == VIRTUAL_APIC_PAGE_ADDR)
			return v;	/* no memory: VMfailValid 7 */
		return nvmx_fuzz.mem_end_gpa - align;	/* L1's last one */
	}
	return fuzz_below(2) ? edge : edge + 0x1000 - align;
}

static u64 mutate_base(u64 old)
{
	switch (fuzz_below(6)) {
	case 0:
	case 1:
		return old ^ noncanonical_bit();
	case 2:
		return 1ull << 47;
	case 3:
		return 0xffff800000000000ull;	/* canonical upper half */
	case 4:
		return old ^ (1ull << fuzz_below(47));
	default:
		return 0;
	}
}

static u64 mutate_host_cr0(u64 old)
{
	static const u8 bits[] = { 0, 1, 4, 5, 16, 18, 31 };

	if (fuzz_below(4) == 0)
		return old ^ (1ull << (32 + fuzz_below(32)));	/* reserved */
	return old ^ (1ull << bits[fuzz_below(ARRAY_SIZE(bits))]);
}

static u64 mutate_host_cr4(u64 old)
{
	/* VME PVI TSD DE PAE MCE PGE PCE UMIP LA57 VMXE FSGSBASE */
	static const u8 bits[] = { 0, 1, 2, 3, 5, 6, 7, 8, 11, 12, 13, 16 };

	if (fuzz_below(4) == 0)
		return old ^ (1ull << (25 + fuzz_below(39)));	/* reserved */
	return old ^ (1ull << bits[fuzz_below(ARRAY_SIZE(bits))]);
}

static u64 mutate_cr3(u64 old)
{
	static const u8 bits[] = { 0, 1, 2, 3, 4, 5, 7, 11 };

	if (fuzz_below(2))
		return old ^ beyond_maxphy_bit();
	return old ^ (1ull << bits[fuzz_below(ARRAY_SIZE(bits))]);
}

static u64 mutate_rip(u64 old)
{
	if (fuzz_below(4) == 0)
		return old | 0xdead000000000000ull;
	return old ^ noncanonical_bit();
}

static u64 mutate_activity(void)
{
	static const u64 vals[] = { 0, 4, 5, 0xff, 1ull << 31, ~0u };

	if (fuzz_below(4) == 0)
		return 4 + fuzz_below(0x7ffffff0);
	return vals[fuzz_below(ARRAY_SIZE(vals))];
}

/* EPTP (24.6.11): 2:0 memory type, 5:3 walk length - 1, 6 A/D, 11:7 0 */
static u64 mutate_eptp(void)
{
	u64 good = nvmx_fuzz.zero_gpa | 6 | (3 << 3);

	switch (fuzz_below(10)) {
	case 0:
		return good;
	case 1:
		return good | BIT(6);			/* A/D */
	case 2:
		return nvmx_fuzz.zero_gpa | (3 << 3);	/* UC */
	case 3:
		return (good & ~7ull) | fuzz_below(8);	/* memory type */
	case 4:
		return (good & ~0x38ull) | fuzz_below(8) << 3;	/* walk length */
	case 5:
		return good | 1ull << (7 + fuzz_below(5));	/* reserved */
	case 6:
		return good | beyond_maxphy_bit();
	case 7:
		if (nvmx_fuzz.root_in_memory)
			return good;
		return nvmx_fuzz.mem_end_gpa | 6 | (3 << 3);
	case 8:
		return 0;
	default:
		return fuzz_rnd();
	}
}

static u64 mutate_msr_count(u64 old)
{
	static const u64 vals[] = { 1, 2, 3, 4, 8, 511, 512, 513, ~0u };

	if (fuzz_below(4) == 0)
		return fuzz_mutate_generic(&nvmx_fields[NVMX_IDX_vm_entry_msr_load_count],
				      old);
	return vals[fuzz_below(ARRAY_SIZE(vals))];
}

static u64 fuzz_mutate(u32 row, u64 old)
{
	const struct nvmx_field *f = &nvmx_fields[row];
	u64 v;

	switch (nvmx_fuzz.kinds[row]) {
	case K_ADDR:
		v = mutate_addr(old);
		break;
	case K_APIC_ADDR:
		v = mutate_apic_addr(f, old);
		break;
	case K_BASE:
		v = mutate_base(old);
		break;
	case K_MSR_COUNT:
		v = mutate_msr_count(old);
		break;
	case K_HOST_CR0:
		v = mutate_host_cr0(old);
		break;
	case K_HOST_CR4:
		v = mutate_host_cr4(old);
		break;
	case K_CR3:
		v = mutate_cr3(old);
		break;
	case K_RIP:
		v = mutate_rip(old);
		break;
	case K_ACTIVITY:
		v = mutate_activity();
		break;
	case K_EPTP:
		v = mutate_eptp();
		break;
	default:
		v = fuzz_mutate_generic(f, old);
		break;
	}
	return v & width_mask(f);
}

/*
 * Row @row of the table mutated from @old, even a K_SKIP row (the nested
 * state fuzzer mutates every field: nothing of L1's depends on it there).
 */
static inline u64 fuzz_mutate_any(u32 row, u64 old)
{
	if (nvmx_fuzz.kinds[row] == K_SKIP)
		return fuzz_mutate_generic(&nvmx_fields[row], old) &
		       width_mask(&nvmx_fields[row]);
	return fuzz_mutate(row, old);
}

/* The kinds and the fuzzed rows, from the table */
static void nvmx_fuzz_init(void)
{
	const struct nvmx_field *f;
	u32 row;

	nvmx_fuzz.nr_rows = 0;
	nvmx_for_each_field(f) {
		row = f - nvmx_fields;
		nvmx_fuzz.kinds[row] = fuzz_kind(f);
		if (nvmx_fuzz.kinds[row] != K_SKIP)
			nvmx_fuzz.rows[nvmx_fuzz.nr_rows++] = row;
	}
}

#endif /* SELFTEST_KVM_NVMX_FUZZ_VMCS12_H */
