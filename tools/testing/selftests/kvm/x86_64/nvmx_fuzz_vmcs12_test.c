// SPDX-License-Identifier: GPL-2.0-only
/*
 * nvmx_fuzz_vmcs12_test: a seeded fuzzer of vmcs12 at VM entry (issue 13).
 *
 * L1 prepares a valid vmcs12 (the library's prepare_vmcs(), L2 code that
 * ends in VMCALL), checks that it launches, VMCLEARs it and keeps a copy of
 * the cleared region as the pristine vmcs12.  Each iteration then mutates
 * one to three fields (bit flips, boundary values, reserved bits, addresses
 * unaligned, beyond MAXPHYADDR, beyond L1's memory, non-canonical) and runs
 * VMLAUNCH, or VMRESUME where the VMCS is launched, and classifies the
 * outcome: VM entry (and the exit L2 caused), VMfailValid with its error,
 * VMfailInvalid, or a VM-entry failure exit (reason bit 31 and the
 * qualification).  Afterwards the VMCS goes back to the pristine vmcs12:
 * the mutated fields are written back where nothing else can have changed
 * (no entry, or L2's VMCALL alone with no mutated control that decides
 * what is loaded or saved: the VMCS stays launched), otherwise L1 VMCLEARs
 * the VMCS, copies the pristine region back and VMPTRLDs it (restore()).  Every K
 * iterations a clean entry must end in the VMCALL exit.
 *
 * The pristine vmcs12 is one of several base states ("profiles"), each
 * built over the plain one and checked to enter cleanly before the first
 * iteration.  Block b of K iterations takes profile b mod 7 (the plain
 * one where L1 is not offered that profile: skipped, with the reason in
 * the summary, which counts the outcomes per profile), starting from a
 * clear VMCS and a pseudo-random stream of its own (use_profile()):
 *   plain     prepare_vmcs(): no secondary control set; ends in VMCALL
 *   ept       L1's identity EPT of memslot 0 (WB, 4 levels), VPID 1 if
 *             offered; VMCALL
 *   apicv     TPR shadow, virtual-APIC page, APIC-access page, and if
 *             offered APIC-register virtualization and virtual-interrupt
 *             delivery with external-interrupt exiting; VMCALL
 *   posted    TPR shadow, virtualize x2APIC mode, APIC-register
 *             virtualization, virtual-interrupt delivery, posted
 *             interrupts (acknowledge on exit, vector F2H, a descriptor
 *             page of zeros in L1's memory); VMCALL
 *   timer     the VMX-preemption timer at FFFFFFF0H, saved at exit; VMCALL
 *   hlt       activity state HLT, the timer at 100H: exit 52 (25.5.1)
 *   shutdown  activity state shutdown with #MC injected (26.3.1.5), the
 *             timer at 100H: the #MC meets L2's not-present IDT gate, a
 *             triple fault, exit 2 (26.6.2: a vectoring entry leaves L2
 *             active); the timer ends it if a mutation drops the #MC
 * HLT and shutdown keep their bound: the timer's value is not mutated
 * there and its control stays set; in shutdown L2's IDT base neither (a
 * gate in L1's memory could run L1's code as L2).  Wait-for-SIPI is not a
 * profile: nothing ends it here (the timer counts in it but causes no VM
 * exit there, 25.5.1, it blocks INIT, 26.6.2, and only a SIPI from
 * another processor would end it).  A clean exit's
 * own changes (the saved timer value, the VM-entry interruption
 * information's valid bit, the activity state) are written back with the
 * mutated rows.
 *
 * An iteration costs L0 one VM exit for the entry, one for L2's exit if
 * it entered, and those of L1's VMWRITEs that are not shadowed; nothing
 * else where it can be helped (host RSP and RIP are written once, the
 * host hears from L1 once per 1024 iterations: a digest per profile slot,
 * and with -o the outcomes).  The summary says where
 * L1's cycles went and how many L0 exits an iteration took.
 *
 * The fields and their mutators come from the vmcs12 field table
 * (include/nvmx/vmcs12_rows.h, through nvmx_fields[] of vmcs12_table.h, in
 * nvmx_fuzz_vmcs12.h, which nvmx_fuzz_nested_state_test shares): a new row
 * is fuzzed without another list.  A few rows are mutated only in ways that
 * keep L1 alive (see fuzz_kind()): a VM exit that loads a valid but wrong
 * host CR3, a host RSP L1 cannot use, a guest that halts or waits for
 * SIPI forever, or a VM-exit MSR-load/store list that VMX-aborts L1 (SDM
 * 27.7) would end the run, correctly, but end it.
 *
 * The outcome must be one the SDM (Vol. 3C; chapters 24-27 numbering)
 * allows for the fields mutated:
 *   control field (26.2.1)        entry, VMfailValid 7
 *   host-state field (26.2.2-4)   entry, VMfailValid 8
 *   guest-state field (26.3)      entry, exit 33 (qualification 0, 2 for
 *                                 the PDPTEs, 4 for the VMCS link pointer)
 *   VM-entry MSR-load list        entry, VMfailValid 7, exit 34 (26.4)
 * plus the checks a control decides in another class: the VM-exit controls
 * decide host-state checks (26.2.2, 26.2.4: VMfailValid 8), the VM-entry,
 * pin-based and processor-based controls and the event to inject decide
 * guest-state checks (26.3.1.1, 26.3.1.4, 26.3.1.5: exit 33).  After an
 * entry any exit L2 can cause is allowed (the mutated controls decide
 * which).  VMfailInvalid is never allowed: the VMCS pointer is valid.
 * Where a mutated row fails a check of 26.2.1.1 that the profile's
 * controls make (an I/O, MSR, virtual-APIC or APIC-access page address
 * unaligned or beyond MAXPHYADDR, a posted-interrupt descriptor not
 * 64-byte aligned or beyond it, a notification vector with bits 15:8 set)
 * and no execution control is mutated with it, the
 * entry must fail: VMfailValid 7 (or 8 with a host row: 26.2 checks in
 * any order), neither an entry nor 33/34, which come after 26.2 passed.
 *
 * Usage: nvmx_fuzz_vmcs12_test [-s SEED] [-i ITERATIONS] [-v FIRST[:LAST],...] [-o]
 * -v prints every iteration from FIRST to LAST (mutations and outcome), for
 * up to 64 ranges,
 * -o every iteration's outcome, a line per block (fuzz.sh then counts the
 * pairs of outcomes where stock and ours differ).
 * Every 1024 iterations it prints a digest of their outcomes per profile
 * slot ("block N/PROFILE", "-as-plain" where the slot's profile was not
 * offered): two runs with the same seed (stock and ours) differ in a
 * block exactly where a digest both print differs; -v on that block lists
 * the iterations.
 */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "test_util.h"
#include "kvm_util.h"
#include "processor.h"
#include "vmx.h"

#define FUZZ_DEFAULT_SEED	0x6e766d78ull	/* "nvmx" */
#define FUZZ_DEFAULT_ITERS	100000
#define FUZZ_CLEAN_EVERY	64		/* K: a clean VMLAUNCH+VMCALL */
#define FUZZ_BLOCK		1024		/* iterations per digest */
#define FUZZ_MAX_MUT		3
#define FUZZ_MAX_RANGES		64		/* -v FIRST:LAST,... */

struct nvmx_env {
	bool strict;
	u64 seed;
	u32 iters;
	u32 nr_verbose;			/* -v: ranges of iterations to print */
	u32 verbose_first[FUZZ_MAX_RANGES], verbose_last[FUZZ_MAX_RANGES];
	bool outcomes;			/* -o: every outcome, per block */
	u64 mem_end_gpa;		/* the first GPA beyond L1's memslot 0 */
	u64 pristine_gva;		/* the pristine vmcs12 region */
	u64 zero_gva, zero_gpa;		/* a page of zeros (IDT, EPT PML4) */
	u64 list_gva, list_gpa;		/* an MSR list of valid entries */
	u64 edge_gpa;			/* the last page of memslot 0, zeros */
	u64 apic_gpa;			/* virtual-APIC, APIC-access, PI pages */
	u64 eptp_gpa;			/* L1's identity EPT of memslot 0, or 0 */
	bool is_nvmx;			/* the module under test is ours */
};

struct nvmx_env nvmx_env;

#include <nvmx/vmcs12_table.h>

/* The fuzzer's own runner, without per-entry host-state VMWRITEs */
#define NVMX_OWN_HOST_RIP
#include "nvmx_selftest.h"
#include "nvmx_fuzz_vmcs12.h"

/* Messages of this test (after the framework's) */
enum {
	MSG_BAD = NVMX_MSG_EXITS + 16,	/* an outcome the SDM does not allow */
	MSG_ITER,			/* -v: one iteration */
	MSG_DIGEST,			/* a block's digest */
	MSG_SUMMARY,			/* the counts, at the end */
	MSG_CLEAN_FAILED,		/* a clean entry did not end cleanly */
	MSG_OUTCOMES,			/* -o: a block's outcomes */
};

