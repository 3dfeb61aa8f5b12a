/**
 * The `viridian` executable's entry (`bin/viridian.mjs`, `npm run viridian`): loads every disk
 * format driver, runs the program on `process.argv` and sets the exit code (no `process.exit`, so
 * piped stdout is flushed before the process ends).
 */
// disk-files.ts registers raw and VHD itself; VHDX registers when its module is imported, which
// the dispatcher deliberately does not do, so the executable loads it here.
import '../storage/vhdx/index.ts';
import { processIo } from './io.ts';
import { runCli } from './program.ts';

// `npm run viridian` runs scripts in the repository root; relative paths mean the caller's folder.
if (process.env.npm_lifecycle_event === 'viridian' && process.env.INIT_CWD !== undefined) process.chdir(process.env.INIT_CWD);

process.exitCode = await runCli(process.argv.slice(2), processIo());
