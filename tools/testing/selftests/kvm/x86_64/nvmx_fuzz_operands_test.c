// SPDX-License-Identifier: GPL-2.0-only
/*
 * nvmx_fuzz_operands_test: the operands of L1's VMX instructions (issue 13).
 *
 * Every outcome is the one the SDM Vol. 3C instruction reference (30.3;
 * chapter 31 in newer editions) gives for the operand: VMsucceed,
 * VMfailInvalid, VMfailValid with its VM-instruction error (30.4), or the
 * exception with its error code (and CR2 for a #PF).  The cases:
 *
 * - outside VMX operation: every VMX instruction #UD, VMXON #UD without
 *   CR4.VMXE, #GP(0) with a CR0 VMX operation does not support or with
 *   IA32_FEATURE_CONTROL locked without VMX, the faults of its memory
 *   operand, VMfailInvalid for every bad VMXON pointer;
 * - VMXON, VMPTRLD and VMCLEAR pointers: unaligned, beyond MAXPHYADDR,
 *   outside L1's memslots (in the hole between two, just past the last
 *   byte of the last one, at the top of the physical-address space), just
 *   inside a memslot, bad revision identifiers, the shadow-VMCS indicator,
 *   the VMXON region itself; memory outside every memslot reads as all
 *   ones, so a VMXON or VMPTRLD there finds no revision identifier and a
 *   VMCLEAR there has nothing to write;
 * - memory operands: addressing forms (base, index and scale, RIP-relative,
 *   32-bit address size, FS base), #PF (not present, read-only with
 *   CR0.WP), non-canonical #GP(0), #SS(0) through SS;
 * - VMREAD and VMWRITE of every field of the vmcs12 table (register and
 *   memory forms, the high half of 64-bit fields, width truncation,
 *   read-only fields as IA32_VMX_MISC bit 29 says), of every reserved bit
 *   of the encoding, bits 63:32 of the encoding register, indices above
 *   IA32_VMX_VMCS_ENUM, and a seeded random sweep of 32- and 64-bit
 *   encodings (-s SEED -i N);
 * - INVEPT and INVVPID operands;
 * - CPL 1 (#GP(0) in VMX operation, #UD outside it but for VMXON);
 * - compatibility mode: L1 far-jumps to a 32-bit code segment of its GDT,
 *   where every VMX instruction #UDs (the selftest library gives L1 only
 *   64-bit mode, so L1's 32-bit operand size in legacy protected mode is
 *   not reached: VMX instructions there would need L1 out of IA-32e mode).
 *
 * Outcomes are printed as numbers: 100H VMsucceed, 200H VMfailInvalid,
 * 3NNH VMfailValid with error NN, 1_VVEEEEH an exception with vector VV and
 * error code EEEE.
 */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "test_util.h"
#include "kvm_util.h"
#include "processor.h"
#include "vmx.h"

#define NR_SCRATCH	4

struct nvmx_env {
	bool strict;
	bool on_bochs;			/* the emulated VMX host */
	u64 seed;
	u32 iters;
	u64 slot1_gpa, slot1_end;	/* the second memslot, [gpa, end) */
	u64 slot0_end;			/* the end of memslot 0 */
	u64 hole_gpa;			/* a page between memslot 0 and 1 */
	u64 ro_gva;			/* a page mapped read-only */
	u64 ro_gpa;
	u64 unmapped_gva;		/* canonical, not mapped */
	u64 scratch_gva[NR_SCRATCH];	/* pages of memslot 0 */
	u64 scratch_gpa[NR_SCRATCH];
	u64 cpl1_stack;			/* top of L1's stack at CPL 1 */
};

struct nvmx_env nvmx_env;

#include <nvmx/vmcs12_table.h>

#include "nvmx_selftest.h"

/* Messages of this test */
enum {
	MSG_FEAT_CTL = NVMX_MSG_EXITS + 16,	/* host: set IA32_FEATURE_CONTROL */
	MSG_COUNTS,				/* the random sweep's counts */
	MSG_UNEXPECTED,				/* an exception nobody armed for */
};

/* Segments L1 uses besides the library's (GDT indices 6 to 9) */
#define SEL_CODE64		0x08	/* the library's */
#define SEL_CODE32		0x30
#define SEL_DATA32		0x38
#define SEL_CODE64_DPL1		0x41
#define SEL_DATA_DPL1		0x49

/* Outcomes */
#define OC_OK			0x100ull
#define OC_INVALID		0x200ull
#define OC_VALID(n)		(0x300ull | (n))
#define OC_EXC(v, ec)		(BIT_ULL(24) | (u64)(v) << 16 | ((ec) & 0xffff))
#define OC_UD			OC_EXC(UD_VECTOR, 0)
#define OC_GP0			OC_EXC(GP_VECTOR, 0)
#define OC_SS0			OC_EXC(SS_VECTOR, 0)

/* VM-instruction errors (30.4) */
#define ERR_VMCLEAR_ADDR	2
#define ERR_VMCLEAR_VMXON	3
#define ERR_VMPTRLD_ADDR	9
#define ERR_VMPTRLD_VMXON	10
#define ERR_VMPTRLD_REV		11
#define ERR_FIELD		12
#define ERR_READ_ONLY		13
#define ERR_VMXON_ROOT		15
#define ERR_INV_OPERAND		28

#define RF_CF			BIT_ULL(0)
#define RF_ZF			BIT_ULL(6)

#define PFEC_P			BIT(0)
#define PFEC_W			BIT(1)

#define NONCANONICAL		0x8000000000001000ull

/* ---------------------------------------------------------------------- */
/* L1: faults and outcomes                                                  */

/*
 * An armed fault handler sends the instruction to nvmx_fault_resume with
 * the vector, error code and CR2 recorded; from CPL 1 it returns to CPL 0
 * with the stack L1 had there.  An exception nobody armed for fails.
 */
u32 nvmx_fault_armed;
u64 nvmx_fault_resume;
u32 nvmx_fault_to_cpl0;			/* resume with CPL 0's CS, SS, RSP */
u64 nvmx_cpl0_rsp, nvmx_cpl0_ss;
static u64 fault_vector, fault_error, fault_cr2;

static void fault_handler(struct ex_regs *regs)
{
	u64 *frame = &regs->rflags;	/* then RSP and SS */

	if (!nvmx_fault_armed) {
		ucall(UCALL_SYNC, 5, MSG_UNEXPECTED, regs->vector, regs->rip,
		      regs->error_code, regs->cs);
		GUEST_ASSERT(0);
	}
	nvmx_fault_armed = 0;
	fault_vector = regs->vector;
	fault_error = regs->error_code;
	if (regs->vector == PF_VECTOR)
		asm volatile("mov %%cr2, %0" : "=r"(fault_cr2));
	regs->rip = nvmx_fault_resume;
	if (nvmx_fault_to_cpl0) {
		nvmx_fault_to_cpl0 = 0;
		regs->cs = SEL_CODE64;
		frame[1] = nvmx_cpl0_rsp;
		frame[2] = nvmx_cpl0_ss;
	}
}

/* Before an instruction that may fault: nothing recorded yet. */
static void fault_reset(void)
{
	fault_vector = ~0ull;
	fault_error = 0;
	fault_cr2 = 0;
}

static u64 outcome(u64 rflags)
{
	u64 err;

	if (fault_vector != ~0ull)
		return OC_EXC(fault_vector, fault_error);
	if (rflags & RF_CF)
		return OC_INVALID;
	if (rflags & RF_ZF) {
		if (vmread(VM_INSTRUCTION_ERROR, &err))
			return OC_VALID(0xff);
		return OC_VALID(err);
	}
	return OC_OK;
}

/*
 * The body of an attempt: arm the handler to resume at 1:, run @insn, take
 * RFLAGS (SDM 30.2) into %[rf] below the red zone.
 */
#define TRY(insn)							\
	"lea 1f(%%rip), %%r11\n\t"					\
	"mov %%r11, nvmx_fault_resume(%%rip)\n\t"			\
	"movl $1, nvmx_fault_armed(%%rip)\n\t"				\
	insn "\n"							\
	"1:\tmovl $0, nvmx_fault_armed(%%rip)\n\t"			\
	"lea -128(%%rsp), %%rsp\n\t"					\
	"pushf\n\t"							\
	"pop %[rf]\n\t"							\
	"lea 128(%%rsp), %%rsp"

#define TRY_CLOBBERS	"r11", "cc", "memory"

/* VMXON, VMPTRLD, VMCLEAR, VMPTRST with the pointer at linear address @p */
static u64 vmxon_at(u64 p)
{
	u64 rf;

	fault_reset();
	asm volatile(TRY("vmxon (%[p])")
		     : [rf] "=r"(rf) : [p] "r"(p) : TRY_CLOBBERS);
	return outcome(rf);
}

