// SPDX-License-Identifier: GPL-2.0-only
/*
 * nvmx_exit_info_test: the exit information L1 reads after an L2->L1 exit.
 *
 * L1 runs one small L2 body per case.  Each body is assembly with a known
 * encoding: some register setup, the instruction (or the event) under test
 * at label <body>_insn, and a VMCALL at <body>_next that closes the case.
 * L1 sets the controls that request the exit, launches L2 and compares what
 * VMREAD returns with what the SDM (Vol. 3C) prescribes:
 *
 *   exit reason                          Appendix C
 *   exit qualification, guest-linear     27.2.1 (cleared for the exits that
 *     address                              do not define it)
 *   VM-exit interruption information     27.2.2 (valid only for exceptions,
 *     and error code                       NMIs and acknowledged interrupts)
 *   IDT-vectoring information            27.2.4 (valid bit clear: no exit
 *                                          here interrupts event delivery)
 *   VM-exit instruction length and       27.2.5 (where defined; undefined
 *     instruction information              bits are masked off)
 *   guest RIP                            27.3.3
 *
 * L1 then moves L2 past the instruction (by the reported instruction length
 * where the exit is instruction-based), resumes it and expects the closing
 * VMCALL at <body>_next: the exit left L2 resumable and nothing else exited
 * in between.  A mismatch is printed with the case, the field, the expected
 * and actual value and the SDM section.  A case whose feature the VMX
 * capability MSRs or CPUID do not offer is reported as a skip, with why.
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <string.h>

#include "test_util.h"
#include "kvm_util.h"
#include "processor.h"
#include "vmx.h"
#include "apic.h"
#include "kselftest.h"

/* Event-information fields: VM-exit interruption information (27.2.2). */
#define EV_VALID		BIT(31)
#define EV_ERRCODE		BIT(11)
#define EV_EXT_INTR		(0u << 8)
#define EV_NMI			(2u << 8)
#define EV_HW_EXC		(3u << 8)
#define EV_SW_EXC		(6u << 8)

/* VM-exit instruction information (27.2.5): fields and their positions. */
#define II_SCALE(s)		((uint32_t)(s) << 0)
#define II_REG1(r)		((uint32_t)(r) << 3)
#define II_ASIZE32		BIT(7)
#define II_ASIZE64		(2u << 7)
#define II_REGFORM		BIT(10)
#define II_SEG(s)		((uint32_t)(s) << 15)
#define II_INDEX(r)		((uint32_t)(r) << 18)
#define II_NOINDEX		BIT(22)
#define II_BASE(r)		((uint32_t)(r) << 23)
#define II_NOBASE		BIT(27)
#define II_REG2(r)		((uint32_t)(r) << 28)
#define II_M_SCALE		0x00000003u
#define II_M_REG1		0x00000078u
#define II_M_ASIZE		0x00000380u
#define II_M_SEG		0x00038000u
#define II_M_INDEX		0x003c0000u
#define II_M_BASE		0x07800000u
#define II_M_REG2		0xf0000000u

enum { SEG_ES, SEG_CS, SEG_SS, SEG_DS, SEG_FS, SEG_GS };
enum { RAX, RCX, RDX, RBX, RSP, RBP, RSI, RDI, R8, R9, R10, R11, R12, R13 };

/* Which table of 27.2.5 gives the instruction-information format. */
enum ii_format {
	II_UNDEFINED,	/* the field is undefined for this exit */
	II_INS,		/* INS */
	II_OUTS,	/* OUTS */
	II_VMX_MEM,	/* VMCLEAR, VMPTRLD, VMPTRST, VMXON */
	II_VMREAD_WRITE,/* VMREAD, VMWRITE */
	II_INV,		/* INVEPT, INVVPID */
};

/* Exit qualification for control-register accesses (27.2.1). */
#define CRQ(cr, type, gpr)	((cr) | ((type) << 4) | ((uint64_t)(gpr) << 8))
#define CRQ_MOV_TO		0
#define CRQ_MOV_FROM		1
#define CRQ_CLTS		2
#define CRQ_LMSW		3
#define CRQ_LMSW_MEM		BIT(6)
#define CRQ_LMSW_DATA(d)	((uint64_t)(d) << 16)
/* Exit qualification for MOV DR (27.2.1). */
#define DRQ(dr, from, gpr)	((dr) | ((from) << 4) | ((uint64_t)(gpr) << 8))
/* Exit qualification for I/O instructions (27.2.1). */
#define IOQ(size, in, port)	(((size) - 1) | ((in) << 3) | ((uint64_t)(port) << 16))
#define IOQ_STRING		BIT(4)
#define IOQ_REP			BIT(5)
#define IOQ_IMM			BIT(6)

#define CR0_TS			BIT(3)
#define CR4_PCE			BIT(8)
#define CR4_OSXSAVE		BIT(18)

/* Case flags. */
#define F_NO_EXIT		BIT(0)	/* L1 must not see an exit before the VMCALL */
#define F_STOP			BIT(1)	/* L2 cannot be resumed (VM-entry failure, shutdown) */
#define F_ENTRY_FAIL		BIT(2)	/* the exit is a VM-entry failure (26.8) */
#define F_RIP_AFTER		BIT(3)	/* asynchronous event: RIP is after the insn */
#define F_NO_RIP		BIT(4)	/* the saved RIP is not architecturally fixed */
#define F_RESUME_AT_EXIT	BIT(5)	/* resume where L2 was, not past the insn */
#define F_GLA			BIT(6)	/* the guest-linear address is defined */
#define F_NO_QUAL		BIT(7)	/* qualification checked by a separate case */

#define L1_VECTOR		0x40	/* the fixed self-IPI L2 sends to L1's APIC */
#define PF_ADDR			0x700000000123	/* not mapped in L1's page tables */
#define PF_W			BIT(1)	/* page-fault error code: write */
#define CR2_MARKER		0xc2c2c2c2c000ull
#define LMSW_DATA		0xa53b	/* TS set, so it differs from the shadow */
#define PORT_EXIT		0x4443
#define PORT_PASS		0x4444	/* bitmap bit clear: L0 hands it to the host */
#define PORT_PASS_DATA		0x5a
#define MSR_OUTSIDE_RANGES	0x2000
#define KGSBASE_VALUE		0x5a5a5000
#define SPIN			"mov $2000, %r8d\n1:\tpause\n\tdec %r8d\n\tjnz 1b"

struct exit_case {
	const char *name;
	const char *sdm;		/* where the exit and its information come from */
	char *l2, *insn, *next;		/* L2 entry, instruction under test, closing VMCALL */
	uint32_t pin, proc, exit_ctls;	/* controls L1 sets on top of prepare_vmcs() */
	uint32_t exc_bitmap;
	uint64_t rflags;		/* L2's RFLAGS at entry; 0 means 2 (IF=0) */
	uint16_t io_exit[2];		/* ports whose I/O-bitmap bit is set */
	uint32_t msr_rd_exit[2];	/* MSRs whose read bit is set in the MSR bitmap */
	uint32_t msr_wr_exit[2];	/* MSRs whose write bit is set */
	const char *(*need)(void);	/* NULL, or why this case cannot run here */
	const char *emu_bug;		/* skipped on the Bochs host, for this reason */
	void (*setup)(const struct exit_case *c);
	void (*on_exit)(const struct exit_case *c);	/* after the exit is checked */
	void (*check)(const struct exit_case *c);	/* after the closing VMCALL */
	uint32_t flags;
	uint32_t reason;
	uint64_t qual;
	uint32_t len;			/* VM-exit instruction length; 0: undefined */
	enum ii_format ii_fmt;
	uint32_t ii;
	uint32_t intr;			/* interruption information; 0: must be invalid */
	uint32_t intr_err;
	uint64_t gla;
};

/* L1 <-> host messages (ucall SYNC), args[0] is one of these. */
enum { MSG_FAIL, MSG_NOTE, MSG_END };

/* Written by the host before L1 starts. */
static bool on_bochs;
static uint8_t *io_bitmap_a, *io_bitmap_b;
static uint64_t io_bitmap_a_gpa, io_bitmap_b_gpa;
static struct vmx_msr_entry *msr_area;
static uint64_t msr_area_gpa;

/*
 * Shared by L1 and L2 (same page tables, no EPT in L1).  Not static when
 * the L2 assembly names them.
 */
static uint8_t l2_stack[8192] __aligned(16);
uint8_t l2_scratch[256] __aligned(64);
const uint16_t l2_lmsw_word = LMSW_DATA;
uint8_t l2_io_byte;
uint32_t l2_msr_lo;
uint64_t l2_icr_nmi;
static struct {
	uint64_t count, vector, error_code, cr2, rip, resume;
} l2_fault;
static int l1_intr_count, l1_intr_vector;	/* asm "memory" clobbers reload them */

/*
 * The L2 bodies.  Every label is global so that the table can name it; the
 * bodies never return: they end in VMCALL (the closing exit) and UD2.
 */
#define L2_BODY(n, setup, insn)						\
	".global " #n "\n" #n ":\n\t" setup "\n"			\
	".global " #n "_insn\n" #n "_insn:\n\t" insn "\n"		\
	".global " #n "_next\n" #n "_next:\n\tvmcall\n\tud2\n"
#define L2_DECL(n)	extern char n[], n##_insn[], n##_next[]
#define L2(n)		.l2 = n, .insn = n##_insn, .next = n##_next

