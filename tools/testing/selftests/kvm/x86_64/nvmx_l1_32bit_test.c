// SPDX-License-Identifier: GPL-2.0-only
/*
 * nvmx_l1_32bit_test: the memory and register operands of VMX instructions
 * that L1 executes in 32-bit protected mode (issue 13).
 *
 * The selftest library gives L1 only 64-bit mode, and in compatibility mode
 * VMX instructions #UD (SDM Vol. 3C 30.3), so the host puts the vCPU itself
 * into 32-bit protected mode (CR0.PE = PG = 1, EFER.LMA = 0, 32-bit paging
 * with 4-MByte pages mapping linear addresses to the same physical ones)
 * with KVM_SET_SREGS, and each case is one VMX instruction of a .code32
 * stub copied into L1's memory, entered with the segments (hidden parts
 * included) and registers the case needs.  The stub reports with OUT: port
 * E1H after the instruction completed (the host reads RFLAGS and the
 * registers), port E2H from the handler of the exception it raised (EAX
 * the vector, ECX the error code, EDX the EIP pushed).  What is checked:
 *   VMXON, VMCLEAR, VMPTRLD, VMPTRST  success: RFLAGS CF = ZF = 0 (30.2);
 *   with a flat operand               VMPTRST stores the 8-byte pointer
 *   a data segment's limit            the operand's last byte at the limit
 *                                     succeeds, one past it or past the
 *                                     whole operand: #GP(0) (Vol. 3A 5.3,
 *                                     Vol. 3C 30.3 "Protected Mode
 *                                     Exceptions"); through SS: #SS(0)
 *   expand-down data segment          an offset at the limit faults, one
 *                                     above succeeds; with B = 0 the upper
 *                                     bound is FFFFH (Vol. 3A 5.3); SS too
 *   unusable DS, ES, FS, GS           #GP(0)
 *   write to a read-only data or to   #GP(0) (Vol. 3A 5.4: VMPTRST, VMREAD
 *   a code segment, read through an   to memory); a read through a
 *   execute-only code segment         readable code segment succeeds
 *   address size                      16-bit: the offset wraps at 64 KBytes
 *                                     (67H prefix); 32-bit: at 4 GBytes,
 *                                     and so does base + offset (Vol. 1
 *                                     3.6, Vol. 3A 3.4)
 *   VMREAD and VMWRITE                32-bit operand size, register and
 *                                     memory forms: 4 bytes are read and
 *                                     written (the segment limit counts
 *                                     4); a 64-bit field written with its
 *                                     full encoding has its high 32 bits
 *                                     cleared, its high encoding writes and
 *                                     reads bits 63:32; a natural-width
 *                                     field reads its low 32 bits and is
 *                                     cleared above them by VMWRITE (30.3
 *                                     VMREAD, VMWRITE), checked from 64-bit
 *                                     mode too
 *   INVEPT, INVVPID                   the 128-bit descriptor: the limit
 *                                     counts 16 bytes
 *   bits 63:32 of the registers       ignored: in an address, a VMCS-field
 *                                     encoding, a VMWRITE value
 * Fields whose VMREAD and VMWRITE exit to L0 with both modules (neither
 * shadows them): TSC offset (2010H/2011H), CR4 guest/host mask (6002H).
 *
 * Stock 6.1 checks an expand-down segment's limit as if it expanded up:
 * an offset above the limit faults (XFAIL, reported as its deviation).
 */
#include <stdlib.h>
#include <string.h>

#include "nvmx_module.h"
#include "test_util.h"
#include "kvm_util.h"
#include "processor.h"
#include "vmx.h"

#define PORT_DONE	0xe1
#define PORT_EXC	0xe2

#define ENC_TSC_OFFSET		0x2010u
#define ENC_TSC_OFFSET_HIGH	0x2011u
#define ENC_CR4_MASK		0x6002u

#define F_ARITH		0x08d5ull	/* CF PF AF ZF SF OF */
#define F_CF		0x0001ull
#define F_ZF		0x0040ull

#define SEG_DATA_RO	0x1	/* read-only, accessed */
#define SEG_DATA_RW	0x3	/* read/write, accessed */
#define SEG_DATA_RW_DN	0x7	/* read/write, expand-down, accessed */
#define SEG_CODE_XO	0x9	/* execute-only, accessed */
#define SEG_CODE_XR	0xb	/* execute/read, accessed */

/* Segment registers in the order of the instruction information (27.2.5). */
enum { SR_ES, SR_CS, SR_SS, SR_DS, SR_FS, SR_GS };

