// SPDX-License-Identifier: GPL-2.0-only
/*
 * nvmx_idt_vectoring_test: an event L1 injects into L2 whose delivery is
 * cut short by a VM exit comes back to L1 in the IDT-vectoring fields, and
 * L1 can deliver it again from them.
 *
 * L1 injects an event with the VM-entry interruption-information field
 * (SDM Vol. 3C 24.8.3, 26.5.1) into an L2 whose IDT or stack makes the
 * delivery fault: the stack page is not present (#PF), the gate is not
 * present (#NP) or the gate has a type not allowed in an IA-32e IDT (#GP).
 * L1 intercepts that exception, so the delivery ends in a VM exit (26.5.1.2)
 * and L1 checks the exit: the exception in the VM-exit interruption fields
 * (27.2.2), the injected event in the IDT-vectoring information and error
 * code (27.2.3), the instruction length for software interrupts and
 * exceptions (27.2.4), the cleared valid bit of the VM-entry
 * interruption-information field (27.2), and L2's RIP and RSP left as
 * before the delivery (27.1).  Then L1 fixes the cause, re-injects the
 * event from the IDT-vectoring fields and checks that L2's handler gets it:
 * vector, error code, and the return RIP/CS/RFLAGS it pushed (26.5.1.1).
 *
 * The NMI case is built separately, as nvmx_idt_vectoring_nmi_test (which
 * defines NVMX_IDT_NMI and includes this file), because it cannot run in
 * the emulated VMX host: after Bochs 2.7 has injected an NMI into a guest,
 * every later VM exit of that boot reports blocking by NMI.
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

/* Guest-to-host messages, all sent as UCALL_SYNC with the kind in args[0]. */
enum nvmx_msg {
	NVMX_MSG_MISMATCH = 0x6e766d78,
	NVMX_MSG_NOTE,
	NVMX_MSG_CASE_END,
};

enum nvmx_verdict {
	NVMX_PASS,
	NVMX_FAIL,
	NVMX_SKIP,
	NVMX_XFAIL,
};

#define EXIT_REASON_EXCEPTION_NR	0
#define EXIT_REASON_VMCALL_NR		18

/* Interruption information (24.8.3 Table 24-13, 24.9.2, 24.9.3). */
#define NVMX_INTR_VALID			BIT(31)
#define NVMX_INTR_ERRCODE		BIT(11)
#define NVMX_INTR_TYPE(t)		((t) << 8)
#define NVMX_TYPE_EXT_INTR		0
#define NVMX_TYPE_NMI			2
#define NVMX_TYPE_HW_EXC		3
#define NVMX_TYPE_SW_INTR		4
#define NVMX_TYPE_SW_EXC		6
#define NVMX_INTR_INFO(type, vec)	\
	(NVMX_INTR_VALID | NVMX_INTR_TYPE(type) | (vec))

#define NVMX_NP_VECTOR			11
#define NVMX_GP_VECTOR			13
#define NVMX_PF_VECTOR			14

/* Interruptibility state: blocking by NMI (24.4.2 Table 24-3). */
#define NVMX_BLOCK_NMI			BIT(3)

/* Selector error code of a fault on an IDT entry (6.13): IDT and EXT bits. */
#define IDT_ERRCODE(vec, ext)		(((vec) << 3) | 2 | (ext))
/* #PF on a supervisor-mode write to a not-present page (4.7). */
#define PF_ERRCODE_WRITE_NOT_PRESENT	0x2

/*
 * A canonical page no L1 mapping covers (the selftest library maps only low
 * addresses), used as L2's stack to make event delivery page-fault.
 */
#define UNMAPPED_STACK_TOP		0x00007f0000001000ull

#define GPR_RAX				0
#define GPR_RCX				1
#define GPR_RDX				2
#define GPR_RBX				3
#define GPR_RSI				6