asm(".pushsection .text\n"
	/* Instructions that exit unconditionally or by a control (25.1). */
	L2_BODY(l2_cpuid, "xor %eax, %eax\n\txor %ecx, %ecx", "cpuid")
	L2_BODY(l2_hlt, "", "hlt")
	L2_BODY(l2_invlpg, "movabs $0x7f0012345000, %rax", "invlpg 0x10(%rax)")
	L2_BODY(l2_rdpmc, "xor %ecx, %ecx", "rdpmc")
	L2_BODY(l2_rdtsc, "", "rdtsc")
	L2_BODY(l2_vmcall, "", "vmcall")
	L2_BODY(l2_pause, "", "pause")
	L2_BODY(l2_xsetbv, "xor %ecx, %ecx\n\txgetbv", "xsetbv")
	L2_BODY(l2_monitor, "lea l2_scratch(%rip), %rax\n\txor %ecx, %ecx\n\txor %edx, %edx",
		"monitor %rax, %ecx, %edx")
	L2_BODY(l2_mwait, "xor %eax, %eax\n\txor %ecx, %ecx", "mwait %eax, %ecx")
	/* Control-register and debug-register accesses. */
	L2_BODY(l2_mov_to_cr0, "mov %cr0, %rcx\n\tor $8, %rcx", "mov %rcx, %cr0")
	L2_BODY(l2_clts, "", "clts")
	L2_BODY(l2_lmsw_reg, "mov $" __stringify(LMSW_DATA) ", %edx", "lmsw %dx")
	L2_BODY(l2_lmsw_mem, "lea l2_lmsw_word(%rip), %rax", "lmsw (%rax)")
	L2_BODY(l2_mov_to_cr4, "mov %cr4, %r8\n\tor $0x100, %r8", "mov %r8, %cr4")
	L2_BODY(l2_mov_from_cr3, "", "mov %cr3, %rdx")
	L2_BODY(l2_mov_to_cr3, "mov %cr3, %rbx", "mov %rbx, %cr3")
	L2_BODY(l2_mov_to_cr8, "xor %r12d, %r12d", "mov %r12, %cr8")
	L2_BODY(l2_mov_from_cr8, "", "mov %cr8, %rsi")
	L2_BODY(l2_mov_to_dr7, "mov $0x400, %ebx", "mov %rbx, %dr7")
	L2_BODY(l2_mov_from_dr6, "", "mov %dr6, %r9")
	/* I/O instructions. */
	L2_BODY(l2_in_imm, "", "in $0x71, %al")
	L2_BODY(l2_out_imm, "", "out %al, $0x80")
	L2_BODY(l2_out_dx, "mov $" __stringify(PORT_EXIT) ", %edx", "out %eax, (%dx)")
	L2_BODY(l2_inw_4443, "mov $" __stringify(PORT_EXIT) ", %edx", "in (%dx), %ax")
	L2_BODY(l2_outb_9000, "mov $0x9000, %edx", "out %al, (%dx)")
	L2_BODY(l2_inw_7fff, "mov $0x7fff, %edx", "in (%dx), %ax")
	L2_BODY(l2_inb_pass, "mov $" __stringify(PORT_PASS) ", %edx\n\txor %eax, %eax",
		"in (%dx), %al\n\tmov %al, l2_io_byte(%rip)")
	L2_BODY(l2_insb, "mov $" __stringify(PORT_EXIT) ", %edx\n\tlea l2_scratch(%rip), %rdi",
		"insb (%dx), %es:(%rdi)")
	L2_BODY(l2_rep_outsw,
		"mov $" __stringify(PORT_EXIT) ", %edx\n\t"
		"lea l2_scratch(%rip), %rsi\n\tmov $2, %ecx",
		"rep outsw (%rsi), (%dx)")
	L2_BODY(l2_outsb_a32, "mov $" __stringify(PORT_EXIT) ", %edx\n\tlea l2_scratch(%rip), %rsi",
		"addr32 outsb (%esi), (%dx)")
	/* RDMSR and WRMSR. */
	L2_BODY(l2_rdmsr_174, "mov $0x174, %ecx", "rdmsr")
	L2_BODY(l2_rdmsr_174_pass, "mov $0x174, %ecx",
		"rdmsr\n\tmov %eax, l2_msr_lo(%rip)")
	L2_BODY(l2_wrmsr_kgs, "mov $0xc0000102, %ecx\n\txor %eax, %eax\n\txor %edx, %edx",
		"wrmsr")
	L2_BODY(l2_wrmsr_kgs_pass,
		"mov $0xc0000102, %ecx\n\t"
		"mov $" __stringify(KGSBASE_VALUE) ", %eax\n\txor %edx, %edx",
		"wrmsr")
	L2_BODY(l2_rdmsr_2000, "mov $" __stringify(MSR_OUTSIDE_RANGES) ", %ecx", "rdmsr")
	/* Exceptions. */
	L2_BODY(l2_ud2, "", "ud2")
	L2_BODY(l2_int3, "", "int3")
	L2_BODY(l2_div0, "xor %ecx, %ecx\n\txor %edx, %edx\n\tmov $1, %eax", "div %ecx")
	L2_BODY(l2_gp_sel, "mov $0xfffb, %eax", "mov %eax, %ds")
	L2_BODY(l2_gp_noncanon, "movabs $0x8000000000000000, %rax", "mov (%rax), %rbx")
	L2_BODY(l2_pf_write, "movabs $" __stringify(PF_ADDR) ", %rax", "movb $1, (%rax)")
	L2_BODY(l2_pf_read, "movabs $" __stringify(PF_ADDR) ", %rax", "mov (%rax), %bl")
	/* VMX instructions (25.1.2: they exit unconditionally). */
	L2_BODY(l2_vmxon, "lea l2_scratch(%rip), %rax", "vmxon 0x8(%rax)")
	L2_BODY(l2_vmclear, "lea l2_scratch(%rip), %rax\n\txor %ecx, %ecx",
		"vmclear (%rax,%rcx,8)")
	L2_BODY(l2_vmptrld, "lea l2_scratch+64(%rip), %rbp", "vmptrld -8(%rbp)")
	L2_BODY(l2_vmptrst_a32, "lea l2_scratch(%rip), %rax", "vmptrst 0x10(%eax)")
	L2_BODY(l2_vmptrst_fs, "lea l2_scratch(%rip), %r13", "vmptrst %fs:0(%r13)")
	L2_BODY(l2_vmptrst_rip, "", "vmptrst l2_scratch(%rip)")
	L2_BODY(l2_vmread_reg, "xor %r10d, %r10d", "vmread %r10, %r13")
	L2_BODY(l2_vmread_mem, "xor %edx, %edx", "vmread %rdx, 0x20(%rsp)")
	L2_BODY(l2_vmwrite_reg, "xor %edx, %edx", "vmwrite %rcx, %rdx")
	L2_BODY(l2_vmwrite_mem, "lea l2_scratch(%rip), %rax\n\txor %esi, %esi\n\txor %ebx, %ebx",
		"vmwrite 0x40(%rax,%rsi,2), %rbx")
	L2_BODY(l2_vmlaunch, "", "vmlaunch")
	L2_BODY(l2_vmresume, "", "vmresume")
	L2_BODY(l2_vmxoff, "", "vmxoff")
	L2_BODY(l2_invept, "lea l2_scratch(%rip), %rax\n\tmov $1, %ecx", "invept (%rax), %rcx")
	L2_BODY(l2_invvpid, "lea l2_scratch(%rip), %rax\n\tmov $1, %r11d",
		"invvpid 0x18(%rax), %r11")
	/* Events. */
	L2_BODY(l2_nop, "", "nop")
	L2_BODY(l2_sti_nop, "sti\n\tnop", "nop")
	L2_BODY(l2_self_ipi,
		"mov $0x83f, %ecx\n\tmov $" __stringify(L1_VECTOR) ", %eax\n\txor %edx, %edx",
		"wrmsr\n\t" SPIN)
	L2_BODY(l2_self_nmi,
		"mov l2_icr_nmi(%rip), %rax\n\tmov %rax, %rdx\n\tshr $32, %rdx\n\tmov $0x830, %ecx",
		"wrmsr\n\t" SPIN)
	".popsection");

L2_DECL(l2_cpuid);
L2_DECL(l2_hlt);
L2_DECL(l2_invlpg);
L2_DECL(l2_rdpmc);
L2_DECL(l2_rdtsc);
L2_DECL(l2_vmcall);
L2_DECL(l2_pause);
L2_DECL(l2_xsetbv);
L2_DECL(l2_monitor);
L2_DECL(l2_mwait);
L2_DECL(l2_mov_to_cr0);
L2_DECL(l2_clts);
L2_DECL(l2_lmsw_reg);
L2_DECL(l2_lmsw_mem);
L2_DECL(l2_mov_to_cr4);
L2_DECL(l2_mov_from_cr3);
L2_DECL(l2_mov_to_cr3);
L2_DECL(l2_mov_to_cr8);
L2_DECL(l2_mov_from_cr8);
L2_DECL(l2_mov_to_dr7);
L2_DECL(l2_mov_from_dr6);
L2_DECL(l2_in_imm);
L2_DECL(l2_out_imm);
L2_DECL(l2_out_dx);
L2_DECL(l2_inw_4443);
L2_DECL(l2_outb_9000);
L2_DECL(l2_inw_7fff);
L2_DECL(l2_inb_pass);
L2_DECL(l2_insb);
L2_DECL(l2_rep_outsw);
L2_DECL(l2_outsb_a32);
L2_DECL(l2_rdmsr_174);
L2_DECL(l2_rdmsr_174_pass);
L2_DECL(l2_wrmsr_kgs);
L2_DECL(l2_wrmsr_kgs_pass);
L2_DECL(l2_rdmsr_2000);
L2_DECL(l2_ud2);
L2_DECL(l2_int3);
L2_DECL(l2_div0);
L2_DECL(l2_gp_sel);
L2_DECL(l2_gp_noncanon);
L2_DECL(l2_pf_write);
L2_DECL(l2_pf_read);
L2_DECL(l2_vmxon);
L2_DECL(l2_vmclear);
L2_DECL(l2_vmptrld);
L2_DECL(l2_vmptrst_a32);
L2_DECL(l2_vmptrst_fs);
L2_DECL(l2_vmptrst_rip);
L2_DECL(l2_vmread_reg);
L2_DECL(l2_vmread_mem);
L2_DECL(l2_vmwrite_reg);
L2_DECL(l2_vmwrite_mem);
L2_DECL(l2_vmlaunch);
L2_DECL(l2_vmresume);
L2_DECL(l2_vmxoff);
L2_DECL(l2_invept);
L2_DECL(l2_invvpid);
L2_DECL(l2_nop);
L2_DECL(l2_sti_nop);
L2_DECL(l2_self_ipi);
L2_DECL(l2_self_nmi);

/* ---- L1 ---- */

static struct vmx_pages *vmx;
static uint64_t cap_basic, cap_pin, cap_proc, cap_proc2, cap_exit, cap_misc, cap_ept_vpid;
static int cur_case, cur_failures;

