/** The agents resource's schemas: an agent as discovery sees it, with its scripts. Pure. */
import {agentName, nullable, object, scriptName, selectorQuerySchema, selectorSchema, tagsSchema, text, timestamp, type JsonSchema} from './schema-parts.js';

export const scriptViewSchema: JsonSchema = object({
	name: scriptName,
	description: text(4096),
	timeoutSeconds: {type: 'integer'},
	args: {description: 'The argument schema the agent advertises (JSON Schema 2020-12), or null.'},
	schemaProblem: {type: ['string', 'null'], description: 'Why the controller refuses the advertised schema (too large, a remote $ref, an unsafe pattern); the script is then left out of /openapi.json.'},
	maxTargets: {type: ['integer', 'null']},
	confirm: {type: 'boolean'},
});

export const agentViewSchema: JsonSchema = object({
	name: agentName,
	address: text(300),
	tags: tagsSchema,
	reportedTags: {...tagsSchema, type: ['object', 'null'], description: 'The tags the agent reports about itself; the registry\'s are authoritative.'},
	drifted: {type: 'boolean', description: 'true when the agent\'s own tags differ from the registry\'s.'},
	status: {enum: ['reachable', 'unreachable']},
	reason: {type: ['string', 'null']},
	transport: {type: 'string', enum: ['tls', 'nats', 'both'], description: 'How the controller reaches the agent: direct mutual TLS, the NATS relay, or TLS with the relay as fallback.'},
	lastSeen: nullable(timestamp),
	lastSeenVia: {type: ['string', 'null'], enum: ['tls', 'relay', null], description: 'The link the agent last answered over (null when never seen or not known).'},
	relayPresence: {
		...object({
			state: {enum: ['seen', 'not-seen', 'unwatched'], description: 'seen: a valid signed heartbeat within 60 s (two heartbeats); not-seen: none, while xi-exec serve watches its broker; unwatched: nobody watches its broker.'},
			lastHeartbeat: nullable(timestamp),
			broker: {type: ['string', 'null']},
		}),
		type: ['object', 'null'],
		description: 'A relay agent\'s (transport nats or both) last valid signed presence heartbeat, as xi-exec serve counted it; null on direct TLS.',
	},
	certificateExpires: timestamp,
	scripts: {type: 'array', items: scriptViewSchema},
});

export const agentListSchema: JsonSchema = object({agents: {type: 'array', items: agentViewSchema}});
export const agentsQuerySchema: JsonSchema = object({
	on: {...selectorQuerySchema, description: `${String(selectorSchema['description'])} Default: all.`},
	timeoutSeconds: {type: 'integer', minimum: 1, maximum: 60, default: 3, description: 'How long to wait for each agent.'},
}, []);
