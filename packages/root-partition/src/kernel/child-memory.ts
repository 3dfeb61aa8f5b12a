/**
 * The root's hold on a child's guest memory. Like Hyper-V's root, the parent holds its children's
 * memory (it deposited the pages); the hypervisor hands the buffer to the parent VP that asks, and
 * to no one else. The root then touches it only through GPADLs and GPA ranges the child named,
 * each checked (ARCHITECTURE.md "Isolation" 2): see `gpadlChannelRings` and `GpaRangeAccess`.
 */
import type { VpContext } from '@viridian/hypervisor';

/**
 * The guest memory of `childId`, a child of this VP's partition.
 * @throws {HypercallFailedError} when the partition is not this partition's child
 */
export function acquireChildMemory(vp: VpContext, childId: bigint): SharedArrayBuffer {
  return vp.childMemory(childId);
}
