/**
 * The signaller's side of direct event cells (abi/direct-events.ts): `HypercallClient.signalEvent`
 * first tries the connection's cell, and makes the SignalEvent hypercall only when there is none.
 *
 * Per connection the cell is fetched once (ViridianGetSignalCell) and cached, a refusal too; the
 * cache is dropped whenever the hypervisor bumps DIRECT_EVENTS_GENERATION. A signal sets the flag's
 * bit, then SUMMARY, and notifies only when SUMMARY was 0 (the target clears it before it takes the
 * flags, so a set SUMMARY means a wake is already on its way). After the store the generation is
 * read again: if it moved, the cell may have been revoked after the hypervisor emptied it, so the
 * caller makes the hypercall as well (a duplicate event is harmless; a lost one is not).
 */
import { DirectEventCellLayout, SIGNAL_CELL_MAIL, type SignalCellMail } from '../abi/direct-events.ts';
import { HvStatus } from '../abi/status.ts';
import { VpPageLayout } from '../abi/vp-page.ts';
import { isMail, type MailReader } from './hypervisor-mail.ts';

const GENERATION = VpPageLayout.DIRECT_EVENTS_GENERATION >> 2;
const SUMMARY = DirectEventCellLayout.SUMMARY >> 2;
const FLAGS_WORD = DirectEventCellLayout.FLAGS >> 2;

interface Cell {
  readonly words: Int32Array;
  readonly flagCount: number;
}

function isSignalCellMail(connectionId: number) {
  return (body: unknown): body is SignalCellMail =>
    isMail(body, SIGNAL_CELL_MAIL) && body.connectionId === connectionId && body.cell instanceof SharedArrayBuffer && typeof body.flagCount === 'number';
}

export class SignalCells {
  private generation: number;
  /** Connection id → its cell, or null when the hypervisor refused one. */
  private readonly cells = new Map<number, Cell | null>();
  /** Signals sent through cells (no hypercall). */
  direct = 0;

  constructor(
    private readonly page: Int32Array,
    /** Makes the ViridianGetSignalCell hypercall; returns its status. */
    private readonly request: (connectionId: number) => number,
    private readonly mail: MailReader,
  ) {
    this.generation = Atomics.load(page, GENERATION);
  }

  /** Signals `flag` through the connection's cell; false when the caller must make the hypercall. */
  signal(connectionId: number, flag: number): boolean {
    const generation = Atomics.load(this.page, GENERATION);
    if (generation !== this.generation) {
      this.cells.clear();
      this.generation = generation;
    }
    let cell = this.cells.get(connectionId);
    if (cell === undefined) {
      cell = this.fetch(connectionId);
      this.cells.set(connectionId, cell);
    }
    if (cell === null || flag >= cell.flagCount) return false;
    const words = cell.words;
    Atomics.or(words, FLAGS_WORD + (flag >>> 5), 1 << (flag & 31));
    if (Atomics.exchange(words, SUMMARY, 1) === 0) Atomics.notify(words, SUMMARY);
    if (Atomics.load(this.page, GENERATION) !== generation) return false;
    this.direct++;
    return true;
  }

  private fetch(connectionId: number): Cell | null {
    if (this.request(connectionId) !== HvStatus.SUCCESS) return null;
    const mail = this.mail(isSignalCellMail(connectionId));
    if (!mail) return null;
    const words = new Int32Array(mail.cell);
    if (words.length * 4 < DirectEventCellLayout.FLAGS + Math.ceil(mail.flagCount / 32) * 4) return null;
    return { words, flagCount: mail.flagCount };
  }
}
