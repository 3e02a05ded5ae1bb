// SPDX-License-Identifier: GPL-2.0-only
/*
 * nvmx_msr_bitmap_test: L1's MSR bitmap decides which RDMSR/WRMSR of L2's
 * exit to L1, and the ones that exit to nobody leave the values L2 and L1
 * expect.
 *
 * With "use MSR bitmaps" (SDM Vol. 3C 24.6.9), an RDMSR or WRMSR exits if
 * the bit for ECX in the read or write half of the bitmap is set, and
 * always without MSR bitmaps (25.1.3).  L0 may intercept more for itself,
 * but L1 sees only its own exits, with the MSR in ECX and the value in
 * EDX:EAX (27.2.1: no qualification).  The cases, each with the bits L1
 * sets in its bitmap:
 *
 *   l1_passes_fs_base_kernel_gs_base  none: N WRMSR+RDMSR of FS_BASE and
 *                                     KERNEL_GS_BASE read back right, L1
 *                                     finds L2's last values (vmcs12's
 *                                     guest FS base, 27.3.2; its own
 *                                     KERNEL_GS_BASE, which no VM exit
 *                                     loads), and the vCPU takes far fewer
 *                                     than N hardware exits
 *   l1_passes_sysenter_esp_tsc        none: N WRMSR+RDMSR of SYSENTER_ESP,
 *                                     and RDMSR of IA32_TSC between two
 *                                     RDTSCs, with L1's TSC offset (25.3)
 *   l1_intercepts_writes              KERNEL_GS_BASE write: the WRMSR exits
 *                                     (reason 32), the RDMSR does not
 *   l1_intercepts_reads               FS_BASE read: the RDMSR exits (31),
 *                                     the WRMSR does not
 *   l0_intercepts_star                none: STAR, which L0 always
 *                                     intercepts, reads back right and
 *                                     nothing exits to L1, while the vCPU
 *                                     takes an exit per access
 *   l1_without_msr_bitmaps            (bitmap all clear, but unused): every
 *                                     access exits to L1
 *   l1_changes_bitmap_between_entries FS_BASE write bit set, then clear
 *                                     again, between VMRESUMEs: each
 *                                     setting holds from the next entry
 *
 * For each loop the host prints the vCPU's hardware exits and L1's TSC
 * cycles from VMLAUNCH to the closing exit ("# nvmx-bench NAME_exits N",
 * "NAME_cycles N"): the emulated host's TSC follows its instruction count,
 * so they compare nvmx with the stock module.
 */
#define _GNU_SOURCE
#include <string.h>

#include "test_util.h"
#include "kvm_util.h"
#include "processor.h"
#include "vmx.h"

#define NR_LOOPS		1000	/* iterations of the pass-through loops */
#define NR_L0_LOOPS		100	/* of the loop L0 intercepts */
#define NR_L1_LOOPS		25	/* of the loop every access exits to L1 */

/* Registers of the L2 bodies (index into nvmx_gpr_in/out, SDM Table 27-3). */
#define GPR_RAX			0
#define GPR_RCX			1	/* the MSR of a single access */
#define GPR_RDX			2
#define GPR_RBX			3	/* the loops' first MSR */
#define GPR_RSI			6	/* the loops' second MSR */
#define GPR_R8			8	/* the loops' iteration count */
#define GPR_R9			9	/* the loops' count of wrong reads */

#define L1_TSC_OFFSET		BIT_ULL(40)

/* Set by the host before L1 runs. */
struct nvmx_env {
	bool strict;		/* the header's: no known stock deviation here */
};

struct nvmx_env nvmx_env;

/* Written by the host at each NVMX_MSG_EXITS. */
static u64 host_exits;

#include "nvmx_selftest.h"

/*
 * L2 bodies.  The loops count down R8 and write each MSR a value made of
 * the count (canonical, different every time: R8 << 32 | R8 << 12, plus
 * 800H for the second MSR), read it back and count wrong reads in R9.
 */
