// SPDX-License-Identifier: GPL-2.0-only
/*
 * nvmx_pml_test: page-modification logging for L2 (SDM Vol. 3C 28.2.5).
 *
 * L1 runs L2 on an identity EPT with accessed and dirty flags (28.2.4)
 * whose entries for the test's data pages have both flags clear; every
 * other page is mapped already dirty.  With "enable PML", each write of
 * L2's that sets a dirty flag first checks the PML index: outside 0-511 it
 * is a page-modification log-full VM exit (exit reason 62), the flag is
 * not set and the write does not happen; otherwise the 4-KByte aligned
 * guest-physical address goes into the log at the PML address plus 8 times
 * the index, and the index is decremented (0 becomes FFFFH).  Cases:
 *
 *   pml_offered          "enable PML" comes with EPT and EPT A/D flags
 *   logs_in_order        L2 writes pages 0, 1, 0, 2, 3 at an unaligned
 *                        offset: four entries, 511 down to 508, in order;
 *                        the second write to page 0 sets no dirty flag
 *   full_after_512       from index 511, 512 pages are logged; the 513th
 *                        write is a log-full exit at that write, index
 *                        FFFFH; L1 resets the index and resumes, the write
 *                        is retried and logged at 511
 *   index_out_of_range   index 600: the first dirtying write exits, nothing
 *                        is logged, the index stays 600
 *   no_log_without_ad    EPTP without A/D flags: no dirty flag, no logging
 *   pml_off              "enable PML" 0: nothing logged, the index field
 *                        keeps L1's value
 *   log_outside_memory   the log where L1 has no memory (just past
 *                        memslot 0, just past the data pages' memslot,
 *                        the last page below MAXPHYADDR):
 *                        L2's dirtying write happens, its entry is written
 *                        nowhere (a write with no memory behind it is lost,
 *                        as on the platform) and the index is decremented;
 *                        the log at the last page of L1's memory gets its
 *                        entry in the last 8 bytes of that memory
 *   entry_checks         VMfailValid 7 for PML without EPT, a PML address
 *                        not 4-KByte aligned, and one beyond the
 *                        physical-address width (26.2.1.1)
 *
 * The guest-physical-address exit field is not checked on a log-full exit:
 * SDM 27.2.1 defines it for EPT violations and misconfigurations only.
 */
#define _GNU_SOURCE
#include <string.h>

#include "test_util.h"
#include "kvm_util.h"
#include "processor.h"
#include "vmx.h"

#include "nvmx_ept_map.h"

/* Data pages, each written once by L2 in one case (EPT dirty flag clear). */
#define NR_LOG_PAGES		4			/* logs_in_order */
#define NR_FULL_PAGES		513			/* full_after_512 */
#define PAGE_FULL0		NR_LOG_PAGES
#define PAGE_RANGE		(PAGE_FULL0 + NR_FULL_PAGES)
#define PAGE_NOAD		(PAGE_RANGE + 1)
#define PAGE_OFF		(PAGE_NOAD + 1)
#define PAGE_OUTSIDE0		(PAGE_OFF + 1)		/* log_outside_memory */
#define NR_OUTSIDE		4	/* 3 logs outside, 1 at the last page */
#define PAGE_LAST_LOG		(PAGE_OUTSIDE0 + NR_OUTSIDE)
#define NR_DATA_PAGES		(PAGE_LAST_LOG + 1)

/* The data pages: a memslot of their own, identity-mapped for L1 and L2. */
#define DATA_SLOT		1
#define DATA_GPA		0xc0000000ull

/* Where L2 writes in a page (not 4-KByte aligned), the values there. */
#define WRITE_OFFSET		0x128
#define VAL_BEFORE		0x1111111111111111ull
#define VAL_L2			0x2222222222222222ull
#define LOG_UNUSED		(~0ull)		/* what L1 fills the log with */

#define NR_LOG_ENTRIES		512
#define REASON_PML_FULL		62
#define ERR_INVALID_CONTROL	7

