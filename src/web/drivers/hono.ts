/**
 * The web driver: hono on Node's HTTP server. The only module that imports an HTTP framework.
 * @module
 */
import type { AddressInfo } from 'node:net'
import { serve } from '@hono/node-server'
import { Hono, type Context } from 'hono'
import type { Route, WebDriverT, WebRequest, WebResponse, WebServerT } from '../../types/web.ts'

function toRequest(c: Context, params: Record<string, string>): WebRequest {
  const url = new URL(c.req.url)
  return {
    method: c.req.method,
    path: url.pathname,
    url: url.pathname + url.search,
    params,
    query: url.searchParams,
    headers: c.req.raw.headers,
    json: async () => {
      const text = await c.req.text()
      return text === '' ? undefined : (JSON.parse(text) as unknown)
    },
    text: () => c.req.text(),
  }
}

function toResponse(res: WebResponse): Response {
  const headers = new Headers(res.headers)
  let body: string | Uint8Array
  if (typeof res.body === 'string') {
    body = res.body
    headers.set('content-type', res.contentType ?? 'text/plain; charset=utf-8')
  } else if (res.body instanceof Uint8Array) {
    body = res.body
    headers.set('content-type', res.contentType ?? 'application/octet-stream')
  } else {
    body = JSON.stringify(res.body ?? null)
    headers.set('content-type', res.contentType ?? 'application/json; charset=utf-8')
  }
  return new Response(body as ConstructorParameters<typeof Response>[0], { status: res.status, headers })
}

export const honoDriver: WebDriverT = {
  async listen(routes: readonly Route[], options): Promise<WebServerT> {
    const app = new Hono()
    for (const route of routes) {
      app.on(route.method, route.path, async (c) => {
        const params: Record<string, string> = {}
        for (const [k, v] of Object.entries(c.req.param() as Record<string, string>)) params[k] = v
        return toResponse(await route.handler(toRequest(c, params)))
      })
    }
    app.notFound(async (c) => toResponse(await options.notFound(toRequest(c, {}))))
    const server = await new Promise<ReturnType<typeof serve>>((resolve, reject) => {
      const s = serve({ fetch: app.fetch, port: options.port, hostname: options.bind }, () => resolve(s))
      s.once('error', reject)
    })
    const port = (server.address() as AddressInfo).port
    return {
      port,
      close: () =>
        new Promise<void>((resolve) => {
          // Keep-alive connections (a dashboard polling) would hold close() open.
          ;(server as { closeAllConnections?: () => void }).closeAllConnections?.()
          server.close(() => resolve())
        }),
    }
  },
}
