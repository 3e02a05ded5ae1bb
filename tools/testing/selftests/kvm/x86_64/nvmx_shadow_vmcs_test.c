// SPDX-License-Identifier: GPL-2.0-only
/*
 * nvmx_shadow_vmcs_test: VMCS shadowing offered to L1 (SDM Vol. 3C 24.10).
 *
 * L1 gives L2 a shadow VMCS: a VMCS region whose shadow-VMCS indicator
 * (bit 31 of its first 4 bytes) is 1, named by vmcs12's VMCS link pointer,
 * with "VMCS shadowing" set in vmcs12.  L2's VMREAD and VMWRITE then exit
 * to L1 only for an encoding with a bit set above bit 14 or whose bit in
 * the VMREAD or VMWRITE bitmap is 1 (25.1.3, 30.3); the others read and
 * write the shadow VMCS, with the outcomes of 30.2 (VMfailValid puts the
 * error into the current VMCS, vmcs12), memory operands through L2's own
 * segments and paging, and faults delivered in L2.  In VMX root operation
 * a shadow VMCS is loaded with VMPTRLD and accessed like any VMCS, but
 * VMLAUNCH and VMRESUME refuse it (26.1).  VM entry checks the bitmap
 * addresses (26.2.1.1) and the link pointer (26.3.1.5).
 *
 * In each case L2 ends with a VMCALL: that it is the first VM exit L1 sees
 * shows that no VMREAD or VMWRITE before it exited to L1.
 *
 * Where the SDM and what one might expect part: a link pointer of
 * FFFFFFFF_FFFFFFFFH passes VM entry also with "VMCS shadowing" (26.3.1.5
 * checks only a pointer other than that), and L2's VMREAD and VMWRITE that
 * do not exit then fail with VMfailInvalid (30.3: "VMCS link pointer is not
 * valid").  Where stock KVM 6.1 deviates from the SDM it is recorded as
 * such (report_known(), XFAIL with stock): it lets the link pointer name
 * the current VMCS (26.3.1.5 forbids it).
 *
 * Section numbers are those of the SDM editions that number the VMX
 * chapters 24 to 30; newer editions add one.
 */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>

#include "test_util.h"
#include "kvm_util.h"
#include "processor.h"
#include "vmx.h"

/* Set by the host before L1 runs. */
struct nvmx_env {
	bool strict;		/* known stock deviations fail instead of XFAIL */
};

struct nvmx_env nvmx_env;

#include "nvmx_selftest.h"

#define F_CF			0x0001ull
#define F_ZF			0x0040ull

/* VM-instruction errors (30.4) */
#define ERR_INVALID_CONTROL	7
#define ERR_UNSUPPORTED_FIELD	12
#define ERR_VMWRITE_READ_ONLY	13

/* Exit reasons (Appendix C) */
#define REASON_EXCEPTION_NMI	0
#define REASON_VMREAD		23
#define REASON_VMWRITE		25
#define REASON_ENTRY_FAIL_GUEST	(BIT(31) | 33)
#define QUAL_LINK_POINTER	4	/* 26.8: invalid VMCS link pointer */

#define SHADOW_INDICATOR	BIT(31)
#define ALL_ONES		(~0ull)

/* Field encodings (Appendix B) as L2's asm loads them */
#define ENC_ES_SELECTOR		0x0800	/* 16-bit guest state */
#define ENC_ES_LIMIT		0x4800	/* 32-bit guest state */
#define ENC_EXIT_REASON		0x4402	/* 32-bit exit information */
#define ENC_TSC_OFFSET		0x2010	/* 64-bit control */
#define ENC_TSC_OFFSET_HIGH	0x2011
#define ENC_GUEST_RIP		0x681e	/* natural-width guest state */
#define ENC_NO_FIELD		0x00fe	/* 16-bit control, index 7FH: none */

/* What L1 writes into the shadow VMCS, and L2 into it */
#define VAL_ES_SELECTOR		0xbeef
#define VAL_ES_LIMIT		0x12345678
#define VAL_TSC_OFFSET		0x1122334455667788ull
#define VAL_GUEST_RIP		0xfeedfacecafef00dull
#define VAL_L2_RIP		0x5555aaaa5555aaaaull
#define VAL_L2_ES_LIMIT		0x0badf00d

