// SPDX-License-Identifier: GPL-2.0-only
/*
 * nvmx_evmcs_test: what evmcs_test does not check exactly of Hyper-V's
 * enlightened VMCS (Hyper-V TLFS, "Nested Virtualization", Enlightened
 * VMCS (Intel)) for L1.
 *
 *   clean_fields   a control L1 changes in the eVMCS with its group's bit
 *                  set in hv_clean_fields is not taken by VMRESUME (L0 may
 *                  keep its copy, and both modules do); written again
 *                  with the bit cleared, it is;
 *   exit_fields    an exit writes the exit information and L2's RIP into
 *                  the eVMCS, and leaves a control L1 changed alone;
 *   bad_version    an eVMCS whose version is not 1: VMfailInvalid;
 *   no_enlighten   enlighten_vmentry 0 in the VP assist page: no current
 *                  VMCS, VMfailInvalid;
 *   no_assist_page the VP assist page disabled: likewise;
 *   outside_memory an eVMCS address outside L1's memory: #UD, as with the
 *                  stock module;
 *   vmread         VMREAD with an eVMCS current reads the eVMCS, as the
 *                  stock module allows for Windows guests (the TLFS calls
 *                  it unsupported); VMWRITE fails with VMfailInvalid;
 *   vmclear_inactive VMCLEAR of an eVMCS not current writes nothing into
 *                  it, and the current one stays current;
 *   state_einval   KVM_SET_NESTED_STATE with the eVMCS flag is refused
 *                  without the capability enabled, and without vmcs12.
 *
 * Each case is a TAP line; the host prints what L1 found when it differs.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "test_util.h"
#include "kvm_util.h"
#include "processor.h"
#include "vmx.h"

enum {
	CASE_CLEAN_FIELDS,
	CASE_EXIT_FIELDS,
	CASE_BAD_VERSION,
	CASE_NO_ENLIGHTEN,
	CASE_NO_ASSIST_PAGE,
	CASE_OUTSIDE_MEMORY,
	CASE_VMREAD,
	CASE_VMCLEAR_INACTIVE,
	CASE_STATE_EINVAL,	/* the host's */
	NR_CASES
};

static const char *const case_names[NR_CASES] = {
	"clean_fields", "exit_fields", "bad_version", "no_enlighten",
	"no_assist_page", "outside_memory", "vmread", "vmclear_inactive",
	"state_einval",
};

#define EXIT_REASON_RDTSC_NR	16
#define EXIT_REASON_VMCALL_NR	18
#define F_CF			0x1ull
#define F_ZF			0x40ull
/* A guest-physical address no memslot of the VM holds, page aligned */
#define GPA_OUTSIDE		0xdead0000ull

static int ud_count;

static void l1_ud_handler(struct ex_regs *regs)
{
	ud_count++;
	regs->rip += 3;		/* VMLAUNCH */
}

/* L2: RDTSC then VMCALL, forever; L1 resumes it past each exit. */
static void l2_guest_code(void)
{
	for (;;) {
		asm volatile("rdtsc" ::: "rax", "rdx");
		vmcall();
	}
}

/*
 * VMLAUNCH (@launch) or VMRESUME with the eVMCS current_evmcs names, host
 * RSP and RIP written into it first: 0 after a VM exit, otherwise the
 * RFLAGS of the VMfail (bit 1 is always set) or of the instruction after
 * a #UD.
 */
static u64 evmcs_enter(int launch)
{
	u64 ret;

	current_evmcs->hv_clean_fields &=
		~(HV_VMX_ENLIGHTENED_CLEAN_FIELD_HOST_GRP1 |
		  HV_VMX_ENLIGHTENED_CLEAN_FIELD_HOST_POINTER);
	asm volatile("lea -128(%%rsp), %%rsp\n\t"	/* the red zone */
		     "push %%rbp\n\t"
		     "push %%rcx\n\t"
		     "push %%rdx\n\t"
		     "push %%rsi\n\t"
		     "push %%rdi\n\t"
		     "push $0\n\t"
		     "mov %%rsp, (%[host_rsp])\n\t"
		     "lea 1f(%%rip), %%rax\n\t"
		     "mov %%rax, (%[host_rip])\n\t"
		     "test %%ebx, %%ebx\n\t"
		     "jz 2f\n\t"
		     "vmlaunch\n\t"
		     "jmp 3f\n"
		     "2:\tvmresume\n"
		     "3:\tpushf\n\t"
		     "pop %%rax\n\t"
		     "mov %%rax, (%%rsp)\n"
		     "1:\tpop %%rax\n\t"
		     "pop %%rdi\n\t"
		     "pop %%rsi\n\t"
		     "pop %%rdx\n\t"
		     "pop %%rcx\n\t"
		     "pop %%rbp\n\t"
		     "lea 128(%%rsp), %%rsp"
		     : "=&a"(ret), "+b"(launch)
		     : [host_rsp] "r"(&current_evmcs->host_rsp),
		       [host_rip] "r"(&current_evmcs->host_rip)
		     : "memory", "cc", "r8", "r9", "r10", "r11", "r12", "r13",
		       "r14", "r15");
	return ret;
}

