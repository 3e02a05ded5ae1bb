// SPDX-License-Identifier: GPL-2.0-only
/*
 * nvmx_ug_test: "unrestricted guest" for L2 (SDM Vol. 3C 26.2.1.1, 26.3.1,
 * 28.2).
 *
 * L2 runs without paging from one page of L1's memory that L1's EPT maps
 * at L2-physical 8000H.  Its code (16-bit and 32-bit, assembled below) is
 * copied there by the host; its stack and data are in the same page.
 *
 *   real_mode: CS = DS = SS = 0800H (base 8000H).  L2 computes in its
 *   registers, pushes and pops, stores to DS:100H and executes OUT 80H,
 *   which exits (unconditional I/O exiting) with the I/O qualification and
 *   the instruction length of 27.2.1 and 27.2.5; resumed past it, it
 *   executes VMCALL.  L1 checks the registers L2 computed (bits 31:0: the
 *   upper halves are not defined outside 64-bit mode, Vol. 1 3.4.1.1), the
 *   RIP and RSP of the real-mode code, CS as saved, CR0.PE = CR0.PG = 0 and
 *   the store through the EPT.
 *   real_mode_cs_data_type: with "unrestricted guest", CS may be a
 *   read/write data segment (type 3, DPL 0) (26.3.1.2).
 *   real_mode_ept_violation: a read at DS:2010H, linear (and guest-
 *   physical) A010H, which the EPT does not map: exit 48, qualification
 *   read, not present, linear address valid and translated (Table 27-7),
 *   both addresses A010H.
 *   unpaged_protected_mode: CR0.PE = 1, PG = 0, flat 32-bit segments.
 *   pe0_without_ug: CR0.PE = 0 is allowed only with "unrestricted guest"
 *   (26.3.1.1): VM-entry failure, exit reason 33 with bit 31, qualification
 *   0 (26.8).
 *   pg_without_pe: with it, CR0.PG = 1 still requires PE = 1 (26.3.1.1).
 *   real_mode_ss_dpl3: with it and CR0.PE = 0, SS.DPL must be 0 (26.3.1.2).
 *   ug_without_ept: "unrestricted guest" requires "enable EPT" (26.2.1.1):
 *   VMfailValid(7).
 *
 * A capability issue 9 requires that L1 lacks ("unrestricted guest", EPT)
 * fails the case.
 */
#define _GNU_SOURCE
#include <string.h>

#include "test_util.h"
#include "kvm_util.h"
#include "processor.h"
#include "vmx.h"

#define L2_PAGE			0x8000		/* L2-physical address of the page */
#define L2_SEG			0x0800		/* real-mode segment of the page */
#define L2_SP			0x0ff0		/* stack offset in the page */
#define OFF_DATA16		0x100		/* real mode's store */
#define OFF_DATA32		0x104		/* protected mode's store */
#define FAULT_OFF		0x2010		/* DS offset of the unmapped read */
#define PORT			0x80

/* Exit reasons and qualifications (Appendix C, 27.2.1). */
#define REASON_ENTRY_FAIL_GUEST	(BIT(31) | 33)
#define IOQ_OUT_IMM_1(port)	(BIT(6) | (u64)(port) << 16)
#define Q_READ			BIT_ULL(0)
#define Q_GLA_VALID		BIT_ULL(7)
#define Q_TRANSLATED		BIT_ULL(8)
#define Q_ADV			GENMASK_ULL(11, 9)
/* Bits 11:9 without paging: user-mode, read/write, executable (Table 27-7). */
#define Q_ADV_UNPAGED		(BIT_ULL(9) | BIT_ULL(10))

#define CR0_ET			BIT_ULL(4)
#define CR0_NE			BIT_ULL(5)

