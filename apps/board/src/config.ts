/** Where another board service listens, for a service running alone; e.g. BOARD_POST_URL=http://127.0.0.1:3002. */
export function serviceUrl(env: NodeJS.ProcessEnv, name: 'member' | 'post' | 'comment'): string {
  const variable = `BOARD_${name.toUpperCase()}_URL`
  const url = env[variable]
  if (!url) throw new Error(`${variable} must say where the ${name} service listens (e.g. http://127.0.0.1:3001)`)
  return url
}