static void expect_eq(const char *field, uint64_t expected, uint64_t actual,
		      const char *sdm)
{
	if (expected == actual)
		return;
	cur_failures++;
	ucall(UCALL_SYNC, 6, MSG_FAIL, cur_case, field, expected, actual, sdm);
}

static void note(const char *what, uint64_t value)
{
	ucall(UCALL_SYNC, 4, MSG_NOTE, cur_case, what, value);
}

static bool allowed1(uint64_t cap, uint32_t bits)
{
	return ((cap >> 32) & bits) == bits;
}

static void set_ctl(uint64_t field, uint32_t bits)
{
	vmwrite(field, vmreadz(field) | bits);
}

static void clear_ctl(uint64_t field, uint32_t bits)
{
	vmwrite(field, vmreadz(field) & ~bits);
}

/* Bits of 27.2.5's format that are defined for this operand form. */
static uint32_t ii_defined(enum ii_format fmt, uint32_t ii)
{
	uint32_t m;

	if (fmt == II_INS)
		return II_M_ASIZE;	/* the segment is undefined for INS */
	if (fmt == II_OUTS)
		return II_M_ASIZE | II_M_SEG;
	if (fmt == II_VMREAD_WRITE && (ii & II_REGFORM))
		return II_M_REG1 | II_REGFORM | II_M_REG2;

	/* A memory operand: scale/index and base only when present. */
	m = II_M_ASIZE | II_REGFORM | II_M_SEG | II_NOINDEX | II_NOBASE;
	if (!(ii & II_NOINDEX))
		m |= II_M_SCALE | II_M_INDEX;
	if (!(ii & II_NOBASE))
		m |= II_M_BASE;
	if (fmt != II_VMX_MEM)
		m |= II_M_REG2;
	return m;
}

static void set_bitmap_bit(uint8_t *bitmap, uint32_t bit)
{
	bitmap[bit / 8] |= 1 << (bit % 8);
}

/* MSR bitmap layout (24.6.9): read low, read high, write low, write high. */
static void set_msr_exit(uint32_t msr, bool write)
{
	uint32_t base = (write ? 2048 : 0) + (msr >= 0xc0000000 ? 1024 : 0);

	set_bitmap_bit((uint8_t *)vmx->msr + base, msr & 0x1fff);
}

static uint64_t read_cr2(void)
{
	uint64_t cr2;

	asm volatile("mov %%cr2, %0" : "=r"(cr2));
	return cr2;
}

static void l2_fault_handler(struct ex_regs *regs)
{
	l2_fault.count++;
	l2_fault.vector = regs->vector;
	l2_fault.error_code = regs->error_code;
	l2_fault.cr2 = read_cr2();
	l2_fault.rip = regs->rip;
	regs->rip = l2_fault.resume;
}

static void l1_intr_handler(struct ex_regs *regs)
{
	l1_intr_count++;
	l1_intr_vector = regs->vector;
	x2apic_write_reg(APIC_EOI, 0);
}

/* Open a short interrupt window in L1 (IF=0 otherwise): bounded. */
static void l1_take_interrupts(void)
{
	int i;

	for (i = 0; i < 100 && !l1_intr_count; i++)
		/* The interrupt frame must not land in the red zone. */
		asm volatile("sub $128, %%rsp\n\tsti\n\tnop\n\tcli\n\tadd $128, %%rsp"
			     : : : "memory");
}

/* ---- requirements ---- */

static const char *need_xsave(void)
{
	return this_cpu_has(X86_FEATURE_XSAVE) ? NULL : "CPUID.01H:ECX.XSAVE[26] is 0";
}

static const char *need_monitor(void)
{
	return this_cpu_has(X86_FEATURE_MWAIT) ? NULL : "CPUID.01H:ECX.MONITOR[3] is 0";
}

static const char *need_x2apic(void)
{
	return this_cpu_has(X86_FEATURE_X2APIC) ? NULL : "CPUID.01H:ECX.x2APIC[21] is 0";
}

static const char *need_invept(void)
{
	if (!allowed1(cap_proc, CPU_BASED_ACTIVATE_SECONDARY_CONTROLS) ||
	    !allowed1(cap_proc2, SECONDARY_EXEC_ENABLE_EPT) || !(cap_ept_vpid & BIT_ULL(20)))
		return "no INVEPT (IA32_VMX_PROCBASED_CTLS2[33] or IA32_VMX_EPT_VPID_CAP[20] is 0)";
	return NULL;
}

static const char *need_invvpid(void)
{
	if (!allowed1(cap_proc, CPU_BASED_ACTIVATE_SECONDARY_CONTROLS) ||
	    !allowed1(cap_proc2, SECONDARY_EXEC_ENABLE_VPID) || !(cap_ept_vpid & BIT_ULL(32)))
		return "no INVVPID (IA32_VMX_PROCBASED_CTLS2[37] or IA32_VMX_EPT_VPID_CAP[32] 0)";
	return NULL;
}

static const char *need_vmwrite_ro(void)
{
	return cap_misc & MSR_IA32_VMX_MISC_VMWRITE_SHADOW_RO_FIELDS ? NULL :
		"IA32_VMX_MISC[29] is 0: VM-exit information fields are not writable";
}

/* ---- per-case setup and checks ---- */

static void own_cr0_ts(uint64_t shadow_ts)
{
	vmwrite(CR0_GUEST_HOST_MASK, CR0_TS);
	vmwrite(CR0_READ_SHADOW, (get_cr0() & ~CR0_TS) | shadow_ts);
}

/* MOV to CR0 and LMSW exit when they change an owned bit (25.1.3). */
static void setup_cr0_ts_clear(const struct exit_case *c)
{
	own_cr0_ts(0);
}

/* CLTS exits when TS is owned and its shadow is 1 (25.1.3). */
static void setup_cr0_ts_set(const struct exit_case *c)
{
	own_cr0_ts(CR0_TS);
}

static void setup_cr4_pce(const struct exit_case *c)
{
	vmwrite(CR4_GUEST_HOST_MASK, CR4_PCE);
	vmwrite(CR4_READ_SHADOW, get_cr4() & ~CR4_PCE);
}

static void check_pass_in(const struct exit_case *c)
{
	expect_eq("byte IN returned (answered by L0's host, not L1)", PORT_PASS_DATA,
		  l2_io_byte, "25.1.3");
}

static void check_pass_rdmsr(const struct exit_case *c)
{
	expect_eq("IA32_SYSENTER_CS[31:0] read by L2", (uint32_t)rdmsr(MSR_IA32_SYSENTER_CS),
		  l2_msr_lo, "25.1.3");
}

static uint64_t saved_kgsbase;

static void setup_save_kgsbase(const struct exit_case *c)
{
	saved_kgsbase = rdmsr(MSR_KERNEL_GS_BASE);
}

/* VM exits do not load IA32_KERNEL_GS_BASE: L1 sees what L2 wrote. */
static void check_pass_wrmsr(const struct exit_case *c)
{
	expect_eq("IA32_KERNEL_GS_BASE written by L2", KGSBASE_VALUE,
		  rdmsr(MSR_KERNEL_GS_BASE), "25.1.3");
	wrmsr(MSR_KERNEL_GS_BASE, saved_kgsbase);
}

static void pfec(uint32_t mask, uint32_t match)
{
	vmwrite(PAGE_FAULT_ERROR_CODE_MASK, mask);
	vmwrite(PAGE_FAULT_ERROR_CODE_MATCH, match);
	memset(&l2_fault, 0, sizeof(l2_fault));
	asm volatile("mov %0, %%cr2" : : "r"(CR2_MARKER) : "memory");
}

static void setup_pfec_w_w(const struct exit_case *c)
{
	pfec(PF_W, PF_W);
	l2_fault.resume = (uint64_t)c->next;
}

static void setup_pfec_w_0(const struct exit_case *c)
{
	pfec(PF_W, 0);
	l2_fault.resume = (uint64_t)c->next;
}

/* A page fault that causes a VM exit does not update CR2 (27.1). */
static void pf_exit_keeps_cr2(const struct exit_case *c)
{
	expect_eq("CR2 after a #PF that exited", CR2_MARKER, read_cr2(), "27.1");
	expect_eq("#PF deliveries to L2", 0, l2_fault.count, "25.2");
}

static void check_pf_delivered(const struct exit_case *c)
{
	expect_eq("#PF deliveries to L2", 1, l2_fault.count, "25.2");
	expect_eq("vector delivered to L2", PF_VECTOR, l2_fault.vector, "25.2");
	expect_eq("error code delivered to L2", 0, l2_fault.error_code, "25.2");
	expect_eq("CR2 seen by L2's handler", PF_ADDR, l2_fault.cr2, "25.2");
	expect_eq("faulting RIP seen by L2's handler", (uint64_t)c->insn, l2_fault.rip, "25.2");
}

static void clear_intr_window(const struct exit_case *c)
{
	clear_ctl(CPU_BASED_VM_EXEC_CONTROL, CPU_BASED_INTR_WINDOW_EXITING);
}

static void clear_nmi_window(const struct exit_case *c)
{
	clear_ctl(CPU_BASED_VM_EXEC_CONTROL, CPU_BASED_NMI_WINDOW_EXITING);
}

static void setup_intr_count(const struct exit_case *c)
{
	l1_intr_count = 0;
	l1_intr_vector = 0;
}

/* Acknowledged on exit (27.2.2): in service, not pending; L1 must EOI. */
static void extint_acked(const struct exit_case *c)
{
	x2apic_write_reg(APIC_EOI, 0);
	l1_take_interrupts();
	expect_eq("deliveries to L1 after an acknowledged exit", 0, l1_intr_count, "27.1");
}

/* Not acknowledged: the interrupt stays pending and reaches L1 (27.1). */
static void extint_pending(const struct exit_case *c)
{
	l1_take_interrupts();
	expect_eq("deliveries to L1 after an unacknowledged exit", 1, l1_intr_count, "27.1");
	expect_eq("vector delivered to L1", L1_VECTOR, l1_intr_vector, "27.1");
}

