import test from 'ava';
import {checkControllerCertificate, type PeerVerdict, type Pins} from '../../agent/peer-check.js';
import {normaliseSerial, publicKeySha256} from '../../source/pki/fingerprints.js';
import {x509} from '../../source/pki/x509.js';
import {der, mint, mintAuthority, mintCustom} from '../pki/mint.js';

const fleet = await mintAuthority();
const controller = await mint(fleet, {role: 'controller'});
const serial = normaliseSerial(controller.serialNumber);
const pins: Pins = {caSha256: publicKeySha256(fleet.certificate), controllerSerials: [serial]};
const clientAuth = [x509.ExtendedKeyUsage.clientAuth];
const otherController = await mint(fleet, {role: 'controller'});

// A foreign CA, once under its own name and once copying the fleet CA's, each issuing a
// controller certificate with the pinned serial.
const foreign = await mintAuthority('somebody else');
const impostor = await mintAuthority('xi-exec fleet CA');
const foreignController = await mint(foreign, {role: 'controller'}, serial);
const impostorController = await mint(impostor, {role: 'controller'}, serial);

type Case = {title: string; peer: Buffer; issuer: Buffer | undefined; pins?: Pins; verdict: PeerVerdict};

const cases: Case[] = [
	{title: 'the controller certificate with the pinned serial passes', peer: der(controller), issuer: der(fleet.certificate), verdict: {ok: true, serial}},
	{
		title: 'a pinned serial spelled in upper case with a leading zero still matches',
		peer: der(controller),
		issuer: der(fleet.certificate),
		pins: {...pins, controllerSerials: ['deadbeef', `00${serial.toUpperCase()}`]},
		verdict: {ok: true, serial},
	},
	{
		title: 'a controller certificate with another serial fails',
		peer: der(otherController),
		issuer: der(fleet.certificate),
		verdict: {ok: false, reason: `controller certificate serial ${normaliseSerial(otherController.serialNumber)} is not the pinned one`, code: 'unpinned'},
	},
	{title: 'another agent\'s certificate fails', peer: der(await mint(fleet, {role: 'agent', name: 'web2'}, serial)), issuer: der(fleet.certificate), verdict: {ok: false, reason: 'the peer is agent web2, not the controller'}},
	{title: 'a server-role certificate fails', peer: der(await mint(fleet, {role: 'server'}, serial)), issuer: der(fleet.certificate), verdict: {ok: false, reason: 'the peer is server, not the controller'}},
	{title: 'an audit-role certificate fails', peer: der(await mint(fleet, {role: 'audit'}, serial)), issuer: der(fleet.certificate), verdict: {ok: false, reason: 'the peer is audit, not the controller'}},
	{
		title: 'a foreign CA\'s certificate with a copied serial fails',
		peer: der(foreignController),
		issuer: der(foreign.certificate),
		verdict: {ok: false, reason: 'the peer certificate is not issued by the pinned fleet CA'},
	},
	{
		title: 'a foreign CA\'s certificate with a copied serial fails even when the chain claims the fleet CA',
		peer: der(impostorController),
		issuer: der(fleet.certificate),
		verdict: {ok: false, reason: 'the peer certificate is not signed by the pinned fleet CA'},
	},
	{
		title: 'a certificate with two SAN URIs fails',
		peer: der(await mintCustom(fleet, {serial, usages: clientAuth, names: [{type: 'url', value: 'xi-exec:controller'}, {type: 'url', value: 'xi-exec:agent/web1'}]})),
		issuer: der(fleet.certificate),
		verdict: {ok: false, reason: 'certificate must name exactly one xi-exec identity in a SAN URI; it has 2'},
	},
	{
		title: 'a certificate naming the controller twice fails',
		peer: der(await mintCustom(fleet, {serial, usages: clientAuth, names: [{type: 'url', value: 'xi-exec:controller'}, {type: 'url', value: 'xi-exec:controller'}]})),
		issuer: der(fleet.certificate),
		verdict: {ok: false, reason: 'certificate must name exactly one xi-exec identity in a SAN URI; it has 2'},
	},
	{
		title: 'a certificate with no SAN URI fails',
		peer: der(await mintCustom(fleet, {serial, usages: clientAuth, names: [{type: 'dns', value: 'controller.example'}]})),
		issuer: der(fleet.certificate),
		verdict: {ok: false, reason: 'certificate must name exactly one xi-exec identity in a SAN URI; it has 0'},
	},
	{
		title: 'a certificate with no SAN at all fails',
		peer: der(await mintCustom(fleet, {serial, usages: clientAuth})),
		issuer: der(fleet.certificate),
		verdict: {ok: false, reason: 'certificate must name exactly one xi-exec identity in a SAN URI; it has 0'},
	},
	{
		title: 'a SAN URI that is not an xi-exec identity fails',
		peer: der(await mintCustom(fleet, {serial, usages: clientAuth, names: [{type: 'url', value: 'https://controller.example'}]})),
		issuer: der(fleet.certificate),
		verdict: {ok: false, reason: 'SAN URI "https://controller.example" is not an xi-exec identity'},
	},
	{
		title: 'a SAN URI that differs only in case fails',
		peer: der(await mintCustom(fleet, {serial, usages: clientAuth, names: [{type: 'url', value: 'XI-EXEC:controller'}]})),
		issuer: der(fleet.certificate),
		verdict: {ok: false, reason: 'SAN URI "XI-EXEC:controller" is not an xi-exec identity'},
	},
	{
		title: 'a controller certificate only for server authentication fails',
		peer: der(await mintCustom(fleet, {serial, usages: [x509.ExtendedKeyUsage.serverAuth], names: [{type: 'url', value: 'xi-exec:controller'}]})),
		issuer: der(fleet.certificate),
		verdict: {ok: false, reason: 'the controller certificate is not allowed for client authentication'},
	},
	{
		title: 'a controller certificate without extended key usage fails',
		peer: der(await mintCustom(fleet, {serial, names: [{type: 'url', value: 'xi-exec:controller'}]})),
		issuer: der(fleet.certificate),
		verdict: {ok: false, reason: 'the controller certificate is not allowed for client authentication'},
	},
	{title: 'the fleet CA\'s own certificate fails', peer: der(fleet.certificate), issuer: der(fleet.certificate), verdict: {ok: false, reason: 'certificate must name exactly one xi-exec identity in a SAN URI; it has 0'}},
	{title: 'a certificate without its issuer fails', peer: der(controller), issuer: undefined, verdict: {ok: false, reason: 'the peer certificate has no issuer in the chain'}},
	{title: 'bytes that are not a certificate fail', peer: Buffer.from('not a certificate'), issuer: der(fleet.certificate), verdict: {ok: false, reason: 'the peer certificate cannot be parsed'}},
	{title: 'an issuer that is not a certificate fails', peer: der(controller), issuer: Buffer.alloc(16), verdict: {ok: false, reason: 'the peer certificate cannot be parsed'}},
	{title: 'no pinned serial at all fails', peer: der(controller), issuer: der(fleet.certificate), pins: {...pins, controllerSerials: []}, verdict: {ok: false, reason: `controller certificate serial ${serial} is not the pinned one`, code: 'unpinned'}},
];

for (const c of cases) {
	test(c.title, t => {
		t.deepEqual(checkControllerCertificate(c.peer, c.issuer, c.pins ?? pins), c.verdict);
	});
}