#define SEL_CODE	0x08
#define SEL_DATA	0x10

/*
 * L1's 32-bit code: one entry per VMX instruction form, each followed by
 * OUT to PORT_DONE, and a 16-byte handler per exception vector.  It is
 * copied into a page of its own: only relative jumps.
 */
asm(".pushsection .text\n"
	".code32\n"
	".balign 16\n"
	"l32_start:\n"
	"l32_vmxon: vmxon (%ebx); out %al, $0xe1\n"
	"l32_vmclear: vmclear (%ebx); out %al, $0xe1\n"
	"l32_vmptrld: vmptrld (%ebx); out %al, $0xe1\n"
	"l32_vmptrst: vmptrst (%ebx); out %al, $0xe1\n"
	"l32_vmptrld_ss: vmptrld 0(%ebp); out %al, $0xe1\n"
	"l32_vmptrld_es: vmptrld %es:(%ebx); out %al, $0xe1\n"
	"l32_vmptrld_fs: vmptrld %fs:(%ebx); out %al, $0xe1\n"
	"l32_vmptrld_gs: vmptrld %gs:(%ebx); out %al, $0xe1\n"
	"l32_vmptrld_cs: vmptrld %cs:(%ebx); out %al, $0xe1\n"
	"l32_vmptrst_cs: vmptrst %cs:(%ebx); out %al, $0xe1\n"
	"l32_vmptrst_a16: vmptrst 0x10(%bx); out %al, $0xe1\n"
	"l32_vmptrst_a32: vmptrst 0x10(%ebx); out %al, $0xe1\n"
	"l32_vmread_mem: vmread %ecx, (%ebx); out %al, $0xe1\n"
	"l32_vmread_reg: vmread %ecx, %eax; out %al, $0xe1\n"
	"l32_vmwrite_mem: vmwrite (%ebx), %ecx; out %al, $0xe1\n"
	"l32_vmwrite_reg: vmwrite %eax, %ecx; out %al, $0xe1\n"
	"l32_invept: invept (%ebx), %eax; out %al, $0xe1\n"
	"l32_invvpid: invvpid (%ebx), %eax; out %al, $0xe1\n"
	"l32_exc: mov (%esp), %edx; out %al, $0xe2\n"
	".balign 16\n"
	"l32_vectors:\n"
	".irp v, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31\n"
	".balign 16\n"
	".if (\\v == 8) || (\\v >= 10 && \\v <= 14) || (\\v == 17)\n"
	"pop %ecx\n"
	".else\n"
	"xor %ecx, %ecx\n"
	".endif\n"
	"mov $\\v, %eax\n"
	"jmp l32_exc\n"
	".endr\n"
	"l32_end:\n"
	".code64\n"
	/* 64-bit L1, on the library's page tables, checks what 32-bit wrote. */
	"l64_vmread: vmread %rcx, %rax; out %al, $0xe1\n"
	"l64_vmwrite: vmwrite %rax, %rcx; out %al, $0xe1\n"
	".popsection\n");

/* The address of a label of the asm block above. */
#define ASM_LABEL(sym) ({						\
	u64 __addr;							\
									\
	asm("lea " #sym "(%%rip), %0" : "=r"(__addr));			\
	__addr;								\
})

/* Where a label of the 32-bit code is in its page. */
#define L32(sym)	(ASM_LABEL(sym) - ASM_LABEL(l32_start))

/* L1's memory (guest-physical = linear), one contiguous run of pages. */
enum { PG_PD, PG_GDT, PG_IDT, PG_CODE, PG_STACK, PG_DATA, PG_DATA2, NR_PG };

static struct kvm_vm *vm;
static struct kvm_vcpu *vcpu;
static struct vmx_pages *vmx;
static vm_paddr_t mem;
static struct kvm_sregs sregs32, sregs64;
static struct kvm_regs regs64;
static bool strict;

static vm_paddr_t pg(int i)
{
	return mem + i * 4096;
}

static void *hva(vm_paddr_t gpa)
{
	return addr_gpa2hva(vm, gpa);
}

/* The operand: in the middle of a data page, 8-aligned. */
#define OPND	(pg(PG_DATA) + 0x800)

/* ---------------------------------------------------------------------- */
/* Reporting, as nvmx_selftest.h's L1 side does it.                         */

static const char *case_name;
static int nr_mismatch;
static const char *xfail_reason;

static void begin(const char *name)
{
	case_name = name;
	nr_mismatch = 0;
	xfail_reason = NULL;
}

