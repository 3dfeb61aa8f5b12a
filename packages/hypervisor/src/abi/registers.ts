/**
 * VP register names for Get/SetVpRegisters (HV_REGISTER_NAME; TLFS 2.0 §10, TLFS 6 register list),
 * plus Viridian's entry-point registers.
 *
 * A VP in Viridian runs a JavaScript module instead of instructions at RIP, so its "entry point"
 * is two string registers: the module URL and its arguments (JSON text). A 128-bit register value
 * cannot hold a string, so for these two the value is `{ offset u32, length u32 }` naming UTF-8
 * bytes inside the same hypercall input page, after the rep list.
 */

/** Register names. */
export const HvRegister = {
  ExplicitSuspend: 0x0000_0000,
  InterceptSuspend: 0x0000_0001,
  Rax: 0x0002_0000,
  Rip: 0x0002_0010,
  Sint0: 0x000a_0000,
  Scontrol: 0x000a_0010,
  Sversion: 0x000a_0011,
  Siefp: 0x000a_0012,
  Simp: 0x000a_0013,
  Eom: 0x000a_0014,
  /** Viridian: the entry module URL (string register). */
  EntryModule: 0x000f_0000,
  /** Viridian: the entry arguments as JSON text (string register). */
  EntryArguments: 0x000f_0001,
} as const;

/** Register names whose value is a string in the input page. */
export const STRING_REGISTERS: ReadonlySet<number> = new Set([HvRegister.EntryModule, HvRegister.EntryArguments]);

/** Largest string register value in bytes (it must fit the input page anyway). */
export const MAX_STRING_REGISTER_BYTES = 3072;

/** Byte layout of one HV_REGISTER_ASSOC (SetVpRegisters element). */
export const RegisterAssocLayout = Object.freeze({
  NAME: 0,
  RESERVED1: 4,
  RESERVED2: 8,
  VALUE_LO: 16,
  VALUE_HI: 24,
  /** For string registers: offset and length of the UTF-8 bytes in the input page. */
  STRING_OFFSET: 16,
  STRING_LENGTH: 20,
  SIZE: 32,
});