asm(".pushsection .text\n"
	/* WRMSR ECX := R10, RDMSR ECX, R9 += the read differs; RAX, RDX. */
	"l2_wr_rd:\n\t"
	"mov %r10d, %eax\n\t"
	"mov %r10, %rdx\n\t"
	"shr $32, %rdx\n\t"
	"wrmsr\n\t"
	"xor %eax, %eax\n\t"
	"xor %edx, %edx\n\t"
	"rdmsr\n\t"
	"shl $32, %rdx\n\t"
	"or %rdx, %rax\n\t"
	"cmp %r10, %rax\n\t"
	"je 1f\n\t"
	"inc %r9d\n"
	"1:\tret\n"
	/* R10 := R8 << 32 | R8 << 12, the value of this iteration. */
	"l2_value:\n\t"
	"mov %r8, %r10\n\t"
	"shl $32, %r10\n\t"
	"mov %r8d, %eax\n\t"
	"shl $12, %eax\n\t"
	"or %rax, %r10\n\t"
	"ret\n"
	/* R8 times: the MSR in EBX, then the one in ESI. */
	"l2_two_msrs:\n\t"
	"xor %r9d, %r9d\n"
	"1:\tcall l2_value\n\t"
	"mov %ebx, %ecx\n\t"
	"call l2_wr_rd\n\t"
	"add $0x800, %r10\n\t"
	"mov %esi, %ecx\n\t"
	"call l2_wr_rd\n\t"
	"dec %r8d\n\t"
	"jnz 1b\n"
	"l2_two_msrs_end:\n\t"
	"vmcall\n\t"
	"ud2\n"
	/*
	 * R8 times: SYSENTER_ESP, then RDTSC, RDMSR IA32_TSC, RDTSC; a TSC
	 * read outside the two RDTSCs counts as wrong.
	 */
	"l2_sysenter_tsc:\n\t"
	"xor %r9d, %r9d\n"
	"1:\tcall l2_value\n\t"
	"mov $0x175, %ecx\n\t"
	"call l2_wr_rd\n\t"
	"rdtsc\n\t"
	"shl $32, %rdx\n\t"
	"or %rdx, %rax\n\t"
	"mov %rax, %r11\n\t"
	"mov $0x10, %ecx\n\t"
	"rdmsr\n\t"
	"shl $32, %rdx\n\t"
	"or %rdx, %rax\n\t"
	"mov %rax, %r12\n\t"
	"rdtsc\n\t"
	"shl $32, %rdx\n\t"
	"or %rdx, %rax\n\t"
	"cmp %r11, %r12\n\t"
	"jb 2f\n\t"
	"cmp %r12, %rax\n\t"
	"jae 3f\n"
	"2:\tinc %r9d\n"
	"3:\tdec %r8d\n\t"
	"jnz 1b\n"
	"l2_sysenter_tsc_end:\n\t"
	"vmcall\n\t"
	"ud2\n"
	/* WRMSR ECX := EDX:EAX, then RDMSR ECX into EDX:EAX. */
	"l2_wr_then_rd:\n\t"
	"wrmsr\n\t"
	"xor %eax, %eax\n\t"
	"xor %edx, %edx\n"
	"l2_wr_then_rd_rd:\n\t"
	"rdmsr\n"
	"l2_wr_then_rd_end:\n\t"
	"vmcall\n\t"
	"ud2\n"
	/* WRMSR ECX := EDX:EAX, VMCALL, and again. */
	"l2_wr_again:\n\t"
	"wrmsr\n"
	"l2_wr_again_call:\n\t"
	"vmcall\n\t"
	"jmp l2_wr_again\n"
	".popsection\n");

/* ---------------------------------------------------------------------- */
/* L1.                                                                      */

static u8 *l1_bitmap;

/* SDM 24.6.9: the byte and bit of @msr's read (or @write) bit. */
static u8 *bitmap_byte(u32 msr, bool write)
{
	u32 offset = (msr & 0xc0000000 ? 1024 : 0) + (write ? 2048 : 0);

	return &l1_bitmap[offset + (msr & 0x1fff) / 8];
}

