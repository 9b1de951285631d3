// What benches and tests outside the server use of it: its entry point, to run as a real process, and the
// checks its browser tests make of a page.
export { horizontalOverflow, layoutShiftScore, recordLayoutShifts } from '../browser/page-checks'

/** `npm start`'s entry point (run with node --import tsx). */
export const SERVER_MAIN = new URL('../main.ts', import.meta.url)