/* 27.2.1, Table 27-13: instruction information of VMREAD and VMWRITE */
#define INFO_REG_MASK		0xf0000478u	/* reg1, reg/mem, reg2 */
#define INFO_MEM_MASK		0xffc38780u	/* no reg1; no index, scale */
#define INFO_REG1(r)		((r) << 3)
#define INFO_REG_OPERAND	BIT(10)
#define INFO_ADDR64		(2u << 7)
#define INFO_SEG_DS		(3u << 15)
#define INFO_NO_INDEX		BIT(22)
#define INFO_BASE(r)		((r) << 23)
#define INFO_REG2(r)		((u32)(r) << 28)
#define GPR_RAX			0
#define GPR_RDX			2
#define GPR_R8			8

/* 27.2.2: a #GP with its error code */
#define EV_GP			(BIT(31) | BIT(11) | (3u << 8) | 13)
#define GP_VECTOR_NR		13

static struct vmx_pages *pages;

/* L2's memory operands (through L1's paging, which L2 shares) */
static u64 l2_mem[4];

/*
 * L2's bodies.  NVMX_ASM_ACC_FLAGS ORs the arithmetic flags of the VMX
 * instruction before it into R14 (30.2: 0 is VMsucceed).
 */
#define NVMX_ASM_ACC_FLAGS						\
	"pushf\n\t"							\
	"pop %rcx\n\t"							\
	"or %rcx, %r14\n\t"

asm(".pushsection .text\n"
	/*
	 * Read a 16-bit, a 32-bit, a 64-bit (both halves) and a
	 * natural-width field, the last into memory at RDX; write RSI into
	 * GUEST_RIP and the value at RDX + 8 into GUEST_ES_LIMIT.
	 */
	"l2_shadow_access:\n\t"
	"xor %r14, %r14\n\t"
	"mov $" NVMX_XSTR(ENC_ES_SELECTOR) ", %eax\n\t"
	"vmread %rax, %r8\n\t"
	NVMX_ASM_ACC_FLAGS
	"mov $" NVMX_XSTR(ENC_ES_LIMIT) ", %eax\n\t"
	"vmread %rax, %r9\n\t"
	NVMX_ASM_ACC_FLAGS
	"mov $" NVMX_XSTR(ENC_TSC_OFFSET) ", %eax\n\t"
	"vmread %rax, %r10\n\t"
	NVMX_ASM_ACC_FLAGS
	"mov $" NVMX_XSTR(ENC_TSC_OFFSET_HIGH) ", %eax\n\t"
	"vmread %rax, %r11\n\t"
	NVMX_ASM_ACC_FLAGS
	"mov $" NVMX_XSTR(ENC_GUEST_RIP) ", %eax\n\t"
	"vmread %rax, (%rdx)\n\t"
	NVMX_ASM_ACC_FLAGS
	"vmwrite %rsi, %rax\n\t"
	NVMX_ASM_ACC_FLAGS
	"mov $" NVMX_XSTR(ENC_ES_LIMIT) ", %eax\n\t"
	"vmwrite 8(%rdx), %rax\n\t"
	NVMX_ASM_ACC_FLAGS
	"l2_shadow_access_end:\n\t"
	"vmcall\n\t"
	"ud2\n"

	/*
	 * One access after another that L1 may want: a VMREAD (register
	 * operands) and a VMWRITE (memory operand) of fields whose bitmap
	 * bits L1 sets, VMREADs of encodings with bit 16 and bit 32 set, and
	 * a VMREAD of ES limit.
	 */
	"l2_exits:\n\t"
	"mov $" NVMX_XSTR(ENC_ES_SELECTOR) ", %eax\n"
	"l2_exits_vmread:\n\t"
	"vmread %rax, %r8\n\t"
	"mov $" NVMX_XSTR(ENC_GUEST_RIP) ", %eax\n"
	"l2_exits_vmwrite:\n\t"
	"vmwrite 0x10(%rdx), %rax\n\t"
	"mov $(0x10000 | " NVMX_XSTR(ENC_ES_LIMIT) "), %eax\n"
	"l2_exits_bit16:\n\t"
	"vmread %rax, %r8\n\t"
	"movabs $(0x100000000 | " NVMX_XSTR(ENC_ES_LIMIT) "), %rax\n"
	"l2_exits_bit32:\n\t"
	"vmread %rax, %r8\n\t"
	"mov $" NVMX_XSTR(ENC_ES_LIMIT) ", %eax\n"
	"l2_exits_es_limit:\n\t"
	"vmread %rax, %r9\n"
	"l2_exits_end:\n\t"
	"vmcall\n\t"
	"ud2\n"

	/*
	 * VMWRITE of an exit-information field, RFLAGS in R8; then VMREAD
	 * of an encoding no field has, RFLAGS in R10.
	 */
	"l2_errors:\n\t"
	"mov $" NVMX_XSTR(ENC_EXIT_REASON) ", %eax\n\t"
	"mov $0x12, %esi\n\t"
	"vmwrite %rsi, %rax\n\t"
	"pushf\n\t"
	"pop %r8\n"
	"l2_errors_read_only:\n\t"
	"vmcall\n\t"
	"mov $" NVMX_XSTR(ENC_NO_FIELD) ", %eax\n\t"
	"vmread %rax, %r9\n\t"
	"pushf\n\t"
	"pop %r10\n"
	"l2_errors_end:\n\t"
	"vmcall\n\t"
	"ud2\n"

	/* A VMREAD and a VMWRITE with RFLAGS OR-ed into R14 */
	"l2_read_write:\n\t"
	"xor %r14, %r14\n\t"
	"mov $" NVMX_XSTR(ENC_ES_SELECTOR) ", %eax\n\t"
	"vmread %rax, %r8\n\t"
	NVMX_ASM_ACC_FLAGS
	"vmwrite %r8, %rax\n\t"
	NVMX_ASM_ACC_FLAGS
	"l2_read_write_end:\n\t"
	"vmcall\n\t"
	"ud2\n"

	/* A VMREAD into the memory at RDX */
	"l2_read_to_mem:\n\t"
	"mov $" NVMX_XSTR(ENC_ES_SELECTOR) ", %eax\n"
	"l2_read_to_mem_vmread:\n\t"
	"vmread %rax, (%rdx)\n\t"
	"vmcall\n\t"
	"ud2\n"

	"l2_vmcall:\n\t"
	"vmcall\n\t"
	"ud2\n"
	".popsection");

