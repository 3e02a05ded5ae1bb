// SPDX-License-Identifier: GPL-2.0
/*
 * Exhaustive host-side tests of include/nvmx/cr_owner.h.
 *
 * Every input is enumerated over a window of four bits of CR0 or CR4 (every
 * bit pattern of every input in the window).  The bits outside the window
 * hold fixed background patterns chosen so that the 60 outside positions
 * together show every combination of the inputs' values as well.
 *
 * Expected values come from references written bit by bit as the SDM's
 * sentences (SDM 25.1.3, 25.3, 27.3.1), never from the header's formulas:
 *  - the helpers' own contracts (who owns a bit, what vmcs02 holds), and
 *  - an L1-only machine: what L2 would read, and what vmcs12 would hold,
 *    if L1 ran L2 on bare hardware with vmcs12.  Entry, writes by L2 (done
 *    by the simulated hardware or completed by L0) and exit through vmcs02
 *    must be indistinguishable from it, whatever L0 intercepts and whatever
 *    L0 keeps in the live register.
 * What L0 does around the helpers (the live value it keeps, a write by L2
 * it completes) is modelled here as vmx.c does it for MOV to CR0/CR4.  The
 * helpers are also held to the property the module relies on: L0's mask
 * may be given with or without L1's bits.
 * Mutated helpers are run through the same checks to show they can fail.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include <nvmx/cr_owner.h>

#define N_VAL		16	/* patterns of a 4-bit window */
#define MAX_DIAG	3	/* mismatches printed per check */

struct window {
	const char *reg;
	const char *names;
	int bit[4];
	bool is_cr0;
};

static const struct window windows[] = {
	{ "CR0", "PE MP EM TS",			{ 0, 1, 2, 3 },		true },
	{ "CR0", "ET NE WP AM",			{ 4, 5, 16, 18 },	true },
	{ "CR0", "NW CD PG bit63",		{ 29, 30, 31, 63 },	true },
	{ "CR4", "TSD DE PSE PAE",		{ 2, 3, 4, 5 },		false },
	{ "CR4", "PGE PCE OSFXSR OSXMMEXCPT",	{ 7, 8, 9, 10 },	false },
	{ "CR4", "VMXE PCIDE SMEP PKS",		{ 13, 17, 20, 24 },	false },
};

/*
 * Backgrounds: bit p of input k is set iff bit k of p is clear, so the
 * positions 0..63 run through all 64 combinations of six inputs.
 */
#define BG_L0		0x5555555555555555ULL
#define BG_L1		0x3333333333333333ULL
#define BG_L1S		0x0f0f0f0f0f0f0f0fULL
#define BG_G12		0x00ff00ff00ff00ffULL
#define BG_LIVE		0x0000ffff0000ffffULL
#define BG_SRC		0x00000000ffffffffULL
/*
 * Background of a value L2 writes: L1's bits at L1's shadow and L0's bits at
 * guest12's value, so the background alone never traps (in vmcs12's terms or
 * in vmcs02's); L2's bits are written freely.
 */
#define BG_SRC_QUIET	((BG_L1S & BG_L1) | (BG_G12 & BG_L0 & ~BG_L1) | \
			 (BG_SRC & ~(BG_L0 | BG_L1)))

struct check {
	const char *what;
	unsigned long long n;		/* combinations checked */
	unsigned long long bad;
	bool quiet;			/* a mutant run: count, do not print */
};

static int tap_n;
static int tap_failed;
static unsigned long long total_checks;	/* sum over checks of combinations */
static unsigned long long enumerated;	/* distinct inputs enumerated */
static const struct window *cur;	/* window of the checks being run */

static void check_init(struct check *k, const char *what)
{
	k->what = what;
	k->n = 0;
	k->bad = 0;
	k->quiet = false;
}

static void mismatch(struct check *k, const char *fmt, ...)
{
	va_list ap;

	if (!k->quiet && k->bad < MAX_DIAG) {
		printf("# %s [%s]: ", k->what, cur->names);
		va_start(ap, fmt);
		vprintf(fmt, ap);
		va_end(ap);
		printf("\n");
	}
	k->bad++;
}

static void tap(bool ok, const char *fmt, ...)
{
	va_list ap;

	tap_n++;
	if (!ok)
		tap_failed++;
	printf("%s %d - ", ok ? "ok" : "not ok", tap_n);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
}

static void report(const struct check *k)
{
	total_checks += k->n;
	tap(k->bad == 0 && k->n > 0, "%s [%s]: %s (%llu combinations, %llu wrong)",
	    cur->reg, cur->names, k->what, k->n, k->bad);
}

static unsigned long long ull(u64 v)
{
	return v;
}

/* ---- references, one bit at a time ---- */

static int bit(u64 v, int b)
{
	return (v >> b) & 1;
}

static u64 put(int b, int val)
{
	return (u64)(val != 0) << b;
}

enum owner { OWN_L2, OWN_L1, OWN_L0 };

/*
 * The design's ownership sentence: "L1 owns a bit set in vmcs12's mask;
 * otherwise L0 owns a bit set in its own mask; otherwise L2 owns it".
 */
static enum owner ref_owner(int l0m, int l1m)
{
	if (l1m)
		return OWN_L1;
	if (l0m)
		return OWN_L0;
	return OWN_L2;
}

/*
 * SDM 25.3, MOV from CR0/CR4: "for each position corresponding to a bit clear
 * in the guest/host mask, the destination operand is loaded with the value of
 * the corresponding bit in CRx; for each position corresponding to a bit set,
 * with the corresponding bit in the read shadow".
 */
static int sdm_read_bit(int mask, int shadow, int reg)
{
	if (mask)
		return shadow;
	return reg;
}

