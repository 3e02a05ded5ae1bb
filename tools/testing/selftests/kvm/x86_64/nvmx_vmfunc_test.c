// SPDX-License-Identifier: GPL-2.0-only
/*
 * nvmx_vmfunc_test: VMFUNC and EPTP switching, VM function 0, for L2 (SDM
 * Vol. 3C 25.5.5, 30.3 VMFUNC).
 *
 * The host builds two EPT hierarchies for L2, both identity maps of L1's
 * memory except at one guest-physical address X (not L1 memory), which EPT
 * A maps to page A and EPT B to page B.  L1 gives L2 an EPTP list (24.6.14)
 * with B at entry 1 (with accessed/dirty flags where offered), A at entry
 * 511 and invalid EPTPs at entries 0 and 2.  Cases:
 *
 *   vmfunc_offered         "enable VM functions" comes with EPT and
 *                          IA32_VMX_VMFUNC reports EPTP switching only (A.11)
 *   switch_eptp            L2 reads X (A), VMFUNC 0 with ECX 1, reads and
 *                          writes X (B), VMCALL: no exit in between, vmcs12's
 *                          EPTP is entry 1, page B got the write and EPT B
 *                          its accessed and dirty flags; then VMFUNC 0 with
 *                          ECX 511: X reads A again, the EPTP is entry 511
 *   ecx_ge_512             VMFUNC 0 with ECX 512: VM exit 59 (25.5.5.3)
 *   invalid_list_entry     ECX 2, an EPTP VM entry would refuse: VM exit 59
 *   list_outside_memory    the EPTP list just past L1's memory, at X (no
 *                          memory) and at the last page below MAXPHYADDR,
 *                          ECX 1 and 511: read where no memory is, an
 *                          entry is all ones, as on the platform: no EPTP
 *                          (memory type 7, 24.6.11): VM exit 59
 *   function_1             EAX 1, not enabled: VM exit 59 (25.5.5.2)
 *   function_0_not_enabled VM functions on, no function enabled: VM exit 59
 *   eax_ge_64_ud           EAX 64: #UD in L2 (30.3 VMFUNC)
 *   vm_functions_off_ud    "enable VM functions" 0: #UD in L2
 *   entry_checks           VMfailValid 7 for a reserved VM-function control,
 *                          EPTP switching without EPT, an EPTP-list address
 *                          not 4-KByte aligned or beyond the physical-address
 *                          width (26.2.1.1)
 *   l1_ud                  VMFUNC in VMX root operation: #UD
 *
 * Each VM exit 59 leaves vmcs12's EPTP as it was and reports no exit
 * qualification and the instruction's length, 3 (27.2.1, 27.2.5).
 */
#define _GNU_SOURCE
#include <string.h>

#include "test_util.h"
#include "kvm_util.h"
#include "processor.h"
#include "vmx.h"

#include "nvmx_ept_map.h"

/* VMCS fields the library does not name (SDM Appendix B.2.1) */
#define NVMX_VM_FUNCTION_CONTROL	0x2018
#define NVMX_EPTP_LIST_ADDRESS		0x2024

#define REASON_EXCEPTION_NMI		0
#define REASON_VMFUNC			59
#define ERR_INVALID_CONTROL		7
#define VMFUNC_EPTP_SWITCHING		BIT_ULL(0)
#define VMFUNC_LEN			3	/* 0F 01 D4 */
#define INTR_INFO_UD			0x80000306u	/* valid, hw exception, #UD */

/* X: guest-physical address of L2's that EPT A and EPT B map apart. */
#define X_GPA				BIT_ULL(32)
#define VAL_A				0x4141414141414141ull
#define VAL_B				0x4242424242424242ull
#define VAL_L2				0x3232323232323232ull

/* The EPTP list, as L1 fills it. */
#define LIST_INVALID_0			0	/* page-walk length 1 */
#define LIST_B				1
#define LIST_INVALID_RSVD		2	/* B with reserved bit 7 set */
#define LIST_A				511

