/**
 * Errors and exit codes of the `viridian` CLI. Every failure leaves the process with one of the
 * `EXIT` codes and one stderr line `viridian: <message> (<code>)`: storage errors keep their
 * stable `VIRIDIAN_DISK_*` code, the CLI's own argument errors are `CliError`s, and commander's
 * usage errors keep commander's code. Only an unexpected error (a bug) prints a stack trace.
 */
import { CommanderError } from 'commander';
import {
  DiskCorruptError,
  DiskError,
  DiskExistsError,
  DiskInvalidArgumentError,
  DiskIoError,
  DiskNotFoundError,
  DiskOutOfRangeError,
  DiskParentMissingError,
  DiskReadOnlyError,
  DiskUnalignedError,
  DiskUnsupportedError,
} from '../storage/errors.ts';

/** The process exit codes (documented in the README and `viridian --help`). */
export const EXIT = {
  ok: 0,
  /** A command-line usage error (commander's, or a missing option the CLI checks itself). */
  usage: 1,
  /** The image is corrupt (open failed validation, or `disk check` found problems). */
  corrupt: 2,
  /** The image, or a differencing parent, does not exist. */
  notFound: 3,
  /** An unsupported request or an invalid argument (size, format, sector size, file exists). */
  invalid: 4,
  /** A host I/O error. */
  io: 5,
  /** An unexpected error: a bug in Viridian (the stack trace is printed). */
  internal: 70,
} as const;

/** One of the `EXIT` codes. */
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** Stable codes of the CLI's own errors. */
export type CliErrorCode = 'VIRIDIAN_CLI_USAGE' | 'VIRIDIAN_CLI_INVALID_ARGUMENT';

/** An error the CLI itself detects in its arguments (a bad size string, an unknown format…). */
export class CliError extends Error {
  constructor(
    readonly code: CliErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'CliError';
  }

  /** `VIRIDIAN_CLI_USAGE` → `EXIT.usage`, `VIRIDIAN_CLI_INVALID_ARGUMENT` → `EXIT.invalid`. */
  get exitCode(): ExitCode {
    return this.code === 'VIRIDIAN_CLI_USAGE' ? EXIT.usage : EXIT.invalid;
  }
}

/** A `CliError` for an invalid argument value (exit 4). */
export function invalidArgument(message: string): CliError {
  return new CliError('VIRIDIAN_CLI_INVALID_ARGUMENT', message);
}

/** A `CliError` for a usage mistake commander cannot express (exit 1). */
export function usageError(message: string): CliError {
  return new CliError('VIRIDIAN_CLI_USAGE', message);
}

/** The exit code for `error`; `EXIT.internal` for anything unexpected. */
export function exitCodeFor(error: unknown): ExitCode {
  if (error instanceof CliError) return error.exitCode;
  if (error instanceof CommanderError) return error.exitCode === 0 ? EXIT.ok : EXIT.usage;
  if (error instanceof DiskCorruptError) return EXIT.corrupt;
  if (error instanceof DiskNotFoundError || error instanceof DiskParentMissingError) return EXIT.notFound;
  if (error instanceof DiskIoError) return EXIT.io;
  if (
    error instanceof DiskUnsupportedError ||
    error instanceof DiskInvalidArgumentError ||
    error instanceof DiskExistsError ||
    error instanceof DiskOutOfRangeError ||
    error instanceof DiskUnalignedError ||
    error instanceof DiskReadOnlyError
  ) {
    return EXIT.invalid;
  }
  // Any other storage error (DiskClosedError) means the CLI misused the API: a bug.
  return EXIT.internal;
}

/** True when `error` is an expected outcome that gets one line and no stack trace. */
export function isExpectedError(error: unknown): boolean {
  return exitCodeFor(error) !== EXIT.internal;
}

/**
 * The one-line stderr message for an expected error: `viridian: <message> (<code>)`, with a hint
 * where one helps (`--force` for an existing file).
 */
export function describeError(error: unknown): string {
  if (error instanceof CommanderError) return `viridian: ${error.message.replace(/^error: /, '')} (${error.code})`;
  if (error instanceof DiskExistsError) return `viridian: ${error.message}; pass --force to replace it (${error.code})`;
  if (error instanceof DiskError || error instanceof CliError) return `viridian: ${error.message} (${error.code})`;
  const message = error instanceof Error ? (error.stack ?? error.message) : String(error);
  return `viridian: internal error: ${message}`;
}