/* ---------------------------------------------------------------------- */
/* L1.                                                                      */

/* 30.2: the arithmetic flags a VMX instruction left, as L2 saw them. */
static u64 arith(u64 rflags)
{
	return rflags & F_ARITH;
}

/*
 * vmcs12 gets "VMCS shadowing" with the link pointer @link; false (and a
 * skip) when L1 is not offered it (A.3.3).
 */
static bool shadowing_on(u64 link)
{
	if (!ctl_update(SECONDARY_VM_EXEC_CONTROL, MSR_IA32_VMX_PROCBASED_CTLS2,
			SECONDARY_EXEC_SHADOW_VMCS, 0)) {
		skip("VMCS shadowing not offered (IA32_VMX_PROCBASED_CTLS2 bit 46)");
		return false;
	}
	vmwrite(VMCS_LINK_POINTER, link);
	return true;
}

/* Every bit of the VMREAD bitmap @rd and the VMWRITE bitmap @wr (24.6.15) */
static void bitmaps_fill(u8 rd, u8 wr)
{
	memset(pages->vmread, rd, PAGE_SIZE);
	memset(pages->vmwrite, wr, PAGE_SIZE);
}

/* The bit of encoding @enc (bits 14:0) in @bitmap */
static void bitmap_set(void *bitmap, u32 enc, bool set)
{
	u8 *byte = (u8 *)bitmap + (enc & 0x7fff) / 8;

	if (set)
		*byte |= BIT(enc % 8);
	else
		*byte &= ~BIT(enc % 8);
}

/* VMPTRLD of @gpa must succeed (30.3), @gpa then the current VMCS. */
static bool make_current(u64 gpa, const char *what)
{
	int failed = vmptrld(gpa);

	report(what, 0, failed, "30.3 VMPTRLD");
	return !failed;
}

/*
 * In VMX root operation, the shadow VMCS is loaded and written like any
 * VMCS (24.10), then vmcs12 is current again.
 */
