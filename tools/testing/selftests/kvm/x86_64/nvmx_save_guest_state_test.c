// SPDX-License-Identifier: GPL-2.0-only
/*
 * nvmx_save_guest_state_test: what a VM exit from L2 saves into vmcs12.
 *
 * L2 puts distinctive values into its registers, segment registers,
 * descriptor-table registers, CR3, DR7 and MSRs and then exits; L1 VMREADs
 * the guest-state area and checks every field against what the SDM says the
 * exit saves: Intel SDM Vol. 3C 27.3 "Saving Guest State" (27.3.1 control
 * and debug registers and MSRs, 27.3.2 segment and descriptor-table
 * registers, 27.3.3 RIP/RSP/RFLAGS, 27.3.4 activity and interruptibility
 * state), 27.1 for what state is in effect when the exit commences.
 *
 * Section numbers are those of the SDM editions that number the VMX chapters
 * 24 (VMCS) to 27 (VM exits); newer editions add one to the chapter.
 *
 * Each case is one row of cases[]: an L1 function that sets up vmcs12, runs
 * L2 and checks.  A mismatch is printed as "case: field: expected, got (SDM
 * section)".  A case whose VMX capability is missing is reported as a skip
 * with the reason, never as a pass.
 */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>

#include "test_util.h"
#include "kvm_util.h"
#include "processor.h"
#include "vmx.h"
#include "apic.h"

#define EXIT_REASON_EXTERNAL_INTERRUPT_NR	1
#define EXIT_REASON_INTERRUPT_WINDOW_NR		7
#define EXIT_REASON_NMI_WINDOW_NR		8
#define EXIT_REASON_HLT_NR			12

#define APIC_LVTT			0x320
#define APIC_TMICT			0x380
#define APIC_TDCR			0x3e0
#define APIC_LVT_MASKED			BIT(16)
#define NVMX_TIMER_VECTOR		0xec

/* Interruptibility state, SDM 24.4.2 Table 24-3. */
#define NVMX_BLOCK_STI			BIT(0)
#define NVMX_BLOCK_MOV_SS		BIT(1)
#define NVMX_ACTIVITY_ACTIVE		0
#define NVMX_ACTIVITY_HLT		1
#define NVMX_INTR_VALID			BIT(31)

/* Values L2 writes: each one differs from L1's and from its neighbours. */
#define L2_RFLAGS	0x247ed7	/* ID AC NT IOPL=3 OF DF IF SF ZF AF PF CF */
#define L2_RSP		0x00007ffe12345678ull
#define L2_FS_BASE	0xffff800012345678ull
#define L2_GS_BASE	0x00007fff87654000ull
#define L2_SYSENTER_CS	0xabcd
#define L2_SYSENTER_ESP	0xffff80000badf00dull
#define L2_SYSENTER_EIP	0x00007fffdeadbeefull
#define L2_PAT		0x0007050100070406ull
#define L2_DR7		0xd5d50700ull	/* LE GE, RW/LEN fields, no enables */

/* Sentinels L1 leaves in vmcs12 fields that an exit must not overwrite. */
#define SENTINEL_PAT		0x0606060606060606ull
#define SENTINEL_EFER		0x0000000000000d01ull
#define SENTINEL_DR7		0x0000000000000455ull
#define SENTINEL_DEBUGCTL	0x0000000000000002ull
#define SENTINEL_PERF_GLOBAL	0x0000000700000003ull
#define SENTINEL_TIMER		0x12345678
#define SENTINEL_INTR_STATUS	0x2051
#define SENTINEL_PML_INDEX	0x01a5
#define SENTINEL_BNDCFGS	0x00007fff12345001ull

/* The BNDCFGS controls, SDM 24.8.1 and 24.7.1; vmx.h has no name for them. */
#define NVMX_ENTRY_LOAD_BNDCFGS	BIT(16)
#define NVMX_EXIT_CLEAR_BNDCFGS	BIT(23)

/* Selectors in L2's own GDT (l2_gdt), see setup_l2_gdt(). */
#define SEL_CS		0x30
#define SEL_ES		0x38
#define SEL_SS		0x40
#define SEL_DS		0x48
#define SEL_FS		0x50
#define SEL_GS		0x58
#define SEL_LDT		0x60
#define SEL_TSS		0x70
#define L2_GDT_LIMIT	0x7f
#define L2_IDT_LIMIT	0xabf

/* Set by the host before L1 runs. */
struct nvmx_env {
	u64 pml4_copy_gpa;	/* a copy of L1's PML4 page, for L2's CR3 */
	bool strict;		/* known stock deviations fail instead of XFAIL */
};

struct nvmx_env nvmx_env;

#include "nvmx_selftest.h"

struct nvmx_dtr nvmx_l2_gdtr;
struct nvmx_dtr nvmx_l2_idtr;
u64 nvmx_l2_cr3;

static u64 l2_gdt[512] __aligned(4096);
static u64 l2_idt[512] __aligned(4096);

/*
 * L2 bodies.  Each ends in VMCALL, which exits unconditionally (25.1.2), so
 * the saved RIP is the VMCALL's own address (27.3.3): the *_vmcall labels.
 */
