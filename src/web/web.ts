/**
 * Web: the worker's web server (Faust's `faust.web`). It serves the built-in views (dashboard,
 * stats, router, tables, health, metrics) and the app's pages, through the driver in
 * src/web/drivers/ (the only place an HTTP framework is imported). Every request goes through
 * the sensors; a view that throws answers JSON `{"error": {"code", "message"}}` with the
 * error's status (500 for anything that is not a WebError), and the failure is logged.
 * @module
 */
import { describeError, FaustError, ImproperlyConfigured, httpStatusOf, NotFound, ViewFailed } from '../errors.ts'
import { Service } from '../services/service.ts'
import type { SensorDelegateT } from '../types/sensors.ts'
import type { HttpMethod, Route, ViewHandler, WebDriverT, WebRequest, WebResponse, WebServerT } from '../types/web.ts'

const RESPONSE = Symbol('faust-ts.web.response')

/** A response with a status, headers or a content type; a view may also return any JSON value (200). */
export function response(body: unknown, options: { status?: number; headers?: Record<string, string>; contentType?: string } = {}): WebResponse {
  return { status: options.status ?? 200, headers: options.headers, body, contentType: options.contentType, [RESPONSE]: true } as WebResponse
}

export function isResponse(value: unknown): value is WebResponse {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[RESPONSE] === true
}

/** The JSON error body every failed request answers with. */
export function errorResponse(err: unknown): WebResponse {
  const error = err instanceof FaustError ? err : new ViewFailed(describeError(err), { cause: err })
  return response({ error: { code: error.code, message: error.message, ...error.context() } }, { status: httpStatusOf(error) })
}

export interface WebOptions {
  port: number
  bind: string
  sensors: SensorDelegateT
  driver?: (() => Promise<WebDriverT>) | undefined
}

export class Web extends Service {
  readonly routes: Route[] = []
  readonly #options: WebOptions
  #server: WebServerT | undefined

  constructor(options: WebOptions) {
    super({ name: 'Web' })
    this.#options = options
  }

  /** The port it listens on (the real one when webPort is 0), once started. */
  get port(): number | undefined {
    return this.#server?.port
  }

  /** Add a view. Routes are matched in the order they were added. */
  add(method: HttpMethod, path: string, view: ViewHandler, options: { help?: string; origin?: Route['origin'] } = {}): Route {
    if (!path.startsWith('/')) throw new ImproperlyConfigured(`a web route path must start with "/": ${path}`)
    if (this.#server !== undefined) throw new ImproperlyConfigured(`add route ${path} before the web server starts`)
    const route: Route = { method, path, help: options.help ?? '', origin: options.origin ?? 'app', handler: (request) => this.#handle(request, view) }
    this.routes.push(route)
    return route
  }

  async #handle(request: WebRequest, view: ViewHandler): Promise<WebResponse> {
    const sensors = this.#options.sensors
    const state = sensors.onWebRequestStart(request)
    let res: WebResponse
    try {
      const out = await view(request)
      res = isResponse(out) ? out : response(out ?? null)
    } catch (err) {
      if (httpStatusOf(err) >= 500) {
        this.log.error({ err, path: request.path }, `web view ${request.method} ${request.path} failed: ${describeError(err)}`)
      }
      res = errorResponse(err)
    }
    sensors.onWebRequestEnd(request, res.status, state)
    return res
  }

  protected override async onStart(): Promise<void> {
    const driver = this.#options.driver === undefined ? (await import('./drivers/hono.ts')).honoDriver : await this.#options.driver()
    this.#server = await driver.listen(this.routes, {
      port: this.#options.port,
      bind: this.#options.bind,
      notFound: (request) => this.#handle(request, () => {
        throw new NotFound(`no route for ${request.method} ${request.path}`)
      }),
    })
    this.log.info({ port: this.#server.port }, `web server listening on ${this.#options.bind}:${this.#server.port}`)
  }

  protected override async onShutdown(): Promise<void> {
    const server = this.#server
    this.#server = undefined
    await server?.close()
  }
}
