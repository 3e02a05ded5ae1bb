// SPDX-License-Identifier: GPL-2.0-only
/*
 * nvmx_cr_owner_test: who owns which CR0/CR4 bit while L2 runs.
 *
 * A bit set in vmcs12's CR0/CR4 guest/host mask is owned by L1: an L2
 * write that would give it a value other than the read shadow's exits to
 * L1 (SDM Vol. 3C 25.1.3: MOV to CR0/CR4, CLTS, LMSW), a write that matches
 * the shadow leaves the real bit alone (25.3), and MOV from CR reads it from
 * the shadow (25.3).  A bit clear in the mask is owned by L2: it is written
 * without an exit to L1 and read as it is.  Underneath, L0 (KVM) owns bits
 * of its own: in Linux 6.1 KVM lets a guest own only CR0.TS and CR0.WP (WP
 * only with EPT) and CR4.PVI, DE, PCE, OSFXSR, OSXMMEXCPT, PGE, TSD and
 * FSGSBASE (kvm_cache_regs.h, vmx.c set_cr4_guest_host_mask()), so L2
 * writes to CR0.MP/EM/NE and CR4.MCE/PSE exit to L0 even when L1 lets L2
 * own them.  Such a write must not reach L1 and must still show in vmcs12's
 * guest CR0/CR4 at the next exit.  (The design review asked for the same
 * shape with CR0.TS intercepted by L0 for lazy FPU; 6.1 has no lazy FPU and
 * passes TS through, so MP and EM play that part here, and TS covers the
 * opposite: L0 passes the bit through, L1 owns it.)
 *
 * Every case is one row of cases[]: which register and bit, the mask, the
 * guest value and read shadow L1 sets, the value L2 writes, how L2 must end
 * up leaving (an exit for the CR access, #GP, #NM or the closing VMCALL) and
 * the bit in vmcs12's guest CRx at that exit.  L2 reads the register before
 * and after the write, and probes the real CR0.TS/EM with an x87 FNOP
 * (#NM if either is 1, intercepted by L1), which shows the value the CPU
 * really uses even where vmcs12 could be reconstructed wrongly.
 *
 * Section numbers are those of the SDM editions that number the VMX chapters
 * 24 (VMCS) to 27 (VM exits); newer editions add one to the chapter.
 */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>

#include "test_util.h"
#include "kvm_util.h"
#include "processor.h"
#include "vmx.h"

#define EXIT_REASON_EXCEPTION_NR	0
#define EXIT_REASON_CR_ACCESS_NR	28

/* VM-exit interruption information (24.9.2 Table 24-15). */
#define NVMX_INTR_VALID			BIT(31)
#define NVMX_INTR_ERRCODE		BIT(11)
#define NVMX_INTR_HW_EXCEPTION		(3 << 8)
#define NVMX_NM_VECTOR			7
#define NVMX_GP_VECTOR			13

/* Exit qualification for control-register accesses (27.2.1 Table 27-3). */
#define QUAL_MOV_TO_CR			(0 << 4)
#define QUAL_CLTS			(2 << 4)
#define QUAL_LMSW			(3 << 4)
#define QUAL_LMSW_MEM			BIT(6)
#define QUAL_REG(r)			((r) << 8)
#define QUAL_LMSW_SRC(v)		((u64)((v) & 0xffff) << 16)

/* The registers the L2 bodies use as MOV-to-CR sources. */
#define GPR_RBX				3
#define GPR_R10				10
#define GPR_RSI				6
#define GPR_RDI				7

/* Set by the host before L1 runs. */
struct nvmx_env {
	bool strict;		/* known stock deviations fail instead of XFAIL */
};

struct nvmx_env nvmx_env;

#include "nvmx_selftest.h"

/* The operand of "LMSW m16". */
u16 nvmx_lmsw_word;

/*
 * L2 bodies: read the register into RSI, write it (label *_op), read it
 * into RDI, probe CR0.TS/EM with FNOP (*_probe), exit with VMCALL
 * (*_vmcall).  The source operand is RBX for CR0 and LMSW, R10 for CR4.
 */