static void report(const char *field, u64 expected, u64 actual,
		   const char *sdm)
{
	if (expected == actual)
		return;
	nr_mismatch++;
	ksft_print_msg("%s: %s: expected 0x%lx, got 0x%lx (SDM %s)\n",
		       case_name, field, expected, actual, sdm);
}

static void end(void)
{
	if (nr_mismatch)
		ksft_test_result_fail("%s\n", case_name);
	else if (xfail_reason)
		ksft_test_result_xfail("%s: %s (set NVMX_STRICT=1 to fail)\n",
				       case_name, xfail_reason);
	else
		ksft_test_result_pass("%s\n", case_name);
}

/* ---------------------------------------------------------------------- */
/* Running one instruction.                                                 */

/*
 * What an instruction did, as one number: its arithmetic flags when it
 * completed, OUTCOME_EXC | vector << 32 | error code when it faulted
 * (at its own EIP, checked), OUTCOME_EXIT | exit reason when L1 left KVM
 * some other way.
 */
#define OUTCOME_EXC		BIT_ULL(48)
#define OUTCOME_EXIT		BIT_ULL(49)
#define EXC(v, e)		(OUTCOME_EXC | (u64)(v) << 32 | (e))
#define GP0			EXC(13, 0)
#define SS0			EXC(12, 0)
#define OK			0ull

static struct kvm_regs regs;

static u64 run(struct kvm_sregs *s, struct kvm_regs *r)
{
	struct kvm_run *kr = vcpu->run;
	u64 rip = r->rip;

	vcpu_sregs_set(vcpu, s);
	vcpu_regs_set(vcpu, r);
	vcpu_run(vcpu);
	vcpu_regs_get(vcpu, &regs);
	if (kr->exit_reason != KVM_EXIT_IO)
		return OUTCOME_EXIT | kr->exit_reason;
	if (kr->io.port == PORT_DONE)
		return regs.rflags & F_ARITH;
	if (kr->io.port == PORT_EXC) {
		/* A fault reports the faulting instruction (Vol. 3A 6.5). */
		report("faulting EIP", (u32)rip, (u32)regs.rdx, "Vol. 3A 6.5");
		return EXC(regs.rax & 0xff, (u32)regs.rcx);
	}
	return OUTCOME_EXIT | 0x10000 | kr->io.port;
}

static struct kvm_segment seg(u16 sel, u32 base, u32 limit, u8 type)
{
	struct kvm_segment s = {
		.base = base, .limit = limit, .selector = sel, .type = type,
		.present = 1, .s = 1, .db = 1, .g = limit > 0xfffff,
	};

	TEST_ASSERT(!s.g || (limit & 0xfff) == 0xfff, "limit 0x%x", limit);
	return s;
}

/* Flat 32-bit protected mode: CS execute/read, the others read/write. */
static void flat(struct kvm_sregs *s, struct kvm_regs *r, u64 entry)
{
	*s = sregs32;
	memset(r, 0, sizeof(*r));
	r->rflags = 2;
	r->rsp = pg(PG_STACK) + 4096 - 16;
	r->rip = pg(PG_CODE) + entry;
}

static struct kvm_segment *sreg(struct kvm_sregs *s, int nr)
{
	struct kvm_segment *segs[] = { &s->es, &s->cs, &s->ss, &s->ds,
				       &s->fs, &s->gs };

	return segs[nr];
}

/* @entry with @seg set to @type, base OPND - @off, @limit; EBX/EBP @off. */
static u64 run_seg(u64 entry, int nr, u8 type, u32 off, u32 limit,
		   bool db)
{
	struct kvm_sregs s;
	struct kvm_regs r;
	struct kvm_segment *sg;

	flat(&s, &r, entry);
	sg = sreg(&s, nr);
	*sg = seg(sg->selector, OPND - off, limit, type);
	sg->db = db;
	r.rbx = off;
	r.rbp = off;
	/* The handler's pushes stay within SS's limit. */
	if (nr == SR_SS && (type & 4))
		r.rsp = (off + 0x1000) & ~0xfull;
	else if (nr == SR_SS)
		r.rsp = off & ~0xfull;
	return run(&s, &r);
}

/* @entry with DS limit @limit, the operand at DS:100H, EAX @eax, ECX @ecx. */
static u64 run_ds(u64 entry, u32 limit, u64 eax, u64 ecx)
{
	struct kvm_sregs s;
	struct kvm_regs r;

	flat(&s, &r, entry);
	s.ds = seg(SEL_DATA, OPND - 0x100, limit, SEG_DATA_RW);
	r.rbx = 0x100;
	r.rax = eax;
	r.rcx = ecx;
	return run(&s, &r);
}

