/**
 * Raises glibc's trim threshold to 32 MB (freeing one large mmapped block does that, as
 * GLIBC_TUNABLES=glibc.malloc.trim_threshold would) so a relay's 64 KB buffers are not returned to
 * the kernel and faulted in again between GCs. Done once bulk flows, so idle processes stay small.
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