/*
 * SDM 25.1.3, MOV to CR0/CR4: "causes a VM exit unless the value of its source
 * operand matches, for the position of each bit set in the guest/host mask,
 * the corresponding bit in the read shadow".  Does this bit force an exit?
 */
static int sdm_write_exit_bit(int mask, int shadow, int src)
{
	return mask && src != shadow;
}

/*
 * SDM 25.3, MOV to CR0/CR4: "an execution ... that does not cause a VM exit
 * leaves unmodified any bit in CRx corresponding to a bit set in the
 * guest/host mask"; the other bits are loaded from the source.
 */
static int sdm_write_bit(int mask, int reg, int src)
{
	if (mask)
		return reg;
	return src;
}

/* The bit-wise rules above, applied to the positions set in @which. */
static u64 sdm_read(u64 which, u64 mask, u64 shadow, u64 reg)
{
	u64 r = 0;
	int b;

	for (; which; which &= which - 1) {
		b = __builtin_ctzll(which);
		r |= put(b, sdm_read_bit(bit(mask, b), bit(shadow, b), bit(reg, b)));
	}
	return r;
}

static bool sdm_write_exits(u64 which, u64 mask, u64 shadow, u64 src)
{
	int b;

	for (; which; which &= which - 1) {
		b = __builtin_ctzll(which);
		if (sdm_write_exit_bit(bit(mask, b), bit(shadow, b), bit(src, b)))
			return true;
	}
	return false;
}

static u64 sdm_write(u64 which, u64 mask, u64 reg, u64 src)
{
	u64 r = 0;
	int b;

	for (; which; which &= which - 1) {
		b = __builtin_ctzll(which);
		r |= put(b, sdm_write_bit(bit(mask, b), bit(reg, b), bit(src, b)));
	}
	return r;
}

/*
 * SDM 25.1.3, CLTS: "causes a VM exit if the bits in position 3 (CR0.TS) are
 * set in both the CR0 guest/host mask and the CR0 read shadow".
 */
static bool sdm_clts_exits(u64 mask, u64 shadow)
{
	return bit(mask, 3) && bit(shadow, 3);
}

/*
 * SDM 25.3, CLTS that does not exit: with bit 3 of the mask clear it clears
 * CR0.TS; with it set (and the shadow's bit 3 clear) CR0.TS is unchanged.
 * No other bit changes.
 */
static u64 sdm_clts(u64 mask, u64 reg)
{
	if (bit(mask, 3))
		return reg;
	return reg & ~put(3, 1);
}

/*
 * SDM 25.1.3, LMSW exits if either "the bits in position 0 are set in both the
 * CR0 guest/host mask and the source operand, and the bit in position 0 is
 * clear in the CR0 read shadow", or "for any bit position in the range 3:1,
 * the bit in that position is set in the CR0 guest/host mask and the values of
 * the corresponding bits in the source operand and the read shadow differ".
 */
static bool sdm_lmsw_exits(u64 mask, u64 shadow, u16 src)
{
	int b;

	if (bit(mask, 0) && bit(src, 0) && !bit(shadow, 0))
		return true;
	for (b = 1; b <= 3; b++)
		if (bit(mask, b) && bit(src, b) != bit(shadow, b))
			return true;
	return false;
}

/*
 * SDM 25.3, LMSW that does not exit: it "loads its source operand into
 * CR0[3:0], but it does not clear CR0.PE if that bit is set"; it "leaves
 * unmodified any bit in CR0[3:0] corresponding to a bit set in the CR0
 * guest/host mask".  Bits above 3 are never written.
 */
static u64 sdm_lmsw(u64 mask, u64 reg, u16 src)
{
	u64 r = reg;
	int b, v;

	for (b = 0; b <= 3; b++) {
		if (bit(mask, b))
			continue;
		v = bit(src, b);
		if (b == 0)
			v = v || bit(reg, 0);
		r = (r & ~put(b, 1)) | put(b, v);
	}
	return r;
}

/* SDM 25.3, MOV from CR0/CR4 under vmcs02: the bits of @m02 from @s02. */
static u64 hw_read(u64 m02, u64 s02, u64 g02)
{
	return sdm_read(~0ULL, m02, s02, g02);
}

/* ---- L0 around the helpers: what vmx.c does, as a model ---- */

/*
 * The live register vmcs02 holds for L2's value @val: vmx.c may keep a value
 * of its own (@live) at a bit it intercepts for itself, L1 intercepting it
 * too or not, and loads @val everywhere else.
 */
static u64 l0_guest02(u64 l0m, u64 val, u64 live)
{
	return (live & l0m) | (val & ~l0m);
}

/*
 * A write of @src by L2 that exits to L0 but not to L1, which vmx.c
 * completes (handle_set_cr0(), handle_set_cr4() in guest mode): L2's value
 * becomes @src except at L1's bits, kept from vmcs12's guest CR (SDM 25.3),
 * and vmcs02's shadow becomes @src.  Then vmx.c loads the live register
 * from the new value (l0_guest02()).
 */
static u64 l0_write_guest12(u64 l1m, u64 g12, u64 src)
{
	return (src & ~l1m) | (g12 & l1m);
}

/* ---- the helpers under test, behind pointers so mutants can stand in ---- */

struct impl {
	u64 (*shadow02)(const struct nvmx_cr *c, u64 guest12);
	u64 (*guest12)(const struct nvmx_cr *c, u64 guest12, u64 shadow02, u64 guest02);
	bool (*exits)(const struct nvmx_cr *c, u64 new_val);
};

static const struct impl real = {
	.shadow02 = nvmx_cr_shadow02,
	.guest12 = nvmx_cr_guest12,
	.exits = nvmx_cr_write_exits_to_l1,
};

/* Mutant: L1's bits read as guest12 instead of L1's shadow. */
static u64 bad_shadow02(const struct nvmx_cr *c, u64 guest12)
{
	(void)c;
	return guest12;
}

