/**
 * The `viridian` command-line program: builds the commander tree and runs it to an exit code.
 * Commander is set to throw instead of exiting (`exitOverride`) and to print nothing itself on
 * errors, so every failure, commander's usage errors included, ends in `runCli` as one stderr
 * line `viridian: <message> (<code>)` and an `EXIT` code; help and `--version` exit 0.
 */
import { Command, CommanderError } from 'commander';
import { registerDiskCommands } from './commands/disk-command.ts';
import { EXIT, describeError, exitCodeFor, isExpectedError, type ExitCode } from './errors.ts';
import { writeLine, type CliIo } from './io.ts';

/** The version `viridian --version` prints (the root-partition package's). */
export const CLI_VERSION = '0.1.0';

const EXIT_HELP = `
Exit codes:
  0  success
  1  usage error
  2  the image is corrupt
  3  the image or a differencing parent was not found
  4  unsupported operation or invalid argument
  5  host I/O error`;

/**
 * Builds the program. `setExitCode` lets a command finish normally yet fail the process
 * (`disk check` on a corrupt image).
 */
export function createProgram(io: CliIo, setExitCode: (code: ExitCode) => void): Command {
  const program = new Command('viridian')
    .description('Viridian: a Hyper-V-style partition manager')
    .version(CLI_VERSION)
    .exitOverride()
    .configureOutput({
      writeOut: (text) => io.stdout.write(text),
      writeErr: (text) => io.stderr.write(text),
      // runCli prints the error line itself (with the code).
      outputError: () => {},
    })
    .showSuggestionAfterError(true)
    .addHelpText('after', EXIT_HELP);
  registerDiskCommands(program, io, setExitCode);
  return program;
}

/**
 * Runs the CLI on `args` (without node and the script) and resolves to the exit code; never
 * rejects. Expected errors print one line; an unexpected one prints its stack (a bug).
 */
export async function runCli(args: readonly string[], io: CliIo): Promise<ExitCode> {
  let exitCode: ExitCode = EXIT.ok;
  const program = createProgram(io, (code) => {
    exitCode = code;
  });
  try {
    await program.parseAsync([...args], { from: 'user' });
    return exitCode;
  } catch (error) {
    if (error instanceof CommanderError && isHelpOrVersion(error)) return exitCodeFor(error);
    writeLine(io.stderr, describeError(error));
    if (error instanceof CommanderError) writeLine(io.stderr, `(run 'viridian ${helpPath(args)}--help' for usage)`);
    return isExpectedError(error) ? exitCodeFor(error) : EXIT.internal;
  }
}

function isHelpOrVersion(error: CommanderError): boolean {
  return error.code === 'commander.helpDisplayed' || error.code === 'commander.help' || error.code === 'commander.version';
}

/** The command words of `args` the usage hint points at (`disk new `), when they exist. */
function helpPath(args: readonly string[]): string {
  if (args[0] !== 'disk') return '';
  const sub = args[1];
  return sub !== undefined && ['new', 'info', 'check', 'convert', 'resize'].includes(sub) ? `disk ${sub} ` : 'disk ';
}