/* Segment access rights (24.4.1). */
#define AR_CODE16		0x9b	/* P, S, execute/read accessed */
#define AR_DATA16		0x93	/* P, S, read/write accessed */
#define AR_DATA16_DPL3		0xf3
#define AR_CODE32		0xc09b	/* and G, D/B */
#define AR_DATA32		0xc093
#define AR_TSS_BUSY		0x8b
#define AR_UNUSABLE		0x10000

/* Registers (SDM Table 27-3). */
enum { RAX, RCX, RDX, RBX, RSP, RBP, RSI, RDI };

/* Set by the host before L1 runs. */
struct nvmx_env {
	bool strict;		/* the header's: no known stock deviation here */
	u64 root;		/* guest-physical address of the EPT PML4 */
	u64 page;		/* L1's linear address of L2's page */
};

struct nvmx_env nvmx_env;

#include "nvmx_selftest.h"
#include "nvmx_ept.h"

/*
 * L2's code, from ug_code (the start of its page).  Real mode: ug_rm
 * (computes, OUT, VMCALL), ug_rm_simple (VMCALL with AX = 55H), ug_rm_fault
 * (reads DS:2010H).  Protected mode: ug_pm.
 */
asm(".pushsection .text\n"
	".balign 16\n"
	"ug_code:\n\t"
	".code16\n"
	"ug_rm:\n\t"
	"mov $0x1234, %ax\n\t"
	"mov $0x0101, %bx\n\t"
	"add %bx, %ax\n\t"
	"mov $5, %cx\n"
	"1:\tadd %cx, %bx\n\t"
	"loop 1b\n\t"
	"push %ax\n\t"
	"pop %dx\n\t"
	"mov %ax, " NVMX_XSTR(OFF_DATA16) "\n\t"
	"mov %cs, %si\n"
	"ug_rm_out:\n\t"
	"out %al, $" NVMX_XSTR(PORT) "\n\t"
	"mov %sp, %di\n"
	"ug_rm_vmcall:\n\t"
	"vmcall\n\t"
	"hlt\n"
	"ug_rm_simple:\n\t"
	"mov $0x55, %ax\n"
	"ug_rm_simple_vmcall:\n\t"
	"vmcall\n\t"
	"hlt\n"
	"ug_rm_fault:\n\t"
	"mov $" NVMX_XSTR(FAULT_OFF) ", %bx\n"
	"ug_rm_fault_insn:\n\t"
	"mov (%bx), %ax\n\t"
	"vmcall\n\t"
	"hlt\n\t"
	".code32\n"
	"ug_pm:\n\t"
	"mov $0x12345678, %eax\n\t"
	"lea 0x11111111(%eax), %ebx\n\t"
	"mov %ebx, " NVMX_XSTR(L2_PAGE) " + " NVMX_XSTR(OFF_DATA32) "\n\t"
	"mov %cr0, %ecx\n\t"
	"push %eax\n\t"
	"pop %esi\n\t"
	"mov %esp, %edi\n"
	"ug_pm_vmcall:\n\t"
	"vmcall\n\t"
	"hlt\n\t"
	".code64\n"
	"ug_code_end:\n\t"
	".popsection\n");

/* ---------------------------------------------------------------------- */
/* L1.                                                                      */

/* Offset of @label in L2's page. */
#define OFF(label)		(ASM_LABEL(label) - ASM_LABEL(ug_code))

static u64 low32(int reg)
{
	return (u32)nvmx_gpr_out[reg];
}

/*
 * Controls for a 32-bit (not IA-32e) L2 with "unrestricted guest" (@ug)
 * and EPT (@ept), guest IA32_EFER 0 if it can be loaded.
 */