/* The NMI exit leaves L1 blocking NMIs (27.1) until an IRET (6.7.1). */
static void nmi_unblock(const struct exit_case *c)
{
	asm volatile("sub $128, %%rsp\n\t"	/* keep the red zone */
		     "mov %%ss, %%ecx\n\t"
		     "mov %%rsp, %%rax\n\t"
		     "push %%rcx\n\t"
		     "push %%rax\n\t"
		     "pushfq\n\t"
		     "mov %%cs, %%ecx\n\t"
		     "push %%rcx\n\t"
		     "lea 1f(%%rip), %%rcx\n\t"
		     "push %%rcx\n\t"
		     "iretq\n"
		     "1:\tadd $128, %%rsp" : : : "rax", "rcx", "memory");
}

/*
 * prepare_vmcs() gives L2 a GDT limit of 0xffff; the GDT is one page, so
 * make selector 0xfff8 lie beyond the limit: #GP(selector) (MOV to DS).
 */
static void setup_gdt_one_page(const struct exit_case *c)
{
	vmwrite(GUEST_GDTR_LIMIT, PAGE_SIZE - 1);
}

static void setup_no_idt(const struct exit_case *c)
{
	vmwrite(GUEST_IDTR_LIMIT, 0);
}

static void setup_bad_cr3(const struct exit_case *c)
{
	vmwrite(GUEST_CR3, vmreadz(GUEST_CR3) | BIT_ULL(52));
}

static void setup_bad_link(const struct exit_case *c)
{
	vmwrite(VMCS_LINK_POINTER, 0x1001);
}

static void msr_load(int i, uint32_t index, uint32_t reserved, uint64_t value)
{
	msr_area[i].index = index;
	msr_area[i].reserved = reserved;
	msr_area[i].value = value;
}

/* 26.4: an entry with bits 63:32 set fails; the qualification is its 1-based index. */
static void setup_msr_load_2nd_bad(const struct exit_case *c)
{
	msr_load(0, MSR_IA32_SYSENTER_ESP, 0, rdmsr(MSR_IA32_SYSENTER_ESP));
	msr_load(1, MSR_IA32_SYSENTER_EIP, 1, rdmsr(MSR_IA32_SYSENTER_EIP));
	msr_load(2, MSR_IA32_SYSENTER_CS, 0, rdmsr(MSR_IA32_SYSENTER_CS));
	vmwrite(VM_ENTRY_MSR_LOAD_ADDR, msr_area_gpa);
	vmwrite(VM_ENTRY_MSR_LOAD_COUNT, 3);
}

/* 26.4: IA32_FS_BASE may not be loaded from the MSR-load area. */
static void setup_msr_load_fs_base(const struct exit_case *c)
{
	msr_load(0, MSR_FS_BASE, 0, rdmsr(MSR_FS_BASE));
	vmwrite(VM_ENTRY_MSR_LOAD_ADDR, msr_area_gpa);
	vmwrite(VM_ENTRY_MSR_LOAD_COUNT, 1);
}

static const struct {
	uint64_t field;
	const char *name;
	uint64_t seed;
} exit_info_seeds[] = {
	{ VM_EXIT_INTR_INFO, "VM-exit interruption information", 0x00000b0e },
	{ VM_EXIT_INTR_ERROR_CODE, "VM-exit interruption error code", 0x1234 },
	{ IDT_VECTORING_INFO_FIELD, "IDT-vectoring information", 0x00000306 },
	{ IDT_VECTORING_ERROR_CODE, "IDT-vectoring error code", 0x5678 },
	{ VM_EXIT_INSTRUCTION_LEN, "VM-exit instruction length", 7 },
	{ VMX_INSTRUCTION_INFO, "VM-exit instruction information", 0x13579bdf },
	{ GUEST_LINEAR_ADDRESS, "guest-linear address", 0xfeed000 },
};

#define ENTRY_INJECT_UD		(EV_VALID | EV_HW_EXC | UD_VECTOR)

static void setup_seed_exit_info(const struct exit_case *c)
{
	int i;

	for (i = 0; i < ARRAY_SIZE(exit_info_seeds); i++)
		vmwrite(exit_info_seeds[i].field, exit_info_seeds[i].seed);
	vmwrite(VM_ENTRY_INTR_INFO_FIELD, ENTRY_INJECT_UD);
	setup_bad_link(c);
}

/* 26.8: a failed entry writes only the reason and qualification. */
static void check_seeded_exit_info(const struct exit_case *c)
{
	int i;

	for (i = 0; i < ARRAY_SIZE(exit_info_seeds); i++)
		expect_eq(exit_info_seeds[i].name, exit_info_seeds[i].seed,
			  vmreadz(exit_info_seeds[i].field), "26.8");
	expect_eq("VM-entry interruption information (valid bit kept)", ENTRY_INJECT_UD,
		  vmreadz(VM_ENTRY_INTR_INFO_FIELD), "26.8");
}

/*
 * Exit information L1 wrote (IA32_VMX_MISC[29]) that names an exception
 * exit, with an event that was being delivered and an instruction error.
 */
#define WRITTEN_GP		(EV_VALID | EV_HW_EXC | EV_ERRCODE | GP_VECTOR)
#define WRITTEN_INSN_ERROR	7

static void setup_write_exit_info(const struct exit_case *c)
{
	vmwrite(VM_EXIT_REASON, EXIT_REASON_EXCEPTION_NMI);
	vmwrite(EXIT_QUALIFICATION, 0x1234);
	vmwrite(VM_EXIT_INTR_INFO, WRITTEN_GP);
	vmwrite(VM_EXIT_INTR_ERROR_CODE, 0x18);
	vmwrite(IDT_VECTORING_INFO_FIELD, WRITTEN_GP);
	vmwrite(IDT_VECTORING_ERROR_CODE, 0x10);
	vmwrite(VM_EXIT_INSTRUCTION_LEN, 7);
	vmwrite(VM_INSTRUCTION_ERROR, WRITTEN_INSN_ERROR);
}

/*
 * VM entry neither checks nor loads exit information (26): no event is
 * delivered to L2 from it (the table checks the RIP), the exit writes its
 * own, and the VM-instruction error, written only by VMfailValid (30.2),
 * keeps L1's value across the entry and the exit.
 */
static void check_insn_error_kept(const struct exit_case *c)
{
	expect_eq("VM-instruction error L1 wrote", WRITTEN_INSN_ERROR,
		  vmreadz(VM_INSTRUCTION_ERROR), "30.2");
}

/* ---- the table ---- */

/*
 * Measured on Bochs 2.7 (stock and ours alike, as KVM passes the hardware
 * value on): the qualification of a register-form VMREAD/VMWRITE exit is a
 * stale displacement (0xfffffffffffffffc, 0xd8, 0x30, 0x7f310761 in one
 * boot), where 27.2.1 says 0.  Bochs's VMexit_Instruction() stores the
 * decoded displacement without looking at ModRM.mod.
 */
#define BOCHS_REG_DISPL "Bochs 2.7 stores a stale displacement as this qualification (27.2.1: 0)"

#define HW_EXC(v)	(EV_VALID | EV_HW_EXC | (v))
#define HW_EXC_EC(v)	(EV_VALID | EV_HW_EXC | EV_ERRCODE | (v))