static bool shadow_write_fields(void)
{
	if (!make_current(pages->shadow_vmcs_gpa, "VMPTRLD of the shadow VMCS failed"))
		return false;
	vmwrite(GUEST_ES_SELECTOR, VAL_ES_SELECTOR);
	vmwrite(GUEST_ES_LIMIT, VAL_ES_LIMIT);
	vmwrite(TSC_OFFSET, VAL_TSC_OFFSET);
	vmwrite(GUEST_RIP, VAL_GUEST_RIP);
	return make_current(pages->vmcs_gpa, "VMPTRLD of vmcs12 failed");
}

/* L2 reads the four widths and writes two fields of the shadow VMCS. */
static void l2_reads_and_writes(void)
{
	if (!shadow_write_fields() || !shadowing_on(pages->shadow_vmcs_gpa))
		return;
	bitmaps_fill(0xff, 0xff);
	bitmap_set(pages->vmread, ENC_ES_SELECTOR, false);
	bitmap_set(pages->vmread, ENC_ES_LIMIT, false);
	bitmap_set(pages->vmread, ENC_TSC_OFFSET, false);
	bitmap_set(pages->vmread, ENC_TSC_OFFSET_HIGH, false);
	bitmap_set(pages->vmread, ENC_GUEST_RIP, false);
	bitmap_set(pages->vmwrite, ENC_GUEST_RIP, false);
	bitmap_set(pages->vmwrite, ENC_ES_LIMIT, false);

	l2_setup(ASM_LABEL(l2_shadow_access));
	l2_mem[0] = 0;
	l2_mem[1] = VAL_L2_ES_LIMIT;
	nvmx_gpr_in[2] = (u64)l2_mem;
	nvmx_gpr_in[6] = VAL_L2_RIP;
	if (!l2_launch() || !nvmx_vmcall_at(ASM_LABEL(l2_shadow_access_end)))
		return;
	report("L2's VMREAD/VMWRITE arithmetic flags", 0,
	       arith(nvmx_gpr_out[14]), "30.3 VMREAD, VMWRITE");
	report("L2's VMREAD of guest ES selector", VAL_ES_SELECTOR,
	       nvmx_gpr_out[8], "30.3 VMREAD (link pointer's VMCS)");
	report("L2's VMREAD of guest ES limit", VAL_ES_LIMIT, nvmx_gpr_out[9],
	       "30.3 VMREAD");
	report("L2's VMREAD of TSC offset", VAL_TSC_OFFSET, nvmx_gpr_out[10],
	       "30.3 VMREAD");
	report("L2's VMREAD of TSC offset (high)", VAL_TSC_OFFSET >> 32,
	       nvmx_gpr_out[11], "24.11.2");
	report("L2's VMREAD of guest RIP into memory", VAL_GUEST_RIP,
	       l2_mem[0], "30.3 VMREAD");

	/* L2's writes are in the shadow VMCS, seen when L1 loads it */
	if (!make_current(pages->shadow_vmcs_gpa, "VMPTRLD of the shadow VMCS failed"))
		return;
	CHECK(GUEST_RIP, VAL_L2_RIP, "30.3 VMWRITE (link pointer's VMCS)");
	CHECK(GUEST_ES_LIMIT, VAL_L2_ES_LIMIT, "30.3 VMWRITE (memory operand)");
	CHECK(GUEST_ES_SELECTOR, VAL_ES_SELECTOR, "30.3");
	CHECK(TSC_OFFSET, VAL_TSC_OFFSET, "30.3");
	make_current(pages->vmcs_gpa, "VMPTRLD of vmcs12 failed");
}

/*
 * The accesses of l2_exits, one VM exit to L1 each (25.1.3): @es_limit_exits
 * says whether the last one, a VMREAD of ES limit, exits too.
 */
