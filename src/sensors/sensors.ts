/**
 * The app's sensors (Faust's SensorDelegate): every hook call goes to each sensor in turn. A
 * sensor that throws is logged once and removed, so one broken sensor never stops a worker.
 * @module
 */
import { describeError } from '../errors.ts'
import type { LoggerT } from '../types/logging.ts'
import type { SensorDelegateT, SensorEvent, SensorRecord, SensorT, SensorTable, SensorWebRequest } from '../types/sensors.ts'
import type { RawRecord, RecordMetadata, TP } from '../types/tuples.ts'

type Hook = keyof SensorT

export class Sensors implements SensorDelegateT {
  #sensors: SensorT[] = []
  // The sensors with each per-message / per-event hook, so the hot paths skip the rest (and
  // skip everything when no sensor wants them: the Monitor counts those itself).
  #messageIn: SensorT[] = []
  #messageOut: SensorT[] = []
  #stream: SensorT[] = []
  #table: SensorT[] = []
  readonly #log: () => LoggerT

  constructor(log: () => LoggerT) {
    this.#log = log
  }

  add(sensor: SensorT): void {
    if (!this.#sensors.includes(sensor)) this.#sensors = [...this.#sensors, sensor]
    this.#index()
  }

  remove(sensor: SensorT): void {
    this.#sensors = this.#sensors.filter((s) => s !== sensor)
    this.#index()
  }

  #index(): void {
    this.#messageIn = this.#sensors.filter((s) => s.onMessageIn !== undefined)
    this.#messageOut = this.#sensors.filter((s) => s.onMessageOut !== undefined)
    this.#stream = this.#sensors.filter((s) => s.onStreamEventIn !== undefined || s.onStreamEventOut !== undefined)
    this.#table = this.#sensors.filter((s) => s.onTableGet !== undefined || s.onTableSet !== undefined || s.onTableDel !== undefined)
  }

  /** Whether any sensor wants per-message hooks (callers skip the calls otherwise). */
  get wantsMessages(): boolean {
    return this.#messageIn.length > 0 || this.#messageOut.length > 0
  }

  /** Whether any sensor wants per-event stream hooks. */
  get wantsStreamEvents(): boolean {
    return this.#stream.length > 0
  }

  get size(): number {
    return this.#sensors.length
  }