static u64 run_flat(u64 entry, u64 ebx, u64 ecx, u64 eax)
{
	struct kvm_sregs s;
	struct kvm_regs r;

	flat(&s, &r, entry);
	r.rbx = ebx;
	r.rcx = ecx;
	r.rax = eax;
	return run(&s, &r);
}

static u64 vmread32(u32 enc, u64 *val)
{
	u64 o = run_flat(L32(l32_vmread_reg), 0, enc, 0);

	*val = (u32)regs.rax;
	return o;
}

static u64 run64(u64 entry, u64 rcx, u64 rax)
{
	struct kvm_regs r = regs64;

	r.rip = entry;
	r.rcx = rcx;
	r.rax = rax;
	r.rflags = 2;
	return run(&sregs64, &r);
}

static u64 get_u64(vm_paddr_t gpa)
{
	u64 v;

	memcpy(&v, hva(gpa), 8);
	return v;
}

static void put_u64(vm_paddr_t gpa, u64 v)
{
	memcpy(hva(gpa), &v, 8);
}

/* ---------------------------------------------------------------------- */
/* L1's 32-bit environment.                                                 */

static void setup_32bit(void)
{
	u32 *pd = hva(pg(PG_PD));
	u64 *gdt = hva(pg(PG_GDT));
	u64 *idt = hva(pg(PG_IDT));
	vm_paddr_t vec = pg(PG_CODE) + L32(l32_vectors);
	u64 len = L32(l32_end);
	int i;

	TEST_ASSERT(len <= 4096, "32-bit code too large");
	memcpy(hva(pg(PG_CODE)), (void *)ASM_LABEL(l32_start), len);

	/* 32-bit paging, 4-MByte pages: the first GByte, identity. */
	for (i = 0; i < 256; i++)
		pd[i] = (i << 22) | 0x83;	/* P, R/W, PS */

	gdt[1] = 0x00cf9b000000ffffull;		/* flat code, 32-bit */
	gdt[2] = 0x00cf93000000ffffull;		/* flat data */

	for (i = 0; i < 32; i++, vec += 16)	/* 32-bit interrupt gates */
		idt[i] = (vec & 0xffff) | SEL_CODE << 16 |
			 (u64)((vec & 0xffff0000) | 0x8e00) << 32;

	sregs32 = sregs64;
	sregs32.cs = seg(SEL_CODE, 0, ~0u, SEG_CODE_XR);
	sregs32.ds = seg(SEL_DATA, 0, ~0u, SEG_DATA_RW);
	sregs32.es = sregs32.ds;
	sregs32.fs = sregs32.ds;
	sregs32.gs = sregs32.ds;
	sregs32.ss = sregs32.ds;
	sregs32.gdt.base = pg(PG_GDT);
	sregs32.gdt.limit = 3 * 8 - 1;
	sregs32.idt.base = pg(PG_IDT);
	sregs32.idt.limit = 32 * 8 - 1;
	sregs32.cr0 = X86_CR0_PE | X86_CR0_ET | X86_CR0_NE | X86_CR0_PG;
	sregs32.cr3 = pg(PG_PD);
	sregs32.cr4 = X86_CR4_PSE | X86_CR4_VMXE;
	sregs32.efer = 0;
}

/* ---------------------------------------------------------------------- */
/* The cases.                                                               */

static const char *outcome_str(u64 o, char *buf, size_t len)
{
	if (o & OUTCOME_EXC)
		snprintf(buf, len, "vector %lu, error code 0x%lx",
			 (o >> 32) & 0xff, o & 0xffffffff);
	else if (o & OUTCOME_EXIT)
		snprintf(buf, len, "an exit to the VMM (0x%lx)", o & 0xffffffff);
	else
		snprintf(buf, len, "completion, RFLAGS & 8D5H = 0x%lx", o);
	return buf;
}

/*
 * What instruction @insn did against the SDM's answer; where stock 6.1 is
 * known to give @stock instead, that outcome is XFAIL with @why unless
 * NVMX_STRICT=1 (nvmx is always strict).
 */
static void outcome_known(const char *insn, u64 expected, u64 actual,
			  u64 stock, const char *why)
{
	bool known = why && actual == stock && !strict;
	const char *note = known ? ", stock deviation" : "";
	char e[64], a[64];

	if (expected == actual)
		return;
	ksft_print_msg("%s: %s: expected %s, got %s (SDM 30.3, Vol. 3A 5.3, 5.4, 6.15%s)\n",
		       case_name, insn, outcome_str(expected, e, sizeof(e)),
		       outcome_str(actual, a, sizeof(a)), note);
	if (known)
		xfail_reason = why;
	else
		nr_mismatch++;
}

