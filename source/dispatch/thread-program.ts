/**
 * The dispatch thread's program as source text, when the build carries it inside itself: the
 * release's single-file bundle and single executable have no file beside them to start a worker
 * from (a single executable has no script file at all; node:sea allows a worker only from a file
 * on disk or from code, measured on Node 24), so scripts/release/bundle.ts replaces this module's
 * value with thread-worker.ts bundled on its own, and thread-pool.ts starts each thread from it
 * (`new Worker(code, {eval: true})`). Undefined in every other build: thread-worker.js is a file
 * beside the pool (npm run build), or there is none (the source under tsx).
 */
export const threadProgram: string | undefined = undefined;