/* Outcome kinds */
enum {
	OC_EXIT = 1,		/* VM entry, then this exit of L2 */
	OC_FAIL_VALID,		/* VMfailValid, VM-instruction error */
	OC_FAIL_INVALID,	/* VMfailInvalid */
	OC_ENTRY_FAIL,		/* VM-entry failure exit, basic reason */
	OC_WEIRD,		/* VMfail with neither CF nor ZF */
};

#define OC(kind, nr)		((u32)(kind) << 16 | ((nr) & 0xffff))
#define OC_KIND(oc)		((oc) >> 16)
#define OC_NR(oc)		((oc) & 0xffff)

/*
 * The base states ("profiles") the mutations start from, each a vmcs12
 * that enters L2 cleanly; blocks of FUZZ_CLEAN_EVERY iterations take the
 * profiles L1 is offered in turn (see setup_profile()).
 */
enum {
	P_PLAIN,	/* prepare_vmcs(): no secondary control set */
	P_EPT,		/* L1's identity EPT, and VPID 1 if offered */
	P_APICV,	/* TPR shadow, APIC-access page, APIC-reg virt, VID */
	P_POSTED,	/* virtualize x2APIC mode, VID, posted interrupts */
	P_TIMER,	/* VMX-preemption timer, large, saved at exit */
	P_HLT,		/* activity state HLT, ended by the timer */
	P_SHUTDOWN,	/* activity state shutdown, #MC injected, timer */
	NR_PROFILES
};

/* Why a profile is not run (the host prints skip_str[]) */
enum {
	SKIP_NONE, SKIP_EPT, SKIP_TPR, SKIP_PI, SKIP_TIMER, SKIP_HLT,
	SKIP_SHUTDOWN,
};

/* Outcomes per profile */
enum {
	PO_CLEAN, PO_EXIT, PO_FAIL7, PO_FAIL8, PO_EXIT33, PO_EXIT34, PO_OTHER,
	NR_PO
};

/* One iteration, for the host to read on MSG_BAD and MSG_ITER */
struct fuzz_iter {
	u32 iter;
	u32 profile;
	u32 launch;
	u32 nr;
	u32 row[FUZZ_MAX_MUT];
	uint64_t val[FUZZ_MAX_MUT];
	u32 outcome;
	uint64_t qual;
	u32 allowed;		/* ALLOW_* */
};

#define ALLOW_FAIL7		BIT(0)
#define ALLOW_FAIL8		BIT(1)
#define ALLOW_EXIT33		BIT(2)
#define ALLOW_EXIT33_Q4		BIT(3)
#define ALLOW_EXIT34		BIT(4)
#define MUST_FAIL		BIT(5)	/* a 26.2 check fails: no entry */

/* Where an iteration's time goes, in L1's TSC cycles (emulated: instructions) */
enum {
	PH_MUTATE, PH_ENTRY, PH_CLASSIFY, PH_RESTORE_ROWS, PH_RESTORE_VMCS,
	PH_CLEAN, NR_PHASES
};

static const char * const phase_name[NR_PHASES] = {
	"mutate+VMWRITE", "entry+exit", "classify", "rows back",
	"VMCLEAR+VMPTRLD", "clean entries",
};

struct fuzz_counts {
	uint64_t iters;
	uint64_t vmcall;		/* entry, VMCALL exit */
	uint64_t other_exit;		/* entry, another exit of L2 */
	uint64_t exit_reason[80];
	uint64_t fail_valid[32];
	uint64_t fail_invalid;
	uint64_t entry_fail33, entry_fail34, entry_fail_other;
	uint64_t weird;
	uint64_t bad;		/* outcomes the SDM does not allow */
	uint64_t clean_checks;
	uint64_t launches, resumes;
	uint64_t mutated_rows;	/* rows the fuzzer draws from */
	uint64_t full_restores;	/* VMCLEAR, copy, VMPTRLD */
	uint64_t row_restores;	/* the mutated rows written back */
	uint64_t tsc[NR_PHASES];	/* L1's TSC cycles per phase */
	uint64_t must_fail;	/* iterations with a known 26.2 failure */
	uint64_t stock_hlt_woke;	/* stock: HLT entries L2 left unwoken */
	uint64_t tf_vmcall;	/* VMCALL exits with TF 1 (check_tf_vmcall) */
	uint64_t tf_vmcall_dbg;	/* ... that saved pending debug exceptions */
	uint64_t tf_vmcall_dbg_first;
	uint64_t prof[NR_PROFILES][NR_PO];
	u32 prof_skip[NR_PROFILES];	/* SKIP_* */
	u32 prof_opt[NR_PROFILES];	/* OPT_*: optional parts it has */
};

#define OPT_VPID		BIT(0)
#define OPT_REGVIRT		BIT(1)
#define OPT_VID			BIT(2)

struct fuzz_iter fuzz_cur;
struct fuzz_counts fuzz_counts;

/*
 * -o: the outcomes of the block's iterations, for the host to print (one
 * fuzz-oc line per block; fuzz.sh pairs stock's and ours): 4 hex digits
 * each, the kind in bits 13:11, the qualification of a VM-entry failure
 * in bits 10:8, the exit reason or VM-instruction error in bits 7:0.
 */
u16 fuzz_block_oc[FUZZ_BLOCK];
uint64_t fuzz_digest[NR_PROFILES];	/* per slot, see use_profile() */

/* ---------------------------------------------------------------------- */
/* L1                                                                       */

asm(".pushsection .text\n"
	"l2_vmcall:\n\t"
	"vmcall\n\t"
	"ud2\n"
	".popsection");

/*
 * fuzz_l2_run (EDI = launch): nvmx_selftest.h's runner without its
 * VMWRITEs of host RSP and RIP before every entry (each a VM exit to L0
 * where the field is not shadowed).  vmcs12's host RIP is fuzz_l2_exit and
 * its host RSP the top of fuzz_exit_stack, written once into the pristine
 * vmcs12; the exit path takes L1's own RSP back first.  L2's registers
 * are not kept.  EAX = 0 after a VM exit, 1 after a VMfail (its flags in
 * nvmx_vmfail_rflags).
 */
static u64 fuzz_exit_stack[8] __aligned(16);
static u32 pristine_intr_state;

asm(".pushsection .text\n"
	"fuzz_l2_run:\n\t"
	NVMX_ASM_L2_RUN_PROLOGUE
	NVMX_ASM_L2_ENTER
	"pushf\n\t"
	"pop %rdx\n\t"
	"and $0x8d5, %rdx\n\t"			/* F_ARITH */
	"mov %rdx, nvmx_vmfail_rflags(%rip)\n\t"
	"jmp 3f\n"
	"fuzz_l2_exit:\n\t"
	"mov nvmx_l1_rsp(%rip), %rsp\n\t"
	"xor %eax, %eax\n"
	"3:\t"
	NVMX_ASM_L2_RUN_EPILOGUE
	".popsection\n");

#define RFLAGS_CF		BIT(0)
#define RFLAGS_ZF		BIT(6)
#define RFLAGS_TF		BIT(8)
#define REASON_VMCALL		18
#define REASON_INVALID_GUEST	33
#define REASON_MSR_LOAD		34
#define ERR_INVALID_CONTROL	7
#define ERR_INVALID_HOST	8
#define REASON_TRIPLE_FAULT	2
#define REASON_PREEMPTION	52
#define ACTIVITY_HLT		1
#define ACTIVITY_SHUTDOWN	2
#define MISC_HLT		BIT(6)		/* IA32_VMX_MISC (A.6) */
#define MISC_SHUTDOWN		BIT(7)
#define INTR_INFO_MC		(BIT(31) | 3 << 8 | 18)	/* #MC (24.8.3) */
#define TIMER_LARGE		0xfffffff0u	/* never expires in a clean run */
#define TIMER_BOUND		0x100		/* ends HLT and shutdown soon */
#define PI_VECTOR		0xf2
#define APIC_VAPIC		0		/* offsets in nvmx_env.apic_gpa */
#define APIC_ACCESS		0x1000
#define APIC_PI_DESC		0x2000

/* The exit a clean entry of each profile ends in */
static const u32 clean_reason[NR_PROFILES] = {
	[P_PLAIN] = REASON_VMCALL, [P_EPT] = REASON_VMCALL,
	[P_APICV] = REASON_VMCALL, [P_POSTED] = REASON_VMCALL,
	[P_TIMER] = REASON_VMCALL,
	[P_HLT] = REASON_PREEMPTION,		/* 25.5.1: it counts in HLT */
	[P_SHUTDOWN] = REASON_TRIPLE_FAULT,	/* #MC, L2's IDT not present */
};