/* Mutant: the lazy-FPU bug, L0's bits saved from the live register. */
static u64 bad_guest12(const struct nvmx_cr *c, u64 guest12, u64 shadow02, u64 guest02)
{
	(void)shadow02;
	return nvmx_cr_pick(c->l1_mask, guest12, guest02);
}

/* Mutant: L0's mask picked before L1's, so L0 wins where both intercept. */
static u64 bad_guest12_order(const struct nvmx_cr *c, u64 guest12, u64 shadow02, u64 guest02)
{
	return nvmx_cr_pick(c->l0_mask, shadow02, nvmx_cr_pick(c->l1_mask, guest12, guest02));
}

/* Mutant: exits to L1 on bits only L0 intercepts. */
static bool bad_exits(const struct nvmx_cr *c, u64 new_val)
{
	return ((new_val ^ c->l1_shadow) & nvmx_cr_mask02(c)) != 0;
}

/* ---- enumeration ---- */

static u64 wval[N_VAL];		/* pattern i spread over the window's bits */
static u64 wmask;		/* the window's bits */

static void set_window(const struct window *w)
{
	int i, j;

	cur = w;
	wmask = 0;
	for (j = 0; j < 4; j++)
		wmask |= put(w->bit[j], 1);
	for (i = 0; i < N_VAL; i++) {
		wval[i] = 0;
		for (j = 0; j < 4; j++)
			wval[i] |= put(w->bit[j], bit(i, j));
	}
}

/*
 * Combination @i of n inputs (0 <= i < COMBOS(n)): input @k takes the k-th
 * nibble of @i as its window pattern and @bg everywhere else.
 */
#define COMBOS(n)	(1UL << (4 * (n)))

static u64 in(unsigned long i, int k, u64 bg)
{
	return wval[(i >> (4 * k)) & (N_VAL - 1)] | (bg & ~wmask);
}

/* ---- part A: each helper over all its inputs, all 64 bits ---- */

static void check_owner(void)
{
	struct check own, m02;
	struct nvmx_cr c = { 0 };
	enum owner want;
	unsigned long i;
	int b, m;
	u64 l1o, l0o, want_l1o, want_l0o;

	check_init(&own, "L1- and L0-owned sets per bit");
	check_init(&m02, "mask02 per bit = either level intercepts; covers l1_mask");
	for (i = 0; i < COMBOS(2); i++) {
		c.l0_mask = in(i, 0, BG_L0);
		c.l1_mask = in(i, 1, BG_L1);
		l1o = nvmx_cr_l1_owned(&c);
		l0o = nvmx_cr_l0_owned(&c);
		own.n++;
		for (b = 0; b < 64; b++) {
			want = ref_owner(bit(c.l0_mask, b), bit(c.l1_mask, b));
			want_l1o = put(b, want == OWN_L1);
			want_l0o = put(b, want == OWN_L0);
			if ((l1o & put(b, 1)) != want_l1o || (l0o & put(b, 1)) != want_l0o) {
				mismatch(&own,
					 "l0_mask %llx l1_mask %llx bit %d: expected owner %d, got L1/L0 owned bits %d%d",
					 ull(c.l0_mask), ull(c.l1_mask), b, want,
					 bit(l1o, b), bit(l0o, b));
				break;
			}
		}
		m02.n++;
		for (b = 0; b < 64; b++) {
			m = bit(c.l0_mask, b) || bit(c.l1_mask, b);
			if (bit(nvmx_cr_mask02(&c), b) != m) {
				mismatch(&m02, "l0_mask %llx l1_mask %llx bit %d: expected %d",
					 ull(c.l0_mask), ull(c.l1_mask), b, m);
				break;
			}
		}
		if ((nvmx_cr_mask02(&c) & c.l1_mask) != c.l1_mask)
			mismatch(&m02, "l1_mask %llx not covered by mask02 %llx",
				 ull(c.l1_mask), ull(nvmx_cr_mask02(&c)));
	}
	enumerated += own.n;
	report(&own);
	report(&m02);
}

/*
 * vmcs02's read shadow, by the design: "a bit L1 owns reads as vmcs12's
 * shadow; every other bit holds the value L2 has, guest12".
 */
static unsigned long long check_shadow02(const struct impl *f, bool quiet)
{
	struct check k;
	struct nvmx_cr c;
	unsigned long i;
	int b;
	u64 g12, got;
	int want;

	check_init(&k, "shadow02 per bit");
	k.quiet = quiet;
	for (i = 0; i < COMBOS(4); i++) {
		c.l0_mask = in(i, 0, BG_L0);
		c.l1_mask = in(i, 1, BG_L1);
		c.l1_shadow = in(i, 2, BG_L1S);
		g12 = in(i, 3, BG_G12);
		got = f->shadow02(&c, g12);
		k.n++;
		for (b = 0; b < 64; b++) {
			if (ref_owner(bit(c.l0_mask, b), bit(c.l1_mask, b)) == OWN_L1)
				want = bit(c.l1_shadow, b);
			else
				want = bit(g12, b);
			if (bit(got, b) != want) {
				mismatch(&k,
					 "l0 %llx l1 %llx l1s %llx g12 %llx bit %d: expected %d, got %d",
					 ull(c.l0_mask), ull(c.l1_mask), ull(c.l1_shadow),
					 ull(g12), b, want, bit(got, b));
				break;
			}
		}
	}
	if (!quiet) {
		enumerated += k.n;
		report(&k);
	}
	return k.bad;
}

/*
 * vmcs12's guest CR at exit, by the design: "L1-owned bits unchanged from
 * guest12; L0-owned bits are L2's intended value, shadow02; L2-owned bits
 * are the live guest02".
 */
