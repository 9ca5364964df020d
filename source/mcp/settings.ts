/**
 * The MCP face's settings in the controller's `config.json`:
 * `{"mcp": {"maxConcurrentCalls", "callsPerMinute", "maxOutputBytes", "pollSeconds", "allowedOrigins"}}`.
 * Each limit holds per token; `pollSeconds` is how often the fleet is looked at for
 * `tools/list_changed`; `allowedOrigins` lists the browser origins `/mcp` accepts (none by default).
 */
import {XiError} from '../errors.js';
import type {ControllerPaths} from '../home.js';
import {existsSync, readJsonFile} from '../io/files.js';
import {parseCallLimits, type CallLimits} from '../policy/call-limits.js';

export type McpSettings = {limits: CallLimits; pollSeconds: number; allowedOrigins: string[]};

export function parseMcpSettings(value: unknown): McpSettings | string {
	const limits = parseCallLimits(value);
	if (typeof limits === 'string') {
		return limits;
	}

	const fields = (value ?? {}) as Record<string, unknown>;
	const pollSeconds = fields['pollSeconds'] ?? 10;
	if (typeof pollSeconds !== 'number' || !Number.isInteger(pollSeconds) || pollSeconds < 1 || pollSeconds > 3600) {
		return `"mcp.pollSeconds" must be a whole number of seconds from 1 to 3600; got ${JSON.stringify(pollSeconds)}`;
	}

	const origins = fields['allowedOrigins'] ?? [];
	if (!Array.isArray(origins) || !origins.every(origin => typeof origin === 'string' && /^https?:\/\/[a-z0-9.-]+(?::\d{1,5})?$/i.test(origin))) {
		return '"mcp.allowedOrigins" must be a list of origins such as "https://agents.example.com" (no path, no wildcard)';
	}

	return {limits, pollSeconds, allowedOrigins: origins as string[]};
}

export function readMcpSettings(paths: ControllerPaths): McpSettings {
	const raw = existsSync(paths.config) ? (readJsonFile(paths.config, 'the controller settings') as Record<string, unknown> | null)?.['mcp'] : undefined;
	const settings = parseMcpSettings(raw);
	if (typeof settings === 'string') {
		throw new XiError('CONFIG_INVALID', `${settings} (in ${paths.config}).`);
	}

	return settings;
}
