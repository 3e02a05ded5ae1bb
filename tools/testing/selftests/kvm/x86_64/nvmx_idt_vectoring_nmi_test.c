// SPDX-License-Identifier: GPL-2.0-only
/*
 * nvmx_idt_vectoring_nmi_test: nvmx_idt_vectoring_test's case for an NMI
 * that L1 injects into L2 and whose delivery exits to L1 (SDM Vol. 3C
 * 27.2.3, with 27.1 and 27.3.4 for the NMI blocking that remains).
 *
 * It is a test of its own so that it can be left out of the emulated VMX
 * host: once Bochs 2.7 has injected an NMI into a guest, every later VM
 * exit of that boot saves blocking by NMI in the interruptibility state,
 * which breaks every test that runs after it.  It runs natively.
 */
#define NVMX_IDT_NMI
#include "nvmx_idt_vectoring_test.c"
