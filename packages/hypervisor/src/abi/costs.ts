/**
 * Pages each hypervisor structure draws from a memory pool (TLFS 2.0 §7.1.1 names which pool:
 * CreatePartition the caller's, ports the receiver's, connections the sender's). A parent sizes its
 * deposit into a child with these.
 */
export const HvCosts = Object.freeze({
  /** CreatePartition: the partition record, from the caller's pool. */
  PARTITION_RECORD: 1,
  /** InitializePartition: the partition's tables, from its own pool. */
  PARTITION_TABLES: 1,
  /** CreateVp: the VP's hypercall page (3 pages), from the partition's pool. */
  VP: 3,
  /** CreatePort: 16 message buffers, from the receiver's pool. */
  PORT: 1,
  /** ConnectPort: the connection, from the sender's pool. */
  CONNECTION: 1,
});
