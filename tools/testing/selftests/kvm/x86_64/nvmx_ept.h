/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * nvmx_ept.h: what nvmx_ept_test, nvmx_vpid_test and nvmx_ug_test share on
 * top of nvmx_selftest.h (include it after that header):
 *
 * - the VMX capabilities they need (IA32_VMX_PROCBASED_CTLS2 and
 *   IA32_VMX_EPT_VPID_CAP, SDM A.3.3 and A.10), reported as a failure when
 *   one that issue 9 requires is missing: these tests never skip for a
 *   feature the kernel side is meant to offer;
 * - an EPT that the host builds in pages L1 can address (28.2.2), with the
 *   guest-virtual address of every entry a case changes;
 * - INVEPT and INVVPID with the RFLAGS they end with (30.2, 30.3);
 * - VMLAUNCH as one outcome, with the RFLAGS of a VMfail (nvmx_selftest.h);
 * - exceptions in L1: a handler that records vector, error code and CR2
 *   and resumes after the faulting instruction (kvm_asm_safe()), and a trip
 *   of L1 to CPL 1 for the "CPL > 0: #GP(0)" rules of 30.3; the exception
 *   checks INVEPT and INVVPID share;
 * - case groups: the host runs each group of cases in a VM of its own, in
 *   which it may restrict the capability MSRs that L1 reads.
 */
#ifndef SELFTEST_KVM_NVMX_EPT_H
#define SELFTEST_KVM_NVMX_EPT_H

#include <asm/kvm.h>

/* IA32_VMX_EPT_VPID_CAP (A.10) */
#define EPT_CAP_XONLY		BIT_ULL(0)	/* execute-only translations */
#define EPT_CAP_PWL4		BIT_ULL(6)	/* page-walk length 4 */
#define EPT_CAP_PWL5		BIT_ULL(7)	/* page-walk length 5 */
#define EPT_CAP_UC		BIT_ULL(8)	/* EPTP memory type UC */
#define EPT_CAP_WB		BIT_ULL(14)	/* EPTP memory type WB */
#define EPT_CAP_INVEPT		BIT_ULL(20)
#define EPT_CAP_AD		BIT_ULL(21)	/* accessed and dirty flags */
#define EPT_CAP_ADV_INFO	BIT_ULL(22)	/* advanced EPT-violation info */
#define EPT_CAP_INVEPT_SINGLE	BIT_ULL(25)
#define EPT_CAP_INVEPT_GLOBAL	BIT_ULL(26)
#define VPID_CAP_INVVPID	BIT_ULL(32)
#define VPID_CAP_TYPE(t)	BIT_ULL(40 + (t))	/* INVVPID type t */

/* EPT paging-structure entries (28.2.2, 28.2.4) */
#define EPTE_R			BIT_ULL(0)
#define EPTE_W			BIT_ULL(1)
#define EPTE_X			BIT_ULL(2)
#define EPTE_RWX		(EPTE_R | EPTE_W | EPTE_X)
#define EPTE_MT(t)		((u64)(t) << 3)	/* memory type, leaves only */
#define EPTE_WB			EPTE_MT(6)
#define EPTE_A			BIT_ULL(8)
#define EPTE_D			BIT_ULL(9)
#define EPTE_ADDR		GENMASK_ULL(51, 12)

/* EPTP (24.6.11) */
#define EPTP_MT_UC		0
#define EPTP_MT_WB		6
#define EPTP_PWL4		(3ull << 3)
#define EPTP_AD			BIT_ULL(6)

/* INVEPT types, INVVPID types (30.3) */
#define INVEPT_SINGLE		1
#define INVEPT_GLOBAL		2
#define INVVPID_ADDR		0
#define INVVPID_SINGLE		1
#define INVVPID_ALL		2
#define INVVPID_SINGLE_NONGLOBAL 3

/* VM-instruction errors (30.4) */
#define ERR_INVALID_CONTROL	7
#define ERR_INVALID_INV_OPERAND	28