/* Registers of the L2 bodies (SDM Table 27-3 numbering). */
#define GPR_RAX				0
#define GPR_RCX				1
#define GPR_RDX				2
#define GPR_RSI				6
#define GPR_R8				8
#define GPR_R9				9
#define GPR_R10				10

/* Set by the host before L1 runs. */
struct nvmx_env {
	bool strict;
	u64 x;				/* linear address of X */
	u64 page_a, page_b;		/* linear addresses of pages A and B */
	u64 ept_a, ept_b;		/* EPT PML4 tables, guest-physical */
	u64 list_gva, list_gpa;		/* the EPTP list */
	u64 ept_b_pt;			/* linear address of EPT B's PT of X */
	u64 mem_end;			/* the end of L1's memory (memslot 0) */
};

struct nvmx_env nvmx_env;

#include "nvmx_selftest.h"

asm(".pushsection .text\n"
	/* VMFUNC with L2's EAX and ECX from L1. */
	"l2_vmfunc:\n\t"
	"vmfunc\n"
	"l2_vmfunc_done:\n\t"
	"vmcall\n\t"
	"ud2\n"
	/*
	 * Read X through EPT A, switch to entry 1 (B), read X and write RSI
	 * to it; after VMRESUME switch to entry 511 (A) and read X again.
	 */
	"l2_switch:\n\t"
	"mov (%rdx), %r8\n\t"
	"xor %eax, %eax\n\t"
	"mov $" NVMX_XSTR(LIST_B) ", %ecx\n\t"
	"vmfunc\n\t"
	"mov (%rdx), %r9\n\t"
	"mov %rsi, (%rdx)\n"
	"l2_switch_exit1:\n\t"
	"vmcall\n\t"
	"xor %eax, %eax\n\t"
	"mov $" NVMX_XSTR(LIST_A) ", %ecx\n\t"
	"vmfunc\n\t"
	"mov (%rdx), %r10\n"
	"l2_switch_exit2:\n\t"
	"vmcall\n\t"
	"ud2\n"
	".popsection\n");

/* ---------------------------------------------------------------------- */
/* L1.                                                                      */

static struct vmx_pages *l1_vmx;

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
	return rdmsr(MSR_IA32_VMX_EPT_VPID_CAP) & VMX_EPT_VPID_CAP_AD_BITS;
}

static bool vmfunc_offered(void)
{
	if (ctls2_allowed1() & SECONDARY_EXEC_ENABLE_VMFUNC)
		return true;
	skip("\"enable VM functions\" not offered to L1 (IA32_VMX_PROCBASED_CTLS2 bit 45 is 0)");
	return false;
}

static u64 eptp_a(void)
{
	return nvmx_map_eptp(nvmx_env.ept_a, false);
}

static u64 eptp_b(void)
{
	return nvmx_map_eptp(nvmx_env.ept_b, ept_ad_offered());
}

static u64 *eptp_list(void)
{
	return (u64 *)nvmx_env.list_gva;
}

/*
 * vmcs12 as prepare_vmcs() left it, with EPT A (no accessed/dirty flags),
 * "enable VM functions", the VM-function controls @functions and the EPTP
 * list.
 */
static bool vmfunc_setup(u64 functions)
{
	u64 *list = eptp_list();

	if (!vmfunc_offered())
		return false;
	if (!(ctls2_allowed1() & SECONDARY_EXEC_ENABLE_EPT)) {
		skip("\"enable VM functions\" offered without EPT");
		return false;
	}
	memset(list, 0, PAGE_SIZE);
	list[LIST_INVALID_0] = nvmx_map_eptp(nvmx_env.ept_b, false) & ~(7ull << 3);
	list[LIST_B] = eptp_b();
	list[LIST_INVALID_RSVD] = eptp_b() | BIT_ULL(7);
	list[LIST_A] = eptp_a();

	vmwrite(EPT_POINTER, eptp_a());
	vmwrite(SECONDARY_VM_EXEC_CONTROL, vmreadz(SECONDARY_VM_EXEC_CONTROL) |
		SECONDARY_EXEC_ENABLE_VMFUNC);
	vmwrite(NVMX_VM_FUNCTION_CONTROL, functions);
	vmwrite(NVMX_EPTP_LIST_ADDRESS, nvmx_env.list_gpa);
	return true;
}