static u64 vmptrld_at(u64 p)
{
	u64 rf;

	fault_reset();
	asm volatile(TRY("vmptrld (%[p])")
		     : [rf] "=r"(rf) : [p] "r"(p) : TRY_CLOBBERS);
	return outcome(rf);
}

static u64 vmclear_at(u64 p)
{
	u64 rf;

	fault_reset();
	asm volatile(TRY("vmclear (%[p])")
		     : [rf] "=r"(rf) : [p] "r"(p) : TRY_CLOBBERS);
	return outcome(rf);
}

static u64 vmptrst_at(u64 p)
{
	u64 rf;

	fault_reset();
	asm volatile(TRY("vmptrst (%[p])")
		     : [rf] "=r"(rf) : [p] "r"(p) : TRY_CLOBBERS);
	return outcome(rf);
}

/* The same with the pointer @ptr in memory of L1's */
static u64 op_ptr;

static u64 vmxon_ptr(u64 ptr)
{
	op_ptr = ptr;
	return vmxon_at((u64)&op_ptr);
}

static u64 vmptrld_ptr(u64 ptr)
{
	op_ptr = ptr;
	return vmptrld_at((u64)&op_ptr);
}

static u64 vmclear_ptr(u64 ptr)
{
	op_ptr = ptr;
	return vmclear_at((u64)&op_ptr);
}

static u64 simple_insn_vmxoff(void)
{
	u64 rf;

	fault_reset();
	asm volatile(TRY("vmxoff") : [rf] "=r"(rf) : : TRY_CLOBBERS);
	return outcome(rf);
}

static u64 vmlaunch_try(void)
{
	u64 rf;

	fault_reset();
	asm volatile(TRY("vmlaunch") : [rf] "=r"(rf) : : TRY_CLOBBERS);
	return outcome(rf);
}

static u64 vmresume_try(void)
{
	u64 rf;

	fault_reset();
	asm volatile(TRY("vmresume") : [rf] "=r"(rf) : : TRY_CLOBBERS);
	return outcome(rf);
}

static u64 vmread_reg(u64 enc, u64 *val)
{
	u64 rf, v = 0x5a5a5a5a5a5a5a5aull;

	fault_reset();
	asm volatile(TRY("vmread %[e], %[v]")
		     : [rf] "=r"(rf), [v] "+r"(v) : [e] "r"(enc)
		     : TRY_CLOBBERS);
	*val = v;
	return outcome(rf);
}

/* VMREAD with the field in R12 and the destination R13 */
static u64 vmread_r12_r13(u64 enc, u64 *val)
{
	u64 rf, v;

	fault_reset();
	asm volatile("mov %[e], %%r12\n\t"
		     "mov $0x1234, %%r13\n\t"
		     TRY("vmread %%r12, %%r13") "\n\t"
		     "mov %%r13, %[v]"
		     : [rf] "=r"(rf), [v] "=r"(v) : [e] "r"(enc)
		     : "r12", "r13", TRY_CLOBBERS);
	*val = v;
	return outcome(rf);
}

static u64 vmread_mem(u64 enc, u64 p)
{
	u64 rf;

	fault_reset();
	asm volatile(TRY("vmread %[e], (%[p])")
		     : [rf] "=r"(rf) : [e] "r"(enc), [p] "r"(p)
		     : TRY_CLOBBERS);
	return outcome(rf);
}

static u64 vmwrite_reg(u64 enc, u64 val)
{
	u64 rf;

	fault_reset();
	asm volatile(TRY("vmwrite %[v], %[e]")
		     : [rf] "=r"(rf) : [e] "r"(enc), [v] "r"(val)
		     : TRY_CLOBBERS);
	return outcome(rf);
}

/* VMWRITE with the field in R9 and the value in R15 */
static u64 vmwrite_r9_r15(u64 enc, u64 val)
{
	u64 rf;

	fault_reset();
	asm volatile("mov %[e], %%r9\n\t"
		     "mov %[v], %%r15\n\t"
		     TRY("vmwrite %%r15, %%r9")
		     : [rf] "=r"(rf) : [e] "r"(enc), [v] "r"(val)
		     : "r9", "r15", TRY_CLOBBERS);
	return outcome(rf);
}

static u64 vmwrite_mem(u64 enc, u64 p)
{
	u64 rf;

	fault_reset();
	asm volatile(TRY("vmwrite (%[p]), %[e]")
		     : [rf] "=r"(rf) : [e] "r"(enc), [p] "r"(p)
		     : TRY_CLOBBERS);
	return outcome(rf);
}

/* VMPTRLD through SS, FS; with a 32-bit address; base + index * 4 + 8 */
static u64 vmptrld_ss(u64 p)
{
	u64 rf;

	fault_reset();
	asm volatile(TRY("vmptrld %%ss:(%[p])")
		     : [rf] "=r"(rf) : [p] "r"(p) : TRY_CLOBBERS);
	return outcome(rf);
}

static u64 vmptrld_fs(u64 p)
{
	u64 rf;

	fault_reset();
	asm volatile(TRY("vmptrld %%fs:(%[p])")
		     : [rf] "=r"(rf) : [p] "r"(p) : TRY_CLOBBERS);
	return outcome(rf);
}

static u64 vmptrld_addr32(u64 p)
{
	u64 rf;

	fault_reset();
	asm volatile(TRY("vmptrld (%k[p])")
		     : [rf] "=r"(rf) : [p] "r"(p) : TRY_CLOBBERS);
	return outcome(rf);
}

static u64 vmptrld_sib(u64 base, u64 index)
{
	u64 rf;

	fault_reset();
	asm volatile(TRY("vmptrld 8(%[b],%[i],4)")
		     : [rf] "=r"(rf) : [b] "r"(base), [i] "r"(index)
		     : TRY_CLOBBERS);
	return outcome(rf);
}

/*
 * VMPTRLD with RBP as the base: SS is the default segment (Vol. 1 3.7.4),
 * so a non-canonical address is #SS(0).
 */
u64 nvmx_rbp_rflags;

asm(".pushsection .text\n"
	"nvmx_vmptrld_rbp:\n\t"
	"push %rbp\n\t"
	"mov %rdi, %rbp\n\t"
	"lea 1f(%rip), %r11\n\t"
	"mov %r11, nvmx_fault_resume(%rip)\n\t"
	"movl $1, nvmx_fault_armed(%rip)\n\t"
	"vmptrld 0x10(%rbp)\n"
	"1:\tmovl $0, nvmx_fault_armed(%rip)\n\t"
	"pushf\n\t"
	"pop %r11\n\t"
	"mov %r11, nvmx_rbp_rflags(%rip)\n\t"
	"pop %rbp\n\t"
	"ret\n"
	".popsection\n");

static u64 vmptrld_rbp(u64 p)
{
	fault_reset();
	asm volatile("lea -128(%%rsp), %%rsp\n\t"
		     "call nvmx_vmptrld_rbp\n\t"
		     "lea 128(%%rsp), %%rsp"
		     : "+D"(p)
		     : : "rax", "rcx", "rdx", "rsi", "r8", "r9", "r10", "r11",
		       "memory", "cc");
	return outcome(nvmx_rbp_rflags);
}

u64 nvmx_rip_rel_ptr;

static u64 vmptrld_rip_rel(u64 ptr)
{
	u64 rf;

	nvmx_rip_rel_ptr = ptr;
	fault_reset();
	asm volatile(TRY("vmptrld nvmx_rip_rel_ptr(%%rip)")
		     : [rf] "=r"(rf) : : TRY_CLOBBERS);
	return outcome(rf);
}

static struct { u64 lo, hi; } inv_desc;

static u64 invept_at(u64 type, u64 p)
{
	u64 rf;

	fault_reset();
	asm volatile(TRY("invept (%[p]), %[t]")
		     : [rf] "=r"(rf) : [t] "r"(type), [p] "r"(p)
		     : TRY_CLOBBERS);
	return outcome(rf);
}

static u64 invvpid_ss(u64 type, u64 p)
{
	u64 rf;

	fault_reset();
	asm volatile(TRY("invvpid %%ss:(%[p]), %[t]")
		     : [rf] "=r"(rf) : [t] "r"(type), [p] "r"(p)
		     : TRY_CLOBBERS);
	return outcome(rf);
}

static u64 invvpid_at(u64 type, u64 p)
{
	u64 rf;

	fault_reset();
	asm volatile(TRY("invvpid (%[p]), %[t]")
		     : [rf] "=r"(rf) : [t] "r"(type), [p] "r"(p)
		     : TRY_CLOBBERS);
	return outcome(rf);
}

static void expect(const char *what, u64 expected, u64 got, const char *sdm)
{
	report(what, expected, got, sdm);
}