asm(".pushsection .text\n"
	"l2_mov_cr0:\n\t"
	"mov %cr0, %rsi\n"
	"l2_mov_cr0_op:\n\t"
	"mov %rbx, %cr0\n\t"
	"mov %cr0, %rdi\n"
	"l2_mov_cr0_probe:\n\t"
	"fnop\n"
	"l2_mov_cr0_vmcall:\n\t"
	"vmcall\n\t"
	"ud2\n"
	"l2_mov_cr4:\n\t"
	"mov %cr4, %rsi\n"
	"l2_mov_cr4_op:\n\t"
	"mov %r10, %cr4\n\t"
	"mov %cr4, %rdi\n"
	"l2_mov_cr4_probe:\n\t"
	"fnop\n"
	"l2_mov_cr4_vmcall:\n\t"
	"vmcall\n\t"
	"ud2\n"
	"l2_clts:\n\t"
	"mov %cr0, %rsi\n"
	"l2_clts_op:\n\t"
	"clts\n\t"
	"mov %cr0, %rdi\n"
	"l2_clts_probe:\n\t"
	"fnop\n"
	"l2_clts_vmcall:\n\t"
	"vmcall\n\t"
	"ud2\n"
	"l2_lmsw_reg:\n\t"
	"mov %cr0, %rsi\n"
	"l2_lmsw_reg_op:\n\t"
	"lmsw %bx\n\t"
	"mov %cr0, %rdi\n"
	"l2_lmsw_reg_probe:\n\t"
	"fnop\n"
	"l2_lmsw_reg_vmcall:\n\t"
	"vmcall\n\t"
	"ud2\n"
	"l2_lmsw_mem:\n\t"
	"mov %cr0, %rsi\n"
	"l2_lmsw_mem_op:\n\t"
	"lmsw nvmx_lmsw_word(%rip)\n\t"
	"mov %cr0, %rdi\n"
	"l2_lmsw_mem_probe:\n\t"
	"fnop\n"
	"l2_lmsw_mem_vmcall:\n\t"
	"vmcall\n\t"
	"ud2\n\t"
	".popsection\n");

/* ---------------------------------------------------------------------- */
/* Cases.                                                                   */

enum cr_op { OP_MOV, OP_CLTS, OP_LMSW_REG, OP_LMSW_MEM };

/* How L2 stops, as the SDM predicts for the row. */
enum cr_end {
	END_CR_EXIT,	/* the write exits to L1 (25.1.3) */
	END_GP,		/* the write sets a bit fixed in VMX operation (25.3) */
	END_NM,		/* the write is done, real TS or EM is 1: FNOP faults */
	END_VMCALL,	/* the write is done, L2 reaches its VMCALL */
};

struct cr_case {
	const char *name;
	int cr;				/* 0 or 4 */
	enum cr_op op;
	u64 mask;			/* CRx guest/host mask */
	u64 guest_set, guest_clear;	/* GUEST_CRx: L1's CRx, these changed */
	u64 shadow_set, shadow_clear;	/* CRx read shadow, likewise */
	u64 write_set, write_clear;	/* operand: what L2 read, changed */
	enum cr_end end;
	u64 after_set, after_clear;	/* GUEST_CRx at that exit vs entry */
	const char *sdm;
	/*
	 * Set where stock KVM is known to end differently: how, and why.
	 * Where the deviation is vmx.c's, nvmx, which keeps vmx.c, has it too.
	 */
	enum cr_end stock_end;
	const char *stock_dev;
};

#define TS	X86_CR0_TS
#define MP	X86_CR0_MP
#define EM	X86_CR0_EM
#define NE	X86_CR0_NE
#define WP	X86_CR0_WP

/*
 * name, cr, op, mask, guest set/clear, shadow set/clear, write set/clear,
 * end, after set/clear, SDM section.
 */
