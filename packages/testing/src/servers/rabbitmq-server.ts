import { execFile } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { createConnection } from 'node:net'
import { join } from 'node:path'
import { freePorts, startThrowawayServer, type ThrowawayServer } from './throwaway-server'

/** A throwaway RabbitMQ node (its database in `dataDir`), for tests that stop, kill and restart the broker. */
export interface RabbitMqServer extends ThrowawayServer {
  readonly url: string
  /** Runs an Erlang expression on the node (`rabbitmqctl eval`) and returns what it printed. */
  eval(expression: string): Promise<string>
}

/**
 * Debian's `rabbitmq-server` on the PATH is a wrapper that, as root, re-runs the real script as the
 * `rabbitmq` user through `su` (which could not write the test's data directory, and hides the server
 * from the signals sent to it). The real script runs the node as whoever starts it.
 */
const DEBIAN_SCRIPT = '/usr/lib/rabbitmq/bin/rabbitmq-server'
const DEBIAN_CTL = '/usr/lib/rabbitmq/bin/rabbitmqctl'

let nodes = 0

/**
 * Starts a RabbitMQ node of its own: a unique node name, the AMQP listener on a free port of 127.0.0.1,
 * Erlang distribution on another, database, logs, configuration and plugin list (none: no management)
 * in the data directory, so it shares nothing with the machine's own RabbitMQ but epmd. Booting takes
 * 6–12 s on this machine (CPU-bound). `rabbitmq-server` is a shell script that runs the Erlang VM as a
 * child: the node is started as a process group, so `kill` (SIGKILL) takes the VM down with the script,
 * and `restart` boots the same node on the same port and data again (streams and all).
 *
 * The tests' suites ask `serverInstalled('rabbitmqctl')`: `rabbitmq-server --version` would boot a node.
 */
export async function startRabbitMqServer(options: { readyTimeoutMs?: number } = {}): Promise<RabbitMqServer> {
  const [port, distPort] = (await freePorts(2)) as [number, number]
  const node = `tidings-${process.pid}-${++nodes}-${Date.now().toString(36)}@localhost`
  const server = await startThrowawayServer({
    command: existsSync(DEBIAN_SCRIPT) ? DEBIAN_SCRIPT : 'rabbitmq-server',
    args: () => [],
    port,
    processGroup: true,
    readyTimeoutMs: 60_000,
    prepare: async (_port, dir) => {
      await mkdir(join(dir, 'log'), { recursive: true })
      await writeFile(join(dir, 'enabled_plugins'), '[].\n')
      await writeFile(join(dir, 'rabbitmq.conf'), '')
      await writeFile(join(dir, 'rabbitmq-env.conf'), '')
    },
    env: (amqpPort, dir) => ({
      HOME: dir, // the Erlang cookie goes here, not into the user's home
      RABBITMQ_NODENAME: node,
      RABBITMQ_NODE_IP_ADDRESS: '127.0.0.1',
      RABBITMQ_NODE_PORT: String(amqpPort),
      RABBITMQ_DIST_PORT: String(distPort),
      RABBITMQ_MNESIA_BASE: join(dir, 'mnesia'),
      RABBITMQ_LOG_BASE: join(dir, 'log'),
      RABBITMQ_LOGS: '-', // to stdout: a node that fails to boot says why in the test's error
      RABBITMQ_ENABLED_PLUGINS_FILE: join(dir, 'enabled_plugins'),
      RABBITMQ_CONFIG_FILE: join(dir, 'rabbitmq.conf'),
      RABBITMQ_CONF_ENV_FILE: join(dir, 'rabbitmq-env.conf'),
      ERL_EPMD_ADDRESS: '127.0.0.1',
    }),
    ready: amqpReady,
    ...options,
  })
  try {
    await startStreamCoordinator(node, server.dataDir)
  } catch (error) {
    await server.cleanup()
    throw error
  }
  return Object.assign(server, { url: `amqp://guest:guest@127.0.0.1:${server.port}`, eval: (expression: string) => rabbitmqctlEval(node, server.dataDir, expression) })
}

/** `rabbitmqctl eval` on the node; HOME: the node's Erlang cookie is in the data directory (see `env`). */
function rabbitmqctlEval(node: string, dir: string, expression: string): Promise<string> {
  const ctl = existsSync(DEBIAN_CTL) ? DEBIAN_CTL : 'rabbitmqctl'
  return new Promise<string>((resolve, reject) =>
    execFile(ctl, ['-n', node, 'eval', expression], { env: { ...process.env, HOME: dir }, timeout: 30_000 }, (error, stdout, stderr) =>
      error ? reject(new Error(`rabbitmqctl eval failed: ${error.message}\n${stdout}${stderr}`)) : resolve(stdout.trim()),
    ),
  )
}

/**
 * A node creates its stream coordinator (a Ra server) with its first stream queue, and writes it into its
 * Ra directory (`names.dets`) about a second later: a node killed in between comes back without it, and
 * with it every stream (their home node "down or inaccessible" for good). A production node has had its
 * coordinator since long before any crash; so does this one: a first stream queue is declared through
 * `rabbitmqctl eval` as soon as the node is up, and the start waits until the directory holds it.
 */
async function startStreamCoordinator(node: string, dir: string): Promise<void> {
  const declare =
    'rabbit_amqqueue:declare(rabbit_misc:r(<<"/">>, queue, <<"tidings.throwaway.first-stream">>), true, false, ' +
    '[{<<"x-queue-type">>, longstr, <<"stream">>}], none, <<"tidings">>).'
  await rabbitmqctlEval(node, dir, declare).catch((error: Error) => {
    throw new Error(`rabbitmqctl could not declare the first stream queue: ${error.message}`)
  })
  const names = join(dir, 'mnesia', node, 'coordination', node, 'names.dets')
  const deadline = Date.now() + 30_000
  while (!(await readFile(names).catch(() => Buffer.alloc(0))).includes('rabbit_stream_coordinator')) {
    if (Date.now() > deadline) throw new Error(`${node} did not record its stream coordinator in ${names}`)
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
}

/**
 * True once the node speaks AMQP: it answers the protocol header with connection.start (a method frame on
 * channel 0, class 10 method 10). RabbitMQ opens its listeners last, after recovering its queues.
 */
function amqpReady(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port })
    let reply = Buffer.alloc(0)
    const done = (answer: boolean): void => {
      clearTimeout(timer)
      socket.destroy()
      resolve(answer)
    }
    const timer = setTimeout(() => done(false), 1_000)
    socket.once('connect', () => socket.write(Buffer.from([0x41, 0x4d, 0x51, 0x50, 0, 0, 9, 1])))
    socket.on('data', (chunk: Buffer) => {
      reply = Buffer.concat([reply, chunk])
      if (reply.length >= 11) done(reply[0] === 1 && reply.readUInt16BE(1) === 0 && reply.readUInt16BE(7) === 10 && reply.readUInt16BE(9) === 10)
    })
    socket.once('error', () => done(false))
    socket.once('close', () => done(false))
  })
}