/* A #PF expected with error code @ec at @cr2 */
static void expect_pf(const char *what, u64 got, u32 ec, u64 cr2)
{
	report(what, OC_EXC(PF_VECTOR, ec), got, "30.3, Vol. 3A 4.7");
	if (got == OC_EXC(PF_VECTOR, ec))
		report(what, cr2, fault_cr2, "Vol. 3A 4.7 (CR2)");
}

/* ---------------------------------------------------------------------- */
/* L1: what it is offered                                                   */

static struct vmx_pages *vmx_pages;
static u32 maxphyaddr;
static u32 rev;
static u32 exec2_allowed1;
static u64 vmx_misc, vmcs_enum, ept_vpid_cap;

static void read_caps(void)
{
	u32 eax = 0x80000008, ebx, ecx = 0, edx;

	asm volatile("cpuid" : "+a"(eax), "=b"(ebx), "+c"(ecx), "=d"(edx));
	maxphyaddr = eax & 0xff;
	rev = vmcs_revision();
	if (rdmsr(MSR_IA32_VMX_PROCBASED_CTLS) >> 32 &
	    CPU_BASED_ACTIVATE_SECONDARY_CONTROLS)
		exec2_allowed1 = rdmsr(MSR_IA32_VMX_PROCBASED_CTLS2) >> 32;
	vmx_misc = rdmsr(MSR_IA32_VMX_MISC);
	vmcs_enum = rdmsr(MSR_IA32_VMX_VMCS_ENUM);
	if (exec2_allowed1 & (SECONDARY_EXEC_ENABLE_EPT |
			      SECONDARY_EXEC_ENABLE_VPID))
		ept_vpid_cap = rdmsr(MSR_IA32_VMX_EPT_VPID_CAP);
}

static bool shadow_offered(void)
{
	return exec2_allowed1 & SECONDARY_EXEC_SHADOW_VMCS;
}

static bool invept_offered(void)
{
	return (exec2_allowed1 & SECONDARY_EXEC_ENABLE_EPT) &&
	       (ept_vpid_cap & BIT_ULL(20));
}

static bool invvpid_offered(void)
{
	return (exec2_allowed1 & SECONDARY_EXEC_ENABLE_VPID) &&
	       (ept_vpid_cap & BIT_ULL(32));
}

/* Scratch VMCS region @i with revision word @r */
static u64 scratch(int i, u32 r)
{
	*(u32 *)nvmx_env.scratch_gva[i] = r;
	return nvmx_env.scratch_gpa[i];
}

static void vmx_off(void)
{
	GUEST_ASSERT_1(simple_insn_vmxoff() == OC_OK, 0);
}

static void vmx_on(void)
{
	*(u32 *)vmx_pages->vmxon = rev;
	GUEST_ASSERT_1(vmxon_ptr(vmx_pages->vmxon_gpa) == OC_OK, 0);
}

/* Physical addresses no VMX instruction may take (30.3: alignment, width) */
static u64 bad_addr(int i)
{
	static const u64 off[] = { 1, 4, 8, 0x10, 0x800, 0xfff };

	if (i < (int)ARRAY_SIZE(off))
		return nvmx_env.scratch_gpa[0] + off[i];
	switch (i - ARRAY_SIZE(off)) {
	case 0:
		return 1ull << maxphyaddr;
	case 1:
		return nvmx_env.scratch_gpa[0] | 1ull << maxphyaddr;
	case 2:
		return 1ull << 63;
	case 3:
		return 0xfffffffffffff000ull;
	default:
		return 0;
	}
}

#define NR_BAD_ADDR	10

/* Page-aligned addresses within the width, with nothing behind them */
static u64 unbacked_addr(int i)
{
	switch (i) {
	case 0:
		return nvmx_env.slot0_end;		/* just past memslot 0 */
	case 1:
		return nvmx_env.hole_gpa;		/* between two memslots */
	case 2:
		return nvmx_env.slot1_gpa - 0x1000;	/* just before slot 1 */
	case 3:
		return nvmx_env.slot1_end;		/* just past the last */
	default:
		return (1ull << maxphyaddr) - 0x1000;	/* the last page */
	}
}

#define NR_UNBACKED	5

/* Pages of the second memslot, with our revision identifier */
static u64 slot1_first(void)
{
	return nvmx_env.slot1_gpa;
}

static u64 slot1_last(void)
{
	return nvmx_env.slot1_end - 0x1000;
}

/* ---------------------------------------------------------------------- */
/* L1: the cases                                                            */

static void c_outside_vmx(void)
{
	u64 v, cr0, cr4;
	int i;

	vmx_off();
	/* 30.3, every instruction: #UD outside VMX operation */
	expect("VMXOFF", OC_UD, simple_insn_vmxoff(), "30.3 VMXOFF");
	expect("VMPTRLD", OC_UD, vmptrld_ptr(vmx_pages->vmcs_gpa), "30.3 VMPTRLD");
	expect("VMCLEAR", OC_UD, vmclear_ptr(vmx_pages->vmcs_gpa), "30.3 VMCLEAR");
	expect("VMPTRST", OC_UD, vmptrst_at((u64)&op_ptr), "30.3 VMPTRST");
	expect("VMREAD", OC_UD, vmread_reg(GUEST_RIP, &v), "30.3 VMREAD");
	expect("VMREAD to memory", OC_UD, vmread_mem(GUEST_RIP, (u64)&v),
	       "30.3 VMREAD");
	expect("VMWRITE", OC_UD, vmwrite_reg(GUEST_RIP, 0), "30.3 VMWRITE");
	expect("VMREAD, unmapped destination", OC_UD,
	       vmread_mem(GUEST_RIP, nvmx_env.unmapped_gva), "30.3 VMREAD");
	expect("INVEPT", OC_UD, invept_at(2, (u64)&inv_desc), "30.3 INVEPT");
	expect("INVVPID", OC_UD, invvpid_at(2, (u64)&inv_desc), "30.3 INVVPID");
	expect("VMLAUNCH", OC_UD, vmlaunch_try(), "30.3 VMLAUNCH");
	expect("VMRESUME", OC_UD, vmresume_try(), "30.3 VMRESUME");

	/* VMXON: #UD with CR4.VMXE = 0 */
	cr4 = get_cr4();
	set_cr4(cr4 & ~X86_CR4_VMXE);
	expect("VMXON, CR4.VMXE = 0", OC_UD, vmxon_ptr(vmx_pages->vmxon_gpa),
	       "30.3 VMXON");
	set_cr4(cr4);

	/* #GP(0): CR0.NE = 0 is not supported in VMX operation (A.7) */
	cr0 = get_cr0();
	if (rdmsr(MSR_IA32_VMX_CR0_FIXED0) & X86_CR0_NE) {
		asm volatile("mov %0, %%cr0" : : "r"(cr0 & ~X86_CR0_NE));
		v = vmxon_ptr(vmx_pages->vmxon_gpa);
		asm volatile("mov %0, %%cr0" : : "r"(cr0));
		expect("VMXON, CR0.NE = 0", OC_GP0, v, "30.3 VMXON, 23.8");
	}

	/* #GP(0): IA32_FEATURE_CONTROL locked, VMX outside SMX disabled */
	ucall(UCALL_SYNC, 2, MSG_FEAT_CTL, FEAT_CTL_LOCKED);
	expect("VMXON, IA32_FEATURE_CONTROL = 1", OC_GP0,
	       vmxon_ptr(vmx_pages->vmxon_gpa), "30.3 VMXON, 23.7");
	ucall(UCALL_SYNC, 2, MSG_FEAT_CTL, 0);

	/* Its memory operand (30.3 VMXON: 64-bit mode exceptions) */
	expect_pf("VMXON, operand not present", vmxon_at(nvmx_env.unmapped_gva),
		  0, nvmx_env.unmapped_gva);
	expect("VMXON, operand non-canonical", OC_GP0, vmxon_at(NONCANONICAL),
	       "30.3 VMXON");
	if (!nvmx_env.on_bochs) {
		u64 rf;

		fault_reset();
		asm volatile(TRY("vmxon %%ss:(%[p])")
			     : [rf] "=r"(rf) : [p] "r"(NONCANONICAL)
			     : TRY_CLOBBERS);
		expect("VMXON, operand non-canonical through SS", OC_SS0,
		       outcome(rf), "30.3 VMXON");
	}

	/* VMfailInvalid: alignment, width, revision (30.3 VMXON) */
	for (i = 0; i < NR_BAD_ADDR; i++)
		expect("VMXON, pointer unaligned or beyond MAXPHYADDR",
		       OC_INVALID, vmxon_ptr(bad_addr(i)), "30.3 VMXON");
	for (i = 0; i < NR_UNBACKED; i++)
		expect("VMXON, pointer outside L1's memslots (reads all ones)",
		       OC_INVALID, vmxon_ptr(unbacked_addr(i)), "30.3 VMXON");
	expect("VMXON, revision 0", OC_INVALID, vmxon_ptr(scratch(0, 0)),
	       "30.3 VMXON");
	expect("VMXON, revision + 1", OC_INVALID, vmxon_ptr(scratch(0, rev + 1)),
	       "30.3 VMXON");
	expect("VMXON, revision with bit 31", OC_INVALID,
	       vmxon_ptr(scratch(0, rev | BIT(31))), "30.3 VMXON");
	expect("VMXON, revision all ones", OC_INVALID,
	       vmxon_ptr(scratch(0, ~0u)), "30.3 VMXON");

	/* Just inside the memslots: the first and last page of slot 1 */
	expect("VMXON, first page of memslot 1", OC_OK, vmxon_ptr(slot1_first()),
	       "30.3 VMXON");
	vmx_off();
	expect("VMXON, last page of memslot 1", OC_OK, vmxon_ptr(slot1_last()),
	       "30.3 VMXON");
	vmx_off();
	vmx_on();
}