/* Registers of the L2 body (SDM Table 27-3 numbering). */
#define GPR_RCX			1
#define GPR_RDX			2
#define GPR_RBX			3
#define GPR_RSI			6

/* Set by the host before L1 runs. */
struct nvmx_env {
	bool strict;
	u64 data_gva, data_gpa;		/* NR_DATA_PAGES contiguous pages */
	u64 log_gva, log_gpa;		/* the page-modification log */
	u64 slot0_end;			/* the end of memslot 0 */
};

struct nvmx_env nvmx_env;

#include "nvmx_selftest.h"

/*
 * L2: write RSI at WRITE_OFFSET into each of the RCX (> 0) pages whose
 * linear addresses are listed at RBX, then VMCALL.
 */
asm(".pushsection .text\n"
	"l2_write_pages:\n"
	"1:\tmov (%rbx), %rdx\n"
	"l2_write_insn:\n\t"
	"mov %rsi, " NVMX_XSTR(WRITE_OFFSET) "(%rdx)\n\t"
	"add $8, %rbx\n\t"
	"dec %rcx\n\t"
	"jnz 1b\n"
	"l2_write_done:\n\t"
	"vmcall\n\t"
	"ud2\n"
	"l2_vmcall:\n\t"
	"vmcall\n\t"
	"ud2\n"
	".popsection\n");

/* ---------------------------------------------------------------------- */
/* L1.                                                                      */

static struct vmx_pages *l1_vmx;

static u64 page_list[NR_FULL_PAGES];

static u64 data_gva(int page)
{
	return nvmx_env.data_gva + page * PAGE_SIZE;
}

static u64 data_gpa(int page)
{
	return nvmx_env.data_gpa + page * PAGE_SIZE;
}

static u64 data_word(int page)
{
	return READ_ONCE(*(u64 *)(data_gva(page) + WRITE_OFFSET));
}

static u64 log_entry(int i)
{
	return READ_ONCE(((u64 *)nvmx_env.log_gva)[i]);
}

/* Allowed-1 settings of the secondary controls (SDM A.3.3), 0 if none. */
static u32 ctls2_allowed1(void)
{
	if (!((vmx_true_msr(MSR_IA32_VMX_PROCBASED_CTLS) >> 32) &
	      CPU_BASED_ACTIVATE_SECONDARY_CONTROLS))
		return 0;
	return rdmsr(MSR_IA32_VMX_PROCBASED_CTLS2) >> 32;
}

static bool ept_ad_offered(void)
{
	return (ctls2_allowed1() & SECONDARY_EXEC_ENABLE_EPT) &&
	       (rdmsr(MSR_IA32_VMX_EPT_VPID_CAP) & VMX_EPT_VPID_CAP_AD_BITS);
}

static bool pml_offered(void)
{
	if (ctls2_allowed1() & SECONDARY_EXEC_ENABLE_PML)
		return true;
	skip("\"enable PML\" not offered to L1 (IA32_VMX_PROCBASED_CTLS2 bit 49 is 0)");
	return false;
}

/*
 * vmcs12 as prepare_vmcs() left it (EPT on, the host's identity EPT), with
 * accessed and dirty flags in the EPTP, the log emptied, the PML address
 * and the index @index; "enable PML" if @on.
 */
static bool pml_setup(u16 index, bool on)
{
	if (!pml_offered())
		return false;
	if (!ept_ad_offered()) {
		skip("\"enable PML\" offered without EPT accessed/dirty flags");
		return false;
	}
	memset((void *)nvmx_env.log_gva, 0xff, PAGE_SIZE);
	vmwrite(EPT_POINTER, vmreadz(EPT_POINTER) | NVMX_EPTP_AD);
	vmwrite(PML_ADDRESS, nvmx_env.log_gpa);
	vmwrite(GUEST_PML_INDEX, index);
	if (on)
		vmwrite(SECONDARY_VM_EXEC_CONTROL,
			vmreadz(SECONDARY_VM_EXEC_CONTROL) |
			SECONDARY_EXEC_ENABLE_PML);
	return true;
}