static const struct cr_case cases[] = {
	/* CR0.TS: L0 lets the guest own it; L1 owns it or not. */
	{ "ts_l1_mov_exits", 0, OP_MOV, TS, 0, TS, 0, TS, TS, 0,
	  END_CR_EXIT, 0, 0, "25.1.3 (MOV to CR0)" },
	{ "ts_l1_mov_matching_shadow", 0, OP_MOV, TS, TS, 0, 0, TS, 0, TS,
	  END_NM, 0, 0, "25.1.3, 25.3 (MOV to CR0)" },
	{ "ts_l1_clts_exits", 0, OP_CLTS, TS, TS, 0, TS, 0, 0, 0,
	  END_CR_EXIT, 0, 0, "25.1.3 (CLTS)" },
	{ "ts_l1_clts_shadow_clear", 0, OP_CLTS, TS, TS, 0, 0, TS, 0, 0,
	  END_NM, 0, 0, "25.1.3, 25.3 (CLTS)" },
	{ "ts_l1_lmsw_exits", 0, OP_LMSW_REG, TS, 0, TS, 0, TS, TS, 0,
	  END_CR_EXIT, 0, 0, "25.1.3 (LMSW)" },
	{ "ts_l2_mov", 0, OP_MOV, 0, 0, TS, TS, 0, TS, 0,
	  END_NM, TS, 0, "25.1.3, 25.3 (MOV to CR0)" },
	{ "ts_l2_clts", 0, OP_CLTS, 0, TS, 0, TS, 0, 0, 0,
	  END_VMCALL, 0, TS, "25.3 (CLTS)" },
	{ "ts_l2_lmsw", 0, OP_LMSW_REG, 0, 0, TS, TS, 0, TS, 0,
	  END_NM, TS, 0, "25.3 (LMSW)" },
	/* CR0.MP: L0 intercepts it. */
	{ "mp_l1_mov_exits", 0, OP_MOV, MP, 0, MP, 0, MP, MP, 0,
	  END_CR_EXIT, 0, 0, "25.1.3 (MOV to CR0)" },
	{ "mp_l1_lmsw_mem_exits", 0, OP_LMSW_MEM, MP, 0, MP, 0, MP, MP, 0,
	  END_CR_EXIT, 0, 0, "25.1.3 (LMSW)" },
	{ "mp_l2_mov_l0_intercepts", 0, OP_MOV, 0, 0, MP, MP, 0, MP, 0,
	  END_VMCALL, MP, 0, "25.3 (MOV to CR0)" },
	{ "mp_l2_lmsw_l0_intercepts", 0, OP_LMSW_REG, 0, MP, 0, 0, MP, 0, MP,
	  END_VMCALL, 0, MP, "25.3 (LMSW)" },
	/*
	 * L1 owns TS (shadow 0, real 1), L2 owns MP: LMSW writes TS = 0,
	 * which matches the shadow, and MP = 1.  Only MP may change.  The
	 * write exits to L0 for MP and vmx.c completes it with kvm_lmsw(),
	 * which loads all of CR0[3:0]: stock ends at VMCALL with TS clear;
	 * nvmx gives kvm_lmsw() L1's TS in the source operand.
	 */
	{ "mp_l2_lmsw_with_ts_l1", 0, OP_LMSW_REG, TS, TS, MP, 0, TS, MP, TS,
	  END_NM, MP, 0, "25.1.3, 25.3 (LMSW)", END_VMCALL,
	  "stock's LMSW emulation for L2 clears CR0.TS although L1 owns it" },
	/* CR0.EM: L0 intercepts it. */
	{ "em_l1_mov_exits", 0, OP_MOV, EM, 0, EM, 0, EM, EM, 0,
	  END_CR_EXIT, 0, 0, "25.1.3 (MOV to CR0)" },
	{ "em_l1_mov_matching_shadow", 0, OP_MOV, EM, 0, EM, EM, 0, EM, 0,
	  END_VMCALL, 0, 0, "25.1.3, 25.3 (MOV to CR0)" },
	{ "em_l2_mov_l0_intercepts", 0, OP_MOV, 0, 0, EM, EM, 0, EM, 0,
	  END_NM, EM, 0, "25.3 (MOV to CR0)" },
	{ "em_l2_lmsw_l0_intercepts", 0, OP_LMSW_REG, 0, EM, 0, 0, EM, 0, EM,
	  END_VMCALL, 0, EM, "25.3 (LMSW)" },
	/* CR0.NE: fixed to 1 in VMX operation (23.8). */
	{ "ne_l1_mov_exits", 0, OP_MOV, NE, NE, 0, NE, 0, 0, NE,
	  END_CR_EXIT, 0, 0, "25.1.3 (MOV to CR0)" },
	{ "ne_l1_mov_matching_shadow", 0, OP_MOV, NE, NE, 0, 0, NE, 0, NE,
	  END_VMCALL, 0, 0, "25.1.3, 25.3 (MOV to CR0)" },
	{ "ne_l2_mov_gp", 0, OP_MOV, 0, NE, 0, 0, NE, 0, NE,
	  END_GP, 0, 0, "25.3 (MOV to CR0), 23.8" },
	/* CR0.WP: L0 passes it through with EPT, intercepts it without. */
	{ "wp_l1_mov_exits", 0, OP_MOV, WP, WP, 0, WP, 0, 0, WP,
	  END_CR_EXIT, 0, 0, "25.1.3 (MOV to CR0)" },
	{ "wp_l2_mov", 0, OP_MOV, 0, WP, 0, 0, WP, 0, WP,
	  END_VMCALL, 0, WP, "25.3 (MOV to CR0)" },
	/* CR4 bits L0 lets the guest own. */
	{ "pge_l1_mov_exits", 4, OP_MOV, X86_CR4_PGE, 0, X86_CR4_PGE, 0,
	  X86_CR4_PGE, X86_CR4_PGE, 0, END_CR_EXIT, 0, 0,
	  "25.1.3 (MOV to CR4)" },
	{ "pge_l2_mov", 4, OP_MOV, 0, 0, X86_CR4_PGE, X86_CR4_PGE, 0,
	  X86_CR4_PGE, 0, END_VMCALL, X86_CR4_PGE, 0, "25.3 (MOV to CR4)" },
	{ "osfxsr_l1_mov_exits", 4, OP_MOV, X86_CR4_OSFXSR, X86_CR4_OSFXSR, 0,
	  X86_CR4_OSFXSR, 0, 0, X86_CR4_OSFXSR, END_CR_EXIT, 0, 0,
	  "25.1.3 (MOV to CR4)" },
	{ "osfxsr_l2_mov", 4, OP_MOV, 0, X86_CR4_OSFXSR, 0, 0, X86_CR4_OSFXSR,
	  0, X86_CR4_OSFXSR, END_VMCALL, 0, X86_CR4_OSFXSR,
	  "25.3 (MOV to CR4)" },
	{ "osxmmexcpt_l1_mov_exits", 4, OP_MOV, X86_CR4_OSXMMEXCPT, 0,
	  X86_CR4_OSXMMEXCPT, 0, X86_CR4_OSXMMEXCPT, X86_CR4_OSXMMEXCPT, 0,
	  END_CR_EXIT, 0, 0, "25.1.3 (MOV to CR4)" },
	{ "osxmmexcpt_l2_mov", 4, OP_MOV, 0, 0, X86_CR4_OSXMMEXCPT,
	  X86_CR4_OSXMMEXCPT, 0, X86_CR4_OSXMMEXCPT, 0, END_VMCALL,
	  X86_CR4_OSXMMEXCPT, 0, "25.3 (MOV to CR4)" },
	{ "tsd_l1_mov_exits", 4, OP_MOV, X86_CR4_TSD, 0, X86_CR4_TSD, 0,
	  X86_CR4_TSD, X86_CR4_TSD, 0, END_CR_EXIT, 0, 0,
	  "25.1.3 (MOV to CR4)" },
	{ "tsd_l2_mov", 4, OP_MOV, 0, 0, X86_CR4_TSD, X86_CR4_TSD, 0,
	  X86_CR4_TSD, 0, END_VMCALL, X86_CR4_TSD, 0, "25.3 (MOV to CR4)" },
	{ "de_l1_mov_exits", 4, OP_MOV, X86_CR4_DE, 0, X86_CR4_DE, 0,
	  X86_CR4_DE, X86_CR4_DE, 0, END_CR_EXIT, 0, 0,
	  "25.1.3 (MOV to CR4)" },
	{ "de_l1_mov_matching_shadow", 4, OP_MOV, X86_CR4_DE, 0, X86_CR4_DE,
	  X86_CR4_DE, 0, X86_CR4_DE, 0, END_VMCALL, 0, 0,
	  "25.1.3, 25.3 (MOV to CR4)" },
	{ "de_l2_mov", 4, OP_MOV, 0, 0, X86_CR4_DE, X86_CR4_DE, 0,
	  X86_CR4_DE, 0, END_VMCALL, X86_CR4_DE, 0, "25.3 (MOV to CR4)" },
	{ "pce_l1_mov_exits", 4, OP_MOV, X86_CR4_PCE, 0, X86_CR4_PCE, 0,
	  X86_CR4_PCE, X86_CR4_PCE, 0, END_CR_EXIT, 0, 0,
	  "25.1.3 (MOV to CR4)" },
	{ "pce_l2_mov", 4, OP_MOV, 0, 0, X86_CR4_PCE, X86_CR4_PCE, 0,
	  X86_CR4_PCE, 0, END_VMCALL, X86_CR4_PCE, 0, "25.3 (MOV to CR4)" },
	/* CR4 bits L0 intercepts. */
	{ "mce_l1_mov_exits", 4, OP_MOV, X86_CR4_MCE, 0, X86_CR4_MCE, 0,
	  X86_CR4_MCE, X86_CR4_MCE, 0, END_CR_EXIT, 0, 0,
	  "25.1.3 (MOV to CR4)" },
	{ "mce_l2_mov_l0_intercepts", 4, OP_MOV, 0, 0, X86_CR4_MCE,
	  X86_CR4_MCE, 0, X86_CR4_MCE, 0, END_VMCALL, X86_CR4_MCE, 0,
	  "25.3 (MOV to CR4)" },
	{ "pse_l2_mov_l0_intercepts", 4, OP_MOV, 0, 0, X86_CR4_PSE,
	  X86_CR4_PSE, 0, X86_CR4_PSE, 0, END_VMCALL, X86_CR4_PSE, 0,
	  "25.3 (MOV to CR4)" },
};