#define RF_ZF			0x40ull	/* VMfailValid (30.2) */

/*
 * Set by the host for each VM of a test with case groups (see the end of
 * this header).
 */
struct nvmx_group_case;
struct nvmx_group {
	const struct nvmx_group_case *cases;	/* the test's whole table */
	u32 first, nr;		/* the cases of this VM */
	bool cut_ok;		/* the host restricted the capabilities */
} nvmx_group;

/* ---------------------------------------------------------------------- */
/* Capabilities.                                                            */

/* The allowed-1 settings of the secondary controls (A.3.3), 0 without them. */
static inline u32 nvmx_ctls2_may1(void)
{
	if (!(rdmsr(MSR_IA32_VMX_PROCBASED_CTLS) >> 32 &
	      CPU_BASED_ACTIVATE_SECONDARY_CONTROLS))
		return 0;
	return rdmsr(MSR_IA32_VMX_PROCBASED_CTLS2) >> 32;
}

static inline u64 nvmx_ept_vpid_cap(void)
{
	return rdmsr(MSR_IA32_VMX_EPT_VPID_CAP);
}

/*
 * Capability bits issue 9 requires: a missing one fails the case (the
 * bits wanted, against those offered) instead of skipping it.
 */
static inline bool nvmx_need_bits(const char *what, u64 need, u64 have)
{
	report(what, need, have & need, "A.3.3, A.10 (issue 9 requires it)");
	return (have & need) == need;
}

static inline bool nvmx_need_ctls2(u32 bits, const char *what)
{
	return nvmx_need_bits(what, bits, nvmx_ctls2_may1());
}

static inline bool nvmx_need_cap(u64 bits, const char *what)
{
	return nvmx_need_bits(what, bits, nvmx_ept_vpid_cap());
}

/* L1's physical-address width (CPUID.80000008H:EAX[7:0]). */
static inline u32 nvmx_maxphyaddr(void)
{
	u32 eax, ebx, ecx, edx;

	cpuid(0x80000008, &eax, &ebx, &ecx, &edx);
	return eax & 0xff;
}

static inline u64 nvmx_eptp(u64 root, bool ad)
{
	return root | EPTP_MT_WB | EPTP_PWL4 | (ad ? EPTP_AD : 0);
}

static inline bool nvmx_need_ept_ctl(void)
{
	return nvmx_need_ctls2(SECONDARY_EXEC_ENABLE_EPT,
			       "enable EPT allowed (PROCBASED_CTLS2[33])");
}

static inline bool nvmx_need_vpid_ctl(void)
{
	return nvmx_need_ctls2(SECONDARY_EXEC_ENABLE_VPID,
			       "enable VPID allowed (PROCBASED_CTLS2[37])");
}

/* An EPT for L2 at all: "enable EPT", a 4-level walk, the WB memory type. */
static inline bool nvmx_need_ept_walk(void)
{
	return nvmx_need_ept_ctl() &&
	       nvmx_need_cap(EPT_CAP_PWL4 | EPT_CAP_WB,
			     "EPT_VPID_CAP: 4 levels, WB (6, 14)");
}

/*
 * What a case that changes the EPT needs besides: INVEPT with both its
 * types (issue 9: INVEPT single-context and global).
 */
static inline bool nvmx_need_ept(void)
{
	return nvmx_need_ept_walk() &&
	       nvmx_need_cap(EPT_CAP_INVEPT | EPT_CAP_INVEPT_SINGLE |
			     EPT_CAP_INVEPT_GLOBAL,
			     "EPT_VPID_CAP: INVEPT single-context, global (20, 25, 26)");
}

/* ---------------------------------------------------------------------- */
/* INVEPT, INVVPID, VMLAUNCH with their RFLAGS.                             */

struct nvmx_inv_desc {
	u64 lo, hi;
};