/* L2 writes the @n pages of page_list[], in order. */
static void l2_write_setup(int n)
{
	l2_setup(ASM_LABEL(l2_write_pages));
	nvmx_gpr_in[GPR_RBX] = (u64)page_list;
	nvmx_gpr_in[GPR_RCX] = n;
	nvmx_gpr_in[GPR_RSI] = VAL_L2;
}

static bool exit_at(u32 reason, u64 rip, const char *sdm)
{
	if (!expect_exit(reason))
		return false;
	report("GUEST_RIP", rip, vmreadz(GUEST_RIP), sdm);
	return true;
}

/*
 * The log from entry @top down holds the guest-physical addresses of data
 * pages @first, @first + 1, ... (@n of them), and the entries below are
 * unused; one mismatch is reported, at the first entry that differs.
 */
static void check_log(int top, int first, int n, const char *sdm)
{
	int i;

	for (i = 0; i < NR_LOG_ENTRIES; i++) {
		int entry = top - i;
		u64 want = i < n ? data_gpa(first + i) : LOG_UNUSED;

		if (entry < 0)
			break;
		if (log_entry(entry) == want)
			continue;
		report("first wrong PML log entry (index)", NR_LOG_ENTRIES,
		       entry, sdm);
		report("that entry", want, log_entry(entry), sdm);
		return;
	}
	for (i = top + 1; i < NR_LOG_ENTRIES; i++) {
		if (log_entry(i) == LOG_UNUSED)
			continue;
		report("PML log entry above the index at VM entry (index)",
		       NR_LOG_ENTRIES, i, "28.2.5");
		return;
	}
}

static void check_log_full_exit(void)
{
	u64 qual = vmreadz(EXIT_QUALIFICATION);

	report("EXIT_QUALIFICATION bit 12 (NMI unblocking due to IRET)", 0,
	       qual & BIT_ULL(12), "27.2.1 (log-full event, no IRET)");
	report("VM_EXIT_INTR_INFO valid", 0,
	       vmreadz(VM_EXIT_INTR_INFO) >> 31, "27.2.2");
	report("IDT_VECTORING_INFO_FIELD valid", 0,
	       vmreadz(IDT_VECTORING_INFO_FIELD) >> 31, "27.2.4");
}

static void pml_offered_case(void)
{
	u32 ctls2 = ctls2_allowed1();

	if (!pml_offered())
		return;
	report("\"enable EPT\" allowed with \"enable PML\"",
	       SECONDARY_EXEC_ENABLE_EPT, ctls2 & SECONDARY_EXEC_ENABLE_EPT,
	       "26.2.1.1 (PML needs EPT)");
	report("EPT accessed/dirty flags offered with \"enable PML\"", 1,
	       ept_ad_offered(), "28.2.5 (PML logs dirty flags for EPT)");
}

static void logs_in_order(void)
{
	static const int order[] = { 0, 1, 0, 2, 3 };
	int i;

	if (!pml_setup(NR_LOG_ENTRIES - 1, true))
		return;
	for (i = 0; i < ARRAY_SIZE(order); i++)
		page_list[i] = data_gva(order[i]);
	l2_write_setup(ARRAY_SIZE(order));
	if (!l2_launch() ||
	    !exit_at(EXIT_REASON_VMCALL_NR, ASM_LABEL(l2_write_done), "25.1.2"))
		return;

	CHECK(GUEST_PML_INDEX, NR_LOG_ENTRIES - 1 - NR_LOG_PAGES,
	      "28.2.5 (one decrement per dirty flag set)");
	check_log(NR_LOG_ENTRIES - 1, 0, NR_LOG_PAGES,
		  "28.2.5 (4-KByte aligned guest-physical addresses, in order)");
	for (i = 0; i < NR_LOG_PAGES; i++)
		report("data page written by L2", VAL_L2, data_word(i),
		       "28.2.5");
}