static void c_vmxon_in_root(void)
{
	/* In VMX root operation VMXON fails without reading its operand */
	expect("VMXON with a current VMCS", OC_VALID(ERR_VMXON_ROOT),
	       vmxon_ptr(vmx_pages->vmxon_gpa), "30.3 VMXON");
	expect("VMXON, operand non-canonical", OC_VALID(ERR_VMXON_ROOT),
	       vmxon_at(NONCANONICAL), "30.3 VMXON");
	GUEST_ASSERT(!vmclear(vmx_pages->vmcs_gpa));
	expect("VMXON without a current VMCS", OC_INVALID,
	       vmxon_ptr(vmx_pages->vmxon_gpa), "30.3 VMXON, 30.2");
	expect("VMXON, operand not present", OC_INVALID,
	       vmxon_at(nvmx_env.unmapped_gva), "30.3 VMXON");
}

static void c_vmptrld_pointers(void)
{
	u64 cur = vmx_pages->vmcs_gpa;
	u64 p;
	int i;

	for (i = 0; i < NR_BAD_ADDR; i++)
		expect("VMPTRLD, pointer unaligned or beyond MAXPHYADDR",
		       OC_VALID(ERR_VMPTRLD_ADDR), vmptrld_ptr(bad_addr(i)),
		       "30.3 VMPTRLD");
	for (i = 0; i < NR_UNBACKED; i++)
		expect("VMPTRLD, pointer outside L1's memslots (reads all ones)",
		       OC_VALID(ERR_VMPTRLD_REV), vmptrld_ptr(unbacked_addr(i)),
		       "30.3 VMPTRLD");
	expect("VMPTRLD of the VMXON region", OC_VALID(ERR_VMPTRLD_VMXON),
	       vmptrld_ptr(vmx_pages->vmxon_gpa), "30.3 VMPTRLD");
	expect("VMPTRLD, revision 0", OC_VALID(ERR_VMPTRLD_REV),
	       vmptrld_ptr(scratch(0, 0)), "30.3 VMPTRLD");
	expect("VMPTRLD, revision - 1", OC_VALID(ERR_VMPTRLD_REV),
	       vmptrld_ptr(scratch(0, rev - 1)), "30.3 VMPTRLD");
	expect("VMPTRLD, revision all ones", OC_VALID(ERR_VMPTRLD_REV),
	       vmptrld_ptr(scratch(0, ~0u)), "30.3 VMPTRLD");
	/* Each failure leaves the current VMCS as it was */
	GUEST_ASSERT_1(vmptrstz() == cur, vmptrstz());

	/* The shadow-VMCS indicator (30.3 VMPTRLD, 24.10) */
	p = scratch(1, rev | BIT(31));
	expect("VMPTRLD, shadow-VMCS indicator",
	       shadow_offered() ? OC_OK : OC_VALID(ERR_VMPTRLD_REV),
	       vmptrld_ptr(p), "30.3 VMPTRLD");
	GUEST_ASSERT(!vmclear(p));

	/* Just inside the memslots */
	expect("VMPTRLD, first page of memslot 1", OC_OK,
	       vmptrld_ptr(slot1_first()), "30.3 VMPTRLD");
	expect("VMPTRLD, last page of memslot 1", OC_OK,
	       vmptrld_ptr(slot1_last()), "30.3 VMPTRLD");
	expect("VMPTRST after it", slot1_last(), vmptrstz(), "30.3 VMPTRST");
	GUEST_ASSERT(!vmclear(slot1_first()));
	GUEST_ASSERT(!vmclear(slot1_last()));
	expect("VMPTRLD of the current VMCS", OC_OK, vmptrld_ptr(cur),
	       "30.3 VMPTRLD");
	expect("VMPTRLD of the current VMCS, again", OC_OK, vmptrld_ptr(cur),
	       "30.3 VMPTRLD");
}

static void c_vmclear_pointers(void)
{
	u64 v;
	int i;

	for (i = 0; i < NR_BAD_ADDR; i++)
		expect("VMCLEAR, pointer unaligned or beyond MAXPHYADDR",
		       OC_VALID(ERR_VMCLEAR_ADDR), vmclear_ptr(bad_addr(i)),
		       "30.3 VMCLEAR");
	/* Nothing there to write the launch state to (30.3 VMCLEAR) */
	for (i = 0; i < NR_UNBACKED; i++)
		expect("VMCLEAR, pointer outside L1's memslots", OC_OK,
		       vmclear_ptr(unbacked_addr(i)), "30.3 VMCLEAR");
	expect("VMCLEAR of the VMXON region", OC_VALID(ERR_VMCLEAR_VMXON),
	       vmclear_ptr(vmx_pages->vmxon_gpa), "30.3 VMCLEAR");
	/* The revision identifier is not checked (30.3 VMCLEAR) */
	expect("VMCLEAR, revision 0", OC_OK, vmclear_ptr(scratch(0, 0)),
	       "30.3 VMCLEAR");
	expect("VMCLEAR, first page of memslot 1", OC_OK,
	       vmclear_ptr(slot1_first()), "30.3 VMCLEAR");
	expect("VMCLEAR, last page of memslot 1", OC_OK,
	       vmclear_ptr(slot1_last()), "30.3 VMCLEAR");
	/* The current VMCS stays current through all that */
	expect("VMPTRST", vmx_pages->vmcs_gpa, vmptrstz(), "30.3 VMCLEAR");
	expect("VMCLEAR of the current VMCS", OC_OK,
	       vmclear_ptr(vmx_pages->vmcs_gpa), "30.3 VMCLEAR");
	expect("VMPTRST after it", ~0ull, vmptrstz(), "30.3 VMCLEAR");
	expect("VMREAD without a current VMCS", OC_INVALID,
	       vmread_reg(GUEST_RIP, &v), "30.3 VMREAD");
	expect("VMWRITE without a current VMCS", OC_INVALID,
	       vmwrite_reg(GUEST_RIP, 0), "30.3 VMWRITE");
	expect("VMWRITE without a current VMCS, unsupported field", OC_INVALID,
	       vmwrite_reg(0xffffffffull, 0), "30.3 VMWRITE");
	expect("VMREAD without a current VMCS, unmapped destination",
	       OC_INVALID, vmread_mem(GUEST_RIP, nvmx_env.unmapped_gva),
	       "30.3 VMREAD");
	expect("VMPTRLD", OC_OK, vmptrld_ptr(vmx_pages->vmcs_gpa),
	       "30.3 VMPTRLD");
}

