// SPDX-License-Identifier: GPL-2.0-only
/*
 * nvmx_state_drop_events_test: KVM_SET_NESTED_STATE that takes a vCPU out
 * of L2 (here into L1's root operation) ends what L2 was doing: the event
 * being delivered to L2 (an exit would make it L1's IDT-vectoring
 * information, SDM 27.2.4), L2's shutdown (a VM exit to L1, SDM 25.2),
 * L2's HLT, and an exception L2 raised that KVM holds as a VM exit to L1
 * (exception_vmexit).  None of them is the new context's: the VMM gives
 * that its events and activity with KVM_SET_VCPU_EVENTS and
 * KVM_SET_MP_STATE after KVM_SET_NESTED_STATE, as QEMU does.
 *
 *   events     in L2, the VMM sets L1's registers, then an injected #GP,
 *              a pending triple fault and HALTED, then L1's root state:
 *              the vCPU must read back with none of the three;
 *   exception  in L2, the VMM sets L1's general registers, a pending #UD
 *              that L1 intercepts and runs KVM_RUN with immediate_exit, so
 *              that KVM holds it as an exception VM exit; GET_VCPU_EVENTS
 *              shows it; L1's other registers and root state set (no
 *              KVM_SET_REGS, which would drop it): the vCPU reads back with
 *              no exception, and KVM_RUN runs L1 without it (before the
 *              fix: x86.c's WARN on exception_vmexit outside guest mode).
 *
 * Each time L1 then launches L2 again; the third L2 just exits to L1,
 * which reports the exit.
 *
 * Stock 6.1 runs L1's VM exit first (vmx_leave_nested()), which drops the
 * events and HLT but leaves KVM's triple-fault request: L1 would shut down
 * for L2's triple fault.  That is a known deviation (counted; the host
 * then clears it), anything else fails.  Its exit also leaves vmcs12 to be
 * overwritten from vmcs02 at the next GET or entry (nvmx_state_replace_test):
 * with stock the root state is read and set again (counted).  After the
 * exception stage stock's L1 then sees exit reason 0 with no valid event
 * in place of L2's VMCALL (counted).
 *
 * Mutation run (the SET clearing nothing of L2's): the events stage kept
 * #GP, HALTED and the triple fault, the exception stage the #UD, and
 * KVM_RUN hit x86.c's WARNs on exception_vmexit (lines 10075, 10189).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "nvmx_state.h"
#include "test_util.h"
#include "kvm_util.h"
#include "processor.h"
#include "vmx.h"

#define STAGE_ROOT		1	/* L1 in root operation, vmcs12 ready */
#define STAGE_L2_EVENTS		2	/* L2: events, then L1's root state */
#define STAGE_L2_EXCEPTION	3	/* L2: exception exit, then root */
#define STAGE_L1_UD		4	/* L1 took a #UD: L2's, leaked */
#define STAGE_L1_EXIT		5	/* L1 got L2's exit: reason, info */

static u64 l2_runs;
static u64 l1_resume_stack[NVMX_RESUME_STACK_WORDS] __aligned(16);

static void l2_guest_code(void)
{
	u64 run = ++l2_runs;

	if (run == 1)
		GUEST_SYNC(STAGE_L2_EVENTS);
	else if (run == 2)
		GUEST_SYNC(STAGE_L2_EXCEPTION);
	vmcall();
	GUEST_ASSERT(0);
}

static void l1_ud_handler(struct ex_regs *regs)
{
	GUEST_SYNC(STAGE_L1_UD);
	GUEST_ASSERT(0);
}

/*
 * L2's VMCALL is its only exit, which L1 reports to the host (the stock
 * module's may differ).  Not static: l1_resume_entry calls it.
 */
void l1_launch(void)
{
	GUEST_ASSERT(!vmlaunch());
	GUEST_SYNC_ARGS(STAGE_L1_EXIT, vmreadz(VM_EXIT_REASON),
			vmreadz(VM_EXIT_INTR_INFO), 0, 0);
	GUEST_DONE();
}

NVMX_L1_RESUME_ENTRY();

static void l1_guest_code(struct vmx_pages *vmx_pages)
{
	unsigned long l2_stack[256];

	GUEST_ASSERT(prepare_for_vmx_operation(vmx_pages));
	GUEST_ASSERT(load_vmcs(vmx_pages));
	prepare_vmcs(vmx_pages, l2_guest_code, &l2_stack[256]);
	/* L1 intercepts #UD: L2's is an exception VM exit (SDM 25.2) */
	GUEST_ASSERT(!vmwrite(EXCEPTION_BITMAP, BIT(UD_VECTOR)));
	GUEST_SYNC(STAGE_ROOT);
	l1_launch();
}

