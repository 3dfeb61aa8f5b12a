/**
 * The boot message a VP worker gets (its one and only message from the hypervisor): everything the
 * VP is handed, and nothing else (ARCHITECTURE.md "Isolation" 1): its partition's guest memory and
 * its own hypercall page. `hostData` is only ever set for the root partition's VPs (host boot code
 * is trusted). A VP worker starts with nothing, loads the runtime, says `VP_READY_MESSAGE`, and
 * waits for this message (so the host can start workers before it knows which VP they will run).
 */
import { VpBootError } from '../errors.ts';
import { VpPageLayout } from '../abi/vp-page.ts';

/** What a VP worker posts once its runtime is loaded and it waits for its boot message. */
export const VP_READY_MESSAGE = 'viridian-vp-ready';

/** The `kind` of the message carrying a child's memory to its parent's VP (ViridianGetChildMemory). */
export const CHILD_MEMORY_MESSAGE = 'viridian-child-memory';

/** The boot message of a VP worker. */
export interface VpBootData {
  readonly kind: 'viridian-vp';
  /** The partition id as a decimal string (bigints do not survive every clone path). */
  readonly partitionId: string;
  readonly vpIndex: number;
  readonly memory: SharedArrayBuffer;
  readonly vpPage: SharedArrayBuffer;
  /** The entry module URL (HvRegisterEntryModule). */
  readonly entry: string;
  /** The entry arguments as JSON text (HvRegisterEntryArguments). */
  readonly args: string;
  readonly hostData: unknown;
}

/**
 * Checks that `data` is VP boot data.
 * @throws {VpBootError} when it is not.
 */
export function parseBootData(data: unknown): VpBootData {
  const d = data as Partial<VpBootData> | null;
  if (
    !d ||
    d.kind !== 'viridian-vp' ||
    !(d.memory instanceof SharedArrayBuffer) ||
    !(d.vpPage instanceof SharedArrayBuffer) ||
    d.vpPage.byteLength !== VpPageLayout.SIZE ||
    typeof d.entry !== 'string' ||
    typeof d.args !== 'string' ||
    typeof d.vpIndex !== 'number' ||
    typeof d.partitionId !== 'string'
  ) {
    throw new VpBootError('worker data is not Viridian VP boot data');
  }
  return d as VpBootData;
}
