/** The concert system's settings a deployment may change, from the environment. */
export interface ConcertSettings {
  /** `CONCERT_HOLD_TTL_MS` (default 5 min): how long a held seat waits for its payment. */
  holdTtlMs?: number | undefined
}

const SETTINGS = { holdTtlMs: 'CONCERT_HOLD_TTL_MS' } as const satisfies Record<keyof ConcertSettings, string>

/** Reads the settings that are set; a value that is not a positive whole number of milliseconds stops the start. */
export function concertSettingsFromEnv(env: Record<string, string | undefined>): ConcertSettings {
  const settings: ConcertSettings = {}
  for (const [key, name] of Object.entries(SETTINGS) as Array<[keyof ConcertSettings, string]>) {
    const value = env[name]
    if (!value) continue
    const ms = Number(value)
    if (!Number.isSafeInteger(ms) || ms <= 0) throw new Error(`${name} must be a positive whole number of milliseconds, not "${value}"`)
    settings[key] = ms
  }
  return settings
}