/* Host side */

struct host {
	struct kvm_vcpu *vcpu;
	struct nvmx_vcpu_snapshot root;	/* L1 at l1_resume_entry */
	struct kvm_nested_state *root_state;
};

static void stage_root(struct host *h)
{
	h->root_state = nvmx_root_take(h->vcpu, &h->root, l1_resume_stack);
}

/*
 * L1's registers as QEMU sets them around the nested state (segment and
 * control registers before it, the others after: kvm_arch_put_registers()),
 * but not its events: those are what the stages look at.
 */
static void set_root(struct host *h)
{
	vcpu_sregs_set(h->vcpu, &h->root.sregs);
	vcpu_nested_state_set(h->vcpu, h->root_state);
	vcpu_regs_set(h->vcpu, &h->root.regs);
	vcpu_debugregs_set(h->vcpu, &h->root.debugregs);
	nvmx_stock_root_state_again(h->vcpu, h->root_state);
}

/* No exception, injected interrupt or NMI, triple fault; runnable. */
static void clear_events(struct kvm_vcpu *vcpu)
{
	struct kvm_mp_state mp = { .mp_state = KVM_MP_STATE_RUNNABLE };
	struct kvm_vcpu_events ev;

	vcpu_events_get(vcpu, &ev);
	memset(&ev.exception, 0, sizeof(ev.exception));
	ev.exception_has_payload = 0;
	ev.interrupt.injected = 0;
	ev.nmi.injected = 0;
	ev.triple_fault.pending = 0;
	vcpu_events_set(vcpu, &ev);
	vcpu_mp_state_set(vcpu, &mp);
}

static void stage_l2_events(struct host *h)
{
	struct kvm_mp_state mp = { .mp_state = KVM_MP_STATE_HALTED };
	struct kvm_vcpu_events ev;

	vcpu_events_get(h->vcpu, &ev);
	ev.exception.injected = 1;
	ev.exception.nr = GP_VECTOR;
	ev.exception.has_error_code = 1;
	ev.exception.error_code = 0;
	ev.triple_fault.pending = 1;
	vcpu_events_set(h->vcpu, &ev);
	vcpu_mp_state_set(h->vcpu, &mp);

	set_root(h);

	vcpu_events_get(h->vcpu, &ev);
	vcpu_mp_state_get(h->vcpu, &mp);
	HOST_CHECK(!ev.exception.injected && !ev.exception.pending,
		   "L2's #GP kept: injected %u pending %u vector %u",
		   ev.exception.injected, ev.exception.pending, ev.exception.nr);
	HOST_CHECK(mp.mp_state == KVM_MP_STATE_RUNNABLE, "L2's HLT kept: mp_state %u",
		   mp.mp_state);
	if (ev.triple_fault.pending) {
		HOST_CHECK(!nvmx_host_module_is_nvmx(), "L2's triple fault kept");
		if (!nvmx_host_module_is_nvmx()) {
			ksft_print_msg("L2's triple fault kept (known stock deviation)\n");
			nvmx_deviations++;
		}
	}
	clear_events(h->vcpu);
}

static void stage_l2_exception(struct host *h)
{
	struct kvm_vcpu_events ev;
	int r;

	/*
	 * L1's general registers first: KVM_SET_REGS drops a pending
	 * exception and KVM's exception VM exit, so a VMM that leaves the
	 * exit pending into KVM_RUN sets none after it (QEMU sets them after
	 * the nested state, and never meets x86.c's WARN).
	 */
	vcpu_regs_set(h->vcpu, &h->root.regs);
	vcpu_events_get(h->vcpu, &ev);
	memset(&ev.exception, 0, sizeof(ev.exception));
	ev.exception.pending = 1;
	ev.exception.nr = UD_VECTOR;
	ev.exception_has_payload = 0;
	ev.flags |= KVM_VCPUEVENT_VALID_PAYLOAD;
	vcpu_events_set(h->vcpu, &ev);

	/* KVM_RUN turns it into L1's exception VM exit, and stops there */
	h->vcpu->run->immediate_exit = 1;
	r = __vcpu_run(h->vcpu);
	h->vcpu->run->immediate_exit = 0;
	TEST_ASSERT(r == -1 && errno == EINTR, "KVM_RUN: %d errno %d", r,
		    errno);
	vcpu_events_get(h->vcpu, &ev);
	TEST_ASSERT(ev.exception.pending && ev.exception.nr == UD_VECTOR,
		    "the VMM sees no pending #UD: pending %u vector %u",
		    ev.exception.pending, ev.exception.nr);

	vcpu_sregs_set(h->vcpu, &h->root.sregs);
	vcpu_nested_state_set(h->vcpu, h->root_state);
	vcpu_debugregs_set(h->vcpu, &h->root.debugregs);
	nvmx_stock_root_state_again(h->vcpu, h->root_state);

	vcpu_events_get(h->vcpu, &ev);
	HOST_CHECK(!ev.exception.injected && !ev.exception.pending,
		   "L2's #UD kept: injected %u pending %u vector %u",
		   ev.exception.injected, ev.exception.pending, ev.exception.nr);
}

