/**
 * What the agent process held at exec, read before any other module of the agent loads:
 * agent/cli.ts imports this module first, so its body runs first (an ES module's imports are
 * evaluated in order, and the release's CommonJS bundle keeps that order). `start` closes these
 * (inherited-descriptors.ts says why they must be read this early).
 */
import {descriptorsAtExec} from './inherited-descriptors.js';

export const inheritedAtExec = descriptorsAtExec();
