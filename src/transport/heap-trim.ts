/**
 * glibc returns the freed top of the heap to the kernel once it exceeds M_TRIM_THRESHOLD (128 KB by
 * default), so a relay whose 64 KB read buffers live until the next GC keeps faulting fresh pages in
 * (docs/benchmarks.md). glibc raises that threshold itself when a block it had to mmap is freed:
 * mmap_threshold becomes the block's size and trim_threshold twice that (malloc.c, free of an mmapped
 * chunk, up to 32 MB). One large allocation dropped at start has the effect of
 * GLIBC_TUNABLES=glibc.malloc.trim_threshold=64M without re-executing the process. The block is never
 * written, so it costs no resident memory.
 *
 * Called once a connection carries bulk (the first 16 KB frame on a multiplexed connection or read in a
 * raw relay; a service visit at its start), not at start: freed heap glibc then keeps would count against a
 * host that only holds idle clients, and against a client that served short requests (docs/benchmarks.md).
 */
let done = false;

/** A read this large means the connection is streaming, not trading short messages. */
export const BULK_CHUNK = 16 * 1024;

export function heapTrimRaised(): boolean {
  return done;
}

export function raiseHeapTrimThreshold(): void {
  if (done || process.platform !== 'linux') return;
  done = true;
  // Just under glibc's DEFAULT_MMAP_THRESHOLD_MAX (32 MB on 64-bit), so the threshold follows it.
  Buffer.allocUnsafeSlow(32 * 1024 * 1024 - 64 * 1024);
}
