/** The service routes' schemas: health and the OpenAPI document's query. Pure. */
import {object, selectorQuerySchema, type JsonSchema} from './schema-parts.js';

export const openapiQuerySchema: JsonSchema = object({
	on: {...selectorQuerySchema, description: `Build the document from these agents only. ${String(selectorQuerySchema['description'])} Default: all.`},
}, []);

export const healthSchema: JsonSchema = object({status: {const: 'ok'}});