static u32 cur_profile;
static u32 cur_slot;		/* the block's place in the rotation */
static u32 slots_used;		/* slots with a digest in this block */

static void *pristine(u32 p)
{
	return (void *)(nvmx_env.pristine_gva + p * VMCS12_SIZE);
}

/* Row @row of the current profile's pristine vmcs12 */
static u64 pristine_row(u32 row)
{
	return nvmx_vmcs12_read(pristine(cur_profile), &nvmx_fields[row]);
}

/* What the SDM allows besides a VM entry when row @row was mutated */
static u32 allowed_for(u32 row)
{
	const struct nvmx_field *f = &nvmx_fields[row];

	switch (f->encoding) {
	case VM_ENTRY_MSR_LOAD_ADDR:
	case VM_ENTRY_MSR_LOAD_COUNT:
		return ALLOW_FAIL7 | ALLOW_EXIT34;		/* 26.2.1.2, 26.4 */
	case VM_EXIT_CONTROLS:
		return ALLOW_FAIL7 | ALLOW_FAIL8;		/* 26.2.1.2, 26.2.2, 26.2.4 */
	case SECONDARY_VM_EXEC_CONTROL:
	case CPU_BASED_VM_EXEC_CONTROL:
		/* unrestricted guest (26.3.1.1), VMCS shadowing (26.3.1.5) */
		return ALLOW_FAIL7 | ALLOW_EXIT33 | ALLOW_EXIT33_Q4;
	case PIN_BASED_VM_EXEC_CONTROL:
	case VM_ENTRY_CONTROLS:
	case VM_ENTRY_INTR_INFO_FIELD:
		/* 26.3.1.1 (IA-32e mode guest, load ...), 26.3.1.4, 26.3.1.5 */
		return ALLOW_FAIL7 | ALLOW_EXIT33;
	case VMCS_LINK_POINTER:
		return ALLOW_EXIT33 | ALLOW_EXIT33_Q4;		/* 26.3.1.5 */
	}
	switch (f->class) {
	case NVMX_CONTROL:
		return ALLOW_FAIL7;				/* 26.2.1 */
	case NVMX_HOST:
		return ALLOW_FAIL8;				/* 26.2.2-26.2.4 */
	case NVMX_GUEST:
		return ALLOW_EXIT33;				/* 26.3 */
	default:
		return 0;
	}
}

static bool outcome_allowed(u32 oc, u64 qual, u32 allowed)
{
	switch (OC_KIND(oc)) {
	case OC_EXIT:
		return !(allowed & MUST_FAIL);
	case OC_FAIL_VALID:
		return (OC_NR(oc) == ERR_INVALID_CONTROL && (allowed & ALLOW_FAIL7)) ||
		       (OC_NR(oc) == ERR_INVALID_HOST && (allowed & ALLOW_FAIL8));
	case OC_ENTRY_FAIL:
		/* 26.3 and 26.4 come after 26.2 has passed */
		if (allowed & MUST_FAIL)
			return false;
		if (OC_NR(oc) == REASON_MSR_LOAD)
			return allowed & ALLOW_EXIT34;
		if (OC_NR(oc) != REASON_INVALID_GUEST || !(allowed & ALLOW_EXIT33))
			return false;
		/* 26.8: 0 default, 2 PDPTE load, 4 VMCS link pointer */
		return qual == 0 || qual == 2 ||
		       (qual == 4 && (allowed & ALLOW_EXIT33_Q4));
	default:
		return false;
	}
}

/* Bits beyond MAXPHYADDR or not aligned to @align: SDM 26.2.1.1 */
static bool addr_bad(u64 v, u64 align)
{
	return (v & (align - 1)) || (v >> nvmx_fuzz.maxphyaddr);
}

/*
 * @v in row @row fails a check of SDM 26.2.1.1 under the current
 * profile's controls (VMfailValid 7): an address of a page the controls
 * use, unaligned or beyond MAXPHYADDR, the notification vector's bits
 * 15:8.  Not a virtual-APIC page that no memory backs: the SDM has no
 * such check; nvmx fails it with VMfailValid 7 before the guest state is
 * checked, stock 6.1 through the processor, after its own guest-state
 * checks (exit 33 first), both as the row's class allows.
 */
static bool known_vmfail(u32 row, u64 v)
{
	u32 pin = pristine_row(NVMX_IDX_pin_based_vm_exec_control);
	u32 proc = pristine_row(NVMX_IDX_cpu_based_vm_exec_control);
	u32 sec = 0;

	if (proc & CPU_BASED_ACTIVATE_SECONDARY_CONTROLS)
		sec = pristine_row(NVMX_IDX_secondary_vm_exec_control);
	switch (nvmx_fields[row].encoding) {
	case IO_BITMAP_A:
	case IO_BITMAP_B:
		return (proc & CPU_BASED_USE_IO_BITMAPS) && addr_bad(v, 0x1000);
	case MSR_BITMAP:
		return (proc & CPU_BASED_USE_MSR_BITMAPS) && addr_bad(v, 0x1000);
	case VIRTUAL_APIC_PAGE_ADDR:
		return (proc & CPU_BASED_TPR_SHADOW) && addr_bad(v, 0x1000);
	case APIC_ACCESS_ADDR:
		return (sec & SECONDARY_EXEC_VIRTUALIZE_APIC_ACCESSES) &&
		       addr_bad(v, 0x1000);
	case POSTED_INTR_DESC_ADDR:
		return (pin & PIN_BASED_POSTED_INTR) && addr_bad(v, 64);
	case POSTED_INTR_NV:
		return (pin & PIN_BASED_POSTED_INTR) && (v & 0xff00);
	default:
		return false;
	}
}

/* The controls that decide whether known_vmfail()'s checks apply */
static bool decides_page_checks(u32 row)
{
	return row == NVMX_IDX_pin_based_vm_exec_control ||
	       row == NVMX_IDX_cpu_based_vm_exec_control ||
	       row == NVMX_IDX_secondary_vm_exec_control;
}

/*
 * What HLT and shutdown are bounded by, the VMX-preemption timer, which
 * counts there (25.5.1): its value is not mutated and its control stays
 * set.  L2's IDT base neither, in shutdown: the injected #MC must meet a
 * not-present gate (a triple fault), never a gate in L1's memory.
 */
static bool row_kept(u32 row)
{
	if (cur_profile != P_HLT && cur_profile != P_SHUTDOWN)
		return false;
	return row == NVMX_IDX_vmx_preemption_timer_value ||
	       (cur_profile == P_SHUTDOWN && row == NVMX_IDX_guest_idtr_base);
}

static u64 keep_bound(u32 row, u64 v)
{
	if ((cur_profile == P_HLT || cur_profile == P_SHUTDOWN) &&
	    row == NVMX_IDX_pin_based_vm_exec_control)
		v |= PIN_BASED_VMX_PREEMPTION_TIMER;
	return v;
}

static u64 vmcs_gpa;
static u64 vmcs_gva;
static bool vmcs_launched;	/* the current VMCS's launch state (24.11.3) */
static u64 tsc_mark;

static inline u64 rdtsc_l1(void)
{
	u32 lo, hi;

	asm volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return (u64)hi << 32 | lo;
}

/* The time since the last mark goes to @ph */
static inline void phase_end(int ph)
{
	u64 now = rdtsc_l1();

	fuzz_counts.tsc[ph] += now - tsc_mark;
	tsc_mark = now;
}

/* The VMCS region back to the pristine copy, current and clear */
static void restore_vmcs(void)
{
	GUEST_ASSERT(!vmclear(vmcs_gpa));
	memcpy((void *)vmcs_gva, pristine(cur_profile), VMCS12_SIZE);
	GUEST_ASSERT(!vmptrld(vmcs_gpa));
	vmcs_launched = false;
	fuzz_counts.full_restores++;
}

static void write_pristine(u32 row)
{
	const struct nvmx_field *f = &nvmx_fields[row];

	GUEST_ASSERT_2(!vmwrite(f->encoding, pristine_row(row)), f->encoding, 0);
}

/*
 * What a clean exit of the profile changes besides the guest state the
 * entry loaded: the saved VMX-preemption timer value (27.3.4), the
 * VM-entry interruption information, whose valid bit every exit clears
 * (24.8.3), the activity state (27.3.4).
 */
static void rewrite_after_exit(void)
{
	if (cur_profile == P_TIMER)
		write_pristine(NVMX_IDX_vmx_preemption_timer_value);
	if (cur_profile == P_SHUTDOWN)
		write_pristine(NVMX_IDX_vm_entry_intr_info_field);
	if (cur_profile == P_HLT || cur_profile == P_SHUTDOWN)
		write_pristine(NVMX_IDX_guest_activity_state);
}