static void intercept(u32 msr, bool write, bool on)
{
	u8 *byte = bitmap_byte(msr, write);

	*byte = on ? *byte | BIT(msr & 7) : *byte & ~BIT(msr & 7);
}

/* Intercept reads (@rd) and writes (@wr) of @msr, or not. */
static void intercept_rw(u32 msr, bool rd, bool wr)
{
	intercept(msr, false, rd);
	intercept(msr, true, wr);
}

static bool use_msr_bitmaps(void)
{
	return ctl_update(CPU_BASED_VM_EXEC_CONTROL, MSR_IA32_VMX_PROCBASED_CTLS,
			  CPU_BASED_USE_MSR_BITMAPS, 0);
}

/* "Use MSR bitmaps" on, or the case skips. */
static bool use_msr_bitmaps_or_skip(void)
{
	if (use_msr_bitmaps())
		return true;
	skip("no \"use MSR bitmaps\" for L1");
	return false;
}

/* The exits the vCPU has taken since the previous call (the host counts). */
static u64 vcpu_exits(const char *what, u64 cycles)
{
	ucall(UCALL_SYNC, 4, NVMX_MSG_EXITS, cur_case, what, cycles);
	return READ_ONCE(host_exits);
}

static u64 edx_eax(const u64 *gpr)
{
	return (u32)gpr[GPR_RAX] | gpr[GPR_RDX] << 32;
}

static void set_edx_eax(u64 val)
{
	nvmx_gpr_in[GPR_RAX] = (u32)val;
	nvmx_gpr_in[GPR_RDX] = val >> 32;
}

/* The value the loops write last, at R8 = 1, to their first MSR. */
static u64 loop_last_value(void)
{
	return 1ull << 32 | 1ull << 12;
}

/* L2 exited with a VMCALL at @rip (a mismatch cites @sdm). */
static bool vmcall_at(u64 rip, const char *sdm)
{
	return nvmx_exit_at(EXIT_REASON_VMCALL_NR, rip, sdm);
}

/* An RDMSR/WRMSR exit of @msr: what L1 reads about it (27.2.1, 27.2.5). */
static bool msr_exit_at(u32 reason, u64 rip, u32 msr)
{
	if (!nvmx_exit_at(reason, rip, "25.1.3 MSR bitmaps"))
		return false;
	CHECK(EXIT_QUALIFICATION, 0, "27.2.1");
	CHECK(VM_EXIT_INSTRUCTION_LEN, 2, "27.2.5");
	report("L2's ECX at the exit", msr, (u32)nvmx_gpr_out[GPR_RCX],
	       "27.5.3: the exit leaves the GPRs alone");
	return true;
}

/* A WRMSR exit of @msr := @val. */
static bool wrmsr_exit_at(u64 rip, u32 msr, u64 val)
{
	if (!msr_exit_at(EXIT_REASON_MSR_WRITE, rip, msr))
		return false;
	report("L2's EDX:EAX at the WRMSR exit", val, edx_eax(nvmx_gpr_out),
	       "27.5.3");
	return true;
}

/*
 * Resume L2 past the instruction that exited, with the GPRs it left but
 * EDX:EAX @val.
 */
static bool resume_with_edx_eax(u64 val)
{
	nvmx_l2_continue(true);
	set_edx_eax(val);
	return nvmx_l2_vmresume();
}

/* VMRESUME L2, which must then exit with a VMCALL at @rip. */
static bool resume_to_vmcall(u64 rip, const char *sdm)
{
	return nvmx_l2_vmresume() && vmcall_at(rip, sdm);
}

/* l2_setup() of a loop body at @rip, on @msr_a and @msr_b, @n times. */
static void loop_setup(u64 rip, u32 msr_a, u32 msr_b, u32 n)
{
	l2_setup(rip);
	nvmx_gpr_in[GPR_RBX] = msr_a;
	nvmx_gpr_in[GPR_RSI] = msr_b;
	nvmx_gpr_in[GPR_R8] = n;
}

/*
 * Launch a loop body, with the vCPU's exits and L1's TSC cycles around it
 * only, and expect its closing VMCALL at @end; returns the exits.
 */