static const struct exit_case cases[] = {
	/* 25.1.2: unconditional; 25.1.3: by control.  Qualification cleared (27.2.1). */
	{ .name = "cpuid", .sdm = "25.1.2", L2(l2_cpuid),
	  .reason = EXIT_REASON_CPUID, .len = 2 },
	{ .name = "hlt", .sdm = "25.1.3 HLT exiting", L2(l2_hlt),
	  .proc = CPU_BASED_HLT_EXITING, .reason = EXIT_REASON_HLT, .len = 1 },
	{ .name = "invlpg", .sdm = "25.1.3; 27.2.1 linear address", L2(l2_invlpg),
	  .proc = CPU_BASED_INVLPG_EXITING, .reason = EXIT_REASON_INVLPG,
	  .qual = 0x7f0012345010ull, .len = 4 },
	{ .name = "rdpmc", .sdm = "25.1.3 RDPMC exiting", L2(l2_rdpmc),
	  .proc = CPU_BASED_RDPMC_EXITING, .reason = EXIT_REASON_RDPMC, .len = 2 },
	{ .name = "rdtsc", .sdm = "25.1.3 RDTSC exiting", L2(l2_rdtsc),
	  .proc = CPU_BASED_RDTSC_EXITING, .reason = EXIT_REASON_RDTSC, .len = 2 },
	{ .name = "vmcall", .sdm = "25.1.2", L2(l2_vmcall),
	  .reason = EXIT_REASON_VMCALL, .len = 3 },
	{ .name = "pause", .sdm = "25.1.3 PAUSE exiting", L2(l2_pause),
	  .proc = CPU_BASED_PAUSE_EXITING, .reason = EXIT_REASON_PAUSE_INSTRUCTION, .len = 2 },
	{ .name = "xsetbv", .sdm = "25.1.2", L2(l2_xsetbv), .need = need_xsave,
	  .reason = EXIT_REASON_XSETBV, .len = 3 },
	{ .name = "monitor", .sdm = "25.1.3 MONITOR exiting", L2(l2_monitor),
	  .need = need_monitor, .proc = CPU_BASED_MONITOR_EXITING,
	  .reason = EXIT_REASON_MONITOR_INSTRUCTION, .len = 3 },
	/* VM entry clears address-range monitoring (VMLAUNCH operation): 0, not armed. */
	{ .name = "mwait", .sdm = "25.1.3 MWAIT exiting; 27.2.1", L2(l2_mwait),
	  .need = need_monitor, .proc = CPU_BASED_MWAIT_EXITING,
	  .reason = EXIT_REASON_MWAIT_INSTRUCTION, .qual = 0, .len = 3 },

	/* Control-register accesses: qualification per 27.2.1 (CR access table). */
	{ .name = "mov_to_cr0", .sdm = "25.1.3; 27.2.1 CR access", L2(l2_mov_to_cr0),
	  .setup = setup_cr0_ts_clear, .reason = EXIT_REASON_CR_ACCESS,
	  .qual = CRQ(0, CRQ_MOV_TO, RCX), .len = 3 },
	{ .name = "clts", .sdm = "25.1.3; 27.2.1 CR access", L2(l2_clts),
	  .setup = setup_cr0_ts_set, .reason = EXIT_REASON_CR_ACCESS,
	  .qual = CRQ(0, CRQ_CLTS, 0), .len = 2 },
	{ .name = "lmsw_reg", .sdm = "25.1.3; 27.2.1 CR access", L2(l2_lmsw_reg),
	  .setup = setup_cr0_ts_clear, .reason = EXIT_REASON_CR_ACCESS,
	  .qual = CRQ(0, CRQ_LMSW, 0) | CRQ_LMSW_DATA(LMSW_DATA), .len = 3 },
	{ .name = "lmsw_mem", .sdm = "25.1.3; 27.2.1 CR access, guest-linear address",
	  L2(l2_lmsw_mem), .setup = setup_cr0_ts_clear, .reason = EXIT_REASON_CR_ACCESS,
	  .qual = CRQ(0, CRQ_LMSW, 0) | CRQ_LMSW_MEM | CRQ_LMSW_DATA(LMSW_DATA), .len = 3,
	  .flags = F_GLA, .gla = (uint64_t)&l2_lmsw_word },
	{ .name = "mov_to_cr4", .sdm = "25.1.3; 27.2.1 CR access", L2(l2_mov_to_cr4),
	  .setup = setup_cr4_pce, .reason = EXIT_REASON_CR_ACCESS,
	  .qual = CRQ(4, CRQ_MOV_TO, R8), .len = 4 },
	{ .name = "mov_from_cr3", .sdm = "25.1.3 CR3-store exiting", L2(l2_mov_from_cr3),
	  .proc = CPU_BASED_CR3_STORE_EXITING, .reason = EXIT_REASON_CR_ACCESS,
	  .qual = CRQ(3, CRQ_MOV_FROM, RDX), .len = 3 },
	{ .name = "mov_to_cr3", .sdm = "25.1.3 CR3-load exiting, CR3-target count 0",
	  L2(l2_mov_to_cr3), .proc = CPU_BASED_CR3_LOAD_EXITING,
	  .reason = EXIT_REASON_CR_ACCESS, .qual = CRQ(3, CRQ_MOV_TO, RBX), .len = 3 },
	{ .name = "mov_to_cr8", .sdm = "25.1.3 CR8-load exiting, no TPR shadow",
	  L2(l2_mov_to_cr8), .proc = CPU_BASED_CR8_LOAD_EXITING,
	  .reason = EXIT_REASON_CR_ACCESS, .qual = CRQ(8, CRQ_MOV_TO, R12), .len = 4 },
	{ .name = "mov_from_cr8", .sdm = "25.1.3 CR8-store exiting, no TPR shadow",
	  L2(l2_mov_from_cr8), .proc = CPU_BASED_CR8_STORE_EXITING,
	  .reason = EXIT_REASON_CR_ACCESS, .qual = CRQ(8, CRQ_MOV_FROM, RSI), .len = 4 },
	{ .name = "mov_to_dr7", .sdm = "25.1.3 MOV-DR exiting; 27.2.1 MOV DR",
	  L2(l2_mov_to_dr7), .proc = CPU_BASED_MOV_DR_EXITING,
	  .reason = EXIT_REASON_DR_ACCESS, .qual = DRQ(7, 0, RBX), .len = 3 },
	{ .name = "mov_from_dr6", .sdm = "25.1.3 MOV-DR exiting; 27.2.1 MOV DR",
	  L2(l2_mov_from_dr6), .proc = CPU_BASED_MOV_DR_EXITING,
	  .reason = EXIT_REASON_DR_ACCESS, .qual = DRQ(6, 1, R9), .len = 4 },

	/* I/O: qualification per 27.2.1 (I/O table); INS/OUTS information per 27.2.5. */
	{ .name = "in_imm8_unconditional", .sdm = "25.1.3 unconditional I/O exiting",
	  L2(l2_in_imm), .proc = CPU_BASED_UNCOND_IO_EXITING,
	  .reason = EXIT_REASON_IO_INSTRUCTION, .qual = IOQ(1, 1, 0x71) | IOQ_IMM, .len = 2 },
	{ .name = "out_imm8_unconditional", .sdm = "25.1.3 unconditional I/O exiting",
	  L2(l2_out_imm), .proc = CPU_BASED_UNCOND_IO_EXITING,
	  .reason = EXIT_REASON_IO_INSTRUCTION, .qual = IOQ(1, 0, 0x80) | IOQ_IMM, .len = 2 },
	{ .name = "out_dx_dword_unconditional", .sdm = "25.1.3 unconditional I/O exiting",
	  L2(l2_out_dx), .proc = CPU_BASED_UNCOND_IO_EXITING,
	  .reason = EXIT_REASON_IO_INSTRUCTION, .qual = IOQ(4, 0, PORT_EXIT), .len = 1 },
	{ .name = "in_word_bitmap_a_bit_set", .sdm = "25.1.3 I/O bitmaps", L2(l2_inw_4443),
	  .proc = CPU_BASED_USE_IO_BITMAPS, .io_exit = { PORT_EXIT },
	  .reason = EXIT_REASON_IO_INSTRUCTION, .qual = IOQ(2, 1, PORT_EXIT), .len = 2 },
	{ .name = "out_byte_bitmap_b_bit_set", .sdm = "25.1.3 I/O bitmaps", L2(l2_outb_9000),
	  .proc = CPU_BASED_USE_IO_BITMAPS, .io_exit = { 0x9000 },
	  .reason = EXIT_REASON_IO_INSTRUCTION, .qual = IOQ(1, 0, 0x9000), .len = 1 },
	{ .name = "in_word_spanning_a_set_bit_in_b", .sdm = "25.1.3 I/O bitmaps (any port)",
	  L2(l2_inw_7fff), .proc = CPU_BASED_USE_IO_BITMAPS, .io_exit = { 0x8000 },
	  .reason = EXIT_REASON_IO_INSTRUCTION, .qual = IOQ(2, 1, 0x7fff), .len = 2 },
	{ .name = "in_byte_bitmap_bit_clear_no_exit", .sdm = "25.1.3 I/O bitmaps",
	  L2(l2_inb_pass), .proc = CPU_BASED_USE_IO_BITMAPS, .io_exit = { PORT_EXIT },
	  .flags = F_NO_EXIT, .check = check_pass_in },
	{ .name = "insb", .sdm = "25.1.3; 27.2.1 I/O; 27.2.5 INS", L2(l2_insb),
	  .proc = CPU_BASED_UNCOND_IO_EXITING, .reason = EXIT_REASON_IO_INSTRUCTION,
	  .qual = IOQ(1, 1, PORT_EXIT) | IOQ_STRING, .len = 1,
	  .ii_fmt = II_INS, .ii = II_ASIZE64, .flags = F_GLA, .gla = (uint64_t)l2_scratch },
	{ .name = "rep_outsw", .sdm = "25.1.3; 27.2.1 I/O; 27.2.5 OUTS", L2(l2_rep_outsw),
	  .proc = CPU_BASED_UNCOND_IO_EXITING, .reason = EXIT_REASON_IO_INSTRUCTION,
	  .qual = IOQ(2, 0, PORT_EXIT) | IOQ_STRING | IOQ_REP, .len = 3,
	  .ii_fmt = II_OUTS, .ii = II_ASIZE64 | II_SEG(SEG_DS),
	  .flags = F_GLA, .gla = (uint64_t)l2_scratch },
	{ .name = "outsb_addr32", .sdm = "25.1.3; 27.2.1 I/O; 27.2.5 OUTS", L2(l2_outsb_a32),
	  .proc = CPU_BASED_UNCOND_IO_EXITING, .reason = EXIT_REASON_IO_INSTRUCTION,
	  .qual = IOQ(1, 0, PORT_EXIT) | IOQ_STRING, .len = 2,
	  .ii_fmt = II_OUTS, .ii = II_ASIZE32 | II_SEG(SEG_DS),
	  .flags = F_GLA, .gla = (uint64_t)l2_scratch },

	/* RDMSR/WRMSR (25.1.3): qualification cleared. */
	{ .name = "rdmsr_bitmap_read_bit_set", .sdm = "25.1.3 MSR bitmaps",
	  L2(l2_rdmsr_174), .proc = CPU_BASED_USE_MSR_BITMAPS,
	  .msr_rd_exit = { MSR_IA32_SYSENTER_CS }, .reason = EXIT_REASON_MSR_READ, .len = 2 },
	{ .name = "rdmsr_bitmap_read_bit_clear_no_exit", .sdm = "25.1.3 MSR bitmaps",
	  L2(l2_rdmsr_174_pass), .proc = CPU_BASED_USE_MSR_BITMAPS,
	  .msr_wr_exit = { MSR_IA32_SYSENTER_CS }, .flags = F_NO_EXIT,
	  .check = check_pass_rdmsr },
	{ .name = "wrmsr_bitmap_write_bit_set_high", .sdm = "25.1.3 MSR bitmaps",
	  L2(l2_wrmsr_kgs), .proc = CPU_BASED_USE_MSR_BITMAPS,
	  .msr_wr_exit = { MSR_KERNEL_GS_BASE }, .reason = EXIT_REASON_MSR_WRITE, .len = 2 },
	{ .name = "wrmsr_bitmap_write_bit_clear_no_exit", .sdm = "25.1.3 MSR bitmaps",
	  L2(l2_wrmsr_kgs_pass), .proc = CPU_BASED_USE_MSR_BITMAPS,
	  .msr_rd_exit = { MSR_KERNEL_GS_BASE }, .flags = F_NO_EXIT,
	  .setup = setup_save_kgsbase, .check = check_pass_wrmsr },
	{ .name = "rdmsr_outside_bitmap_ranges", .sdm = "25.1.3 MSR bitmaps (ECX range)",
	  L2(l2_rdmsr_2000), .proc = CPU_BASED_USE_MSR_BITMAPS,
	  .reason = EXIT_REASON_MSR_READ, .len = 2 },
	{ .name = "rdmsr_without_msr_bitmaps", .sdm = "25.1.3", L2(l2_rdmsr_174),
	  .reason = EXIT_REASON_MSR_READ, .len = 2 },

	/* Exceptions through the exception bitmap (25.2); information per 27.2.2. */
	{ .name = "ud2", .sdm = "25.2; 27.2.2", L2(l2_ud2), .exc_bitmap = BIT(UD_VECTOR),
	  .reason = EXIT_REASON_EXCEPTION_NMI, .intr = HW_EXC(UD_VECTOR) },
	{ .name = "int3", .sdm = "25.2; 27.2.2 software exception; 27.2.5 length",
	  L2(l2_int3), .exc_bitmap = BIT(BP_VECTOR), .reason = EXIT_REASON_EXCEPTION_NMI,
	  .len = 1, .intr = EV_VALID | EV_SW_EXC | BP_VECTOR },
	{ .name = "div_by_zero", .sdm = "25.2; 27.2.2", L2(l2_div0),
	  .exc_bitmap = BIT(DE_VECTOR), .reason = EXIT_REASON_EXCEPTION_NMI,
	  .intr = HW_EXC(DE_VECTOR) },
	{ .name = "gp_selector_error_code", .sdm = "25.2; 27.2.2 error code", L2(l2_gp_sel),
	  .setup = setup_gdt_one_page, .exc_bitmap = BIT(GP_VECTOR),
	  .reason = EXIT_REASON_EXCEPTION_NMI, .intr = HW_EXC_EC(GP_VECTOR), .intr_err = 0xfff8 },
	{ .name = "gp_noncanonical", .sdm = "25.2; 27.2.2 error code", L2(l2_gp_noncanon),
	  .exc_bitmap = BIT(GP_VECTOR), .reason = EXIT_REASON_EXCEPTION_NMI,
	  .intr = HW_EXC_EC(GP_VECTOR), .intr_err = 0 },
	{ .name = "pf_bit14_set_pfec_matches", .sdm = "25.2 PFEC mask/match; 27.2.1",
	  L2(l2_pf_write), .exc_bitmap = BIT(PF_VECTOR), .setup = setup_pfec_w_w,
	  .on_exit = pf_exit_keeps_cr2, .reason = EXIT_REASON_EXCEPTION_NMI, .qual = PF_ADDR,
	  .intr = HW_EXC_EC(PF_VECTOR), .intr_err = PF_W },
	{ .name = "pf_bit14_set_pfec_differs_to_l2", .sdm = "25.2 PFEC mask/match",
	  L2(l2_pf_read), .exc_bitmap = BIT(PF_VECTOR), .setup = setup_pfec_w_w,
	  .flags = F_NO_EXIT, .check = check_pf_delivered },
	{ .name = "pf_bit14_clear_pfec_differs", .sdm = "25.2 PFEC mask/match; 27.2.1",
	  L2(l2_pf_write), .setup = setup_pfec_w_0, .on_exit = pf_exit_keeps_cr2,
	  .reason = EXIT_REASON_EXCEPTION_NMI, .qual = PF_ADDR,
	  .intr = HW_EXC_EC(PF_VECTOR), .intr_err = PF_W },
	{ .name = "pf_bit14_clear_pfec_matches_to_l2", .sdm = "25.2 PFEC mask/match",
	  L2(l2_pf_read), .setup = setup_pfec_w_0, .flags = F_NO_EXIT,
	  .check = check_pf_delivered },

	/* VMX instructions exit unconditionally (25.1.2); information per 27.2.5. */
	{ .name = "vmxon", .sdm = "25.1.2; 27.2.1 displacement; 27.2.5", L2(l2_vmxon),
	  .reason = EXIT_REASON_VMON, .qual = 8, .len = 5, .ii_fmt = II_VMX_MEM,
	  .ii = II_ASIZE64 | II_SEG(SEG_DS) | II_NOINDEX | II_BASE(RAX) },
	{ .name = "vmclear_base_index_scale", .sdm = "25.1.2; 27.2.5", L2(l2_vmclear),
	  .reason = EXIT_REASON_VMCLEAR, .qual = 0, .len = 5, .ii_fmt = II_VMX_MEM,
	  .ii = II_SCALE(3) | II_ASIZE64 | II_SEG(SEG_DS) | II_INDEX(RCX) | II_BASE(RAX) },
	{ .name = "vmptrld_rbp_negative_disp", .sdm = "25.1.2; 27.2.1 displacement; 27.2.5",
	  L2(l2_vmptrld), .reason = EXIT_REASON_VMPTRLD, .qual = -8ull, .len = 4,
	  .ii_fmt = II_VMX_MEM, .ii = II_ASIZE64 | II_SEG(SEG_SS) | II_NOINDEX | II_BASE(RBP) },
	{ .name = "vmptrst_addr32", .sdm = "25.1.2; 27.2.5", L2(l2_vmptrst_a32),
	  .reason = EXIT_REASON_VMPTRST, .qual = 0x10, .len = 5, .ii_fmt = II_VMX_MEM,
	  .ii = II_ASIZE32 | II_SEG(SEG_DS) | II_NOINDEX | II_BASE(RAX) },
	{ .name = "vmptrst_fs_override", .sdm = "25.1.2; 27.2.5", L2(l2_vmptrst_fs),
	  .reason = EXIT_REASON_VMPTRST, .qual = 0, .len = 6, .ii_fmt = II_VMX_MEM,
	  .ii = II_ASIZE64 | II_SEG(SEG_FS) | II_NOINDEX | II_BASE(R13) },
	/* RIP-relative: displacement plus the next instruction's RIP (27.2.1). */
	{ .name = "vmptrst_rip_relative", .sdm = "25.1.2; 27.2.1 RIP-relative; 27.2.5",
	  L2(l2_vmptrst_rip), .reason = EXIT_REASON_VMPTRST, .qual = (uint64_t)l2_scratch,
	  .len = 7, .ii_fmt = II_VMX_MEM,
	  .ii = II_ASIZE64 | II_SEG(SEG_DS) | II_NOINDEX | II_NOBASE },
	{ .name = "vmread_register", .sdm = "25.1.2 (no VMCS shadowing); 27.2.5",
	  L2(l2_vmread_reg), .reason = EXIT_REASON_VMREAD, .flags = F_NO_QUAL, .len = 4,
	  .ii_fmt = II_VMREAD_WRITE, .ii = II_REG1(R13) | II_REGFORM | II_REG2(R10) },
	{ .name = "vmread_register_qualification", .sdm = "27.2.1 (no displacement: 0)",
	  L2(l2_vmread_reg), .emu_bug = BOCHS_REG_DISPL, .reason = EXIT_REASON_VMREAD,
	  .qual = 0, .len = 4 },
	{ .name = "vmread_memory", .sdm = "25.1.2 (no VMCS shadowing); 27.2.5",
	  L2(l2_vmread_mem), .reason = EXIT_REASON_VMREAD, .qual = 0x20, .len = 5,
	  .ii_fmt = II_VMREAD_WRITE,
	  .ii = II_ASIZE64 | II_SEG(SEG_SS) | II_NOINDEX | II_BASE(RSP) | II_REG2(RDX) },
	{ .name = "vmwrite_register", .sdm = "25.1.2 (no VMCS shadowing); 27.2.5",
	  L2(l2_vmwrite_reg), .reason = EXIT_REASON_VMWRITE, .flags = F_NO_QUAL, .len = 3,
	  .ii_fmt = II_VMREAD_WRITE, .ii = II_REG1(RCX) | II_REGFORM | II_REG2(RDX) },
	{ .name = "vmwrite_register_qualification", .sdm = "27.2.1 (no displacement: 0)",
	  L2(l2_vmwrite_reg), .emu_bug = BOCHS_REG_DISPL, .reason = EXIT_REASON_VMWRITE,
	  .qual = 0, .len = 3 },
	{ .name = "vmwrite_memory_index", .sdm = "25.1.2 (no VMCS shadowing); 27.2.5",
	  L2(l2_vmwrite_mem), .reason = EXIT_REASON_VMWRITE, .qual = 0x40, .len = 5,
	  .ii_fmt = II_VMREAD_WRITE, .ii = II_SCALE(1) | II_ASIZE64 | II_SEG(SEG_DS) |
					   II_INDEX(RSI) | II_BASE(RAX) | II_REG2(RBX) },
	{ .name = "vmlaunch", .sdm = "25.1.2", L2(l2_vmlaunch),
	  .reason = EXIT_REASON_VMLAUNCH, .len = 3 },
	{ .name = "vmresume", .sdm = "25.1.2", L2(l2_vmresume),
	  .reason = EXIT_REASON_VMRESUME, .len = 3 },
	{ .name = "vmxoff", .sdm = "25.1.2", L2(l2_vmxoff),
	  .reason = EXIT_REASON_VMOFF, .len = 3 },
	{ .name = "invept", .sdm = "25.1.2; 27.2.5", L2(l2_invept), .need = need_invept,
	  .reason = EXIT_REASON_INVEPT, .qual = 0, .len = 5, .ii_fmt = II_INV,
	  .ii = II_ASIZE64 | II_SEG(SEG_DS) | II_NOINDEX | II_BASE(RAX) | II_REG2(RCX) },
	{ .name = "invvpid", .sdm = "25.1.2; 27.2.1 displacement; 27.2.5", L2(l2_invvpid),
	  .need = need_invvpid, .reason = EXIT_REASON_INVVPID, .qual = 0x18, .len = 7,
	  .ii_fmt = II_INV,
	  .ii = II_ASIZE64 | II_SEG(SEG_DS) | II_NOINDEX | II_BASE(RAX) | II_REG2(R11) },

	/* Windows: the saved RIP is the next instruction to run (27.3.3). */
	{ .name = "interrupt_window_open_at_entry", .sdm = "26.7.5; 25.2", L2(l2_nop),
	  .proc = CPU_BASED_INTR_WINDOW_EXITING, .rflags = 0x202,
	  .on_exit = clear_intr_window, .flags = F_RESUME_AT_EXIT,
	  .reason = EXIT_REASON_INTERRUPT_WINDOW },
	{ .name = "interrupt_window_after_sti_shadow", .sdm = "25.2; 24.4.2 STI blocking",
	  L2(l2_sti_nop), .proc = CPU_BASED_INTR_WINDOW_EXITING,
	  .on_exit = clear_intr_window, .flags = F_RESUME_AT_EXIT,
	  .reason = EXIT_REASON_INTERRUPT_WINDOW },
	{ .name = "nmi_window_open_at_entry", .sdm = "26.7.6; 25.2", L2(l2_nop),
	  .pin = PIN_BASED_NMI_EXITING | PIN_BASED_VIRTUAL_NMIS,
	  .proc = CPU_BASED_NMI_WINDOW_EXITING, .on_exit = clear_nmi_window,
	  .flags = F_RESUME_AT_EXIT, .reason = EXIT_REASON_NMI_WINDOW },

	/* External interrupts and NMIs sent by L2 to L1's own x2APIC. */
	{ .name = "external_interrupt_acknowledged", .sdm = "25.2; 27.2.2", L2(l2_self_ipi),
	  .need = need_x2apic, .pin = PIN_BASED_EXT_INTR_MASK,
	  .exit_ctls = VM_EXIT_ACK_INTR_ON_EXIT, .proc = CPU_BASED_USE_MSR_BITMAPS,
	  .rflags = 0x202, .setup = setup_intr_count, .on_exit = extint_acked,
	  .flags = F_RIP_AFTER | F_RESUME_AT_EXIT, .reason = EXIT_REASON_EXTERNAL_INTERRUPT,
	  .intr = EV_VALID | EV_EXT_INTR | L1_VECTOR },
	{ .name = "external_interrupt_not_acknowledged", .sdm = "25.2; 27.2.2 (invalid)",
	  L2(l2_self_ipi), .need = need_x2apic, .pin = PIN_BASED_EXT_INTR_MASK,
	  .proc = CPU_BASED_USE_MSR_BITMAPS, .rflags = 0x202, .setup = setup_intr_count,
	  .on_exit = extint_pending, .flags = F_RIP_AFTER | F_RESUME_AT_EXIT,
	  .reason = EXIT_REASON_EXTERNAL_INTERRUPT, .intr = 0 },
	{ .name = "external_interrupt_l2_if_clear", .sdm = "25.4.1 event blocking; 27.2.2",
	  L2(l2_self_ipi), .need = need_x2apic, .pin = PIN_BASED_EXT_INTR_MASK,
	  .exit_ctls = VM_EXIT_ACK_INTR_ON_EXIT, .proc = CPU_BASED_USE_MSR_BITMAPS,
	  .setup = setup_intr_count, .on_exit = extint_acked,
	  .flags = F_RIP_AFTER | F_RESUME_AT_EXIT, .reason = EXIT_REASON_EXTERNAL_INTERRUPT,
	  .intr = EV_VALID | EV_EXT_INTR | L1_VECTOR },
	{ .name = "nmi", .sdm = "25.2 NMI exiting; 27.2.2", L2(l2_self_nmi),
	  .need = need_x2apic, .pin = PIN_BASED_NMI_EXITING | PIN_BASED_VIRTUAL_NMIS,
	  .proc = CPU_BASED_USE_MSR_BITMAPS, .on_exit = nmi_unblock,
	  .flags = F_RIP_AFTER | F_RESUME_AT_EXIT, .reason = EXIT_REASON_EXCEPTION_NMI,
	  .intr = EV_VALID | EV_NMI | NMI_VECTOR },

	/*
	 * Triple fault: not during event delivery (27.2.4).  The saved RIP is
	 * the return pointer of the #DF (27.3.3), which 6.15 leaves undefined.
	 */
	{ .name = "triple_fault_no_idt", .sdm = "25.2; 27.2.4", L2(l2_ud2),
	  .setup = setup_no_idt, .flags = F_STOP | F_NO_RIP,
	  .reason = EXIT_REASON_TRIPLE_FAULT },

	/* VM-entry failures after the guest-state checks (26.8). */
	{ .name = "entry_fail_guest_cr3_reserved_bits", .sdm = "26.3.1.1; 26.8",
	  L2(l2_nop), .setup = setup_bad_cr3, .flags = F_STOP | F_ENTRY_FAIL,
	  .reason = EXIT_REASON_FAILED_VMENTRY | EXIT_REASON_INVALID_STATE, .qual = 0 },
	{ .name = "entry_fail_vmcs_link_pointer", .sdm = "26.3.1.5; 26.8 (qualification 4)",
	  L2(l2_nop), .setup = setup_bad_link, .flags = F_STOP | F_ENTRY_FAIL,
	  .reason = EXIT_REASON_FAILED_VMENTRY | EXIT_REASON_INVALID_STATE, .qual = 4 },
	{ .name = "entry_fail_msr_load_entry_2_of_3", .sdm = "26.4; 26.8",
	  L2(l2_nop), .setup = setup_msr_load_2nd_bad, .flags = F_STOP | F_ENTRY_FAIL,
	  .reason = EXIT_REASON_FAILED_VMENTRY | EXIT_REASON_MSR_LOAD_FAIL, .qual = 2 },
	{ .name = "entry_fail_msr_load_fs_base", .sdm = "26.4; 26.8",
	  L2(l2_nop), .setup = setup_msr_load_fs_base, .flags = F_STOP | F_ENTRY_FAIL,
	  .reason = EXIT_REASON_FAILED_VMENTRY | EXIT_REASON_MSR_LOAD_FAIL, .qual = 1 },
	{ .name = "entry_fail_leaves_other_exit_info", .sdm = "26.8",
	  L2(l2_nop), .need = need_vmwrite_ro, .setup = setup_seed_exit_info,
	  .on_exit = check_seeded_exit_info, .flags = F_STOP | F_ENTRY_FAIL,
	  .reason = EXIT_REASON_FAILED_VMENTRY | EXIT_REASON_INVALID_STATE, .qual = 4 },
	{ .name = "entry_ignores_written_exit_info", .sdm = "26; 27.2; 30.2",
	  L2(l2_vmcall), .need = need_vmwrite_ro, .setup = setup_write_exit_info,
	  .on_exit = check_insn_error_kept, .reason = EXIT_REASON_VMCALL, .len = 3 },
};

