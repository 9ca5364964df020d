/**
 * The `/docs` page: a small hand-written viewer of /openapi.json (no Swagger UI bundle, nothing
 * loaded from the network). It asks for a token, fetches the document with it, lists every
 * operation with its schemas, and can send a request. The token stays in the page's memory only.
 * Every text that came from the document (agents write script descriptions) is set with
 * textContent, never as HTML, and the page's content security policy allows only its own files.
 */

export const docsSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

export const docsHtml = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Xi-Exec API</title>
<link rel="stylesheet" href="/docs/docs.css">
<script src="/docs/docs.js" defer></script>
</head>
<body>
<header>
<h1>Xi-Exec API</h1>
<p>Paste a token from <code>xi-exec token create</code>. It is kept in this page only, and sent in the Authorization header.</p>
<form id="login">
<label>Token <input id="token" type="password" autocomplete="off" required></label>
<label>Agents (optional, like --on) <input id="on" placeholder="all" autocomplete="off"></label>
<button type="submit">Load the document</button>
</form>
<p id="status" role="status"></p>
</header>
<main id="operations"></main>
</body>
</html>
`;

export const docsCss = `body { font: 15px/1.45 system-ui, sans-serif; margin: 0 auto; max-width: 70rem; padding: 1rem 2rem; color: #1d1f21; }
header form { display: flex; gap: 1rem; flex-wrap: wrap; align-items: end; }
label { display: flex; flex-direction: column; font-size: 0.85rem; }
input, textarea { font: 14px ui-monospace, monospace; padding: 0.3rem; }
input#token { width: 22rem; }
textarea { width: 100%; min-height: 7rem; box-sizing: border-box; }
details { border: 1px solid #c5c8c6; border-radius: 4px; margin: 0.5rem 0; padding: 0.3rem 0.8rem; }
summary { cursor: pointer; }
.method { display: inline-block; min-width: 4.5rem; font-weight: 700; font-family: ui-monospace, monospace; }
.path { font-family: ui-monospace, monospace; }
pre { background: #f4f4f4; padding: 0.6rem; overflow: auto; max-height: 24rem; white-space: pre-wrap; overflow-wrap: anywhere; }
.error { color: #b00020; }
`;

export const docsScript = `'use strict';
(function () {
	var token = '';
	var byId = function (id) { return document.getElementById(id); };
	var element = function (tag, text, className) {
		var node = document.createElement(tag);
		if (text !== undefined) { node.textContent = text; }
		if (className) { node.className = className; }
		return node;
	};
	var show = function (text, isError) {
		var status = byId('status');
		status.textContent = text;
		status.className = isError ? 'error' : '';
	};
	var call = function (method, url, body) {
		var options = {method: method, headers: {Authorization: 'Bearer ' + token}};
		if (body !== undefined) {
			options.headers['Content-Type'] = 'application/json';
			options.body = body;
		}
		return fetch(url, options).then(function (response) {
			return response.text().then(function (text) { return {status: response.status, text: text}; });
		});
	};
	var resolve = function (spec, schema) {
		var seen = 0;
		while (schema && typeof schema.$ref === 'string' && schema.$ref.indexOf('#/') === 0 && seen++ < 8) {
			var target = spec;
			schema.$ref.slice(2).split('/').forEach(function (part) { target = target && target[part.replace(/~1/g, '/').replace(/~0/g, '~')]; });
			schema = target;
		}
		return schema;
	};
	/** A copy of a schema with its $refs inlined (a few levels deep), for reading. */
	var inline = function (spec, schema, depth) {
		schema = resolve(spec, schema);
		if (depth > 6 || schema === null || typeof schema !== 'object') { return schema; }
		if (Array.isArray(schema)) { return schema.map(function (item) { return inline(spec, item, depth + 1); }); }
		var copy = {};
		Object.keys(schema).forEach(function (key) { copy[key] = inline(spec, schema[key], depth + 1); });
		return copy;
	};
	var example = function (spec, operation) {
		var body = operation.requestBody && resolve(spec, operation.requestBody.content['application/json'].schema);
		if (!body || !body.properties) { return ''; }
		var value = {};
		(body.required || []).forEach(function (name) { value[name] = name === 'on' ? ['all'] : (name === 'args' ? [] : ''); });
		if (body.properties.args && !value.args) { value.args = []; }
		return JSON.stringify(value, null, 2);
	};
	var render = function (spec) {
		var main = byId('operations');
		main.replaceChildren(element('h2', spec.info.title + ' ' + spec.info.version), element('p', spec.info.description));
		Object.keys(spec.paths).sort().forEach(function (path) {
			Object.keys(spec.paths[path]).forEach(function (method) {
				var operation = spec.paths[path][method];
				var details = element('details');
				var summary = element('summary');
				summary.append(element('span', method.toUpperCase(), 'method'), element('span', path, 'path'), document.createTextNode(' ' + (operation.summary || '')));
				details.append(summary);
				if (operation.description) { details.append(element('p', operation.description)); }
				var parameters = operation.parameters || [];
				var inputs = {};
				parameters.forEach(function (parameter) {
					var label = element('label', parameter.name + ' (' + parameter.in + (parameter.required ? ', required' : '') + ')');
					var input = element('input');
					inputs[parameter.name] = {input: input, where: parameter.in};
					label.append(input);
					details.append(label);
				});
				var textarea;
				if (operation.requestBody) {
					details.append(element('h4', 'Request body'), element('pre', JSON.stringify(inline(spec, operation.requestBody.content['application/json'].schema, 0), null, 2)));
					textarea = element('textarea');
					textarea.value = example(spec, operation);
					details.append(textarea);
				}
				details.append(element('h4', 'Responses'), element('pre', Object.keys(operation.responses).map(function (status) { return status + ': ' + operation.responses[status].description; }).join('\\n')));
				var output = element('pre');
				var send = element('button', 'Send');
				send.type = 'button';
				send.addEventListener('click', function () {
					var url = path;
					var query = [];
					Object.keys(inputs).forEach(function (name) {
						var value = inputs[name].input.value;
						if (inputs[name].where === 'path') { url = url.replace('{' + name + '}', encodeURIComponent(value)); }
						else if (value) { value.split(/\\s+/).forEach(function (item) { query.push(encodeURIComponent(name) + '=' + encodeURIComponent(item)); }); }
					});
					if (query.length > 0) { url += '?' + query.join('&'); }
					output.textContent = '...';
					call(method.toUpperCase(), url, textarea ? textarea.value : undefined).then(function (answer) {
						output.textContent = answer.status + '\\n' + answer.text;
					}, function (error) { output.textContent = String(error); });
				});
				details.append(send, output);
				main.append(details);
			});
		});
	};
	document.addEventListener('DOMContentLoaded', function () {
		byId('login').addEventListener('submit', function (event) {
			event.preventDefault();
			token = byId('token').value.trim();
			var on = byId('on').value.trim();
			var url = '/openapi.json' + (on ? '?' + on.split(/\\s+/).map(function (item) { return 'on=' + encodeURIComponent(item); }).join('&') : '');
			show('Loading...');
			call('GET', url).then(function (answer) {
				if (answer.status !== 200) {
					var message = answer.text;
					try { message = JSON.parse(answer.text).error.message; } catch (ignore) { /* not our error shape */ }
					show('Refused (' + answer.status + '): ' + message, true);
					return;
				}
				show('');
				render(JSON.parse(answer.text));
			}, function (error) { show(String(error), true); });
		});
	});
}());
`;
