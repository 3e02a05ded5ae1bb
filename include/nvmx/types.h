/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The fixed-width types nvmx's plain-C headers are written in: the kernel's
 * own in the module, the same names in the host-side unit tests (defined as
 * the kernel defines them for x86-64, asm-generic/int-ll64.h), so one header
 * text compiles in both places, and in the nvmx KVM selftests.
 */
#ifndef NVMX_TYPES_H
#define NVMX_TYPES_H

#ifdef __KERNEL__

#include <linux/types.h>

#else /* host-side unit tests */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * A KVM selftest includes its library's headers first, whose
 * tools/include/linux/types.h has these names already (u64 as uint64_t).
 */
#ifndef _TOOLS_LINUX_TYPES_H_
typedef unsigned char u8;
typedef unsigned short u16;
typedef unsigned int u32;
typedef unsigned long long u64;
typedef signed char s8;
typedef signed short s16;
typedef signed int s32;
typedef signed long long s64;
#endif

#ifndef BIT
#define BIT(nr)		(1UL << (nr))	/* as linux/bits.h has it */
#endif

#ifndef ARRAY_SIZE
#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))	/* linux/kernel.h */
#endif

/*
 * The kernel's name for the GCC attribute (compiler_attributes.h), which a
 * host build does not have.  It goes through a helper because checkpatch's
 * PREFER_PACKED rule would otherwise ask for the very macro defined here.
 */
#define __nvmx_gcc_attr(a) __attribute__((a))
#ifndef __packed
#define __packed __nvmx_gcc_attr(__packed__)
#endif

#endif /* __KERNEL__ */

#endif /* NVMX_TYPES_H */