static void full_after_512(void)
{
	const int last = PAGE_FULL0 + NR_FULL_PAGES - 1;
	int i;

	if (!pml_setup(NR_LOG_ENTRIES - 1, true))
		return;
	for (i = 0; i < NR_FULL_PAGES; i++)
		page_list[i] = data_gva(PAGE_FULL0 + i);
	l2_write_setup(NR_FULL_PAGES);
	if (!l2_launch() ||
	    !exit_at(REASON_PML_FULL, ASM_LABEL(l2_write_insn),
		     "28.2.5 (the write that needs a 513th entry)"))
		return;

	CHECK(GUEST_PML_INDEX, 0xffff, "28.2.5 (0 decremented to FFFFH)");
	check_log_full_exit();
	report("RDX (the page being written)", data_gva(last),
	       nvmx_gpr_out[GPR_RDX], "27.5.3 (GPRs are L2's)");
	check_log(NR_LOG_ENTRIES - 1, PAGE_FULL0, NR_LOG_ENTRIES,
		  "28.2.5 (entries 511 down to 0)");
	report("the page whose write exited", VAL_BEFORE, data_word(last),
	       "28.2.5 (the access does not occur)");
	report("the last page logged", VAL_L2, data_word(last - 1), "28.2.5");

	/* L1 empties the log; the write is retried and logged at 511 */
	memset((void *)nvmx_env.log_gva, 0xff, PAGE_SIZE);
	vmwrite(GUEST_PML_INDEX, NR_LOG_ENTRIES - 1);
	memcpy(nvmx_gpr_in, nvmx_gpr_out, sizeof(nvmx_gpr_in));
	if (nvmx_l2_run(0)) {
		report("VMRESUME succeeded (VM-instruction error)", 0,
		       vmreadz(VM_INSTRUCTION_ERROR), "26.1");
		return;
	}
	if (!exit_at(EXIT_REASON_VMCALL_NR, ASM_LABEL(l2_write_done),
		     "25.1.2"))
		return;
	CHECK(GUEST_PML_INDEX, NR_LOG_ENTRIES - 2, "28.2.5");
	check_log(NR_LOG_ENTRIES - 1, last, 1, "28.2.5 (the retried write)");
	report("the page whose write exited, after VMRESUME", VAL_L2,
	       data_word(last), "28.2.5");
}

static void index_out_of_range(void)
{
	if (!pml_setup(600, true))
		return;
	page_list[0] = data_gva(PAGE_RANGE);
	l2_write_setup(1);
	if (!l2_launch() ||
	    !exit_at(REASON_PML_FULL, ASM_LABEL(l2_write_insn),
		     "28.2.5 (index not in 0-511)"))
		return;
	CHECK(GUEST_PML_INDEX, 600, "28.2.5 (no entry, no decrement)");
	check_log_full_exit();
	check_log(NR_LOG_ENTRIES - 1, 0, 0, "28.2.5 (nothing logged)");
	report("the page whose write exited", VAL_BEFORE,
	       data_word(PAGE_RANGE), "28.2.5 (the access does not occur)");
}

static void no_log_without_ad(void)
{
	if (!pml_setup(NR_LOG_ENTRIES - 1, true))
		return;
	vmwrite(EPT_POINTER, vmreadz(EPT_POINTER) & ~NVMX_EPTP_AD);
	page_list[0] = data_gva(PAGE_NOAD);
	l2_write_setup(1);
	if (!l2_launch() ||
	    !exit_at(EXIT_REASON_VMCALL_NR, ASM_LABEL(l2_write_done), "25.1.2"))
		return;
	CHECK(GUEST_PML_INDEX, NR_LOG_ENTRIES - 1,
	      "28.2.4, 28.2.5 (no dirty flag set, nothing logged)");
	check_log(NR_LOG_ENTRIES - 1, 0, 0, "28.2.5 (nothing logged)");
	report("data page written by L2", VAL_L2, data_word(PAGE_NOAD),
	       "28.2.5");
}

