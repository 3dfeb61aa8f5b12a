/**
 * SynIC protocol numbers and page layouts (TLFS 2.0 §14; vmbus-wire.md §5; hyperv-tlfs.md §5).
 *
 * Per VP: 16 SINTs; the message page (SIMP) holds one 256-byte `hv_message` slot per SINT, the
 * event-flags page (SIEFP) one 2048-bit flag array per SINT. Both are overlay pages at GPAs the guest
 * chooses by writing the SIMP/SIEFP MSRs (GPFN in 63:12, enable in bit 0). The message header uses
 * the Linux/TLFS 6 order (type, payload size, flags, reserved, sender/port).
 */

/** Synthetic MSR numbers (x64). */
export const HvSynicMsr = {
  GuestOsId: 0x4000_0000,
  Hypercall: 0x4000_0001,
  VpIndex: 0x4000_0002,
  Scontrol: 0x4000_0080,
  Sversion: 0x4000_0081,
  Siefp: 0x4000_0082,
  Simp: 0x4000_0083,
  Eom: 0x4000_0084,
  Sint0: 0x4000_0090,
  Sint15: 0x4000_009f,
} as const;

/** SINT count per VP. */
export const SINT_COUNT = 16;
/** SINT0 is the hypervisor's (intercepts, crash messages); ports may use SINT 1-15. */
export const HYPERVISOR_SINT = 0;

/** SINTx register bits. */
export const SintRegister = Object.freeze({
  VECTOR_MASK: 0xff,
  MASKED: 1 << 16,
  AUTO_EOI: 1 << 17,
  POLLING: 1 << 18,
  /** Reset value: masked. */
  RESET: 1 << 16,
});

/** SIMP/SIEFP/SCONTROL enable bit; GPFN in bits 63:12. */
export const SYNIC_ENABLE = 1;

/** Byte layout of one `hv_message` slot. */
export const HvMessageLayout = Object.freeze({
  TYPE: 0,
  PAYLOAD_SIZE: 4,
  FLAGS: 5,
  RESERVED: 6,
  /** u64 sender partition id, or u32 port id (low 24 bits) for port messages. */
  SENDER: 8,
  PAYLOAD: 16,
  PAYLOAD_MAX: 240,
  SIZE: 256,
});

/** `message_flags` bit 0. */
export const MESSAGE_FLAG_PENDING = 0x1;

/** Event-flag page: 256 bytes (2048 flags) per SINT. */
export const SiefLayout = Object.freeze({
  BYTES_PER_SINT: 256,
  FLAGS_PER_SINT: 2048,
  SIZE: 4096,
});

/** Message page size. */
export const SIMP_SIZE = SINT_COUNT * HvMessageLayout.SIZE;

/** HV_MESSAGE_TYPE values Viridian's hypervisor sends (top bit set = hypervisor-reserved). */
export const HvMessageType = {
  None: 0x0000_0000,
  UnrecoverableException: 0x8000_0021,
  X64IoPortIntercept: 0x8001_0000,
} as const;

/** Mask of hypervisor-reserved message types. */
export const HV_MESSAGE_TYPE_HYPERVISOR_MASK = 0x8000_0000;

/** Port types (HV_PORT_TYPE). Viridian implements Message and Event. */
export const HvPortType = {
  Message: 1,
  Event: 2,
  Monitor: 3,
} as const;

/** Message buffers a message port owns (TLFS 2.0 §14.3.2). */
export const PORT_MESSAGE_BUFFERS = 16;
