/**
 * The app's timers, one-shot tasks and crontabs (Faust's `@app.timer`, `@app.task`,
 * `@app.crontab`), run by one service that starts after everything else is ready.
 * @module
 */
import { CronExpressionParser } from 'cron-parser'
import { ImproperlyConfigured } from '../errors.ts'
import { Service } from '../services/service.ts'

export type TaskFn = (signal: AbortSignal) => unknown

export class AppTasks extends Service {
  readonly entries: Array<{ kind: 'timer' | 'task' | 'crontab'; name: string; spec: string }> = []

  constructor() {
    super({ name: 'Tasks' })
  }

  timer(seconds: number, fn: TaskFn, name: string): void {
    if (!(seconds > 0)) throw new ImproperlyConfigured(`timer ${name}: interval must be > 0 seconds, got ${seconds}`)
    this.entries.push({ kind: 'timer', name, spec: `every ${seconds}s` })
    this.addTimer(name, seconds, async (signal) => {
      await fn(signal)
    })
  }

  task(fn: TaskFn, name: string): void {
    this.entries.push({ kind: 'task', name, spec: 'once at start' })
    this.addTask(name, async (signal) => {
      await fn(signal)
    })
  }

  crontab(expression: string, fn: TaskFn, name: string, timezone: string): void {
    // Parse now so a bad expression fails at definition, not at start.
    try {
      CronExpressionParser.parse(expression, { tz: timezone })
    } catch (err) {
      throw new ImproperlyConfigured(`crontab ${name}: bad expression ${JSON.stringify(expression)}: ${String(err)}`)
    }
    this.entries.push({ kind: 'crontab', name, spec: `${expression} (${timezone})` })
    this.addTask(name, async (signal) => {
      const schedule = CronExpressionParser.parse(expression, { tz: timezone, currentDate: new Date(this.clock.now()) })
      while (!signal.aborted) {
        const next = schedule.next().getTime()
        if (!(await this.clock.sleep(next - this.clock.now(), signal))) return
        await fn(signal)
      }
    })
  }
}
