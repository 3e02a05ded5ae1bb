// SPDX-License-Identifier: GPL-2.0-only
/*
 * nvmx_events_test: events that reach L2 from outside it, and which VM exit
 * L1 sees for them.
 *
 * L2 stops in the host (a ucall, which L1 does not intercept); the host
 * makes events pending for L2 with KVM_SET_VCPU_EVENTS, as a VMM restoring
 * or injecting them would, and runs the vCPU on; L1 checks the VM exit it
 * gets.  Intel SDM Vol. 3C: 6.9 Table 6-2 (priority among simultaneous
 * events: INIT is priority 3, above the faults of the next instruction),
 * 25.2 (INIT signals and triple faults cause VM exits), 27.2.4 (a triple
 * fault is not an exit during event delivery).
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

#define EXIT_REASON_TRIPLE_FAULT_NR	2
#define EXIT_REASON_INIT_SIGNAL_NR	3

#define GP_VECTOR_NR			13
#define DF_VECTOR_NR			8
#define DB_VECTOR_NR			1
#define NVMX_DR6_BS			BIT(14)
#define NVMX_ACTIVITY_ACTIVE		0

struct nvmx_env {
	bool strict;
};

struct nvmx_env nvmx_env;

#include "nvmx_selftest.h"

/* What the host makes pending when L2 stops, one per case. */
enum host_event {
	INIT_OVER_GP,		/* INIT, and a #GP L1 does not intercept */
	INIT_OVER_GP_EXIT,	/* INIT, and a #GP L1 intercepts */
	TRIPLE_FAULT_OVER_DF,	/* a triple fault while a #DF is delivered */
	INIT_OVER_SINGLE_STEP,	/* INIT, and a single-step #DB trap */
};

/* L2: stop in the host, then exit to L1; the VMCALL must not be reached. */
void l2_stop_in_host(void)
{
	ucall(UCALL_SYNC, 2, NVMX_MSG_HOST_EVENT, cur_case);
	asm volatile("vmcall");
}

asm(".pushsection .text\n"
	"l2_entry:\n\t"
	"call l2_stop_in_host\n\t"
	"ud2\n\t"
	".popsection\n");

/* ---------------------------------------------------------------------- */
/* L1.                                                                      */

/*
 * 25.2, Table 6-2: the INIT is a VM exit and comes before the #GP that was
 * pending for L2's next instruction; L1 stays in VMX operation (23.8: INIT
 * is blocked in VMX root operation) and runs on to the next case.
 */
static void init_case(bool intercept_gp)
{
	if (intercept_gp)
		vmwrite(EXCEPTION_BITMAP, BIT(GP_VECTOR_NR));
	l2_setup(ASM_LABEL(l2_entry));
	if (!l2_launch() || !expect_exit(EXIT_REASON_INIT_SIGNAL_NR))
		return;
	CHECK(EXIT_QUALIFICATION, 0, "27.2.1");
	CHECK(VM_EXIT_INTR_INFO, 0, "27.2.2");
	CHECK(IDT_VECTORING_INFO_FIELD, 0, "27.2.4");
	CHECK(GUEST_ACTIVITY_STATE, NVMX_ACTIVITY_ACTIVE, "27.3.4");
}

static void case_init_over_gp(void)
{
	init_case(false);
}

static void case_init_over_gp_exit(void)
{
	init_case(true);
}

/*
 * 27.2.4: "A VM exit is not considered to occur during event delivery" if it
 * is caused by a triple fault: the #DF whose delivery failed is not reported.
 */
static void case_triple_fault_over_df(void)
{
	l2_setup(ASM_LABEL(l2_entry));
	if (!l2_launch() || !expect_exit(EXIT_REASON_TRIPLE_FAULT_NR))
		return;
	CHECK(IDT_VECTORING_INFO_FIELD, 0, "27.2.4");
	CHECK(VM_EXIT_INTR_INFO, 0, "27.2.2");
}

/*
 * 27.3.4, 24.4.2 Table 24-4: the single-step trap L2's last instruction
 * raised and INIT overtook is saved as pending (BS), not lost.
 */
