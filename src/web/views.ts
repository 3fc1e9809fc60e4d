/**
 * The built-in views and the table router (Faust's `faust.web.views` and `app.router`).
 *
 * Table lookups go to the worker that holds the key: its partition is the murmur2 partition of
 * the key's bytes (where a producer keyed by the same key puts its events, as in Faust), and the
 * owner is read from the last assignment, which carries every worker's URL and partitions. A
 * request for a key held elsewhere is forwarded once (the `x-faust-ts-forwarded` header stops a
 * second hop); when the owner cannot be reached it goes to a standby. The response names the
 * worker that answered (`x-faust-ts-worker`) and its role for the partition (`x-faust-ts-role`).
 * @module
 */
import { BadRequest, describeError, NotFound, Unavailable } from '../errors.ts'
import type { AssignmentState, PartitionOwner } from '../assignor/partition-assignor.ts'
import type { MonitorSnapshot } from '../sensors/monitor.ts'
import type { Collection, Table } from '../tables/table.ts'
import type { LoggerT } from '../types/logging.ts'
import type { WebRequest, WebResponse } from '../types/web.ts'
import { keyPartition } from '../utils/murmur2.ts'
import { dashboardHtml } from './dashboard.ts'
import { isResponse, response, type Web } from './web.ts'

export const FORWARDED = 'x-faust-ts-forwarded'
export const WORKER = 'x-faust-ts-worker'
export const ROLE = 'x-faust-ts-role'

/** What the views read from the app. */
export interface WebHost {
  readonly id: string
  readonly canonicalUrl: string
  readonly log: LoggerT
  snapshot(): MonitorSnapshot
  tables(): ReadonlyMap<string, Table<unknown, unknown>>
  ready(): boolean
  ownerOf(topic: string, partition: number): PartitionOwner
  assignment(): AssignmentState | undefined
  metrics(): Promise<{ contentType: string; body: string }>
  /** A topic the app described, by name. */
  topic(name: string): unknown
  /** Seconds a forwarded request may take. */
  readonly forwardTimeout: number
}

type Role = 'active' | 'standby' | 'global'

export function table(host: WebHost, name: string | undefined): Table<unknown, unknown> {
  const found = name === undefined ? undefined : host.tables().get(name)
  if (found === undefined) throw new NotFound(`no table named ${name}`, { table: name })
  return found
}

function keyBytes(t: Collection<unknown, unknown>, key: string): Buffer {
  try {
    return t.encodeKey(key)
  } catch (err) {
    throw new BadRequest(`key ${JSON.stringify(key)} is not a key of table ${t.name}: ${describeError(err)}`, { table: t.name })
  }
}

/**
 * Answer here if this worker holds the key's partition, else forward to the worker that does (or
 * a standby when it is down). `local` answers for the partition with this worker's role for it.
 */
