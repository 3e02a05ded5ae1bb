// SPDX-License-Identifier: GPL-2.0-only
/*
 * nvmx_ept_test: EPT for L2, built and changed by L1 (SDM Vol. 3C 28.2, 28.3).
 *
 * The host gives L1 a 4-level write-back EPT that maps all of L1's memory
 * at the same addresses, and one page more: L2 reaches it at the linear
 * address T, which L1's page tables (shared with L2) map to the L2-physical
 * address TG, which the EPT maps to page A (or B) of L1's memory.  TG has an
 * EPT PDPTE, PDE and PTE of its own, and T has a guest PT of its own, so a
 * case may change any of them.  Page A holds a RET at offset 0 and a known
 * value at 10H; L2 reads T + 10H, writes T + 18H or calls T.
 *
 * Each case changes the EPT, invalidates with INVEPT single-context
 * (28.3.3.4) and runs L2, checking what the SDM prescribes:
 *
 *   EPT violations (28.2.3.2) for read, write and instruction fetch against
 *   every permission of the leaf, on a not-present middle level, against
 *   the permissions of a middle level (the exit qualification reports the
 *   AND over the walk) and on the guest paging-structure walk, with the
 *   exit qualification of Table 27-7 exact (bits 11:9 only if advanced
 *   information is offered), the guest-physical and guest-linear
 *   addresses (27.2.1) and the RIP of the access; then L1 fixes the EPT and
 *   L2 completes the access;
 *   EPT misconfigurations (28.2.3.1): exit 49 with the guest-physical
 *   address;
 *   accessed and dirty flags (28.2.4) with EPTP bit 6: A on every entry of a
 *   walk, D on the leaf of a write, and accesses to guest paging structures
 *   counting as writes (D on their leaves, bits 0 and 1 in the exit
 *   qualification of a violation);
 *   the EPTP checks of VM entry (26.2.1.1): VMfailValid(7), after which L1
 *   and the VMCS are as they were (a good EPTP then launches);
 *   INVEPT (30.3): both types succeed, other types and a bad EPTP for
 *   single-context VMfailValid(28), #GP(0) at CPL 1, #GP and #PF for the
 *   memory operand, #UD when not offered;
 *   a remapped leaf (28.3.3): after INVEPT L2 uses the new page; without it
 *   either page (the SDM allows a stale translation); a permission raised
 *   without INVEPT may still cause the violation, which itself invalidates
 *   (28.3.3.1), so the access then completes.
 *
 * Cases whose checks need less than what L1 is offered run in VMs of their
 * own whose capability MSRs the host restricts (INVEPT #UD, EPTP bit 6
 * without A/D).  A capability issue 9 requires that L1 lacks fails the
 * case.  Section numbers are those of nvmx_selftest.h (VMX chapters 24-27;
 * the accessed and dirty flags are 28.2.4 there, later editions number
 * them 29.3.5).
 */
#define _GNU_SOURCE
#include <string.h>

#include "test_util.h"
#include "kvm_util.h"
#include "processor.h"
#include "vmx.h"

#define T_GVA			0x40000000ul	/* T: its own guest PT */
#define TG			0x80000000ul	/* its own EPT PDPTE, PDE, PTE */
#define OFF_READ		0x10
#define OFF_WRITE		0x18
#define VAL_A			0x4141414141414141ull
#define VAL_B			0x4242424242424242ull
#define VAL_W			0x5757575757575700ull
#define RET_OPCODE		0xc3

/* Exit qualification of an EPT violation (Table 27-7). */
#define Q_READ			BIT_ULL(0)
#define Q_WRITE			BIT_ULL(1)
#define Q_FETCH			BIT_ULL(2)
#define Q_PERMS(p)		((u64)(p) << 3)
#define Q_GLA_VALID		BIT_ULL(7)
#define Q_TRANSLATED		BIT_ULL(8)
#define Q_ADV			GENMASK_ULL(11, 9)

/* Registers of the L2 bodies (SDM Table 27-3). */
#define GPR_RDX			2	/* T */
#define GPR_RSI			6	/* the value to write */
#define GPR_R8			8	/* reads */
#define GPR_R9			9
#define GPR_R10			10

/* Case groups: each runs in a VM of its own (see cuts[]). */
enum { G_FULL, G_NO_EPT_CTL, G_NO_INVEPT, G_NO_AD, G_NR };

/* Set by the host before L1 runs (and nvmx_group, nvmx_ept.h). */
struct nvmx_env {
	bool strict;		/* the header's: no known stock deviation here */
	u64 root;		/* guest-physical address of the EPT PML4 */
	u64 ept_e[4];		/* TG's EPT PTE, PDE, PDPTE, PML4E (L1 GVAs) */
	u64 ept_e_init[4];	/* ... and their values */
	u64 gpt_leaf[4];	/* EPT PTEs of T's guest PT, PD, PDPT, PML4 */
	u64 gpt_leaf_init[4];
	u64 gpt_pte_gpa;	/* guest-physical address of T's guest PTE */
	u64 a, b;		/* L1's linear addresses of pages A and B */
	u64 a_gpa, b_gpa;
	u64 adv;		/* exit-qualification bits 11:9 for T */
};

struct nvmx_env nvmx_env;

#include "nvmx_selftest.h"
#include "nvmx_ept.h"

/*
 * L2 bodies: the access at the label of the body, a VMCALL at <body>_end.
 * l2_read3 reads T three times with a VMCALL after each; l2_rw reads,
 * exits, writes, exits.
 */