static unsigned long long check_guest12(const struct impl *f, bool quiet)
{
	struct check k;
	struct nvmx_cr c = { 0 };
	unsigned long i;
	int b, want;
	u64 g12, s02, g02, got;

	check_init(&k, "guest12 at exit per bit");
	k.quiet = quiet;
	for (i = 0; i < COMBOS(5); i++) {
		c.l0_mask = in(i, 0, BG_L0);
		c.l1_mask = in(i, 1, BG_L1);
		g12 = in(i, 2, BG_G12);
		s02 = in(i, 3, BG_L1S);
		g02 = in(i, 4, BG_LIVE);
		got = f->guest12(&c, g12, s02, g02);
		k.n++;
		for (b = 0; b < 64; b++) {
			switch (ref_owner(bit(c.l0_mask, b), bit(c.l1_mask, b))) {
			case OWN_L1:
				want = bit(g12, b);
				break;
			case OWN_L0:
				want = bit(s02, b);
				break;
			default:
				want = bit(g02, b);
				break;
			}
			if (bit(got, b) != want) {
				mismatch(&k,
					 "l0 %llx l1 %llx g12 %llx s02 %llx g02 %llx bit %d: expected %d, got %d",
					 ull(c.l0_mask), ull(c.l1_mask), ull(g12), ull(s02),
					 ull(g02), b, want, bit(got, b));
				break;
			}
		}
	}
	if (!quiet) {
		enumerated += k.n;
		report(&k);
	}
	return k.bad;
}

/* SDM 25.1.3 MOV to CR with vmcs12's mask and shadow; L0's mask is irrelevant. */
static unsigned long long check_exits(const struct impl *f, bool quiet)
{
	struct check k;
	struct nvmx_cr c;
	unsigned long i;
	u64 src;
	bool want, got;

	check_init(&k, "write exits to L1 = SDM 25.1.3 under vmcs12");
	k.quiet = quiet;
	for (i = 0; i < COMBOS(4); i++) {
		c.l0_mask = in(i, 0, BG_L0);
		c.l1_mask = in(i, 1, BG_L1);
		c.l1_shadow = in(i, 2, BG_L1S);
		src = in(i, 3, BG_SRC_QUIET);
		want = sdm_write_exits(~0ULL, c.l1_mask, c.l1_shadow, src);
		got = f->exits(&c, src);
		k.n++;
		if (got != want)
			mismatch(&k, "l0 %llx l1 %llx l1s %llx src %llx: expected %d, got %d",
				 ull(c.l0_mask), ull(c.l1_mask), ull(c.l1_shadow), ull(src),
				 want, got);
	}
	if (!quiet) {
		enumerated += k.n;
		report(&k);
	}
	return k.bad;
}

/*
 * L0's mask as the module builds it, from the bits vmx.c leaves guest-owned
 * without vmcs12's: vmcs01's mask while L1 runs, vmcs02's (vmcs01's with
 * vmcs12's added) while L2 runs.  Every helper must answer the same for
 * vmcs01's mask, for vmcs02's and for either without L1's bits.
 */
static unsigned long long check_l0_mask_forms(const struct impl *h, bool quiet)
{
	struct check k;
	struct nvmx_cr c[3];
	unsigned long i;
	u64 l0, g12, s02, g02, src;
	int f;

	check_init(&k, "same answers for l0_mask with or without L1's bits");
	k.quiet = quiet;
	for (i = 0; i < COMBOS(5); i++) {
		l0 = in(i, 0, BG_L0);
		c[0].l1_mask = in(i, 1, BG_L1);
		c[0].l1_shadow = in(i, 2, BG_L1S);
		g12 = in(i, 3, BG_G12);
		s02 = in(i, 4, BG_LIVE);
		/* every pair of shadow02 and guest02 bits, as g12 varies */
		g02 = s02 ^ g12;
		src = s02;
		c[1] = c[0];
		c[2] = c[0];
		c[0].l0_mask = l0;
		c[1].l0_mask = l0 | c[0].l1_mask;
		c[2].l0_mask = l0 & ~c[0].l1_mask;
		k.n++;
		for (f = 1; f < 3; f++) {
			if (nvmx_cr_l1_owned(&c[f]) == nvmx_cr_l1_owned(&c[0]) &&
			    nvmx_cr_l0_owned(&c[f]) == nvmx_cr_l0_owned(&c[0]) &&
			    nvmx_cr_mask02(&c[f]) == nvmx_cr_mask02(&c[0]) &&
			    h->shadow02(&c[f], g12) == h->shadow02(&c[0], g12) &&
			    h->guest12(&c[f], g12, s02, g02) ==
			    h->guest12(&c[0], g12, s02, g02) &&
			    h->exits(&c[f], src) == h->exits(&c[0], src))
				continue;
			mismatch(&k,
				 "l0 %llx l1 %llx l1s %llx g12 %llx s02 %llx g02 %llx: l0_mask %llx differs",
				 ull(l0), ull(c[0].l1_mask), ull(c[0].l1_shadow), ull(g12),
				 ull(s02), ull(g02), ull(c[f].l0_mask));
			break;
		}
	}
	if (!quiet) {
		enumerated += k.n;
		report(&k);
	}
	return k.bad;
}