static const char *unsupported(const struct exit_case *c)
{
	if (c->pin && !allowed1(cap_pin, c->pin))
		return "IA32_VMX_TRUE_PINBASED_CTLS does not allow a control";
	if (c->proc && !allowed1(cap_proc, c->proc))
		return "IA32_VMX_TRUE_PROCBASED_CTLS does not allow a control";
	if (c->exit_ctls && !allowed1(cap_exit, c->exit_ctls))
		return "IA32_VMX_TRUE_EXIT_CTLS does not allow a control";
	if (c->need && c->need())
		return c->need();
	return on_bochs ? c->emu_bug : NULL;
}

static void end_case(const char *skip)
{
	ucall(UCALL_SYNC, 4, MSG_END, cur_case, cur_failures, skip);
}

static void prepare_case(const struct exit_case *c)
{
	int i;

	GUEST_ASSERT(load_vmcs(vmx));
	prepare_vmcs(vmx, c->l2, l2_stack + sizeof(l2_stack));
	set_ctl(PIN_BASED_VM_EXEC_CONTROL, c->pin);
	set_ctl(CPU_BASED_VM_EXEC_CONTROL, c->proc);
	set_ctl(VM_EXIT_CONTROLS, c->exit_ctls);
	vmwrite(EXCEPTION_BITMAP, c->exc_bitmap);
	if (c->rflags)
		vmwrite(GUEST_RFLAGS, c->rflags);

	memset(io_bitmap_a, 0, PAGE_SIZE);
	memset(io_bitmap_b, 0, PAGE_SIZE);
	memset(vmx->msr, 0, PAGE_SIZE);
	for (i = 0; i < 2 && c->io_exit[i]; i++)
		set_bitmap_bit(c->io_exit[i] < 0x8000 ? io_bitmap_a : io_bitmap_b,
			       c->io_exit[i] & 0x7fff);
	for (i = 0; i < 2 && c->msr_rd_exit[i]; i++)
		set_msr_exit(c->msr_rd_exit[i], false);
	for (i = 0; i < 2 && c->msr_wr_exit[i]; i++)
		set_msr_exit(c->msr_wr_exit[i], true);
	vmwrite(IO_BITMAP_A, io_bitmap_a_gpa);
	vmwrite(IO_BITMAP_B, io_bitmap_b_gpa);

	if (c->setup)
		c->setup(c);
}