static bool exit_at(u32 reason, u64 rip, const char *sdm)
{
	if (!expect_exit(reason))
		return false;
	report("GUEST_RIP", rip, vmreadz(GUEST_RIP), sdm);
	return true;
}

/* L2 executes VMFUNC with @eax and @ecx. */
static bool l2_run_vmfunc(u64 eax, u64 ecx)
{
	l2_setup(ASM_LABEL(l2_vmfunc));
	nvmx_gpr_in[GPR_RAX] = eax;
	nvmx_gpr_in[GPR_RCX] = ecx;
	return l2_launch();
}

/* The VMFUNC VM exit of L2's VMFUNC with @eax and @ecx. */
static void check_vmfunc_exit(u64 eax, u64 ecx, const char *sdm)
{
	if (!exit_at(REASON_VMFUNC, ASM_LABEL(l2_vmfunc), sdm))
		return;
	CHECK(EXIT_QUALIFICATION, 0, "27.2.1 (no qualification for VMFUNC)");
	CHECK(VM_EXIT_INSTRUCTION_LEN, VMFUNC_LEN, "27.2.5");
	report("VM_EXIT_INTR_INFO valid", 0, vmreadz(VM_EXIT_INTR_INFO) >> 31,
	       "27.2.2");
	report("IDT_VECTORING_INFO_FIELD valid", 0,
	       vmreadz(IDT_VECTORING_INFO_FIELD) >> 31, "27.2.4");
	CHECK(EPT_POINTER, eptp_a(), "25.5.5.3 (EPTP unchanged)");
	report("L2's RAX", eax, nvmx_gpr_out[GPR_RAX], "27.5.3");
	report("L2's RCX", ecx, nvmx_gpr_out[GPR_RCX], "27.5.3");
}

/* #UD in L2, intercepted by L1's exception bitmap (25.2). */
static void check_ud_exit(const char *sdm)
{
	if (!exit_at(REASON_EXCEPTION_NMI, ASM_LABEL(l2_vmfunc), sdm))
		return;
	CHECK(VM_EXIT_INTR_INFO, INTR_INFO_UD, sdm);
}

static void vmfunc_offered_case(void)
{
	if (!vmfunc_offered())
		return;
	report("\"enable EPT\" allowed with \"enable VM functions\"",
	       SECONDARY_EXEC_ENABLE_EPT,
	       ctls2_allowed1() & SECONDARY_EXEC_ENABLE_EPT,
	       "25.5.5.3 (EPTP switching needs EPT)");
	report("IA32_VMX_VMFUNC", VMFUNC_EPTP_SWITCHING,
	       rdmsr(MSR_IA32_VMX_VMFUNC), "A.11 (EPTP switching only)");
}