static u64 run_loop(u64 rip, u64 end, u32 msr_a, u32 msr_b, u32 n,
		    const char *what)
{
	u64 t0, t1, exits;

	loop_setup(rip, msr_a, msr_b, n);
	vcpu_exits(NULL, 0);
	t0 = rdtsc();
	if (!l2_launch())
		return 0;
	t1 = rdtsc();
	exits = vcpu_exits(what, t1 - t0);
	if (vmcall_at(end, "25.1.3 MSR bitmaps"))
		report("L2's wrong reads", 0, nvmx_gpr_out[GPR_R9],
		       "24.6.9: no exit, the processor's RDMSR/WRMSR");
	return exits;
}

static void l1_passes_fs_base_kernel_gs_base(void)
{
	u64 exits;

	intercept_rw(MSR_FS_BASE, false, false);
	intercept_rw(MSR_KERNEL_GS_BASE, false, false);
	if (!use_msr_bitmaps_or_skip())
		return;

	exits = run_loop(ASM_LABEL(l2_two_msrs), ASM_LABEL(l2_two_msrs_end),
			 MSR_FS_BASE, MSR_KERNEL_GS_BASE, NR_LOOPS,
			 "msr_fs_kgs_pass");
	CHECK(GUEST_FS_BASE, loop_last_value(), "27.3.2");
	report("L1's KERNEL_GS_BASE after L2's WRMSRs", loop_last_value() + 0x800,
	       rdmsr(MSR_KERNEL_GS_BASE), "27.5: no VM exit loads it");
	if (exits >= NR_LOOPS / 10)
		report("vCPU exits for N WRMSR+RDMSR pairs of each (below N/10)",
		       NR_LOOPS / 10, exits, "24.6.9: neither L0 nor L1 intercepts");
}

static void l1_passes_sysenter_esp_tsc(void)
{
	intercept_rw(MSR_IA32_SYSENTER_ESP, false, false);
	intercept(MSR_IA32_TSC, false, false);
	if (!use_msr_bitmaps() ||
	    !ctl_update(CPU_BASED_VM_EXEC_CONTROL, MSR_IA32_VMX_PROCBASED_CTLS,
			CPU_BASED_USE_TSC_OFFSETTING, 0))
		return skip("no \"use MSR bitmaps\" or TSC offsetting for L1");
	vmwrite(TSC_OFFSET, L1_TSC_OFFSET);

	run_loop(ASM_LABEL(l2_sysenter_tsc), ASM_LABEL(l2_sysenter_tsc_end),
		 0, 0, NR_LOOPS, "msr_sysenter_tsc_pass");
	CHECK(GUEST_SYSENTER_ESP, loop_last_value(), "27.3.1");
}

/* Launch l2_wr_then_rd: WRMSR @msr := @val, then RDMSR @msr. */
static bool launch_wr_then_rd(u32 msr, u64 val)
{
	l2_setup(ASM_LABEL(l2_wr_then_rd));
	nvmx_gpr_in[GPR_RCX] = msr;
	set_edx_eax(val);
	return l2_launch();
}

static void l1_intercepts_writes(void)
{
	const u64 val = 0x7f0011223000ull;

	intercept_rw(MSR_KERNEL_GS_BASE, false, true);
	if (!use_msr_bitmaps_or_skip() ||
	    !launch_wr_then_rd(MSR_KERNEL_GS_BASE, val) ||
	    !wrmsr_exit_at(ASM_LABEL(l2_wr_then_rd), MSR_KERNEL_GS_BASE, val))
		return;

	/* L1 completes the write, in the register L1 and L2 share. */
	wrmsr(MSR_KERNEL_GS_BASE, val);
	nvmx_l2_continue(true);
	if (!resume_to_vmcall(ASM_LABEL(l2_wr_then_rd_end),
			      "25.1.3: the read bit is clear"))
		return;
	report("L2's RDMSR of the value L1 wrote for it", val,
	       edx_eax(nvmx_gpr_out), "24.6.9");
}