asm(".pushsection .text\n"
	"l2_read:\n\t"
	"mov " NVMX_XSTR(OFF_READ) "(%rdx), %r8\n"
	"l2_read_end:\n\t"
	"vmcall\n\t"
	"ud2\n"
	"l2_write:\n\t"
	"mov %rsi, " NVMX_XSTR(OFF_WRITE) "(%rdx)\n"
	"l2_write_end:\n\t"
	"vmcall\n\t"
	"ud2\n"
	"l2_fetch:\n\t"
	"call *%rdx\n"
	"l2_fetch_end:\n\t"
	"vmcall\n\t"
	"ud2\n"
	"l2_read3:\n\t"
	"mov " NVMX_XSTR(OFF_READ) "(%rdx), %r8\n"
	"l2_read3_1:\n\t"
	"vmcall\n\t"
	"mov " NVMX_XSTR(OFF_READ) "(%rdx), %r9\n"
	"l2_read3_2:\n\t"
	"vmcall\n\t"
	"mov " NVMX_XSTR(OFF_READ) "(%rdx), %r10\n"
	"l2_read3_3:\n\t"
	"vmcall\n\t"
	"ud2\n"
	"l2_rw:\n\t"
	"mov " NVMX_XSTR(OFF_READ) "(%rdx), %r8\n"
	"l2_rw_1:\n\t"
	"vmcall\n"
	"l2_rw_write:\n\t"
	"mov %rsi, " NVMX_XSTR(OFF_WRITE) "(%rdx)\n"
	"l2_rw_2:\n\t"
	"vmcall\n\t"
	"ud2\n"
	"l2_vmcall:\n\t"
	"vmcall\n\t"
	"ud2\n"
	".popsection\n");

/* L2's access of a case (struct nvmx_group_case's acc). */
enum { ACC_READ, ACC_WRITE, ACC_FETCH };

/* ---------------------------------------------------------------------- */
/* L1.                                                                      */

static u64 *ept_e(int level)
{
	return (u64 *)nvmx_env.ept_e[level - 1];
}

static u64 *gpt_leaf(int level)
{
	return (u64 *)nvmx_env.gpt_leaf[level - 1];
}

static u64 leaf_a(u64 perms)
{
	return nvmx_env.a_gpa | EPTE_WB | perms;
}

static u64 *page_a(u64 off)
{
	return (u64 *)(nvmx_env.a + off);
}

static bool cur_ad;

static u64 cur_eptp(void)
{
	return nvmx_eptp(nvmx_env.root, cur_ad);
}

/* Put back every entry a case may change. */
static void ept_restore(void)
{
	int l;

	for (l = 1; l <= 4; l++) {
		WRITE_ONCE(*ept_e(l), nvmx_env.ept_e_init[l - 1]);
		WRITE_ONCE(*gpt_leaf(l), nvmx_env.gpt_leaf_init[l - 1]);
	}
}

/*
 * Start a case: the EPT as the host built it, "enable EPT" with a 4-level
 * write-back EPTP, accessed and dirty flags if @ad.
 */
static bool ept_begin(bool ad)
{
	if (!nvmx_need_ept())
		return false;
	if (ad && !nvmx_need_cap(EPT_CAP_AD,
				 "EPT accessed and dirty flags (EPT_VPID_CAP[21])"))
		return false;
	cur_ad = ad;
	ept_restore();
	vmwrite(SECONDARY_VM_EXEC_CONTROL,
		vmreadz(SECONDARY_VM_EXEC_CONTROL) | SECONDARY_EXEC_ENABLE_EPT);
	vmwrite(EPT_POINTER, cur_eptp());
	*page_a(OFF_WRITE) = 0;
	return true;
}

static void ept_flush(void)
{
	nvmx_invept_single(cur_eptp());
}

/* Entry, exit and result of each access. */
static u64 acc_entry(int acc)
{
	return acc == ACC_READ ? ASM_LABEL(l2_read) :
	       acc == ACC_WRITE ? ASM_LABEL(l2_write) : ASM_LABEL(l2_fetch);
}

static u64 acc_end(int acc)
{
	return acc == ACC_READ ? ASM_LABEL(l2_read_end) :
	       acc == ACC_WRITE ? ASM_LABEL(l2_write_end) :
	       ASM_LABEL(l2_fetch_end);
}

/* The RIP of the access: the call's target for a fetch (27.3.3). */
static u64 acc_rip(int acc)
{
	return acc == ACC_FETCH ? T_GVA : acc_entry(acc);
}

static u64 acc_off(int acc)
{
	return acc == ACC_READ ? OFF_READ : acc == ACC_WRITE ? OFF_WRITE : 0;
}

/* Q_READ, Q_WRITE, Q_FETCH are EPTE_R, EPTE_W, EPTE_X. */
static u64 acc_bit(int acc)
{
	return BIT_ULL(acc);
}

/* Flush, then launch L2 at the body at @rip, on T. */
static bool ept_launch_at(u64 rip)
{
	ept_flush();
	l2_setup(rip);
	nvmx_gpr_in[GPR_RDX] = T_GVA;
	nvmx_gpr_in[GPR_RSI] = VAL_W | cur_case;
	return l2_launch();
}

static bool ept_launch(int acc)
{
	return ept_launch_at(acc_entry(acc));
}

