import {subtle, keyAlgorithm, x509} from './x509.js';

export function generateKeyPair(): Promise<CryptoKeyPair> {
	return subtle.generateKey(keyAlgorithm, true, ['sign', 'verify']);
}

export async function privateKeyToPem(key: CryptoKey): Promise<string> {
	const der = await subtle.exportKey('pkcs8', key);
	return x509.PemConverter.encode(der, 'PRIVATE KEY');
}

export async function privateKeyFromPem(pem: string): Promise<CryptoKey> {
	const [der] = x509.PemConverter.decode(pem);
	if (!der) {
		throw new Error('no PEM block found');
	}

	return subtle.importKey('pkcs8', der, keyAlgorithm, true, ['sign']);
}

/** The public half of a private key (WebCrypto cannot derive it, so go through JWK). */
export async function publicKeyOf(privateKey: CryptoKey): Promise<CryptoKey> {
	const jwk = await subtle.exportKey('jwk', privateKey);
	delete jwk.d;
	jwk.key_ops = ['verify'];
	return subtle.importKey('jwk', jwk, keyAlgorithm, true, ['verify']);
}

export async function keyPairFromPem(pem: string): Promise<CryptoKeyPair> {
	const privateKey = await privateKeyFromPem(pem);
	return {privateKey, publicKey: await publicKeyOf(privateKey)};
}