/* The checks must be able to fail: each mutant has to be caught. */
static void check_mutants(void)
{
	const struct impl m_shadow = { bad_shadow02, nvmx_cr_guest12, nvmx_cr_write_exits_to_l1 };
	const struct impl m_guest12 = { nvmx_cr_shadow02, bad_guest12, nvmx_cr_write_exits_to_l1 };
	const struct impl m_exits = { nvmx_cr_shadow02, nvmx_cr_guest12, bad_exits };
	const struct impl m_order = { nvmx_cr_shadow02, bad_guest12_order,
				      nvmx_cr_write_exits_to_l1 };
	unsigned long long n;

	n = check_shadow02(&m_shadow, true);
	tap(n > 0, "%s [%s]: shadow02 check rejects a shadow02 ignoring l1_shadow (%llu caught)",
	    cur->reg, cur->names, n);
	n = check_guest12(&m_guest12, true);
	tap(n > 0, "%s [%s]: guest12 check rejects saving L0's bits from the live CR (%llu caught)",
	    cur->reg, cur->names, n);
	n = check_exits(&m_exits, true);
	tap(n > 0, "%s [%s]: exit check rejects exiting to L1 on L0's bits (%llu caught)",
	    cur->reg, cur->names, n);
	n = check_l0_mask_forms(&m_order, true);
	tap(n > 0, "%s [%s]: l0_mask forms check rejects L0's mask winning over L1's (%llu caught)",
	    cur->reg, cur->names, n);
}

/* ---- part B: entry, one write by L2, exit, against the L1-only machine ---- */

struct run_checks {
	struct check view0, keep, exits, only_l0_l2, hw_traps, rebuild, view1, last_write, saved;
	unsigned long long path_l1, path_hw, path_l0, l0_live_differs;
};

/* Parts of the L1-only machine's answers outside the window: fixed. */
static u64 view0_out, g12w_out, view1_out;

static void scenario(struct run_checks *r, u64 l0m, u64 l1m, u64 l1s, u64 g12, u64 live,
		     u64 src)
{
	/* the helpers' inputs as the module builds them; L0's live value by l0m */
	struct nvmx_cr c = { .l1_mask = l1m, .l1_shadow = l1s, .l0_mask = l0m & ~l1m };
	u64 m02, s02, g02, view0, want, saved, ng12, view1, l0o;
	bool to_l1, hw_exit;

	/* VM entry: L0 builds vmcs02 (L0 keeps @live in bits it intercepts). */
	m02 = nvmx_cr_mask02(&c);
	s02 = nvmx_cr_shadow02(&c, g12);
	g02 = l0_guest02(l0m, g12, live);

	/* L2 reads CR: simulated hardware (SDM 25.3) vs the L1-only machine. */
	view0 = hw_read(m02, s02, g02);
	want = view0_out | sdm_read(wmask, l1m, l1s, g12);
	r->view0.n++;
	if (view0 != want)
		mismatch(&r->view0,
			 "l0 %llx l1 %llx l1s %llx g12 %llx live %llx: expected %llx, got %llx",
			 ull(l0m), ull(l1m), ull(l1s), ull(g12), ull(live), ull(want),
			 ull(view0));

	/* An exit right after entry saves vmcs12's guest CR unchanged. */
	saved = nvmx_cr_guest12(&c, g12, s02, g02);
	r->keep.n++;
	if (saved != g12)
		mismatch(&r->keep, "l0 %llx l1 %llx l1s %llx live %llx: expected %llx, got %llx",
			 ull(l0m), ull(l1m), ull(l1s), ull(live), ull(g12), ull(saved));

	/* L2 executes MOV to CR with @src. */
	to_l1 = nvmx_cr_write_exits_to_l1(&c, src);
	r->exits.n++;
	if (to_l1 != sdm_write_exits(wmask, l1m, l1s, src))
		mismatch(&r->exits, "l1 %llx l1s %llx src %llx: expected %d, got %d",
			 ull(l1m), ull(l1s), ull(src), !to_l1, to_l1);
	if (((src ^ view0) & l1m) == 0) {
		r->only_l0_l2.n++;
		if (to_l1)
			mismatch(&r->only_l0_l2, "l0 %llx l1 %llx view %llx src %llx: exits to L1",
				 ull(l0m), ull(l1m), ull(view0), ull(src));
	}
	/* SDM 25.1.3 with vmcs02: the hardware must trap what L1 must see. */
	hw_exit = ((src ^ s02) & m02) != 0;
	r->hw_traps.n++;
	if (to_l1 && !hw_exit)
		mismatch(&r->hw_traps, "l0 %llx l1 %llx l1s %llx g12 %llx src %llx: no exit to L0",
			 ull(l0m), ull(l1m), ull(l1s), ull(g12), ull(src));
	if (to_l1) {
		r->path_l1++;	/* fault-like exit: nothing written */
		return;
	}
	if (!hw_exit) {
		/* SDM 25.3 on vmcs02: hardware writes the unmasked bits. */
		r->path_hw++;
		g02 = (g02 & m02) | (src & ~m02);
	} else {
		/* L0 completes it; L0 also changes its live value. */
		r->path_l0++;
		ng12 = l0_write_guest12(l1m, g12, src);
		s02 = src;
		g02 = l0_guest02(l0m, ng12, ~live);
		/* ... leaving vmcs02 as an entry with the new value builds it */
		r->rebuild.n++;
		if (s02 != nvmx_cr_shadow02(&c, ng12))
			mismatch(&r->rebuild,
				 "l0 %llx l1 %llx l1s %llx g12 %llx src %llx: shadow02 %llx, entry builds %llx",
				 ull(l0m), ull(l1m), ull(l1s), ull(g12), ull(src),
				 ull(s02), ull(nvmx_cr_shadow02(&c, ng12)));
	}

	/* L2 reads back; the L1-only machine after SDM 25.3's write. */
	ng12 = g12w_out | sdm_write(wmask, l1m, g12, src);
	view1 = hw_read(m02, s02, g02);
	want = view1_out | sdm_read(wmask, l1m, l1s, ng12);
	r->view1.n++;
	if (view1 != want)
		mismatch(&r->view1,
			 "l0 %llx l1 %llx l1s %llx g12 %llx live %llx src %llx: expected %llx, got %llx",
			 ull(l0m), ull(l1m), ull(l1s), ull(g12), ull(live), ull(src),
			 ull(want), ull(view1));
	l0o = l0m & ~l1m;
	r->last_write.n++;
	if ((view1 ^ src) & l0o)
		mismatch(&r->last_write, "l0-owned %llx src %llx view %llx",
			 ull(l0o), ull(src), ull(view1));
	if ((g02 ^ src) & l0o)
		r->l0_live_differs++;

	/* The next exit (or a VMREAD of the field) saves L2's CR. */
	saved = nvmx_cr_guest12(&c, g12, s02, g02);
	r->saved.n++;
	if (saved != ng12)
		mismatch(&r->saved,
			 "l0 %llx l1 %llx l1s %llx g12 %llx live %llx src %llx: expected %llx, got %llx",
			 ull(l0m), ull(l1m), ull(l1s), ull(g12), ull(live), ull(src),
			 ull(ng12), ull(saved));
}