/* Set by the host before L1 runs. */
struct nvmx_env {
	bool strict;		/* known stock deviations fail instead of XFAIL */
};

struct nvmx_env nvmx_env;

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

static u64 l2_idt[512] __aligned(4096);	/* 256 16-byte gates */
static u64 l2_stack[512] __aligned(16);

/*
 * nvmx_l2_run_asm (EDI = launch): load L2's GPRs from nvmx_gpr_in, VMLAUNCH
 * (launch != 0) or VMRESUME, and on the VM exit store L2's GPRs into
 * nvmx_gpr_out.  EAX = 0 after a VM exit, 1 if the instruction failed
 * (VMfail).  Preserves RBX, RBP, R12-R15 like a C function.
 */
asm(".pushsection .text\n"
	"nvmx_l2_run_asm:\n\t"
	"push %rbp\n\t"
	"push %rbx\n\t"
	"push %r12\n\t"
	"push %r13\n\t"
	"push %r14\n\t"
	"push %r15\n\t"
	"mov %edi, nvmx_launch(%rip)\n\t"
	"mov %rsp, nvmx_l1_rsp(%rip)\n\t"
	"mov $0x6c14, %eax\n\t"			/* HOST_RSP */
	"vmwrite %rsp, %rax\n\t"
	"lea nvmx_l2_exit(%rip), %rdx\n\t"
	"mov $0x6c16, %eax\n\t"			/* HOST_RIP */
	"vmwrite %rdx, %rax\n\t"
	"mov nvmx_gpr_in+0(%rip), %rax\n\t"
	"mov nvmx_gpr_in+8(%rip), %rcx\n\t"
	"mov nvmx_gpr_in+16(%rip), %rdx\n\t"
	"mov nvmx_gpr_in+24(%rip), %rbx\n\t"
	"mov nvmx_gpr_in+40(%rip), %rbp\n\t"
	"mov nvmx_gpr_in+48(%rip), %rsi\n\t"
	"mov nvmx_gpr_in+56(%rip), %rdi\n\t"
	"mov nvmx_gpr_in+64(%rip), %r8\n\t"
	"mov nvmx_gpr_in+72(%rip), %r9\n\t"
	"mov nvmx_gpr_in+80(%rip), %r10\n\t"
	"mov nvmx_gpr_in+88(%rip), %r11\n\t"
	"mov nvmx_gpr_in+96(%rip), %r12\n\t"
	"mov nvmx_gpr_in+104(%rip), %r13\n\t"
	"mov nvmx_gpr_in+112(%rip), %r14\n\t"
	"mov nvmx_gpr_in+120(%rip), %r15\n\t"
	"cmpl $0, nvmx_launch(%rip)\n\t"
	"jne 1f\n\t"
	"vmresume\n\t"
	"jmp 2f\n"
	"1:\tvmlaunch\n"
	"2:\tmov nvmx_l1_rsp(%rip), %rsp\n\t"
	"mov $1, %eax\n\t"
	"jmp 3f\n"
	"nvmx_l2_exit:\n\t"
	"mov %rax, nvmx_gpr_out+0(%rip)\n\t"
	"mov %rcx, nvmx_gpr_out+8(%rip)\n\t"
	"mov %rdx, nvmx_gpr_out+16(%rip)\n\t"
	"mov %rbx, nvmx_gpr_out+24(%rip)\n\t"
	"mov %rbp, nvmx_gpr_out+40(%rip)\n\t"
	"mov %rsi, nvmx_gpr_out+48(%rip)\n\t"
	"mov %rdi, nvmx_gpr_out+56(%rip)\n\t"
	"mov %r8, nvmx_gpr_out+64(%rip)\n\t"
	"mov %r9, nvmx_gpr_out+72(%rip)\n\t"
	"mov %r10, nvmx_gpr_out+80(%rip)\n\t"
	"mov %r11, nvmx_gpr_out+88(%rip)\n\t"
	"mov %r12, nvmx_gpr_out+96(%rip)\n\t"
	"mov %r13, nvmx_gpr_out+104(%rip)\n\t"
	"mov %r14, nvmx_gpr_out+112(%rip)\n\t"
	"mov %r15, nvmx_gpr_out+120(%rip)\n\t"
	"xor %eax, %eax\n"
	"3:\tpop %r15\n\t"
	"pop %r14\n\t"
	"pop %r13\n\t"
	"pop %r12\n\t"
	"pop %rbx\n\t"
	"pop %rbp\n\t"
	"ret\n\t"
	".popsection\n");