static void l1_intercepts_reads(void)
{
	const u64 val = 0x7f0044556000ull, emulated = 0x7f0077889000ull;

	intercept_rw(MSR_FS_BASE, true, false);
	if (!use_msr_bitmaps_or_skip() ||
	    !launch_wr_then_rd(MSR_FS_BASE, val) ||
	    !msr_exit_at(EXIT_REASON_MSR_READ, ASM_LABEL(l2_wr_then_rd_rd),
			 MSR_FS_BASE))
		return;
	CHECK(GUEST_FS_BASE, val, "27.3.2: L2's WRMSR, which did not exit");

	/* L1 completes the read with a value of its own. */
	if (!resume_with_edx_eax(emulated) ||
	    !vmcall_at(ASM_LABEL(l2_wr_then_rd_end), "25.1.3"))
		return;
	report("L2's RDMSR as L1 completed it", emulated,
	       edx_eax(nvmx_gpr_out), "25.1.3");
}

static void l0_intercepts_star(void)
{
	u64 exits;

	intercept_rw(MSR_STAR, false, false);
	if (!use_msr_bitmaps_or_skip())
		return;

	exits = run_loop(ASM_LABEL(l2_two_msrs), ASM_LABEL(l2_two_msrs_end),
			 MSR_STAR, MSR_STAR, NR_L0_LOOPS, "msr_star_l0");
	report("L1's STAR after L2's WRMSRs", loop_last_value() + 0x800,
	       rdmsr(MSR_STAR), "27.5: no VM exit loads it");
	if (exits < 4 * NR_L0_LOOPS)
		report("vCPU exits for N x 2 WRMSR+RDMSR pairs (one at least each)",
		       4 * NR_L0_LOOPS, exits, "L0 intercepts STAR for itself");
}

/* Complete L2's RDMSR/WRMSR of FS_BASE or KERNEL_GS_BASE as L1. */
static void complete_msr_exit(u32 reason, u32 msr)
{
	bool fs = msr == MSR_FS_BASE;
	u64 val = edx_eax(nvmx_gpr_out);

	nvmx_l2_continue(true);
	if (reason == EXIT_REASON_MSR_WRITE && fs)
		vmwrite(GUEST_FS_BASE, val);
	else if (reason == EXIT_REASON_MSR_WRITE)
		wrmsr(MSR_KERNEL_GS_BASE, val);
	else
		set_edx_eax(fs ? vmreadz(GUEST_FS_BASE) :
				 rdmsr(MSR_KERNEL_GS_BASE));
}

static void l1_without_msr_bitmaps(void)
{
	static const u32 msrs[2] = { MSR_FS_BASE, MSR_KERNEL_GS_BASE };
	int i;

	memset(l1_bitmap, 0, PAGE_SIZE);
	if (!ctl_update(CPU_BASED_VM_EXEC_CONTROL, MSR_IA32_VMX_PROCBASED_CTLS,
			0, CPU_BASED_USE_MSR_BITMAPS))
		return skip("L1 cannot clear \"use MSR bitmaps\"");

	loop_setup(ASM_LABEL(l2_two_msrs), msrs[0], msrs[1], NR_L1_LOOPS);
	if (!l2_launch())
		return;

	/* Per iteration: WRMSR, RDMSR of the first MSR, then of the second. */
	for (i = 0; i < 4 * NR_L1_LOOPS; i++) {
		u32 reason = i % 2 ? EXIT_REASON_MSR_READ :
				     EXIT_REASON_MSR_WRITE;
		u32 msr = msrs[i / 2 % 2];

		if (!expect_exit(reason))
			return;
		report("L2's ECX at the exit", msr, (u32)nvmx_gpr_out[GPR_RCX],
		       "25.1.3: no MSR bitmaps, every RDMSR/WRMSR exits");
		if (nr_mismatch)
			return;
		complete_msr_exit(reason, msr);
		if (!nvmx_l2_vmresume())
			return;
	}
	if (vmcall_at(ASM_LABEL(l2_two_msrs_end), "25.1.3"))
		report("L2's wrong reads", 0, nvmx_gpr_out[GPR_R9],
		       "25.1.3: L1 completed every access");
}

