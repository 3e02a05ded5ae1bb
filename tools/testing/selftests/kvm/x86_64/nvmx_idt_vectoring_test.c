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

#define EXIT_REASON_EXCEPTION_NR	0

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

#include "nvmx_selftest.h"

static u64 l2_idt[512] __aligned(4096);	/* 256 16-byte gates */
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

static const char *case_name(int i)
{
	return cases[i].name;
}

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

static void run_case(int i)
{
	run_idt_case(&cases[i]);
}

void l1_guest_code(struct vmx_pages *vmx)
{
	GUEST_ASSERT(prepare_for_vmx_operation(vmx));
	nvmx_l1_run_cases(vmx, ARRAY_SIZE(cases), run_case);
}

int main(int argc, char *argv[])
{
	return nvmx_host_main(ARRAY_SIZE(cases), case_name);
}
