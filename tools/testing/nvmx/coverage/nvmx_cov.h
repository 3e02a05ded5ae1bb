/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The coverage build (make coverage): the hook GCC calls in our nested
 * files (-fsanitize-coverage=trace-pc), and vmx.c's module_init and
 * module_exit, which that build names so (tools/testing/nvmx/coverage/
 * Kbuild), for nvmx_cov.c to wrap.
 */
#ifndef NVMX_COV_H
#define NVMX_COV_H

void __sanitizer_cov_trace_pc(void);
int nvmx_cov_vmx_init(void);
void nvmx_cov_vmx_exit(void);

#endif
