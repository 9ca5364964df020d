export * from './frames.js';
export * from './decode.js';
export * from './encode.js';
export * from './line-splitter.js';
export * from './args.js';
export * from './text-checks.js';
export {safeJsonParse} from './safe-json.js';