/* The rows @c mutated back to their pristine values */
static void restore_rows(const struct fuzz_iter *c)
{
	const struct nvmx_field *f;
	u32 i;

	for (i = 0; i < c->nr; i++) {
		f = &nvmx_fields[c->row[i]];
		GUEST_ASSERT_2(!vmwrite(f->encoding,
					nvmx_vmcs12_read(pristine(cur_profile), f)),
			       f->encoding, 0);
	}
	fuzz_counts.row_restores++;
}

static u32 run_l2(int launch, u64 *qual)
{
	u32 reason;

	*qual = 0;
	if (nvmx_call_asm(ASM_LABEL(fuzz_l2_run), launch)) {
		if (nvmx_vmfail_rflags & RFLAGS_CF)
			return OC(OC_FAIL_INVALID, 0);
		if (nvmx_vmfail_rflags & RFLAGS_ZF)
			return OC(OC_FAIL_VALID, vmreadz(VM_INSTRUCTION_ERROR));
		return OC(OC_WEIRD, nvmx_vmfail_rflags);
	}
	reason = vmreadz(VM_EXIT_REASON);
	if (reason & BIT(31)) {
		*qual = vmreadz(EXIT_QUALIFICATION);
		return OC(OC_ENTRY_FAIL, reason);
	}
	/* SDM 30.3: a VM entry (not a failed one, 26.8) launches the VMCS */
	vmcs_launched = true;
	return OC(OC_EXIT, reason);
}

/*
 * Stock 6.1 halts an L2 entered in the HLT state in software and
 * sometimes resumes it with nothing seen to wake it (the timer's exit
 * ends the state, 25.5.1; inferred, not traced): L2 runs its VMCALL.
 * Measured in 2 of the 14,272 HLT iterations of make check's 100,000, and
 * at a clean entry near iteration 192,000 of a longer run.  With stock
 * (unless NVMX_STRICT=1) such an outcome is counted and reported (XFAIL),
 * not failed: true when it was counted.
 */
static bool stock_hlt_wake_counted(void)
{
	if (nvmx_env.is_nvmx || nvmx_env.strict)
		return false;
	fuzz_counts.stock_hlt_woke++;
	return true;
}

/*
 * A clean entry of the pristine vmcs12 ends in the profile's exit (L2's
 * VMCALL, the timer's, a triple fault): VMLAUNCH, or VMRESUME once the
 * VMCS is launched.
 */
static void clean_entry(void)
{
	u64 qual;
	u32 oc;

	oc = run_l2(!vmcs_launched, &qual);
	if (cur_profile == P_HLT && oc == OC(OC_EXIT, REASON_VMCALL) &&
	    stock_hlt_wake_counted())
		oc = OC(OC_EXIT, clean_reason[cur_profile]);
	if (oc != OC(OC_EXIT, clean_reason[cur_profile])) {
		ucall(UCALL_SYNC, 4, MSG_CLEAN_FAILED, cur_profile, oc, qual);
		GUEST_ASSERT(0);
	}
	rewrite_after_exit();
	fuzz_counts.clean_checks++;
}

static u32 profile_outcome(u32 oc)
{
	switch (OC_KIND(oc)) {
	case OC_EXIT:
		return OC_NR(oc) == clean_reason[cur_profile] ? PO_CLEAN : PO_EXIT;
	case OC_FAIL_VALID:
		if (OC_NR(oc) == ERR_INVALID_CONTROL)
			return PO_FAIL7;
		return OC_NR(oc) == ERR_INVALID_HOST ? PO_FAIL8 : PO_OTHER;
	case OC_ENTRY_FAIL:
		if (OC_NR(oc) == REASON_INVALID_GUEST)
			return PO_EXIT33;
		return OC_NR(oc) == REASON_MSR_LOAD ? PO_EXIT34 : PO_OTHER;
	default:
		return PO_OTHER;
	}
}

static void count(u32 oc)
{
	fuzz_counts.prof[cur_profile][profile_outcome(oc)]++;
	switch (OC_KIND(oc)) {
	case OC_EXIT:
		if (OC_NR(oc) == REASON_VMCALL)
			fuzz_counts.vmcall++;
		else
			fuzz_counts.other_exit++;
		if (OC_NR(oc) < ARRAY_SIZE(fuzz_counts.exit_reason))
			fuzz_counts.exit_reason[OC_NR(oc)]++;
		break;
	case OC_FAIL_VALID:
		fuzz_counts.fail_valid[OC_NR(oc) & 31]++;
		break;
	case OC_FAIL_INVALID:
		fuzz_counts.fail_invalid++;
		break;
	case OC_ENTRY_FAIL:
		if (OC_NR(oc) == REASON_INVALID_GUEST)
			fuzz_counts.entry_fail33++;
		else if (OC_NR(oc) == REASON_MSR_LOAD)
			fuzz_counts.entry_fail34++;
		else
			fuzz_counts.entry_fail_other++;
		break;
	default:
		fuzz_counts.weird++;
		break;
	}
}

/* FNV-1a over the iteration's outcome */
static void digest(u32 iter, u32 oc, u64 qual)
{
	u64 words[3] = { iter, oc, qual };
	const u8 *p = (const u8 *)words;
	unsigned int i;

	for (i = 0; i < sizeof(words); i++) {
		fuzz_digest[cur_slot] ^= p[i];
		fuzz_digest[cur_slot] *= 0x100000001b3ull;
	}
	slots_used |= BIT(cur_slot);
}

/* The digests of the block of FUZZ_BLOCK iterations ending now */
static void send_digests(u32 iter)
{
	u32 slot;

	for (slot = 0; slot < NR_PROFILES; slot++) {
		if (slots_used & BIT(slot))
			ucall(UCALL_SYNC, 4, MSG_DIGEST, iter / FUZZ_BLOCK,
			      slot | (fuzz_counts.prof_skip[slot] ? 0x100 : 0),
			      fuzz_digest[slot]);
		fuzz_digest[slot] = 0xcbf29ce484222325ull;
	}
	slots_used = 0;
	if (nvmx_env.outcomes)
		ucall(UCALL_SYNC, 3, MSG_OUTCOMES, iter / FUZZ_BLOCK,
		      iter % FUZZ_BLOCK + 1);
}

/*
 * Rows that decide what the entry loads into L2 beyond the guest-state
 * fields or what the exit saves (SDM 26.3.2, 26.4, 27.3): the VM-entry and
 * VM-exit controls (their load and save bits), the execution controls that
 * add guest state (VMX-preemption timer, EPT's PDPTEs, virtual-interrupt
 * delivery's status, PML's index) and the VM-entry MSR-load list; and the
 * guest state that decides the pending debug exceptions the exit saves
 * (27.3.4: clear after L2's VMCALL, but for an exit under MOV-SS
 * blocking, where BS with RFLAGS.TF 1 is the processor's own).  Measured
 * with stock 6.1 on the emulated CPU: after L2's VMCALL with TF 1 and no
 * MOV-SS blocking (seed 6e766d78H, iteration 154175) and only the mutated
 * rows written back, the next clean entry ended in a triple fault, as a
 * saved BS would make it (#DB delivered through L2's empty IDT):
 * check_tf_vmcall() counts what such exits save, and found every one
 * nonzero with both modules (the emulated CPU's, testing.rst).
 */
static bool decides_saved_state(u32 encoding)
{
	switch (encoding) {
	case PIN_BASED_VM_EXEC_CONTROL:
	case CPU_BASED_VM_EXEC_CONTROL:
	case SECONDARY_VM_EXEC_CONTROL:
	case VM_EXIT_CONTROLS:
	case VM_ENTRY_CONTROLS:
	case VM_ENTRY_MSR_LOAD_COUNT:
	case VM_ENTRY_MSR_LOAD_ADDR:
	case GUEST_RFLAGS:
	case GUEST_INTERRUPTIBILITY_INFO:
	case GUEST_IA32_DEBUGCTL:
		return true;
	default:
		return false;
	}
}

/*
 * After the iteration's outcome, the VMCS back to the pristine vmcs12, or
 * to what a clean entry leaves of it.  Where no VM entry happened (a
 * VMfail or a VM-entry failure, 26.8) only the mutated rows changed: they
 * are written back, and the launch state stays.  After an entry the exit
 * saved L2's state (27.3): where L2 ran nothing but its VMCALL and no
 * mutated row decides what is loaded or saved, what the exit saved is
 * what the entry loaded, so writing the rows back (and the
 * interruptibility, which the emulated CPU can leave with blocking by
 * NMI) leaves the state of a clean entry, with the VMCS launched; after
 * anything else L1 VMCLEARs the VMCS, copies the pristine region back and
 * VMPTRLDs it.
 */
