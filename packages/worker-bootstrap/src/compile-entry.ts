/**
 * Compiles a TypeScript worker entry, and every TypeScript module it imports, to plain JavaScript
 * in a cache directory, once, in the calling thread, so that the worker itself runs without tsx.
 *
 * Why: `startWorker` registers tsx inside each TypeScript worker, and in Node.js 20 tsx's loader
 * hooks run on a hooks thread of their own: every such worker is two V8 isolates (measured: about
 * 17 MB of RSS and 120 ms of start-up per worker before the entry even loads, and esbuild
 * transpiling the entry's module graph again in every worker). A worker started from the compiled
 * image is one isolate that only parses JavaScript (about 8-10 MB and 25-45 ms).
 *
 * How: each `.ts`/`.mts` file of the graph is transpiled alone by esbuild (tsx's own esbuild, so no
 * new dependency), with every import left external but rewritten to an absolute URL: a TypeScript
 * module to its compiled file in the cache, anything else (packages, JavaScript files) to the file
 * esbuild resolved with Node's conditions (`node`, `import`, `default`; `main` only), builtins as
 * they are. `import.meta.url`, `import.meta.filename` and `import.meta.dirname` are replaced by the
 * source file's own, so `new URL('./other.ts', import.meta.url)` still names the source tree (and
 * `startWorker`/`compileWorkerEntry` take it from there). One compiled file per source file keeps
 * one module instance per source module inside a worker.
 *
 * Limits: a dynamic `import()` of a computed TypeScript specifier, and `import.meta.resolve`, are not
 * rewritten; workers that need those keep using `startWorker` on the `.ts` entry (tsx in the worker).
 *
 * The cache is `$TMPDIR/viridian-workers-<uid>/` mirroring the source paths (`.mjs`). Files are
 * written only when their text changes, through a rename, so concurrent processes share it safely;
 * within a process a compiled file is reused while the source's mtime and size are unchanged.
 */
import { createRequire } from 'node:module';
import { mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve as resolvePath } from 'node:path';
import { pathToFileURL, fileURLToPath } from 'node:url';
import { WorkerCompileError } from './errors.ts';
import { resolveWorkerEntry } from './start-worker.ts';

const require = createRequire(import.meta.url);

/** Flags that preload code or register loader hooks, each followed by its value unless `=` joins them. */
const PRELOAD_FLAGS = new Set(['--require', '-r', '--import', '--loader', '--experimental-loader']);

/**
 * `argv` (default: this process's `execArgv`, which a worker inherits) without the flags that preload
 * modules or register loader hooks. Pass it as `execArgv` when starting a compiled worker: a host run
 * through `tsx` has `--import tsx/loader` in its execArgv, and a worker that inherits it registers
 * tsx (and starts its hooks thread) all the same.
 */
export function execArgvWithoutPreloads(argv: readonly string[] = process.execArgv): string[] {
  const kept: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (PRELOAD_FLAGS.has(arg)) i++;
    else if (!PRELOAD_FLAGS.has(arg.split('=', 1)[0]!)) kept.push(arg);
  }
  return kept;
}

/** Source files esbuild compiles here: TypeScript ES modules. */
const TS_MODULE = /\.(m)?ts$/;
/** TypeScript flavours this compiler does not handle (the caller falls back to tsx in the worker). */
const TS_UNSUPPORTED = /\.(cts|tsx)$/;

/** The subset of esbuild's API used here (esbuild is tsx's dependency, not ours: no types import). */
interface EsbuildResolveResult {
  readonly path: string;
  readonly external: boolean;
  readonly errors: readonly unknown[];
}
interface EsbuildPluginBuild {
  onResolve(
    options: { filter: RegExp },
    callback: (args: { path: string; kind: string; importer: string; resolveDir: string; pluginData: unknown }) => Promise<unknown> | unknown,
  ): void;
  resolve(path: string, options: { kind: string; importer: string; resolveDir: string; pluginData: unknown }): Promise<EsbuildResolveResult>;
}
interface Esbuild {
  build(options: Record<string, unknown>): Promise<{ outputFiles: readonly { text: string }[] }>;
}

let esbuild: Esbuild | undefined;
let cacheRoot: string | undefined;

/** One compiled source file: its stamp when compiled, and the TypeScript modules it imports. */
interface CompiledFile {
  readonly stamp: string;
  readonly done: Promise<readonly string[]>;
}
const compiled = new Map<string, CompiledFile>();

/**
 * Compiles `entry` and the TypeScript modules it imports (see the module comment) and returns the
 * URL of the compiled entry; a JavaScript entry is returned as `resolveWorkerEntry` resolves it.
 * @throws {WorkerEntryNotFoundError} (synchronously) when the entry does not exist.
 * @throws {WorkerCompileError} (rejection) when esbuild is unavailable or a module fails to compile.
 */