asm(".pushsection .text\n"
	"l2_gprs:\n\t"
	"push $" NVMX_XSTR(L2_RFLAGS) "\n\t"
	"popfq\n\t"
	"not %rax\n\t"
	"not %rcx\n\t"
	"not %rdx\n\t"
	"not %rbx\n\t"
	"not %rbp\n\t"
	"not %rsi\n\t"
	"not %rdi\n\t"
	"not %r8\n\t"
	"not %r9\n\t"
	"not %r10\n\t"
	"not %r11\n\t"
	"not %r12\n\t"
	"not %r13\n\t"
	"not %r14\n\t"
	"not %r15\n\t"
	"movabs $" NVMX_XSTR(L2_RSP) ", %rsp\n"
	"l2_gprs_vmcall:\n\t"
	"vmcall\n\t"
	"ud2\n\t"
	".popsection\n");

/*
 * Load every segment register, LDTR and TR from L2's own GDT, then GDTR,
 * IDTR and CR3.  CS is reloaded with a far return.
 */
asm(".pushsection .text\n"
	"l2_segments:\n\t"
	"lgdt nvmx_l2_gdtr(%rip)\n\t"
	"pushq $" NVMX_XSTR(SEL_CS) "\n\t"
	"lea 1f(%rip), %rax\n\t"
	"push %rax\n\t"
	"lretq\n"
	"1:\tmov $" NVMX_XSTR(SEL_ES) ", %eax\n\t"
	"mov %eax, %es\n\t"
	"mov $" NVMX_XSTR(SEL_SS) ", %eax\n\t"
	"mov %eax, %ss\n\t"
	"mov $" NVMX_XSTR(SEL_DS) ", %eax\n\t"
	"mov %eax, %ds\n\t"
	"mov $" NVMX_XSTR(SEL_FS) ", %eax\n\t"
	"mov %eax, %fs\n\t"
	"mov $" NVMX_XSTR(SEL_GS) ", %eax\n\t"
	"mov %eax, %gs\n\t"
	"mov $0xc0000100, %ecx\n\t"
	"mov $0x12345678, %eax\n\t"
	"mov $0xffff8000, %edx\n\t"
	"wrmsr\n\t"
	"mov $0xc0000101, %ecx\n\t"
	"mov $0x87654000, %eax\n\t"
	"mov $0x00007fff, %edx\n\t"
	"wrmsr\n\t"
	"mov $" NVMX_XSTR(SEL_LDT) ", %eax\n\t"
	"lldt %ax\n\t"
	"mov $" NVMX_XSTR(SEL_TSS) ", %eax\n\t"
	"ltr %ax\n\t"
	"lidt nvmx_l2_idtr(%rip)\n\t"
	"mov nvmx_l2_cr3(%rip), %rax\n\t"
	"mov %rax, %cr3\n"
	"l2_segments_vmcall:\n\t"
	"vmcall\n"
	"l2_segments_again:\n\t"
	"vmcall\n\t"
	"ud2\n\t"
	".popsection\n");

/*
 * SYSENTER MSRs, EFER (SCE set, NXE cleared: L1's page tables use no XD
 * bit), PAT, IA32_DEBUGCTL (cleared; it is the one value every CPU and KVM
 * accept) and DR7.  The MSR bitmap is all zeros, so none of these WRMSRs
 * exits to L1 (25.1.3).
 */
asm(".pushsection .text\n"
	"l2_msrs:\n\t"
	"mov $0x174, %ecx\n\t"
	"mov $" NVMX_XSTR(L2_SYSENTER_CS) ", %eax\n\t"
	"xor %edx, %edx\n\t"
	"wrmsr\n\t"
	"mov $0x175, %ecx\n\t"
	"mov $0x0badf00d, %eax\n\t"
	"mov $0xffff8000, %edx\n\t"
	"wrmsr\n\t"
	"mov $0x176, %ecx\n\t"
	"mov $0xdeadbeef, %eax\n\t"
	"mov $0x00007fff, %edx\n\t"
	"wrmsr\n\t"
	"mov $0xc0000080, %ecx\n\t"
	"rdmsr\n\t"
	"or $1, %eax\n\t"
	"and $~0x800, %eax\n\t"
	"wrmsr\n\t"
	"mov $0x277, %ecx\n\t"
	"mov $0x00070406, %eax\n\t"
	"mov $0x00070501, %edx\n\t"
	"wrmsr\n\t"
	"mov $0x1d9, %ecx\n\t"
	"xor %eax, %eax\n\t"
	"xor %edx, %edx\n\t"
	"wrmsr\n\t"
	"mov $" NVMX_XSTR(L2_DR7) ", %eax\n\t"
	"mov %rax, %dr7\n"
	"l2_msrs_vmcall:\n\t"
	"vmcall\n\t"
	"ud2\n\t"
	".popsection\n");

/* Reads IA32_DEBUGCTL into RBX and exits, writing nothing. */
asm(".pushsection .text\n"
	"l2_rd_debugctl:\n\t"
	"mov $0x1d9, %ecx\n\t"
	"rdmsr\n\t"
	"shl $32, %rdx\n\t"
	"or %rax, %rdx\n\t"
	"mov %rdx, %rbx\n"
	"l2_rd_debugctl_vmcall:\n\t"
	"vmcall\n\t"
	"ud2\n\t"
	".popsection\n");

/* Exits at once. */
asm(".pushsection .text\n"
	"l2_vmcall:\n\t"
	"vmcall\n\t"
	"ud2\n\t"
	".popsection\n");

