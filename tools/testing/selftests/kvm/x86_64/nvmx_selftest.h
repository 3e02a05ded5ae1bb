/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * nvmx_selftest.h: the L1/L2 framework the nvmx_*_test.c selftests share.
 *
 * L1 runs a table of cases; each case sets up vmcs12, runs L2 and checks
 * what it finds, reporting every mismatch to the host as "case: field:
 * expected, got (SDM section)" and ending with a verdict: pass, fail, skip
 * (with the reason: a missing VMX capability is never a pass) or xfail (a
 * known deviation of stock KVM, which fails with NVMX_STRICT=1).
 *
 * A test that includes this header first defines struct nvmx_env, with at
 * least "bool strict", and the variable nvmx_env: set by the host before
 * L1 runs.  It defines l1_guest_code(struct vmx_pages *), which L1 enters
 * through l1_entry below.
 *
 * Section numbers are those of the SDM editions that number the VMX chapters
 * 24 (VMCS) to 27 (VM exits); newer editions add one to the chapter.
 */
#ifndef SELFTEST_KVM_NVMX_SELFTEST_H
#define SELFTEST_KVM_NVMX_SELFTEST_H

#include <stdlib.h>
#include <string.h>

#include "nvmx_module.h"
#include "test_util.h"
#include "kvm_util.h"
#include "processor.h"
#include "vmx.h"

#define NVMX_XSTR(x)		NVMX_STR(x)
#define NVMX_STR(x)		#x

/* Guest-to-host messages, all sent as UCALL_SYNC with the kind in args[0]. */
enum nvmx_msg {
	NVMX_MSG_MISMATCH = 0x6e766d78,
	NVMX_MSG_NOTE,
	NVMX_MSG_CASE_END,
	NVMX_MSG_SNAPSHOT,	/* nvmx_load_host_state_test's host-state stub */
	NVMX_MSG_HOST_EVENT,	/* nvmx_events_test: L2 asks for events */
	NVMX_MSG_EXITS,		/* nvmx_msr_bitmap_test: the vCPU's exit count */
};

enum nvmx_verdict {
	NVMX_PASS,
	NVMX_FAIL,
	NVMX_SKIP,
	NVMX_XFAIL,
};

#define EXIT_REASON_VMCALL_NR		18

#define NVMX_MSR_FS_BASE		0xc0000100
#define NVMX_MSR_GS_BASE		0xc0000101
#define NVMX_MSR_EFER			0xc0000080
#define NVMX_MSR_PAT			0x277
#define NVMX_MSR_DEBUGCTL		0x1d9
#define NVMX_MSR_SYSENTER_CS		0x174
#define NVMX_MSR_SYSENTER_ESP		0x175
#define NVMX_MSR_SYSENTER_EIP		0x176
#define NVMX_EFER_SCE			BIT_ULL(0)
#define NVMX_EFER_NXE			BIT_ULL(11)

struct nvmx_dtr {
	u16 limit;
	u64 base;
} __packed;

/* A row of a case table whose cases are plain L1 functions. */
struct nvmx_case {
	const char *name;
	void (*run)(void);
};

/*
 * The GPR image L2 starts with and the one it left at its last VM exit,
 * indexed by register number as in SDM Table 27-3: 0 RAX, 1 RCX, 2 RDX,
 * 3 RBX, 4 RSP (not used: RSP is in the VMCS), 5 RBP, 6 RSI, 7 RDI, 8-15.
 * VM entry and VM exit leave the GPRs other than RSP alone (26.3.2.3,
 * 27.5.3), so L2 sees what L1 had and L1 sees what L2 had.
 */
u64 nvmx_gpr_in[16];
u64 nvmx_gpr_out[16];
u64 nvmx_l1_rsp;
u32 nvmx_launch;

static u64 l2_stack[512] __aligned(16);

/*
 * Pieces of nvmx_l2_run_asm: save the registers a C function preserves
 * and L1's RSP; load L2's GPRs from nvmx_gpr_in and VMLAUNCH (nvmx_launch
 * != 0) or VMRESUME, falling through only on VMfail, with L1's RSP back and
 * EAX = 1; store L2's GPRs into nvmx_gpr_out at the VM exit; restore the
 * preserved registers and return.
 */