/*
 * L2's third run exits to L1 with its VMCALL.  With stock, after the
 * exception stage, L1's VMLAUNCH was seen to return with exit reason 0 and
 * interruption information 0 (no valid event): a known deviation, shown.
 */
static void stage_l1_exit(struct ucall *uc)
{
	if (uc->args[2] == EXIT_REASON_VMCALL)
		return;
	if (nvmx_host_module_is_nvmx()) {
		HOST_CHECK(false, "L1 got exit reason 0x%lx, info 0x%lx, not VMCALL",
			   uc->args[2], uc->args[3]);
		return;
	}
	ksft_print_msg("L1 got exit reason 0x%lx, info 0x%lx (known stock deviation)\n",
		       uc->args[2], uc->args[3]);
	nvmx_deviations++;
}

int main(int argc, char *argv[])
{
	struct host h = {};
	vm_vaddr_t pages_gva;
	struct kvm_vm *vm;
	struct ucall uc;
	u64 stages = 0;
	bool done = false;

	TEST_REQUIRE(kvm_cpu_has(X86_FEATURE_VMX));
	TEST_REQUIRE(kvm_has_cap(KVM_CAP_NESTED_STATE));
	TEST_REQUIRE(kvm_has_cap(KVM_CAP_EXCEPTION_PAYLOAD));
	TEST_REQUIRE(kvm_has_cap(KVM_CAP_X86_TRIPLE_FAULT_EVENT));

	vm = vm_create_with_one_vcpu(&h.vcpu, l1_guest_code);
	vm_enable_cap(vm, KVM_CAP_EXCEPTION_PAYLOAD, 1);
	vm_enable_cap(vm, KVM_CAP_X86_TRIPLE_FAULT_EVENT, 1);
	vm_init_descriptor_tables(vm);
	vcpu_init_descriptor_tables(h.vcpu);
	vm_install_exception_handler(vm, UD_VECTOR, l1_ud_handler);
	vcpu_alloc_vmx(vm, &pages_gva);
	vcpu_args_set(h.vcpu, 1, pages_gva);

	ksft_print_header();
	ksft_set_plan(1);

	while (!done &&
	       nvmx_sync_or_done(nvmx_run_to_ucall(h.vcpu, &uc), &uc)) {
		vcpu_run_complete_io(h.vcpu);
		stages |= BIT_ULL(uc.args[1]);
		switch (uc.args[1]) {
		case STAGE_ROOT:
			stage_root(&h);
			break;
		case STAGE_L2_EVENTS:
			stage_l2_events(&h);
			break;
		case STAGE_L2_EXCEPTION:
			stage_l2_exception(&h);
			break;
		case STAGE_L1_EXIT:
			stage_l1_exit(&uc);
			break;
		case STAGE_L1_UD:
			HOST_CHECK(false, "L1 took L2's #UD");
			done = true;
			break;
		default:
			TEST_FAIL("unknown stage %lu", uc.args[1]);
		}
	}
	HOST_CHECK(stages == (GENMASK_ULL(STAGE_L1_EXIT, STAGE_ROOT) &
			      ~BIT_ULL(STAGE_L1_UD)),
		   "stages seen 0x%lx", stages);
	if (nvmx_deviations)
		ksft_print_msg("%d known stock deviations\n", nvmx_deviations);
	ksft_test_result(!nvmx_failures, "L2's events end with L2 at a SET\n");
	free(h.root_state);
	kvm_vm_free(vm);
	ksft_finished();
	return 0;
}