/* STI with RFLAGS.IF = 0 blocks interrupts for one instruction: the VMCALL. */
asm(".pushsection .text\n"
	"l2_sti:\n\t"
	"sti\n"
	"l2_sti_vmcall:\n\t"
	"vmcall\n\t"
	"ud2\n\t"
	".popsection\n");

/* MOV to SS blocks interrupts and debug exceptions for the VMCALL. */
asm(".pushsection .text\n"
	"l2_mov_ss:\n\t"
	"mov %ss, %eax\n\t"
	"mov %eax, %ss\n"
	"l2_mov_ss_vmcall:\n\t"
	"vmcall\n\t"
	"ud2\n\t"
	".popsection\n");

/*
 * Halt with interrupts enabled (the NOP keeps the HLT out of the STI
 * shadow) until L1's APIC timer interrupt arrives; that interrupt exits
 * (external-interrupt exiting).  The VMCALL after the HLT must not run.
 */
asm(".pushsection .text\n"
	"l2_hlt:\n\t"
	"sti\n\t"
	"nop\n\t"
	"hlt\n"
	"l2_hlt_next:\n\t"
	"vmcall\n\t"
	"ud2\n\t"
	".popsection\n");

/*
 * Entered in the HLT activity state with a window exit due: the exit comes
 * before any instruction (26.7.5, 26.7.6), so the VMCALL never runs.
 */
asm(".pushsection .text\n"
	"l2_window:\n\t"
	"vmcall\n\t"
	"ud2\n\t"
	".popsection\n");

/* ---------------------------------------------------------------------- */
/* Cases.                                                                   */

/* 27.3.3: RIP, RSP, RFLAGS; GPRs are not part of the VMCS and pass through. */
static void case_gprs_rip_rsp_rflags(void)
{
	int i;

	l2_setup(ASM_LABEL(l2_gprs));
	for (i = 0; i < 16; i++)
		nvmx_gpr_in[i] = 0x5a00000000000000ull | (u64)i << 48 |
				 0x1234567ull * (i + 1);
	if (!l2_launch() || !expect_exit(EXIT_REASON_VMCALL_NR))
		return;

	for (i = 0; i < 16; i++) {
		static const char * const name[16] = {
			"RAX", "RCX", "RDX", "RBX", "RSP", "RBP", "RSI", "RDI",
			"R8", "R9", "R10", "R11", "R12", "R13", "R14", "R15",
		};

		if (i != 4)
			report(name[i], ~nvmx_gpr_in[i], nvmx_gpr_out[i],
			       "27.5.3 (GPRs other than RSP are not changed)");
	}
	CHECK(GUEST_RIP, ASM_LABEL(l2_gprs_vmcall), "27.3.3");
	CHECK(GUEST_RSP, L2_RSP, "27.3.3");
	/* RF is saved as 0 for an instruction that exits (27.3.3). */
	CHECK(GUEST_RFLAGS, L2_RFLAGS, "27.3.3");
	CHECK(GUEST_ACTIVITY_STATE, NVMX_ACTIVITY_ACTIVE, "27.3.4");
	CHECK(GUEST_INTERRUPTIBILITY_INFO, 0, "27.3.4");
}

/*
 * A segment descriptor.  @ar is in the VMCS access-rights layout (24.4.1
 * Table 24-2): bits 7:0 are descriptor byte 5, bits 15:12 the AVL, L, D/B
 * and G bits; bits 11:8 (limit 19:16 in the descriptor) are reserved.
 */
static u64 seg_desc(u32 base, u32 limit, u32 ar)
{
	return (limit & 0xffffull) | (u64)(base & 0xffffff) << 16 |
	       (u64)(ar & 0xff) << 40 | (u64)((limit >> 16) & 0xf) << 48 |
	       (u64)((ar >> 12) & 0xf) << 52 | (u64)(base >> 24) << 56;
}

struct seg_case {
	const char *sel_name, *base_name, *limit_name, *ar_name;
	u32 sel_field, base_field, limit_field, ar_field;
	u16 sel;
	u64 desc_base;		/* base in the descriptor */
	u32 desc_limit;		/* 20-bit limit in the descriptor */
	u32 ar;
	u64 base;		/* expected saved base */
	u32 limit;		/* expected saved (byte-granular) limit */
	u32 ar_saved;		/* expected saved access rights */
};

/*
 * Distinct base, limit and attributes for every register, so that a field
 * saved from the wrong register shows.  0x4093 etc.: type 3 (read/write,
 * accessed), S, P, plus AVL (0x1000), D/B (0x4000), G (0x8000).
 */
#define SEG_FIELDS(r)							\
	"GUEST_" #r "_SELECTOR", "GUEST_" #r "_BASE", "GUEST_" #r "_LIMIT",	\
	"GUEST_" #r "_AR_BYTES", GUEST_##r##_SELECTOR, GUEST_##r##_BASE,	\
	GUEST_##r##_LIMIT, GUEST_##r##_AR_BYTES