static void check_scenarios(void)
{
	struct run_checks r = { 0 };
	unsigned long i;
	u64 out = ~wmask;

	check_init(&r.view0, "entry: L2 reads what it would under L1 alone");
	check_init(&r.keep, "entry then immediate exit leaves guest12 unchanged");
	check_init(&r.exits, "MOV to CR exits to L1 as under L1 alone");
	check_init(&r.only_l0_l2, "write changing only L0-/L2-owned bits never exits to L1");
	check_init(&r.hw_traps, "vmcs02 traps every write that must exit to L1");
	check_init(&r.rebuild, "a write L0 completes leaves the shadow02 entry builds");
	check_init(&r.view1, "after a write: L2 reads what it would under L1 alone");
	check_init(&r.last_write, "after a write: L2's view of L0-owned bits is what it wrote");
	check_init(&r.saved, "after a write: exit saves the guest CR of L1 alone");

	/* Else every write would exit and the other paths go untested. */
	if (sdm_write_exits(out, BG_L1, BG_L1S, BG_SRC_QUIET) ||
	    sdm_write_exits(out, BG_L0 | BG_L1, (BG_L1S & BG_L1) | (BG_G12 & ~BG_L1),
			    BG_SRC_QUIET)) {
		tap(false, "%s [%s]: background source must not trap", cur->reg, cur->names);
		return;
	}
	view0_out = sdm_read(out, BG_L1, BG_L1S, BG_G12);
	g12w_out = sdm_write(out, BG_L1, BG_G12, BG_SRC_QUIET);
	view1_out = sdm_read(out, BG_L1, BG_L1S, g12w_out);

	for (i = 0; i < COMBOS(6); i++)
		scenario(&r, in(i, 0, BG_L0), in(i, 1, BG_L1), in(i, 2, BG_L1S), in(i, 3, BG_G12),
			 in(i, 4, BG_LIVE), in(i, 5, BG_SRC_QUIET));

	enumerated += r.view0.n;
	report(&r.view0);
	report(&r.keep);
	report(&r.exits);
	report(&r.only_l0_l2);
	report(&r.hw_traps);
	report(&r.rebuild);
	report(&r.view1);
	report(&r.last_write);
	report(&r.saved);
	printf("# %s [%s]: writes exiting to L1 %llu, done by hardware %llu, done by L0 %llu\n",
	       cur->reg, cur->names, r.path_l1, r.path_hw, r.path_l0);
	printf("# %s [%s]: L0's live value differed from L2's at an L0-owned bit in %llu\n",
	       cur->reg, cur->names, r.l0_live_differs);
	tap(r.path_l1 && r.path_hw && r.path_l0 && r.l0_live_differs,
	    "%s [%s]: every path of a write was taken", cur->reg, cur->names);
}

/* ---- part C: CLTS and LMSW (CR0) against the SDM's own wording ---- */

/* Bits neither the window nor CLTS/LMSW change, and L2's view of them. */
static u64 insn_out;

struct cr0_insn_checks {
	struct check exits, hw_traps, saved, view1;
	unsigned long long no_exit;
};

/*
 * One CLTS or LMSW by L2 (@lmsw selects), as a write of the computed value.
 * @want_exit and @after are the L1-only machine's answers.
 */
static void cr0_insn(struct cr0_insn_checks *k, const struct nvmx_cr *c, u64 g12, u64 live,
		     bool lmsw, u16 src)
{
	u64 m02 = nvmx_cr_mask02(c);
	u64 s02 = nvmx_cr_shadow02(c, g12);
	u64 g02 = l0_guest02(c->l0_mask, g12, live);
	u64 view0 = hw_read(m02, s02, g02);
	u64 new_val, after, saved, view1, want;
	bool to_l1, want_exit, hw_exit;

	if (lmsw) {
		new_val = nvmx_cr0_lmsw_value(view0, src);
		want_exit = sdm_lmsw_exits(c->l1_mask, c->l1_shadow, src);
		hw_exit = sdm_lmsw_exits(m02, s02, src);
		after = sdm_lmsw(c->l1_mask, g12, src);
	} else {
		new_val = nvmx_cr0_clts_value(view0);
		want_exit = sdm_clts_exits(c->l1_mask, c->l1_shadow);
		hw_exit = sdm_clts_exits(m02, s02);
		after = sdm_clts(c->l1_mask, g12);
	}
	to_l1 = nvmx_cr_write_exits_to_l1(c, new_val);
	k->exits.n++;
	if (to_l1 != want_exit)
		mismatch(&k->exits, "l1 %llx l1s %llx view %llx src %x: expected %d, got %d",
			 ull(c->l1_mask), ull(c->l1_shadow), ull(view0), src, want_exit, to_l1);
	k->hw_traps.n++;
	if (want_exit && !hw_exit)
		mismatch(&k->hw_traps, "l0 %llx l1 %llx l1s %llx g12 %llx src %x: no exit to L0",
			 ull(c->l0_mask), ull(c->l1_mask), ull(c->l1_shadow), ull(g12), src);
	if (to_l1 || want_exit)
		return;
	k->no_exit++;
	if (!hw_exit) {
		/* SDM 25.3 on vmcs02: the hardware executes it. */
		g02 = lmsw ? sdm_lmsw(m02, g02, src) : sdm_clts(m02, g02);
	} else {
		/* L0 completes it as a MOV to CR0 of the value it computes */
		s02 = new_val;
		g02 = l0_guest02(c->l0_mask, l0_write_guest12(c->l1_mask, g12, new_val),
				 ~live);
	}
	saved = nvmx_cr_guest12(c, g12, s02, g02);
	k->saved.n++;
	if (saved != after)
		mismatch(&k->saved,
			 "l0 %llx l1 %llx l1s %llx g12 %llx live %llx src %x: expected %llx, got %llx",
			 ull(c->l0_mask), ull(c->l1_mask), ull(c->l1_shadow), ull(g12),
			 ull(live), src, ull(after), ull(saved));
	view1 = hw_read(m02, s02, g02);
	want = view1_out | sdm_read(~insn_out, c->l1_mask, c->l1_shadow, after);
	k->view1.n++;
	if (view1 != want)
		mismatch(&k->view1,
			 "l0 %llx l1 %llx l1s %llx g12 %llx src %x: expected %llx, got %llx",
			 ull(c->l0_mask), ull(c->l1_mask), ull(c->l1_shadow), ull(g12), src,
			 ull(want), ull(view1));
}