export async function routeToKey(
  host: WebHost,
  t: Collection<unknown, unknown>,
  key: string,
  request: WebRequest,
  local: (partition: number, role: Role) => unknown,
  /** An active partition here known to hold the key (answered at once, whatever the hash says). */
  heldHere?: number | undefined,
): Promise<WebResponse> {
  const self = host.canonicalUrl
  const answer = async (partition: number, role: Role): Promise<WebResponse> => {
    const out = await local(partition, role)
    const res = isResponse(out) ? out : response(out ?? null)
    res.headers = { ...res.headers, [WORKER]: self, [ROLE]: role, 'x-faust-ts-partition': String(partition) }
    return res
  }
  if (heldHere !== undefined) return answer(heldHere, 'active')
  const partition = partitionOfKey(host, t, key)
  if (t.isGlobal) return answer(partition, 'global')
  const role: Role | undefined = t.activePartitions().includes(partition) ? 'active' : t.standbyPartitions().includes(partition) ? 'standby' : undefined
  if (role === 'active') return answer(partition, role)
  if (request.headers.get(FORWARDED) !== null || request.query.has('local')) {
    // Forwarded to us (or asked with ?local): answer from what we have, never forward again (no
    // loops between workers with different views of the assignment).
    if (role !== undefined) return answer(partition, role)
    throw new Unavailable(`table ${t.name} partition ${partition} is not on this worker (${self}) any more; retry`, { table: t.name, partition })
  }
  const owner = host.ownerOf(t.changelog.topics[0]!, partition)
  const tried: string[] = []
  for (const url of new Set([owner.active, ...owner.standbys])) {
    if (url === undefined) continue
    if (url === self) {
      if (role !== undefined) return answer(partition, role)
      continue
    }
    try {
      return await forward(url, request, host)
    } catch (err) {
      tried.push(`${url} (${describeError(err)})`)
      host.log.warn({ table: t.name, partition, url }, `table ${t.name}: cannot reach ${url} for partition ${partition}: ${describeError(err)}; trying the next replica`)
    }
  }
  if (role !== undefined) return answer(partition, role)
  throw new Unavailable(
    tried.length === 0
      ? `no worker holds table ${t.name} partition ${partition} yet (no assignment)`
      : `no worker holding table ${t.name} partition ${partition} answered: ${tried.join('; ')}`,
    { table: t.name, partition },
  )
}

async function forward(url: string, request: WebRequest, host: WebHost): Promise<WebResponse> {
  const res = await fetch(url + request.url, {
    method: request.method,
    headers: { [FORWARDED]: host.canonicalUrl, accept: request.headers.get('accept') ?? '*/*' },
    body: request.method === 'GET' || request.method === 'HEAD' ? undefined : await request.text(),
    signal: AbortSignal.timeout(host.forwardTimeout * 1000),
  })
  const headers: Record<string, string> = {}
  for (const name of [WORKER, ROLE, 'x-faust-ts-partition']) {
    const v = res.headers.get(name)
    if (v !== null) headers[name] = v
  }
  headers['x-faust-ts-forwarded-by'] = host.canonicalUrl
  const contentType = res.headers.get('content-type') ?? 'application/json'
  return response(await res.text(), { status: res.status, headers, contentType })
}

/**
 * The table partition a key's events go to: murmur2 of the key as the table's source topic
 * encodes it (a raw string key and a JSON one hash differently). The source is the table's first
 * declared `sources` topic, else the first topic whose events wrote to it on this worker, else
 * the table's own encoding (Faust's rule).
 */
export function partitionOfKey(host: WebHost, t: Collection<unknown, unknown>, key: string): number {
  const own = keyBytes(t, key)
  const learned = [...((t as { writtenFrom?: ReadonlySet<string> }).writtenFrom ?? [])].map((name) => host.topic(name))
  for (const source of [...t.sources, ...learned]) {
    const encode = (source as { encodeKey?: (k: unknown) => Buffer | null } | undefined)?.encodeKey
    if (typeof encode !== 'function') continue
    try {
      const bytes = encode.call(source, key)
      if (bytes !== null) return keyPartition(bytes, t.partitions)
    } catch {
      // Not a key of that topic: try the next, then the table's encoding.
    }
  }
  return keyPartition(own, t.partitions)
}

function limitOf(request: WebRequest): number {
  const raw = request.query.get('limit')
  const n = raw === null ? 100 : Number(raw)
  if (!(Number.isInteger(n) && n >= 0)) throw new BadRequest(`limit must be a whole number, got ${raw}`)
  return n
}

