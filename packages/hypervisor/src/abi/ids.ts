/**
 * Branded identifiers and addresses (STYLE.md rule 12), with checked constructors.
 *
 * Partition ids are 64-bit (TLFS 2.0 §5.2.1), so they are bigints; GPAs are byte offsets into a
 * partition's guest memory and GPFNs are page numbers, both plain numbers below 2^53.
 */

declare const brand: unique symbol;
type Brand<T, B extends string> = T & { readonly [brand]: B };

/** A 64-bit partition id. 0 is invalid; all ones means "self". */
export type PartitionId = Brand<bigint, 'PartitionId'>;
/** A guest physical address (byte offset in the partition's memory). */
export type Gpa = Brand<number, 'Gpa'>;
/** A guest physical frame number (GPA / 4096). */
export type Gpfn = Brand<number, 'Gpfn'>;
/** A VP index within its partition. */
export type VpIndex = Brand<number, 'VpIndex'>;
/** A 24-bit port id. */
export type PortId = Brand<number, 'PortId'>;
/** A 24-bit connection id, unique within the sending partition. */
export type ConnectionId = Brand<number, 'ConnectionId'>;

/** HV_PARTITION_ID_INVALID. */
export const PARTITION_ID_INVALID = 0n as PartitionId;
/** HV_PARTITION_ID_SELF (Linux): all ones. */
export const PARTITION_ID_SELF = 0xffff_ffff_ffff_ffffn as PartitionId;
/** HV_ANY_VP. */
export const ANY_VP = 0xffff_ffff as VpIndex;
/** HV_VP_INDEX_SELF (Linux). */
export const VP_INDEX_SELF = 0xffff_fffe as VpIndex;
/** Port and connection ids are 24 bits; the top 8 bits are reserved. */
export const ID_24_MASK = 0x00ff_ffff;

/** Brands a 64-bit value as a partition id. */
export const partitionId = (value: bigint): PartitionId => BigInt.asUintN(64, value) as PartitionId;
/** Brands a VP index. */
export const vpIndex = (value: number): VpIndex => (value >>> 0) as VpIndex;
/** Brands a port id (its reserved top bits are kept, so validation can reject them). */
export const portId = (value: number): PortId => (value >>> 0) as PortId;
/** Brands a connection id (as `portId`). */
export const connectionId = (value: number): ConnectionId => (value >>> 0) as ConnectionId;
/** The GPA of the first byte of a page. */
export const gpfnToGpa = (gpfn: Gpfn): Gpa => (gpfn * 4096) as Gpa;
/** Brands a page number. */
export const gpfn = (value: number): Gpfn => value as Gpfn;