static void switch_eptp(void)
{
	u64 *ept_b_pte = (u64 *)nvmx_env.ept_b_pt + ((X_GPA >> 12) & 0x1ff);

	if (!vmfunc_setup(VMFUNC_EPTP_SWITCHING))
		return;
	l2_setup(ASM_LABEL(l2_switch));
	nvmx_gpr_in[GPR_RDX] = nvmx_env.x;
	nvmx_gpr_in[GPR_RSI] = VAL_L2;
	if (!l2_launch() ||
	    !exit_at(EXIT_REASON_VMCALL_NR, ASM_LABEL(l2_switch_exit1),
		     "25.5.5.3 (EPTP switching without a VM exit)"))
		return;
	report("X through EPT A", VAL_A, nvmx_gpr_out[GPR_R8], "28.2");
	report("X after VMFUNC 0, ECX 1", VAL_B, nvmx_gpr_out[GPR_R9],
	       "25.5.5.3 (new EPTP used for translation)");
	report("page B after L2's write to X", VAL_L2,
	       READ_ONCE(*(u64 *)nvmx_env.page_b), "25.5.5.3");
	report("page A after L2's write to X", VAL_A,
	       READ_ONCE(*(u64 *)nvmx_env.page_a), "25.5.5.3");
	CHECK(EPT_POINTER, eptp_b(), "25.5.5.3 (written to the EPTP field)");
	if (ept_ad_offered())
		report("EPT B's PTE of X, accessed and dirty flags",
		       NVMX_EPT_ACCESSED | NVMX_EPT_DIRTY,
		       READ_ONCE(*ept_b_pte) &
		       (NVMX_EPT_ACCESSED | NVMX_EPT_DIRTY),
		       "28.2.4 (bit 6 of the new EPTP)");

	memcpy(nvmx_gpr_in, nvmx_gpr_out, sizeof(nvmx_gpr_in));
	vmwrite(GUEST_RIP, vmreadz(GUEST_RIP) + vmreadz(VM_EXIT_INSTRUCTION_LEN));
	if (nvmx_l2_run(0)) {
		report("VMRESUME succeeded (VM-instruction error)", 0,
		       vmreadz(VM_INSTRUCTION_ERROR), "26.1");
		return;
	}
	if (!exit_at(EXIT_REASON_VMCALL_NR, ASM_LABEL(l2_switch_exit2),
		     "25.5.5.3 (EPTP switching without a VM exit)"))
		return;
	report("X after VMFUNC 0, ECX 511", VAL_A, nvmx_gpr_out[GPR_R10],
	       "25.5.5.3 (new EPTP used for translation)");
	CHECK(EPT_POINTER, eptp_a(), "25.5.5.3 (written to the EPTP field)");
}

static void ecx_ge_512(void)
{
	if (vmfunc_setup(VMFUNC_EPTP_SWITCHING) && l2_run_vmfunc(0, 512))
		check_vmfunc_exit(0, 512, "25.5.5.3 (ECX >= 512)");
}

static void invalid_list_entry(void)
{
	if (vmfunc_setup(VMFUNC_EPTP_SWITCHING) &&
	    l2_run_vmfunc(0, LIST_INVALID_RSVD))
		check_vmfunc_exit(0, LIST_INVALID_RSVD,
				  "25.5.5.3 (not a valid EPTP, 26.2.1.1)");
}

/* Where the EPTP list has no memory behind it, and the entries tried */
static const char * const outside_name[] = {
	"25.5.5.3 (EPTP list just past L1's memory: all ones)",
	"25.5.5.3 (EPTP list at X, no memory: all ones)",
	"25.5.5.3 (EPTP list at the last page below MAXPHYADDR: all ones)",
};

static const u32 outside_index[] = { LIST_B, LIST_A };

static void list_outside_memory(void)
{
	u32 eax, ebx, ecx, edx;
	u64 where[ARRAY_SIZE(outside_name)];
	int i, j;

	cpuid(0x80000008, &eax, &ebx, &ecx, &edx);
	where[0] = nvmx_env.mem_end;
	where[1] = X_GPA;
	where[2] = BIT_ULL(eax & 0xff) - PAGE_SIZE;
	for (i = 0; i < ARRAY_SIZE(where); i++) {
		for (j = 0; j < ARRAY_SIZE(outside_index); j++) {
			nvmx_fresh_vmcs(l1_vmx);
			if (!vmfunc_setup(VMFUNC_EPTP_SWITCHING))
				return;
			vmwrite(NVMX_EPTP_LIST_ADDRESS, where[i]);
			if (l2_run_vmfunc(0, outside_index[j]))
				check_vmfunc_exit(0, outside_index[j],
						  outside_name[i]);
		}
	}
}

static void function_1(void)
{
	if (vmfunc_setup(VMFUNC_EPTP_SWITCHING) && l2_run_vmfunc(1, LIST_B))
		check_vmfunc_exit(1, LIST_B,
				  "25.5.5.2 (VM-function control 1 is 0)");
}

static void function_0_not_enabled(void)
{
	if (vmfunc_setup(0) && l2_run_vmfunc(0, LIST_B))
		check_vmfunc_exit(0, LIST_B,
				  "25.5.5.2 (VM-function control 0 is 0)");
}