/* The descriptor that INVEPT and INVVPID at CPL 1 use. */
struct nvmx_inv_desc nvmx_cpl1_desc;

/* INVEPT or INVVPID (@insn) of @type, descriptor at @desc: the flags. */
#define NVMX_INV_FLAGS(insn, type, desc) ({				\
	u64 __rf;							\
									\
	asm volatile(insn " %[d], %[t]" NVMX_ASM_RFLAGS			\
		     : [rf] "=r"(__rf) : [d] "m"(*(desc)), [t] "r"(type)	\
		     : "cc", "memory");					\
	__rf & F_ARITH;							\
})

static inline u64 nvmx_invept_at(u64 type, const struct nvmx_inv_desc *d)
{
	return NVMX_INV_FLAGS("invept", type, d);
}

static inline u64 nvmx_invvpid_at(u64 type, const struct nvmx_inv_desc *d)
{
	return NVMX_INV_FLAGS("invvpid", type, d);
}

/* INVEPT @type with descriptor {@eptp, 0}: the arithmetic flags after it. */
static inline u64 nvmx_invept(u64 type, u64 eptp)
{
	struct nvmx_inv_desc d = { eptp, 0 };

	return nvmx_invept_at(type, &d);
}

/* INVVPID @type with descriptor {@vpid_word, @gla}. */
static inline u64 nvmx_invvpid(u64 type, u64 vpid_word, u64 gla)
{
	struct nvmx_inv_desc d = { vpid_word, gla };

	return nvmx_invvpid_at(type, &d);
}

/* An instruction that must succeed: VMsucceed clears all six flags (30.2). */
static inline void nvmx_expect_vmsucceed(const char *what, u64 flags,
					 const char *sdm)
{
	report(what, 0, flags, sdm);
}

/* Invalidate what L1's EPT @eptp may have left cached (28.3.3.4). */
static inline void nvmx_invept_single(u64 eptp)
{
	nvmx_expect_vmsucceed("INVEPT single-context (RFLAGS)",
			      nvmx_invept(INVEPT_SINGLE, eptp),
			      "30.3 INVEPT");
}

/*
 * One attempt of a loop as one number for report(): @tag << 32, then the
 * arithmetic flags << 16 and, after a VMfailValid, the VM-instruction error;
 * after a VM exit, 0xffff << 16 and the basic exit reason.
 */
#define NVMX_VMFAIL(tag, err)	((u64)(tag) << 32 | RF_ZF << 16 | (err))
#define NVMX_VMSUCCEED(tag)	((u64)(tag) << 32)

static inline u64 nvmx_outcome(u64 tag, u64 flags)
{
	return tag << 32 | flags << 16 |
	       (flags == RF_ZF ? vmreadz(VM_INSTRUCTION_ERROR) : 0);
}

/* VMLAUNCH, as one outcome (L2 is expected to exit at once if it runs). */
static inline u64 nvmx_launch_outcome(u64 tag)
{
	if (nvmx_l2_run(1))
		return nvmx_outcome(tag, nvmx_vmfail_rflags);
	return tag << 32 | 0xffffull << 16 | (vmreadz(VM_EXIT_REASON) & 0xffff);
}

/*
 * The VMLAUNCH L1 prepared must end in VMfailValid(7) for an invalid VM-
 * execution control field (26.2.1.1): @what with the outcome tagged @tag.
 */
static inline void nvmx_expect_launch_vmfail(const char *what, u64 tag)
{
	report(what, NVMX_VMFAIL(tag, ERR_INVALID_CONTROL),
	       nvmx_launch_outcome(tag), "26.2.1.1");
}

/* VMLAUNCH of L2 at @rip, a VMCALL there: it must exit at once. */
static inline void nvmx_launch_to_vmcall(u64 rip)
{
	l2_setup(rip);
	if (l2_launch())
		nvmx_vmcall_at(rip);
}

/* ---------------------------------------------------------------------- */
/* Exceptions in L1.                                                        */