static const char *case_name(int i)
{
	return cases[i].name;
}

static u64 label_addr(enum cr_op op, int cr, int which)
{
	/* which: 0 entry, 1 op, 2 probe, 3 vmcall */
	u64 l[4] = { 0 };

	switch (op) {
	case OP_MOV:
		if (cr == 0) {
			l[0] = ASM_LABEL(l2_mov_cr0);
			l[1] = ASM_LABEL(l2_mov_cr0_op);
			l[2] = ASM_LABEL(l2_mov_cr0_probe);
			l[3] = ASM_LABEL(l2_mov_cr0_vmcall);
		} else {
			l[0] = ASM_LABEL(l2_mov_cr4);
			l[1] = ASM_LABEL(l2_mov_cr4_op);
			l[2] = ASM_LABEL(l2_mov_cr4_probe);
			l[3] = ASM_LABEL(l2_mov_cr4_vmcall);
		}
		break;
	case OP_CLTS:
		l[0] = ASM_LABEL(l2_clts);
		l[1] = ASM_LABEL(l2_clts_op);
		l[2] = ASM_LABEL(l2_clts_probe);
		l[3] = ASM_LABEL(l2_clts_vmcall);
		break;
	case OP_LMSW_REG:
		l[0] = ASM_LABEL(l2_lmsw_reg);
		l[1] = ASM_LABEL(l2_lmsw_reg_op);
		l[2] = ASM_LABEL(l2_lmsw_reg_probe);
		l[3] = ASM_LABEL(l2_lmsw_reg_vmcall);
		break;
	case OP_LMSW_MEM:
		l[0] = ASM_LABEL(l2_lmsw_mem);
		l[1] = ASM_LABEL(l2_lmsw_mem_op);
		l[2] = ASM_LABEL(l2_lmsw_mem_probe);
		l[3] = ASM_LABEL(l2_lmsw_mem_vmcall);
		break;
	}
	return l[which];
}

