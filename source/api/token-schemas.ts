/** The tokens resource's schemas: a token as listed, created and revoked. Pure. */
import {scriptNamePattern} from '../protocol/text-checks.js';
import {nullable, object, selectorSchema, text, timestamp, type JsonSchema} from './schema-parts.js';

export const tokenName = text(63, {pattern: '^[a-z0-9][a-z0-9._-]{0,62}$'});

export const tokenViewSchema: JsonSchema = object({
	id: text(32),
	name: tokenName,
	scripts: {type: 'array', items: text(64)},
	on: {type: 'array', items: {type: 'string'}},
	createdAt: timestamp,
	expiresAt: nullable(timestamp),
	revokedAt: nullable(timestamp),
	state: {enum: ['active', 'revoked', 'expired']},
	operator: {type: 'boolean', description: 'An operator\'s own token, which approval rules can name as an approver.'},
});

export const tokenListSchema: JsonSchema = object({tokens: {type: 'array', items: tokenViewSchema}});

export const tokenCreateBodySchema: JsonSchema = object({
	name: tokenName,
	scripts: {type: 'array', minItems: 1, maxItems: 256, items: text(64, {pattern: `^(?:\\*|${scriptNamePattern.source.slice(1, -1)})$`}), description: 'Script names, or ["*"] for every script.'},
	on: selectorSchema,
	expires: text(12, {pattern: '^\\d+[mhd]$', description: 'A lifetime such as 90m, 12h or 30d; none means no expiry.'}),
	operator: {type: 'boolean', description: 'An operator\'s own token, which approval rules can name as an approver.'},
}, ['name', 'scripts', 'on']);

export const tokenCreatedSchema: JsonSchema = object({
	token: text(100, {description: 'The token itself: shown this once, stored only as a hash.'}),
	id: text(32),
	name: tokenName,
	scripts: {type: 'array', items: {type: 'string'}},
	on: {type: 'array', items: {type: 'string'}},
	expiresAt: nullable(timestamp),
	operator: {type: 'boolean'},
});

export const tokenParamsSchema: JsonSchema = object({name: tokenName});
export const tokenRevokedSchema: JsonSchema = object({name: tokenName, revoked: {const: true}});