/* Compare the exit information L1 reads with what the case expects. */
static void check_exit(const struct exit_case *c)
{
	uint64_t rip = vmreadz(GUEST_RIP);
	uint32_t intr;

	expect_eq("exit reason", c->reason, vmreadz(VM_EXIT_REASON), "App. C");
	if (!(c->flags & F_NO_QUAL))
		expect_eq("exit qualification", c->qual, vmreadz(EXIT_QUALIFICATION), "27.2.1");

	if (c->flags & F_ENTRY_FAIL) {
		/* 26.8: the guest-state area is not modified. */
		expect_eq("guest RIP after a failed entry", (uint64_t)c->l2, rip, "26.8");
		return;
	}

	if (c->len)
		expect_eq("VM-exit instruction length", c->len,
			  vmreadz(VM_EXIT_INSTRUCTION_LEN), "27.2.5");

	if (c->ii_fmt == II_INS || c->ii_fmt == II_OUTS) {
		if (!(cap_basic & BIT_ULL(54)))
			note("IA32_VMX_BASIC[54] is 0: INS/OUTS information undefined, not checked",
			     cap_basic);
		else
			expect_eq("VM-exit instruction information (defined bits)", c->ii,
				  vmreadz(VMX_INSTRUCTION_INFO) & ii_defined(c->ii_fmt, c->ii),
				  "27.2.5");
	} else if (c->ii_fmt != II_UNDEFINED) {
		expect_eq("VM-exit instruction information (defined bits)", c->ii,
			  vmreadz(VMX_INSTRUCTION_INFO) & ii_defined(c->ii_fmt, c->ii), "27.2.5");
	}

	intr = vmreadz(VM_EXIT_INTR_INFO);
	if (c->intr) {
		expect_eq("VM-exit interruption information", c->intr, intr, "27.2.2");
		if (c->intr & EV_ERRCODE)
			expect_eq("VM-exit interruption error code", c->intr_err,
				  vmreadz(VM_EXIT_INTR_ERROR_CODE), "27.2.2");
	} else {
		expect_eq("VM-exit interruption information valid bit", 0,
			  intr & EV_VALID, "27.2.2");
	}
	expect_eq("IDT-vectoring information valid bit", 0,
		  vmreadz(IDT_VECTORING_INFO_FIELD) & EV_VALID, "27.2.4");

	if (c->flags & F_GLA)
		expect_eq("guest-linear address", c->gla, vmreadz(GUEST_LINEAR_ADDRESS), "27.2.1");

	if (c->flags & F_NO_RIP)
		return;
	if (c->flags & F_RIP_AFTER) {
		/* Recognised on an instruction boundary after the sending WRMSR. */
		expect_eq("guest RIP after the sending instruction",
			  1, rip > (uint64_t)c->insn && rip <= (uint64_t)c->next, "27.3.3");
		if (rip <= (uint64_t)c->insn || rip > (uint64_t)c->next)
			note("guest RIP was", rip);
	} else {
		expect_eq("guest RIP", (uint64_t)c->insn, rip, "27.3.3");
	}
}