#define NVMX_ASM_L2_RUN_PROLOGUE					\
	"push %rbp\n\t"							\
	"push %rbx\n\t"							\
	"push %r12\n\t"							\
	"push %r13\n\t"							\
	"push %r14\n\t"							\
	"push %r15\n\t"							\
	"mov %edi, nvmx_launch(%rip)\n\t"				\
	"mov %rsp, nvmx_l1_rsp(%rip)\n\t"

#define NVMX_ASM_L2_ENTER						\
	"mov nvmx_gpr_in+0(%rip), %rax\n\t"				\
	"mov nvmx_gpr_in+8(%rip), %rcx\n\t"				\
	"mov nvmx_gpr_in+16(%rip), %rdx\n\t"				\
	"mov nvmx_gpr_in+24(%rip), %rbx\n\t"				\
	"mov nvmx_gpr_in+40(%rip), %rbp\n\t"				\
	"mov nvmx_gpr_in+48(%rip), %rsi\n\t"				\
	"mov nvmx_gpr_in+56(%rip), %rdi\n\t"				\
	"mov nvmx_gpr_in+64(%rip), %r8\n\t"				\
	"mov nvmx_gpr_in+72(%rip), %r9\n\t"				\
	"mov nvmx_gpr_in+80(%rip), %r10\n\t"				\
	"mov nvmx_gpr_in+88(%rip), %r11\n\t"				\
	"mov nvmx_gpr_in+96(%rip), %r12\n\t"				\
	"mov nvmx_gpr_in+104(%rip), %r13\n\t"				\
	"mov nvmx_gpr_in+112(%rip), %r14\n\t"				\
	"mov nvmx_gpr_in+120(%rip), %r15\n\t"				\
	"cmpl $0, nvmx_launch(%rip)\n\t"				\
	"jne 1f\n\t"							\
	"vmresume\n\t"							\
	"jmp 2f\n"							\
	"1:\tvmlaunch\n"						\
	"2:\tmov nvmx_l1_rsp(%rip), %rsp\n\t"				\
	"mov $1, %eax\n\t"

#define NVMX_ASM_L2_SAVE_GPRS						\
	"mov %rax, nvmx_gpr_out+0(%rip)\n\t"				\
	"mov %rcx, nvmx_gpr_out+8(%rip)\n\t"				\
	"mov %rdx, nvmx_gpr_out+16(%rip)\n\t"				\
	"mov %rbx, nvmx_gpr_out+24(%rip)\n\t"				\
	"mov %rbp, nvmx_gpr_out+40(%rip)\n\t"				\
	"mov %rsi, nvmx_gpr_out+48(%rip)\n\t"				\
	"mov %rdi, nvmx_gpr_out+56(%rip)\n\t"				\
	"mov %r8, nvmx_gpr_out+64(%rip)\n\t"				\
	"mov %r9, nvmx_gpr_out+72(%rip)\n\t"				\
	"mov %r10, nvmx_gpr_out+80(%rip)\n\t"				\
	"mov %r11, nvmx_gpr_out+88(%rip)\n\t"				\
	"mov %r12, nvmx_gpr_out+96(%rip)\n\t"				\
	"mov %r13, nvmx_gpr_out+104(%rip)\n\t"				\
	"mov %r14, nvmx_gpr_out+112(%rip)\n\t"				\
	"mov %r15, nvmx_gpr_out+120(%rip)\n\t"

#define NVMX_ASM_L2_RUN_EPILOGUE					\
	"pop %r15\n\t"							\
	"pop %r14\n\t"							\
	"pop %r13\n\t"							\
	"pop %r12\n\t"							\
	"pop %rbx\n\t"							\
	"pop %rbp\n\t"							\
	"ret\n\t"

/* The arithmetic flags of the last VMfail of nvmx_l2_run_asm (SDM 30.2). */
u64 nvmx_vmfail_rflags;

#ifndef NVMX_OWN_HOST_RIP
/*
 * HOST_RIP for the next entry instead of nvmx_l2_run_asm's own exit path,
 * when not 0: a test whose entry must fail on the host RIP (SDM 26.2.4)
 * sets a non-canonical one.
 */
u64 nvmx_host_rip_override;

