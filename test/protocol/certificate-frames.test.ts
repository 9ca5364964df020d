/** The wire shapes of certificates over time: renew/certificate/pin/unpair and their answers. */
import test from 'ava';
import {decodeRequest, decodeResponse} from '../../source/protocol/decode.js';

const id = 'req-0001abcd';
const request = {v: 1, id, msg: 'msg-0001abcd', ts: Date.UTC(2026, 0, 15)};
const response = {v: 1, id};
const certificate = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';
const csr = '-----BEGIN CERTIFICATE REQUEST-----\nMIIB\n-----END CERTIFICATE REQUEST-----\n';
const malformed = (message: string) => ({ok: false, error: {code: 'malformed', message, id}});

const requests: Array<{title: string; frame: Record<string, unknown>; expected: unknown}> = [
	{title: 'a renew', frame: {...request, type: 'renew', caller: 'alice'}, expected: {ok: true, frame: {...request, type: 'renew', caller: 'alice'}}},
	{title: 'an unpair', frame: {...request, type: 'unpair', caller: 'alice'}, expected: {ok: true, frame: {...request, type: 'unpair', caller: 'alice'}}},
	{title: 'a pin', frame: {...request, type: 'pin', caller: 'alice', serial: 'ab12'}, expected: {ok: true, frame: {...request, type: 'pin', caller: 'alice', serial: 'ab12'}}},
	{title: 'a certificate', frame: {...request, type: 'certificate', certificate}, expected: {ok: true, frame: {...request, type: 'certificate', certificate}}},
	{title: 'a renew without a caller', frame: {...request, type: 'renew'}, expected: malformed('field "caller" must be a string of at most 1024 characters without NUL')},
	{title: 'an unpair with a NUL in the caller', frame: {...request, type: 'unpair', caller: 'a\u0000'}, expected: malformed('field "caller" must be a string of at most 1024 characters without NUL')},
	{title: 'a pin whose serial is not hex', frame: {...request, type: 'pin', caller: 'alice', serial: 'zz'}, expected: malformed('field "serial" must be a certificate serial in hex')},
	{title: 'a pin whose serial is longer than 20 bytes', frame: {...request, type: 'pin', caller: 'alice', serial: 'a'.repeat(41)}, expected: malformed('field "serial" must be a certificate serial in hex')},
	{title: 'a pin whose serial carries a newline', frame: {...request, type: 'pin', caller: 'alice', serial: 'ab\n'}, expected: malformed('field "serial" must be a certificate serial in hex')},
	{title: 'a pin without a serial', frame: {...request, type: 'pin', caller: 'alice'}, expected: malformed('field "serial" must be a certificate serial in hex')},
	{title: 'a certificate that is a CSR', frame: {...request, type: 'certificate', certificate: csr}, expected: malformed('field "certificate" must be a PEM certificate')},
	{title: 'a certificate as DER numbers', frame: {...request, type: 'certificate', certificate: [48, 130]}, expected: malformed('field "certificate" must be a PEM certificate')},
];

for (const c of requests) {
	test(`decodeRequest: ${c.title}`, t => {
		t.deepEqual(decodeRequest(JSON.stringify(c.frame)), c.expected);
	});
}

const responses: Array<{title: string; frame: Record<string, unknown>; expected: unknown}> = [
	{title: 'a csr', frame: {...response, type: 'csr', csr}, expected: {ok: true, frame: {...response, type: 'csr', csr}}},
	{title: 'renewed', frame: {...response, type: 'renewed', serial: 'ab', notAfter: '2027-01-01T00:00:00.000Z'}, expected: {ok: true, frame: {...response, type: 'renewed', serial: 'ab', notAfter: '2027-01-01T00:00:00.000Z'}}},
	{title: 'pinned', frame: {...response, type: 'pinned', serials: ['ab', 'cd']}, expected: {ok: true, frame: {...response, type: 'pinned', serials: ['ab', 'cd']}}},
	{title: 'unpaired', frame: {...response, type: 'unpaired'}, expected: {ok: true, frame: {...response, type: 'unpaired'}}},
	{title: 'a csr that is a certificate', frame: {...response, type: 'csr', csr: certificate}, expected: malformed('field "csr" must be a PEM certificate request')},
	{title: 'renewed without a date', frame: {...response, type: 'renewed', serial: 'ab', notAfter: 'soon'}, expected: malformed('a renewed frame needs "serial" (hex) and "notAfter" (a date)')},
	{title: 'renewed with a serial that is not hex', frame: {...response, type: 'renewed', serial: '-1', notAfter: '2027-01-01T00:00:00.000Z'}, expected: malformed('a renewed frame needs "serial" (hex) and "notAfter" (a date)')},
	{title: 'pinned with a non-hex serial', frame: {...response, type: 'pinned', serials: ['ab', 'x']}, expected: malformed('field "serials" must be an array of hex serials')},
	{title: 'pinned with serials as a string', frame: {...response, type: 'pinned', serials: 'ab'}, expected: malformed('field "serials" must be an array of hex serials')},
];

for (const c of responses) {
	test(`decodeResponse: ${c.title}`, t => {
		t.deepEqual(decodeResponse(JSON.stringify(c.frame)), c.expected);
	});
}