static void pml_off(void)
{
	if (!pml_setup(NR_LOG_ENTRIES - 1, false))
		return;
	page_list[0] = data_gva(PAGE_OFF);
	l2_write_setup(1);
	if (!l2_launch() ||
	    !exit_at(EXIT_REASON_VMCALL_NR, ASM_LABEL(l2_write_done), "25.1.2"))
		return;
	CHECK(GUEST_PML_INDEX, NR_LOG_ENTRIES - 1,
	      "28.2.5 (no logging without \"enable PML\")");
	check_log(NR_LOG_ENTRIES - 1, 0, 0, "28.2.5 (nothing logged)");
}

/* The log page's address for log_outside_memory's case @i */
static u64 outside_log(int i, const char **sdm)
{
	u32 eax, ebx, ecx, edx;

	switch (i) {
	case 0:
		*sdm = "28.2.5 (log just past memslot 0, no memory: write lost)";
		return nvmx_env.slot0_end;
	case 1:
		*sdm = "28.2.5 (log just past the last memslot: write lost)";
		return data_gpa(NR_DATA_PAGES);
	case 2:
		*sdm = "28.2.5 (log at the last page below MAXPHYADDR: write lost)";
		cpuid(0x80000008, &eax, &ebx, &ecx, &edx);
		return BIT_ULL(eax & 0xff) - PAGE_SIZE;
	default:
		*sdm = "28.2.5 (log at the last page of L1's memory)";
		return data_gpa(PAGE_LAST_LOG);
	}
}

static void log_outside_memory(void)
{
	u64 *last = (u64 *)data_gva(PAGE_LAST_LOG);
	const char *sdm;
	int i, page;

	for (i = 0; i < NR_OUTSIDE; i++) {
		nvmx_fresh_vmcs(l1_vmx);
		if (!pml_setup(NR_LOG_ENTRIES - 1, true))
			return;
		vmwrite(PML_ADDRESS, outside_log(i, &sdm));
		last[NR_LOG_ENTRIES - 1] = LOG_UNUSED;
		page = PAGE_OUTSIDE0 + i;
		page_list[0] = data_gva(page);
		l2_write_setup(1);
		if (!l2_launch() ||
		    !exit_at(EXIT_REASON_VMCALL_NR, ASM_LABEL(l2_write_done),
			     sdm))
			continue;
		report_known("GUEST_PML_INDEX", NR_LOG_ENTRIES - 2,
			     vmreadz(GUEST_PML_INDEX), NR_LOG_ENTRIES - 1, sdm,
			     "stock 6.1 does not decrement the index when the log has no memory");
		report("data page written by L2", VAL_L2, data_word(page), sdm);
		check_log(NR_LOG_ENTRIES - 1, 0, 0,
			  "28.2.5 (nothing in L1's usual log)");
		report("the last 8 bytes of L1's memory",
		       i == NR_OUTSIDE - 1 ? data_gpa(page) : LOG_UNUSED,
		       READ_ONCE(last[NR_LOG_ENTRIES - 1]), sdm);
	}
}

static void expect_vmfail_7(const char *sdm)
{
	l2_setup(ASM_LABEL(l2_vmcall));
	report("VMLAUNCH failed (VMfail)", 1, nvmx_l2_run(1), sdm);
	CHECK(VM_INSTRUCTION_ERROR, ERR_INVALID_CONTROL, sdm);
}

