// SPDX-License-Identifier: GPL-2.0
/*
 * nvmx: L2's VMX-preemption timer (SDM 25.5.1), emulated with a host
 * hrtimer.  vmcs02 never activates the processor's timer: L0 may be using
 * it for itself, and a processor may have none.
 *
 * The timer counts down by 1 each time bit NVMX_PREEMPTION_TIMER_RATE of
 * the TSC changes (SDM 25.5.1, A.6); for L1 that is its own TSC, after the
 * offset and scaling L0 gives it.  The count is kept as a deadline in
 * ticks of that bit, L1's TSC >> rate (the unit of 6.1's nested state): a
 * VM entry with value V at L1 TSC T (SDM 26.7.4) sets
 *
 *	deadline = (T >> rate) + V
 *
 * the V-th change of the bit, which L1's TSC reaches at deadline << rate;
 * the value left at TSC t is deadline - (t >> rate).  The deadline is kept
 * across SMM (the default treatment of SMM lets the timer count on, SDM
 * 25.5.1) and in the nested state of a vCPU in L2
 * (KVM_STATE_VMX_PREEMPTION_TIMER_DEADLINE), so that an L2 resumed by RSM,
 * or on another host, keeps its expiry; not that of a vCPU in SMM entered
 * from L2 (6.1's format takes the flag with L2 running only, stock
 * likewise), which RSM restarts from vmcs12's value.  The hrtimer only
 * wakes the vCPU: the host's clock and L1's TSC need not run at the ratio
 * the TSC frequency says, so expiry is decided on L1's TSC.
 */

#include <linux/kvm_host.h>
#include <linux/math64.h>

#include <asm/vmx.h>

#include "x86.h"

#include "nested_internal.h"

static u64 nvmx_l1_tsc(struct kvm_vcpu *vcpu)
{
	return kvm_read_l1_tsc(vcpu, rdtsc());
}

/*
 * Host nanoseconds until L1's TSC reaches tick @deadline, 0 once it has.
 * At most a second at a time, which the callback looks at again: a far
 * deadline (a VMM's, or any at a low TSC frequency KVM_SET_TSC_KHZ set)
 * would overflow ktime otherwise.
 */
static u64 nvmx_timer_ns_left(struct kvm_vcpu *vcpu, u64 deadline)
{
	u32 khz = max_t(u32, vcpu->arch.virtual_tsc_khz, 1);
	u64 now = nvmx_l1_tsc(vcpu) >> NVMX_PREEMPTION_TIMER_RATE;
	u64 cycles;

	if (now >= deadline)
		return 0;
	cycles = min_t(u64, deadline - now, BIT_ULL(40)) <<
		 NVMX_PREEMPTION_TIMER_RATE;
	cycles = min_t(u64, cycles, (u64)khz * MSEC_PER_SEC);
	return max_t(u64, mul_u64_u32_div(cycles, NSEC_PER_MSEC, khz), 1);
}

/* The count reached 0: the VM exit waits for check_events (SDM 25.2). */
static void nvmx_timer_expire(struct vcpu_vmx *vmx)
{
	vmx->nested.preemption_timer_expired = true;
	kvm_make_request(KVM_REQ_EVENT, &vmx->vcpu);
	kvm_vcpu_kick(&vmx->vcpu);
}

static enum hrtimer_restart nvmx_timer_fn(struct hrtimer *timer)
{
	struct vcpu_vmx *vmx = container_of(timer, struct vcpu_vmx,
					    nested.preemption_timer);
	u64 ns = nvmx_timer_ns_left(&vmx->vcpu,
				    vmx->nested.preemption_timer_deadline);

	if (ns) {
		hrtimer_set_expires(timer, ktime_add_ns(ktime_get(), ns));
		return HRTIMER_RESTART;
	}
	nvmx_timer_expire(vmx);
	return HRTIMER_NORESTART;
}

void nested_vmx_init_preemption_timer(struct vcpu_vmx *vmx)
{
	hrtimer_init(&vmx->nested.preemption_timer, CLOCK_MONOTONIC,
		     HRTIMER_MODE_ABS_PINNED);
	vmx->nested.preemption_timer.function = nvmx_timer_fn;
	vmx->nested.has_preemption_timer_deadline = false;
	vmx->nested.preemption_timer_expired = false;
}

/*
 * SDM 26.7.4: the entry starts the timer with vmcs12's value; L2 resumed
 * without a VM entry (@from_vmentry false: RSM, KVM_SET_NESTED_STATE) goes
 * on with the deadline it had, when there is one.  A count that is
 * already 0 exits before L2's first instruction, after any event
 * injection (check_events holds it back while the entry is pending).
 */
void nested_vmx_start_preemption_timer(struct kvm_vcpu *vcpu,
				       struct vmcs12 *vmcs12, bool from_vmentry)
{
	struct vcpu_vmx *vmx = to_vmx(vcpu);
	u64 ns;

	vmx->nested.preemption_timer_expired = false;
	if (!(vmcs12->pin_based_vm_exec_control &
	      PIN_BASED_VMX_PREEMPTION_TIMER)) {
		vmx->nested.has_preemption_timer_deadline = false;
		return;
	}
	if (from_vmentry || !vmx->nested.has_preemption_timer_deadline) {
		vmx->nested.preemption_timer_deadline =
			(nvmx_l1_tsc(vcpu) >> NVMX_PREEMPTION_TIMER_RATE) +
			vmcs12->vmx_preemption_timer_value;
		vmx->nested.has_preemption_timer_deadline = true;
	}
	ns = nvmx_timer_ns_left(vcpu, vmx->nested.preemption_timer_deadline);
	if (!ns) {
		nvmx_timer_expire(vmx);
		return;
	}
	hrtimer_start(&vmx->nested.preemption_timer,
		      ktime_add_ns(ktime_get(), ns), HRTIMER_MODE_ABS_PINNED);
}

/*
 * L2 leaves non-root operation.  @keep_deadline: for SMM, after which RSM
 * resumes L2 with the same count (SDM 25.5.1); any exit to L1 ends it.
 */
void nested_vmx_stop_preemption_timer(struct kvm_vcpu *vcpu,
				      bool keep_deadline)
{
	struct vcpu_vmx *vmx = to_vmx(vcpu);

	hrtimer_cancel(&vmx->nested.preemption_timer);
	vmx->nested.preemption_timer_expired = false;
	if (!keep_deadline)
		vmx->nested.has_preemption_timer_deadline = false;
}

/* SDM 27.3.4: the value "save VMX-preemption timer value" stores. */
u32 nested_vmx_preemption_timer_value(struct kvm_vcpu *vcpu)
{
	struct vcpu_vmx *vmx = to_vmx(vcpu);
	u64 now = nvmx_l1_tsc(vcpu) >> NVMX_PREEMPTION_TIMER_RATE;
	u64 end = vmx->nested.preemption_timer_deadline;

	if (vmx->nested.preemption_timer_expired || now >= end)
		return 0;
	return min_t(u64, end - now, U32_MAX);
}