static void l2_exits_expect(bool es_limit_exits)
{
	u32 info;

	l2_setup(ASM_LABEL(l2_exits));
	nvmx_gpr_in[2] = (u64)l2_mem;
	if (!l2_launch() ||
	    !nvmx_exit_at(REASON_VMREAD, ASM_LABEL(l2_exits_vmread),
			  "25.1.3 VMREAD"))
		return;
	info = vmreadz(VMX_INSTRUCTION_INFO);
	report("VMREAD instruction information (reg1, reg, reg2)",
	       INFO_REG1(GPR_R8) | INFO_REG_OPERAND | INFO_REG2(GPR_RAX),
	       info & INFO_REG_MASK, "27.2.5");

	if (!nvmx_l2_resume(true) ||
	    !nvmx_exit_at(REASON_VMWRITE, ASM_LABEL(l2_exits_vmwrite),
			  "25.1.3 VMWRITE"))
		return;
	info = vmreadz(VMX_INSTRUCTION_INFO);
	report("VMWRITE instruction information (memory operand)",
	       INFO_ADDR64 | INFO_SEG_DS | INFO_NO_INDEX | INFO_BASE(GPR_RDX) |
	       INFO_REG2(GPR_RAX), info & INFO_MEM_MASK, "27.2.5");
	CHECK(EXIT_QUALIFICATION, 0x10, "27.2.1 (displacement)");

	if (!nvmx_l2_resume(true) ||
	    !nvmx_exit_at(REASON_VMREAD, ASM_LABEL(l2_exits_bit16),
			  "25.1.3 (encoding bit 16)"))
		return;
	if (!nvmx_l2_resume(true) ||
	    !nvmx_exit_at(REASON_VMREAD, ASM_LABEL(l2_exits_bit32),
			  "25.1.3 (encoding bit 32)"))
		return;
	if (!nvmx_l2_resume(true))
		return;
	if (es_limit_exits) {
		if (!nvmx_exit_at(REASON_VMREAD, ASM_LABEL(l2_exits_es_limit),
				  "25.1.3 (VMCS shadowing 0)"))
			return;
		if (!nvmx_l2_resume(true))
			return;
	}
	nvmx_vmcall_at(ASM_LABEL(l2_exits_end));
}

/*
 * With shadowing: the bitmap bits set for ES selector (VMREAD) and guest
 * RIP (VMWRITE), and bits 63:15 of the encoding, make L2's access exit.
 */
static void bitmap_and_encoding_exits(void)
{
	if (!shadow_write_fields() || !shadowing_on(pages->shadow_vmcs_gpa))
		return;
	bitmaps_fill(0, 0);
	bitmap_set(pages->vmread, ENC_ES_SELECTOR, true);
	bitmap_set(pages->vmwrite, ENC_GUEST_RIP, true);
	l2_exits_expect(false);
	report("L2's VMREAD of ES limit", VAL_ES_LIMIT, nvmx_gpr_out[9],
	       "30.3 VMREAD");
}

/* Without shadowing every VMREAD and VMWRITE of L2 exits (25.1.3). */
static void shadowing_off_exits(void)
{
	bitmaps_fill(0, 0);
	l2_exits_expect(true);
}

/*
 * VMfailValid in VMX non-root operation goes into the current VMCS,
 * vmcs12 (30.2): error 13 for a VMWRITE of an exit-information field
 * without IA32_VMX_MISC bit 29 (A.6; with it the write is done), error 12
 * for an encoding no field has.
 */
static void vmfail_valid_errors(void)
{
	bool write_any = rdmsr(MSR_IA32_VMX_MISC) & BIT_ULL(29);

	if (!shadow_write_fields() || !shadowing_on(pages->shadow_vmcs_gpa))
		return;
	bitmaps_fill(0, 0);
	l2_setup(ASM_LABEL(l2_errors));
	if (!l2_launch() ||
	    !nvmx_vmcall_at(ASM_LABEL(l2_errors_read_only)))
		return;
	if (write_any) {
		report("L2's VMWRITE of exit reason (IA32_VMX_MISC[29])", 0,
		       arith(nvmx_gpr_out[8]), "30.3 VMWRITE");
	} else {
		report("L2's VMWRITE of exit reason", F_ZF,
		       arith(nvmx_gpr_out[8]), "30.3 VMWRITE");
		CHECK(VM_INSTRUCTION_ERROR, ERR_VMWRITE_READ_ONLY, "30.4");
	}

	if (!nvmx_l2_resume(true) || !nvmx_vmcall_at(ASM_LABEL(l2_errors_end)))
		return;
	report("L2's VMREAD of an unsupported encoding", F_ZF,
	       arith(nvmx_gpr_out[10]), "30.3 VMREAD");
	CHECK(VM_INSTRUCTION_ERROR, ERR_UNSUPPORTED_FIELD, "30.4");

	if (!write_any ||
	    !make_current(pages->shadow_vmcs_gpa, "VMPTRLD of the shadow VMCS failed"))
		return;
	CHECK(VM_EXIT_REASON, 0x12, "30.3 VMWRITE");
	make_current(pages->vmcs_gpa, "VMPTRLD of vmcs12 failed");
}

