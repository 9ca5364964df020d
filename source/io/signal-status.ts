/** The exit status of the console (and the demo) left by a signal, as a shell reports a process killed by it. */
export const signalStatus = {SIGINT: 130, SIGTERM: 143, SIGHUP: 129} as const;

export type ConsoleSignal = keyof typeof signalStatus;