/* CPL-1 segments the host adds to L1's GDT, with RPL 1. */
#define NVMX_CPL1_CS		0x29
#define NVMX_CPL1_SS		0x31
#define NVMX_GDT_CPL1_CS	0x00afbb000000ffffull	/* 64-bit code, DPL 1 */
#define NVMX_GDT_CPL1_SS	0x00cfb3000000ffffull	/* data, DPL 1 */

/* What the last exception L1 took with nvmx_exc_handler() left. */
u64 nvmx_exc_vector, nvmx_exc_error, nvmx_exc_cr2;
u64 nvmx_exc_count;

/* Set while L1 runs at CPL 1: where the handler sends it back to. */
u64 nvmx_cpl1_active, nvmx_cpl1_rsp, nvmx_cpl0_cs, nvmx_cpl0_ss;

/*
 * nvmx_cpl1_asm (EDI: 0 INVEPT, 1 INVVPID): IRETQ to CPL 1, execute the
 * instruction there with type 2 and nvmx_cpl1_desc, and come back to CPL 0
 * through the exception it raises (a UD2 after it if it raises none); the
 * handler sends L1 to nvmx_cpl1_back with the stack it had.  Data segment
 * registers that IRET nulled (6.14.5 of the SDM Vol. 3A) are reloaded.
 */
asm(".pushsection .text\n"
	"nvmx_cpl1_asm:\n\t"
	"push %rbp\n\t"
	"push %rbx\n\t"
	"push %r12\n\t"
	"push %r13\n\t"
	"push %r14\n\t"
	"push %r15\n\t"
	"mov %ds, %eax\n\t"
	"push %rax\n\t"
	"mov %es, %eax\n\t"
	"push %rax\n\t"
	"mov %fs, %eax\n\t"
	"push %rax\n\t"
	"mov %gs, %eax\n\t"
	"push %rax\n\t"
	"mov %rsp, nvmx_cpl1_rsp(%rip)\n\t"
	"mov %cs, %eax\n\t"
	"mov %rax, nvmx_cpl0_cs(%rip)\n\t"
	"mov %ss, %eax\n\t"
	"mov %rax, nvmx_cpl0_ss(%rip)\n\t"
	"movq $1, nvmx_cpl1_active(%rip)\n\t"
	"lea -1024(%rsp), %rax\n\t"
	"and $-16, %rax\n\t"
	"pushq $" NVMX_XSTR(NVMX_CPL1_SS) "\n\t"
	"push %rax\n\t"
	"pushq $2\n\t"
	"pushq $" NVMX_XSTR(NVMX_CPL1_CS) "\n\t"
	"lea 1f(%rip), %rax\n\t"
	"push %rax\n\t"
	"iretq\n"
	"1:\tlea nvmx_cpl1_desc(%rip), %rsi\n\t"
	"mov $2, %eax\n\t"
	"test %edi, %edi\n\t"
	"jnz 2f\n\t"
	"invept (%rsi), %rax\n\t"
	"ud2\n"
	"2:\tinvvpid (%rsi), %rax\n\t"
	"ud2\n"
	"nvmx_cpl1_back:\n\t"
	"movq $0, nvmx_cpl1_active(%rip)\n\t"
	"pop %rax\n\t"
	"mov %eax, %gs\n\t"
	"pop %rax\n\t"
	"mov %eax, %fs\n\t"
	"pop %rax\n\t"
	"mov %eax, %es\n\t"
	"pop %rax\n\t"
	"mov %eax, %ds\n\t"
	"pop %r15\n\t"
	"pop %r14\n\t"
	"pop %r13\n\t"
	"pop %r12\n\t"
	"pop %rbx\n\t"
	"pop %rbp\n\t"
	"ret\n\t"
	".popsection\n");

/*
 * INVEPT (@invvpid false) or INVVPID with type 2 at CPL 1; returns the
 * vector it raised (nvmx_exc_error: its error code).
 */
