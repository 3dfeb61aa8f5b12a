/**
 * Bounded adaptive polling (node-performance-facts.md "Waking a sleeping thread"): waking a
 * sleeping thread costs 8-50 us on these machines, reading a shared word a few nanoseconds. A side
 * that just had activity spins briefly on the word it would sleep on, so a busy pair pays no
 * sleep/wake, and then sleeps as before. Every spin is bounded in time: on 2 cores two unbounded
 * spinners that land on one core collapse, and an idle host must not burn CPU.
 */

/** How long a VP spins on DONE_SEQ after an exit (only while the hypervisor visibly polls it), microseconds. */
export const EXIT_SPIN_US = 50;
/** A polling peer whose heartbeat stands still this long is not running (it shares our core): stop spinning, microseconds. */
export const PEER_STALL_US = 3;
/**
 * How long a VP spins on its interrupt doorbell after handling interrupts before sleeping,
 * microseconds. 0 by default: measured on 2 cores (child → hypervisor → root ping-pong), any
 * interrupt spin made SignalEvent latency worse (10 us: 23 → 34-44 us; 50 us: → 120 us), because
 * the three threads of the exchange then want two cores and the spinner keeps a waking thread off
 * one. `InterruptDoorbell` takes a budget for hosts with cores to spare.
 */
export const INTERRUPT_SPIN_US = 0;

/** Reads of the word between two looks at the clock (performance.now() costs about 30-50 ns). */
const READS_PER_CLOCK = 32;

/**
 * Spins while `words[index] === value`, for at most `budgetUs` microseconds. Returns true when the
 * word changed, false when the budget ran out (or was 0).
 */
export function spinWhileEqual(words: Int32Array, index: number, value: number, budgetUs: number): boolean {
  if (Atomics.load(words, index) !== value) return true;
  if (!(budgetUs > 0)) return false;
  const deadline = performance.now() + budgetUs / 1000;
  for (;;) {
    for (let i = 0; i < READS_PER_CLOCK; i++) if (Atomics.load(words, index) !== value) return true;
    if (performance.now() >= deadline) return false;
  }
}

/**
 * Like `spinWhileEqual`, but only while the peer that will change the word is visibly running: the
 * peer bumps `words[beatIndex]` as it polls (0 = not polling). When the beat is 0, or stands still
 * for `PEER_STALL_US` (on 2 cores the peer may have been descheduled onto our core, and our spin
 * would only keep it off), the spin stops early. Returns true when the word changed.
 */
export function spinWhileEqualPolled(words: Int32Array, index: number, value: number, beatIndex: number, budgetUs: number): boolean {
  if (Atomics.load(words, index) !== value) return true;
  let beat = Atomics.load(words, beatIndex);
  if (beat === 0 || !(budgetUs > 0)) return false;
  let now = performance.now();
  const deadline = now + budgetUs / 1000;
  let beatSeen = now;
  for (;;) {
    for (let i = 0; i < READS_PER_CLOCK; i++) if (Atomics.load(words, index) !== value) return true;
    now = performance.now();
    const current = Atomics.load(words, beatIndex);
    if (current === 0) return Atomics.load(words, index) !== value;
    if (current !== beat) {
      beat = current;
      beatSeen = now;
    } else if (now - beatSeen > PEER_STALL_US / 1000) {
      return Atomics.load(words, index) !== value;
    }
    if (now >= deadline) return false;
  }
}