static void check_clts_lmsw(void)
{
	struct cr0_insn_checks clts = { 0 }, lmsw = { 0 };
	struct nvmx_cr c;
	unsigned long i, iv;
	u64 g12, live;
	u16 src;

	check_init(&clts.exits, "CLTS exits to L1 as SDM 25.1.3 words it");
	check_init(&clts.hw_traps, "CLTS: vmcs02 traps every CLTS that must exit to L1");
	check_init(&clts.saved, "CLTS not exiting: guest12 as SDM 25.3 words it");
	check_init(&clts.view1, "CLTS not exiting: L2 reads what it would under L1 alone");
	check_init(&lmsw.exits, "LMSW exits to L1 as SDM 25.1.3 words it");
	check_init(&lmsw.hw_traps, "LMSW: vmcs02 traps every LMSW that must exit to L1");
	check_init(&lmsw.saved, "LMSW not exiting: guest12 as SDM 25.3 words it");
	check_init(&lmsw.view1, "LMSW not exiting: L2 reads what it would under L1 alone");
	insn_out = ~(wmask | NVMX_CR0_LMSW_BITS);
	view1_out = sdm_read(insn_out, BG_L1, BG_L1S, BG_G12);
	for (i = 0; i < COMBOS(5); i++) {
		c.l0_mask = in(i, 0, BG_L0);
		c.l1_mask = in(i, 1, BG_L1);
		c.l1_shadow = in(i, 2, BG_L1S);
		g12 = in(i, 3, BG_G12);
		live = in(i, 4, BG_LIVE);
		cr0_insn(&clts, &c, g12, live, false, 0);
		/* source bits 15:4 must not matter: fill them with noise */
		for (iv = 0; iv < N_VAL; iv++) {
			src = (u16)in(iv, 0, (BG_SRC_QUIET & NVMX_CR0_LMSW_BITS) | 0xa5a0);
			cr0_insn(&lmsw, &c, g12, live, true, src);
		}
	}
	enumerated += clts.exits.n + lmsw.exits.n;
	report(&clts.exits);
	report(&clts.hw_traps);
	report(&clts.saved);
	report(&clts.view1);
	report(&lmsw.exits);
	report(&lmsw.hw_traps);
	report(&lmsw.saved);
	report(&lmsw.view1);
	tap(clts.no_exit && lmsw.no_exit,
	    "%s [%s]: CLTS (%llu) and LMSW (%llu) ran without exit to L1",
	    cur->reg, cur->names, clts.no_exit, lmsw.no_exit);
}

/* ---- part D: the review's cases, with literal values ---- */

#define CR0_PE	0x1ULL
#define CR0_MP	0x2ULL
#define CR0_TS	0x8ULL
#define CR0_NE	0x20ULL
#define CR0_PG	0x80000000ULL
#define CR4_PAE	0x20ULL
#define CR4_PGE	0x80ULL
#define CR4_OSFXSR	0x200ULL
#define CR4_VMXE	0x2000ULL

static void expect_u64(const char *what, u64 want, u64 got)
{
	if (want != got)
		printf("# %s: expected %#llx, got %#llx\n", what, ull(want), ull(got));
	tap(want == got, "%s = %#llx", what, ull(want));
}

static void expect_bool(const char *what, bool want, bool got)
{
	if (want != got)
		printf("# %s: expected %d, got %d\n", what, want, got);
	tap(want == got, "%s: %s", what, want ? "yes" : "no");
}

/*
 * L0 intercepts CR0.TS for lazy FPU while L1 lets L2 own TS.  L2's CLTS
 * reaches L0 only; L0 leaves the live TS set until the FPU is loaded, and
 * L1 must still see TS clear in vmcs12.  @g12 is vmcs12's guest CR0 field,
 * @cr L2's CR0 from L1's side after the write.
 */
