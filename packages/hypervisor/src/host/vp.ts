/**
 * The hypervisor's record of one virtual processor: its hypercall page, suspend state, entry point,
 * SynIC, and the worker thread that runs it (TLFS 2.0 §10; ARCHITECTURE.md "physical model").
 *
 * Exits: the VP bumps CALL_SEQ in its page; the hypervisor watches it with `Atomics.waitAsync`
 * (one pending wait per VP, re-armed after each exit, never a polling loop) and handles the exit
 * synchronously on the host's main thread. A VP is runnable when neither ExplicitSuspend nor
 * InterceptSuspend is set; a suspended VP's exit is held (it stays blocked in `Atomics.wait`), which
 * is Viridian's "instruction boundary": JavaScript cannot be stopped between exits.
 *
 * The worker's life is a discriminated union. Any exit or error of a worker the hypervisor did not
 * stop itself is a crash of the partition, reported through `VpHost.vpCrashed`.
 */
import { VpPageLayout } from '../abi/vp-page.ts';
import type { Partition } from './partition.ts';
import { SynicState } from './synic.ts';
import type { VpWorker } from './vp-workers.ts';

/** Where the VP's worker is in its life. */
export type VpRun =
  /** Created (reset state, ExplicitSuspend = 1), no worker yet. */
  | { readonly kind: 'not-started' }
  /** The worker is running the entry module. */
  | { readonly kind: 'running'; worker: VpWorker; error: Error | undefined }
  /** The hypervisor stopped it (DeleteVp, Finalize, crash of the partition, shutdown). */
  | { readonly kind: 'stopped' };

/** An I/O access waiting for the parent to complete it (the VP is intercept-suspended). */
export interface PendingIo {
  readonly port: number;
  readonly size: number;
  readonly write: boolean;
}

/** What the hypervisor core provides to its VPs. */
export interface VpHost {
  /** Handles the VP's current exit; returns false when it is held (intercept pending). */
  handleExit(vp: Vp): boolean;
  /** Adaptive polling (exit-poller.ts): takes over a VP whose doorbell rang. */
  readonly poller?: { activity(vp: Vp): void };
}

export class Vp {
  readonly page = new SharedArrayBuffer(VpPageLayout.SIZE);
  readonly words = new Int32Array(this.page, 0, 1024);
  readonly synic = new SynicState(this.page);
  explicitSuspend = true;
  interceptSuspend = false;
  pendingIo: PendingIo | undefined;
  rax = 0;
  entry: string | undefined;
  args = 'null';
  run: VpRun = { kind: 'not-started' };
  /** Whether the VP opted in to direct event cells (ViridianEnableDirectEvents). */
  directEvents = false;
  /** Where mail goes for a VP driven without a worker (the in-process test machine). */
  mailbox: ((message: unknown) => void) | undefined;
  private handledSeq = 0;
  private watching = false;

  constructor(
    readonly partition: Partition,
    readonly index: number,
    private readonly host: VpHost,
  ) {}

  get runnable(): boolean {
    return !this.explicitSuspend && !this.interceptSuspend && this.run.kind !== 'stopped';
  }

  /** Starts watching the exit doorbell (idempotent). */
  watch(): void {
    if (this.watching || this.run.kind === 'stopped') return;
    this.watching = true;
    const result = Atomics.waitAsync(this.words, VpPageLayout.CALL_SEQ >> 2, this.handledSeq);
    if (result.async) void result.value.then(() => this.onDoorbell());
    else setImmediate(() => this.onDoorbell());
  }

  /** Completes the current exit: publishes DONE_SEQ and wakes the VP. */
  complete(): void {
    Atomics.store(this.words, VpPageLayout.DONE_SEQ >> 2, this.handledSeq);
    if (Atomics.load(this.words, VpPageLayout.VP_SLEEPING >> 2) !== 0) Atomics.notify(this.words, VpPageLayout.DONE_SEQ >> 2);
  }

  /**
   * Mails `message` to the VP's worker (a hypercall's hand-over of a buffer; the VP takes it
   * synchronously once the call completes). False when the VP has no running worker.
   */
  mail(message: unknown): boolean {
    if (this.mailbox) {
      this.mailbox(message);
      return true;
    }
    return this.run.kind === 'running' && this.run.worker.deliver(message);
  }

  /** Processes a held exit once the VP becomes runnable again (resume, intercept completion). */
  kick(): void {
    if (!this.runnable || this.watching) return;
    this.watch();
  }

  /** Publishes the hypervisor's polling heartbeat to the VP (HV_POLLING; 0 = not polling). */
  setPolled(beat: number): void {
    Atomics.store(this.words, VpPageLayout.HV_POLLING >> 2, beat);
  }

  /** Marks the VP stopped; its pending wait resolves into a no-op. */
  stop(): void {
    this.run = { kind: 'stopped' };
    this.synic.clearQueues();
  }

  /** Handles an exit synchronously if one is outstanding (in-process harness, doorbell, poller); true if it did. */
  pollExit(): boolean {
    const seq = Atomics.load(this.words, VpPageLayout.CALL_SEQ >> 2);
    if (seq === this.handledSeq || !this.runnable) return false;
    this.handledSeq = seq;
    if (this.host.handleExit(this)) this.complete();
    return true;
  }

  private onDoorbell(): void {
    this.watching = false;
    if (this.run.kind === 'stopped') return;
    if (!this.runnable) return; // held: kick() re-arms on resume
    if (this.host.poller) return this.host.poller.activity(this); // handles, polls, re-arms
    this.pollExit();
    if (this.runnable) this.watch();
  }
}