/*
 * nvmx_l2_run_asm (EDI = launch): load L2's GPRs from nvmx_gpr_in, VMLAUNCH
 * (launch != 0) or VMRESUME, and on the VM exit store L2's GPRs into
 * nvmx_gpr_out.  EAX = 0 after a VM exit, 1 if the instruction failed
 * (VMfail, its arithmetic flags in nvmx_vmfail_rflags).  Preserves RBX,
 * RBP, R12-R15 like a C function.  A test that defines NVMX_OWN_HOST_RIP
 * (its exits go elsewhere) writes its own from the pieces above.
 */
asm(".pushsection .text\n"
	"nvmx_l2_run_asm:\n\t"
	NVMX_ASM_L2_RUN_PROLOGUE
	"mov $0x6c14, %eax\n\t"			/* HOST_RSP */
	"vmwrite %rsp, %rax\n\t"
	"lea nvmx_l2_exit(%rip), %rdx\n\t"
	"mov nvmx_host_rip_override(%rip), %rcx\n\t"
	"test %rcx, %rcx\n\t"
	"cmovnz %rcx, %rdx\n\t"
	"mov $0x6c16, %eax\n\t"			/* HOST_RIP */
	"vmwrite %rdx, %rax\n\t"
	NVMX_ASM_L2_ENTER
	"pushf\n\t"
	"pop %rdx\n\t"
	"and $0x8d5, %rdx\n\t"			/* F_ARITH */
	"mov %rdx, nvmx_vmfail_rflags(%rip)\n\t"
	"jmp 3f\n"
	"nvmx_l2_exit:\n\t"
	NVMX_ASM_L2_SAVE_GPRS
	"xor %eax, %eax\n"
	"3:\t"
	NVMX_ASM_L2_RUN_EPILOGUE
	".popsection\n");
#endif

/* The address of a label defined in one of the asm blocks of the test. */
#define ASM_LABEL(sym) ({						\
	u64 __addr;							\
									\
	asm("lea " #sym "(%%rip), %0" : "=r"(__addr));			\
	__addr;								\
})

/*
 * Call the asm routine of L1's at @fn (ASM_LABEL()), which takes EDI and
 * returns EAX, clobbering what a C call may.  Step over the red zone: the
 * call pushes a return address.
 */
static inline int nvmx_call_asm(u64 fn, int edi)
{
	int ret;

	asm volatile("lea -128(%%rsp), %%rsp\n\t"
		     "call *%[fn]\n\t"
		     "lea 128(%%rsp), %%rsp"
		     : "=a"(ret), "+D"(edi)
		     : [fn] "r"(fn)
		     : "rcx", "rdx", "rsi", "r8", "r9", "r10", "r11", "memory",
		       "cc");
	return ret;
}

static inline int nvmx_l2_run(int launch)
{
	return nvmx_call_asm(ASM_LABEL(nvmx_l2_run_asm), launch);
}

/* ---------------------------------------------------------------------- */
/* L1: case bookkeeping and reporting.                                      */

static int cur_case;
static int nr_mismatch;
static const char *skip_reason;
static const char *xfail_reason;

static inline void report(const char *field, u64 expected, u64 actual,
			  const char *sdm)
{
	if (expected == actual)
		return;
	nr_mismatch++;
	ucall(UCALL_SYNC, 6, NVMX_MSG_MISMATCH, cur_case, field, expected,
	      actual, sdm);
}

/*
 * A check where stock KVM 6.1 is known to deviate from the SDM with exactly
 * the value @stock: that outcome is reported as XFAIL (with @why), unless
 * the host ran the test with NVMX_STRICT=1; any other mismatch fails.
 */
static inline void report_known(const char *field, u64 expected, u64 actual,
				u64 stock, const char *sdm, const char *why)
{
	if (expected == actual)
		return;
	if (actual == stock && !nvmx_env.strict) {
		xfail_reason = why;
		ucall(UCALL_SYNC, 6, NVMX_MSG_NOTE, cur_case, field, expected,
		      actual, sdm);
		return;
	}
	report(field, expected, actual, sdm);
}