static bool ug_begin(bool ug, bool ept)
{
	u32 sec = 0;

	if (ept) {
		if (!nvmx_need_ept_walk())
			return false;
		sec |= SECONDARY_EXEC_ENABLE_EPT;
		vmwrite(EPT_POINTER, nvmx_eptp(nvmx_env.root, false));
	}
	if (ug) {
		if (!nvmx_need_ctls2(SECONDARY_EXEC_UNRESTRICTED_GUEST,
				     "unrestricted guest allowed (PROCBASED_CTLS2[39])"))
			return false;
		sec |= SECONDARY_EXEC_UNRESTRICTED_GUEST;
	}
	vmwrite(SECONDARY_VM_EXEC_CONTROL,
		vmreadz(SECONDARY_VM_EXEC_CONTROL) | sec);
	vmwrite(VM_ENTRY_CONTROLS,
		vmreadz(VM_ENTRY_CONTROLS) & ~VM_ENTRY_IA32E_MODE);
	if (ctl_update(VM_ENTRY_CONTROLS, MSR_IA32_VMX_ENTRY_CTLS,
		       VM_ENTRY_LOAD_IA32_EFER, 0))
		vmwrite(GUEST_IA32_EFER, 0);
	vmwrite(GUEST_CR4, rdmsr(MSR_IA32_VMX_CR4_FIXED0));
	vmwrite(GUEST_RFLAGS, 2);
	memset(nvmx_gpr_in, 0, sizeof(nvmx_gpr_in));
	*(u32 *)(nvmx_env.page + OFF_DATA16) = 0;
	*(u32 *)(nvmx_env.page + OFF_DATA32) = 0;
	return true;
}

/* Segment register @i (0 ES, 1 CS, 2 SS, 3 DS, 4 FS, 5 GS, 6 LDTR, 7 TR). */
static void seg(int i, u16 sel, u64 base, u32 limit, u32 ar)
{
	vmwrite(GUEST_ES_SELECTOR + 2 * i, sel);
	vmwrite(GUEST_ES_BASE + 2 * i, base);
	vmwrite(GUEST_ES_LIMIT + 2 * i, limit);
	vmwrite(GUEST_ES_AR_BYTES + 2 * i, ar);
}

/* Real mode at @ip of segment 0800H, SS:SP 0800H:0FF0H. */
static void real_mode_state(u64 ip)
{
	int i;

	for (i = 0; i < 6; i++)
		seg(i, L2_SEG, L2_PAGE, 0xffff, i == 1 ? AR_CODE16 : AR_DATA16);
	seg(6, 0, 0, 0xffff, AR_UNUSABLE);
	seg(7, 0, 0, 0xffff, AR_TSS_BUSY);
	vmwrite(GUEST_GDTR_BASE, 0);
	vmwrite(GUEST_GDTR_LIMIT, 0xffff);
	vmwrite(GUEST_IDTR_BASE, 0);
	vmwrite(GUEST_IDTR_LIMIT, 0x3ff);
	vmwrite(GUEST_CR0, CR0_ET | CR0_NE);
	vmwrite(GUEST_RIP, ip);
	vmwrite(GUEST_RSP, L2_SP);
}

/* Flat 32-bit protected mode without paging at @eip. */
static void protected_mode_state(u64 eip)
{
	int i;

	for (i = 0; i < 6; i++)
		seg(i, i == 1 ? 0x08 : 0x10, 0, 0xffffffff,
		    i == 1 ? AR_CODE32 : AR_DATA32);
	seg(6, 0, 0, 0xffff, AR_UNUSABLE);
	seg(7, 0x18, 0, 0x67, AR_TSS_BUSY);
	vmwrite(GUEST_CR0, X86_CR0_PE | CR0_ET | CR0_NE);
	vmwrite(GUEST_RIP, eip);
	vmwrite(GUEST_RSP, L2_PAGE + L2_SP);
}