/* The addressing forms of a memory operand (Vol. 1 3.7.5, Vol. 3C 27.2.5) */
static void c_addressing(void)
{
	u64 cur = vmx_pages->vmcs_gpa;
	u64 other = scratch(2, rev);
	u64 buf[3];
	u64 arr[8];
	u64 fs;

	GUEST_ASSERT(!vmclear(other));
	expect("VMPTRLD, RIP-relative", OC_OK, vmptrld_rip_rel(other),
	       "30.3 VMPTRLD");
	expect("VMPTRST", other, vmptrstz(), "30.3 VMPTRST");
	arr[5] = cur;
	expect("VMPTRLD, base + index * 4 + 8", OC_OK,
	       vmptrld_sib((u64)&arr[5] - 8 - 4 * 3, 3), "30.3 VMPTRLD");
	expect("VMPTRST", cur, vmptrstz(), "30.3 VMPTRST");
	/* The 32-bit address size drops bits 63:32 of the base */
	op_ptr = other;
	expect("VMPTRLD, 32-bit address size", OC_OK,
	       vmptrld_addr32(0xabcd000000000000ull | (u64)&op_ptr),
	       "30.3 VMPTRLD, Vol. 1 3.3.7");
	expect("VMPTRST", other, vmptrstz(), "30.3 VMPTRST");
	/* FS adds its base in 64-bit mode */
	fs = rdmsr(MSR_FS_BASE);
	wrmsr(MSR_FS_BASE, (u64)&op_ptr - 0x100000);
	op_ptr = cur;
	expect("VMPTRLD through FS", OC_OK, vmptrld_fs(0x100000),
	       "30.3 VMPTRLD, Vol. 3A 3.4.4");
	expect("VMPTRST", cur, vmptrstz(), "30.3 VMPTRST");
	wrmsr(MSR_FS_BASE, 0x7ffffffff000ull);
	expect("VMPTRLD through FS, FS base + offset non-canonical", OC_GP0,
	       vmptrld_fs(0x2000), "30.3 VMPTRLD");
	wrmsr(MSR_FS_BASE, fs);

	/* VMPTRST writes 8 bytes and no more */
	buf[0] = 0x1111111111111111ull;
	buf[2] = buf[0];
	buf[1] = 0;
	expect("VMPTRST to memory", OC_OK, vmptrst_at((u64)&buf[1]),
	       "30.3 VMPTRST");
	expect("VMPTRST's value", cur, buf[1], "30.3 VMPTRST");
	expect("the bytes around it", buf[0] ^ buf[2], 0, "30.3 VMPTRST");
	/* VMREAD and VMWRITE with a memory operand: 64 bits in 64-bit mode */
	buf[1] = 0xfedcba9876543210ull;
	expect("VMWRITE from memory", OC_OK, vmwrite_mem(GUEST_RSP, (u64)&buf[1]),
	       "30.3 VMWRITE");
	buf[1] = 0;
	expect("VMREAD to memory", OC_OK, vmread_mem(GUEST_RSP, (u64)&buf[1]),
	       "30.3 VMREAD");
	expect("VMREAD's value", 0xfedcba9876543210ull, buf[1], "30.3 VMREAD");
	expect("the bytes around it", 0x1111111111111111ull * 2,
	       buf[0] + buf[2], "30.3 VMREAD");
	/* A 16-bit field read to memory is zero-extended to 64 bits */
	buf[1] = ~0ull;
	GUEST_ASSERT(!vmwrite(GUEST_ES_SELECTOR, 0xabcd));
	expect("VMREAD of a 16-bit field to memory", OC_OK,
	       vmread_mem(GUEST_ES_SELECTOR, (u64)&buf[1]), "30.3 VMREAD");
	expect("its value", 0xabcd, buf[1], "30.3 VMREAD");
}

/* Faulting memory operands of every instruction that has one */
static void c_operand_faults(void)
{
	u64 ro = nvmx_env.ro_gva, un = nvmx_env.unmapped_gva;
	u64 cr0 = get_cr0();
	u64 v;

	expect_pf("VMPTRLD, not present", vmptrld_at(un), 0, un);
	expect_pf("VMCLEAR, not present", vmclear_at(un + 8), 0, un + 8);
	expect_pf("VMPTRST, not present", vmptrst_at(un), PFEC_W, un);
	expect_pf("VMREAD to memory, not present", vmread_mem(GUEST_RIP, un),
		  PFEC_W, un);
	expect_pf("VMWRITE from memory, not present",
		  vmwrite_mem(GUEST_RIP, un + 0x10), 0, un + 0x10);
	expect("VMPTRLD, non-canonical", OC_GP0, vmptrld_at(NONCANONICAL),
	       "30.3 VMPTRLD");
	expect("VMCLEAR, non-canonical", OC_GP0, vmclear_at(NONCANONICAL),
	       "30.3 VMCLEAR");
	expect("VMPTRST, non-canonical", OC_GP0, vmptrst_at(NONCANONICAL),
	       "30.3 VMPTRST");
	expect("VMREAD to memory, non-canonical", OC_GP0,
	       vmread_mem(GUEST_RIP, NONCANONICAL), "30.3 VMREAD");
	expect("VMWRITE from memory, non-canonical", OC_GP0,
	       vmwrite_mem(GUEST_RIP, NONCANONICAL), "30.3 VMWRITE");
	expect("VMPTRLD, RBP base non-canonical", OC_SS0,
	       vmptrld_rbp(NONCANONICAL), "30.3 VMPTRLD, Vol. 1 3.7.4");
	expect("VMPTRLD, RBP base + 10H non-canonical", OC_SS0,
	       vmptrld_rbp(0x00007ffffffffff0ull), "30.3 VMPTRLD");
	if (!nvmx_env.on_bochs) {
		expect("VMPTRLD through SS, non-canonical", OC_SS0,
		       vmptrld_ss(NONCANONICAL), "30.3 VMPTRLD");
		expect("VMPTRLD through SS, non-canonical (upper half)", OC_SS0,
		       vmptrld_ss(0x0000900000000000ull), "30.3 VMPTRLD");
	}

	/* A read-only page: writes fault with CR0.WP = 1 (Vol. 3A 4.6) */
	expect("VMPTRLD, read-only page", OC_VALID(ERR_VMPTRLD_ADDR),
	       vmptrld_at(ro), "30.3 VMPTRLD");
	asm volatile("mov %0, %%cr0" : : "r"(cr0 | X86_CR0_WP));
	v = vmptrst_at(ro + 0x18);
	asm volatile("mov %0, %%cr0" : : "r"(cr0 & ~X86_CR0_WP));
	expect_pf("VMPTRST, read-only page, CR0.WP = 1", v, PFEC_W | PFEC_P,
		  ro + 0x18);
	asm volatile("mov %0, %%cr0" : : "r"(cr0 | X86_CR0_WP));
	v = vmread_mem(GUEST_RIP, ro + 0x20);
	asm volatile("mov %0, %%cr0" : : "r"(cr0 & ~X86_CR0_WP));
	expect_pf("VMREAD to a read-only page, CR0.WP = 1", v, PFEC_W | PFEC_P,
		  ro + 0x20);
	expect("VMPTRST, read-only page, CR0.WP = 0", OC_OK,
	       vmptrst_at(ro + 0x18), "30.3 VMPTRST, Vol. 3A 4.6.1");
	expect("its value", vmx_pages->vmcs_gpa,
	       *(u64 *)(ro + 0x18), "30.3 VMPTRST");
	asm volatile("mov %0, %%cr0" : : "r"(cr0));

	/* VMREAD: an unsupported field fails before the write (30.3) */
	expect("VMREAD of an unsupported field to an unmapped page",
	       OC_VALID(ERR_FIELD), vmread_mem(0x7fff, un), "30.3 VMREAD");
	expect("VMREAD of an unsupported field, non-canonical destination",
	       OC_VALID(ERR_FIELD), vmread_mem(0x7fff, NONCANONICAL),
	       "30.3 VMREAD");
}

/* ---------------------------------------------------------------------- */
/* VMREAD and VMWRITE encodings                                             */

/* A field of the table L1 is offered (index up to IA32_VMX_VMCS_ENUM's) */
static const struct nvmx_field *field_of(u64 enc)
{
	if (enc >> 32 || NVMX_ENC_INDEX(enc) > NVMX_ENC_INDEX(vmcs_enum))
		return NULL;
	return nvmx_vmcs12_field(enc);
}

static u64 width_mask(const struct nvmx_field *f, u64 enc)
{
	if (enc & NVMX_ENC_HIGH)
		return 0xffffffffull;
	switch (f->width) {
	case NVMX_W16:
		return 0xffff;
	case NVMX_W32:
		return 0xffffffffull;
	default:
		return ~0ull;
	}
}

/* Access-rights fields: some processors drop their reserved bits */
static bool is_ar_field(u64 enc)
{
	return enc >= GUEST_ES_AR_BYTES && enc <= GUEST_TR_AR_BYTES;
}

static bool writable(const struct nvmx_field *f)
{
	return f->class != NVMX_EXIT_INFO || (vmx_misc & BIT_ULL(29));
}

struct sweep_counts {
	u64 ops, ok, fail_field, fail_ro, bad;
} nvmx_sweep;

/*
 * One VMWRITE of @val to @enc (register or memory form, or R9/R15) and the
 * VMREAD that reads it back (register or memory form, or R12/R13), against
 * what 30.3 says for the encoding.
 */
