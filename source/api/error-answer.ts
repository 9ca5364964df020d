/**
 * Every error the API answers, as one shape, `{"error": {"code", "message"}}`, with a code from
 * the error registry and that code's HTTP status. Fastify's own errors (validation, body
 * parsing) are mapped here; a validation error names the field. Pure.
 */
import {errorCodes, isXiError, type ErrorCode} from '../errors.js';

export type ErrorAnswer = {status: number; body: {error: {code: ErrorCode; message: string} & Readonly<Record<string, unknown>>}};

type FastifyishError = Error & {
	code?: string;
	statusCode?: number;
	validation?: Array<{instancePath?: string; keyword?: string; message?: string; params?: Record<string, unknown>}>;
	validationContext?: string;
};

const answer = (code: ErrorCode, message: string): ErrorAnswer => ({status: errorCodes[code].http, body: {error: {code, message}}});

export function errorAnswer(error: unknown): ErrorAnswer {
	if (isXiError(error)) {
		return {status: errorCodes[error.code].http, body: {error: {code: error.code, message: error.message, ...error.details}}};
	}

	const fastify = error as FastifyishError;
	if (Array.isArray(fastify?.validation)) {
		return answer('USAGE', describeValidation(fastify.validationContext ?? 'body', fastify.validation));
	}

	switch (fastify?.code) {
		case 'FST_ERR_CTP_BODY_TOO_LARGE': {
			return answer('BODY_TOO_LARGE', 'The request body is over the size limit.');
		}

		case 'FST_ERR_CTP_INVALID_MEDIA_TYPE': {
			return answer('MEDIA_TYPE_UNSUPPORTED', 'The request body must be sent as Content-Type: application/json.');
		}

		case 'FST_ERR_CTP_INVALID_JSON_BODY': {
			return answer('USAGE', 'The request body is not valid JSON, or it has a __proto__ or constructor.prototype key, which is refused.');
		}

		case 'FST_ERR_CTP_EMPTY_JSON_BODY': {
			return answer('USAGE', 'The request body is empty; send a JSON object.');
		}

		default:
	}

	if (typeof fastify?.statusCode === 'number' && fastify.statusCode >= 400 && fastify.statusCode < 500) {
		// Body parsing (bad JSON, a __proto__ key), a malformed URL...
		return answer('USAGE', `The request was refused: ${fastify.message}.`.replace(/\.\.$/, '.'));
	}

	return answer('INTERNAL', 'Internal error; the server\'s log has the details.');
}

/** `body field args[1] must be string`, `query parameter limit must be <= 1000`. */
export function describeValidation(context: string, errors: NonNullable<FastifyishError['validation']>): string {
	const [first] = errors;
	const where = {querystring: 'query parameter', params: 'path parameter', headers: 'header'}[context] ?? `${context} field`;
	const path = (first?.instancePath ?? '').split('/').filter(Boolean).map((part, index) => (/^\d+$/.test(part) ? `[${part}]` : (index === 0 ? part : `.${part}`))).join('');
	const params = first?.params ?? {};
	if (first?.keyword === 'required') {
		return `${where} ${joinPath(path, String(params['missingProperty']))} is required.`;
	}

	if (first?.keyword === 'additionalProperties') {
		return `${where} ${joinPath(path, String(params['additionalProperty']))} is not allowed.`;
	}

	if (path === '') {
		return `the ${context === 'querystring' ? 'query' : context} ${first?.message ?? 'is invalid'}.`;
	}

	return `${where} ${path} ${first?.message ?? 'is invalid'}.`;
}

function joinPath(path: string, name: string): string {
	return path ? `${path}.${name}` : name;
}