static void restore(const struct fuzz_iter *c)
{
	bool decides = false;
	u32 i;

	for (i = 0; i < c->nr; i++)
		decides |= decides_saved_state(nvmx_fields[c->row[i]].encoding);
	switch (OC_KIND(c->outcome)) {
	case OC_FAIL_VALID:
	case OC_ENTRY_FAIL:
		restore_rows(c);
		phase_end(PH_RESTORE_ROWS);
		return;
	case OC_EXIT:
		if (decides || OC_NR(c->outcome) != clean_reason[cur_profile] ||
		    vmreadz(GUEST_RIP) != ASM_LABEL(l2_vmcall))
			break;
		restore_rows(c);
		GUEST_ASSERT(!vmwrite(GUEST_INTERRUPTIBILITY_INFO,
				      pristine_intr_state));
		rewrite_after_exit();
		phase_end(PH_RESTORE_ROWS);
		return;
	}
	restore_vmcs();
	phase_end(PH_RESTORE_VMCS);
}

/*
 * Block @block of FUZZ_CLEAN_EVERY iterations: slot @block mod
 * NR_PROFILES, that profile or, where L1 is not offered it, the plain one;
 * a clear VMCS from the pristine vmcs12 and a pseudo-random stream of its
 * own.  So a block repeats alone, and stock and ours draw the same
 * mutations in a block whatever the blocks before gave or were: their
 * digests (per block of FUZZ_BLOCK and slot) compare wherever both ran the
 * slot's profile.
 */
static void use_profile(u32 block)
{
	u64 seed = nvmx_env.seed ? nvmx_env.seed : FUZZ_DEFAULT_SEED;
	int i;

	cur_slot = block % NR_PROFILES;
	cur_profile = fuzz_counts.prof_skip[cur_slot] ? P_PLAIN : cur_slot;
	restore_vmcs();
	nvmx_fuzz.rng = seed ^ (block + 1ull) * 0x9e3779b97f4a7c15ull;
	if (!nvmx_fuzz.rng)
		nvmx_fuzz.rng = 1;
	for (i = 0; i < 4; i++)
		fuzz_rnd();
	phase_end(PH_RESTORE_VMCS);
}

/* -v names @iter */
static bool verbose(u32 iter)
{
	u32 i;

	for (i = 0; i < nvmx_env.nr_verbose; i++)
		if (iter >= nvmx_env.verbose_first[i] &&
		    iter <= nvmx_env.verbose_last[i])
			return true;
	return false;
}

/*
 * After L2's VMCALL (exit 18) with a mutated RFLAGS.TF 1 and no mutated
 * interruptibility: SDM 27.3.4 saves the pending debug exceptions clear
 * (no MOV-SS blocking).  A nonzero value is counted (the summary's
 * "pending debug exceptions" line), not failed: it is the emulated CPU's
 * as much as the module's, which copies vmcs02's.
 */
static void check_tf_vmcall(const struct fuzz_iter *c)
{
	bool tf = false;
	u32 i;

	if (c->outcome != OC(OC_EXIT, REASON_VMCALL))
		return;
	for (i = 0; i < c->nr; i++) {
		u32 enc = nvmx_fields[c->row[i]].encoding;

		if (enc == GUEST_INTERRUPTIBILITY_INFO)
			return;
		if (enc == GUEST_RFLAGS && (c->val[i] & RFLAGS_TF))
			tf = true;
	}
	if (!tf)
		return;
	fuzz_counts.tf_vmcall++;
	if (vmreadz(GUEST_PENDING_DBG_EXCEPTIONS)) {
		if (!fuzz_counts.tf_vmcall_dbg++)
			fuzz_counts.tf_vmcall_dbg_first = c->iter;
	}
}

/*
 * The HLT profile's L2 stays halted until the VMX-preemption timer's exit
 * (25.5.1) unless a mutated row makes the entry leave it active or
 * deliver something first (24.4.2, 26.6.2: the activity state, an event
 * to inject, pending debug exceptions, the interruptibility, the controls
 * that add exits or change the entry): otherwise it cannot reach its
 * VMCALL.  True when L2's VMCALL (exit 18) is an outcome L2 cannot have.
 */
static bool hlt_left_unwoken(const struct fuzz_iter *c)
{
	u32 i;

	if (cur_profile != P_HLT || c->outcome != OC(OC_EXIT, REASON_VMCALL))
		return false;
	for (i = 0; i < c->nr; i++) {
		switch (nvmx_fields[c->row[i]].encoding) {
		case GUEST_ACTIVITY_STATE:
		case VM_ENTRY_INTR_INFO_FIELD:
		case GUEST_PENDING_DBG_EXCEPTIONS:
		case GUEST_INTERRUPTIBILITY_INFO:
		case PIN_BASED_VM_EXEC_CONTROL:
		case CPU_BASED_VM_EXEC_CONTROL:
		case SECONDARY_VM_EXEC_CONTROL:
		case VM_ENTRY_CONTROLS:
			return false;
		}
	}
	return true;
}

static void fuzz_one(u32 iter)
{
	struct fuzz_iter *c = &fuzz_cur;
	bool must_fail = false, controls = false, unwoken;
	u32 i, j;

	tsc_mark = rdtsc_l1();
	if (iter % FUZZ_CLEAN_EVERY == 0)
		use_profile(iter / FUZZ_CLEAN_EVERY);
	c->iter = iter;
	c->profile = cur_profile;
	c->nr = 1 + fuzz_below(FUZZ_MAX_MUT);
	c->launch = !vmcs_launched;
	c->allowed = 0;
	for (i = 0; i < c->nr; i++) {
		do {
			c->row[i] = nvmx_fuzz.rows[fuzz_below(nvmx_fuzz.nr_rows)];
			for (j = 0; j < i && c->row[j] != c->row[i]; j++)
				;
		} while (j < i || row_kept(c->row[i]));
		c->val[i] = keep_bound(c->row[i],
				       fuzz_mutate(c->row[i],
						   pristine_row(c->row[i])));
		c->allowed |= allowed_for(c->row[i]);
		must_fail |= known_vmfail(c->row[i], c->val[i]);
		controls |= decides_page_checks(c->row[i]);
	}
	if (must_fail && !controls) {
		c->allowed |= MUST_FAIL;
		fuzz_counts.must_fail++;
	}
	if (c->launch)
		fuzz_counts.launches++;
	else
		fuzz_counts.resumes++;
	for (i = 0; i < c->nr; i++) {
		const struct nvmx_field *f = &nvmx_fields[c->row[i]];

		GUEST_ASSERT_2(!vmwrite(f->encoding, c->val[i]), f->encoding,
			       c->val[i]);
	}
	phase_end(PH_MUTATE);
	c->outcome = run_l2(c->launch, &c->qual);
	phase_end(PH_ENTRY);

	count(c->outcome);
	check_tf_vmcall(c);
	digest(iter, c->outcome, c->qual);
	fuzz_block_oc[iter % FUZZ_BLOCK] = OC_KIND(c->outcome) << 11 |
					   (c->qual & 7) << 8 |
					   (c->outcome & 0xff);
	unwoken = hlt_left_unwoken(c);
	if (unwoken && stock_hlt_wake_counted()) {
		if (verbose(iter))
			ucall(UCALL_SYNC, 2, MSG_ITER, iter);
	} else if (!outcome_allowed(c->outcome, c->qual, c->allowed) ||
		   unwoken) {
		fuzz_counts.bad++;
		ucall(UCALL_SYNC, 2, MSG_BAD, iter);
	} else if (verbose(iter)) {
		ucall(UCALL_SYNC, 2, MSG_ITER, iter);
	}
	phase_end(PH_CLASSIFY);
	restore(c);
	if ((iter + 1) % FUZZ_CLEAN_EVERY == 0) {
		clean_entry();
		phase_end(PH_CLEAN);
	}
	if ((iter + 1) % FUZZ_BLOCK == 0 || iter + 1 == nvmx_env.iters)
		send_digests(iter);
}

static void wr(u64 encoding, u64 value)
{
	GUEST_ASSERT_2(!vmwrite(encoding, value), encoding, value);
}

/* Sets @bits of control @encoding if IA32_VMX_*_CTLS @msr allows them (A.3) */
static bool ctl_set(u64 encoding, u32 msr, u32 bits)
{
	if ((rdmsr(msr) >> 32 & bits) != bits)
		return false;
	wr(encoding, vmreadz(encoding) | bits);
	return true;
}

#define PIN(bits)	ctl_set(PIN_BASED_VM_EXEC_CONTROL,		\
				MSR_IA32_VMX_TRUE_PINBASED_CTLS, bits)
#define PROC(bits)	ctl_set(CPU_BASED_VM_EXEC_CONTROL,		\
				MSR_IA32_VMX_TRUE_PROCBASED_CTLS, bits)