static void access_one(u64 enc, u64 val, u32 form)
{
	const struct nvmx_field *f = field_of(enc);
	u64 w_oc, r_oc, expected, got = 0;
	static u64 mem[3];

	mem[1] = val;
	switch (form % 3) {
	case 0:
		w_oc = vmwrite_reg(enc, val);
		break;
	case 1:
		w_oc = vmwrite_mem(enc, (u64)&mem[1]);
		break;
	default:
		w_oc = vmwrite_r9_r15(enc, val);
		break;
	}
	nvmx_sweep.ops += 2;
	if (!f) {
		nvmx_sweep.fail_field++;
		expect("VMWRITE, unsupported encoding", OC_VALID(ERR_FIELD),
		       w_oc, "30.3 VMWRITE, 24.11.2");
	} else if (!writable(f)) {
		nvmx_sweep.fail_ro++;
		expect("VMWRITE, read-only field", OC_VALID(ERR_READ_ONLY),
		       w_oc, "30.3 VMWRITE, A.6");
	} else {
		nvmx_sweep.ok++;
		expect("VMWRITE, supported field", OC_OK, w_oc, "30.3 VMWRITE");
	}

	mem[0] = 0x7777777777777777ull;
	mem[2] = mem[0];
	mem[1] = 0x3333333333333333ull;
	switch ((form / 3) % 3) {
	case 0:
		r_oc = vmread_reg(enc, &got);
		break;
	case 1:
		r_oc = vmread_mem(enc, (u64)&mem[1]);
		got = mem[1];
		break;
	default:
		r_oc = vmread_r12_r13(enc, &got);
		break;
	}
	if (!f) {
		expect("VMREAD, unsupported encoding", OC_VALID(ERR_FIELD), r_oc,
		       "30.3 VMREAD, 24.11.2");
		return;
	}
	expect("VMREAD, supported field", OC_OK, r_oc, "30.3 VMREAD");
	if (r_oc != OC_OK || !writable(f) || w_oc != OC_OK)
		return;
	expected = val & width_mask(f, enc);
	if (is_ar_field(enc) && got == (expected & 0x1f0ff))
		got = expected;
	expect("VMREAD after VMWRITE (the field's width, zero-extended)",
	       expected, got, "30.3 VMREAD, VMWRITE, 24.11.2");
	expect("the bytes around VMREAD's destination",
	       0x7777777777777777ull * 2, mem[0] + mem[2], "30.3 VMREAD");
}

/* Every row of the table, its high half, each reserved encoding bit */
/* The sweeps work on a VMCS of their own, not the one the cases share */
static void load_scratch_vmcs(void)
{
	u64 p = scratch(3, rev);

	GUEST_ASSERT(!vmclear(p));
	GUEST_ASSERT(!vmptrld(p));
}

static void c_encodings(void)
{
	const struct nvmx_field *f;
	u64 v = 0x0123456789abcdefull;
	u32 bit, enc;
	u32 form = 0;

	load_scratch_vmcs();
	nvmx_for_each_field(f) {
		enc = f->encoding;
		v = v * 6364136223846793005ull + 1442695040888963407ull;
		access_one(enc, v, form++);
		/* 24.11.2: only 64-bit fields have a high-access encoding */
		access_one(enc | NVMX_ENC_HIGH, v, form++);
		/* Reserved: bit 12, bits 31:15 (24.11.2) */
		access_one(enc | BIT(12), v, form++);
		for (bit = 15; bit < 32; bit += 4)
			access_one(enc | BIT(bit), v, form++);
		/* Bits 63:32 of the register operand (30.3 VMREAD) */
		access_one(enc | BIT_ULL(32), v, form++);
		access_one(enc | BIT_ULL(63), v, form++);
	}
	/* Indices above IA32_VMX_VMCS_ENUM's, in each type and width */
	for (enc = 0; enc < 0x8000; enc += 0x400)
		access_one(enc | (NVMX_ENC_INDEX(vmcs_enum) + 1) << 1, v,
			   form++);
}

static u64 rng_state;

static u64 rnd(void)
{
	return nvmx_xorshift64(&rng_state);
}

/* A random encoding of one of the classes of c_encodings(), or any */
static u64 random_encoding(void)
{
	const struct nvmx_field *f = &nvmx_fields[rnd() % NVMX_NR_FIELDS];
	u64 enc = f->encoding;

	switch (rnd() % 8) {
	case 0:
	case 1:
		return enc;
	case 2:
		return enc | NVMX_ENC_HIGH;
	case 3:
		return enc | BIT(12 + rnd() % 20);
	case 4:
		return enc | (rnd() << 32);
	case 5:
		return (u32)rnd();
	case 6:
		return rnd() & 0x7fff;
	default:
		return rnd();
	}
}

static void c_random_encodings(void)
{
	u32 i;

	load_scratch_vmcs();
	rng_state = nvmx_env.seed ? nvmx_env.seed : 1;
	for (i = 0; i < nvmx_env.iters; i++)
		access_one(random_encoding(), rnd(), rnd());
	nvmx_sweep.bad = nr_mismatch;
	ucall(UCALL_SYNC, 1, MSG_COUNTS);
}

/* INVEPT and INVVPID: the type first, then the descriptor (30.3) */
static void c_inv_operands(void)
{
	u64 un = nvmx_env.unmapped_gva;

	if (!invept_offered()) {
		expect("INVEPT, not offered", OC_UD,
		       invept_at(2, (u64)&inv_desc), "30.3 INVEPT");
	} else {
		expect("INVEPT, type 0, descriptor non-canonical",
		       OC_VALID(ERR_INV_OPERAND), invept_at(0, NONCANONICAL),
		       "30.3 INVEPT");
		expect("INVEPT, type 2 + 2^32", OC_VALID(ERR_INV_OPERAND),
		       invept_at(BIT_ULL(32) | 2, (u64)&inv_desc),
		       "30.3 INVEPT");
		expect("INVEPT, type 2, descriptor non-canonical", OC_GP0,
		       invept_at(2, NONCANONICAL), "30.3 INVEPT");
		expect_pf("INVEPT, type 2, descriptor not present",
			  invept_at(2, un), 0, un);
		inv_desc.lo = 0;
		inv_desc.hi = 0;
		expect("INVEPT, type 2", (ept_vpid_cap & BIT_ULL(26)) ? OC_OK :
		       OC_VALID(ERR_INV_OPERAND), invept_at(2, (u64)&inv_desc),
		       "30.3 INVEPT");
		/* EPTP 0: page-walk length 1, which VM entry refuses */
		expect("INVEPT, type 1, EPTP 0", OC_VALID(ERR_INV_OPERAND),
		       invept_at(1, (u64)&inv_desc), "30.3 INVEPT, 26.2.1.1");
	}
	if (!invvpid_offered()) {
		expect("INVVPID, not offered", OC_UD,
		       invvpid_at(2, (u64)&inv_desc), "30.3 INVVPID");
		return;
	}
	expect("INVVPID, type 4, descriptor non-canonical",
	       OC_VALID(ERR_INV_OPERAND), invvpid_at(4, NONCANONICAL),
	       "30.3 INVVPID");
	expect("INVVPID, type 2 + 2^63", OC_VALID(ERR_INV_OPERAND),
	       invvpid_at(BIT_ULL(63) | 2, (u64)&inv_desc), "30.3 INVVPID");
	expect_pf("INVVPID, type 2, descriptor not present", invvpid_at(2, un),
		  0, un);
	if (!nvmx_env.on_bochs)
		expect("INVVPID, type 2, descriptor through SS, non-canonical",
		       OC_SS0, invvpid_ss(2, NONCANONICAL), "30.3 INVVPID");
	inv_desc.lo = BIT_ULL(16);
	inv_desc.hi = 0;
	if (ept_vpid_cap & BIT_ULL(42))
		expect("INVVPID, type 2, reserved bits of the descriptor",
		       OC_VALID(ERR_INV_OPERAND), invvpid_at(2, (u64)&inv_desc),
		       "30.3 INVVPID");
	inv_desc.lo = 1;
	inv_desc.hi = NONCANONICAL;
	if (ept_vpid_cap & BIT_ULL(40))
		expect("INVVPID, type 0, non-canonical address",
		       OC_VALID(ERR_INV_OPERAND), invvpid_at(0, (u64)&inv_desc),
		       "30.3 INVVPID");
	inv_desc.lo = 0;
	if (ept_vpid_cap & BIT_ULL(41))
		expect("INVVPID, type 1, VPID 0", OC_VALID(ERR_INV_OPERAND),
		       invvpid_at(1, (u64)&inv_desc), "30.3 INVVPID");
}

/* ---------------------------------------------------------------------- */
/* CPL 1 and compatibility mode                                             */

/*
 * Stubs run at CPL 1 (64-bit code segment of DPL 1) or in compatibility
 * mode (a 32-bit code segment), one per instruction; each ends in UD2 or a
 * far jump back, so an instruction that does not fault says so.  The
 * operands: the pointer at nvmx_stub_ptr, field GUEST_RIP in RCX, the INV
 * descriptor at inv_desc (never reached: each instruction faults first).
 */
u64 nvmx_stub_ptr;
u64 nvmx_saved_ss;
struct { u32 offset; u16 sel; } __packed nvmx_far;

#define STUB_64(name, insn)						\
	"cpl1_" #name ":\n\t" insn "\n\tud2\n"