static inline u64 nvmx_at_cpl1(bool invvpid)
{
	nvmx_exc_vector = ~0ull;
	nvmx_call_asm(ASM_LABEL(nvmx_cpl1_asm), invvpid);
	return nvmx_exc_vector;
}

/*
 * #UD, #GP and #PF in L1: record them; at CPL 1 go back to nvmx_cpl1_back
 * at CPL 0, else resume after a kvm_asm_safe() instruction.  Anything else
 * fails the test.
 */
static inline void nvmx_exc_handler(struct ex_regs *regs)
{
	u64 *frame = &regs->rflags;	/* RFLAGS, RSP, SS follow RIP, CS */

	nvmx_exc_count++;
	nvmx_exc_vector = regs->vector;
	nvmx_exc_error = regs->error_code;
	if (regs->vector == PF_VECTOR)
		asm volatile("mov %%cr2, %0" : "=r"(nvmx_exc_cr2));
	if (nvmx_cpl1_active) {
		regs->rip = ASM_LABEL(nvmx_cpl1_back);
		regs->cs = nvmx_cpl0_cs;
		frame[1] = nvmx_cpl1_rsp;
		frame[2] = nvmx_cpl0_ss;
		return;
	}
	__GUEST_ASSERT(regs->r9 == KVM_EXCEPTION_MAGIC &&
		       regs->rip == regs->r10,
		       "unexpected exception in L1", 3, regs->vector, regs->rip,
		       regs->error_code);
	regs->rip = regs->r11;
	regs->r9 = regs->vector;
}

/* A linear address L1's page tables do not map, and a non-canonical one. */
#define NVMX_UNMAPPED		0x7f0000001000ull
#define NVMX_NONCANONICAL	0x8000000000000000ull

/* INVEPT or INVVPID of @type with its descriptor at @addr: the vector. */
static inline u8 nvmx_inv_at(bool invvpid, u64 type, u64 addr)
{
	nvmx_exc_count = 0;
	if (invvpid)
		return kvm_asm_safe("invvpid (%[a]), %[t]", [a] "r"(addr),
				    [t] "r"(type));
	return kvm_asm_safe("invept (%[a]), %[t]", [a] "r"(addr),
			    [t] "r"(type));
}

/*
 * 30.3 INVEPT, INVVPID (64-bit mode exceptions) with a supported @type:
 * #GP(0) for a non-canonical memory operand; #PF for a descriptor on a
 * page that is not present, with error code 0 (a supervisor-mode read,
 * 4.7) and CR2 its address.
 */
static inline void nvmx_inv_mem_faults(bool invvpid, u64 type)
{
	u8 v;

	v = nvmx_inv_at(invvpid, type, NVMX_NONCANONICAL);
	report("vector (non-canonical descriptor address)", GP_VECTOR, v,
	       "30.3 (64-bit mode exceptions)");
	if (v == GP_VECTOR)
		report("#GP error code", 0, nvmx_exc_error, "30.3");

	v = nvmx_inv_at(invvpid, type, NVMX_UNMAPPED);
	report("vector (descriptor on a not-present page)", PF_VECTOR, v,
	       "30.3 (64-bit mode exceptions)");
	if (v == PF_VECTOR) {
		report("#PF error code", 0, nvmx_exc_error, "4.7");
		report("CR2", NVMX_UNMAPPED, nvmx_exc_cr2, "4.7");
	}
}

/*
 * INVEPT or INVVPID at CPL 1, with descriptor {@lo, 0}: #GP(0) (30.3,
 * before any other check).
 */
static inline void nvmx_inv_cpl1(bool invvpid, u64 lo)
{
	u64 v;

	nvmx_cpl1_desc.lo = lo;
	nvmx_cpl1_desc.hi = 0;
	v = nvmx_at_cpl1(invvpid);

	report("vector raised at CPL 1", GP_VECTOR, v, "30.3 (CPL > 0)");
	if (v == GP_VECTOR)
		report("#GP error code", 0, nvmx_exc_error, "30.3");
}