/*
 * A fault on L2's memory operand is L2's (30.3 VMREAD, 64-bit mode: #GP(0)
 * for a non-canonical address), here intercepted by L1's exception bitmap.
 */
static void memory_operand_fault(void)
{
	if (!shadow_write_fields() || !shadowing_on(pages->shadow_vmcs_gpa))
		return;
	bitmaps_fill(0, 0);
	vmwrite(EXCEPTION_BITMAP, BIT(GP_VECTOR_NR));
	l2_setup(ASM_LABEL(l2_read_to_mem));
	nvmx_gpr_in[2] = BIT_ULL(63);
	if (!l2_launch() ||
	    !nvmx_exit_at(REASON_EXCEPTION_NMI, ASM_LABEL(l2_read_to_mem_vmread),
			  "30.3 VMREAD (#GP in L2), 25.2"))
		return;
	CHECK(VM_EXIT_INTR_INFO, EV_GP, "27.2.2");
	CHECK(VM_EXIT_INTR_ERROR_CODE, 0, "27.2.2");
}

/*
 * A link pointer of FFFFFFFF_FFFFFFFFH passes VM entry with shadowing
 * (26.3.1.5 checks other values only); L2's VMREAD and VMWRITE that do
 * not exit fail with VMfailInvalid (30.3).
 */
static void link_pointer_all_ones(void)
{
	if (!shadowing_on(ALL_ONES))
		return;
	bitmaps_fill(0, 0);
	l2_setup(ASM_LABEL(l2_read_write));
	if (!l2_launch() || !nvmx_vmcall_at(ASM_LABEL(l2_read_write_end)))
		return;
	report("L2's VMREAD and VMWRITE without a link pointer", F_CF,
	       arith(nvmx_gpr_out[14]), "30.3 VMREAD, VMWRITE, 26.3.1.5");
}

/*
 * VMPTRLD takes a shadow VMCS (30.3), which becomes current (VMPTRST);
 * VMLAUNCH and VMRESUME with it fail with VMfailInvalid (26.1 step 4).
 */
static void vmlaunch_shadow_current(void)
{
	if (!(vmx_true_msr(MSR_IA32_VMX_PROCBASED_CTLS2) >> 32 &
	      SECONDARY_EXEC_SHADOW_VMCS)) {
		skip("VMCS shadowing not offered (IA32_VMX_PROCBASED_CTLS2 bit 46)");
		return;
	}
	if (!make_current(pages->shadow_vmcs_gpa, "VMPTRLD of the shadow VMCS failed"))
		return;
	report("VMPTRST", pages->shadow_vmcs_gpa, vmptrstz(), "30.3 VMPTRST");
	l2_setup(ASM_LABEL(l2_vmcall));
	report("VMLAUNCH with a shadow VMCS failed", 1, nvmx_l2_run(1), "26.1");
	report("its RFLAGS (VMfailInvalid)", F_CF, nvmx_vmfail_rflags, "26.1");
	report("VMRESUME with a shadow VMCS failed", 1, nvmx_l2_run(0), "26.1");
	report("its RFLAGS (VMfailInvalid)", F_CF, nvmx_vmfail_rflags, "26.1");
	make_current(pages->vmcs_gpa, "VMPTRLD of vmcs12 failed");
}

/* VMLAUNCH must end in a VM-entry failure for the link pointer (26.8). */
static void expect_link_failure(const char *sdm)
{
	l2_setup(ASM_LABEL(l2_vmcall));
	report("VMLAUNCH failed (VMfail)", 0, nvmx_l2_run(1), sdm);
	CHECK(VM_EXIT_REASON, REASON_ENTRY_FAIL_GUEST, sdm);
	CHECK(EXIT_QUALIFICATION, QUAL_LINK_POINTER, "26.8");
}