static const struct seg_case segs[] = {
	{ SEG_FIELDS(CS), SEL_CS, 0x00543210, 0x04321, 0x309b,
	  0x00543210, 0x00004321, 0x309b },
	{ SEG_FIELDS(ES), SEL_ES, 0x12345000, 0xabcde, 0x5093,
	  0x12345000, 0x000abcde, 0x5093 },
	{ SEG_FIELDS(SS), SEL_SS, 0x00dead00, 0x54321, 0xc093,
	  0x00dead00, 0x54321fff, 0xc093 },
	{ SEG_FIELDS(DS), SEL_DS, 0x0badc000, 0x01234, 0x1093,
	  0x0badc000, 0x00001234, 0x1093 },
	{ SEG_FIELDS(FS), SEL_FS, 0x11110000, 0xfedcb, 0x4093,
	  L2_FS_BASE, 0x000fedcb, 0x4093 },
	{ SEG_FIELDS(GS), SEL_GS, 0x22220000, 0x0f0f0, 0xd093,
	  L2_GS_BASE, 0x0f0f0fff, 0xd093 },
	/* LDT: type 2, P; TSS: available 64-bit TSS (9), busy (11) once loaded. */
	{ SEG_FIELDS(LDTR), SEL_LDT, 0xffffc90000abc000ull, 0x003ff, 0x0082,
	  0xffffc90000abc000ull, 0x000003ff, 0x0082 },
	{ SEG_FIELDS(TR), SEL_TSS, 0xffffc90000def000ull, 0x02fff, 0x0089,
	  0xffffc90000def000ull, 0x00002fff, 0x008b },
};

static void setup_l2_gdt(void)
{
	struct desc_ptr gdt = get_gdt();
	unsigned int i;

	memset(l2_gdt, 0, sizeof(l2_gdt));
	/* L1's code, data and TSS descriptors, so L2 starts on a valid GDT. */
	memcpy(l2_gdt, (void *)gdt.address, 0x28);
	for (i = 0; i < ARRAY_SIZE(segs); i++) {
		const struct seg_case *s = &segs[i];

		l2_gdt[s->sel / 8] = seg_desc(s->desc_base, s->desc_limit,
					      s->ar);
		/* System descriptors are 16 bytes in IA-32e mode (3.5.2). */
		if (!(s->ar & 0x10))
			l2_gdt[s->sel / 8 + 1] = s->desc_base >> 32;
	}
	nvmx_l2_gdtr.base = (u64)l2_gdt;
	nvmx_l2_gdtr.limit = L2_GDT_LIMIT;
	nvmx_l2_idtr.base = (u64)l2_idt;
	nvmx_l2_idtr.limit = L2_IDT_LIMIT;
	/* PWT set: CR3 bit 3 is saved like every other bit (27.3.1). */
	nvmx_l2_cr3 = nvmx_env.pml4_copy_gpa | 0x8;
}

/* 27.3.1 (CR3), 27.3.2: every segment register, LDTR, TR, GDTR, IDTR. */
static void check_segments(void)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(segs); i++) {
		const struct seg_case *s = &segs[i];

		report(s->sel_name, s->sel, vmreadz(s->sel_field), "27.3.2");
		report(s->base_name, s->base, vmreadz(s->base_field), "27.3.2");
		report(s->limit_name, s->limit, vmreadz(s->limit_field),
		       "27.3.2");
		report(s->ar_name, s->ar_saved, vmreadz(s->ar_field), "27.3.2");
	}
	CHECK(GUEST_GDTR_BASE, (u64)l2_gdt, "27.3.2");
	CHECK(GUEST_GDTR_LIMIT, L2_GDT_LIMIT, "27.3.2");
	CHECK(GUEST_IDTR_BASE, (u64)l2_idt, "27.3.2");
	CHECK(GUEST_IDTR_LIMIT, L2_IDT_LIMIT, "27.3.2");
	CHECK(GUEST_CR3, nvmx_l2_cr3, "27.3.1");
}

static void case_segments(void)
{
	setup_l2_gdt();
	l2_setup(ASM_LABEL(l2_segments));
	if (!l2_launch() || !expect_exit(EXIT_REASON_VMCALL_NR))
		return;
	check_segments();
	CHECK(GUEST_RIP, ASM_LABEL(l2_segments_vmcall), "27.3.3");
}

/* What L1 does between l2_segments' two exits. */
enum between_exits {
	L1_WRITES_NOTHING,
	L1_WRITES_OTHER_FIELD,		/* one no exit saves */
	L1_WRITES_SYSENTER_CS,		/* guest state saved with the segments */
	L1_READS_SEGMENT,
	L1_CLEARS_AND_RELOADS,		/* VMCLEAR, VMPTRLD, then VMLAUNCH */
};

#define L1_SYSENTER_CS	0x5a5a

/*
 * An exit saves L2's state into vmcs12 (27.3.2) and the next VM entry
 * loads the guest state from vmcs12 (26.3.2.1, 26.3.2.2): resumed past its
 * first VMCALL, L2 exits again with its segments untouched, so the second
 * exit must save the same values, whatever L1 did in between with other
 * fields or with the VMCS as a whole (VMCLEAR and VMPTRLD of it, then
 * VMLAUNCH).  A nested VMX that keeps L2's state in its own VMCS between
 * exit and entry is caught here if it loads a stale copy.
 */
