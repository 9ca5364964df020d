/** A TLS identity as PEM text: its private key, its certificate, and the CA that issued it. */
export type TlsCredentials = {key: string; cert: string; ca: string};