static uint64_t resume_rip(const struct exit_case *c)
{
	uint64_t rip = vmreadz(GUEST_RIP);

	if (c->flags & F_RESUME_AT_EXIT)
		return rip;
	/* Instruction-based: step over it by the length L1 was given. */
	if (c->len && vmreadz(VM_EXIT_INSTRUCTION_LEN) == c->len)
		return rip + c->len;
	/* Faults (or a wrong length already reported): skip to the VMCALL. */
	return (uint64_t)c->next;
}

static void run_case(const struct exit_case *c)
{
	const char *skip = unsupported(c);

	cur_failures = 0;
	if (skip) {
		end_case(skip);
		return;
	}
	prepare_case(c);

	if (vmlaunch()) {
		expect_eq("VMLAUNCH VMfail: bit 32 | VM-instruction error", 0,
			  vmreadz(VM_INSTRUCTION_ERROR) | BIT_ULL(32), "30.3 VMLAUNCH");
		end_case(NULL);
		return;
	}

	if (!(c->flags & F_NO_EXIT)) {
		check_exit(c);
		if (c->on_exit)
			c->on_exit(c);
		if (c->flags & F_STOP) {
			end_case(NULL);
			return;
		}
		vmwrite(GUEST_RIP, resume_rip(c));
		if (vmresume()) {
			expect_eq("VMRESUME VMfail: bit 32 | VM-instruction error", 0,
				  vmreadz(VM_INSTRUCTION_ERROR) | BIT_ULL(32), "30.3 VMRESUME");
			end_case(NULL);
			return;
		}
	}

	expect_eq("exit reason at the closing VMCALL", EXIT_REASON_VMCALL,
		  vmreadz(VM_EXIT_REASON), "25.1.2");
	expect_eq("guest RIP at the closing VMCALL", (uint64_t)c->next,
		  vmreadz(GUEST_RIP), "27.3.3");
	if (c->check)
		c->check(c);
	end_case(NULL);
}

static void l1_guest_code(struct vmx_pages *vmx_pages)
{
	vmx = vmx_pages;
	GUEST_ASSERT(prepare_for_vmx_operation(vmx));

	cap_basic = rdmsr(MSR_IA32_VMX_BASIC);
	cap_pin = rdmsr(MSR_IA32_VMX_TRUE_PINBASED_CTLS);
	cap_proc = rdmsr(MSR_IA32_VMX_TRUE_PROCBASED_CTLS);
	cap_exit = rdmsr(MSR_IA32_VMX_TRUE_EXIT_CTLS);
	cap_misc = rdmsr(MSR_IA32_VMX_MISC);
	if (allowed1(cap_proc, CPU_BASED_ACTIVATE_SECONDARY_CONTROLS)) {
		cap_proc2 = rdmsr(MSR_IA32_VMX_PROCBASED_CTLS2);
		if (cap_proc2 >> 32 & (SECONDARY_EXEC_ENABLE_EPT | SECONDARY_EXEC_ENABLE_VPID))
			cap_ept_vpid = rdmsr(MSR_IA32_VMX_EPT_VPID_CAP);
	}

	/* XSETBV is #UD, not an exit, while CR4.OSXSAVE is 0 (25.1.1). */
	if (this_cpu_has(X86_FEATURE_XSAVE))
		set_cr4(get_cr4() | CR4_OSXSAVE);
	if (this_cpu_has(X86_FEATURE_X2APIC)) {
		x2apic_enable();
		/* Destination: L1's own x2APIC ID; NMI delivery mode (10.12.9). */
		l2_icr_nmi = x2apic_read_reg(APIC_ID) << 32 | APIC_INT_ASSERT | APIC_DM_NMI;
	}

	for (cur_case = 0; cur_case < ARRAY_SIZE(cases); cur_case++)
		run_case(&cases[cur_case]);
	GUEST_DONE();
}

/* ---- host ---- */

/* The emulated VMX host: Bochs's BIOS names itself in SMBIOS. */
static bool host_is_bochs(void)
{
	char vendor[64] = "";
	FILE *f = fopen("/sys/class/dmi/id/bios_vendor", "r");

	if (f) {
		if (!fgets(vendor, sizeof(vendor), f))
			vendor[0] = 0;
		fclose(f);
	}
	vendor[strcspn(vendor, "\n")] = 0;
	ksft_print_msg("SMBIOS BIOS vendor: '%s'\n", vendor);
	return !strcmp(vendor, "The Bochs Project");
}

static void host_port_io(struct kvm_run *run, int last_case)
{
	const struct exit_case *c = &cases[last_case + 1];
	uint8_t *data = (uint8_t *)run + run->io.data_offset;

	TEST_ASSERT(run->io.port == PORT_PASS && run->io.direction == KVM_EXIT_IO_IN &&
		    run->io.size == 1 && run->io.count == 1,
		    "case %s: unexpected port I/O in the host: port %#x dir %u size %u count %u",
		    c->name, run->io.port, run->io.direction, run->io.size, run->io.count);
	*data = PORT_PASS_DATA;
}

int main(int argc, char *argv[])
{
	vm_vaddr_t vmx_gva, gva;
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;
	int last = -1;
	struct ucall uc;

	TEST_REQUIRE(kvm_cpu_has(X86_FEATURE_VMX));

	vm = vm_create_with_one_vcpu(&vcpu, l1_guest_code);
	vm_init_descriptor_tables(vm);
	vcpu_init_descriptor_tables(vcpu);
	vm_install_exception_handler(vm, PF_VECTOR, l2_fault_handler);
	vm_install_exception_handler(vm, L1_VECTOR, l1_intr_handler);
	/*
	 * KVM does not list MONITOR/MWAIT as supported, but L2 executes them on
	 * this CPU, which has them or not: offer them to L1 exactly when it does.
	 */
	if (this_cpu_has(X86_FEATURE_MWAIT))
		vcpu_set_cpuid_feature(vcpu, X86_FEATURE_MWAIT);

	vcpu_alloc_vmx(vm, &vmx_gva);
	gva = vm_vaddr_alloc_page(vm);
	io_bitmap_a = (uint8_t *)gva;
	io_bitmap_a_gpa = addr_gva2gpa(vm, gva);
	gva = vm_vaddr_alloc_page(vm);
	io_bitmap_b = (uint8_t *)gva;
	io_bitmap_b_gpa = addr_gva2gpa(vm, gva);
	gva = vm_vaddr_alloc_page(vm);
	msr_area = (struct vmx_msr_entry *)gva;
	msr_area_gpa = addr_gva2gpa(vm, gva);
	sync_global_to_guest(vm, io_bitmap_a);
	sync_global_to_guest(vm, io_bitmap_a_gpa);
	sync_global_to_guest(vm, io_bitmap_b);
	sync_global_to_guest(vm, io_bitmap_b_gpa);
	sync_global_to_guest(vm, msr_area);
	sync_global_to_guest(vm, msr_area_gpa);
	vcpu_args_set(vcpu, 1, vmx_gva);

	ksft_print_header();
	ksft_set_plan(ARRAY_SIZE(cases));
	on_bochs = host_is_bochs();
	sync_global_to_guest(vm, on_bochs);
	if (on_bochs)
		ksft_print_msg("the host is Bochs: cases hitting a measured emulator bug skip\n");

	for (;;) {
		struct kvm_run *run = vcpu->run;
		const struct exit_case *c;

		vcpu_run(vcpu);
		TEST_ASSERT(run->exit_reason == KVM_EXIT_IO,
			    "after case %d: unexpected exit %u (%s)", last,
			    run->exit_reason, exit_reason_str(run->exit_reason));
		if (run->io.port == PORT_PASS) {
			host_port_io(run, last);
			continue;
		}

		switch (get_ucall(vcpu, &uc)) {
		case UCALL_SYNC:
			c = &cases[uc.args[1]];
			if (uc.args[0] == MSG_FAIL) {
				ksft_print_msg("%s [%s]: %s: expected %#lx, got %#lx (SDM %s)\n",
					       c->name, c->sdm, (const char *)uc.args[2],
					       uc.args[3], uc.args[4], (const char *)uc.args[5]);
			} else if (uc.args[0] == MSG_NOTE) {
				ksft_print_msg("%s: %s: %#lx\n", c->name,
					       (const char *)uc.args[2], uc.args[3]);
			} else {
				TEST_ASSERT(uc.args[1] == last + 1, "case %lu ended after %d",
					    uc.args[1], last);
				last = uc.args[1];
				if (uc.args[3])
					ksft_test_result_skip("%s: %s\n", c->name,
							      (const char *)uc.args[3]);
				else
					ksft_test_result(!uc.args[2], "%s\n", c->name);
			}
			break;
		case UCALL_ABORT:
			REPORT_GUEST_ASSERT(uc);
			break;
		case UCALL_DONE:
			TEST_ASSERT(last == ARRAY_SIZE(cases) - 1, "done after case %d", last);
			kvm_vm_free(vm);
			ksft_finished();
			return 0;
		case UCALL_UNHANDLED:
			TEST_FAIL("case %s: unexpected exception vector %lu in L1 or L2",
				  cases[last + 1].name, uc.args[0]);
			break;
		default:
			TEST_FAIL("unknown ucall %lu", uc.cmd);
		}
	}
}
