/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Definitions generated from the vmcs12 field rows (vmcs12_rows.h): the
 * nvmx_fields[] array and the encoding lookup nvmx_vmcs12_field().
 *
 * Include this from exactly one C file of a program (the module's
 * arch/x86/kvm/vmx/vmcs12.c, a host test): it defines objects with external
 * linkage, so the array exists once and descriptors compare by address.
 */
#ifndef NVMX_VMCS12_TABLE_H
#define NVMX_VMCS12_TABLE_H

#include <nvmx/vmcs12_fields.h>

#define NVMX_DESC(m, enc, w, cl, sy, ctl, sh, access, nm)		\
	{								\
		.encoding = (enc) | (access),				\
		.offset = offsetof(struct vmcs12, m),			\
		.width = (w),						\
		.class = (cl),						\
		.sync = (sy),						\
		.save_ctl = (ctl),					\
		.shadow = (sh),						\
		.name = (nm),						\
	}

const struct nvmx_field nvmx_fields[NVMX_NR_FIELDS] = {
#define NVMX_VMCS12_FIELD(m, enc, w, cl, sy, ctl, sh)			\
	[NVMX_IDX_##m] = NVMX_DESC(m, enc, w, cl, sy, ctl, sh, 0, #m),
#include <nvmx/vmcs12_rows.h>
};

/*
 * The upper halves of the 64-bit fields, the only ones with a high-access
 * encoding (SDM 24.11.2): entry i describes the upper half of nvmx_fields[i]
 * when that field is 64-bit, and is empty otherwise.  NVMX_ITEM_IF_W64()
 * keeps a list item for the 64-bit rows alone.
 */
#define NVMX_ITEM_IF_NVMX_W16(...)
#define NVMX_ITEM_IF_NVMX_W32(...)
#define NVMX_ITEM_IF_NVMX_WNAT(...)
#define NVMX_ITEM_IF_NVMX_W64(...)	__VA_ARGS__,
#define NVMX_ITEM_IF_W64(w, ...)	NVMX_ITEM_IF_##w(__VA_ARGS__)

static const struct nvmx_field nvmx_fields_high[NVMX_NR_FIELDS] = {
#define NVMX_VMCS12_FIELD(m, enc, w, cl, sy, ctl, sh)			\
	NVMX_ITEM_IF_W64(w, [NVMX_IDX_##m] =				\
			 NVMX_DESC(m, enc, NVMX_W64, cl, sy, ctl, sh,		\
				   NVMX_ENC_HIGH, #m "_high"))
#include <nvmx/vmcs12_rows.h>
};

/*
 * Encoding to row by a perfect hash: every supported encoding leaves its own
 * remainder modulo NVMX_FIELD_HASH (361 is the smallest modulus that does
 * for these rows), so finding a field costs one division by a constant, one
 * byte load and one compare.  A slot holds its row's index; an empty slot
 * holds 0, the index of row 0, whose own encoding has a slot of its own, so
 * the compare refuses every encoding that lands in an empty slot.  No
 * branch decides whether to index: every index is a remainder or a slot's
 * content, both always in bounds, so a mispredicted compare can only yield
 * another valid descriptor.  A new row that shares a slot is an
 * "initialized field overwritten" error in the host unit tests' build
 * (-Wextra); then pick the next modulus for which all remainders differ.
 */
#define NVMX_FIELD_HASH		361

static const u8 nvmx_field_slot[NVMX_FIELD_HASH] = {
#define NVMX_VMCS12_FIELD(m, enc, w, cl, sy, ctl, sh)			\
	[(enc) % NVMX_FIELD_HASH] = NVMX_IDX_##m,
#include <nvmx/vmcs12_rows.h>
};

static_assert(NVMX_NR_FIELDS <= 256, "a slot holds a row index in a u8");

/*
 * The rows a VM exit saves at once (sync NVMX_SYNC_L2, _SAVE_CTL,
 * _SAVE_EXEC2), in table order: the exit path walks these instead of every
 * row.
 */
#define NVMX_ITEM_IF_NVMX_SYNC_NEVER(...)
#define NVMX_ITEM_IF_NVMX_SYNC_EXIT_INFO(...)
#define NVMX_ITEM_IF_NVMX_SYNC_VMCS02(...)
#define NVMX_ITEM_IF_NVMX_SYNC_L2(...)		__VA_ARGS__,
#define NVMX_ITEM_IF_NVMX_SYNC_SAVE_CTL(...)	__VA_ARGS__,
#define NVMX_ITEM_IF_NVMX_SYNC_SAVE_EXEC2(...)	__VA_ARGS__,
#define NVMX_ITEM_IF_SAVED(sy, ...)		NVMX_ITEM_IF_##sy(__VA_ARGS__)

const u8 nvmx_saved_rows[] = {
#define NVMX_VMCS12_FIELD(m, enc, w, cl, sy, ctl, sh)			\
	NVMX_ITEM_IF_SAVED(sy, NVMX_IDX_##m)
#include <nvmx/vmcs12_rows.h>
};

const unsigned int nvmx_nr_saved_rows = ARRAY_SIZE(nvmx_saved_rows);

/*
 * The rows of sync NVMX_SYNC_VMCS02, in table order: what an exit leaves in
 * vmcs02 and the entry loads only when vmcs12's copy is newer.
 */
#define NVMX_VMCS02_ITEM_NVMX_SYNC_NEVER(...)
#define NVMX_VMCS02_ITEM_NVMX_SYNC_EXIT_INFO(...)
#define NVMX_VMCS02_ITEM_NVMX_SYNC_L2(...)
#define NVMX_VMCS02_ITEM_NVMX_SYNC_SAVE_CTL(...)
#define NVMX_VMCS02_ITEM_NVMX_SYNC_SAVE_EXEC2(...)
#define NVMX_VMCS02_ITEM_NVMX_SYNC_VMCS02(...)	__VA_ARGS__,
#define NVMX_ITEM_IF_VMCS02(sy, ...)		NVMX_VMCS02_ITEM_##sy(__VA_ARGS__)

const u8 nvmx_vmcs02_rows[] = {
#define NVMX_VMCS12_FIELD(m, enc, w, cl, sy, ctl, sh)			\
	NVMX_ITEM_IF_VMCS02(sy, NVMX_IDX_##m)
#include <nvmx/vmcs12_rows.h>
};

const unsigned int nvmx_nr_vmcs02_rows = ARRAY_SIZE(nvmx_vmcs02_rows);

const struct nvmx_field *nvmx_vmcs12_field(u32 encoding)
{
	u32 full = encoding & ~NVMX_ENC_HIGH;
	unsigned int row = nvmx_field_slot[full % NVMX_FIELD_HASH];
	const struct nvmx_field *f = &nvmx_fields[row];

	if (f->encoding != full)
		return NULL;
	if (!(encoding & NVMX_ENC_HIGH))
		return f;
	/* Only 64-bit fields have a high-access encoding (SDM 24.11.2). */
	if (f->width != NVMX_W64)
		return NULL;
	return &nvmx_fields_high[row];
}

#endif /* NVMX_VMCS12_TABLE_H */