/* L2 completed the access of @acc and reached its VMCALL. */
static void check_done(int acc)
{
	if (!nvmx_vmcall_at(acc_end(acc)))
		return;
	if (acc == ACC_READ)
		report("L2's read of T", VAL_A, nvmx_gpr_out[GPR_R8], "28.2.2");
	if (acc == ACC_WRITE)
		report("page A at 18H after L2's write", VAL_W | cur_case,
		       *page_a(OFF_WRITE), "28.2.2");
}

/*
 * The exit qualification of an EPT violation: bits 11:9 are undefined
 * unless advanced information is offered and the access was a translated
 * one (Table 27-7, EPT_VPID_CAP[22]).
 */
static u64 read_qual(u64 *expected)
{
	u64 got = vmreadz(EXIT_QUALIFICATION);

	if ((nvmx_ept_vpid_cap() & EPT_CAP_ADV_INFO) &&
	    (*expected & Q_TRANSLATED))
		*expected |= nvmx_env.adv;
	else
		got &= ~Q_ADV;
	return got;
}

static void check_qual(u64 expected)
{
	u64 got = read_qual(&expected);

	report("EXIT_QUALIFICATION", expected, got, "27.2.1 (Table 27-7)");
}

/*
 * With accessed and dirty flags on, a violation by an access to a guest
 * paging-structure entry sets bits 0 and 1 (Table 27-7, note 1).  In the
 * emulated host stock reports bit 1 alone: KVM passes on the access bits
 * of the violation the CPU reported for its own EPT, and Bochs 2.7 sets
 * only the write bit for such an access.
 */
static void check_qual_guest_walk_ad(u64 expected)
{
	u64 got = read_qual(&expected);

	report_known("EXIT_QUALIFICATION", expected, got, expected & ~Q_READ,
		     "27.2.1 (Table 27-7, note 1)",
		     "bit 0 clear for a guest paging-structure access counted as a write");
}

/*
 * An EPT violation of @acc at guest-physical @gpa, exit qualification @qual
 * (that of note 1 of Table 27-7 if @walk_ad).
 */
static bool expect_violation_ad(int acc, u64 qual, u64 gpa, bool walk_ad)
{
	if (!expect_exit(EXIT_REASON_EPT_VIOLATION))
		return false;
	if (walk_ad)
		check_qual_guest_walk_ad(qual);
	else
		check_qual(qual);
	CHECK(GUEST_PHYSICAL_ADDRESS, gpa, "27.2.1");
	CHECK(GUEST_LINEAR_ADDRESS, T_GVA + acc_off(acc), "27.2.1");
	CHECK(GUEST_RIP, acc_rip(acc), "27.3.3 (the access is not done)");
	report("IDT-vectoring information valid", 0,
	       vmreadz(IDT_VECTORING_INFO_FIELD) >> 31, "27.2.4");
	return true;
}

static bool expect_violation(int acc, u64 qual, u64 gpa)
{
	return expect_violation_ad(acc, qual, gpa, false);
}

/* The common violation: translated access to TG. */
static bool expect_tg_violation(int acc, u64 perms)
{
	return expect_violation(acc, acc_bit(acc) | Q_PERMS(perms) |
				Q_GLA_VALID | Q_TRANSLATED,
				TG + acc_off(acc));
}

/* After a violation: L1 restores the EPT, L2 completes the access. */
static void fix_and_complete(int acc)
{
	ept_restore();
	ept_flush();
	if (nvmx_l2_resume(false))
		check_done(acc);
}

/* Access @c->acc against a leaf with permissions @c->arg. */
static void perm_case(const struct nvmx_group_case *c)
{
	u64 perms = c->arg;

	if (!ept_begin(false))
		return;
	WRITE_ONCE(*ept_e(1), leaf_a(perms));
	if (!ept_launch(c->acc))
		return;
	if (perms == EPTE_X && !(nvmx_ept_vpid_cap() & EPT_CAP_XONLY)) {
		/* Execute-only is a misconfiguration without it (28.2.3.1). */
		if (!expect_exit(EXIT_REASON_EPT_MISCONFIG))
			return;
		CHECK(GUEST_PHYSICAL_ADDRESS, TG + acc_off(c->acc), "27.2.1");
		fix_and_complete(c->acc);
		return;
	}
	if (perms & acc_bit(c->acc)) {
		check_done(c->acc);
		return;
	}
	if (expect_tg_violation(c->acc, perms))
		fix_and_complete(c->acc);
}

/*
 * A middle level with fewer permissions than the leaf: the qualification
 * reports the AND over the walk (Table 27-7 bits 5:3).  @c->arg: level
 * << 8 | its permissions; 0 permissions make the entry not present.
 */
static void walk_case(const struct nvmx_group_case *c)
{
	int level = c->arg >> 8;
	u64 perms = c->arg & EPTE_RWX;

	if (!ept_begin(false))
		return;
	WRITE_ONCE(*ept_e(level), perms ? (nvmx_env.ept_e_init[level - 1] &
					   ~EPTE_RWX) | perms : 0);
	if (ept_launch(c->acc) && expect_tg_violation(c->acc, perms))
		fix_and_complete(c->acc);
}

enum { MC_W, MC_WX, MC_MT2, MC_MT3, MC_MT7, MC_PDE_RSVD, MC_ADDR };

