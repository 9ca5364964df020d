/**
 * What a parsed policy is (parse-policy.ts reads it, engine.ts evaluates it), and the request and
 * decision the engine takes and gives. Types only.
 */
import type {FlagRules} from './flags.js';

/** `approved`: the run carries a two-person approval (the central endpoint confirms it is genuine). */
export type PolicyRequest = {caller: string; token?: {id: string; name: string} | null; script: string; args: readonly string[]; dryRun?: boolean; approved?: boolean};
export type Decision = {allowed: boolean; reason: string; rule?: string; charge?: RateCharge[]};
export type RateCharge = {key: string; windowMs: number};
/** Timestamps (ms) of earlier allowed calls, per rate key. */
export type RateState = Record<string, number[]>;

export type PositionRule = {enum?: string[]; pattern?: RegExp; source?: string};
/** Days 0–6 from Sunday; from and to in minutes after midnight, in the time zone. */
export type TimeWindow = {days?: number[]; from?: number; to?: number; timeZone: string};
export type RateLimit = {count: number; windowMs: number};
export type RateLimits = {perCaller?: RateLimit; perScript?: RateLimit};

export type Rule = {
	name: string;
	effect: 'allow' | 'deny';
	callers: string[];
	scripts: string[];
	forbid?: string[];
	/** How the program parses its options (flags.ts), for matching `forbid`. */
	flags?: FlagRules;
	positions?: PositionRule[];
	maxCount?: number;
	window?: TimeWindow;
	rate?: RateLimits;
	/** An allow rule that holds only for a run carrying a two-person approval. */
	approved?: true;
};

export type Policy = {rules: Rule[]};