static void eax_ge_64_ud(void)
{
	if (!vmfunc_setup(VMFUNC_EPTP_SWITCHING))
		return;
	vmwrite(EXCEPTION_BITMAP, BIT(UD_VECTOR));
	if (l2_run_vmfunc(64, LIST_B))
		check_ud_exit("30.3 VMFUNC (#UD if EAX >= 64)");
}

static void vm_functions_off_ud(void)
{
	if (!vmfunc_setup(VMFUNC_EPTP_SWITCHING))
		return;
	vmwrite(SECONDARY_VM_EXEC_CONTROL, vmreadz(SECONDARY_VM_EXEC_CONTROL) &
		~SECONDARY_EXEC_ENABLE_VMFUNC);
	vmwrite(EXCEPTION_BITMAP, BIT(UD_VECTOR));
	if (l2_run_vmfunc(0, LIST_B))
		check_ud_exit("30.3 VMFUNC (#UD without \"enable VM functions\")");
}

static void expect_vmfail_7(const char *sdm)
{
	l2_setup(ASM_LABEL(l2_vmfunc_done));
	report("VMLAUNCH failed (VMfail)", 1, nvmx_l2_run(1), sdm);
	CHECK(VM_INSTRUCTION_ERROR, ERR_INVALID_CONTROL, sdm);
}

static void entry_checks(void)
{
	u64 reserved = ~rdmsr(MSR_IA32_VMX_VMFUNC);
	u32 eax, ebx, ecx, edx;
	u64 ctls2;

	if (!vmfunc_setup(VMFUNC_EPTP_SWITCHING))
		return;
	cpuid(0x80000008, &eax, &ebx, &ecx, &edx);
	ctls2 = vmreadz(SECONDARY_VM_EXEC_CONTROL);

	vmwrite(NVMX_VM_FUNCTION_CONTROL,
		VMFUNC_EPTP_SWITCHING | (reserved & -reserved));
	expect_vmfail_7("26.2.1.1 (VM-function control reserved by IA32_VMX_VMFUNC)");
	vmwrite(NVMX_VM_FUNCTION_CONTROL, VMFUNC_EPTP_SWITCHING);

	vmwrite(SECONDARY_VM_EXEC_CONTROL, ctls2 & ~SECONDARY_EXEC_ENABLE_EPT);
	expect_vmfail_7("26.2.1.1 (EPTP switching without \"enable EPT\")");
	vmwrite(SECONDARY_VM_EXEC_CONTROL, ctls2);

	vmwrite(NVMX_EPTP_LIST_ADDRESS, nvmx_env.list_gpa | 0x800);
	expect_vmfail_7("26.2.1.1 (EPTP-list address bits 11:0)");

	vmwrite(NVMX_EPTP_LIST_ADDRESS, BIT_ULL(eax & 0xff));
	expect_vmfail_7("26.2.1.1 (EPTP-list address beyond the physical-address width)");

	vmwrite(NVMX_EPTP_LIST_ADDRESS, nvmx_env.list_gpa);
	l2_setup(ASM_LABEL(l2_vmfunc_done));
	if (l2_launch())
		exit_at(EXIT_REASON_VMCALL_NR, ASM_LABEL(l2_vmfunc_done),
			"25.1.2");
}

static void l1_ud(void)
{
	u8 vector = kvm_asm_safe("vmfunc", "a"(0), "c"(LIST_B));

	report("VMFUNC in VMX root operation: exception vector", UD_VECTOR,
	       vector, "30.3 VMFUNC (#UD outside VMX non-root operation)");
}

static const struct nvmx_case cases[] = {
	{ "vmfunc_offered", vmfunc_offered_case },
	{ "switch_eptp", switch_eptp },
	{ "ecx_ge_512", ecx_ge_512 },
	{ "invalid_list_entry", invalid_list_entry },
	{ "list_outside_memory", list_outside_memory },
	{ "function_1", function_1 },
	{ "function_0_not_enabled", function_0_not_enabled },
	{ "eax_ge_64_ud", eax_ge_64_ud },
	{ "vm_functions_off_ud", vm_functions_off_ud },
	{ "entry_checks", entry_checks },
	{ "l1_ud", l1_ud },
};