static void segments_across_resume(enum between_exits between)
{
	u64 vmcs;

	setup_l2_gdt();
	l2_setup(ASM_LABEL(l2_segments));
	if (!l2_launch() || !expect_exit(EXIT_REASON_VMCALL_NR))
		return;

	switch (between) {
	case L1_WRITES_NOTHING:
		break;
	case L1_WRITES_OTHER_FIELD:
		vmwrite(EXCEPTION_BITMAP, vmreadz(EXCEPTION_BITMAP));
		break;
	case L1_WRITES_SYSENTER_CS:
		vmwrite(GUEST_SYSENTER_CS, L1_SYSENTER_CS);
		break;
	case L1_READS_SEGMENT:
		CHECK(GUEST_TR_SELECTOR, SEL_TSS, "27.3.2");
		break;
	case L1_CLEARS_AND_RELOADS:
		/* VMCLEAR writes the VMCS to memory, VMPTRLD reads it (24.11) */
		vmcs = vmptrstz();
		report("VMCLEAR failed", 0, vmclear(vmcs), "30.3 VMCLEAR");
		report("VMPTRLD failed", 0, vmptrld(vmcs), "30.3 VMPTRLD");
		break;
	}

	nvmx_l2_continue(true);
	if (!nvmx_l2_enter(between == L1_CLEARS_AND_RELOADS) ||
	    !nvmx_exit_at(EXIT_REASON_VMCALL_NR, ASM_LABEL(l2_segments_again),
			  "27.3.3"))
		return;
	check_segments();
	if (between == L1_WRITES_SYSENTER_CS)
		CHECK(GUEST_SYSENTER_CS, L1_SYSENTER_CS, "26.3.2.1, 27.3.1");
}

static void case_segments_resume(void)
{
	segments_across_resume(L1_WRITES_NOTHING);
}

static void case_segments_resume_other_write(void)
{
	segments_across_resume(L1_WRITES_OTHER_FIELD);
}

static void case_segments_resume_sysenter_write(void)
{
	segments_across_resume(L1_WRITES_SYSENTER_CS);
}

static void case_segments_resume_read(void)
{
	segments_across_resume(L1_READS_SEGMENT);
}

static void case_segments_clear_reload(void)
{
	segments_across_resume(L1_CLEARS_AND_RELOADS);
}

/*
 * Run l2_msrs with the three "save" exit controls as given, L1's own EFER
 * and PAT reloaded by the exit (so L1 keeps them whatever L2 did), and
 * "load debug controls" clear at entry so the DR7 and IA32_DEBUGCTL fields
 * keep L1's sentinels unless the exit saves over them.
 */
static bool run_l2_msrs(bool save)
{
	u32 saves = VM_EXIT_SAVE_DEBUG_CONTROLS | VM_EXIT_SAVE_IA32_PAT |
		    VM_EXIT_SAVE_IA32_EFER;

	if (!ctl_update(VM_EXIT_CONTROLS, MSR_IA32_VMX_EXIT_CTLS,
			VM_EXIT_LOAD_IA32_EFER | VM_EXIT_LOAD_IA32_PAT |
			(save ? saves : 0), save ? 0 : saves)) {
		skip(save ? "exit controls: save/load PAT/EFER, save debug not allowed 1" :
			    "exit controls: save debug/PAT/EFER not allowed 0");
		return false;
	}
	if (!ctl_update(VM_ENTRY_CONTROLS, MSR_IA32_VMX_ENTRY_CTLS, 0,
			VM_ENTRY_LOAD_DEBUG_CONTROLS)) {
		skip("VM-entry control load debug controls not allowed 0");
		return false;
	}
	vmwrite(HOST_IA32_EFER, rdmsr(NVMX_MSR_EFER));
	vmwrite(HOST_IA32_PAT, rdmsr(NVMX_MSR_PAT));
	vmwrite(GUEST_IA32_PAT, SENTINEL_PAT);
	vmwrite(GUEST_IA32_EFER, SENTINEL_EFER);
	vmwrite(GUEST_DR7, SENTINEL_DR7);
	vmwrite(GUEST_IA32_DEBUGCTL, SENTINEL_DEBUGCTL);

	l2_setup(ASM_LABEL(l2_msrs));
	return l2_launch() && expect_exit(EXIT_REASON_VMCALL_NR);
}

static void check_sysenter(void)
{
	/* Saved regardless of any control (27.3.1). */
	CHECK(GUEST_SYSENTER_CS, L2_SYSENTER_CS, "27.3.1");
	CHECK(GUEST_SYSENTER_ESP, L2_SYSENTER_ESP, "27.3.1");
	CHECK(GUEST_SYSENTER_EIP, L2_SYSENTER_EIP, "27.3.1");
}

/* 27.3.1 with "save debug controls", "save IA32_PAT", "save IA32_EFER". */
static void case_msrs_saved(void)
{
	u64 efer = rdmsr(NVMX_MSR_EFER);

	if (!run_l2_msrs(true))
		return;
	check_sysenter();
	CHECK(GUEST_IA32_EFER, (efer | NVMX_EFER_SCE) & ~NVMX_EFER_NXE,
	      "27.3.1 (save IA32_EFER)");
	CHECK(GUEST_IA32_PAT, L2_PAT, "27.3.1 (save IA32_PAT)");
	CHECK(GUEST_DR7, L2_DR7, "27.3.1 (save debug controls)");
	CHECK(GUEST_IA32_DEBUGCTL, 0, "27.3.1 (save debug controls)");
	CHECK(GUEST_RIP, ASM_LABEL(l2_msrs_vmcall), "27.3.3");
}