static u64 cr_qualification(const struct cr_case *c, u64 operand)
{
	switch (c->op) {
	case OP_MOV:
		return c->cr | QUAL_MOV_TO_CR |
		       QUAL_REG(c->cr ? GPR_R10 : GPR_RBX);
	case OP_CLTS:
		return QUAL_CLTS;
	case OP_LMSW_REG:
		return QUAL_LMSW | QUAL_LMSW_SRC(operand);
	default:
		return QUAL_LMSW | QUAL_LMSW_MEM | QUAL_LMSW_SRC(operand);
	}
}

/*
 * Bits a row toggles must be ones the CPU L1 sees lets L2 set (the
 * IA32_VMX_CR0/CR4_FIXED1 capability MSRs, A.7/A.8).
 */
static bool cr_bits_supported(const struct cr_case *c)
{
	u64 bits = c->mask | c->guest_set | c->shadow_set | c->write_set |
		   c->after_set;
	u64 fixed1 = rdmsr(c->cr ? MSR_IA32_VMX_CR4_FIXED1 :
			   MSR_IA32_VMX_CR0_FIXED1);

	return !(bits & ~fixed1);
}

/* Which way L2 ended, from the exit L1 got; -1 for none of the four. */
static int cr_end_of_exit(u32 reason)
{
	u32 info = vmreadz(VM_EXIT_INTR_INFO);
	u32 hw = NVMX_INTR_VALID | NVMX_INTR_HW_EXCEPTION;

	if (reason == EXIT_REASON_CR_ACCESS_NR)
		return END_CR_EXIT;
	if (reason == EXIT_REASON_VMCALL_NR)
		return END_VMCALL;
	if (reason != EXIT_REASON_EXCEPTION_NR)
		return -1;
	if (info == (hw | NVMX_INTR_ERRCODE | NVMX_GP_VECTOR))
		return END_GP;
	if (info == (hw | NVMX_NM_VECTOR))
		return END_NM;
	return -1;
}

