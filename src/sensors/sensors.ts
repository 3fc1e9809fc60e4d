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
  readonly #log: () => LoggerT

  constructor(log: () => LoggerT) {
    this.#log = log
  }

  add(sensor: SensorT): void {
    if (!this.#sensors.includes(sensor)) this.#sensors = [...this.#sensors, sensor]
  }

  remove(sensor: SensorT): void {
    this.#sensors = this.#sensors.filter((s) => s !== sensor)
  }

  get size(): number {
    return this.#sensors.length
  }

  #failed(sensor: SensorT, hook: Hook, err: unknown): void {
    this.remove(sensor)
    this.#log().error({ err, hook }, `sensor ${sensor.constructor.name} failed in ${hook} and was removed: ${describeError(err)}`)
  }

  /**
   * Call a hook on every sensor. Returns their states: the one sensor's state as is (the common
   * case: just the Monitor, and no array per event), else an array in sensor order.
   */
  #start(hook: Hook, call: (s: SensorT) => unknown): unknown {
    const sensors = this.#sensors
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

  #end(hook: Hook, states: unknown, call: (s: SensorT, state: unknown) => void): void {
    const sensors = this.#sensors
    for (let i = 0; i < sensors.length; i++) {
      const s = sensors[i]!
      try {
        call(s, sensors.length === 1 ? states : Array.isArray(states) ? states[i] : undefined)
      } catch (err) {
        this.#failed(s, hook, err)
      }
    }
  }

  onMessageIn(tp: TP, offset: number, message: RawRecord): void {
    this.#start('onMessageIn', (s) => s.onMessageIn?.(tp, offset, message))
  }

  onStreamEventIn(tp: TP, offset: number, stream: string, event: SensorEvent): unknown {
    return this.#start('onStreamEventIn', (s) => s.onStreamEventIn?.(tp, offset, stream, event))
  }

  onStreamEventOut(tp: TP, offset: number, stream: string, event: SensorEvent, states: unknown): void {
    this.#end('onStreamEventOut', states, (s, state) => s.onStreamEventOut?.(tp, offset, stream, event, state))
  }

  onMessageOut(tp: TP, offset: number, message: RawRecord): void {
    this.#start('onMessageOut', (s) => s.onMessageOut?.(tp, offset, message))
  }

  onTopicBufferFull(tp: TP): void {
    this.#start('onTopicBufferFull', (s) => s.onTopicBufferFull?.(tp))
  }

  onTableGet(table: SensorTable, key: Buffer): void {
    this.#start('onTableGet', (s) => s.onTableGet?.(table, key))
  }

  onTableSet(table: SensorTable, key: Buffer, value: Buffer): void {
    this.#start('onTableSet', (s) => s.onTableSet?.(table, key, value))
  }

  onTableDel(table: SensorTable, key: Buffer): void {
    this.#start('onTableDel', (s) => s.onTableDel?.(table, key))
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
