/**
 * The CLI's view of the terminal: two output streams and whether progress may be drawn. Commands
 * write only through a `CliIo`, so `--json` output stays clean (results on stdout, diagnostics
 * and progress on stderr) and tests can run the program against in-memory streams.
 */

/** A stream the CLI writes to (`process.stdout`/`stderr` satisfy it). */
export interface OutputStream {
  write(text: string): unknown;
  readonly isTTY?: boolean;
}

/** The streams and terminal facts a command needs. */
export interface CliIo {
  /** Results: tables, summary lines, JSON. */
  readonly stdout: OutputStream;
  /** Errors and the progress bar. */
  readonly stderr: OutputStream;
  /**
   * True when a progress bar may be drawn (on `stderr`): both streams are terminals. CI and
   * pipes get a final summary line instead.
   */
  readonly interactive: boolean;
}

/** The process's own streams. */
export function processIo(): CliIo {
  return {
    stdout: process.stdout,
    stderr: process.stderr,
    interactive: process.stdout.isTTY === true && process.stderr.isTTY === true,
  };
}

/** Writes `line` and a newline to `stream`. */
export function writeLine(stream: OutputStream, line: string): void {
  stream.write(`${line}\n`);
}