static void check_outcome(const char *insn, u64 expected, u64 actual)
{
	outcome_known(insn, expected, actual, 0, NULL);
}

/* VMXON, VMCLEAR, VMPTRLD, VMPTRST with flat segments, a limit first. */
static void cases_flat(void)
{
	begin("vmxon_ds_limit");
	put_u64(OPND, vmx->vmxon_gpa);
	check_outcome("VMXON [DS:limit - 6]",
		      GP0, run_seg(L32(l32_vmxon), SR_DS, SEG_DATA_RW, 0x100,
				   0x106, true));
	end();

	begin("vmxon_flat");
	check_outcome("VMXON", OK, run_flat(L32(l32_vmxon), OPND, 0, 0));
	end();

	begin("vmclear_flat");
	put_u64(OPND, vmx->vmcs_gpa);
	check_outcome("VMCLEAR", OK, run_flat(L32(l32_vmclear), OPND, 0, 0));
	end();

	begin("vmptrld_flat");
	check_outcome("VMPTRLD", OK, run_flat(L32(l32_vmptrld), OPND, 0, 0));
	end();

	begin("vmptrst_flat");
	memset(hva(pg(PG_DATA)), 0xaa, 4096);
	check_outcome("VMPTRST", OK, run_flat(L32(l32_vmptrst), OPND, 0, 0));
	report("stored pointer", vmx->vmcs_gpa, get_u64(OPND), "30.3 VMPTRST");
	report("byte before", 0xaa, *(u8 *)hva(OPND - 1), "30.3 VMPTRST");
	report("byte after", 0xaa, *(u8 *)hva(OPND + 8), "30.3 VMPTRST");
	end();
	put_u64(OPND, vmx->vmcs_gpa);
}

/* Expand-up limits through DS and SS (Vol. 3A 5.3). */
static void cases_limit(void)
{
	static const struct {
		const char *name;
		int seg;
		u32 limit;
		u64 outcome;
	} c[] = {
		{ "ds_limit_last_byte", SR_DS, 0x107, OK },
		{ "ds_limit_straddle", SR_DS, 0x106, GP0 },
		{ "ds_limit_past", SR_DS, 0xff, GP0 },
		{ "ss_limit_last_byte", SR_SS, 0x107, OK },
		{ "ss_limit_straddle", SR_SS, 0x106, SS0 },
		{ "ss_limit_past", SR_SS, 0xff, SS0 },
	};
	int i;

	for (i = 0; i < ARRAY_SIZE(c); i++) {
		begin(c[i].name);
		check_outcome("VMPTRLD",
			      c[i].outcome,
			      run_seg(c[i].seg == SR_SS ? L32(l32_vmptrld_ss) :
				      L32(l32_vmptrld), c[i].seg, SEG_DATA_RW, 0x100,
				      c[i].limit, true));
		end();
	}

	/* VMREAD to memory writes 4 bytes: the limit counts 4. */
	begin("vmread_mem_limit_4_bytes");
	memset(hva(pg(PG_DATA)), 0xaa, 4096);
	check_outcome("VMREAD [DS:limit - 3]", OK,
		      run_ds(L32(l32_vmread_mem), 0x103, 0, ENC_CR4_MASK));
	report("bytes 7:4 after VMREAD", 0xaaaaaaaa,
	       *(u32 *)hva(OPND + 4), "30.3 VMREAD: 32-bit operand size");
	check_outcome("VMREAD [DS:limit - 2]", GP0,
		      run_ds(L32(l32_vmread_mem), 0x102, 0, ENC_CR4_MASK));
	end();
	put_u64(OPND, vmx->vmcs_gpa);
}

/* Expand-down data segments (Vol. 3A 5.3). */
static void cases_expand_down(void)
{
	static const struct {
		const char *name;
		int seg;
		u32 off;
		bool db;
		u64 outcome;
		u64 stock;
	} c[] = {
		{ "expand_down_at_limit", SR_DS, 0xfff, true, GP0, GP0 },
		{ "expand_down_above_limit", SR_DS, 0x1000, true, OK, GP0 },
		{ "expand_down_straddle_limit", SR_DS, 0xffc, true, GP0, GP0 },
		{ "expand_down_b0_top", SR_DS, 0xfff8, false, OK, GP0 },
		{ "expand_down_b0_past_ffff", SR_DS, 0xfff9, false, GP0, GP0 },
		{ "ss_expand_down_at_limit", SR_SS, 0xfff, true, SS0, SS0 },
		{ "ss_expand_down_above_limit", SR_SS, 0x1000, true, OK, SS0 },
	};
	int i;

	for (i = 0; i < ARRAY_SIZE(c); i++) {
		begin(c[i].name);
		outcome_known("VMPTRLD", c[i].outcome,
			      run_seg(c[i].seg == SR_SS ? L32(l32_vmptrld_ss) :
				      L32(l32_vmptrld), c[i].seg,
				      SEG_DATA_RW_DN, c[i].off, 0xfff, c[i].db),
			      c[i].stock,
			      "stock 6.1 checks an expand-down limit as expand-up");
		end();
	}
}

