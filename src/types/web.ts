/**
 * The web server's interfaces: views see a WebRequest and return a WebResponse (or any JSON
 * value); the driver (src/web/drivers/) adapts them to an HTTP framework.
 * @module
 */

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE'

export interface WebRequest {
  readonly method: string
  /** The path, without the query. */
  readonly path: string
  /** The path and query, as received (forwarded as is). */
  readonly url: string
  readonly params: Readonly<Record<string, string>>
  readonly query: URLSearchParams
  readonly headers: Headers
  /** The body parsed as JSON (undefined when empty). */
  json(): Promise<unknown>
  text(): Promise<string>
}

export interface WebResponse {
  status: number
  headers?: Record<string, string> | undefined
  /** A string or Buffer is sent as is (with contentType); anything else as JSON. */
  body: unknown
  contentType?: string | undefined
}

export type ViewHandler = (request: WebRequest) => unknown

export interface Route {
  method: HttpMethod
  /** Path with `:name` parameters, e.g. `/table/:name/:key`. */
  path: string
  /** What the route is for (shown by `faust-ts routes`). */
  help: string
  /** Built in (stats, router, tables...) or added by the app (page, tableRoute). */
  origin: 'builtin' | 'app'
  handler: (request: WebRequest) => Promise<WebResponse>
}

export interface WebServerT {
  readonly port: number
  close(): Promise<void>
}

export interface WebDriverT {
  listen(routes: readonly Route[], options: { port: number; bind: string; notFound: (request: WebRequest) => Promise<WebResponse> }): Promise<WebServerT>
}