/* EPT misconfigurations (28.2.3.1): exit 49 with the guest-physical address. */
static void misconfig_case(const struct nvmx_group_case *c)
{
	u32 maxpa = nvmx_maxphyaddr();

	if (c->arg == MC_ADDR && maxpa >= 52) {
		skip("MAXPHYADDR is 52: no address bit of an EPT entry is reserved");
		return;
	}
	if (!ept_begin(false))
		return;
	switch (c->arg) {
	case MC_W:
		WRITE_ONCE(*ept_e(1), leaf_a(EPTE_W));
		break;
	case MC_WX:
		WRITE_ONCE(*ept_e(1), leaf_a(EPTE_W | EPTE_X));
		break;
	case MC_MT2:
	case MC_MT3:
	case MC_MT7:
		WRITE_ONCE(*ept_e(1), nvmx_env.a_gpa | EPTE_RWX |
			   EPTE_MT(c->arg == MC_MT2 ? 2 : c->arg == MC_MT3 ? 3 : 7));
		break;
	case MC_PDE_RSVD:
		/* Bits 6:3 of a PDE that references a page table (Table 28-4). */
		WRITE_ONCE(*ept_e(2), nvmx_env.ept_e_init[1] | BIT_ULL(3));
		break;
	case MC_ADDR:
		WRITE_ONCE(*ept_e(1), leaf_a(EPTE_RWX) | BIT_ULL(maxpa));
		break;
	}
	if (!ept_launch(ACC_READ) || !expect_exit(EXIT_REASON_EPT_MISCONFIG))
		return;
	CHECK(GUEST_PHYSICAL_ADDRESS, TG + OFF_READ, "27.2.1");
	CHECK(GUEST_RIP, ASM_LABEL(l2_read), "27.3.3");
	fix_and_complete(ACC_READ);
}

/*
 * A violation on the guest paging-structure walk: T's guest PT is not
 * present in the EPT (@c->arg 0), or read-only with accessed and dirty
 * flags on (@c->arg EPTE_R), when reads of guest paging structures count as
 * writes (28.2.3.2) and set bits 0 and 1 (Table 27-7, note).  The address
 * is that of T's guest PTE; bit 8 is clear (not a translated access).
 */
static void guest_walk_case(const struct nvmx_group_case *c)
{
	bool ad = c->arg != 0;
	u64 qual = ad ? Q_READ | Q_WRITE | Q_PERMS(EPTE_R) : Q_READ;

	if (!ept_begin(ad))
		return;
	WRITE_ONCE(*gpt_leaf(1), c->arg ? nvmx_env.gpt_leaf_init[0] &
		   ~(EPTE_RWX & ~c->arg) : 0);
	if (ept_launch(ACC_READ) &&
	    expect_violation_ad(ACC_READ, qual | Q_GLA_VALID,
				nvmx_env.gpt_pte_gpa, ad))
		fix_and_complete(ACC_READ);
}

static void expect_flag(const char *what, u64 entry, u64 flag, bool set)
{
	report(what, set, !!(entry & flag), "28.2.4");
}

/*
 * Accessed and dirty flags (28.2.4): after L1 clears them, an access by L2
 * sets A in every EPT entry of TG's walk, and D in the leaf if and only if
 * it wrote.
 */
static void ad_case(const struct nvmx_group_case *c)
{
	int l;

	if (!ept_begin(true))
		return;
	for (l = 1; l <= 4; l++)
		WRITE_ONCE(*ept_e(l), *ept_e(l) & ~(EPTE_A | EPTE_D));
	if (!ept_launch(c->acc))
		return;
	check_done(c->acc);
	expect_flag("EPT PML4E accessed", *ept_e(4), EPTE_A, true);
	expect_flag("EPT PDPTE accessed", *ept_e(3), EPTE_A, true);
	expect_flag("EPT PDE accessed", *ept_e(2), EPTE_A, true);
	expect_flag("EPT PTE accessed", *ept_e(1), EPTE_A, true);
	expect_flag("EPT PTE dirty", *ept_e(1), EPTE_D, c->acc == ACC_WRITE);
}

/*
 * With accessed and dirty flags on, the accesses to guest paging
 * structures count as writes (28.2.4): a read of T sets A and D in the EPT
 * leaves that map T's guest PML4, PDPT, PD and PT (whose own accessed flags
 * the host set, so that L2 writes none of them), and only A in TG's.
 */
static void ad_guest_walk_case(const struct nvmx_group_case *c)
{
	static const char * const what[4][2] = {
		{ "EPT PTE of the guest PT accessed", "EPT PTE of the guest PT dirty" },
		{ "EPT PTE of the guest PD accessed", "EPT PTE of the guest PD dirty" },
		{ "EPT PTE of the guest PDPT accessed", "EPT PTE of the guest PDPT dirty" },
		{ "EPT PTE of the guest PML4 accessed", "EPT PTE of the guest PML4 dirty" },
	};
	int l;

	if (!ept_begin(true))
		return;
	for (l = 1; l <= 4; l++)
		WRITE_ONCE(*gpt_leaf(l), *gpt_leaf(l) & ~(EPTE_A | EPTE_D));
	WRITE_ONCE(*ept_e(1), *ept_e(1) & ~(EPTE_A | EPTE_D));
	if (!ept_launch(ACC_READ))
		return;
	check_done(ACC_READ);
	for (l = 1; l <= 4; l++) {
		expect_flag(what[l - 1][0], *gpt_leaf(l), EPTE_A, true);
		expect_flag(what[l - 1][1], *gpt_leaf(l), EPTE_D, true);
	}
	expect_flag("EPT PTE of TG accessed", *ept_e(1), EPTE_A, true);
	expect_flag("EPT PTE of TG dirty", *ept_e(1), EPTE_D, false);
}