#define SEC(bits)	ctl_set(SECONDARY_VM_EXEC_CONTROL,		\
				MSR_IA32_VMX_PROCBASED_CTLS2, bits)
#define EXIT(bits)	ctl_set(VM_EXIT_CONTROLS, MSR_IA32_VMX_EXIT_CTLS, bits)

/* Virtual-interrupt delivery, which needs external-interrupt exiting */
static bool vid_on(void)
{
	if (!PIN(PIN_BASED_EXT_INTR_MASK) ||
	    !SEC(SECONDARY_EXEC_VIRTUAL_INTR_DELIVERY))
		return false;
	wr(GUEST_INTR_STATUS, 0);
	wr(EOI_EXIT_BITMAP0, 0);
	wr(EOI_EXIT_BITMAP1, 0);
	wr(EOI_EXIT_BITMAP2, 0);
	wr(EOI_EXIT_BITMAP3, 0);
	return true;
}

/* "use TPR shadow" with the virtual-APIC page and a threshold of 0 */
static bool tpr_shadow_on(void)
{
	if (!PROC(CPU_BASED_TPR_SHADOW))
		return false;
	wr(VIRTUAL_APIC_PAGE_ADDR, nvmx_env.apic_gpa + APIC_VAPIC);
	wr(TPR_THRESHOLD, 0);
	return true;
}

/* The VMX-preemption timer at @value, saved at exit if @save */
static bool timer_on(u32 value, bool save)
{
	if (!PIN(PIN_BASED_VMX_PREEMPTION_TIMER) ||
	    (save && !EXIT(VM_EXIT_SAVE_VMX_PREEMPTION_TIMER)))
		return false;
	wr(VMX_PREEMPTION_TIMER_VALUE, value);
	return true;
}

/*
 * Profile @p over the plain vmcs12 (current, clear): SKIP_NONE, or why
 * L1 cannot have it.  Optional parts go to prof_opt.
 */
static u32 setup_profile(u32 p)
{
	u64 misc = rdmsr(MSR_IA32_VMX_MISC);
	u32 *opt = &fuzz_counts.prof_opt[p];

	switch (p) {
	case P_EPT:
		if (!nvmx_env.eptp_gpa || !SEC(SECONDARY_EXEC_ENABLE_EPT))
			return SKIP_EPT;
		wr(EPT_POINTER, nvmx_env.eptp_gpa | 6 | 3 << 3);  /* WB, 4 */
		if (SEC(SECONDARY_EXEC_ENABLE_VPID)) {
			wr(VIRTUAL_PROCESSOR_ID, 1);
			*opt |= OPT_VPID;
		}
		return SKIP_NONE;
	case P_APICV:
		if (!tpr_shadow_on() ||
		    !SEC(SECONDARY_EXEC_VIRTUALIZE_APIC_ACCESSES))
			return SKIP_TPR;
		wr(APIC_ACCESS_ADDR, nvmx_env.apic_gpa + APIC_ACCESS);
		if (SEC(SECONDARY_EXEC_APIC_REGISTER_VIRT))
			*opt |= OPT_REGVIRT;
		if (vid_on())
			*opt |= OPT_VID;
		return SKIP_NONE;
	case P_POSTED:
		/* 26.2.1.1: VID, "acknowledge interrupt on exit" */
		if (!tpr_shadow_on() ||
		    !SEC(SECONDARY_EXEC_VIRTUALIZE_X2APIC_MODE |
			 SECONDARY_EXEC_APIC_REGISTER_VIRT) ||
		    !vid_on() || !EXIT(VM_EXIT_ACK_INTR_ON_EXIT) ||
		    !PIN(PIN_BASED_POSTED_INTR))
			return SKIP_PI;
		wr(POSTED_INTR_NV, PI_VECTOR);
		wr(POSTED_INTR_DESC_ADDR, nvmx_env.apic_gpa + APIC_PI_DESC);
		return SKIP_NONE;
	case P_TIMER:
		return timer_on(TIMER_LARGE, true) ? SKIP_NONE : SKIP_TIMER;
	case P_HLT:
		if (!(misc & MISC_HLT) || !timer_on(TIMER_BOUND, false))
			return SKIP_HLT;
		wr(GUEST_ACTIVITY_STATE, ACTIVITY_HLT);
		return SKIP_NONE;
	case P_SHUTDOWN:
		/* 26.3.1.5: only an NMI or #MC injected into shutdown */
		if (!(misc & MISC_SHUTDOWN) || !timer_on(TIMER_BOUND, false))
			return SKIP_SHUTDOWN;
		wr(GUEST_ACTIVITY_STATE, ACTIVITY_SHUTDOWN);
		wr(VM_ENTRY_INTR_INFO_FIELD, INTR_INFO_MC);
		return SKIP_NONE;
	default:
		return SKIP_NONE;
	}
}

/*
 * The pristine vmcs12 of every profile L1 is offered, each set up over
 * the plain one and checked to enter cleanly.
 */
static void make_profiles(void)
{
	u32 p;

	for (p = P_PLAIN + 1; p < NR_PROFILES; p++) {
		cur_profile = P_PLAIN;
		restore_vmcs();
		fuzz_counts.prof_skip[p] = setup_profile(p);
		if (fuzz_counts.prof_skip[p])
			continue;
		GUEST_ASSERT(!vmclear(vmcs_gpa));
		memcpy(pristine(p), (void *)vmcs_gva, VMCS12_SIZE);
		GUEST_ASSERT(!vmptrld(vmcs_gpa));
		vmcs_launched = false;
		cur_profile = p;
		clean_entry();
	}
	cur_profile = P_PLAIN;
	restore_vmcs();
}

void l1_guest_code(struct vmx_pages *vmx)
{
	const struct nvmx_field *f;
	u32 i;
	u32 eax = 0x80000008, ebx, ecx = 0, edx;

	asm volatile("cpuid" : "+a"(eax), "=b"(ebx), "+c"(ecx), "=d"(edx));
	nvmx_fuzz.maxphyaddr = eax & 0xff;	/* CPUID.80000008H:EAX[7:0] */
	nvmx_fuzz.rng = nvmx_env.seed ? nvmx_env.seed : FUZZ_DEFAULT_SEED;
	nvmx_fuzz.mem_end_gpa = nvmx_env.mem_end_gpa;
	nvmx_fuzz.zero_gpa = nvmx_env.zero_gpa;
	nvmx_fuzz.list_gpa = nvmx_env.list_gpa;
	nvmx_fuzz.edge_gpa = nvmx_env.edge_gpa;
	nvmx_fuzz.root_in_memory = !nvmx_env.is_nvmx;
	nvmx_fuzz_init();
	for (i = 0; i < NR_PROFILES; i++)
		fuzz_digest[i] = 0xcbf29ce484222325ull;
	vmcs_gpa = vmx->vmcs_gpa;
	vmcs_gva = (u64)vmx->vmcs;
	fuzz_counts.mutated_rows = nvmx_fuzz.nr_rows;

	GUEST_ASSERT(prepare_for_vmx_operation(vmx));
	GUEST_ASSERT(load_vmcs(vmx));
	vmx->eptp_gpa = 0;	/* the plain profile has no EPT (P_EPT has) */
	prepare_vmcs(vmx, NULL, &l2_stack[ARRAY_SIZE(l2_stack)]);
	l2_setup(ASM_LABEL(l2_vmcall));
	/*
	 * An IDT of not-present gates: an event delivered in L2 ends in a
	 * triple fault (an exit to L1), never in L1's memory as a stack or
	 * a handler.  The MSR lists point at valid entries, count 0.
	 */
	vmwrite(GUEST_IDTR_BASE, nvmx_env.zero_gva);
	vmwrite(GUEST_IDTR_LIMIT, 0xfff);
	vmwrite(VM_ENTRY_MSR_LOAD_ADDR, nvmx_env.list_gpa);
	vmwrite(VM_EXIT_MSR_LOAD_ADDR, nvmx_env.list_gpa);
	vmwrite(VM_EXIT_MSR_STORE_ADDR, nvmx_env.list_gpa + 0x800);
	/* fuzz_l2_run's exit path (see there) */
	vmwrite(HOST_RIP, ASM_LABEL(fuzz_l2_exit));
	vmwrite(HOST_RSP, (u64)&fuzz_exit_stack[ARRAY_SIZE(fuzz_exit_stack)]);
	pristine_intr_state = vmreadz(GUEST_INTERRUPTIBILITY_INFO);
	clean_entry();

	/* The pristine vmcs12: the region as VMCLEAR leaves it */
	GUEST_ASSERT(!vmclear(vmcs_gpa));
	memcpy((void *)nvmx_env.pristine_gva, (void *)vmcs_gva, VMCS12_SIZE);
	GUEST_ASSERT(!vmptrld(vmcs_gpa));
	vmcs_launched = false;
	/* ... which must be struct vmcs12, as the mutators read it */
	for (i = 0; i < nvmx_fuzz.nr_rows; i++) {
		uint64_t v = 0;

		f = &nvmx_fields[nvmx_fuzz.rows[i]];
		GUEST_ASSERT_2(!vmread(f->encoding, &v), f->encoding, 0);
		GUEST_ASSERT_2(v == nvmx_vmcs12_read((void *)nvmx_env.pristine_gva, f),
			       f->encoding, v);
	}
	clean_entry();
	make_profiles();
	fuzz_counts.full_restores = 0;
	fuzz_counts.clean_checks = 0;

	for (i = 0; i < nvmx_env.iters; i++) {
		fuzz_one(i);
		fuzz_counts.iters++;
	}
	clean_entry();
	ucall(UCALL_SYNC, 1, MSG_SUMMARY);
	GUEST_DONE();
}