/*
 * In a VM whose capability MSRs the host restricted: INVEPT (@invvpid
 * false) or INVVPID raises #UD without "enable EPT" or "enable VPID"
 * (@ctl_cut), or without INVEPT or INVVPID in EPT_VPID_CAP (30.3, #UD).
 */
static inline void nvmx_inv_ud(bool invvpid, bool ctl_cut)
{
	u32 ctl = invvpid ? SECONDARY_EXEC_ENABLE_VPID :
			    SECONDARY_EXEC_ENABLE_EPT;
	u64 cap = invvpid ? VPID_CAP_INVVPID : EPT_CAP_INVEPT;
	struct nvmx_inv_desc d = { 0, 0 };
	u8 v;

	report("the host restricted the capability MSR", 1, nvmx_group.cut_ok,
	       "A.3.3, A.10 (userspace write)");
	if (ctl_cut) {
		report(invvpid ? "enable VPID allowed after the host cleared it" :
		       "enable EPT allowed after the host cleared it", 0,
		       !!(nvmx_ctls2_may1() & ctl), "A.3.3");
	} else {
		if (!(invvpid ? nvmx_need_vpid_ctl() : nvmx_need_ept_ctl()))
			return;
		report(invvpid ? "EPT_VPID_CAP[32] after the host cleared it" :
		       "EPT_VPID_CAP[20] after the host cleared it", 0,
		       !!(nvmx_ept_vpid_cap() & cap), "A.10");
	}
	if (invvpid)
		v = kvm_asm_safe("invvpid %[d], %[t]", [d] "m"(d),
				 [t] "r"((u64)INVVPID_ALL));
	else
		v = kvm_asm_safe("invept %[d], %[t]", [d] "m"(d),
				 [t] "r"((u64)INVEPT_GLOBAL));
	report(invvpid ? "vector of INVVPID" : "vector of INVEPT", UD_VECTOR,
	       v, "30.3 (#UD)");
}

/* Host: what L1 is offered, for the log. */
static inline void nvmx_host_print_caps(struct kvm_vcpu *vcpu)
{
	ksft_print_msg("L1's IA32_VMX_PROCBASED_CTLS2 0x%lx, IA32_VMX_EPT_VPID_CAP 0x%lx\n",
		       vcpu_get_msr(vcpu, MSR_IA32_VMX_PROCBASED_CTLS2),
		       vcpu_get_msr(vcpu, MSR_IA32_VMX_EPT_VPID_CAP));
}

/*
 * Host: descriptor tables for L1 with nvmx_exc_handler() on #UD, #GP and
 * #PF, the CPL-1 code and stack segments, and a CPL-0 stack in the TSS for
 * exceptions taken at CPL 1.
 */
static inline void nvmx_host_exceptions(struct kvm_vm *vm,
					struct kvm_vcpu *vcpu)
{
	vm_vaddr_t stack = vm_vaddr_alloc(vm, 2 * PAGE_SIZE, 0x10000);
	u64 rsp0 = stack + 2 * PAGE_SIZE;
	u64 *gdt;

	vm_init_descriptor_tables(vm);
	vcpu_init_descriptor_tables(vcpu);
	vm_install_exception_handler(vm, UD_VECTOR, nvmx_exc_handler);
	vm_install_exception_handler(vm, GP_VECTOR, nvmx_exc_handler);
	vm_install_exception_handler(vm, PF_VECTOR, nvmx_exc_handler);

	gdt = addr_gva2hva(vm, vm->gdt);
	gdt[NVMX_CPL1_CS >> 3] = NVMX_GDT_CPL1_CS;
	gdt[NVMX_CPL1_SS >> 3] = NVMX_GDT_CPL1_SS;
	/* 64-bit TSS: RSP0 at byte 4 (SDM Vol. 3A 8.7). */
	memcpy((char *)addr_gva2hva(vm, vm->tss) + 4, &rsp0, sizeof(rsp0));
}

