/**
 * The /docs page's script, run against a small fake DOM and a fake fetch: it asks for the token,
 * fetches /openapi.json with it in the Authorization header, shows every operation (texts from
 * agents as text, never HTML), and sends a request with the token.
 */
import test from 'ava';
import {docsScript} from '../../source/api/docs-page.js';
import {buildOpenApiDocument} from '../../source/api/openapi.js';
import {routes} from '../../source/api/routes.js';
import {buildCatalog} from '../../source/core/script-catalog.js';

class FakeElement {
	children: Array<FakeElement | string> = [];
	textContent = '';
	className = '';
	value = '';
	type = '';
	open = false;
	listeners = new Map<string, (event: {preventDefault: () => void}) => void>();
	constructor(readonly tag: string) {}
	append(...nodes: Array<FakeElement | string>) {
		this.children.push(...nodes);
	}

	replaceChildren(...nodes: Array<FakeElement | string>) {
		this.children = [...nodes];
	}

	addEventListener(name: string, listener: (event: {preventDefault: () => void}) => void) {
		this.listeners.set(name, listener);
	}

	all(tag: string): FakeElement[] {
		return this.children.flatMap(child => (typeof child === 'string' ? [] : [...(child.tag === tag ? [child] : []), ...child.all(tag)]));
	}

	text(): string {
		return this.textContent + this.children.map(child => (typeof child === 'string' ? child : child.text())).join('');
	}
}

test('the docs page loads the document with the token and lists every operation as text', async t => {
	const elements = new Map(['login', 'token', 'on', 'status', 'operations'].map(id => [id, new FakeElement(id === 'login' ? 'form' : 'div')]));
	const submit = new FakeElement('button');
	const listeners = new Map<string, () => void>();
	const fakeDocument = {
		getElementById: (id: string) => elements.get(id),
		createElement: (tag: string) => new FakeElement(tag),
		createTextNode: (text: string) => text,
		addEventListener: (name: string, listener: () => void) => listeners.set(name, listener),
		querySelector: () => submit,
	};
	const spec = buildOpenApiDocument({version: '1', routes, catalog: buildCatalog([{name: 'web1', address: 'a:1', status: 'reachable', scripts: [{name: 'restart-nginx', description: '<img src=x onerror=alert(1)>', timeoutSeconds: 5}]}])});
	const calls: Array<{url: string; options: {method: string; headers: Record<string, string>; body?: string}}> = [];
	const fakeFetch = async (url: string, options: {method: string; headers: Record<string, string>; body?: string}) => {
		calls.push({url, options});
		const text = url.startsWith('/openapi.json') ? JSON.stringify(spec) : '{"ok":true}';
		return {status: 200, text: async () => text};
	};

	new Function('document', 'fetch', docsScript)(fakeDocument, fakeFetch);
	listeners.get('DOMContentLoaded')!();
	elements.get('token')!.value = ' xie_secret ';
	elements.get('on')!.value = 'env=production web1';
	elements.get('login')!.listeners.get('submit')!({preventDefault: () => undefined});
	await new Promise(resolve => setTimeout(resolve, 20));

	t.deepEqual(calls[0], {url: '/openapi.json?on=env%3Dproduction&on=web1', options: {method: 'GET', headers: {Authorization: 'Bearer xie_secret'}}});
	const operations = elements.get('operations')!.all('details');
	const count = Object.values(spec['paths'] as Record<string, object>).reduce((sum, item) => sum + Object.keys(item).length, 0);
	t.is(operations.length, count);
	const restart = operations.find(details => details.text().includes('/v1/scripts/restart-nginx'))!;
	t.true(restart.text().includes('<img src=x onerror=alert(1)>'), 'an agent\'s description is shown as text');
	const schema = JSON.parse(restart.all('pre')[0]!.textContent) as {properties: {on: {type: string[]}}};
	t.deepEqual(schema.properties.on.type, ['array', 'string'], 'the request body is shown with its $refs inlined');

	const [send] = restart.all('button');
	send!.listeners.get('click')!({preventDefault: () => undefined});
	await new Promise(resolve => setTimeout(resolve, 20));
	const sent = calls.at(-1)!;
	t.is(sent.url, '/v1/scripts/restart-nginx');
	t.is(sent.options.method, 'POST');
	t.deepEqual(sent.options.headers, {Authorization: 'Bearer xie_secret', 'Content-Type': 'application/json'});
	t.deepEqual(JSON.parse(sent.options.body!), {on: ['all'], args: []});
	t.regex(restart.all('pre').at(-1)!.textContent, /^200\n\{"ok":true\}/);
});
