/**
 * @viridian/hypervisor: partitions, guest memory, virtual processors, hypercalls, SynIC, ports and
 * connections, intercepts (ARCHITECTURE.md). The host-side `Hypervisor` boots a machine; everything
 * else here is the guest-facing ABI and libraries, also importable alone as
 * `@viridian/hypervisor/guest` (what VP code should import, to keep VP workers small).
 */

// Host: booting the machine
export { Hypervisor } from './host/hypervisor.ts';
export type { HypervisorOptions, RootPartitionOptions, HypervisorMemoryStats } from './host/hypervisor.ts';
export type { HypervisorEvent, HypervisorMetrics } from './host/events.ts';
export type { VpWorkerOptions, VpWorkerStats } from './host/vp-workers.ts';

// Errors (host)
export { HypervisorConfigError } from './errors.ts';

// Guest-facing ABI and libraries (same exports as ./guest)
export * from './guest/index.ts';
