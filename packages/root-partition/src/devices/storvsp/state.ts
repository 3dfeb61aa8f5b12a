/**
 * The vstor initialization state machine of one storvsp channel (vmbus-wire.md §8.1 "Init
 * sequence"), sans-IO: {@link initStep} takes the state and a control message and returns the
 * next state and the status to answer with. Modelled on OpenVMM storvsp's `ProtocolState`: the
 * guest goes BEGIN_INITIALIZATION → QUERY_PROTOCOL_VERSION (repeated until a version is accepted,
 * newest first) → QUERY_PROPERTIES → END_INITIALIZATION, and only then sends SRBs. The state is
 * plain data: it is also what a save/restore of the channel would keep ({@link StorvspSavedState}).
 */
import { STORVSC_NEGOTIABLE_VERSIONS, VstorStatus } from '@viridian/vmbus';

/** Where a channel is in the initialization sequence. */
export type StorvspInitState =
  /** Open; the guest has not begun initialization. */
  | { readonly kind: 'awaiting-begin' }
  /** BEGIN_INITIALIZATION received; waiting for a version this VSP speaks. */
  | { readonly kind: 'negotiating' }
  /** A version was accepted; properties may be queried, then initialization ended. */
  | { readonly kind: 'version-agreed'; readonly version: number }
  /** END_INITIALIZATION received: SRBs are served. */
  | { readonly kind: 'ready'; readonly version: number };

/** The control messages the state machine takes (the codec's `VstorMessage` minus SRBs). */
export type InitMessage =
  | { readonly op: 'begin-initialization' }
  | { readonly op: 'query-protocol-version'; readonly version: number }
  | { readonly op: 'query-properties' }
  | { readonly op: 'end-initialization' };

/** The outcome of one control message. */
export interface InitStep {
  readonly next: StorvspInitState;
  /** The `status` of the COMPLETE_IO answer. */
  readonly status: number;
  /** Set when the message came out of order (counted as a protocol error). */
  readonly outOfOrder?: true;
}

export const INITIAL_STATE: StorvspInitState = Object.freeze({ kind: 'awaiting-begin' });

/** Advances `state` by `message`. Versions accepted: `versions` (default: 6.2, 6.0, 5.1). */
export function initStep(state: StorvspInitState, message: InitMessage, versions: readonly number[] = STORVSC_NEGOTIABLE_VERSIONS): InitStep {
  const refuse = (): InitStep => ({ next: state, status: VstorStatus.invalidDeviceState, outOfOrder: true });
  switch (message.op) {
    case 'begin-initialization':
      return state.kind === 'awaiting-begin' ? { next: { kind: 'negotiating' }, status: VstorStatus.success } : refuse();
    case 'query-protocol-version':
      if (state.kind !== 'negotiating') return refuse();
      return versions.includes(message.version) ? { next: { kind: 'version-agreed', version: message.version }, status: VstorStatus.success } : { next: state, status: VstorStatus.revisionMismatch };
    case 'query-properties':
      return state.kind === 'version-agreed' ? { next: state, status: VstorStatus.success } : refuse();
    case 'end-initialization':
      return state.kind === 'version-agreed' ? { next: { kind: 'ready', version: state.version }, status: VstorStatus.success } : refuse();
    default:
      return unreachable(message);
  }
}

/** What a saved storvsp channel keeps: its initialization state (SRBs in flight are drained first). */
export type StorvspSavedState = StorvspInitState;

/** The state to save (a copy). */
export function saveState(state: StorvspInitState): StorvspSavedState {
  return { ...state };
}

/**
 * Checks a saved state before use (it may come from a file).
 * @throws {TypeError} when it is not a state this VSP produces
 */
export function restoreState(saved: unknown, versions: readonly number[] = STORVSC_NEGOTIABLE_VERSIONS): StorvspInitState {
  const kind = (saved as { kind?: unknown } | null)?.kind;
  const version = (saved as { version?: unknown } | null)?.version;
  if (kind === 'awaiting-begin' || kind === 'negotiating') return { kind };
  if ((kind === 'version-agreed' || kind === 'ready') && typeof version === 'number' && versions.includes(version)) return { kind, version };
  throw new TypeError(`not a storvsp saved state: ${JSON.stringify(saved)}`);
}

function unreachable(message: never): never {
  throw new TypeError(`unhandled init message ${JSON.stringify(message)}`);
}