static void run_cr_case(const struct cr_case *c)
{
	u32 mask_field = c->cr ? CR4_GUEST_HOST_MASK : CR0_GUEST_HOST_MASK;
	u32 shadow_field = c->cr ? CR4_READ_SHADOW : CR0_READ_SHADOW;
	u32 guest_field = c->cr ? GUEST_CR4 : GUEST_CR0;
	u64 base = c->cr ? get_cr4() : get_cr0();
	u64 guest = (base | c->guest_set) & ~c->guest_clear;
	u64 shadow = (base | c->shadow_set) & ~c->shadow_clear;
	u64 read = (guest & ~c->mask) | (shadow & c->mask);
	u64 operand = (read | c->write_set) & ~c->write_clear;
	u64 after = (guest | c->after_set) & ~c->after_clear;
	int got;
	u32 reason;

	if (!cr_bits_supported(c)) {
		skip("a bit of this row is fixed to 0 in VMX operation");
		return;
	}
	/* #NM and #GP exit to L1, so a fault cannot go unnoticed. */
	vmwrite(EXCEPTION_BITMAP, BIT(NVMX_NM_VECTOR) | BIT(NVMX_GP_VECTOR));
	vmwrite(mask_field, c->mask);
	vmwrite(shadow_field, shadow);
	vmwrite(guest_field, guest);
	l2_setup(label_addr(c->op, c->cr, 0));
	nvmx_gpr_in[c->cr ? GPR_R10 : GPR_RBX] = operand;
	nvmx_lmsw_word = operand;
	if (!l2_launch())
		return;

	reason = vmreadz(VM_EXIT_REASON);
	got = cr_end_of_exit(reason);
	report("RSI: MOV from CR before the write", read,
	       nvmx_gpr_out[GPR_RSI], "25.3 (MOV from CR0/CR4)");
	if (got != c->end) {
		if (c->stock_dev && got == c->stock_end && !nvmx_env.strict) {
			xfail_reason = c->stock_dev;
			ucall(UCALL_SYNC, 6, NVMX_MSG_NOTE, cur_case,
			      "how L2 ended (0 CR exit, 1 #GP, 2 #NM, 3 VMCALL)",
			      c->end, got, c->sdm);
		} else {
			report("how L2 ended (0 CR exit, 1 #GP, 2 #NM, 3 VMCALL)",
			       c->end, got, c->sdm);
			report("VM_EXIT_REASON", c->end == END_CR_EXIT ?
			       EXIT_REASON_CR_ACCESS_NR : c->end == END_VMCALL ?
			       EXIT_REASON_VMCALL_NR : EXIT_REASON_EXCEPTION_NR,
			       reason, c->sdm);
		}
		return;
	}
	switch (c->end) {
	case END_CR_EXIT:
		CHECK(EXIT_QUALIFICATION, cr_qualification(c, operand),
		      "27.2.1 Table 27-3");
		if (c->op == OP_LMSW_MEM)
			CHECK(GUEST_LINEAR_ADDRESS, (u64)&nvmx_lmsw_word,
			      "27.2.1 (LMSW with a memory operand)");
		CHECK(GUEST_RIP, label_addr(c->op, c->cr, 1), "27.3.3");
		break;
	case END_GP:
		CHECK(VM_EXIT_INTR_ERROR_CODE, 0, c->sdm);
		CHECK(GUEST_RIP, label_addr(c->op, c->cr, 1), "27.3.3");
		break;
	case END_NM:
	case END_VMCALL:
		report("RDI: MOV from CR after the write",
		       (after & ~c->mask) | (shadow & c->mask),
		       nvmx_gpr_out[GPR_RDI], "25.3 (MOV from CR0/CR4)");
		CHECK(GUEST_RIP, label_addr(c->op, c->cr,
					    c->end == END_NM ? 2 : 3),
		      "27.3.3");
		break;
	}
	/* The processor never writes the mask or the read shadow. */
	report(c->cr ? "GUEST_CR4" : "GUEST_CR0", after, vmreadz(guest_field),
	       c->sdm);
	report(c->cr ? "CR4_READ_SHADOW" : "CR0_READ_SHADOW", shadow,
	       vmreadz(shadow_field), "24.6.6");
	report(c->cr ? "CR4_GUEST_HOST_MASK" : "CR0_GUEST_HOST_MASK", c->mask,
	       vmreadz(mask_field), "24.6.6");
}

static void run_case(int i)
{
	run_cr_case(&cases[i]);
}

void l1_guest_code(struct vmx_pages *vmx)
{
	GUEST_ASSERT(prepare_for_vmx_operation(vmx));
	/*
	 * CR0.ET is 1 on every CPU with VMX (2.5), but the selftest library
	 * sets L1's CR0 with KVM_SET_SREGS, which leaves it 0 until KVM
	 * emulates a CR0 write.  Start from the architectural value so that
	 * the rows compare like with like.
	 */
	asm volatile("mov %0, %%cr0" : : "r"(get_cr0() | X86_CR0_ET));
	nvmx_l1_run_cases(vmx, ARRAY_SIZE(cases), run_case);
}

int main(int argc, char *argv[])
{
	return nvmx_host_main(ARRAY_SIZE(cases), case_name);
}