/* The address of a label defined in one of the asm blocks of this file. */
#define ASM_LABEL(sym) ({						\
	u64 __addr;							\
									\
	asm("lea " #sym "(%%rip), %0" : "=r"(__addr));			\
	__addr;								\
})

static int nvmx_l2_run(int launch)
{
	int ret;

	/* Step over the red zone: the call pushes a return address. */
	asm volatile("lea -128(%%rsp), %%rsp\n\t"
		     "call nvmx_l2_run_asm\n\t"
		     "lea 128(%%rsp), %%rsp"
		     : "=a"(ret), "+D"(launch)
		     :
		     : "rcx", "rdx", "rsi", "r8", "r9", "r10", "r11", "memory",
		       "cc");
	return ret;
}

/*
 * L2: the event is delivered before l2_body's first instruction runs.  Each
 * handler leaves RAX = vector, RBX = error code (-1 if none), RCX/RDX/RSI =
 * the RIP, CS and RFLAGS the delivery pushed, and returns with IRETQ (which
 * also ends the NMI blocking an NMI's delivery began) to the pushed RIP:
 * l2_body or, for a software interrupt or exception, one of the NOPs after
 * it.  L2 then exits with the VMCALL at l2_body_vmcall.
 */
asm(".pushsection .text\n"
	"l2_body:\n\t"
	"nop\n\t"
	"nop\n\t"
	"nop\n"
	"l2_body_vmcall:\n\t"
	"vmcall\n\t"
	"ud2\n"
	"l2_handler_02:\n\t"
	"mov $-1, %rbx\n\t"
	"mov $0x02, %eax\n\t"
	"jmp l2_handler_common\n"
	"l2_handler_03:\n\t"
	"mov $-1, %rbx\n\t"
	"mov $0x03, %eax\n\t"
	"jmp l2_handler_common\n"
	"l2_handler_06:\n\t"
	"mov $-1, %rbx\n\t"
	"mov $0x06, %eax\n\t"
	"jmp l2_handler_common\n"
	"l2_handler_0d:\n\t"
	"pop %rbx\n\t"
	"mov $0x0d, %eax\n\t"
	"jmp l2_handler_common\n"
	"l2_handler_41:\n\t"
	"mov $-1, %rbx\n\t"
	"mov $0x41, %eax\n\t"
	"jmp l2_handler_common\n"
	"l2_handler_80:\n\t"
	"mov $-1, %rbx\n\t"
	"mov $0x80, %eax\n"
	"l2_handler_common:\n\t"
	"mov 0(%rsp), %rcx\n\t"
	"mov 8(%rsp), %rdx\n\t"
	"mov 16(%rsp), %rsi\n\t"
	"iretq\n\t"
	".popsection\n");

/* ---------------------------------------------------------------------- */
/* L1: case bookkeeping and reporting.                                      */

static int cur_case;
static int nr_mismatch;
static const char *skip_reason;
static const char *xfail_reason;