export async function compileWorkerEntry(entry: URL | string): Promise<URL> {
  const resolved = resolveWorkerEntry(entry);
  if (!resolved.typescript) return resolved.url;
  const path = fileURLToPath(resolved.url);
  if (TS_UNSUPPORTED.test(path)) throw new WorkerCompileError(path, 'only .ts and .mts modules are compiled');
  await compileGraph(path);
  return pathToFileURL(compiledPath(path));
}

/** Where the compiled image of the TypeScript module `source` lives. */
export function compiledPath(source: string): string {
  cacheRoot ??= join(tmpdir(), `viridian-workers-${process.getuid?.() ?? 'user'}`);
  const absolute = resolvePath(source).replace(/^[A-Za-z]:/, (drive) => drive[0]!);
  return join(cacheRoot, absolute).replace(TS_MODULE, '.mjs');
}

/** Compiles every stale file of the graph rooted at `root`, in parallel, following imports. */
async function compileGraph(root: string): Promise<void> {
  const visited = new Set<string>();
  const visit = async (file: string): Promise<void> => {
    if (visited.has(file)) return;
    visited.add(file);
    const deps = await compileFile(file);
    await Promise.all(deps.map(visit));
  };
  await visit(root);
}

function compileFile(file: string): Promise<readonly string[]> {
  let stamp: string;
  try {
    const stat = statSync(file);
    stamp = `${stat.mtimeMs}:${stat.size}`;
  } catch {
    return Promise.reject(new WorkerCompileError(file, 'module not found'));
  }
  const known = compiled.get(file);
  if (known && known.stamp === stamp) return known.done;
  const done = transpile(file);
  compiled.set(file, { stamp, done });
  done.catch(() => {
    if (compiled.get(file)?.done === done) compiled.delete(file); // retry on the next request
  });
  return done;
}

const RESOLVING = Symbol('resolving');

/** Transpiles one module with its imports rewritten; writes it if its text changed. */
async function transpile(file: string): Promise<readonly string[]> {
  const build = loadEsbuild();
  const deps: string[] = [];
  const sourceUrl = pathToFileURL(file).href;
  let text: string;
  try {
    const result = await build.build({
      entryPoints: [file],
      bundle: true,
      write: false,
      format: 'esm',
      platform: 'node',
      target: 'node20',
      // Node's own resolution: conditions node/import/default, package.json "main" only.
      conditions: [],
      mainFields: ['main'],
      logLevel: 'silent',
      define: {
        'import.meta.url': JSON.stringify(sourceUrl),
        'import.meta.filename': JSON.stringify(file),
        'import.meta.dirname': JSON.stringify(dirname(file)),
      },
      plugins: [
        {
          name: 'viridian-external-imports',
          setup(b: EsbuildPluginBuild) {
            b.onResolve({ filter: /.*/ }, async (args) => {
              if (args.kind === 'entry-point' || args.pluginData === RESOLVING) return undefined;
              const r = await b.resolve(args.path, { kind: args.kind, importer: args.importer, resolveDir: args.resolveDir, pluginData: RESOLVING });
              if (r.errors.length > 0) return { errors: r.errors };
              if (r.external) return { path: r.path, external: true }; // a builtin
              if (TS_MODULE.test(r.path)) {
                deps.push(r.path);
                return { path: pathToFileURL(compiledPath(r.path)).href, external: true };
              }
              return { path: pathToFileURL(r.path).href, external: true };
            });
          },
        },
      ],
    });
    text = result.outputFiles[0]!.text;
  } catch (error) {
    throw new WorkerCompileError(file, error instanceof Error ? error.message : String(error));
  }
  writeIfChanged(compiledPath(file), `// Compiled from ${sourceUrl} by @viridian/worker-bootstrap.\n${text}`);
  return deps;
}

function writeIfChanged(path: string, text: string): void {
  try {
    if (readFileSync(path, 'utf8') === text) return;
  } catch {
    // not there yet
  }
  mkdirSync(dirname(path), { recursive: true });
  const temporary = `${path}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
  writeFileSync(temporary, text);
  renameSync(temporary, path);
}

/** tsx's esbuild, resolved from tsx's own directory. */
function loadEsbuild(): Esbuild {
  if (esbuild) return esbuild;
  try {
    const fromTsx = createRequire(require.resolve('tsx/package.json'));
    esbuild = fromTsx('esbuild') as Esbuild;
  } catch (error) {
    throw new WorkerCompileError('esbuild', `esbuild (tsx's dependency) is not available: ${String(error)}`);
  }
  return esbuild;
}