void l1_guest_code(struct vmx_pages *vmx)
{
	l1_vmx = vmx;
	nvmx_l1_run_table(vmx, cases, ARRAY_SIZE(cases));
}

/* ---------------------------------------------------------------------- */
/* Host.                                                                    */

/* Point the PTE of L1's page at @gva to guest-physical @gpa instead. */
static void remap(struct kvm_vm *vm, struct kvm_vcpu *vcpu, u64 gva, u64 gpa)
{
	u64 pte = vm_get_page_table_entry(vm, vcpu, gva);

	vm_set_page_table_entry(vm, vcpu, gva,
				(pte & ~PHYSICAL_PAGE_MASK) | gpa);
}

/* An identity EPT over L1's memory at @root, with X mapped to @page. */
static void build_ept(struct kvm_vm *vm, struct vmx_pages *vmx,
		      vm_vaddr_t root, vm_vaddr_t page)
{
	vmx->eptp = (void *)root;
	vmx->eptp_hva = addr_gva2hva(vm, root);
	vmx->eptp_gpa = addr_gva2gpa(vm, root);
	nested_map_memslot(vmx, vm, 0);
	nested_pg_map(vmx, vm, X_GPA, addr_gva2gpa(vm, page));
	nvmx_ept_clear_ad(vm, vmx->eptp_hva, X_GPA);
}

/*
 * Pages A and B, the EPTP list, X (a linear address of L1's mapped to X,
 * which is not L1 memory), EPT B and then EPT A, which prepare_vmcs()
 * gives L2, and a linear address of L1's for EPT B's page table of X.
 */
static void setup_epts(struct kvm_vm *vm, struct kvm_vcpu *vcpu,
		       struct vmx_pages *vmx)
{
	vm_vaddr_t a = vm_vaddr_alloc_page(vm);
	vm_vaddr_t b = vm_vaddr_alloc_page(vm);
	vm_vaddr_t root_a = vm_vaddr_alloc_page(vm);
	vm_vaddr_t root_b = vm_vaddr_alloc_page(vm);
	vm_vaddr_t ept_b_pt = vm_vaddr_alloc_page(vm);

	nvmx_env.page_a = a;
	nvmx_env.page_b = b;
	*(u64 *)addr_gva2hva(vm, a) = VAL_A;
	*(u64 *)addr_gva2hva(vm, b) = VAL_B;
	nvmx_env.list_gva = vm_vaddr_alloc_page(vm);
	nvmx_env.list_gpa = addr_gva2gpa(vm, nvmx_env.list_gva);
	nvmx_env.x = vm_vaddr_alloc_page(vm);
	TEST_ASSERT((X_GPA >> vm->page_shift) <= vm->max_gfn,
		    "X (0x%llx) beyond the guest's physical-address width",
		    X_GPA);
	remap(vm, vcpu, nvmx_env.x, X_GPA);

	if (!kvm_vm_has_ept(vm)) {
		ksft_print_msg("L1 is offered no EPT: no EPTP switching either\n");
		return;
	}
	build_ept(vm, vmx, root_b, b);
	nvmx_env.ept_b = vmx->eptp_gpa;
	remap(vm, vcpu, ept_b_pt, nvmx_ept_pt_gpa(vm, vmx->eptp_hva, X_GPA));
	nvmx_env.ept_b_pt = ept_b_pt;
	build_ept(vm, vmx, root_a, a);
	nvmx_env.ept_a = vmx->eptp_gpa;
}

int main(int argc, char *argv[])
{
	struct userspace_mem_region *region;
	struct vmx_pages *vmx;
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;

	vm = nvmx_host_create_table_mem(&vcpu, cases, ARRAY_SIZE(cases), &vmx,
					0);
	/* l1_ud's #UD in L1 needs an IDT */
	vm_init_descriptor_tables(vm);
	vcpu_init_descriptor_tables(vcpu);
	setup_epts(vm, vcpu, vmx);
	region = memslot2region(vm, 0);
	nvmx_env.mem_end = region->region.guest_phys_addr +
			   region->region.memory_size;
	return nvmx_host_run(vm, vcpu, nvmx_host_case_message);
}