#define CHECK(field, expected, sdm)	\
	report(#field, (expected), vmreadz(field), (sdm))

/* The arithmetic flags VMX instructions report with (SDM 30.2). */
#define F_ARITH			0x08d5ull	/* CF PF AF ZF SF OF */

/*
 * The end of an inline asm statement whose instruction's RFLAGS (SDM 30.2:
 * how it ended) go into its output operand %[rf]: PUSHF below the red zone
 * of the C code around it.
 */
#define NVMX_ASM_RFLAGS							\
	"\n\tlea -128(%%rsp), %%rsp\n\t"				\
	"pushf\n\t"							\
	"pop %[rf]\n\t"						\
	"lea 128(%%rsp), %%rsp"

/* VMREAD @enc into @val and return RFLAGS right after it. */
static inline u64 nvmx_vmread_rflags(u64 enc, u64 *val)
{
	u64 v = 0, rf;

	asm volatile("vmread %[f], %[v]" NVMX_ASM_RFLAGS
		     : [rf] "=r"(rf), [v] "+r"(v) : [f] "r"(enc)
		     : "cc", "memory");
	*val = v;
	return rf;
}

/*
 * L2 exited for @reason (a mismatch cites @sdm).  An exit this test did
 * not plan for makes the rest of a case meaningless.
 */
static inline bool nvmx_expect_exit_sdm(u32 reason, const char *sdm)
{
	u32 got = vmreadz(VM_EXIT_REASON);

	report("VM_EXIT_REASON", reason, got, sdm);
	return got == reason;
}

static inline bool expect_exit(u32 reason)
{
	return nvmx_expect_exit_sdm(reason, "27.2.1");
}

/* L2 exited for @reason (a mismatch cites @sdm) at @rip. */
static inline bool nvmx_exit_at(u32 reason, u64 rip, const char *sdm)
{
	if (!nvmx_expect_exit_sdm(reason, sdm))
		return false;
	CHECK(GUEST_RIP, rip, "27.3.3");
	return vmreadz(GUEST_RIP) == rip;
}

/* L2 exited with a VMCALL at @rip (the closing exit a case expects). */
static inline bool nvmx_vmcall_at(u64 rip)
{
	return nvmx_exit_at(EXIT_REASON_VMCALL_NR, rip, "27.2.1");
}

static inline void skip(const char *why)
{
	skip_reason = why;
}

static inline u64 vmx_true_msr(u32 msr)
{
	/*
	 * IA32_VMX_BASIC[55]: the TRUE_* capability MSRs exist (A.1); the
	 * secondary controls have none (A.3.3).
	 */
	if (msr == MSR_IA32_VMX_PROCBASED_CTLS2 ||
	    !(rdmsr(MSR_IA32_VMX_BASIC) & (1ull << 55)))
		return rdmsr(msr);
	return rdmsr(msr == MSR_IA32_VMX_EXIT_CTLS ?
		     MSR_IA32_VMX_TRUE_EXIT_CTLS :
		     msr == MSR_IA32_VMX_ENTRY_CTLS ?
		     MSR_IA32_VMX_TRUE_ENTRY_CTLS :
		     msr == MSR_IA32_VMX_PINBASED_CTLS ?
		     MSR_IA32_VMX_TRUE_PINBASED_CTLS :
		     MSR_IA32_VMX_TRUE_PROCBASED_CTLS);
}

/*
 * Set and clear bits of a 32-bit control field if the capability MSR
 * allows it (A.3-A.5: bits 31:0 are the allowed 0-settings, 63:32 the
 * allowed 1-settings).  Returns false, changing nothing, if not.
 */
static inline bool ctl_update(u32 field, u32 cap_msr, u32 set, u32 clear)
{
	u64 cap = vmx_true_msr(cap_msr);
	u32 must1 = (u32)cap, may1 = cap >> 32;

	if ((set & ~may1) || (clear & must1))
		return false;
	vmwrite(field, (vmreadz(field) | set) & ~clear);
	return true;
}

static inline void l2_setup(u64 rip)
{
	vmwrite(GUEST_RIP, rip);
	vmwrite(GUEST_RSP, (u64)&l2_stack[ARRAY_SIZE(l2_stack)]);
	memset(nvmx_gpr_in, 0, sizeof(nvmx_gpr_in));
}

/* VMLAUNCH (@launch) or VMRESUME of L2: a VMfail is a mismatch (26.1). */
static inline bool nvmx_l2_enter(int launch)
{
	if (!nvmx_l2_run(launch))
		return true;
	report(launch ? "VMLAUNCH succeeded (VM-instruction error)" :
	       "VMRESUME succeeded (VM-instruction error)", 0,
	       vmreadz(VM_INSTRUCTION_ERROR), "26.1");
	return false;
}

static inline bool l2_launch(void)
{
	return nvmx_l2_enter(1);
}

/*
 * For a VMRESUME with the registers L2 left: at the instruction that
 * exited (a fault-like exit, @past false) or past it (by the VM-exit
 * instruction length, 27.2.5).
 */
static inline void nvmx_l2_continue(bool past)
{
	memcpy(nvmx_gpr_in, nvmx_gpr_out, sizeof(nvmx_gpr_in));
	if (past)
		vmwrite(GUEST_RIP, vmreadz(GUEST_RIP) +
			vmreadz(VM_EXIT_INSTRUCTION_LEN));
}

static inline bool nvmx_l2_vmresume(void)
{
	return nvmx_l2_enter(0);
}

/* nvmx_l2_continue(@past), then VMRESUME. */
static inline bool nvmx_l2_resume(bool past)
{
	nvmx_l2_continue(past);
	return nvmx_l2_vmresume();
}

/* @vmx's VMCS cleared, current and prepared (L1 in VMX operation) */
static inline void nvmx_fresh_vmcs(struct vmx_pages *vmx)
{
	GUEST_ASSERT(load_vmcs(vmx));
	prepare_vmcs(vmx, NULL, &l2_stack[ARRAY_SIZE(l2_stack)]);
}

/*
 * Run cases 0 to @nr_cases - 1, each on a freshly loaded and prepared VMCS
 * (L1 is in VMX operation already), and send each one's verdict.
 */
static inline void nvmx_l1_run_cases(struct vmx_pages *vmx, int nr_cases,
				     void (*run)(int i))
{
	int verdict;
	int i;

	for (i = 0; i < nr_cases; i++) {
		cur_case = i;
		nr_mismatch = 0;
		skip_reason = NULL;
		xfail_reason = NULL;
		nvmx_fresh_vmcs(vmx);
		run(i);
		if (nr_mismatch)
			verdict = NVMX_FAIL;
		else if (skip_reason)
			verdict = NVMX_SKIP;
		else if (xfail_reason)
			verdict = NVMX_XFAIL;
		else
			verdict = NVMX_PASS;
		ucall(UCALL_SYNC, 4, NVMX_MSG_CASE_END, i, verdict,
		      verdict == NVMX_SKIP ? skip_reason : xfail_reason);
	}
	GUEST_DONE();
}

/*
 * L1 starts here.  The 6.1 selftest library enters guest code with RSP
 * 16-byte aligned, not 8 off as after a CALL (the x86-64 ABI), and SSE
 * spills to a misaligned stack fault in L1, which has no IDT: CALL the C
 * code instead.
 */
asm(".pushsection .text\n"
	"l1_entry:\n\t"
	"and $-16, %rsp\n\t"
	"call l1_guest_code\n\t"
	"ud2\n\t"
	".popsection\n");

/* ---------------------------------------------------------------------- */
/* Host.                                                                    */

/* A mismatch or a stock deviation L1 found in case @name. */
static inline void nvmx_host_print(struct ucall *uc, const char *name)
{
	if (uc->args[0] == NVMX_MSG_MISMATCH)
		ksft_print_msg("%s: %s: expected 0x%lx, got 0x%lx (SDM %s)\n",
			       name, (const char *)uc->args[2], uc->args[3],
			       uc->args[4], (const char *)uc->args[5]);
	else
		ksft_print_msg("%s: %s: expected 0x%lx, got 0x%lx (SDM %s): stock deviation\n",
			       name, (const char *)uc->args[2], uc->args[3],
			       uc->args[4], (const char *)uc->args[5]);
}

static inline void nvmx_host_result(const char *name, u64 verdict,
				    const char *reason)
{
	switch (verdict) {
	case NVMX_PASS:
		ksft_test_result_pass("%s\n", name);
		break;
	case NVMX_SKIP:
		ksft_test_result_skip("%s: %s\n", name, reason);
		break;
	case NVMX_XFAIL:
		ksft_test_result_xfail("%s: %s (set NVMX_STRICT=1 to fail)\n",
				       name, reason);
		break;
	default:
		ksft_test_result_fail("%s\n", name);
		break;
	}
}

/* The messages of a test without messages of its own, for case @name. */
static inline void nvmx_host_message(struct ucall *uc, const char *name)
{
	switch (uc->args[0]) {
	case NVMX_MSG_MISMATCH:
	case NVMX_MSG_NOTE:
		nvmx_host_print(uc, name);
		break;
	case NVMX_MSG_CASE_END:
		nvmx_host_result(name, uc->args[2], (const char *)uc->args[3]);
		break;
	default:
		TEST_FAIL("unknown message 0x%lx from L1", uc->args[0]);
	}
}

/*
 * nvmx_env.strict: stock's known deviations are XFAIL unless NVMX_STRICT=1;
 * nvmx has no such excuse.
 */
static inline bool nvmx_host_strict(void)
{
	const char *strict = getenv("NVMX_STRICT");

	return (strict && !strcmp(strict, "1")) || nvmx_host_module_is_nvmx();
}

/*
 * A VM with one vCPU that enters L1 at l1_entry with its VMX pages as the
 * argument (returned in @vmx if not NULL).  @extra_pages are the pages
 * the test adds in memslots of its own: memslot 0 grows by the page tables
 * that map them (the 6.1 library's __vm_create_with_one_vcpu()).
 */
static inline struct kvm_vm *nvmx_host_create_vm_mem(struct kvm_vcpu **vcpu,
						     struct vmx_pages **vmx,
						     u64 extra_pages)
{
	struct vmx_pages *pages;
	vm_vaddr_t vmx_gva;
	struct kvm_vm *vm;

	vm = __vm_create_with_one_vcpu(vcpu, extra_pages,
				       (void *)ASM_LABEL(l1_entry));
	pages = vcpu_alloc_vmx(vm, &vmx_gva);
	vcpu_args_set(*vcpu, 1, vmx_gva);
	nvmx_env.strict = nvmx_host_strict();
	if (vmx)
		*vmx = pages;
	return vm;
}

static inline struct kvm_vm *nvmx_host_create_vm(struct kvm_vcpu **vcpu,
						 struct vmx_pages **vmx)
{
	return nvmx_host_create_vm_mem(vcpu, vmx, 0);
}

/* The TAP header and plan, then nvmx_host_create_vm(). */
static inline struct kvm_vm *nvmx_host_create(struct kvm_vcpu **vcpu,
					      int nr_cases,
					      struct vmx_pages **vmx)
{
	TEST_REQUIRE(kvm_cpu_has(X86_FEATURE_VMX));

	ksft_print_header();
	ksft_set_plan(nr_cases);
	return nvmx_host_create_vm(vcpu, vmx);
}

/*
 * The fuzzers' pseudo-random numbers (xorshift64, Marsaglia 2003): the
 * same sequence for a seed on every run, in L1 or on the host.  @state
 * must not be 0.
 */
static inline u64 nvmx_xorshift64(u64 *state)
{
	u64 x = *state;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	*state = x;
	return x;
}

/*
 * Copy nvmx_env into the guest, run L1 to its end, passing each of its
 * messages to @message, and free the VM.
 */
static inline void nvmx_host_run_vm(struct kvm_vm *vm, struct kvm_vcpu *vcpu,
				    void (*message)(struct ucall *uc))
{
	struct ucall uc;

	sync_global_to_guest(vm, nvmx_env);

	for (;;) {
		switch (nvmx_run_to_ucall(vcpu, &uc)) {
		case UCALL_SYNC:
			message(&uc);
			break;
		case UCALL_ABORT:
			REPORT_GUEST_ASSERT(uc);
			break;
		case UCALL_DONE:
			kvm_vm_free(vm);
			return;
		default:
			TEST_FAIL("unexpected ucall %lu", uc.cmd);
		}
	}
}

/*
 * Finish the TAP output after the last VM: a test in which every case was
 * skipped is a skip.
 */
static inline int nvmx_host_finish(void)
{
	if (ksft_get_pass_cnt() + ksft_get_xfail_cnt() == 0 &&
	    ksft_get_fail_cnt() == 0)
		ksft_exit_skip("every case was skipped\n");
	ksft_finished();
	return 0;
}

/* nvmx_host_run_vm(), then nvmx_host_finish(). */
static inline int nvmx_host_run(struct kvm_vm *vm, struct kvm_vcpu *vcpu,
				void (*message)(struct ucall *uc))
{
	nvmx_host_run_vm(vm, vcpu, message);
	return nvmx_host_finish();
}

/* The case names of a test that uses nvmx_host_main(). */
static const char *(*nvmx_case_name)(int i);

static inline void nvmx_host_case_message(struct ucall *uc)
{
	nvmx_host_message(uc, nvmx_case_name(uc->args[1]));
}

/* main() of a test whose host does nothing but report L1's messages. */
static inline int nvmx_host_main(int nr_cases, const char *(*case_name)(int i))
{
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;

	nvmx_case_name = case_name;
	vm = nvmx_host_create(&vcpu, nr_cases, NULL);
	return nvmx_host_run(vm, vcpu, nvmx_host_case_message);
}

/* ---------------------------------------------------------------------- */
/* A table of struct nvmx_case, in L1 and in the host.                      */

static const struct nvmx_case *nvmx_table;

static inline void nvmx_table_run_case(int i)
{
	nvmx_table[i].run();
}

static inline const char *nvmx_table_case_name(int i)
{
	return nvmx_table[i].name;
}

/* L1: enter VMX operation and run the @nr cases of @table. */
static inline void nvmx_l1_run_table(struct vmx_pages *vmx,
				     const struct nvmx_case *table, int nr)
{
	nvmx_table = table;
	GUEST_ASSERT(prepare_for_vmx_operation(vmx));
	nvmx_l1_run_cases(vmx, nr, nvmx_table_run_case);
}

/*
 * Host: the TAP header and plan for the @nr cases of @table, named after
 * it, then nvmx_host_create_vm_mem().
 */
static inline struct kvm_vm *
nvmx_host_create_table_mem(struct kvm_vcpu **vcpu, const struct nvmx_case *table,
			   int nr, struct vmx_pages **vmx, u64 extra_pages)
{
	TEST_REQUIRE(kvm_cpu_has(X86_FEATURE_VMX));

	ksft_print_header();
	ksft_set_plan(nr);
	nvmx_table = table;
	nvmx_case_name = nvmx_table_case_name;
	return nvmx_host_create_vm_mem(vcpu, vmx, extra_pages);
}

/* Host: nvmx_host_create() for the @nr cases of @table, named after it. */
static inline struct kvm_vm *nvmx_host_create_table(struct kvm_vcpu **vcpu,
						    const struct nvmx_case *table,
						    int nr)
{
	return nvmx_host_create_table_mem(vcpu, table, nr, NULL, 0);
}

/* ---------------------------------------------------------------------- */
/* A linear address X that L1 or L2 remaps from page A to page B.           */

/*
 * X lies in a 1-GByte region of its own, so its page table maps nothing
 * else; L1 and L2 share L1's page tables, and write X's PTE through a
 * linear address of their own.  Pages A and B hold values that tell them
 * apart.
 */
#define NVMX_X_MIN		0x40000000ul
#define NVMX_VAL_A		0x4141414141414141ull
#define NVMX_VAL_B		0x4242424242424242ull

/* Set by nvmx_host_setup_x(). */
struct nvmx_x {
	u64 x;			/* the linear address X */
	u64 pte;		/* the linear address of X's PTE */
	u64 pte_a, pte_b;	/* X's PTE mapping page A, page B */
} nvmx_x;

/* Registers of L2's bodies on X (nvmx_x_l2_setup(), SDM Table 27-3). */
#define NVMX_X_GPR_X		2	/* RDX: X */
#define NVMX_X_GPR_PTE		3	/* RBX: the address of X's PTE */
#define NVMX_X_GPR_PTE_A	6	/* RSI: X's PTE mapping A */
#define NVMX_X_GPR_PTE_B	7	/* RDI: X's PTE mapping B */
#define NVMX_X_GPR_READ1	8	/* R8: the first read through X */
#define NVMX_X_GPR_READ2	9	/* R9: the second */

/*
 * An L2 body for a test's asm block, at @label: map X to A, read X, remap
 * X to B and VMCALL at @label_exit; resumed, read X again and VMCALL at
 * @label_end.  No INVLPG.
 */
#define NVMX_ASM_L2_X_REMAP(label)					\
	#label ":\n\t"							\
	"mov %rsi, (%rbx)\n\t"						\
	"mov (%rdx), %r8\n\t"						\
	"mov %rdi, (%rbx)\n"						\
	#label "_exit:\n\t"						\
	"vmcall\n\t"							\
	"mov (%rdx), %r9\n"						\
	#label "_end:\n\t"						\
	"vmcall\n\t"							\
	"ud2\n"

/* L1: write X's PTE (no INVLPG). */
static inline void nvmx_x_set_pte(u64 pte)
{
	WRITE_ONCE(*(u64 *)nvmx_x.pte, pte);
}

/* L1: X mapped to A, no translation of X cached for L1 (INVLPG, 4.10.4.1). */
static inline void nvmx_x_map_a(void)
{
	nvmx_x_set_pte(nvmx_x.pte_a);
	asm volatile("invlpg (%0)" : : "r"(nvmx_x.x) : "memory");
}

/* L1: l2_setup(@rip) with the registers of the bodies on X. */
static inline void nvmx_x_l2_setup(u64 rip)
{
	l2_setup(rip);
	nvmx_gpr_in[NVMX_X_GPR_X] = nvmx_x.x;
	nvmx_gpr_in[NVMX_X_GPR_PTE] = nvmx_x.pte;
	nvmx_gpr_in[NVMX_X_GPR_PTE_A] = nvmx_x.pte_a;
	nvmx_gpr_in[NVMX_X_GPR_PTE_B] = nvmx_x.pte_b;
}

/*
 * L1: launch the body on X at @rip, which must read A through X first
 * (@why cites what makes it certain) and exit with a VMCALL at @exit.
 */
static inline bool nvmx_x_launch_read_a(u64 rip, u64 exit, const char *why)
{
	nvmx_x_l2_setup(rip);
	if (!l2_launch() || !nvmx_vmcall_at(exit))
		return false;
	report("L2's read through X mapped to A", NVMX_VAL_A,
	       nvmx_gpr_out[NVMX_X_GPR_READ1], why);
	return true;
}

/* Host: the guest-physical address of the page table that maps @gva. */
static inline vm_paddr_t nvmx_page_table_of(struct kvm_vm *vm, vm_vaddr_t gva)
{
	vm_paddr_t table = vm->pgd;
	int level;

	for (level = PG_LEVEL_512G; level > PG_LEVEL_4K; level--) {
		u64 *entry = addr_gpa2hva(vm, table);

		table = entry[(gva >> PG_LEVEL_SHIFT(level)) & 0x1ff] &
			PHYSICAL_PAGE_MASK;
	}
	return table;
}

/* Host: X's PTE @pte with its address replaced by @page's. */
static inline u64 nvmx_x_pte_to(struct kvm_vm *vm, u64 pte, vm_vaddr_t page)
{
	return (pte & ~PHYSICAL_PAGE_MASK) | addr_gva2gpa(vm, page);
}

/*
 * Host: pages A and B with their values, X, and a linear address through
 * which the guest writes X's PTE (a page of its own remapped to X's page
 * table), into nvmx_x in the guest.
 */
static inline void nvmx_host_setup_x(struct kvm_vm *vm, struct kvm_vcpu *vcpu)
{
	vm_vaddr_t a = vm_vaddr_alloc_page(vm);
	vm_vaddr_t b = vm_vaddr_alloc_page(vm);
	vm_vaddr_t x = vm_vaddr_alloc(vm, PAGE_SIZE, NVMX_X_MIN);
	vm_vaddr_t table = vm_vaddr_alloc_page(vm);
	u64 pte = vm_get_page_table_entry(vm, vcpu, x);

	*(u64 *)addr_gva2hva(vm, a) = NVMX_VAL_A;
	*(u64 *)addr_gva2hva(vm, b) = NVMX_VAL_B;
	vm_set_page_table_entry(vm, vcpu, table,
				(vm_get_page_table_entry(vm, vcpu, table) &
				 ~PHYSICAL_PAGE_MASK) |
				nvmx_page_table_of(vm, x));

	nvmx_x.x = x;
	nvmx_x.pte = table + ((x >> PAGE_SHIFT) & 0x1ff) * sizeof(u64);
	nvmx_x.pte_a = nvmx_x_pte_to(vm, pte, a);
	nvmx_x.pte_b = nvmx_x_pte_to(vm, pte, b);
	sync_global_to_guest(vm, nvmx_x);
}

#endif /* SELFTEST_KVM_NVMX_SELFTEST_H */