/* ---------------------------------------------------------------------- */
/* Host                                                                     */

static struct kvm_vm *host_vm;
static struct kvm_vcpu *host_vcpu;

static const char * const profile_name[NR_PROFILES] = {
	"plain", "ept", "apicv", "posted", "timer", "hlt", "shutdown",
};

static const char * const skip_str[] = {
	[SKIP_EPT] = "EPT (4 levels, WB) not offered to L1",
	[SKIP_TPR] = "TPR shadow or \"virtualize APIC accesses\" not offered",
	[SKIP_PI] = "posted interrupts (VID, x2APIC virtualization, ack on exit) not offered",
	[SKIP_TIMER] = "VMX-preemption timer or its save not offered",
	[SKIP_HLT] = "activity state HLT (IA32_VMX_MISC[6]) or the timer not offered",
	[SKIP_SHUTDOWN] = "activity state shutdown (IA32_VMX_MISC[7]) or the timer not offered",
};

static const char *outcome_str(u32 oc, u64 qual, char *buf, size_t n)
{
	switch (OC_KIND(oc)) {
	case OC_EXIT:
		snprintf(buf, n, "entry, exit %u", OC_NR(oc));
		break;
	case OC_FAIL_VALID:
		snprintf(buf, n, "VMfailValid %u", OC_NR(oc));
		break;
	case OC_FAIL_INVALID:
		snprintf(buf, n, "VMfailInvalid");
		break;
	case OC_ENTRY_FAIL:
		snprintf(buf, n, "entry failure, exit 0x8000%04x qual %lu",
			 OC_NR(oc), qual);
		break;
	default:
		snprintf(buf, n, "VMfail with RFLAGS 0x%x", OC_NR(oc));
		break;
	}
	return buf;
}

static const char *allowed_str(u32 a, char *buf, size_t n)
{
	snprintf(buf, n, "%s%s%s%s%s", a & MUST_FAIL ? "no entry" : "entry",
		 a & ALLOW_FAIL7 ? ", VMfailValid 7" : "",
		 a & ALLOW_FAIL8 ? ", VMfailValid 8" : "",
		 a & ALLOW_EXIT33 ? (a & ALLOW_EXIT33_Q4 ? ", exit 33 (qual 0/2/4)" :
				     ", exit 33 (qual 0/2)") : "",
		 a & ALLOW_EXIT34 ? ", exit 34" : "");
	return buf;
}

static void print_iter(const char *tag)
{
	struct fuzz_iter *c = &fuzz_cur;
	char muts[512] = "", oc[96], al[128];
	size_t len = 0;
	u32 i;

	sync_global_from_guest(host_vm, fuzz_cur);
	for (i = 0; i < c->nr && i < FUZZ_MAX_MUT; i++)
		len += snprintf(muts + len, sizeof(muts) - len, " %s=0x%lx",
				nvmx_fields[c->row[i]].name, c->val[i]);
	ksft_print_msg("%s seed 0x%lx it %u %s %s:%s -> %s; allowed: %s\n", tag,
		       nvmx_env.seed, c->iter, profile_name[c->profile % NR_PROFILES],
		       c->launch ? "VMLAUNCH" : "VMRESUME",
		       muts, outcome_str(c->outcome, c->qual, oc, sizeof(oc)),
		       allowed_str(c->allowed, al, sizeof(al)));
}

/* -o: "fuzz-oc BLOCK" and the @n outcome codes of block @block */
static void print_outcomes(u64 block, u64 n)
{
	static char line[4 * FUZZ_BLOCK + 1];
	u64 i;

	sync_global_from_guest(host_vm, fuzz_block_oc);
	for (i = 0; i < n && i < FUZZ_BLOCK; i++)
		snprintf(line + 4 * i, 5, "%04x", fuzz_block_oc[i]);
	line[4 * i] = 0;
	ksft_print_msg("fuzz-oc %lu %s\n", block, line);
}

static void pct(const char *what, u64 n, u64 total)
{
	if (n)
		ksft_print_msg("  %-28s %8lu  %5.1f%%\n", what, n,
			       total ? 100.0 * n / total : 0.0);
}

#define PROFILE_FMT \
	"  %-8s %6lu: clean %lu, other exit %lu, VMfailValid 7 %lu, 8 %lu, exit 33 %lu, 34 %lu, other %lu%s%s%s\n"

static void print_summary(void)
{
	struct fuzz_counts *k = &fuzz_counts;
	char what[64];
	u64 t, sum;
	u32 i;

	sync_global_from_guest(host_vm, fuzz_counts);
	t = k->iters;
	ksft_print_msg("fuzz-summary seed 0x%lx: %lu iterations (%lu VMLAUNCH, %lu VMRESUME)\n",
		       nvmx_env.seed, t, k->launches, k->resumes);
	ksft_print_msg("  rows fuzzed %lu, clean entries checked %lu\n",
		       k->mutated_rows, k->clean_checks);
	pct("entry, VMCALL exit", k->vmcall, t);
	for (i = 0; i < ARRAY_SIZE(k->exit_reason); i++) {
		if (i == REASON_VMCALL)
			continue;
		snprintf(what, sizeof(what), "entry, exit %u", i);
		pct(what, k->exit_reason[i], t);
	}
	for (i = 0; i < ARRAY_SIZE(k->fail_valid); i++) {
		snprintf(what, sizeof(what), "VMfailValid %u", i);
		pct(what, k->fail_valid[i], t);
	}
	pct("VMfailInvalid", k->fail_invalid, t);
	pct("entry failure, exit 33", k->entry_fail33, t);
	pct("entry failure, exit 34", k->entry_fail34, t);
	pct("entry failure, other", k->entry_fail_other, t);
	pct("VMfail, no CF/ZF", k->weird, t);
	ksft_print_msg("fuzz-cost: VMCS back by VMCLEAR+copy+VMPTRLD %lu, %s %lu; %s %.2f\n",
		       k->full_restores, "by its rows", k->row_restores,
		       "L0 exits per iteration", k->row_restores,
		       t ? (double)nvmx_vcpu_stat(host_vcpu, "exits") / t : 0.0);
	for (i = 0, sum = 0; i < NR_PHASES; i++)
		sum += k->tsc[i];
	ksft_print_msg("fuzz-cost: L1 TSC cycles per iteration %lu:", t ? sum / t : 0);
	for (i = 0; i < NR_PHASES; i++)
		printf(" %s %lu%s", phase_name[i], t ? k->tsc[i] / t : 0,
		       i + 1 < NR_PHASES ? "," : "\n");
	ksft_print_msg("fuzz-profiles: %s\n",
		       "clean = entry ending in the profile's clean exit");
	for (i = 0; i < NR_PROFILES; i++) {
		const u64 *o = k->prof[i];

		if (k->prof_skip[i]) {
			ksft_print_msg("  %-8s skipped: %s\n", profile_name[i],
				       skip_str[k->prof_skip[i]]);
			continue;
		}
		ksft_print_msg(PROFILE_FMT,
			       profile_name[i], o[PO_CLEAN] + o[PO_EXIT] +
			       o[PO_FAIL7] + o[PO_FAIL8] + o[PO_EXIT33] +
			       o[PO_EXIT34] + o[PO_OTHER], o[PO_CLEAN],
			       o[PO_EXIT], o[PO_FAIL7], o[PO_FAIL8],
			       o[PO_EXIT33], o[PO_EXIT34], o[PO_OTHER],
			       k->prof_opt[i] & OPT_VPID ? " (VPID)" : "",
			       k->prof_opt[i] & OPT_REGVIRT ?
			       " (APIC-register virtualization)" : "",
			       k->prof_opt[i] & OPT_VID ?
			       " (virtual-interrupt delivery)" : "");
	}
	ksft_print_msg("  iterations with a known 26.2.1.1 failure (no entry allowed) %lu\n",
		       k->must_fail);
	ksft_print_msg("pending debug exceptions saved after %lu %s: %lu%s\n",
		       k->tf_vmcall, "VMCALL exits with TF 1 (27.3.4: clear)",
		       k->tf_vmcall_dbg,
		       k->tf_vmcall_dbg ? " (first below)" : "");
	if (k->tf_vmcall_dbg)
		ksft_print_msg("  first at iteration %lu\n",
			       k->tf_vmcall_dbg_first);
	if (k->stock_hlt_woke)
		ksft_print_msg("stock deviation: %lu HLT entries ran %s\n",
			       k->stock_hlt_woke,
			       "L2's VMCALL, nothing seen to wake it (SDM 25.5.1)");
	ksft_print_msg("fuzz-disallowed %lu\n", k->bad);
}

