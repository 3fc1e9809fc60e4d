/**
 * faust-ts: Faust, the Python stream processor, in TypeScript.
 * @module
 */

// App
export { App, type AgentDefinitionOptions, type TypedTopicOptions } from './app/app.ts'
export { resolveSettings, settingsTable, envName, VERSION } from './app/settings.ts'
export type { Settings, SettingsInput, ProcessingGuarantee } from './types/settings.ts'

// Agents, streams, channels
export { Agent, Actor, type AgentFun, type AgentOptions, type Sink } from './agents/agent.ts'
export { AgentTestContext } from './agents/test-context.ts'
export { Stream, SKIP, type StreamOptions } from './streams/stream.ts'
export { Event } from './streams/event.ts'
export { currentEvent } from './streams/context.ts'
export { Channel, type ChannelOptions } from './channels/channel.ts'
export { Topic, type TopicOptions } from './channels/topic.ts'
export type { SendArgs, SendTargetT } from './types/channels.ts'

// Serializers
export { codecs, CodecRegistry, raw, json, binary, gzip, compose } from './serializers/codecs.ts'
export { Schema, asType, validate } from './serializers/schema.ts'
export type { CodecT, TypeSpec, InferType } from './types/serializers.ts'

// Models
export { record, RecordType, records, findRecord, isFieldRef, BLESSED_KEY, type FieldRef, type InferRecord, type RecordOptions } from './models/record.ts'
export { datetime, decimal, formatIsoDate, nested, parseIsoDate } from './models/fields.ts'

// Tables and stores
export { Table, Collection, type TableOptions, type TableT } from './tables/table.ts'
export { GlobalTable } from './tables/global-table.ts'
export { SetTable, SetOperations, type SetTableOptions } from './tables/set-table.ts'
export { TableManager, type RecoveryStats } from './tables/manager.ts'
export { WindowedTable, WindowSet, Windowing, type ClosedWindow, type WindowOptions, type SessionWindowOptions, type WindowStats } from './tables/windowed.ts'
export { HoppingWindow, TumblingWindow, SlidingWindow, SessionWindow, rangeFromStart, type WindowRange, type WindowT } from './windows/windows.ts'
export { createStore, isPersistent } from './stores/index.ts'
export type { StoreT, ChangelogEntry } from './types/stores.ts'

// Services
export { Service, ServiceStates, type ServiceState, isValidTransition } from './services/service.ts'
export { Supervisor, SupervisorStrategies, type SupervisorStrategy } from './services/supervisors.ts'

// Transport
export { MemoryBroker, MemoryTransport, RoundRobinAssignor } from './transport/drivers/memory.ts'
export { keyPartition, murmur2 } from './utils/murmur2.ts'
export type { TP, RecordMetadata, Header } from './types/tuples.ts'
export type { PartitionAssignorT, TransportDriverT } from './types/transport.ts'
export { tp } from './utils/tp.ts'

// Time
export { VirtualClock, systemClock } from './utils/time.ts'

// Worker
export { Worker, type WorkerOptions } from './worker/worker.ts'

// sensors, monitor, web
export { Sensors } from './sensors/sensors.ts'
export { Monitor, type MonitorSnapshot, type MonitorSource } from './sensors/monitor.ts'
export { PrometheusMetrics, metricSpecs } from './sensors/prometheus.ts'
export type { SensorT, SensorDelegateT, SensorEvent, SensorRecord, SensorTable, SensorWebRequest } from './types/sensors.ts'
export { Web, response } from './web/web.ts'
export type { HttpMethod, Route, ViewHandler, WebRequest, WebResponse } from './types/web.ts'

// Errors
export * from './errors.ts'
