/**
 * The relay floor (bench/relay-floor.ts) speaks the product's relay protocol, so what it spends is
 * what the Must-hold asks (one controller signature per target agent, the agent's signature on
 * its reply verified by the controller), not less: its request is one the real agent's checks
 * accept, its agent's reply one the real controller's chain check takes, and its own reply check
 * refuses what the product's refuses (each row fails a floor that skips that check).
 */
import {X509Certificate} from 'node:crypto';
import test from 'ava';
import {acceptRequest} from '../../agent/relay-accept.js';
import {RequestGuard} from '../../agent/relay-guard.js';
import {ReplayGuard} from '../../agent/replay-guard.js';
import {floorController, floorReplyProblem, floorRequest, floorRunBody, relayFloorReply} from '../../bench/relay-floor.js';
import {canonicalJson} from '../../source/protocol/canonical-json.js';
import {limits} from '../../source/protocol/frames.js';
import {secretArgsOf} from '../../source/protocol/secret-args.js';
import {ReplyChains} from '../../source/relay/reply-chain.js';
import {mintAuthority, now} from '../pki/mint.js';
import {caDer, fleetHash, holder} from './identities.js';

const fleet = await mintAuthority();
const controllerHolder = await holder(fleet, {role: 'controller'});
const web1 = await holder(fleet, {role: 'agent', name: 'web1'});
const web2 = await holder(fleet, {role: 'agent', name: 'web2'});
const targets = [{name: 'web1', serial: web1.serial, certificate: web1.certificate}, {name: 'web2', serial: web2.serial, certificate: web2.certificate}];
const controller = floorController({key: controllerHolder.key, cert: controllerHolder.certificate, ca: fleet.certificate.toString('pem')}, targets);
const clock = now.getTime();
const id = '6f9f1f7e-1c2b-4c1e-9a37-3c1f0b8e2d41';
const body = floorRunBody(id, 'uptime', 'bench@localhost', 300_000);
const controllerKey = (certificate: string) => new X509Certificate(Buffer.from(certificate, 'base64')).publicKey;
const agent1 = {name: 'web1', serial: web1.serial, key: web1.signer.key};

function agentContext() {
	return {agentName: 'web1', pins: {caSha256: fleetHash(fleet), controllerSerials: [controllerHolder.serial]}, caDer: caDer(fleet), guard: new RequestGuard(new ReplayGuard(limits.clockSkewMs)), agentKey: web1.signer.key, secretArgs: () => secretArgsOf(undefined), now: clock};
}

test('the floor\'s request is canonical and one the real agent accepts: signed for that agent by the pinned controller', t => {
	const {message, hash} = floorRequest(controller, 'web1', id, body, 1, clock);
	const env = JSON.parse(message).env as unknown;
	t.is(message.slice(7, message.indexOf(',"sig":"')), canonicalJson(env)!);
	const verdict = acceptRequest(message, agentContext());
	t.like(verdict, {ok: true, hash, frame: {type: 'run', id, script: 'uptime', args: [], caller: 'bench@localhost', dryRun: true}});
	t.like(acceptRequest(floorRequest(controller, 'web2', id, body, 2, clock).message, agentContext()), {ok: false, code: 'forbidden', reason: 'the request is for agent web2, not web1'});
});

test('the floor agent\'s reply is canonical and one the real controller\'s chain check takes as the run\'s result', t => {
	const {message, hash} = floorRequest(controller, 'web1', id, body, 1, clock);
	const reply = relayFloorReply(Buffer.from(message), agent1, controllerKey, clock + 5)!;
	t.is(reply.id, id);
	t.is(reply.message.slice(7, reply.message.indexOf(',"sig":"')), canonicalJson(JSON.parse(reply.message).env)!);
	const chains = new ReplyChains(id, targets[0]!);
	chains.expect(hash);
	t.like(chains.accept(reply.message, Buffer.from(reply.message)), {kind: 'frames', frames: [{type: 'result', id, status: 'ok'}], role: 'request'});
	t.is(floorReplyProblem(Buffer.from(reply.message), hash, 'web1', web1.serial, controller.agentKeys.get('web1')!), undefined);
});

test('the floor agent answers nothing whose signature does not verify with the certificate it carries', t => {
	const {message} = floorRequest(controller, 'web1', id, body, 1, clock);
	const altered = message.replace('"uptime"', '"uptimf"');
	t.is(relayFloorReply(Buffer.from(altered), agent1, controllerKey, clock), undefined);
	const otherCertificate = message.replace(/"cert":"[^"]+"/, `"cert":"${web2.der.toString('base64')}"`);
	t.is(relayFloorReply(Buffer.from(otherCertificate), agent1, controllerKey, clock), undefined);
});

test('the floor controller refuses what the product refuses: an altered reply, another agent\'s, a reply to another request, another layout', t => {
	const {message, hash} = floorRequest(controller, 'web1', id, body, 1, clock);
	const reply = relayFloorReply(Buffer.from(message), agent1, controllerKey, clock)!.message;
	const problem = (text: string, expected = hash) => floorReplyProblem(Buffer.from(text), expected, 'web1', web1.serial, controller.agentKeys.get('web1')!);
	t.is(problem(reply.replace('"status":"ok"', '"status":"no"')), 'the signature does not verify');
	const fromWeb2 = relayFloorReply(Buffer.from(message), {name: 'web1', serial: web1.serial, key: web2.signer.key}, controllerKey, clock)!.message;
	t.is(problem(fromWeb2), 'the signature does not verify');
	const asWeb2 = relayFloorReply(Buffer.from(message), {name: 'web2', serial: web2.serial, key: web1.signer.key}, controllerKey, clock)!.message;
	t.is(problem(asWeb2), 'not the first reply of this agent to this request');
	const other = floorRequest(controller, 'web1', id, body, 2, clock);
	t.is(problem(reply, other.hash), 'not the first reply of this agent to this request');
	t.is(problem(`${reply.slice(0, -1)},"x":1}`), 'not laid out as {"env":…,"sig":"…"}');
});