/* ---- EPTP checks of VM entry (26.2.1.1) ---- */

/* After the failures: a good EPTP launches (the VMCS is still clear). */
static void eptp_good_launches(void)
{
	vmwrite(EPT_POINTER, cur_eptp());
	nvmx_launch_to_vmcall(ASM_LABEL(l2_vmcall));
}

static void eptp_expect_vmfail(const char *what, u64 tag, u64 eptp)
{
	vmwrite(EPT_POINTER, eptp);
	l2_setup(ASM_LABEL(l2_vmcall));
	nvmx_expect_launch_vmfail(what, tag);
}

static bool eptp_mt_ok(u64 mt)
{
	u64 cap = nvmx_ept_vpid_cap();

	return (mt == EPTP_MT_UC && (cap & EPT_CAP_UC)) ||
	       (mt == EPTP_MT_WB && (cap & EPT_CAP_WB));
}

static bool eptp_pwl_ok(u64 pwl)
{
	return pwl == 3 || (pwl == 4 && (nvmx_ept_vpid_cap() & EPT_CAP_PWL5));
}

/* The reserved bits of an EPTP: 11:7 and 63:N (N = MAXPHYADDR). */
static const u8 eptp_rsvd_bits[] = { 7, 8, 9, 10, 11, 51, 52, 62, 63 };

static bool eptp_bit_reserved(u32 bit)
{
	return bit <= 11 || bit >= nvmx_maxphyaddr();
}

/* What VM entry and INVEPT check of an EPTP (@c->arg of the EPTP cases). */
enum { EPTP_F_MT, EPTP_F_PWL, EPTP_F_RSVD, EPTP_F_NR };

static const char * const eptp_launch_what[EPTP_F_NR] = {
	[EPTP_F_MT] = "VMLAUNCH, EPTP memory type (type:flags:error)",
	[EPTP_F_PWL] = "VMLAUNCH, EPTP bits 5:3 (value:flags:error)",
	[EPTP_F_RSVD] = "VMLAUNCH, EPTP reserved bit (bit:flags:error)",
};

static const char * const eptp_invept_what[EPTP_F_NR] = {
	[EPTP_F_MT] = "INVEPT, EPTP memory type (type:flags:error)",
	[EPTP_F_PWL] = "INVEPT, EPTP bits 5:3 (value:flags:error)",
	[EPTP_F_RSVD] = "INVEPT, EPTP reserved bit (bit:flags:error)",
};

/*
 * Each EPTP, the one in use changed in @field, that VM entry refuses: a
 * memory type (bits 2:0) or walk length (bits 5:3) not offered, or a bit of
 * eptp_rsvd_bits[] that is reserved; @expect(@what, the type, value or
 * bit, the EPTP) checks it.
 */
static void bad_eptps(int field, const char *what,
		      void (*expect)(const char *what, u64 tag, u64 eptp))
{
	int shift = field == EPTP_F_MT ? 0 : 3;
	u64 v;
	u32 i;

	if (field == EPTP_F_RSVD) {
		for (i = 0; i < ARRAY_SIZE(eptp_rsvd_bits); i++)
			if (eptp_bit_reserved(eptp_rsvd_bits[i]))
				expect(what, eptp_rsvd_bits[i],
				       cur_eptp() | BIT_ULL(eptp_rsvd_bits[i]));
		return;
	}
	for (v = 0; v < 8; v++)
		if (!(field == EPTP_F_MT ? eptp_mt_ok(v) : eptp_pwl_ok(v)))
			expect(what, v,
			       (cur_eptp() & ~(7ull << shift)) | v << shift);
}

/*
 * VMLAUNCH with each EPTP bad in @c->arg (for reserved bits first bit
 * MAXPHYADDR, if below 52): VMfailValid(7); then a good EPTP launches.
 */
static void eptp_field(const struct nvmx_group_case *c)
{
	u32 maxpa;

	if (!ept_begin(false))
		return;
	maxpa = nvmx_maxphyaddr();
	if (c->arg == EPTP_F_RSVD && maxpa < 52)
		eptp_expect_vmfail(eptp_launch_what[c->arg], maxpa,
				   cur_eptp() | BIT_ULL(maxpa));
	bad_eptps(c->arg, eptp_launch_what[c->arg], eptp_expect_vmfail);
	eptp_good_launches();
}

/* The host cleared @cap_bit of EPT_VPID_CAP for this VM. */
static bool check_cut(u64 cap_bit, const char *what)
{
	report("the host restricted the capability MSR", 1, nvmx_group.cut_ok,
	       "A.10 (userspace write)");
	report(what, 0, !!(nvmx_ept_vpid_cap() & cap_bit), "A.10");
	return nvmx_group.cut_ok && !(nvmx_ept_vpid_cap() & cap_bit);
}

static void invept_expect_bad_eptp(const char *what, u64 tag, u64 eptp)
{
	report(what, NVMX_VMFAIL(tag, ERR_INVALID_INV_OPERAND),
	       nvmx_outcome(tag, nvmx_invept(INVEPT_SINGLE, eptp)),
	       "30.3 (single-context: an EPTP VM entry would refuse)");
}