/* 27.3.1: without the "save" controls those fields keep L1's values. */
static void case_msrs_not_saved(void)
{
	if (!run_l2_msrs(false))
		return;
	check_sysenter();
	CHECK(GUEST_IA32_EFER, SENTINEL_EFER, "27.3.1 (save IA32_EFER = 0)");
	CHECK(GUEST_IA32_PAT, SENTINEL_PAT, "27.3.1 (save IA32_PAT = 0)");
	CHECK(GUEST_DR7, SENTINEL_DR7, "27.3.1 (save debug controls = 0)");
	CHECK(GUEST_IA32_DEBUGCTL, SENTINEL_DEBUGCTL,
	      "27.3.1 (save debug controls = 0)");
}

/*
 * 27.3.1: "save debug controls" saves the IA32_DEBUGCTL MSR L2 has at the
 * exit, also when L2 never wrote it.  Without "load debug controls" at
 * entry L2 runs with L1's IA32_DEBUGCTL (26.3.2.1), here 0.
 */
static void case_debugctl_saved_unwritten(void)
{
	u64 l1_debugctl = rdmsr(NVMX_MSR_DEBUGCTL);

	if (!ctl_update(VM_EXIT_CONTROLS, MSR_IA32_VMX_EXIT_CTLS,
			VM_EXIT_SAVE_DEBUG_CONTROLS, 0) ||
	    !ctl_update(VM_ENTRY_CONTROLS, MSR_IA32_VMX_ENTRY_CTLS, 0,
			VM_ENTRY_LOAD_DEBUG_CONTROLS)) {
		skip("save debug controls = 1 with load debug controls = 0 not allowed");
		return;
	}
	vmwrite(GUEST_IA32_DEBUGCTL, SENTINEL_DEBUGCTL);
	l2_setup(ASM_LABEL(l2_rd_debugctl));
	if (!l2_launch() || !expect_exit(EXIT_REASON_VMCALL_NR))
		return;
	report("IA32_DEBUGCTL read by L2", l1_debugctl, nvmx_gpr_out[3],
	       "26.3.2.1 (not loaded without load debug controls)");
	report_known("GUEST_IA32_DEBUGCTL", l1_debugctl,
		     vmreadz(GUEST_IA32_DEBUGCTL), SENTINEL_DEBUGCTL,
		     "27.3.1 (save debug controls)",
		     "stock KVM saves IA32_DEBUGCTL into vmcs12 only when L2 writes it with WRMSR");
}

/*
 * Fields that an exit saves only under a control L1 left 0, or on a CPU with
 * a feature, keep what L1 wrote, and VMREAD and VMWRITE reach them:
 * IA32_PERF_GLOBAL_CTRL and the VMX-preemption timer value (their "save"
 * exit controls, 27.3.1, 27.3.4), the guest interrupt status and the PML
 * index (changed only with virtual-interrupt delivery, 29.2, and "enable
 * PML", 28.2.5), IA32_BNDCFGS on a CPU without the BNDCFGS controls
 * (27.3.1; saved, so not checked, where L1's CPU has them).  The PDPTEs
 * are undefined after this exit (27.3.4): not checked.
 */
static void case_fields_of_controls_off(void)
{
	u32 entry1 = vmx_true_msr(MSR_IA32_VMX_ENTRY_CTLS) >> 32;
	u32 exit1 = vmx_true_msr(MSR_IA32_VMX_EXIT_CTLS) >> 32;
	bool bndcfgs = (entry1 & NVMX_ENTRY_LOAD_BNDCFGS) ||
		       (exit1 & NVMX_EXIT_CLEAR_BNDCFGS);

	vmwrite(GUEST_IA32_PERF_GLOBAL_CTRL, SENTINEL_PERF_GLOBAL);
	vmwrite(VMX_PREEMPTION_TIMER_VALUE, SENTINEL_TIMER);
	vmwrite(GUEST_INTR_STATUS, SENTINEL_INTR_STATUS);
	vmwrite(GUEST_PML_INDEX, SENTINEL_PML_INDEX);
	vmwrite(GUEST_BNDCFGS, SENTINEL_BNDCFGS);
	l2_setup(ASM_LABEL(l2_vmcall));
	if (!l2_launch() || !expect_exit(EXIT_REASON_VMCALL_NR))
		return;
	CHECK(GUEST_IA32_PERF_GLOBAL_CTRL, SENTINEL_PERF_GLOBAL,
	      "27.3.1 (save IA32_PERF_GLOBAL_CTRL = 0)");
	CHECK(VMX_PREEMPTION_TIMER_VALUE, SENTINEL_TIMER,
	      "27.3.4 (save VMX-preemption timer value = 0)");
	CHECK(GUEST_INTR_STATUS, SENTINEL_INTR_STATUS,
	      "29.2 (virtual-interrupt delivery = 0)");
	CHECK(GUEST_PML_INDEX, SENTINEL_PML_INDEX, "28.2.5 (enable PML = 0)");
	if (!bndcfgs)
		CHECK(GUEST_BNDCFGS, SENTINEL_BNDCFGS,
		      "27.3.1 (no BNDCFGS controls)");
	CHECK(GUEST_RIP, ASM_LABEL(l2_vmcall), "27.3.3");
}