static void review_lazy_fpu_ts(void)
{
	const u64 base = CR0_PE | CR0_NE | CR0_PG;
	const struct nvmx_cr c = { .l1_mask = base, .l1_shadow = base, .l0_mask = CR0_TS };
	const struct nvmx_cr l1_ts = { .l1_mask = CR0_TS, .l1_shadow = CR0_TS,
				       .l0_mask = CR0_TS };
	const u64 g12 = base | CR0_MP | CR0_TS;	/* 0x8000002b */
	u64 s02, g02, v, cr;

	expect_u64("lazy FPU: mask02", base | CR0_TS, nvmx_cr_mask02(&c));
	expect_bool("lazy FPU: TS is owned by L0", true, nvmx_cr_l0_owned(&c) & CR0_TS);
	s02 = nvmx_cr_shadow02(&c, g12);
	g02 = l0_guest02(c.l0_mask, g12, CR0_TS);
	expect_u64("lazy FPU: shadow02 at entry", 0x8000002bULL, s02);
	v = nvmx_cr0_clts_value(hw_read(nvmx_cr_mask02(&c), s02, g02));
	expect_u64("lazy FPU: CLTS writes", 0x80000023ULL, v);
	expect_bool("lazy FPU: CLTS traps in vmcs02 (TS set in mask02 and shadow02)", true,
		    sdm_clts_exits(nvmx_cr_mask02(&c), s02));
	expect_bool("lazy FPU: CLTS exits to L1", false, nvmx_cr_write_exits_to_l1(&c, v));
	cr = l0_write_guest12(c.l1_mask, g12, v);
	s02 = v;
	g02 = l0_guest02(c.l0_mask, cr, CR0_TS);	/* FPU still not loaded */
	expect_u64("lazy FPU: shadow02 after CLTS", 0x80000023ULL, s02);
	expect_u64("lazy FPU: live CR0 keeps TS", 0x8000002bULL, g02);
	expect_u64("lazy FPU: L2 reads CR0 after CLTS", 0x80000023ULL,
		   hw_read(nvmx_cr_mask02(&c), s02, g02));
	expect_u64("lazy FPU: vmcs12 guest CR0 at exit", 0x80000023ULL,
		   nvmx_cr_guest12(&c, g12, s02, g02));
	g02 = l0_guest02(c.l0_mask, cr, 0);	/* L0 loaded the FPU */
	expect_u64("lazy FPU: vmcs12 guest CR0 at exit after FPU load", 0x80000023ULL,
		   nvmx_cr_guest12(&c, g12, s02, g02));
	v = nvmx_cr0_lmsw_value(hw_read(nvmx_cr_mask02(&c), s02, g02), CR0_TS | CR0_MP);
	expect_u64("lazy FPU: LMSW 0xa writes (PE kept)", 0x8000002bULL, v);
	expect_bool("lazy FPU: LMSW setting TS exits to L1", false,
		    nvmx_cr_write_exits_to_l1(&c, v));
	expect_bool("lazy FPU: LMSW 0x0 (clearing PE) exits to L1", false,
		    nvmx_cr_write_exits_to_l1(&c, nvmx_cr0_lmsw_value(0x80000023ULL, 0)));
	expect_bool("lazy FPU: MOV to CR0 clearing PG exits to L1", true,
		    nvmx_cr_write_exits_to_l1(&c, 0x80000023ULL & ~CR0_PG));
	/* The same CLTS when L1 intercepts TS with TS set in its shadow. */
	expect_bool("L1 intercepts TS, shadow TS=1: CLTS exits to L1", true,
		    nvmx_cr_write_exits_to_l1(&l1_ts, nvmx_cr0_clts_value(CR0_TS)));
}

/* The same shape for CR4: L0 intercepts PGE, L1 lets L2 own it. */
static void review_cr4_pge(void)
{
	const struct nvmx_cr c = { .l1_mask = CR4_VMXE, .l1_shadow = 0, .l0_mask = CR4_PGE };
	const u64 g12 = CR4_PAE | CR4_PGE | CR4_OSFXSR | CR4_VMXE;	/* 0x22a0 */
	u64 s02, g02, v, cr;

	expect_bool("CR4 PGE: PGE is owned by L0", true, nvmx_cr_l0_owned(&c) & CR4_PGE);
	s02 = nvmx_cr_shadow02(&c, g12);
	g02 = l0_guest02(c.l0_mask, g12, CR4_PGE);
	expect_u64("CR4 PGE: L2 reads CR4 at entry (VMXE hidden by L1)", 0x2a0ULL,
		   hw_read(nvmx_cr_mask02(&c), s02, g02));
	v = hw_read(nvmx_cr_mask02(&c), s02, g02) & ~CR4_PGE;
	expect_bool("CR4 PGE: clearing PGE exits to L1", false, nvmx_cr_write_exits_to_l1(&c, v));
	cr = l0_write_guest12(c.l1_mask, g12, v);
	s02 = v;
	g02 = l0_guest02(c.l0_mask, cr, CR4_PGE);	/* L0 keeps PGE live */
	expect_u64("CR4 PGE: live CR4 keeps PGE", 0x22a0ULL, g02);
	expect_u64("CR4 PGE: L2 reads CR4 after the write", 0x220ULL,
		   hw_read(nvmx_cr_mask02(&c), s02, g02));
	expect_u64("CR4 PGE: vmcs12 guest CR4 at exit", 0x2220ULL,
		   nvmx_cr_guest12(&c, g12, s02, g02));
	expect_bool("CR4 PGE: setting VMXE exits to L1", true,
		    nvmx_cr_write_exits_to_l1(&c, v | CR4_VMXE));
}

int main(void)
{
	size_t w;

	for (w = 0; w < ARRAY_SIZE(windows); w++) {
		set_window(&windows[w]);
		check_owner();
		check_shadow02(&real, false);
		check_guest12(&real, false);
		check_exits(&real, false);
		check_l0_mask_forms(&real, false);
		check_mutants();
		check_scenarios();
		if (windows[w].is_cr0)
			check_clts_lmsw();
	}
	review_lazy_fpu_ts();
	review_cr4_pge();
	printf("# %llu input combinations enumerated\n", enumerated);
	printf("# %llu (check, combination) pairs checked\n", total_checks);
	printf("1..%d\n", tap_n);
	return tap_failed ? 1 : 0;
}