/*
 * EPTP bit 6 without accessed and dirty flags offered: VMLAUNCH (then a
 * good EPTP launches), or INVEPT single-context (@c->arg), VMfailValid.
 */
static void eptp_ad_not_offered(const struct nvmx_group_case *c)
{
	if (!ept_begin(false) ||
	    !check_cut(EPT_CAP_AD, "EPT_VPID_CAP[21] after the host cleared it"))
		return;
	if (c->arg) {
		invept_expect_bad_eptp("INVEPT, EPTP with bit 6 (-:flags:error)",
				       0, cur_eptp() | EPTP_AD);
		return;
	}
	eptp_expect_vmfail("VMLAUNCH, EPTP with bit 6 (-:flags:error)", 0,
			   cur_eptp() | EPTP_AD);
	eptp_good_launches();
}

/* ---- INVEPT (30.3) ---- */

static void invept_single_context(const struct nvmx_group_case *c)
{
	if (!ept_begin(false))
		return;
	nvmx_expect_vmsucceed("INVEPT single-context, the EPTP in use",
			      nvmx_invept(INVEPT_SINGLE, cur_eptp()), "30.3");
	nvmx_expect_vmsucceed("INVEPT single-context, another EPTP",
			      nvmx_invept(INVEPT_SINGLE,
					  nvmx_eptp(nvmx_env.b_gpa, false)), "30.3");
	if (nvmx_ept_vpid_cap() & EPT_CAP_AD)
		nvmx_expect_vmsucceed("INVEPT single-context, EPTP with A/D",
				      nvmx_invept(INVEPT_SINGLE,
						  nvmx_eptp(nvmx_env.root, true)),
				      "30.3");
}

/* Global invalidation does not look at the descriptor (30.3 Operation). */
static void invept_global(const struct nvmx_group_case *c)
{
	if (!ept_begin(false))
		return;
	nvmx_expect_vmsucceed("INVEPT global, descriptor 0",
			      nvmx_invept(INVEPT_GLOBAL, 0), "30.3");
	nvmx_expect_vmsucceed("INVEPT global, descriptor with an invalid EPTP",
			      nvmx_invept(INVEPT_GLOBAL, ~0ull), "30.3");
}

static void invept_unsupported_types(const struct nvmx_group_case *c)
{
	static const u64 types[] = { 0, 3, 4, 7, 0x80000002ull,
				     0x100000001ull, ~0ull };
	u32 i;

	if (!ept_begin(false))
		return;
	for (i = 0; i < ARRAY_SIZE(types); i++)
		report("INVEPT, unsupported type (index:flags:error)",
		       NVMX_VMFAIL(i, ERR_INVALID_INV_OPERAND),
		       nvmx_outcome(i, nvmx_invept(types[i], cur_eptp())),
		       "30.3 (type not supported)");
}

static void invept_single_bad_eptp(const struct nvmx_group_case *c)
{
	int f;

	if (!ept_begin(false))
		return;
	for (f = 0; f < EPTP_F_NR; f++)
		bad_eptps(f, eptp_invept_what[f], invept_expect_bad_eptp);
}

static void invept_cpl1(const struct nvmx_group_case *c)
{
	if (ept_begin(false))
		nvmx_inv_cpl1(false, cur_eptp());
}

static void invept_mem_faults(const struct nvmx_group_case *c)
{
	if (ept_begin(false))
		nvmx_inv_mem_faults(false, INVEPT_GLOBAL);
}

/* #UD without "enable EPT" or without INVEPT (30.3 INVEPT, #UD). */
static void invept_ud(const struct nvmx_group_case *c)
{
	nvmx_inv_ud(false, c->arg == G_NO_EPT_CTL);
}

/* ---- Stale translations (28.3.3) ---- */

/*
 * L2 reads T (page A); L1 remaps TG to page B and invalidates with INVEPT
 * of type @c->arg (or not at all: 0); L2 reads T again.  After INVEPT it
 * must read B (28.3.3.1); without, A or B (a guest-physical mapping may
 * stay cached, 28.3.3.2), and B after a later INVEPT.
 */
static void remap_case(const struct nvmx_group_case *c)
{
	u64 got;

	if (!ept_begin(false) || !ept_launch_at(ASM_LABEL(l2_read3)) ||
	    !nvmx_vmcall_at(ASM_LABEL(l2_read3_1)))
		return;
	report("L2's read of T mapped to A", VAL_A, nvmx_gpr_out[GPR_R8],
	       "28.2.2");

	WRITE_ONCE(*ept_e(1), nvmx_env.b_gpa | EPTE_WB | EPTE_RWX);
	if (c->arg)
		nvmx_expect_vmsucceed("INVEPT", nvmx_invept(c->arg, cur_eptp()),
				      "30.3");
	if (!nvmx_l2_resume(true) || !nvmx_vmcall_at(ASM_LABEL(l2_read3_2)))
		return;
	got = nvmx_gpr_out[GPR_R9];
	if (c->arg) {
		report("L2's read of T after the remap to B and INVEPT", VAL_B,
		       got, "28.3.3.1");
		return;
	}
	if (got != VAL_A)
		report("L2's read of T after the remap to B, no INVEPT (A or B)",
		       VAL_B, got, "28.3.3.2");
	ept_flush();
	if (!nvmx_l2_resume(true) || !nvmx_vmcall_at(ASM_LABEL(l2_read3_3)))
		return;
	report("L2's read of T after a later INVEPT", VAL_B,
	       nvmx_gpr_out[GPR_R10], "28.3.3.1");
}