static void real_mode(void)
{
	if (!ug_begin(true, true))
		return;
	if (!ctl_update(CPU_BASED_VM_EXEC_CONTROL, MSR_IA32_VMX_PROCBASED_CTLS,
			CPU_BASED_UNCOND_IO_EXITING, CPU_BASED_USE_IO_BITMAPS)) {
		report("unconditional I/O exiting allowed (PROCBASED_CTLS[24])",
		       1, 0, "A.3.2");
		return;
	}
	real_mode_state(OFF(ug_rm));
	if (!l2_launch() || !expect_exit(EXIT_REASON_IO_INSTRUCTION))
		return;
	CHECK(EXIT_QUALIFICATION, IOQ_OUT_IMM_1(PORT), "27.2.1 (Table 27-5)");
	CHECK(VM_EXIT_INSTRUCTION_LEN, 2, "27.2.5");
	CHECK(GUEST_RIP, OFF(ug_rm_out), "27.3.3");
	report("L2's EAX", 0x1335, low32(RAX), "real-mode ADD");
	report("L2's EBX", 0x110, low32(RBX), "real-mode LOOP");
	report("L2's ECX", 0, low32(RCX), "real-mode LOOP");
	report("L2's EDX", 0x1335, low32(RDX), "real-mode PUSH, POP");
	report("L2's ESI (CS)", L2_SEG, low32(RSI), "real-mode MOV from CS");

	if (!nvmx_l2_resume(true) || !nvmx_vmcall_at(OFF(ug_rm_vmcall)))
		return;
	report("L2's EDI (SP)", L2_SP, low32(RDI), "real-mode PUSH, POP");
	CHECK(GUEST_RSP, L2_SP, "27.3.3");
	CHECK(GUEST_CS_SELECTOR, L2_SEG, "27.3.2");
	CHECK(GUEST_CS_BASE, L2_PAGE, "27.3.2");
	report("GUEST_CR0.PE and PG", 0,
	       vmreadz(GUEST_CR0) & (X86_CR0_PE | X86_CR0_PG), "27.3.1");
	report("L2's store at DS:100H (L2-physical 8100H)", 0x1335,
	       *(u16 *)(nvmx_env.page + OFF_DATA16), "28.2 (CR0.PG = 0)");
}

static void real_mode_cs_data_type(void)
{
	if (!ug_begin(true, true))
		return;
	real_mode_state(OFF(ug_rm_simple));
	seg(1, L2_SEG, L2_PAGE, 0xffff, AR_DATA16);
	if (!l2_launch() || !nvmx_vmcall_at(OFF(ug_rm_simple_vmcall)))
		return;
	report("L2's EAX", 0x55, low32(RAX), "26.3.1.2 (CS type 3)");
}

static void real_mode_ept_violation(void)
{
	u64 lin = L2_PAGE + FAULT_OFF;
	u64 qual = Q_READ | Q_GLA_VALID | Q_TRANSLATED, got;

	if (!ug_begin(true, true))
		return;
	real_mode_state(OFF(ug_rm_fault));
	if (!l2_launch() || !expect_exit(EXIT_REASON_EPT_VIOLATION))
		return;
	got = vmreadz(EXIT_QUALIFICATION);
	if (nvmx_ept_vpid_cap() & EPT_CAP_ADV_INFO)
		qual |= Q_ADV_UNPAGED;
	else
		got &= ~Q_ADV;
	report("EXIT_QUALIFICATION", qual, got, "27.2.1 (Table 27-7)");
	CHECK(GUEST_PHYSICAL_ADDRESS, lin, "27.2.1");
	CHECK(GUEST_LINEAR_ADDRESS, lin, "27.2.1");
	CHECK(GUEST_RIP, OFF(ug_rm_fault_insn), "27.3.3");
}

static void unpaged_protected_mode(void)
{
	if (!ug_begin(true, true))
		return;
	protected_mode_state(L2_PAGE + OFF(ug_pm));
	if (!l2_launch() || !nvmx_vmcall_at(L2_PAGE + OFF(ug_pm_vmcall)))
		return;
	report("L2's EAX", 0x12345678, low32(RAX), "MOV");
	report("L2's EBX", 0x23456789, low32(RBX), "LEA");
	report("L2's ECX (CR0)", X86_CR0_PE | CR0_ET | CR0_NE, low32(RCX),
	       "26.3.2.1 (CR0 loaded from the guest-state area)");
	report("L2's ESI", 0x12345678, low32(RSI), "PUSH, POP");
	report("L2's EDI (ESP)", L2_PAGE + L2_SP, low32(RDI), "PUSH, POP");
	report("GUEST_CR0.PE and PG", X86_CR0_PE,
	       vmreadz(GUEST_CR0) & (X86_CR0_PE | X86_CR0_PG), "27.3.1");
	report("L2's store at 8104H", 0x23456789,
	       *(u32 *)(nvmx_env.page + OFF_DATA32), "28.2 (CR0.PG = 0)");
}

