// SPDX-License-Identifier: GPL-2.0
/*
 * nvmx coverage collector (make coverage; test tooling, not part of the
 * patch series).  The coverage build compiles our nested files with
 * -fsanitize-coverage=trace-pc: GCC calls __sanitizer_cov_trace_pc() at the
 * start of every basic block.  Debian's kernel has no KCOV to provide it, so
 * this file does, and it is compiled without the flag.  The hook records
 * each distinct caller address (the return address of the call, one per
 * call site) in a fixed open-addressing table: no lock, no allocation, no
 * tracing, a few instructions once a site is known, because it runs
 * wherever nested code runs (vmx_vcpu_run's paths, interrupts off).
 *
 * /sys/kernel/debug/nvmx_coverage lists the recorded addresses, one per
 * line in hex, after a line "# sites N lost M" (M: calls that found the
 * table full); writing to it empties the table.  The addresses are the
 * loaded module's: /sys/module/kvm_intel/sections/ maps them back to the
 * .ko (scripts/nvmx/run-tests.sh lists them, report.py here maps them).
 *
 * The file is made before kvm-intel's own init runs and removed after its
 * exit: the coverage build renames vmx.c's init_module and cleanup_module
 * (see Kbuild in this directory) and this file's wrap them.
 */
#include <linux/atomic.h>
#include <linux/compiler.h>
#include <linux/debugfs.h>
#include <linux/hash.h>
#include <linux/init.h>
#include <linux/module.h>
#include <linux/seq_file.h>

#include "nvmx_cov.h"

#define NVMX_COV_BITS	14
#define NVMX_COV_SIZE	BIT(NVMX_COV_BITS)

static unsigned long nvmx_cov_pcs[NVMX_COV_SIZE];
static atomic_t nvmx_cov_lost = ATOMIC_INIT(0);
static struct dentry *nvmx_cov_file;

/* Linear probing from the address's hash; a set slot keeps its address. */
void notrace __sanitizer_cov_trace_pc(void)
{
	unsigned long pc = _RET_IP_, old;
	u32 i = hash_long(pc, NVMX_COV_BITS), n;

	for (n = 0; n < NVMX_COV_SIZE; n++, i = (i + 1) & (NVMX_COV_SIZE - 1)) {
		old = READ_ONCE(nvmx_cov_pcs[i]);
		if (old == pc)
			return;
		if (!old) {
			old = cmpxchg(&nvmx_cov_pcs[i], 0UL, pc);
			if (!old || old == pc)
				return;
		}
	}
	atomic_inc(&nvmx_cov_lost);
}

static int nvmx_cov_show(struct seq_file *m, void *unused)
{
	unsigned long pc;
	u32 i, n = 0;

	for (i = 0; i < NVMX_COV_SIZE; i++)
		n += !!READ_ONCE(nvmx_cov_pcs[i]);
	seq_printf(m, "# sites %u lost %d\n", n, atomic_read(&nvmx_cov_lost));
	for (i = 0; i < NVMX_COV_SIZE; i++) {
		pc = READ_ONCE(nvmx_cov_pcs[i]);
		if (pc)
			seq_printf(m, "%lx\n", pc);
	}
	return 0;
}

static int nvmx_cov_open(struct inode *inode, struct file *file)
{
	return single_open_size(file, nvmx_cov_show, NULL,
				NVMX_COV_SIZE * 17 + 64);
}

static ssize_t nvmx_cov_write(struct file *file, const char __user *buf,
			      size_t len, loff_t *pos)
{
	u32 i;

	for (i = 0; i < NVMX_COV_SIZE; i++)
		WRITE_ONCE(nvmx_cov_pcs[i], 0UL);
	atomic_set(&nvmx_cov_lost, 0);
	return len;
}

static const struct file_operations nvmx_cov_fops = {
	.owner = THIS_MODULE,
	.open = nvmx_cov_open,
	.read = seq_read,
	.llseek = seq_lseek,
	.release = single_release,
	.write = nvmx_cov_write,
};

static int __init nvmx_cov_init(void)
{
	int r;

	nvmx_cov_file = debugfs_create_file("nvmx_coverage", 0600, NULL, NULL,
					    &nvmx_cov_fops);
	r = nvmx_cov_vmx_init();
	if (r)
		debugfs_remove(nvmx_cov_file);
	return r;
}
module_init(nvmx_cov_init);

static void __exit nvmx_cov_exit(void)
{
	nvmx_cov_vmx_exit();
	debugfs_remove(nvmx_cov_file);
}
module_exit(nvmx_cov_exit);
