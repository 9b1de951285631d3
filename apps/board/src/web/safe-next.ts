/**
 * Where to go after logging in: only a path on this site. `//evil.example` and `/\evil.example` are
 * protocol-relative URLs to browsers, so a single leading slash followed by anything else is required.
 */
export function safeNext(value: unknown): string {
  if (typeof value !== 'string' || value.length > 2000) return '/'
  if (!value.startsWith('/') || value.startsWith('//') || value.includes('\\')) return '/'
  // Control characters (tabs and line breaks are stripped by URL parsers) could smuggle a second slash in.
  if (/\p{Cc}/u.test(value)) return '/'
  return value
}

/** The login page, coming back to `path` afterwards. */
export function loginPath(path: string): string {
  const next = safeNext(path)
  return next === '/' ? '/login' : `/login?next=${encodeURIComponent(next)}`
}