#define STUB_32(name, insn)						\
	"compat_" #name ":\n\t" insn "\n"				\
	"compat_" #name "_end:\n\t"					\
	"ljmp $0x8, $nvmx_compat_back\n"

asm(".pushsection .text\n"
	/*
	 * nvmx_cpl1_enter: RDI the stub, RSI its stack.  IRETQ to CPL 1;
	 * the fault handler comes back to nvmx_cpl1_back at CPL 0.
	 */
	"nvmx_cpl1_enter:\n\t"
	"mov %rsp, nvmx_cpl0_rsp(%rip)\n\t"
	"xor %eax, %eax\n\t"
	"mov %ss, %ax\n\t"
	"mov %rax, nvmx_cpl0_ss(%rip)\n\t"
	"lea nvmx_cpl1_back(%rip), %rax\n\t"
	"mov %rax, nvmx_fault_resume(%rip)\n\t"
	"movl $1, nvmx_fault_to_cpl0(%rip)\n\t"
	"movl $1, nvmx_fault_armed(%rip)\n\t"
	"mov $0x681e, %ecx\n\t"			/* GUEST_RIP */
	"xor %edx, %edx\n\t"
	"push $" NVMX_XSTR(SEL_DATA_DPL1) "\n\t"
	"push %rsi\n\t"
	"pushf\n\t"
	"push $" NVMX_XSTR(SEL_CODE64_DPL1) "\n\t"
	"push %rdi\n\t"
	"iretq\n"
	"nvmx_cpl1_back:\n\t"
	"movl $0, nvmx_fault_armed(%rip)\n\t"
	"ret\n"
	STUB_64(vmxon, "vmxon nvmx_stub_ptr(%rip)")
	STUB_64(vmxoff, "vmxoff")
	STUB_64(vmclear, "vmclear nvmx_stub_ptr(%rip)")
	STUB_64(vmptrld, "vmptrld nvmx_stub_ptr(%rip)")
	STUB_64(vmptrst, "vmptrst nvmx_stub_ptr(%rip)")
	STUB_64(vmread, "vmread %rcx, %rdx")
	STUB_64(vmwrite, "vmwrite %rdx, %rcx")
	STUB_64(vmlaunch, "vmlaunch")
	STUB_64(vmresume, "vmresume")
	STUB_64(invept, "invept inv_desc(%rip), %rcx")
	STUB_64(invvpid, "invvpid inv_desc(%rip), %rcx")
	STUB_64(vmfunc, "vmfunc")
	/*
	 * nvmx_compat_enter: RDI the 32-bit stub, RSI where its #UD resumes.
	 * SS becomes a 32-bit data segment (IRETQ back into compatibility
	 * mode reloads it), CS the 32-bit code segment; the stub far-jumps
	 * back to 64-bit mode.
	 */
	"nvmx_compat_enter:\n\t"
	"xor %eax, %eax\n\t"
	"mov %ss, %ax\n\t"
	"mov %rax, nvmx_saved_ss(%rip)\n\t"
	"mov %rsi, nvmx_fault_resume(%rip)\n\t"
	"movl $1, nvmx_fault_armed(%rip)\n\t"
	"mov %edi, nvmx_far(%rip)\n\t"
	"movw $" NVMX_XSTR(SEL_CODE32) ", nvmx_far+4(%rip)\n\t"
	"mov $" NVMX_XSTR(SEL_DATA32) ", %eax\n\t"
	"mov %eax, %ss\n\t"
	"lea op_ptr(%rip), %rax\n\t"
	"mov $0x681e, %ecx\n\t"
	"xor %edx, %edx\n\t"
	"ljmpl *nvmx_far(%rip)\n"
	".code32\n"
	STUB_32(vmxon, "vmxon (%eax)")
	STUB_32(vmxoff, "vmxoff")
	STUB_32(vmclear, "vmclear (%eax)")
	STUB_32(vmptrld, "vmptrld (%eax)")
	STUB_32(vmptrst, "vmptrst (%eax)")
	STUB_32(vmread, "vmread %ecx, %edx")
	STUB_32(vmwrite, "vmwrite %edx, %ecx")
	STUB_32(vmlaunch, "vmlaunch")
	STUB_32(vmresume, "vmresume")
	STUB_32(invept, "invept (%eax), %ecx")
	STUB_32(invvpid, "invvpid (%eax), %ecx")
	STUB_32(vmfunc, "vmfunc")
	".code64\n"
	"nvmx_compat_back:\n\t"
	"movl $0, nvmx_fault_armed(%rip)\n\t"
	"mov nvmx_saved_ss(%rip), %rax\n\t"
	"mov %eax, %ss\n\t"
	"ret\n"
	".popsection\n");

static void call_stub(u64 enter, u64 stub, u64 arg)
{
	asm volatile("lea -128(%%rsp), %%rsp\n\t"
		     "call *%[fn]\n\t"
		     "lea 128(%%rsp), %%rsp"
		     : "+D"(stub), "+S"(arg)
		     : [fn] "r"(enter)
		     : "rax", "rcx", "rdx", "r8", "r9", "r10", "r11", "memory",
		       "cc");
}

/* No strcmp() in L1: the library's guest image has no IFUNC resolved */
enum {
	STUB_vmxon,
	STUB_vmxoff,
	STUB_vmclear,
	STUB_vmptrld,
	STUB_vmptrst,
	STUB_vmread,
	STUB_vmwrite,
	STUB_vmlaunch,
	STUB_vmresume,
	STUB_invept,
	STUB_invvpid,
	STUB_vmfunc,
	NR_STUBS
};

struct stub {
	const char *name;
	int id;
	u64 cpl1, compat, compat_end;
};

