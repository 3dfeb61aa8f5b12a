#!/usr/bin/env node
// The `viridian` executable: the CLI is TypeScript run from source, so register tsx's loader
// first, then load the entry (src/cli/main.ts sets the exit code).
await import('tsx/esm/api').then((m) => m.register());
await import('../src/cli/main.ts');