static void case_init_over_single_step(void)
{
	l2_setup(ASM_LABEL(l2_entry));
	if (!l2_launch() || !expect_exit(EXIT_REASON_INIT_SIGNAL_NR))
		return;
	CHECK(GUEST_PENDING_DBG_EXCEPTIONS, NVMX_DR6_BS, "27.3.4");
	CHECK(IDT_VECTORING_INFO_FIELD, 0, "27.2.4");
}

static const struct nvmx_case cases[] = {
	[INIT_OVER_GP] = { "init_over_pending_exception", case_init_over_gp },
	[INIT_OVER_GP_EXIT] = { "init_over_exception_exit",
				case_init_over_gp_exit },
	[TRIPLE_FAULT_OVER_DF] = { "triple_fault_not_during_delivery",
				   case_triple_fault_over_df },
	[INIT_OVER_SINGLE_STEP] = { "init_keeps_single_step_trap",
				    case_init_over_single_step },
};

static void run_case(int i)
{
	cases[i].run();
}

void l1_guest_code(struct vmx_pages *vmx)
{
	GUEST_ASSERT(prepare_for_vmx_operation(vmx));
	nvmx_l1_run_cases(vmx, ARRAY_SIZE(cases), run_case);
}

/* ---------------------------------------------------------------------- */
/* Host.                                                                    */

static struct kvm_vcpu *the_vcpu;

/*
 * A pending exception @nr (error code 0 if @has_error_code, payload
 * @payload if not 0) and a latched INIT, as KVM_SET_VCPU_EVENTS sets them.
 */
static void pend_exception_and_init(struct kvm_vcpu_events *ev, u8 nr,
				    bool has_error_code, u64 payload)
{
	ev->flags = KVM_VCPUEVENT_VALID_PAYLOAD | KVM_VCPUEVENT_VALID_SMM;
	ev->exception.pending = 1;
	ev->exception.injected = 0;
	ev->exception.nr = nr;
	ev->exception.has_error_code = has_error_code;
	ev->exception.error_code = 0;
	ev->exception_has_payload = payload != 0;
	ev->exception_payload = payload;
	ev->smi.latched_init = 1;
}

/* The events of case @which, on top of what the vCPU has. */
static void make_events_pending(enum host_event which)
{
	struct kvm_vcpu_events ev;

	vcpu_events_get(the_vcpu, &ev);
	ev.flags = 0;
	switch (which) {
	case INIT_OVER_GP:
	case INIT_OVER_GP_EXIT:
		pend_exception_and_init(&ev, GP_VECTOR_NR, true, 0);
		break;
	case INIT_OVER_SINGLE_STEP:
		pend_exception_and_init(&ev, DB_VECTOR_NR, false, NVMX_DR6_BS);
		break;
	case TRIPLE_FAULT_OVER_DF:
		ev.flags = KVM_VCPUEVENT_VALID_TRIPLE_FAULT;
		ev.exception.injected = 1;
		ev.exception.nr = DF_VECTOR_NR;
		ev.exception.has_error_code = 1;
		ev.exception.error_code = 0;
		ev.triple_fault.pending = 1;
		break;
	}
	vcpu_events_set(the_vcpu, &ev);
}

static void host_message(struct ucall *uc)
{
	if (uc->args[0] == NVMX_MSG_HOST_EVENT) {
		make_events_pending(uc->args[1]);
		return;
	}
	nvmx_host_message(uc, cases[uc->args[1]].name);
}

int main(int argc, char *argv[])
{
	struct kvm_vm *vm;

	TEST_REQUIRE(kvm_has_cap(KVM_CAP_EXCEPTION_PAYLOAD));
	TEST_REQUIRE(kvm_has_cap(KVM_CAP_X86_TRIPLE_FAULT_EVENT));

	vm = nvmx_host_create(&the_vcpu, ARRAY_SIZE(cases), NULL);
	vm_enable_cap(vm, KVM_CAP_EXCEPTION_PAYLOAD, 1);
	vm_enable_cap(vm, KVM_CAP_X86_TRIPLE_FAULT_EVENT, 1);
	return nvmx_host_run(vm, the_vcpu, host_message);
}