/* 27.3.4 with 27.1: the VMCALL ran in the STI shadow. */
static void case_blocking_by_sti(void)
{
	l2_setup(ASM_LABEL(l2_sti));
	if (!l2_launch() || !expect_exit(EXIT_REASON_VMCALL_NR))
		return;
	CHECK(GUEST_INTERRUPTIBILITY_INFO, NVMX_BLOCK_STI, "27.3.4, 27.1");
	CHECK(GUEST_RFLAGS, X86_EFLAGS_FIXED | 0x200, "27.3.3");
	CHECK(GUEST_ACTIVITY_STATE, NVMX_ACTIVITY_ACTIVE, "27.3.4");
	CHECK(GUEST_RIP, ASM_LABEL(l2_sti_vmcall), "27.3.3");
}

/* 27.3.4 with 27.1: the VMCALL ran right after MOV SS. */
static void case_blocking_by_mov_ss(void)
{
	l2_setup(ASM_LABEL(l2_mov_ss));
	if (!l2_launch() || !expect_exit(EXIT_REASON_VMCALL_NR))
		return;
	CHECK(GUEST_INTERRUPTIBILITY_INFO, NVMX_BLOCK_MOV_SS, "27.3.4, 27.1");
	CHECK(GUEST_ACTIVITY_STATE, NVMX_ACTIVITY_ACTIVE, "27.3.4");
	CHECK(GUEST_RIP, ASM_LABEL(l2_mov_ss_vmcall), "27.3.3");
}

/*
 * 27.3.4: an external interrupt that exits while L2 is halted saves the HLT
 * activity state; 27.3.3: RIP is the return address the interrupt would
 * have pushed, i.e. the instruction after HLT.  HLT exiting is off.
 */
static void case_activity_hlt(void)
{
	u32 info;

	if (!this_cpu_has(X86_FEATURE_X2APIC)) {
		skip("no x2APIC in L1's CPUID (needed for the APIC timer)");
		return;
	}
	if (!ctl_update(PIN_BASED_VM_EXEC_CONTROL, MSR_IA32_VMX_PINBASED_CTLS,
			PIN_BASED_EXT_INTR_MASK, 0) ||
	    !ctl_update(VM_EXIT_CONTROLS, MSR_IA32_VMX_EXIT_CTLS,
			VM_EXIT_ACK_INTR_ON_EXIT, 0) ||
	    !ctl_update(CPU_BASED_VM_EXEC_CONTROL,
			MSR_IA32_VMX_PROCBASED_CTLS, 0, CPU_BASED_HLT_EXITING)) {
		skip("ext-interrupt exiting, ack interrupt on exit or HLT exiting=0 not allowed");
		return;
	}
	x2apic_enable();
	x2apic_write_reg(APIC_TDCR, 0xb);	/* divide by 1 */
	x2apic_write_reg(APIC_LVTT, NVMX_TIMER_VECTOR);	/* one shot */
	l2_setup(ASM_LABEL(l2_hlt));
	/*
	 * Long enough for L2 to reach HLT under any emulator, short enough
	 * to keep the test quick; L1 keeps RFLAGS.IF = 0 throughout.
	 */
	x2apic_write_reg(APIC_TMICT, 20000000);
	if (!l2_launch())
		goto out;
	if (!expect_exit(EXIT_REASON_EXTERNAL_INTERRUPT_NR))
		goto out;
	info = vmreadz(VM_EXIT_INTR_INFO);
	report("VM_EXIT_INTR_INFO", NVMX_INTR_VALID | NVMX_TIMER_VECTOR,
	       info, "27.2.2 (acknowledge interrupt on exit)");
	CHECK(GUEST_ACTIVITY_STATE, NVMX_ACTIVITY_HLT, "27.3.4");
	CHECK(GUEST_RIP, ASM_LABEL(l2_hlt_next), "27.3.3");
	CHECK(GUEST_INTERRUPTIBILITY_INFO, 0, "27.3.4");
	CHECK(GUEST_RFLAGS, X86_EFLAGS_FIXED | 0x200, "27.3.3");
out:
	x2apic_write_reg(APIC_LVTT, APIC_LVT_MASKED);
	x2apic_write_reg(APIC_TMICT, 0);
	x2apic_write_reg(APIC_EOI, 0);
}

/*
 * 26.6.2, 26.7.5, 26.7.6: L2 enters in the HLT state with a window open; the
 * window exit wakes it right after the entry.  27.3.4: the activity state
 * saved is the one before the exit, HLT; 27.3.3: RIP is where L2 would
 * resume, the instruction it has not executed yet.
 */
static void hlt_window_case(u32 reason)
{
	vmwrite(GUEST_ACTIVITY_STATE, NVMX_ACTIVITY_HLT);
	vmwrite(GUEST_INTERRUPTIBILITY_INFO, 0);
	vmwrite(GUEST_RFLAGS, X86_EFLAGS_FIXED | 0x200);
	if (!l2_launch() || !expect_exit(reason))
		return;
	report_known("GUEST_ACTIVITY_STATE", NVMX_ACTIVITY_HLT,
		     vmreadz(GUEST_ACTIVITY_STATE), NVMX_ACTIVITY_ACTIVE,
		     "27.3.4",
		     "stock enters L2 active when a window exit is due and saves that");
	CHECK(GUEST_RIP, ASM_LABEL(l2_window), "27.3.3");
	CHECK(GUEST_RFLAGS, X86_EFLAGS_FIXED | 0x200, "27.3.3");
	CHECK(VM_EXIT_INTR_INFO, 0, "27.2.2");
	CHECK(IDT_VECTORING_INFO_FIELD, 0, "27.2.4");
}