/* Unusable segments, segment types (Vol. 3A 5.4). */
static void cases_type(void)
{
	const struct {
		const char *name;
		u64 entry;
		int seg;
	} null[] = {
		{ "null_ds", L32(l32_vmptrld), SR_DS },
		{ "null_es", L32(l32_vmptrld_es), SR_ES },
		{ "null_fs", L32(l32_vmptrld_fs), SR_FS },
		{ "null_gs", L32(l32_vmptrld_gs), SR_GS },
	};
	struct kvm_sregs s;
	struct kvm_regs r;
	int i;

	for (i = 0; i < ARRAY_SIZE(null); i++) {
		begin(null[i].name);
		flat(&s, &r, null[i].entry);
		*sreg(&s, null[i].seg) = (struct kvm_segment){ .unusable = 1 };
		r.rbx = OPND;
		check_outcome("VMPTRLD", GP0, run(&s, &r));
		end();
	}

	begin("read_only_data_write");
	check_outcome("VMPTRST [read-only DS]", GP0,
		      run_seg(L32(l32_vmptrst), SR_DS, SEG_DATA_RO, 0x100,
			      ~0u, true));
	check_outcome("VMREAD [read-only DS]", GP0,
		      run_seg(L32(l32_vmread_mem), SR_DS, SEG_DATA_RO, 0x100,
			      ~0u, true));
	end();

	begin("read_only_data_read");
	check_outcome("VMPTRLD [read-only DS]", OK,
		      run_seg(L32(l32_vmptrld), SR_DS, SEG_DATA_RO, 0x100,
			      ~0u, true));
	end();

	/* CS: base 0 (the code runs where it was copied), EBX the address. */
	begin("execute_only_code_read");
	flat(&s, &r, L32(l32_vmptrld_cs));
	s.cs.type = SEG_CODE_XO;
	r.rbx = OPND;
	check_outcome("VMPTRLD [execute-only CS]", GP0,
		      run(&s, &r));
	end();

	begin("readable_code_read");
	flat(&s, &r, L32(l32_vmptrld_cs));
	r.rbx = OPND;
	check_outcome("VMPTRLD [readable CS]", OK, run(&s, &r));
	end();

	begin("code_write");
	flat(&s, &r, L32(l32_vmptrst_cs));
	r.rbx = OPND;
	check_outcome("VMPTRST [readable CS]", GP0,
		      run(&s, &r));
	end();
}

/*
 * Case @name: VMPTRST at @entry with DS base @base and EBX @ebx, whose
 * address wraps to linear OPND: the current-VMCS pointer is stored there.
 */
static void vmptrst_wraps(const char *name, u64 entry, u32 base, u64 ebx,
			  const char *insn, const char *where, const char *sdm)
{
	struct kvm_sregs s;
	struct kvm_regs r;

	begin(name);
	memset(hva(pg(PG_DATA)), 0xaa, 8192);
	flat(&s, &r, entry);
	s.ds.base = base;
	r.rbx = ebx;
	check_outcome(insn, OK, run(&s, &r));
	report(where, vmx->vmcs_gpa, get_u64(OPND), sdm);
	end();
}

/* Address-size wraparound. */
static void cases_wrap(void)
{
	/* 67H: BX + 10H = FFF8H + 10H wraps to 8 (Vol. 1 3.6). */
	vmptrst_wraps("address_size_16_wraps", L32(l32_vmptrst_a16), OPND - 8,
		      0x1234fff8, "VMPTRST [BX + 10H]", "stored at DS:0008H",
		      "Vol. 1 3.6, 30.3 VMPTRST");
	/* EBX + 10H = FFFFFFF8H + 10H wraps to 8. */
	vmptrst_wraps("address_size_32_wraps", L32(l32_vmptrst_a32), OPND - 8,
		      0xfffffff8, "VMPTRST [EBX + 10H]",
		      "stored at DS:00000008H", "Vol. 1 3.6, 30.3 VMPTRST");
	/* Base F0000000H + offset 10000000H + OPND: linear OPND. */
	vmptrst_wraps("linear_address_32_wraps", L32(l32_vmptrst), 0xf0000000u,
		      0x10000000u + OPND, "VMPTRST [F0000000H base]",
		      "stored at linear OPND", "Vol. 3A 3.4, 30.3 VMPTRST");
	put_u64(OPND, vmx->vmcs_gpa);
}