#define STUB_ROW(n)							\
	{ #n, STUB_##n, ASM_LABEL(cpl1_##n), ASM_LABEL(compat_##n),	\
	  ASM_LABEL(compat_##n##_end) }

static u64 run_cpl1(const struct stub *s)
{
	fault_reset();
	call_stub(ASM_LABEL(nvmx_cpl1_enter), s->cpl1, nvmx_env.cpl1_stack);
	return OC_EXC(fault_vector, fault_error);
}

static u64 run_compat(const struct stub *s)
{
	fault_reset();
	call_stub(ASM_LABEL(nvmx_compat_enter), s->compat, s->compat_end);
	if (fault_vector == ~0ull)
		return OC_OK;
	return OC_EXC(fault_vector, fault_error);
}

static void stub_table(struct stub *t)
{
	struct stub rows[] = {
		STUB_ROW(vmxon),
		STUB_ROW(vmxoff),
		STUB_ROW(vmclear),
		STUB_ROW(vmptrld),
		STUB_ROW(vmptrst),
		STUB_ROW(vmread),
		STUB_ROW(vmwrite),
		STUB_ROW(vmlaunch),
		STUB_ROW(vmresume),
		STUB_ROW(invept),
		STUB_ROW(invvpid),
		STUB_ROW(vmfunc),
	};

	memcpy(t, rows, sizeof(rows));
}

/*
 * At CPL 1 in VMX root operation: #GP(0), but #UD for VMFUNC (no VM
 * functions in VMX root operation) and for an INVEPT or INVVPID L1 is not
 * offered (30.3 INVEPT, INVVPID: #UD without the 1-setting).
 */
static u64 stub_root_cpl1(int id)
{
	if (id == STUB_vmfunc || (id == STUB_invept && !invept_offered()) ||
	    (id == STUB_invvpid && !invvpid_offered()))
		return OC_UD;
	return OC_GP0;
}

static void c_cpl1(void)
{
	struct stub t[NR_STUBS];
	int i;

	stub_table(t);
	nvmx_stub_ptr = vmx_pages->vmcs_gpa;
	/* In VMX root operation: #GP(0) at CPL > 0; VMFUNC #UD (30.3) */
	for (i = 0; i < NR_STUBS; i++)
		expect(t[i].name, stub_root_cpl1(t[i].id), run_cpl1(&t[i]),
		       "30.3 (CPL > 0 in VMX root operation)");
	expect("VMPTRST (current VMCS unchanged)", vmx_pages->vmcs_gpa,
	       vmptrstz(), "30.3");
	/* Outside VMX operation: #UD, VMXON #GP(0) (CR4.VMXE = 1) */
	vmx_off();
	for (i = 0; i < NR_STUBS; i++)
		expect(t[i].name, t[i].id == STUB_vmxon ? OC_GP0 : OC_UD,
		       run_cpl1(&t[i]), "30.3 (CPL > 0 outside VMX operation)");
	vmx_on();
}

static void c_compat(void)
{
	struct stub t[NR_STUBS];
	int i;

	stub_table(t);
	op_ptr = vmx_pages->vmcs_gpa;
	/* #UD in compatibility mode (IA32_EFER.LMA = 1, CS.L = 0), 30.3 */
	for (i = 0; i < NR_STUBS; i++)
		expect(t[i].name, OC_UD, run_compat(&t[i]),
		       "30.3 (compatibility mode, in VMX operation)");
	expect("VMPTRST (current VMCS unchanged)", vmx_pages->vmcs_gpa,
	       vmptrstz(), "30.3");
	vmx_off();
	for (i = 0; i < NR_STUBS; i++)
		expect(t[i].name, OC_UD, run_compat(&t[i]),
		       "30.3 (compatibility mode, outside VMX operation)");
	vmx_on();
}

static const struct nvmx_case cases[] = {
	{ "outside_vmx_operation", c_outside_vmx },
	{ "vmxon_in_vmx_root", c_vmxon_in_root },
	{ "vmptrld_pointers", c_vmptrld_pointers },
	{ "vmclear_pointers", c_vmclear_pointers },
	{ "memory_operand_forms", c_addressing },
	{ "memory_operand_faults", c_operand_faults },
	{ "vmread_vmwrite_encodings", c_encodings },
	{ "vmread_vmwrite_random", c_random_encodings },
	{ "invept_invvpid_operands", c_inv_operands },
	{ "cpl1", c_cpl1 },
	{ "compatibility_mode", c_compat },
};

void l1_guest_code(struct vmx_pages *vmx)
{
	vmx_pages = vmx;
	read_caps();
	nvmx_l1_run_table(vmx, cases, ARRAY_SIZE(cases));
}

/* ---------------------------------------------------------------------- */
/* Host                                                                     */

static struct kvm_vm *host_vm;
static struct kvm_vcpu *host_vcpu;
static u64 host_feat_ctl;

static void host_message(struct ucall *uc)
{
	struct sweep_counts *k = &nvmx_sweep;

	switch (uc->args[0]) {
	case MSG_FEAT_CTL:
		vcpu_set_msr(host_vcpu, MSR_IA32_FEAT_CTL,
			     uc->args[1] ? uc->args[1] : host_feat_ctl);
		break;
	case MSG_UNEXPECTED:
		ksft_print_msg("unexpected exception %lu at 0x%lx, error 0x%lx, CS 0x%lx\n",
			       uc->args[1], uc->args[2], uc->args[3], uc->args[4]);
		break;
	case MSG_COUNTS:
		sync_global_from_guest(host_vm, nvmx_sweep);
		ksft_print_msg("random sweep seed 0x%lx: %lu VMREAD/VMWRITE\n",
			       nvmx_env.seed, k->ops);
		ksft_print_msg("  writes: %lu taken, %lu unsupported, %lu read-only; %lu wrong\n",
			       k->ok, k->fail_field, k->fail_ro, k->bad);
		break;
	default:
		nvmx_host_case_message(uc);
	}
}

/* The emulated VMX host: Bochs's BIOS names itself in SMBIOS */
static bool host_is_bochs(void)
{
	char vendor[64] = "";
	FILE *f = fopen("/sys/class/dmi/id/bios_vendor", "r");

	if (f) {
		if (!fgets(vendor, sizeof(vendor), f))
			vendor[0] = 0;
		fclose(f);
	}
	return !strncmp(vendor, "The Bochs Project", 17);
}

/* A GDT descriptor: flat, 4-GByte limit, @access byte, @flags nibble */
static u64 gdt_desc(u8 access, u8 flags)
{
	return 0xffffull | (u64)access << 40 | 0xfull << 48 | (u64)flags << 52;
}

static void help(const char *name)
{
	printf("usage: %s [-s SEED] [-i RANDOM_ACCESSES]\n", name);
	exit(KSFT_FAIL);
}

#define SLOT1_INDEX	1
#define SLOT1_PAGES	16
#define HOLE_PAGES	16

int main(int argc, char *argv[])
{
	struct userspace_mem_region *region;
	vm_vaddr_t gva;
	u64 *gdt, slot0_end;
	u64 ro_pte;
	u32 host_rev;
	int opt, i;

	nvmx_env.seed = 0x6f70657273ull;	/* "opers" */
	nvmx_env.iters = 3000;
	while ((opt = getopt(argc, argv, "s:i:")) != -1) {
		switch (opt) {
		case 's':
			nvmx_env.seed = strtoull(optarg, NULL, 0);
			break;
		case 'i':
			nvmx_env.iters = strtoul(optarg, NULL, 0);
			break;
		default:
			help(argv[0]);
		}
	}

	host_vm = nvmx_host_create_table_mem(&host_vcpu, cases,
					     ARRAY_SIZE(cases), NULL, 0);
	ksft_print_msg("seed 0x%lx, %u random VMREAD/VMWRITE pairs (-s SEED -i N to repeat)\n",
		       nvmx_env.seed, nvmx_env.iters);
	vm_init_descriptor_tables(host_vm);
	vcpu_init_descriptor_tables(host_vcpu);
	vm_install_exception_handler(host_vm, UD_VECTOR, fault_handler);
	vm_install_exception_handler(host_vm, GP_VECTOR, fault_handler);
	vm_install_exception_handler(host_vm, SS_VECTOR, fault_handler);
	vm_install_exception_handler(host_vm, PF_VECTOR, fault_handler);

	/* Memslot 1 after a hole past memslot 0 (every other slot is below) */
	region = memslot2region(host_vm, 0);
	slot0_end = region->region.guest_phys_addr + region->region.memory_size;
	nvmx_env.slot0_end = slot0_end;
	nvmx_env.hole_gpa = slot0_end + 0x1000 * HOLE_PAGES / 2;
	nvmx_env.slot1_gpa = slot0_end + HOLE_PAGES * 0x1000;
	nvmx_env.slot1_end = nvmx_env.slot1_gpa + SLOT1_PAGES * 0x1000;
	vm_userspace_mem_region_add(host_vm, VM_MEM_SRC_ANONYMOUS,
				    nvmx_env.slot1_gpa, SLOT1_INDEX,
				    SLOT1_PAGES, 0);
	host_rev = kvm_get_feature_msr(MSR_IA32_VMX_BASIC);
	*(u32 *)addr_gpa2hva(host_vm, nvmx_env.slot1_gpa) = host_rev;
	*(u32 *)addr_gpa2hva(host_vm, nvmx_env.slot1_end - 0x1000) = host_rev;

	for (i = 0; i < NR_SCRATCH; i++) {
		gva = vm_vaddr_alloc_page(host_vm);
		nvmx_env.scratch_gva[i] = gva;
		nvmx_env.scratch_gpa[i] = addr_gva2gpa(host_vm, gva);
	}
	/* A page mapped read-only (its PTE without R/W) */
	gva = vm_vaddr_alloc_page(host_vm);
	nvmx_env.ro_gva = gva;
	nvmx_env.ro_gpa = addr_gva2gpa(host_vm, gva);
	ro_pte = vm_get_page_table_entry(host_vm, host_vcpu, gva);
	vm_set_page_table_entry(host_vm, host_vcpu, gva, ro_pte & ~BIT_ULL(1));
	/* VMPTRLD's pointer there: unaligned (VMfailValid 9) */
	*(u64 *)addr_gva2hva(host_vm, gva) = 0x10;
	nvmx_env.unmapped_gva = 0x00007f0000000000ull;

	/* CPL 1's stack, and TSS.RSP0 for the way back to CPL 0 */
	gva = vm_vaddr_alloc(host_vm, 2 * 0x1000, KVM_UTIL_MIN_VADDR);
	nvmx_env.cpl1_stack = gva + 0x1000;
	*(u64 *)(addr_gva2hva(host_vm, host_vm->tss) + 4) = gva + 2 * 0x1000;
	gdt = addr_gva2hva(host_vm, host_vm->gdt);
	gdt[SEL_CODE32 >> 3] = gdt_desc(0x9b, 0xc);	/* 32-bit code */
	gdt[SEL_DATA32 >> 3] = gdt_desc(0x93, 0xc);	/* 32-bit data */
	gdt[SEL_CODE64_DPL1 >> 3] = gdt_desc(0xbb, 0xa); /* 64-bit, DPL 1 */
	gdt[SEL_DATA_DPL1 >> 3] = gdt_desc(0xb3, 0xc);	/* data, DPL 1 */

	nvmx_env.on_bochs = host_is_bochs();
	if (nvmx_env.on_bochs)
		ksft_print_msg("%s\n%s\n",
			       "on Bochs: an SS segment override is not checked: Bochs 2.7",
			       "reports DS as the segment in 64-bit mode (30.3: #SS(0))");
	host_feat_ctl = vcpu_get_msr(host_vcpu, MSR_IA32_FEAT_CTL);
	host_feat_ctl |= FEAT_CTL_LOCKED | FEAT_CTL_VMX_ENABLED_OUTSIDE_SMX;
	return nvmx_host_run(host_vm, host_vcpu, host_message);
}