static void report(const char *field, u64 expected, u64 actual,
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
static void report_known(const char *field, u64 expected, u64 actual,
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

static void l2_setup(u64 rip)
{
	vmwrite(GUEST_RIP, rip);
	vmwrite(GUEST_RSP, (u64)&l2_stack[ARRAY_SIZE(l2_stack)]);
	memset(nvmx_gpr_in, 0, sizeof(nvmx_gpr_in));
}

static bool l2_launch(void)
{
	if (nvmx_l2_run(1)) {
		report("VMLAUNCH succeeded (VM-instruction error)", 0,
		       vmreadz(VM_INSTRUCTION_ERROR), "26.1");
		return false;
	}
	return true;
}

/* ---------------------------------------------------------------------- */
/* Cases.                                                                   */

/* What makes the delivery of the injected event fault. */
enum idt_cause {
	STACK_NOT_PRESENT,	/* #PF pushing the frame */
	GATE_NOT_PRESENT,	/* #NP on the IDT entry */
	GATE_BAD_TYPE,		/* #GP: a call gate in an IA-32e IDT (6.14.1) */
};

struct idt_case {
	const char *name;
	u32 type, vector;	/* the injected event */
	bool errcode;		/* it delivers an error code */
	u32 error;		/* that error code */
	u32 len;		/* VM-entry instruction length (types 4-6) */
	enum idt_cause cause;
	u32 fault_vector;	/* the exception its delivery raises */
	u32 fault_error;	/* and that exception's error code */
	u32 interruptibility;	/* saved at that exit */
	const char *sdm;
};

/*
 * A #PF or contributory fault while delivering these events is handled
 * serially, not as #DF (6.15 Table 6-5): none of the injected events is a
 * #PF and none of them is contributory with a contributory fault.
 */
static const struct idt_case cases[] = {
#ifndef NVMX_IDT_NMI
	{ "sw_int_stack_pf", NVMX_TYPE_SW_INTR, 0x80, false, 0, 2,
	  STACK_NOT_PRESENT, NVMX_PF_VECTOR, PF_ERRCODE_WRITE_NOT_PRESENT, 0,
	  "27.2.3, 27.2.4" },
	{ "hw_exc_errcode_stack_pf", NVMX_TYPE_HW_EXC, NVMX_GP_VECTOR, true,
	  0x5a58, 0, STACK_NOT_PRESENT, NVMX_PF_VECTOR,
	  PF_ERRCODE_WRITE_NOT_PRESENT, 0, "27.2.3" },
	{ "sw_exc_int3_stack_pf", NVMX_TYPE_SW_EXC, 3, false, 0, 1,
	  STACK_NOT_PRESENT, NVMX_PF_VECTOR, PF_ERRCODE_WRITE_NOT_PRESENT, 0,
	  "27.2.3, 27.2.4" },
	{ "ext_int_gate_not_present_np", NVMX_TYPE_EXT_INTR, 0x41, false, 0, 0,
	  GATE_NOT_PRESENT, NVMX_NP_VECTOR, IDT_ERRCODE(0x41, 1), 0,
	  "27.2.3" },
	{ "hw_exc_bad_gate_type_gp", NVMX_TYPE_HW_EXC, 6, false, 0, 0,
	  GATE_BAD_TYPE, NVMX_GP_VECTOR, IDT_ERRCODE(6, 1), 0, "27.2.3" },
#else
	/*
	 * An NMI whose delivery exits leaves NMIs blocked before the exit
	 * (27.1), which is saved (27.3.4); with "virtual NMIs" 0 L1 may
	 * inject it again all the same (26.3.1.5).  The handler's IRET
	 * ends the blocking.
	 */
	{ "nmi_stack_pf", NVMX_TYPE_NMI, 2, false, 0, 0, STACK_NOT_PRESENT,
	  NVMX_PF_VECTOR, PF_ERRCODE_WRITE_NOT_PRESENT, NVMX_BLOCK_NMI,
	  "27.2.3, 27.1, 27.3.4" },
#endif
};

static u64 handler_addr(u32 vector)
{
	switch (vector) {
	case 0x02:
		return ASM_LABEL(l2_handler_02);
	case 0x03:
		return ASM_LABEL(l2_handler_03);
	case 0x06:
		return ASM_LABEL(l2_handler_06);
	case 0x0d:
		return ASM_LABEL(l2_handler_0d);
	case 0x41:
		return ASM_LABEL(l2_handler_41);
	default:
		return ASM_LABEL(l2_handler_80);
	}
}

/* A 64-bit IDT gate (6.14.1): type 0xe interrupt gate, 0xc call gate. */
static void set_gate(u32 vector, u32 type, bool present)
{
	u64 handler = handler_addr(vector);

	l2_idt[vector * 2] = (handler & 0xffff) | (u64)get_cs() << 16 |
			     (u64)type << 40 | (u64)present << 47 |
			     ((handler >> 16) & 0xffff) << 48;
	l2_idt[vector * 2 + 1] = handler >> 32;
}

static bool is_soft(u32 type)
{
	return type == NVMX_TYPE_SW_INTR || type == NVMX_TYPE_SW_EXC;
}

static void run_idt_case(const struct idt_case *c)
{
	u32 injected = NVMX_INTR_INFO(c->type, c->vector) |
		       (c->errcode ? NVMX_INTR_ERRCODE : 0);
	u64 stack_top = (u64)&l2_stack[ARRAY_SIZE(l2_stack)];
	u64 rsp = c->cause == STACK_NOT_PRESENT ? UNMAPPED_STACK_TOP :
						  stack_top;
	u64 body = ASM_LABEL(l2_body);
	u32 frame = c->errcode ? 48 : 40;
	u64 qual, info;
	u32 reason;

	memset(l2_idt, 0, sizeof(l2_idt));
	set_gate(0x02, 0xe, true);
	set_gate(0x03, 0xe, true);
	set_gate(0x06, 0xe, true);
	set_gate(0x0d, 0xe, true);
	set_gate(0x41, 0xe, true);
	set_gate(0x80, 0xe, true);
	if (c->cause == GATE_NOT_PRESENT)
		set_gate(c->vector, 0xe, false);
	else if (c->cause == GATE_BAD_TYPE)
		set_gate(c->vector, 0xc, true);

	l2_setup(body);
	vmwrite(GUEST_RSP, rsp);
	/* Injecting an external interrupt needs RFLAGS.IF = 1 (26.3.1.4). */
	if (c->type == NVMX_TYPE_EXT_INTR)
		vmwrite(GUEST_RFLAGS, X86_EFLAGS_FIXED | BIT(9));
	vmwrite(GUEST_IDTR_BASE, (u64)l2_idt);
	vmwrite(GUEST_IDTR_LIMIT, sizeof(l2_idt) - 1);
	/*
	 * Bit 14 set with PFEC mask = match = 0: every #PF exits (25.2);
	 * the other two bits make #NP and #GP exit.
	 */
	vmwrite(EXCEPTION_BITMAP, BIT(c->fault_vector));
	vmwrite(PAGE_FAULT_ERROR_CODE_MASK, 0);
	vmwrite(PAGE_FAULT_ERROR_CODE_MATCH, 0);
	vmwrite(VM_ENTRY_INTR_INFO_FIELD, injected);
	vmwrite(VM_ENTRY_EXCEPTION_ERROR_CODE, c->error);
	vmwrite(VM_ENTRY_INSTRUCTION_LEN, c->len);
	if (!l2_launch())
		return;

	/* The exception the delivery raised (27.2.2). */
	reason = vmreadz(VM_EXIT_REASON);
	report("VM_EXIT_REASON", EXIT_REASON_EXCEPTION_NR, reason, "27.2.1");
	if (reason != EXIT_REASON_EXCEPTION_NR)
		return;
	CHECK(VM_EXIT_INTR_INFO, NVMX_INTR_INFO(NVMX_TYPE_HW_EXC,
						c->fault_vector) |
	      NVMX_INTR_ERRCODE, "27.2.2");
	CHECK(VM_EXIT_INTR_ERROR_CODE, c->fault_error, "27.2.2");
	if (c->fault_vector == NVMX_PF_VECTOR) {
		/*
		 * The faulting address is one of the frame's slots; which
		 * one a CPU touches first is not architectural, so this is
		 * the only check that is a range: 8-byte slots from the
		 * 16-byte aligned top down (6.14.2).
		 */
		qual = vmreadz(EXIT_QUALIFICATION);
		if (qual & 7 || qual < rsp - frame || qual > rsp - 8)
			report("EXIT_QUALIFICATION (a slot of the frame below RSP)",
			       rsp - 8, qual, "27.2.1, 6.14.2");
	}

	/* The event that was being delivered (27.2.3, 27.2.4). */
	info = vmreadz(IDT_VECTORING_INFO_FIELD);
	report("IDT_VECTORING_INFO_FIELD (bit 12 undefined)", injected,
	       info & ~BIT(12), c->sdm);
	if (c->errcode)
		CHECK(IDT_VECTORING_ERROR_CODE, c->error, "27.2.3");
	if (is_soft(c->type))
		CHECK(VM_EXIT_INSTRUCTION_LEN, c->len, "27.2.4, 26.5.1.2");
	report("VM_ENTRY_INTR_INFO_FIELD valid bit", 0,
	       vmreadz(VM_ENTRY_INTR_INFO_FIELD) & NVMX_INTR_VALID,
	       "27.2 (cleared on every VM exit)");
	CHECK(GUEST_RIP, body, "27.1 (delivery did not update RIP)");
	CHECK(GUEST_RSP, rsp, "27.1 (delivery did not update RSP)");
	report_known("GUEST_INTERRUPTIBILITY_INFO", c->interruptibility,
		     vmreadz(GUEST_INTERRUPTIBILITY_INFO),
		     c->interruptibility & ~NVMX_BLOCK_NMI, "27.3.4, 27.1",
		     "stock KVM clears blocking by NMI when an NMI's delivery exits to L1");

	/* Fix the cause and deliver the event again from what L1 got. */
	if (c->cause == STACK_NOT_PRESENT)
		vmwrite(GUEST_RSP, stack_top);
	else
		set_gate(c->vector, 0xe, true);
	vmwrite(VM_ENTRY_INTR_INFO_FIELD, info & ~BIT(12));
	vmwrite(VM_ENTRY_EXCEPTION_ERROR_CODE,
		vmreadz(IDT_VECTORING_ERROR_CODE));
	vmwrite(VM_ENTRY_INSTRUCTION_LEN, vmreadz(VM_EXIT_INSTRUCTION_LEN));
	nvmx_gpr_in[GPR_RSI] = vmreadz(GUEST_RFLAGS);
	if (nvmx_l2_run(0)) {
		report("VMRESUME succeeded (VM-instruction error)", 0,
		       vmreadz(VM_INSTRUCTION_ERROR), "26.1");
		return;
	}

	/* L2's handler ran, saw the event (26.5.1.1) and returned. */
	reason = vmreadz(VM_EXIT_REASON);
	report("VM_EXIT_REASON after re-injection", EXIT_REASON_VMCALL_NR,
	       reason, "26.5.1.1");
	if (reason != EXIT_REASON_VMCALL_NR)
		return;
	CHECK(GUEST_RIP, ASM_LABEL(l2_body_vmcall), "26.5.1.1");
	report("handler: vector", c->vector, nvmx_gpr_out[GPR_RAX],
	       "26.5.1.1");
	report("handler: error code", c->errcode ? c->error : -1ull,
	       nvmx_gpr_out[GPR_RBX], "26.5.1.1");
	report("handler: pushed RIP", body + (is_soft(c->type) ? c->len : 0),
	       nvmx_gpr_out[GPR_RCX], "26.5.1.1");
	report("handler: pushed CS", get_cs(), nvmx_gpr_out[GPR_RDX],
	       "26.5.1.1");
	report("handler: pushed RFLAGS (GUEST_RFLAGS at VMRESUME)",
	       nvmx_gpr_in[GPR_RSI], nvmx_gpr_out[GPR_RSI], "26.5.1.1");
}

void l1_guest_code(struct vmx_pages *vmx)
{
	int verdict;
	int i;

	GUEST_ASSERT(prepare_for_vmx_operation(vmx));
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		cur_case = i;
		nr_mismatch = 0;
		skip_reason = NULL;
		xfail_reason = NULL;
		GUEST_ASSERT(load_vmcs(vmx));
		prepare_vmcs(vmx, NULL, &l2_stack[ARRAY_SIZE(l2_stack)]);
		run_idt_case(&cases[i]);
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

static void host_message(struct ucall *uc)
{
	const char *name = cases[uc->args[1]].name;

	switch (uc->args[0]) {
	case NVMX_MSG_MISMATCH:
		ksft_print_msg("%s: %s: expected 0x%lx, got 0x%lx (SDM %s)\n",
			       name, (const char *)uc->args[2], uc->args[3],
			       uc->args[4], (const char *)uc->args[5]);
		break;
	case NVMX_MSG_NOTE:
		ksft_print_msg("%s: %s: expected 0x%lx, got 0x%lx (SDM %s): stock deviation\n",
			       name, (const char *)uc->args[2], uc->args[3],
			       uc->args[4], (const char *)uc->args[5]);
		break;
	case NVMX_MSG_CASE_END:
		switch (uc->args[2]) {
		case NVMX_PASS:
			ksft_test_result_pass("%s\n", name);
			break;
		case NVMX_SKIP:
			ksft_test_result_skip("%s: %s\n", name,
					      (const char *)uc->args[3]);
			break;
		case NVMX_XFAIL:
			ksft_test_result_xfail("%s: %s (set NVMX_STRICT=1 to fail)\n",
					       name, (const char *)uc->args[3]);
			break;
		default:
			ksft_test_result_fail("%s\n", name);
			break;
		}
		break;
	default:
		TEST_FAIL("unknown message 0x%lx from L1", uc->args[0]);
	}
}

int main(int argc, char *argv[])
{
	const char *strict = getenv("NVMX_STRICT");
	struct kvm_vcpu *vcpu;
	vm_vaddr_t vmx_gva;
	struct ucall uc;
	struct kvm_vm *vm;

	TEST_REQUIRE(kvm_cpu_has(X86_FEATURE_VMX));

	ksft_print_header();
	ksft_set_plan(ARRAY_SIZE(cases));

	vm = vm_create_with_one_vcpu(&vcpu, (void *)ASM_LABEL(l1_entry));
	vcpu_alloc_vmx(vm, &vmx_gva);
	vcpu_args_set(vcpu, 1, vmx_gva);
	nvmx_env.strict = strict && !strcmp(strict, "1");
	sync_global_to_guest(vm, nvmx_env);

	for (;;) {
		vcpu_run(vcpu);
		TEST_ASSERT(vcpu->run->exit_reason == KVM_EXIT_IO,
			    "L1 stopped with exit reason %u (%s)",
			    vcpu->run->exit_reason,
			    exit_reason_str(vcpu->run->exit_reason));
		switch (get_ucall(vcpu, &uc)) {
		case UCALL_SYNC:
			host_message(&uc);
			break;
		case UCALL_ABORT:
			REPORT_GUEST_ASSERT(uc);
			break;
		case UCALL_DONE:
			goto done;
		default:
			TEST_FAIL("unexpected ucall %lu", uc.cmd);
		}
	}
done:
	kvm_vm_free(vm);
	if (ksft_get_pass_cnt() + ksft_get_xfail_cnt() == 0 &&
	    ksft_get_fail_cnt() == 0)
		ksft_exit_skip("every case was skipped\n");
	ksft_finished();
	return 0;
}