static struct timespec host_t0;

static void host_message(struct ucall *uc)
{
	struct timespec now;
	char what[64];

	switch (uc->args[0]) {
	case MSG_BAD:
		print_iter("DISALLOWED");
		break;
	case MSG_ITER:
		print_iter("iter");
		break;
	case MSG_DIGEST:
		clock_gettime(CLOCK_MONOTONIC, &now);
		ksft_print_msg("fuzz-digest block %lu/%s%s 0x%016lx t=%.2f\n",
			       uc->args[1], profile_name[uc->args[2] & 0xff],
			       uc->args[2] & 0x100 ? "-as-plain" : "",
			       uc->args[3],
			       now.tv_sec - host_t0.tv_sec +
			       (now.tv_nsec - host_t0.tv_nsec) / 1e9);
		break;
	case MSG_SUMMARY:
		print_summary();
		break;
	case MSG_OUTCOMES:
		print_outcomes(uc->args[1], uc->args[2]);
		break;
	case MSG_CLEAN_FAILED:
		ksft_print_msg("clean entry of profile %s: %s\n",
			       profile_name[uc->args[1] % NR_PROFILES],
			       outcome_str(uc->args[2], uc->args[3], what,
					   sizeof(what)));
		break;
	default:
		TEST_FAIL("unknown message 0x%lx from L1", uc->args[0]);
	}
}

static void fuzz_usage(const char *name)
{
	printf("usage: %s [-s SEED] [-i ITERATIONS] [-v FIRST[:LAST],...] [-o]\n",
	       name);
	exit(KSFT_FAIL);
}

/* -v FIRST[:LAST],...: at most FUZZ_MAX_RANGES ranges */
static void parse_ranges(char *arg)
{
	char *tok, *end;
	u32 *first, *last;

	for (tok = strtok(arg, ","); tok; tok = strtok(NULL, ",")) {
		TEST_ASSERT(nvmx_env.nr_verbose < FUZZ_MAX_RANGES,
			    "-v: more than %d ranges", FUZZ_MAX_RANGES);
		first = &nvmx_env.verbose_first[nvmx_env.nr_verbose];
		last = &nvmx_env.verbose_last[nvmx_env.nr_verbose];
		*first = strtoul(tok, &end, 0);
		TEST_ASSERT(end != tok && (!*end || *end == ':'),
			    "-v: \"%s\" is no FIRST[:LAST]", tok);
		*last = *first;
		if (*end == ':') {
			tok = end + 1;
			*last = strtoul(tok, &end, 0);
			TEST_ASSERT(end != tok && !*end,
				    "-v: no LAST after \"%u:\"", *first);
		}
		TEST_ASSERT(*first <= *last, "-v: FIRST above LAST");
		nvmx_env.nr_verbose++;
	}
}

int main(int argc, char *argv[])
{
	struct userspace_mem_region *region;
	struct vmx_pages *vmx;
	struct kvm_vcpu *vcpu;
	struct vmx_list_entry {
		u32 index, reserved;
		u64 value;
	} *list;
	vm_vaddr_t gva;
	int opt;

	nvmx_env.seed = FUZZ_DEFAULT_SEED;
	nvmx_env.iters = FUZZ_DEFAULT_ITERS;
	while ((opt = getopt(argc, argv, "s:i:v:o")) != -1) {
		switch (opt) {
		case 's':
			nvmx_env.seed = strtoull(optarg, NULL, 0);
			break;
		case 'i':
			nvmx_env.iters = strtoul(optarg, NULL, 0);
			break;
		case 'v':
			parse_ranges(optarg);
			break;
		case 'o':
			nvmx_env.outcomes = true;
			break;
		default:
			fuzz_usage(argv[0]);
		}
	}

	TEST_REQUIRE(kvm_cpu_has(X86_FEATURE_VMX));
	ksft_print_header();
	ksft_set_plan(1);
	ksft_print_msg("fuzz seed 0x%lx iterations %u (-s SEED -i ITERATIONS to repeat)\n",
		       nvmx_env.seed, nvmx_env.iters);

	host_vm = nvmx_host_create_vm(&vcpu, &vmx);
	host_vcpu = vcpu;
	nvmx_env.is_nvmx = nvmx_host_module_is_nvmx();
	if (!nvmx_env.is_nvmx)
		ksft_print_msg("stock: %s\n",
			       "no EPTP with its PML4 table outside L1's memory (stock 6.1 WARNs, nested.c:4792, and KVM_RUN fails with EIO)");
	region = memslot2region(host_vm, 0);
	nvmx_env.mem_end_gpa = region->region.guest_phys_addr +
			       region->region.memory_size;
	/* The last page of memslot 0, zeros (K_APIC_ADDR's edge) */
	nvmx_env.edge_gpa = vm_phy_pages_alloc(host_vm, 1,
					       nvmx_env.mem_end_gpa - 4096, 0);
	TEST_ASSERT(nvmx_env.edge_gpa == nvmx_env.mem_end_gpa - 4096,
		    "the last page of memslot 0 is taken");
	memset(addr_gpa2hva(host_vm, nvmx_env.edge_gpa), 0, 4096);

	gva = vm_vaddr_alloc(host_vm, NR_PROFILES * VMCS12_SIZE,
			     KVM_UTIL_MIN_VADDR);
	nvmx_env.pristine_gva = gva;
	/* The virtual-APIC page, APIC-access page and PI descriptor */
	gva = vm_vaddr_alloc(host_vm, 3 * 4096, KVM_UTIL_MIN_VADDR);
	memset(addr_gva2hva(host_vm, gva), 0, 3 * 4096);
	nvmx_env.apic_gpa = addr_gva2gpa(host_vm, gva);
	gva = vm_vaddr_alloc_page(host_vm);
	memset(addr_gva2hva(host_vm, gva), 0, 4096);
	nvmx_env.zero_gva = gva;
	nvmx_env.zero_gpa = addr_gva2gpa(host_vm, gva);
	/* Entries 26.4 accepts, one it refuses (FS base), then zeros */
	gva = vm_vaddr_alloc_page(host_vm);
	list = addr_gva2hva(host_vm, gva);
	memset(list, 0, 4096);
	list[0] = (struct vmx_list_entry){ 0xc0000102, 0, 0x1000 };	/* KERNEL_GS_BASE */
	list[1] = (struct vmx_list_entry){ 0xc0000103, 0, 0 };	/* TSC_AUX */
	list[2] = (struct vmx_list_entry){ 0xc0000100, 0, 0 };	/* FS_BASE: 26.4 */
	list[3] = (struct vmx_list_entry){ 0x174, 0, 0x10 };	/* SYSENTER_CS */
	nvmx_env.list_gva = gva;
	nvmx_env.list_gpa = addr_gva2gpa(host_vm, gva);
	/* P_EPT's: an identity EPT of memslot 0's pages (L2's and L1's) */
	if (kvm_vm_has_ept(host_vm)) {
		prepare_eptp(vmx, host_vm, 0);
		nested_map_memslot(vmx, host_vm, 0);
		nvmx_env.eptp_gpa = vmx->eptp_gpa;
	}

	sync_global_to_guest(host_vm, nvmx_env);
	clock_gettime(CLOCK_MONOTONIC, &host_t0);
	nvmx_host_run_vm(host_vm, vcpu, host_message);

	if (fuzz_counts.bad)
		ksft_test_result_fail("%lu of %lu outcomes not allowed by the SDM\n",
				      fuzz_counts.bad, fuzz_counts.iters);
	else if (fuzz_counts.iters != nvmx_env.iters)
		ksft_test_result_fail("L1 ran %lu of %u iterations\n",
				      fuzz_counts.iters, nvmx_env.iters);
	else if (fuzz_counts.stock_hlt_woke)
		ksft_test_result_xfail("%u iterations, every outcome allowed; %s %lu times\n",
				       nvmx_env.iters, "stock 6.1 woke a halted L2",
				       fuzz_counts.stock_hlt_woke);
	else
		ksft_test_result_pass("%u iterations, every outcome allowed\n",
				      nvmx_env.iters);
	ksft_finished();
	return 0;
}