/*
 * L2 reads T through a read-only leaf; L1 makes it read/write without
 * INVEPT; L2 writes T.  The write may use the stale read-only translation
 * and cause an EPT violation (28.3.3.2), which invalidates the mappings
 * that translated TG (28.3.3.1): resumed with nothing changed, the write
 * then completes.
 */
static void perm_raise_case(const struct nvmx_group_case *c)
{
	if (!ept_begin(false))
		return;
	WRITE_ONCE(*ept_e(1), leaf_a(EPTE_R));
	if (!ept_launch_at(ASM_LABEL(l2_rw)) ||
	    !nvmx_vmcall_at(ASM_LABEL(l2_rw_1)))
		return;
	report("L2's read of T", VAL_A, nvmx_gpr_out[GPR_R8], "28.2.2");

	WRITE_ONCE(*ept_e(1), leaf_a(EPTE_R | EPTE_W));
	if (!nvmx_l2_resume(true))
		return;
	if (vmreadz(VM_EXIT_REASON) == EXIT_REASON_EPT_VIOLATION) {
		check_qual(Q_WRITE | Q_PERMS(EPTE_R) | Q_GLA_VALID | Q_TRANSLATED);
		CHECK(GUEST_PHYSICAL_ADDRESS, TG + OFF_WRITE, "27.2.1");
		CHECK(GUEST_RIP, ASM_LABEL(l2_rw_write), "27.3.3");
		if (!nvmx_l2_resume(false))
			return;
	}
	if (!nvmx_vmcall_at(ASM_LABEL(l2_rw_2)))
		return;
	report("page A at 18H after L2's write", VAL_W | cur_case,
	       *page_a(OFF_WRITE), "28.3.3.1");
}

#define PERM(acc, p, n)	{ n, perm_case, G_FULL, p, acc }
#define WALK(acc, level, p, n) { n, walk_case, G_FULL, (level) << 8 | (p), acc }

static const struct nvmx_group_case cases[] = {
	PERM(ACC_READ, 0, "read_leaf_not_present"),
	PERM(ACC_READ, EPTE_R, "read_leaf_r"),
	PERM(ACC_READ, EPTE_R | EPTE_W, "read_leaf_rw"),
	PERM(ACC_READ, EPTE_R | EPTE_X, "read_leaf_rx"),
	PERM(ACC_READ, EPTE_RWX, "read_leaf_rwx"),
	PERM(ACC_READ, EPTE_X, "read_leaf_x_only"),
	PERM(ACC_WRITE, 0, "write_leaf_not_present"),
	PERM(ACC_WRITE, EPTE_R, "write_leaf_r"),
	PERM(ACC_WRITE, EPTE_R | EPTE_W, "write_leaf_rw"),
	PERM(ACC_WRITE, EPTE_R | EPTE_X, "write_leaf_rx"),
	PERM(ACC_WRITE, EPTE_RWX, "write_leaf_rwx"),
	PERM(ACC_WRITE, EPTE_X, "write_leaf_x_only"),
	PERM(ACC_FETCH, 0, "fetch_leaf_not_present"),
	PERM(ACC_FETCH, EPTE_R, "fetch_leaf_r"),
	PERM(ACC_FETCH, EPTE_R | EPTE_W, "fetch_leaf_rw"),
	PERM(ACC_FETCH, EPTE_R | EPTE_X, "fetch_leaf_rx"),
	PERM(ACC_FETCH, EPTE_RWX, "fetch_leaf_rwx"),
	PERM(ACC_FETCH, EPTE_X, "fetch_leaf_x_only"),
	WALK(ACC_READ, 2, 0, "read_pde_not_present"),
	WALK(ACC_WRITE, 3, EPTE_R, "write_pdpte_r_leaf_rwx"),
	WALK(ACC_FETCH, 2, EPTE_R | EPTE_W, "fetch_pde_rw_leaf_rwx"),
	{ "guest_pt_not_present", guest_walk_case, G_FULL, 0, ACC_READ },
	{ "misconfig_leaf_w", misconfig_case, G_FULL, MC_W },
	{ "misconfig_leaf_wx", misconfig_case, G_FULL, MC_WX },
	{ "misconfig_leaf_memtype_2", misconfig_case, G_FULL, MC_MT2 },
	{ "misconfig_leaf_memtype_3", misconfig_case, G_FULL, MC_MT3 },
	{ "misconfig_leaf_memtype_7", misconfig_case, G_FULL, MC_MT7 },
	{ "misconfig_pde_reserved_bit", misconfig_case, G_FULL, MC_PDE_RSVD },
	{ "misconfig_leaf_address_bit", misconfig_case, G_FULL, MC_ADDR },
	{ "ad_read", ad_case, G_FULL, 0, ACC_READ },
	{ "ad_write", ad_case, G_FULL, 0, ACC_WRITE },
	{ "ad_fetch", ad_case, G_FULL, 0, ACC_FETCH },
	{ "ad_guest_paging_structures_dirty", ad_guest_walk_case, G_FULL },
	{ "ad_guest_pt_read_only", guest_walk_case, G_FULL, EPTE_R, ACC_READ },
	{ "eptp_memory_type", eptp_field, G_FULL, EPTP_F_MT },
	{ "eptp_walk_length", eptp_field, G_FULL, EPTP_F_PWL },
	{ "eptp_reserved_bits", eptp_field, G_FULL, EPTP_F_RSVD },
	{ "invept_single_context", invept_single_context, G_FULL },
	{ "invept_global", invept_global, G_FULL },
	{ "invept_unsupported_types", invept_unsupported_types, G_FULL },
	{ "invept_single_context_bad_eptp", invept_single_bad_eptp, G_FULL },
	{ "invept_cpl1_gp", invept_cpl1, G_FULL },
	{ "invept_memory_operand_faults", invept_mem_faults, G_FULL },
	{ "remap_invept_single_context", remap_case, G_FULL, INVEPT_SINGLE },
	{ "remap_invept_global", remap_case, G_FULL, INVEPT_GLOBAL },
	{ "remap_without_invept", remap_case, G_FULL, 0 },
	{ "permission_raise_without_invept", perm_raise_case, G_FULL },
	{ "invept_ud_ept_not_offered", invept_ud, G_NO_EPT_CTL, G_NO_EPT_CTL },
	{ "invept_ud_invept_not_offered", invept_ud, G_NO_INVEPT, G_NO_INVEPT },
	{ "eptp_ad_not_offered", eptp_ad_not_offered, G_NO_AD, 0 },
	{ "invept_eptp_ad_not_offered", eptp_ad_not_offered, G_NO_AD, 1 },
};

