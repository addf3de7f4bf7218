/**
 * Where the benchmark finds things: the repository root (dist/, the child scripts, bench-results/) and the node
 * arguments that let a child process run a TypeScript file.
 */
import { fileURLToPath } from 'node:url';

/** The repository root, with a trailing slash. */
export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const TSX = ['--import', 'tsx'];