/* ---------------------------------------------------------------------- */
/* Host: an EPT in pages L1 can address.                                    */

#define NVMX_EPT_MAX_TABLES	32

struct nvmx_ept {
	struct kvm_vm *vm;
	int nr;
	vm_vaddr_t gva[NVMX_EPT_MAX_TABLES];	/* gva[0], gpa[0]: the PML4 */
	vm_paddr_t gpa[NVMX_EPT_MAX_TABLES];
};

static inline vm_paddr_t nvmx_ept_new_table(struct nvmx_ept *ept)
{
	vm_vaddr_t gva = vm_vaddr_alloc_page(ept->vm);

	TEST_ASSERT(ept->nr < NVMX_EPT_MAX_TABLES, "too many EPT tables");
	memset(addr_gva2hva(ept->vm, gva), 0, PAGE_SIZE);
	ept->gva[ept->nr] = gva;
	ept->gpa[ept->nr] = addr_gva2gpa(ept->vm, gva);
	return ept->gpa[ept->nr++];
}

static inline void nvmx_ept_init(struct nvmx_ept *ept, struct kvm_vm *vm)
{
	ept->vm = vm;
	ept->nr = 0;
	nvmx_ept_new_table(ept);
}

static inline vm_vaddr_t nvmx_ept_table_gva(struct nvmx_ept *ept,
					    vm_paddr_t gpa)
{
	int i;

	for (i = 0; i < ept->nr; i++)
		if (ept->gpa[i] == gpa)
			return ept->gva[i];
	TEST_FAIL("no EPT table at 0x%lx", gpa);
	return 0;
}

/*
 * The guest-virtual address of the EPT entry at @level (4: PML4E ...
 * 1: PTE) that translates @l2_gpa, with the tables above it created
 * (non-leaf entries allow RWX).
 */
static inline vm_vaddr_t nvmx_ept_entry(struct nvmx_ept *ept, u64 l2_gpa,
					int level)
{
	vm_paddr_t table = ept->gpa[0];
	int l;

	for (l = 4; ; l--) {
		vm_vaddr_t e = nvmx_ept_table_gva(ept, table) +
			       ((l2_gpa >> (12 + 9 * (l - 1))) & 0x1ff) * 8;
		u64 *hva = addr_gva2hva(ept->vm, e);

		if (l == level)
			return e;
		if (!(*hva & EPTE_RWX))
			*hva = nvmx_ept_new_table(ept) | EPTE_RWX;
		table = *hva & EPTE_ADDR;
	}
}

/* Map the 4-KByte page @l2_gpa to @gpa, write-back, with @perms. */
static inline vm_vaddr_t nvmx_ept_map(struct nvmx_ept *ept, u64 l2_gpa,
				      u64 gpa, u64 perms)
{
	vm_vaddr_t e = nvmx_ept_entry(ept, l2_gpa, 1);

	*(u64 *)addr_gva2hva(ept->vm, e) = gpa | EPTE_WB | perms;
	return e;
}

/* L2-physical = L1-physical, RWX, over all of memslot 0. */
static inline void nvmx_ept_identity_memslot0(struct nvmx_ept *ept)
{
	struct userspace_mem_region *region = memslot2region(ept->vm, 0);
	u64 base = region->region.guest_phys_addr;
	u64 gpa;

	for (gpa = base; gpa < base + region->region.memory_size;
	     gpa += PAGE_SIZE)
		nvmx_ept_map(ept, gpa, gpa, EPTE_RWX);
}

/* ---------------------------------------------------------------------- */
/* Case groups.                                                             */

/*
 * How the host restricts L1's capability MSRs for a group of cases (a
 * userspace write of a capability MSR may clear allowed-1 bits; the VM
 * then offers L1 less).
 */
