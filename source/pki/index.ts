export * from './x509.js';
export * from './keys.js';
export * from './identity.js';
export * from './fingerprints.js';
export * from './issue.js';
export * from './csr.js';
export * from './verify.js';