/* A VM-entry failure for invalid guest state: exit 33, qualification 0. */
static void expect_guest_state_failure(const char *sdm)
{
	if (!l2_launch())
		return;
	CHECK(VM_EXIT_REASON, REASON_ENTRY_FAIL_GUEST, sdm);
	CHECK(EXIT_QUALIFICATION, 0, "26.8");
}

static void pe0_without_ug(void)
{
	if (!ug_begin(false, true))
		return;
	real_mode_state(OFF(ug_rm_simple));
	expect_guest_state_failure("26.3.1.1 (CR0.PE = 0 without unrestricted guest)");
}

static void pg_without_pe(void)
{
	if (!ug_begin(true, true))
		return;
	real_mode_state(OFF(ug_rm_simple));
	vmwrite(GUEST_CR0, X86_CR0_PG | CR0_ET | CR0_NE);
	expect_guest_state_failure("26.3.1.1 (CR0.PG = 1 requires PE = 1)");
}

/*
 * CS a data segment (DPL 0), so that the only rule SS breaks is the one
 * "unrestricted guest" adds: SS.DPL = 0 when CR0.PE = 0 (SS.DPL = RPL = 3
 * would do without it).
 */
static void real_mode_ss_dpl3(void)
{
	if (!ug_begin(true, true))
		return;
	real_mode_state(OFF(ug_rm_simple));
	seg(1, L2_SEG, L2_PAGE, 0xffff, AR_DATA16);
	seg(2, L2_SEG | 3, L2_PAGE, 0xffff, AR_DATA16_DPL3);
	expect_guest_state_failure("26.3.1.2 (SS.DPL with CR0.PE = 0)");
}

static void ug_without_ept(void)
{
	if (!ug_begin(true, false))
		return;
	real_mode_state(OFF(ug_rm_simple));
	nvmx_expect_launch_vmfail("VMLAUNCH, unrestricted guest without EPT (-:flags:error)",
				  0);
}

static const struct nvmx_case cases[] = {
	{ "real_mode", real_mode },
	{ "real_mode_cs_data_type", real_mode_cs_data_type },
	{ "real_mode_ept_violation", real_mode_ept_violation },
	{ "unpaged_protected_mode", unpaged_protected_mode },
	{ "pe0_without_ug", pe0_without_ug },
	{ "pg_without_pe", pg_without_pe },
	{ "real_mode_ss_dpl3", real_mode_ss_dpl3 },
	{ "ug_without_ept", ug_without_ept },
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
	struct nvmx_ept ept;
	struct kvm_vm *vm;
	u64 code = ASM_LABEL(ug_code), len = ASM_LABEL(ug_code_end) - code;
	vm_vaddr_t page;

	vm = nvmx_host_create_table(&vcpu, cases, ARRAY_SIZE(cases));
	nvmx_host_print_caps(vcpu);
	page = vm_vaddr_alloc_page(vm);
	TEST_ASSERT(len < OFF_DATA16, "L2's code too long");
	memcpy(addr_gva2hva(vm, page), (void *)code, len);
	nvmx_ept_init(&ept, vm);
	nvmx_ept_map(&ept, L2_PAGE, addr_gva2gpa(vm, page), EPTE_RWX);
	nvmx_env.root = ept.gpa[0];
	nvmx_env.page = page;
	return nvmx_host_run(vm, vcpu, nvmx_host_case_message);
}