static void entry_checks(void)
{
	u32 eax, ebx, ecx, edx;
	u64 ctls2;

	if (!pml_setup(NR_LOG_ENTRIES - 1, true))
		return;
	/* CPUID.80000008H:EAX[7:0], the physical-address width */
	cpuid(0x80000008, &eax, &ebx, &ecx, &edx);
	ctls2 = vmreadz(SECONDARY_VM_EXEC_CONTROL);

	vmwrite(SECONDARY_VM_EXEC_CONTROL, ctls2 & ~SECONDARY_EXEC_ENABLE_EPT);
	expect_vmfail_7("26.2.1.1 (\"enable PML\" without \"enable EPT\")");
	vmwrite(SECONDARY_VM_EXEC_CONTROL, ctls2);

	vmwrite(PML_ADDRESS, nvmx_env.log_gpa | 0x800);
	expect_vmfail_7("26.2.1.1 (PML address bits 11:0)");

	vmwrite(PML_ADDRESS, BIT_ULL(eax & 0xff));
	expect_vmfail_7("26.2.1.1 (PML address beyond the physical-address width)");

	vmwrite(PML_ADDRESS, nvmx_env.log_gpa);
	l2_setup(ASM_LABEL(l2_vmcall));
	if (l2_launch())
		exit_at(EXIT_REASON_VMCALL_NR, ASM_LABEL(l2_vmcall), "25.1.2");
}

static const struct nvmx_case cases[] = {
	{ "pml_offered", pml_offered_case },
	{ "logs_in_order", logs_in_order },
	{ "full_after_512", full_after_512 },
	{ "index_out_of_range", index_out_of_range },
	{ "no_log_without_ad", no_log_without_ad },
	{ "pml_off", pml_off },
	{ "log_outside_memory", log_outside_memory },
	{ "entry_checks", entry_checks },
};

void l1_guest_code(struct vmx_pages *vmx)
{
	l1_vmx = vmx;
	nvmx_l1_run_table(vmx, cases, ARRAY_SIZE(cases));
}

/* ---------------------------------------------------------------------- */
/* Host.                                                                    */

/*
 * The data pages (holding VAL_BEFORE at WRITE_OFFSET) and the log page,
 * then L1's identity EPT over L1's memory and the data pages, with the data
 * pages' accessed and dirty flags clear.
 */
static void setup_memory(struct kvm_vm *vm, struct vmx_pages *vmx)
{
	vm_vaddr_t log = vm_vaddr_alloc_page(vm);
	struct userspace_mem_region *region;
	int i;

	vm_userspace_mem_region_add(vm, VM_MEM_SRC_ANONYMOUS, DATA_GPA,
				    DATA_SLOT, NR_DATA_PAGES, 0);
	virt_map(vm, DATA_GPA, DATA_GPA, NR_DATA_PAGES);
	nvmx_env.data_gva = DATA_GPA;
	nvmx_env.data_gpa = DATA_GPA;
	nvmx_env.log_gva = log;
	nvmx_env.log_gpa = addr_gva2gpa(vm, log);
	region = memslot2region(vm, 0);
	nvmx_env.slot0_end = region->region.guest_phys_addr +
			     region->region.memory_size;
	for (i = 0; i < NR_DATA_PAGES; i++)
		*(u64 *)addr_gpa2hva(vm, DATA_GPA + i * PAGE_SIZE +
				     WRITE_OFFSET) = VAL_BEFORE;

	if (!kvm_vm_has_ept(vm)) {
		ksft_print_msg("L1 is offered no EPT: no PML either\n");
		return;
	}
	prepare_eptp(vmx, vm, 0);
	nested_map_memslot(vmx, vm, 0);
	nested_map(vmx, vm, DATA_GPA, DATA_GPA, NR_DATA_PAGES * PAGE_SIZE);
	for (i = 0; i < NR_DATA_PAGES; i++)
		nvmx_ept_clear_ad(vm, vmx->eptp_hva, DATA_GPA + i * PAGE_SIZE);
}

int main(int argc, char *argv[])
{
	struct vmx_pages *vmx;
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;

	/* slot 0 holds the page tables that map the data pages */
	vm = nvmx_host_create_table_mem(&vcpu, cases, ARRAY_SIZE(cases), &vmx,
					NR_DATA_PAGES);
	setup_memory(vm, vmx);
	return nvmx_host_run(vm, vcpu, nvmx_host_case_message);
}
