/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Who owns each bit of CR0 and CR4 while L2 runs, and what every party sees.
 *
 * One rule serves both registers: the SDM gives MOV to/from CR0 and CR4 the
 * same wording (SDM 25.1.3, 25.3), so nothing here knows which register it is
 * working on.  The only bits named are the two that LMSW and CLTS single out
 * (SDM 25.1.3): those instructions are turned into an ordinary write of a
 * computed value, and the general rule then decides.
 *
 * Each bit has exactly one owner:
 *   L1 - set in vmcs12's guest/host mask.  L2 reads vmcs12's read shadow and
 *        cannot change the bit without a VM exit to L1 (SDM 25.1.3); the
 *        value L1 put in vmcs12's guest CR is never touched.
 *   L0 - set in L0's own mask but not in L1's.  L0 may keep its own value in
 *        the live register (vmx.c computes it); what L2 intends is kept in
 *        vmcs02's read shadow.
 *   L2 - in neither mask: the live guest CR is the truth.
 *
 * This file is plain C so the host-side unit tests use it unchanged.
 */
#ifndef NVMX_CR_OWNER_H
#define NVMX_CR_OWNER_H

#include <nvmx/types.h>

/* CR0 bits with instruction-specific rules (SDM 25.1.3, LMSW and CLTS). */
#define NVMX_CR0_PE		0x1ULL	/* LMSW can set PE but never clear it */
#define NVMX_CR0_TS		0x8ULL	/* the one bit CLTS writes */
#define NVMX_CR0_LMSW_BITS	0xfULL	/* LMSW writes CR0[3:0] only */

/*
 * Inputs fixed for one L2 run, for one of CR0/CR4:
 * @l1_mask:   vmcs12's guest/host mask
 * @l1_shadow: vmcs12's read shadow
 * @l0_mask:   the bits L0 intercepts on its own account: vmcs01's
 *             guest/host mask, which does not change while L2 runs.  Where
 *             both intercept, the bit is L1's (nvmx_cr_l0_owned()), so every
 *             helper answers the same whether or not @l0_mask has vmcs12's
 *             bits too.
 */
struct nvmx_cr {
	u64 l1_mask;
	u64 l1_shadow;
	u64 l0_mask;
};

/* Take the bits of @sel from @from, every other bit from @rest. */
static inline u64 nvmx_cr_pick(u64 sel, u64 from, u64 rest)
{
	return (from & sel) | (rest & ~sel);
}

static inline u64 nvmx_cr_l1_owned(const struct nvmx_cr *c)
{
	return c->l1_mask;
}

/* L1's claim wins: a bit both intercept is answered to L2 by L1's shadow. */
static inline u64 nvmx_cr_l0_owned(const struct nvmx_cr *c)
{
	return c->l0_mask & ~c->l1_mask;
}

/*
 * vmcs02's guest/host mask: the hardware must trap every bit either level
 * wants to see written (SDM 25.1.3), so L0 can reflect L1's and keep its own.
 */
static inline u64 nvmx_cr_mask02(const struct nvmx_cr *c)
{
	return c->l0_mask | c->l1_mask;
}

/*
 * vmcs02's read shadow for L2's CR value @guest12.  MOV from CR reads the
 * shadow at every masked bit (SDM 25.3): L1's bits must read as L1's shadow,
 * L0's bits as the value L2 has (L0 only borrows them).
 */
static inline u64 nvmx_cr_shadow02(const struct nvmx_cr *c, u64 guest12)
{
	return nvmx_cr_pick(nvmx_cr_l1_owned(c), c->l1_shadow, guest12);
}

/*
 * vmcs12's guest CR after L2 ran, as the VM exit to L1 saves it (VMREAD
 * then reads the field).  SDM 27.3.1 saves the register as L2 has it, seen
 * from L1's side: L1's bits are what L1 loaded, since L2 cannot change them
 * without an exit (SDM 25.3); L0's bits are L2's intended value in vmcs02's
 * shadow, not L0's private live value; L2's bits are live.
 */
static inline u64 nvmx_cr_guest12(const struct nvmx_cr *c, u64 guest12,
				  u64 shadow02, u64 guest02)
{
	u64 l2_value = nvmx_cr_pick(nvmx_cr_l0_owned(c), shadow02, guest02);

	return nvmx_cr_pick(nvmx_cr_l1_owned(c), guest12, l2_value);
}

/*
 * Does L2 writing @new_val exit to L1?  SDM 25.1.3 (MOV to CR0/CR4): yes
 * unless @new_val matches vmcs12's read shadow at every bit of vmcs12's mask.
 * CLTS and LMSW are asked through nvmx_cr0_clts_value()/_lmsw_value().
 */
static inline bool nvmx_cr_write_exits_to_l1(const struct nvmx_cr *c,
					     u64 new_val)
{
	return ((new_val ^ c->l1_shadow) & c->l1_mask) != 0;
}

/* CLTS as a write: the CR0 L2 sees with TS clear (SDM 25.1.3, 25.3). */
static inline u64 nvmx_cr0_clts_value(u64 l2_view)
{
	return l2_view & ~NVMX_CR0_TS;
}

/*
 * LMSW as a write: CR0[3:0] from @src, except that a PE already set stays
 * set (SDM 25.1.3, 25.3); bits 15:4 of @src are ignored.
 */
static inline u64 nvmx_cr0_lmsw_value(u64 l2_view, u16 src)
{
	u64 low = (src & NVMX_CR0_LMSW_BITS) | (l2_view & NVMX_CR0_PE);

	return nvmx_cr_pick(NVMX_CR0_LMSW_BITS, low, l2_view);
}

#endif /* NVMX_CR_OWNER_H */