/* With shadowing the link pointer's region must be a shadow VMCS. */
static void link_pointer_not_shadow(void)
{
	if (!shadowing_on(pages->shadow_vmcs_gpa))
		return;
	*(u32 *)pages->shadow_vmcs = vmcs_revision();
	expect_link_failure("26.3.1.5 (bit 31 = VMCS shadowing)");
}

/* Without shadowing it must not be one (and must not be the current VMCS). */
static void link_pointer_shadow_without_shadowing(void)
{
	vmwrite(VMCS_LINK_POINTER, pages->shadow_vmcs_gpa);
	expect_link_failure("26.3.1.5 (bit 31 = VMCS shadowing)");
}

static void link_pointer_current_vmcs(void)
{
	u32 reason;

	vmwrite(VMCS_LINK_POINTER, pages->vmcs_gpa);
	l2_setup(ASM_LABEL(l2_vmcall));
	report("VMLAUNCH failed (VMfail)", 0, nvmx_l2_run(1), "26.3.1.5");
	reason = vmreadz(VM_EXIT_REASON);
	report_known("VM_EXIT_REASON", REASON_ENTRY_FAIL_GUEST, reason,
		     EXIT_REASON_VMCALL_NR, "26.3.1.5 (not the current VMCS)",
		     "stock KVM 6.1 accepts the current VMCS as link pointer");
	if (reason == REASON_ENTRY_FAIL_GUEST)
		CHECK(EXIT_QUALIFICATION, QUAL_LINK_POINTER, "26.8");
}

/*
 * 26.2.1.1: with shadowing, the VMREAD- and VMWRITE-bitmap addresses must
 * be 4-KByte aligned and within the physical-address width, else
 * VMfailValid(7).
 */
static void bitmap_address_checks(void)
{
	if (!shadowing_on(pages->shadow_vmcs_gpa))
		return;
	l2_setup(ASM_LABEL(l2_vmcall));
	vmwrite(VMREAD_BITMAP, pages->vmread_gpa + 0x800);
	report("VMLAUNCH failed (misaligned VMREAD bitmap)", 1,
	       nvmx_l2_run(1), "26.2.1.1");
	CHECK(VM_INSTRUCTION_ERROR, ERR_INVALID_CONTROL, "26.2.1.1");

	vmwrite(VMREAD_BITMAP, pages->vmread_gpa);
	vmwrite(VMWRITE_BITMAP, BIT_ULL(52));
	report("VMLAUNCH failed (VMWRITE bitmap beyond the width)", 1,
	       nvmx_l2_run(1), "26.2.1.1");
	CHECK(VM_INSTRUCTION_ERROR, ERR_INVALID_CONTROL, "26.2.1.1");

	vmwrite(VMWRITE_BITMAP, pages->vmwrite_gpa);
	bitmaps_fill(0xff, 0xff);
	report("VMLAUNCH with both bitmaps right failed", 0, nvmx_l2_run(1),
	       "26.2.1.1");
	CHECK(VM_EXIT_REASON, EXIT_REASON_VMCALL_NR, "26.2.1.1");
}

static const struct nvmx_case cases[] = {
	{ "l2_reads_and_writes", l2_reads_and_writes },
	{ "bitmap_and_encoding_exits", bitmap_and_encoding_exits },
	{ "shadowing_off_exits", shadowing_off_exits },
	{ "vmfail_valid_errors", vmfail_valid_errors },
	{ "memory_operand_fault", memory_operand_fault },
	{ "link_pointer_all_ones", link_pointer_all_ones },
	{ "vmlaunch_shadow_current", vmlaunch_shadow_current },
	{ "link_pointer_not_shadow", link_pointer_not_shadow },
	{ "link_pointer_shadow_without_shadowing",
	  link_pointer_shadow_without_shadowing },
	{ "link_pointer_current_vmcs", link_pointer_current_vmcs },
	{ "bitmap_address_checks", bitmap_address_checks },
};

void l1_guest_code(struct vmx_pages *vmx)
{
	pages = vmx;
	nvmx_l1_run_table(vmx, cases, ARRAY_SIZE(cases));
}

/* ---------------------------------------------------------------------- */
/* Host.                                                                    */

int main(int argc, char *argv[])
{
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;

	vm = nvmx_host_create_table(&vcpu, cases, ARRAY_SIZE(cases));
	return nvmx_host_run(vm, vcpu, nvmx_host_case_message);
}