/* VMREAD and VMWRITE operand size (30.3). */
static void cases_vmread_vmwrite(void)
{
	u64 v;

	begin("vmwrite_full_clears_high");
	check_outcome("VMWRITE 2011H", OK,
		      run_flat(L32(l32_vmwrite_reg), 0, ENC_TSC_OFFSET_HIGH,
			       0xcafebabe));
	check_outcome("VMWRITE 2010H", OK,
		      run_flat(L32(l32_vmwrite_reg), 0, ENC_TSC_OFFSET, 0x11223344));
	check_outcome("VMREAD 2011H", OK, vmread32(ENC_TSC_OFFSET_HIGH, &v));
	report("TSC offset 63:32", 0, v, "30.3 VMWRITE");
	check_outcome("VMREAD 2010H", OK, vmread32(ENC_TSC_OFFSET, &v));
	report("TSC offset 31:0", 0x11223344, v, "30.3 VMREAD");
	end();

	begin("vmwrite_high");
	check_outcome("VMWRITE 2011H", OK,
		      run_flat(L32(l32_vmwrite_reg), 0, ENC_TSC_OFFSET_HIGH,
			       0x55667788));
	check_outcome("VMREAD 2010H", OK, vmread32(ENC_TSC_OFFSET, &v));
	report("TSC offset 31:0", 0x11223344, v, "30.3 VMREAD");
	check_outcome("VMREAD 2011H", OK, vmread32(ENC_TSC_OFFSET_HIGH, &v));
	report("TSC offset 63:32", 0x55667788, v, "30.3 VMREAD");
	check_outcome("VMREAD 2010H (64-bit L1)", OK,
		      run64(ASM_LABEL(l64_vmread), ENC_TSC_OFFSET, 0));
	report("TSC offset", 0x5566778811223344ull, regs.rax, "30.3 VMREAD");
	end();

	begin("vmwrite_mem_4_bytes");
	put_u64(OPND, 0x8877665544332211ull);
	check_outcome("VMWRITE 2010H, [DS:limit - 3]", OK,
		      run_ds(L32(l32_vmwrite_mem), 0x103, 0, ENC_TSC_OFFSET));
	check_outcome("VMREAD 2010H (64-bit L1)", OK,
		      run64(ASM_LABEL(l64_vmread), ENC_TSC_OFFSET, 0));
	report("TSC offset", 0x44332211, regs.rax, "30.3 VMWRITE");
	end();

	begin("vmread_mem_4_bytes");
	memset(hva(pg(PG_DATA)), 0xaa, 4096);
	check_outcome("VMREAD [EBX], 2010H", OK,
		      run_flat(L32(l32_vmread_mem), OPND, ENC_TSC_OFFSET, 0));
	report("stored", 0xaaaaaaaa44332211ull, get_u64(OPND), "30.3 VMREAD");
	end();

	begin("natural_width");
	check_outcome("VMWRITE 6002H (64-bit L1)", OK,
		      run64(ASM_LABEL(l64_vmwrite), ENC_CR4_MASK, 0xaaaaaaaabbbbbbbbull));
	check_outcome("VMREAD 6002H", OK, vmread32(ENC_CR4_MASK, &v));
	report("CR4 guest/host mask 31:0", 0xbbbbbbbb, v, "30.3 VMREAD");
	check_outcome("VMWRITE 6002H", OK,
		      run_flat(L32(l32_vmwrite_reg), 0, ENC_CR4_MASK, 0x12345678));
	check_outcome("VMREAD 6002H (64-bit L1)", OK,
		      run64(ASM_LABEL(l64_vmread), ENC_CR4_MASK, 0));
	report("CR4 guest/host mask", 0x12345678, regs.rax, "30.3 VMWRITE");
	end();
}

/*
 * INVEPT and INVVPID read a 128-bit descriptor (30.3): the limit counts
 * 16 bytes.  All-context types (2), where L1 is offered them (A.10).
 */