static int nr_mismatch;

static void check(const char *what, u64 expected, u64 actual)
{
	if (expected == actual)
		return;
	nr_mismatch++;
	GUEST_SYNC_ARGS(1, what, expected, actual, 0);
}

static void case_end(int i)
{
	GUEST_SYNC_ARGS(2, i, !nr_mismatch, 0, 0);
	nr_mismatch = 0;
}

/* A fresh eVMCS with L2 ready at l2_guest_code, launched to its VMCALL. */
static void launch_l2(struct vmx_pages *vmx)
{
	static unsigned long l2_stack[64];

	memset(vmx->enlightened_vmcs, 0, 4096);
	GUEST_ASSERT(load_vmcs(vmx));
	prepare_vmcs(vmx, l2_guest_code, &l2_stack[ARRAY_SIZE(l2_stack)]);
	/* prepare_vmcs() enables no RDTSC exiting */
	check("VMLAUNCH", 0, evmcs_enter(1));
	check("exit reason at launch", EXIT_REASON_VMCALL_NR,
	      current_evmcs->vm_exit_reason);
}

/* Past the VMCALL L2 exited on, with every clean bit set: VMRESUME. */
static u64 resume_past_vmcall(void)
{
	current_evmcs->guest_rip += 3;
	return evmcs_enter(0);
}

static void case_clean_fields(struct vmx_pages *vmx)
{
	launch_l2(vmx);
	current_evmcs->hv_clean_fields = HV_VMX_ENLIGHTENED_CLEAN_FIELD_ALL;
	current_evmcs->cpu_based_vm_exec_control |= CPU_BASED_RDTSC_EXITING;
	check("VMRESUME, control clean", 0, resume_past_vmcall());
	check("exit reason, RDTSC exiting marked clean",
	      EXIT_REASON_VMCALL_NR, current_evmcs->vm_exit_reason);

	/*
	 * Changing a field under a clean bit is L1's error (TLFS): the exit
	 * may have written the field back (the stock module writes the
	 * processor-based controls at every exit).  Write it again, dirty.
	 */
	current_evmcs->cpu_based_vm_exec_control |= CPU_BASED_RDTSC_EXITING;
	current_evmcs->hv_clean_fields &=
		~HV_VMX_ENLIGHTENED_CLEAN_FIELD_CONTROL_PROC;
	check("VMRESUME, control dirty", 0, resume_past_vmcall());
	check("exit reason, RDTSC exiting marked dirty",
	      EXIT_REASON_RDTSC_NR, current_evmcs->vm_exit_reason);
	case_end(CASE_CLEAN_FIELDS);
}

static void case_exit_fields(struct vmx_pages *vmx)
{
	u64 rip;

	launch_l2(vmx);
	rip = current_evmcs->guest_rip;
	current_evmcs->vm_exit_reason = 0;
	current_evmcs->exception_bitmap = 1u << 3;	/* #BP, L2 has none */
	current_evmcs->hv_clean_fields = HV_VMX_ENLIGHTENED_CLEAN_FIELD_ALL &
		~HV_VMX_ENLIGHTENED_CLEAN_FIELD_CONTROL_EXCPN;
	check("VMRESUME", 0, resume_past_vmcall());
	check("exit reason written", EXIT_REASON_VMCALL_NR,
	      current_evmcs->vm_exit_reason);
	check("instruction length written", 3,
	      current_evmcs->vm_exit_instruction_len);
	check("guest RIP saved: the same VMCALL", rip,
	      current_evmcs->guest_rip);
	check("exception bitmap left as L1 wrote it", 1u << 3,
	      current_evmcs->exception_bitmap);
	case_end(CASE_EXIT_FIELDS);
}

