/**
 * Byte progress for long operations (`disk check`, `disk convert`): a cli-progress bar on stderr
 * when the CLI is interactive, nothing otherwise (the command prints a final line instead). The
 * bar is redrawn at most 10 times a second by cli-progress itself, so callers may report every
 * chunk.
 */
import cliProgress from 'cli-progress';
import type { CliIo } from './io.ts';
import { formatSize } from './sizes.ts';

/** Receives the number of bytes done so far. */
export interface Progress {
  /** Sets the bytes done (monotonic). */
  update(doneBytes: number): void;
  /** Removes the bar's cursor handling and ends its line. Idempotent. */
  stop(): void;
}

const SILENT: Progress = { update: () => {}, stop: () => {} };

/**
 * A progress reporter for an operation over `totalBytes` labelled `label` (`checking`,
 * `converting`). Silent unless `io.interactive` and `enabled`.
 */
export function startProgress(io: CliIo, label: string, totalBytes: number, enabled = true): Progress {
  if (!io.interactive || !enabled || totalBytes === 0) return SILENT;
  const bar = new cliProgress.SingleBar(
    {
      // cli-progress writes to a NodeJS.WritableStream; the interactive stderr is one.
      stream: io.stderr as NodeJS.WritableStream,
      format: `${label} [{bar}] {percentage}% | {done} / {total_h} | {rate}`,
      hideCursor: true,
      barsize: 30,
    },
    cliProgress.Presets.shades_classic,
  );
  const started = performance.now();
  const payload = (done: number) => {
    const seconds = (performance.now() - started) / 1000;
    return { done: formatSize(done), total_h: formatSize(totalBytes), rate: seconds > 0 ? `${formatSize(Math.round(done / seconds))}/s` : '' };
  };
  bar.start(totalBytes, 0, payload(0));
  let stopped = false;
  return {
    update(doneBytes) {
      if (!stopped) bar.update(doneBytes, payload(doneBytes));
    },
    stop() {
      if (stopped) return;
      stopped = true;
      bar.stop();
    },
  };
}
