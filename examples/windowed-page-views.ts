/**
 * Windowed page views: Faust's windowed aggregation example (and its page-view counter)
 * re-created.
 *
 * `page-views` carries PageView records keyed by page. `count` adds each view to a tumbling
 * 10-second window of its page, by the time the view happened (the record's `at` field, as Faust's
 * relative_to_field). A window closes once its time plus 2 s of grace has passed, also when no new
 * views arrive: then `onWindowClose` prints it, its result goes to the `page-view-totals` topic,
 * and the `report` agent reads the closed windows as a stream (emit-final).
 *
 *   node examples/windowed-page-views.ts --demo                      # embedded broker, with a feeder
 *   npm run faust-ts -- worker examples/windowed-page-views.ts       # just the worker
 */
import { z } from 'zod'
import { App, datetime, record, Worker, type InferRecord } from '../src/index.ts'

export const app = new App('windowed-page-views', { webEnabled: false, tableCleanupInterval: 0.5 })

export const PageView = record('PageView', z.object({ page: z.string(), user: z.string(), at: datetime() }), {
  namespace: 'examples.windowed.PageView',
})
export type PageView = InferRecord<typeof PageView>

export const pageViews = app.topic('page-views', { keyType: String, valueType: PageView, partitions: 4 })
export const totals = app.topic('page-view-totals', { keyType: String, valueSerializer: 'json', partitions: 4 })

/** Views per page per 10-second window, by the time of the view. */
export const views = app
  .table<string, number>('views', { default: () => 0, partitions: 4, help: 'Page views per 10 s window' })
  .tumbling(10, {
    grace: 2,
    expires: 60,
    emitTo: totals as never,
    onWindowClose: (page, n, [start]) => {
      console.log(`[closed] ${new Date(start * 1000).toISOString().slice(11, 19)} ${page}: ${n} views`)
    },
  })
  .relativeToField(PageView.field('at'))

export const count = app.agent(
  pageViews,
  async (stream) => {
    for await (const view of stream) views.update(view.page, (n) => n + 1)
  },
  { name: 'count', help: 'Count views per page and window' },
)

export const report = app.agent(
  views.closed(),
  async (closed) => {
    let windows = 0
    for await (const result of closed) {
      windows += 1
      if (result.value >= 10) console.log(`[report] busy window for ${result.key}: ${result.value} views (${windows} windows closed so far)`)
    }
  },
  { name: 'report', help: 'Read closed windows as a stream' },
)

const PAGES = ['/', '/docs', '/pricing', '/blog', '/about']

/** `--demo`: run a worker, feed it page views and print the open windows every 2 s. */
async function demo(): Promise<void> {
  let sent = 0
  app.timer(0.05, async () => {
    const page = PAGES[Math.floor(Math.random() ** 2 * PAGES.length)]!
    await pageViews.send({ key: page, value: PageView.create({ page, user: `u${sent % 17}`, at: new Date() }) })
    sent += 1
  })
  app.timer(2, () => {
    const open = views.windows().filter((w) => !w.closed)
    const now = [...views.itemsNow()].map(([p, n]) => `${p}=${n}`).join(' ')
    console.log(`[views] ${sent} sent; ${open.length} open window(s); this window: ${now}`)
  })
  const seconds = Number(process.env.DEMO_SECONDS ?? 0)
  if (seconds > 0) setTimeout(() => process.kill(process.pid, 'SIGTERM'), seconds * 1000)
  const worker = new Worker(app, { loglevel: 'warn' })
  process.exitCode = await worker.run()
}

if (process.argv.includes('--demo')) await demo()