static void case_bad_version(struct vmx_pages *vmx)
{
	u64 flags;

	launch_l2(vmx);
	/* VMCLEAR makes it inactive; the version counts when it is found again */
	check("VMCLEAR", 0, vmclear(vmx->enlightened_vmcs_gpa));
	current_evmcs->revision_id = 2;
	flags = evmcs_enter(1);
	check("VMfailInvalid (CF)", F_CF, flags & (F_CF | F_ZF));
	current_evmcs->revision_id = EVMCS_VERSION;
	case_end(CASE_BAD_VERSION);
}

static void case_no_enlighten(struct vmx_pages *vmx)
{
	launch_l2(vmx);
	current_vp_assist->enlighten_vmentry = 0;
	check("VMfailInvalid (CF)", F_CF, evmcs_enter(0) & (F_CF | F_ZF));
	current_vp_assist->enlighten_vmentry = 1;
	case_end(CASE_NO_ENLIGHTEN);
}

static void case_no_assist_page(struct vmx_pages *vmx)
{
	launch_l2(vmx);
	wrmsr(HV_X64_MSR_VP_ASSIST_PAGE, 0);
	check("VMfailInvalid (CF)", F_CF, evmcs_enter(0) & (F_CF | F_ZF));
	enable_vp_assist(vmx->vp_assist_gpa, vmx->vp_assist);
	case_end(CASE_NO_ASSIST_PAGE);
}

static void case_outside_memory(struct vmx_pages *vmx)
{
	launch_l2(vmx);
	current_vp_assist->current_nested_vmcs = GPA_OUTSIDE;
	WRITE_ONCE(ud_count, 0);
	evmcs_enter(1);
	/* the #UD handler counted behind the compiler's back */
	check("#UD", 1, READ_ONCE(ud_count));
	current_vp_assist->current_nested_vmcs = vmx->enlightened_vmcs_gpa;
	case_end(CASE_OUTSIDE_MEMORY);
}

static void case_vmread(struct vmx_pages *vmx)
{
	u64 value = 0, flags;

	launch_l2(vmx);
	current_evmcs->guest_rip += 3;
	asm volatile("vmread %[enc], %[val]\n\t"
		     "pushf\n\t"
		     "pop %[flags]"
		     : [val] "=r"(value), [flags] "=r"(flags)
		     : [enc] "r"((u64)GUEST_RIP) : "cc");
	check("VMREAD: VMsucceed", 0, flags & (F_CF | F_ZF));
	check("VMREAD: the eVMCS's guest RIP", current_evmcs->guest_rip,
	      value);
	asm volatile("vmwrite %[val], %[enc]\n\t"
		     "pushf\n\t"
		     "pop %[flags]"
		     : [flags] "=r"(flags)
		     : [enc] "r"((u64)GUEST_RIP), [val] "r"(0ull) : "cc");
	check("VMWRITE: VMfailInvalid (CF)", F_CF, flags & (F_CF | F_ZF));
	check("VMWRITE: eVMCS unchanged", value, current_evmcs->guest_rip);
	case_end(CASE_VMREAD);
}

/*
 * TLFS: VMCLEAR of an eVMCS that is not the current one makes it
 * inactive and writes nothing into it (an eVMCS has no launch state; the
 * VMCS's would land on its host ES and CS selectors, bytes 8-11).  The
 * shadow-VMCS page stands in for a second eVMCS; the current one still
 * runs L2.
 */
static void case_vmclear_inactive(struct vmx_pages *vmx)
{
	u32 *selectors = (u32 *)((u8 *)vmx->shadow_vmcs + 8);
	u64 flags;

	launch_l2(vmx);
	WRITE_ONCE(*selectors, 0x00100008);
	asm volatile("vmclear %[gpa]\n\t"
		     "pushf\n\t"
		     "pop %[flags]"
		     : [flags] "=r"(flags)
		     : [gpa] "m"(vmx->shadow_vmcs_gpa) : "cc", "memory");
	check("VMCLEAR: VMsucceed", 0, flags & (F_CF | F_ZF));
	check("VMCLEAR: the host selectors as written", 0x00100008,
	      READ_ONCE(*selectors));
	check("VMRESUME of the current eVMCS", 0, resume_past_vmcall());
	case_end(CASE_VMCLEAR_INACTIVE);
}

static void l1_guest_code(struct vmx_pages *vmx)
{
	x2apic_enable();
	enable_vp_assist(vmx->vp_assist_gpa, vmx->vp_assist);
	GUEST_ASSERT(prepare_for_vmx_operation(vmx));

	case_clean_fields(vmx);
	case_exit_fields(vmx);
	case_bad_version(vmx);
	case_no_enlighten(vmx);
	case_no_assist_page(vmx);
	case_outside_memory(vmx);
	case_vmread(vmx);
	case_vmclear_inactive(vmx);
	GUEST_DONE();
}