/** Register the built-in views. */
export function addBuiltinViews(web: Web, host: WebHost): void {
  const builtin = { origin: 'builtin' as const }
  web.add('GET', '/', () => response(dashboardHtml(host.id), { contentType: 'text/html; charset=utf-8' }), { ...builtin, help: 'The dashboard' })
  web.add('GET', '/stats', () => host.snapshot(), { ...builtin, help: 'The Monitor as JSON' })
  web.add('GET', '/router', () => router(host), { ...builtin, help: 'Which worker holds which partitions, active and standby' })
  web.add('GET', '/health', () => health(host), { ...builtin, help: 'Live, and ready once table recovery is done (503 until then)' })
  web.add('GET', '/health/live', () => ({ live: true }), { ...builtin, help: 'Always 200 while the worker runs' })
  web.add('GET', '/health/ready', () => health(host), { ...builtin, help: '200 when ready, else 503' })
  web.add('GET', '/metrics', async () => {
    const m = await host.metrics()
    return response(m.body, { contentType: m.contentType })
  }, { ...builtin, help: 'Prometheus metrics' })
  web.add('GET', '/table/:name', (request) => tableSummary(host, request), { ...builtin, help: 'A table on this worker: partitions, key count, items' })
  web.add('GET', '/table/:name/:key', (request) => {
    const t = table(host, request.params.name)
    const key = request.params.key!
    // A key found in an active partition here is answered here, even when the source topic's key
    // encoding (unknown without `sources` until this worker processed an event) hashes elsewhere.
    const bytes = keyBytes(t, key)
    const here = t.isGlobal || t.windowing !== undefined ? undefined : t.activePartitions().find((p) => t.stores().get(p)?.get(bytes) !== undefined)
    return routeToKey(host, t, key, request, (partition, role) => lookup(t, key, partition, role), here)
  }, { ...builtin, help: "A key's value, from the worker that holds it" })
}

function health(host: WebHost): WebResponse {
  const ready = host.ready()
  return response({ live: true, ready, status: ready ? 'ready' : 'recovering' }, { status: ready ? 200 : 503 })
}

function router(host: WebHost) {
  const current = host.assignment()
  const tables: Record<string, Record<number, PartitionOwner>> = {}
  for (const t of host.tables().values()) {
    if (t.isGlobal) continue
    const owners: Record<number, PartitionOwner> = {}
    for (let p = 0; p < t.partitions; p++) owners[p] = host.ownerOf(t.changelog.topics[0]!, p)
    tables[t.name] = owners
  }
  return { self: host.canonicalUrl, workers: current?.hosts ?? {}, tables }
}

function lookup(t: Collection<unknown, unknown>, key: string, partition: number, role: Role) {
  const windowing = (t as Table<unknown, unknown>).windowing
  if (windowing !== undefined) {
    const windows = windowing.windowsOf(key, partition)
    if (windows.length === 0) throw new NotFound(`table ${t.name} has no window for key ${JSON.stringify(key)}`, { table: t.name, partition })
    return { table: t.name, key, partition, role, windows }
  }
  const stores = t.stores()
  const bytes = t.isGlobal ? [...stores.values()].map((s) => s.get(t.encodeKey(key))).find((b) => b !== undefined) : stores.get(partition)?.get(t.encodeKey(key))
  if (bytes === undefined) throw new NotFound(`table ${t.name} has no key ${JSON.stringify(key)}`, { table: t.name, partition })
  return { table: t.name, key, partition, role, value: t.decodeValue(bytes) }
}

function tableSummary(host: WebHost, request: WebRequest) {
  const t = table(host, request.params.name)
  const limit = limitOf(request)
  const windowing = (t as Table<unknown, unknown>).windowing
  const items: Array<[unknown, unknown]> = []
  const dict = t as unknown as { entries(): Iterable<[unknown, unknown]> }
  if (windowing === undefined) {
    for (const [k, v] of dict.entries()) {
      if (items.length >= limit) break
      items.push([k, v instanceof Set ? [...v] : v])
    }
  }
  return {
    table: t.name,
    ...t.describe(),
    worker: host.canonicalUrl,
    active: t.activePartitions(),
    standby: t.standbyPartitions(),
    keys: t.size,
    ...(windowing === undefined ? { items } : { windows: windowing.windows().slice(0, limit) }),
  }
}