struct nvmx_caps_cut {
	u32 ctls2;	/* allowed-1 bits of PROCBASED_CTLS2 to clear */
	u64 ept_vpid;	/* bits of EPT_VPID_CAP to clear */
};

/*
 * Host: restrict @vcpu's capability MSRs as @cut says.  Returns false if
 * the module refused a write.
 */
static inline bool nvmx_host_cut_caps(struct kvm_vcpu *vcpu,
				      const struct nvmx_caps_cut *cut)
{
	u64 v;

	if (cut->ctls2) {
		v = vcpu_get_msr(vcpu, MSR_IA32_VMX_PROCBASED_CTLS2);
		v &= ~((u64)cut->ctls2 << 32);
		if (_vcpu_set_msr(vcpu, MSR_IA32_VMX_PROCBASED_CTLS2, v) != 1)
			return false;
	}
	if (cut->ept_vpid) {
		v = vcpu_get_msr(vcpu, MSR_IA32_VMX_EPT_VPID_CAP);
		if (_vcpu_set_msr(vcpu, MSR_IA32_VMX_EPT_VPID_CAP,
				  v & ~cut->ept_vpid) != 1)
			return false;
	}
	return true;
}

/*
 * A case of a test with case groups: the host runs the cases of each group
 * (consecutive in the table) in a VM of its own.
 */
struct nvmx_group_case {
	const char *name;
	void (*run)(const struct nvmx_group_case *c);
	int group;		/* 0: L1 is offered all there is */
	u64 arg;
	int acc;		/* nvmx_ept_test: L2's access */
};

static inline void nvmx_group_run_case(int i)
{
	const struct nvmx_group_case *c =
		&nvmx_group.cases[nvmx_group.first + i];

	c->run(c);
}

/* L1: enter VMX operation and run the cases of this VM's group. */
static inline void nvmx_l1_run_group(struct vmx_pages *vmx)
{
	GUEST_ASSERT(prepare_for_vmx_operation(vmx));
	nvmx_l1_run_cases(vmx, nvmx_group.nr, nvmx_group_run_case);
}

static inline const char *nvmx_group_case_name(int i)
{
	return nvmx_group.cases[nvmx_group.first + i].name;
}

/*
 * Host, main(): for each group 0 to @nr_groups - 1 with cases in the @nr
 * of @cases, a VM that @setup prepares and whose capability MSRs
 * @cuts[group] restricts, which runs them; the first VM prints the TAP
 * plan of all @nr and what L1 is offered.
 */
static inline int nvmx_host_run_groups(const struct nvmx_group_case *cases,
				       u32 nr, const struct nvmx_caps_cut *cuts,
				       int nr_groups,
				       void (*setup)(struct kvm_vm *vm,
						     struct kvm_vcpu *vcpu))
{
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;
	u32 i, first;
	int g;

	nvmx_case_name = nvmx_group_case_name;
	nvmx_group.cases = cases;
	for (g = 0; g < nr_groups; g++) {
		for (i = 0; i < nr && cases[i].group != g; i++)
			;
		first = i;
		while (i < nr && cases[i].group == g)
			i++;
		if (i == first)
			continue;
		if (g == 0) {
			vm = nvmx_host_create(&vcpu, nr, NULL);
			nvmx_host_print_caps(vcpu);
		} else {
			vm = nvmx_host_create_vm(&vcpu, NULL);
		}
		setup(vm, vcpu);
		nvmx_group.cut_ok = nvmx_host_cut_caps(vcpu, &cuts[g]);
		nvmx_group.first = first;
		nvmx_group.nr = i - first;
		sync_global_to_guest(vm, nvmx_group);
		nvmx_host_run_vm(vm, vcpu, nvmx_host_case_message);
	}
	return nvmx_host_finish();
}

#endif /* SELFTEST_KVM_NVMX_EPT_H */