/* The eVMCS flag of KVM_SET_NESTED_STATE on a vCPU outside VMX operation. */
static void host_state_einval(struct kvm_vm *vm)
{
	struct {
		struct kvm_nested_state hdr;
		u8 vmcs12[KVM_STATE_NESTED_VMX_VMCS_SIZE];
	} state;
	struct kvm_vcpu *vcpu = vm_vcpu_add(vm, 1, NULL);
	bool ok = true;
	int r;

	vcpu_set_cpuid_feature(vcpu, X86_FEATURE_VMX);
	memset(&state, 0, sizeof(state));
	state.hdr.format = KVM_STATE_NESTED_FORMAT_VMX;
	state.hdr.flags = KVM_STATE_NESTED_EVMCS;
	state.hdr.size = sizeof(state.hdr);
	state.hdr.hdr.vmx.vmxon_pa = -1ull;
	state.hdr.hdr.vmx.vmcs12_pa = -1ull;

	r = __vcpu_ioctl(vcpu, KVM_SET_NESTED_STATE, &state.hdr);
	if (r != -1 || errno != EINVAL) {
		ksft_print_msg("eVMCS flag before KVM_CAP_HYPERV_ENLIGHTENED_VMCS: %d\n", r);
		ok = false;
	}
	vcpu_enable_evmcs(vcpu);
	r = __vcpu_ioctl(vcpu, KVM_SET_NESTED_STATE, &state.hdr);
	if (r) {
		ksft_print_msg("eVMCS flag outside VMX operation: %d (errno %d)\n",
			       r, errno);
		ok = false;
	}
	/* In VMX operation, the eVMCS flag needs the vmcs12 that goes with it */
	state.hdr.hdr.vmx.vmxon_pa = 0x100000;
	r = __vcpu_ioctl(vcpu, KVM_SET_NESTED_STATE, &state.hdr);
	if (r != -1 || errno != EINVAL) {
		ksft_print_msg("eVMCS flag without vmcs12: %d\n", r);
		ok = false;
	}
	ksft_test_result(ok, "%s\n", case_names[CASE_STATE_EINVAL]);
}

int main(int argc, char *argv[])
{
	vm_vaddr_t vmx_gva;
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;
	struct ucall uc;

	TEST_REQUIRE(kvm_cpu_has(X86_FEATURE_VMX));
	TEST_REQUIRE(kvm_has_cap(KVM_CAP_NESTED_STATE));
	TEST_REQUIRE(kvm_has_cap(KVM_CAP_HYPERV_ENLIGHTENED_VMCS));

	ksft_print_header();
	ksft_set_plan(NR_CASES);

	vm = vm_create_with_one_vcpu(&vcpu, l1_guest_code);
	vcpu_set_hv_cpuid(vcpu);
	vcpu_enable_evmcs(vcpu);
	vcpu_alloc_vmx(vm, &vmx_gva);
	vcpu_args_set(vcpu, 1, vmx_gva);
	vm_init_descriptor_tables(vm);
	vcpu_init_descriptor_tables(vcpu);
	vm_install_exception_handler(vm, UD_VECTOR, l1_ud_handler);

	for (;;) {
		vcpu_run(vcpu);
		TEST_ASSERT(vcpu->run->exit_reason == KVM_EXIT_IO,
			    "unexpected exit reason %u (%s)",
			    vcpu->run->exit_reason,
			    exit_reason_str(vcpu->run->exit_reason));
		switch (get_ucall(vcpu, &uc)) {
		case UCALL_SYNC:
			/* GUEST_SYNC_ARGS: "hello", then its five values */
			if (uc.args[1] == 1)
				ksft_print_msg("%s: expected 0x%lx, got 0x%lx\n",
					       (const char *)uc.args[2],
					       uc.args[3], uc.args[4]);
			else
				ksft_test_result(uc.args[3], "%s\n",
						 case_names[uc.args[2]]);
			continue;
		case UCALL_ABORT:
			REPORT_GUEST_ASSERT(uc);
			break;
		case UCALL_DONE:
			break;
		default:
			TEST_FAIL("unexpected ucall %lu", uc.cmd);
		}
		break;
	}

	host_state_einval(vm);
	kvm_vm_free(vm);
	ksft_finished();
	return 0;
}