/* What the host takes away from L1 for each group. */
static const struct nvmx_caps_cut cuts[G_NR] = {
	[G_NO_EPT_CTL] = { .ctls2 = SECONDARY_EXEC_ENABLE_EPT },
	[G_NO_INVEPT] = { .ept_vpid = EPT_CAP_INVEPT },
	[G_NO_AD] = { .ept_vpid = EPT_CAP_AD },
};

void l1_guest_code(struct vmx_pages *vmx)
{
	nvmx_l1_run_group(vmx);
}

/* ---------------------------------------------------------------------- */
/* Host.                                                                    */

/*
 * The guest paging-structure entries of @gva, @e[0] (PTE) to @e[3] (PML4E),
 * and the tables that hold them, @table[0] (PT) to @table[3] (PML4).
 */
static void guest_walk(struct kvm_vm *vm, u64 gva, u64 *e[4], u64 table[4])
{
	u64 t = vm->pgd;
	int l;

	for (l = 4; l >= 1; l--) {
		table[l - 1] = t;
		e[l - 1] = (u64 *)addr_gpa2hva(vm, t) +
			   ((gva >> (12 + 9 * (l - 1))) & 0x1ff);
		t = *e[l - 1] & PHYSICAL_PAGE_MASK;
	}
}

static void setup_vm(struct kvm_vm *vm, struct kvm_vcpu *vcpu)
{
	vm_vaddr_t a = vm_vaddr_alloc_page(vm);
	vm_vaddr_t b = vm_vaddr_alloc_page(vm);
	struct nvmx_ept ept;
	u64 *ge[4], gt[4];
	u64 user = 1, rw = 1, xd = 0;
	int l;

	*(u8 *)addr_gva2hva(vm, a) = RET_OPCODE;
	*(u64 *)addr_gva2hva(vm, a + OFF_READ) = VAL_A;
	*(u8 *)addr_gva2hva(vm, b) = RET_OPCODE;
	*(u64 *)addr_gva2hva(vm, b + OFF_READ) = VAL_B;
	nvmx_host_exceptions(vm, vcpu);

	/* T -> TG in L1's page tables, with every accessed flag set. */
	virt_pg_map(vm, T_GVA, TG);
	guest_walk(vm, T_GVA, ge, gt);
	for (l = 0; l < 4; l++) {
		*ge[l] |= PTE_ACCESSED_MASK;
		user &= !!(*ge[l] & PTE_USER_MASK);
		rw &= !!(*ge[l] & PTE_WRITABLE_MASK);
		xd |= !!(*ge[l] & PTE_NX_MASK);
	}
	nvmx_env.adv = user << 9 | rw << 10 | xd << 11;
	nvmx_env.gpt_pte_gpa = gt[0] + ((T_GVA >> 12) & 0x1ff) * 8;

	nvmx_ept_init(&ept, vm);
	nvmx_ept_map(&ept, TG, addr_gva2gpa(vm, a), EPTE_RWX);
	nvmx_ept_identity_memslot0(&ept);
	nvmx_env.root = ept.gpa[0];
	for (l = 1; l <= 4; l++) {
		nvmx_env.ept_e[l - 1] = nvmx_ept_entry(&ept, TG, l);
		nvmx_env.gpt_leaf[l - 1] = nvmx_ept_entry(&ept, gt[l - 1], 1);
		nvmx_env.ept_e_init[l - 1] =
			*(u64 *)addr_gva2hva(vm, nvmx_env.ept_e[l - 1]);
		nvmx_env.gpt_leaf_init[l - 1] =
			*(u64 *)addr_gva2hva(vm, nvmx_env.gpt_leaf[l - 1]);
	}
	nvmx_env.a = a;
	nvmx_env.b = b;
	nvmx_env.a_gpa = addr_gva2gpa(vm, a);
	nvmx_env.b_gpa = addr_gva2gpa(vm, b);
}

int main(int argc, char *argv[])
{
	return nvmx_host_run_groups(cases, ARRAY_SIZE(cases), cuts, G_NR,
				    setup_vm);
}
