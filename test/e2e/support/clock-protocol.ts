// How a story test moves the clock of a controller started from clocked-serve-entry.ts: one signal
// asks for the next full hour, one log line says it has passed (every schedule due has fired).
export const CLOCK_SIGNAL = 'SIGUSR2';
export const CLOCK_ADVANCED = 'test clock advanced';
/** Where the clock starts (ISO time); default 2026-11-02T00:30:00Z. */
export const CLOCK_START_ENV = 'HELIOSTAT_E2E_CLOCK_START';