static bool hlt_allowed(void)
{
	/* A.6: IA32_VMX_MISC bit 6, activity state HLT */
	if (rdmsr(MSR_IA32_VMX_MISC) & BIT(6))
		return true;
	skip("activity state HLT not offered (IA32_VMX_MISC[6])");
	return false;
}

static void case_hlt_intr_window(void)
{
	if (!hlt_allowed())
		return;
	if (!ctl_update(CPU_BASED_VM_EXEC_CONTROL, MSR_IA32_VMX_PROCBASED_CTLS,
			CPU_BASED_INTR_WINDOW_EXITING, 0)) {
		skip("interrupt-window exiting not offered");
		return;
	}
	l2_setup(ASM_LABEL(l2_window));
	hlt_window_case(EXIT_REASON_INTERRUPT_WINDOW_NR);
}

/* Virtual NMIs, no virtual-NMI blocking: the NMI window is open. */
static void case_hlt_nmi_window(void)
{
	if (!hlt_allowed())
		return;
	if (!ctl_update(PIN_BASED_VM_EXEC_CONTROL, MSR_IA32_VMX_PINBASED_CTLS,
			PIN_BASED_NMI_EXITING | PIN_BASED_VIRTUAL_NMIS, 0) ||
	    !ctl_update(CPU_BASED_VM_EXEC_CONTROL, MSR_IA32_VMX_PROCBASED_CTLS,
			CPU_BASED_NMI_WINDOW_EXITING, 0)) {
		skip("virtual NMIs or NMI-window exiting not offered");
		return;
	}
	l2_setup(ASM_LABEL(l2_window));
	hlt_window_case(EXIT_REASON_NMI_WINDOW_NR);
}

/* 26.7.6 before 26.7.5: with both windows open, the NMI window's exit. */
static void case_hlt_both_windows(void)
{
	if (!hlt_allowed())
		return;
	if (!ctl_update(PIN_BASED_VM_EXEC_CONTROL, MSR_IA32_VMX_PINBASED_CTLS,
			PIN_BASED_NMI_EXITING | PIN_BASED_VIRTUAL_NMIS, 0) ||
	    !ctl_update(CPU_BASED_VM_EXEC_CONTROL, MSR_IA32_VMX_PROCBASED_CTLS,
			CPU_BASED_NMI_WINDOW_EXITING |
			CPU_BASED_INTR_WINDOW_EXITING, 0)) {
		skip("virtual NMIs or window exiting not offered");
		return;
	}
	l2_setup(ASM_LABEL(l2_window));
	hlt_window_case(EXIT_REASON_NMI_WINDOW_NR);
}

static const struct nvmx_case cases[] = {
	{ "gprs_rip_rsp_rflags", case_gprs_rip_rsp_rflags },
	{ "segments_dtrs_cr3", case_segments },
	{ "segments_resume", case_segments_resume },
	{ "segments_resume_other_write", case_segments_resume_other_write },
	{ "segments_resume_sysenter_write",
	  case_segments_resume_sysenter_write },
	{ "segments_resume_read", case_segments_resume_read },
	{ "segments_clear_reload", case_segments_clear_reload },
	{ "msrs_dr7_saved", case_msrs_saved },
	{ "msrs_dr7_not_saved", case_msrs_not_saved },
	{ "debugctl_saved_unwritten", case_debugctl_saved_unwritten },
	{ "fields_of_controls_off", case_fields_of_controls_off },
	{ "blocking_by_sti", case_blocking_by_sti },
	{ "blocking_by_mov_ss", case_blocking_by_mov_ss },
	{ "hlt_intr_window", case_hlt_intr_window },
	{ "hlt_nmi_window", case_hlt_nmi_window },
	{ "hlt_both_windows", case_hlt_both_windows },
	/* Last: it arms L1's APIC timer. */
	{ "activity_hlt", case_activity_hlt },
};

static void run_case(int i)
{
	/*
	 * The MSR bitmap prepare_vmcs() points at is all zeros: with
	 * "use MSR bitmaps" no RDMSR/WRMSR of L2 exits (25.1.3).
	 */
	GUEST_ASSERT(ctl_update(CPU_BASED_VM_EXEC_CONTROL,
				MSR_IA32_VMX_PROCBASED_CTLS,
				CPU_BASED_USE_MSR_BITMAPS, 0));
	cases[i].run();
}

void l1_guest_code(struct vmx_pages *vmx)
{
	GUEST_ASSERT(prepare_for_vmx_operation(vmx));
	nvmx_l1_run_cases(vmx, ARRAY_SIZE(cases), run_case);
}

/* ---------------------------------------------------------------------- */
/* Host.                                                                    */

static void host_message(struct ucall *uc)
{
	nvmx_host_message(uc, cases[uc->args[1]].name);
}

int main(int argc, char *argv[])
{
	struct kvm_vcpu *vcpu;
	vm_vaddr_t pml4_copy;
	struct kvm_vm *vm;

	vm = nvmx_host_create(&vcpu, ARRAY_SIZE(cases), NULL);

	/* Allocated last: the copy must include every mapping L1 has. */
	pml4_copy = vm_vaddr_alloc_page(vm);
	memcpy(addr_gva2hva(vm, pml4_copy), addr_gpa2hva(vm, vm->pgd),
	       getpagesize());
	nvmx_env.pml4_copy_gpa = addr_gva2gpa(vm, pml4_copy);
	return nvmx_host_run(vm, vcpu, host_message);
}