static void l1_changes_bitmap_between_entries(void)
{
	const u64 v1 = 0x7f0000001000ull, v2 = 0x7f0000002000ull,
		  v3 = 0x7f0000003000ull;
	u64 call = ASM_LABEL(l2_wr_again_call);

	intercept(MSR_FS_BASE, true, false);
	if (!use_msr_bitmaps_or_skip())
		return;

	l2_setup(ASM_LABEL(l2_wr_again));
	nvmx_gpr_in[GPR_RCX] = MSR_FS_BASE;
	set_edx_eax(v1);
	if (!l2_launch() || !vmcall_at(call, "25.1.3: write bit clear"))
		return;
	CHECK(GUEST_FS_BASE, v1, "27.3.2");

	/* Set: the next WRMSR (L2's after its VMCALL) exits to L1. */
	intercept(MSR_FS_BASE, true, true);
	if (!resume_with_edx_eax(v2) ||
	    !wrmsr_exit_at(ASM_LABEL(l2_wr_again), MSR_FS_BASE, v2))
		return;
	/* L1 completes it. */
	complete_msr_exit(EXIT_REASON_MSR_WRITE, MSR_FS_BASE);
	if (!resume_to_vmcall(call, "25.1.3"))
		return;
	CHECK(GUEST_FS_BASE, v2, "27.3.2");

	/* Clear again: the next WRMSR goes through. */
	intercept(MSR_FS_BASE, true, false);
	if (!resume_with_edx_eax(v3) ||
	    !vmcall_at(call, "25.1.3: write bit clear"))
		return;
	CHECK(GUEST_FS_BASE, v3, "27.3.2");
}

static const struct nvmx_case cases[] = {
	{ "l1_passes_fs_base_kernel_gs_base", l1_passes_fs_base_kernel_gs_base },
	{ "l1_passes_sysenter_esp_tsc", l1_passes_sysenter_esp_tsc },
	{ "l1_intercepts_writes", l1_intercepts_writes },
	{ "l1_intercepts_reads", l1_intercepts_reads },
	{ "l0_intercepts_star", l0_intercepts_star },
	{ "l1_without_msr_bitmaps", l1_without_msr_bitmaps },
	{ "l1_changes_bitmap_between_entries", l1_changes_bitmap_between_entries },
};

/* Each case starts with L1's bitmap all clear: L1 intercepts nothing. */
static void run_case(int i)
{
	memset(l1_bitmap, 0, PAGE_SIZE);
	cases[i].run();
}

void l1_guest_code(struct vmx_pages *vmx)
{
	l1_bitmap = vmx->msr;
	GUEST_ASSERT(prepare_for_vmx_operation(vmx));
	nvmx_l1_run_cases(vmx, ARRAY_SIZE(cases), run_case);
}

/* ---------------------------------------------------------------------- */
/* Host.                                                                    */

static struct kvm_vm *vm;
static struct kvm_vcpu *vcpu;
static u64 exits_before;

/*
 * NVMX_MSG_EXITS: hand L1 the vCPU's exits since the previous one, and
 * print them with L1's cycles when L1 names what it measured.
 */
static void host_exits_message(struct ucall *uc)
{
	u64 exits = nvmx_vcpu_stat(vcpu, "exits");

	host_exits = exits - exits_before;
	exits_before = exits;
	sync_global_to_guest(vm, host_exits);
	if (!uc->args[2])
		return;
	ksft_print_msg("nvmx-bench %s_exits %lu\n", (const char *)uc->args[2],
		       host_exits);
	ksft_print_msg("nvmx-bench %s_cycles %lu\n", (const char *)uc->args[2],
		       uc->args[3]);
}

static void host_message(struct ucall *uc)
{
	if (uc->args[0] == NVMX_MSG_EXITS)
		host_exits_message(uc);
	else
		nvmx_host_message(uc, cases[uc->args[1]].name);
}

int main(int argc, char *argv[])
{
	vm = nvmx_host_create(&vcpu, ARRAY_SIZE(cases), NULL);
	return nvmx_host_run(vm, vcpu, host_message);
}