  #failed(sensor: SensorT, hook: Hook, err: unknown): void {
    this.remove(sensor)
    this.#log().error({ err, hook }, `sensor ${sensor.constructor.name} failed in ${hook} and was removed: ${describeError(err)}`)
  }

  /**
   * Call a hook on `sensors` (default: all). Returns their states: the one sensor's state as is
   * (no array per call in the common case of one sensor), else an array in sensor order.
   */
  #start(hook: Hook, call: (s: SensorT) => unknown, sensors = this.#sensors): unknown {
    if (sensors.length === 1) {
      try {
        return call(sensors[0]!)
      } catch (err) {
        this.#failed(sensors[0]!, hook, err)
        return undefined
      }
    }
    const states = new Array<unknown>(sensors.length)
    for (let i = 0; i < sensors.length; i++) {
      const s = sensors[i]!
      try {
        states[i] = call(s)
      } catch (err) {
        this.#failed(s, hook, err)
      }
    }
    return states
  }

  /** The pair of #start: each sensor gets the state it returned there. */
  #end(hook: Hook, states: unknown, call: (s: SensorT, state: unknown) => void, sensors = this.#sensors): void {
    for (let i = 0; i < sensors.length; i++) {
      const s = sensors[i]!
      try {
        call(s, sensors.length === 1 ? states : Array.isArray(states) ? states[i] : undefined)
      } catch (err) {
        this.#failed(s, hook, err)
      }
    }
  }

  // Per-message, per-event and table hooks go only to the sensors that have them (none by
  // default: the Monitor counts those from the consumer's, streams' and tables' own counters).

  onMessageIn(tp: TP, offset: number, message: RawRecord): void {
    if (this.#messageIn.length > 0) this.#start('onMessageIn', (s) => s.onMessageIn!(tp, offset, message), this.#messageIn)
  }

  onStreamEventIn(tp: TP, offset: number, stream: string, event: SensorEvent): unknown {
    return this.#stream.length === 0 ? undefined : this.#start('onStreamEventIn', (s) => s.onStreamEventIn?.(tp, offset, stream, event), this.#stream)
  }

  onStreamEventOut(tp: TP, offset: number, stream: string, event: SensorEvent, states: unknown): void {
    this.#end('onStreamEventOut', states, (s, state) => s.onStreamEventOut?.(tp, offset, stream, event, state), this.#stream)
  }

  onMessageOut(tp: TP, offset: number, message: RawRecord): void {
    if (this.#messageOut.length > 0) this.#start('onMessageOut', (s) => s.onMessageOut!(tp, offset, message), this.#messageOut)
  }

  onTopicBufferFull(tp: TP): void {
    this.#start('onTopicBufferFull', (s) => s.onTopicBufferFull?.(tp))
  }

  onTableGet(table: SensorTable, key: Buffer): void {
    if (this.#table.length > 0) this.#start('onTableGet', (s) => s.onTableGet?.(table, key), this.#table)
  }

  onTableSet(table: SensorTable, key: Buffer, value: Buffer): void {
    if (this.#table.length > 0) this.#start('onTableSet', (s) => s.onTableSet?.(table, key, value), this.#table)
  }

  onTableDel(table: SensorTable, key: Buffer): void {
    if (this.#table.length > 0) this.#start('onTableDel', (s) => s.onTableDel?.(table, key), this.#table)
  }

  onCommitInitiated(): unknown {
    return this.#start('onCommitInitiated', (s) => s.onCommitInitiated?.())
  }

  onCommitCompleted(states: unknown, offsets: ReadonlyMap<TP, number>): void {
    this.#end('onCommitCompleted', states, (s, state) => s.onCommitCompleted?.(state, offsets))
  }

  onSendInitiated(record: SensorRecord): unknown {
    return this.#start('onSendInitiated', (s) => s.onSendInitiated?.(record))
  }

  onSendCompleted(record: SensorRecord, metadata: RecordMetadata, states: unknown): void {
    this.#end('onSendCompleted', states, (s, state) => s.onSendCompleted?.(record, metadata, state))
  }

  onSendError(record: SensorRecord, err: Error, states: unknown): void {
    this.#end('onSendError', states, (s, state) => s.onSendError?.(record, err, state))
  }

  onAssignmentStart(): unknown {
    return this.#start('onAssignmentStart', (s) => s.onAssignmentStart?.())
  }

  onAssignmentCompleted(states: unknown): void {
    this.#end('onAssignmentCompleted', states, (s, state) => s.onAssignmentCompleted?.(state))
  }

  onAssignmentError(states: unknown, err: Error): void {
    this.#end('onAssignmentError', states, (s, state) => s.onAssignmentError?.(state, err))
  }

  onRebalanceStart(revoked: readonly TP[]): unknown {
    return this.#start('onRebalanceStart', (s) => s.onRebalanceStart?.(revoked))
  }

  onRebalanceReturn(states: unknown, assigned: readonly TP[], generation: number): void {
    this.#end('onRebalanceReturn', states, (s, state) => s.onRebalanceReturn?.(state, assigned, generation))
  }

  onRebalanceEnd(states: unknown): void {
    this.#end('onRebalanceEnd', states, (s, state) => s.onRebalanceEnd?.(state))
  }

  onWebRequestStart(request: SensorWebRequest): unknown {
    return this.#start('onWebRequestStart', (s) => s.onWebRequestStart?.(request))
  }

  onWebRequestEnd(request: SensorWebRequest, status: number, states: unknown): void {
    this.#end('onWebRequestEnd', states, (s, state) => s.onWebRequestEnd?.(request, status, state))
  }
}
