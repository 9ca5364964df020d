/**
 * Decoding wire frames: `decodeRequest` (what an agent reads), `decodeResponse` (what a
 * controller reads). Each returns a typed frame or a protocol error and never throws on bad bytes;
 * the shared checks are in decode-frame.ts, the per-frame decoders in decode-request.ts and
 * decode-response.ts, the claims a frame carries in decode-claims.ts.
 */
export type {Decoded, ProtocolError} from './decode-frame.js';
export {decodeRequest} from './decode-request.js';
export {decodeResponse} from './decode-response.js';
export {isApprovalClaim} from './decode-claims.js';