static void cases_inv(void)
{
	u64 caps = vcpu_get_msr(vcpu, MSR_IA32_VMX_EPT_VPID_CAP);
	u64 ctls2 = vcpu_get_msr(vcpu, MSR_IA32_VMX_PROCBASED_CTLS2) >> 32;

	memset(hva(pg(PG_DATA)), 0, 4096);
	begin("invept_limit_16_bytes");
	if (!(ctls2 & SECONDARY_EXEC_ENABLE_EPT) || !(caps & BIT_ULL(20)) ||
	    !(caps & BIT_ULL(26))) {
		ksft_test_result_skip("%s: L1 is not offered all-context INVEPT\n",
				      case_name);
	} else {
		check_outcome("INVEPT 2, [DS:limit - 15]", OK,
			      run_ds(L32(l32_invept), 0x10f, 2, 0));
		check_outcome("INVEPT 2, [DS:limit - 14]", GP0,
			      run_ds(L32(l32_invept), 0x10e, 2, 0));
		end();
	}

	begin("invvpid_limit_16_bytes");
	if (!(ctls2 & SECONDARY_EXEC_ENABLE_VPID) || !(caps & BIT_ULL(32)) ||
	    !(caps & BIT_ULL(42))) {
		ksft_test_result_skip("%s: L1 is not offered all-context INVVPID\n",
				      case_name);
	} else {
		check_outcome("INVVPID 2, [DS:limit - 15]", OK,
			      run_ds(L32(l32_invvpid), 0x10f, 2, 0));
		check_outcome("INVVPID 2, [DS:limit - 14]", GP0,
			      run_ds(L32(l32_invvpid), 0x10e, 2, 0));
		end();
	}
	put_u64(OPND, vmx->vmcs_gpa);
}

/*
 * Outside 64-bit mode the registers are 32 bits wide: what the VMM left
 * in bits 63:32 counts neither in an address nor as an operand (30.3:
 * "outside IA-32e mode" the operand size is 32 bits).
 */
static void cases_upper_halves(void)
{
	u64 junk = 0xdeadbeef00000000ull;

	begin("register_bits_63_32_ignored");
	check_outcome("VMPTRLD [RBX with 63:32 set]", OK,
		      run_flat(L32(l32_vmptrld), junk | OPND, 0, 0));
	check_outcome("VMWRITE 2010H, EAX (63:32 set in RCX, RAX)", OK,
		      run_flat(L32(l32_vmwrite_reg), 0, junk | ENC_TSC_OFFSET,
			       junk | 0x01020304));
	check_outcome("VMREAD 2010H (64-bit L1)", OK,
		      run64(ASM_LABEL(l64_vmread), ENC_TSC_OFFSET, 0));
	report("TSC offset", 0x01020304, regs.rax, "30.3 VMWRITE");
	end();
}

int main(int argc, char *argv[])
{
	const char *env = getenv("NVMX_STRICT");
	vm_vaddr_t vmx_gva;
	u64 basic;

	TEST_REQUIRE(kvm_cpu_has(X86_FEATURE_VMX));
	ksft_print_header();
	ksft_set_plan(39);

	strict = (env && !strcmp(env, "1")) || nvmx_host_module_is_nvmx();
	vm = __vm_create_with_one_vcpu(&vcpu, NR_PG + 16, NULL);
	vmx = vcpu_alloc_vmx(vm, &vmx_gva);
	mem = vm_phy_pages_alloc(vm, NR_PG, 0x100000, 0);
	TEST_ASSERT(pg(NR_PG) <= 0x40000000, "L1's memory above 1 GByte");
	vcpu_sregs_get(vcpu, &sregs64);
	vcpu_regs_get(vcpu, &regs64);
	sregs64.cr4 |= X86_CR4_VMXE;

	/* What prepare_for_vmx_operation() gives L1, from the host. */
	vcpu_set_msr(vcpu, MSR_IA32_FEAT_CTL,
		     FEAT_CTL_LOCKED | FEAT_CTL_VMX_ENABLED_OUTSIDE_SMX);
	basic = vcpu_get_msr(vcpu, MSR_IA32_VMX_BASIC);
	*(u32 *)vmx->vmxon_hva = (u32)basic & 0x7fffffff;
	*(u32 *)vmx->vmcs_hva = (u32)basic & 0x7fffffff;
	TEST_ASSERT(vmx->vmxon_gpa < 0x40000000 && vmx->vmcs_gpa < 0x40000000,
		    "VMX regions above 1 GByte");

	setup_32bit();
	cases_flat();
	cases_limit();
	cases_expand_down();
	cases_type();
	cases_wrap();
	cases_vmread_vmwrite();
	cases_inv();
	cases_upper_halves();

	kvm_vm_free(vm);
	ksft_finished();
	return 0;
}
