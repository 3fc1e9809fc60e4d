/**
 * Prometheus metrics from the Monitor (Faust's PrometheusMonitor), served at `/metrics`. Values
 * are read from a Monitor snapshot at scrape time, so scraping costs nothing between scrapes.
 * Names and labels are listed in docs/metrics.md (a test keeps the two in sync).
 * @module
 */
import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client'
import type { Monitor, MonitorSnapshot } from './monitor.ts'

type Labels = Record<string, string | number>
type Sample = [labels: Labels, value: number]

interface MetricSpec {
  name: string
  help: string
  type: 'counter' | 'gauge'
  labels?: string[]
  values: (s: MonitorSnapshot) => Sample[]
}

const one = (v: number | null | undefined): Sample[] => [[{}, v ?? 0]]

/** Every metric faust-ts exports besides Node's process metrics (`process_*`, `nodejs_*`). */
export const metricSpecs: readonly MetricSpec[] = [
  { name: 'faust_messages_received_total', type: 'counter', help: 'Messages fetched from the broker', values: (s) => one(s.messages.received) },
  { name: 'faust_messages_received_by_topic_total', type: 'counter', help: 'Messages fetched, per topic', labels: ['topic'], values: (s) => Object.entries(s.messages.byTopic).map(([topic, c]) => [{ topic }, c.received]) },
  { name: 'faust_messages_active', type: 'gauge', help: 'Messages fetched and not yet acked by every stream', values: (s) => one(s.messages.active) },
  { name: 'faust_messages_sent_total', type: 'counter', help: 'Records sent to the broker (changelogs included)', values: (s) => one(s.messages.sent) },
  { name: 'faust_messages_sent_by_topic_total', type: 'counter', help: 'Records sent, per topic', labels: ['topic'], values: (s) => Object.entries(s.messages.byTopic).map(([topic, c]) => [{ topic }, c.sent]) },
  { name: 'faust_send_errors_total', type: 'counter', help: 'Sends that failed', values: (s) => one(s.sends.errors) },
  { name: 'faust_send_latency_ms', type: 'gauge', help: 'Average send latency (last 100 sends)', values: (s) => one(s.sends.latencyAvgMs) },
  { name: 'faust_events_total', type: 'counter', help: 'Events processed by streams', values: (s) => one(s.events.total) },
  { name: 'faust_events_by_stream_total', type: 'counter', help: 'Events processed, per stream (agent)', labels: ['stream'], values: (s) => Object.entries(s.events.byStream).map(([stream, c]) => [{ stream }, c.total]) },
  { name: 'faust_events_active', type: 'gauge', help: 'Events being processed now', values: (s) => one(s.events.active) },
  { name: 'faust_event_runtime_ms', type: 'gauge', help: 'Average time a stream spends on an event (last 100 events)', values: (s) => one(s.events.runtimeAvgMs) },
  { name: 'faust_event_runtime_by_stream_ms', type: 'gauge', help: 'Average time per event, per stream (last 100 events)', labels: ['stream'], values: (s) => Object.entries(s.events.byStream).map(([stream, c]) => [{ stream }, c.runtimeAvgMs]) },
  { name: 'faust_commits_total', type: 'counter', help: 'Offset commits', values: (s) => one(s.commits.total) },
  { name: 'faust_commit_latency_ms', type: 'gauge', help: 'Average commit latency (last 100 commits)', values: (s) => one(s.commits.latencyAvgMs) },
  { name: 'faust_assignments_completed_total', type: 'counter', help: 'Assignments computed by this worker as group leader', values: (s) => one(s.assignments.completed) },
  { name: 'faust_assignments_failed_total', type: 'counter', help: 'Assignments that failed', values: (s) => one(s.assignments.failed) },
  { name: 'faust_assignment_latency_ms', type: 'gauge', help: 'Average time to compute an assignment', values: (s) => one(s.assignments.latencyAvgMs) },
  { name: 'faust_rebalances_total', type: 'counter', help: 'Rebalances this worker went through', values: (s) => one(s.rebalances.total) },
  { name: 'faust_rebalance_end_latency_ms', type: 'gauge', help: 'Average time from a revoke to processing again (recovery included)', values: (s) => one(s.rebalances.endAvgMs) },
  { name: 'faust_table_keys_retrieved_total', type: 'counter', help: 'Table reads', labels: ['table'], values: (s) => s.tables.map((t) => [{ table: t.name }, t.reads]) },
  { name: 'faust_table_keys_updated_total', type: 'counter', help: 'Table writes', labels: ['table'], values: (s) => s.tables.map((t) => [{ table: t.name }, t.writes]) },
  { name: 'faust_table_keys_deleted_total', type: 'counter', help: 'Table deletes', labels: ['table'], values: (s) => s.tables.map((t) => [{ table: t.name }, t.deletes]) },
  { name: 'faust_table_keys', type: 'gauge', help: 'Keys in the table partitions active on this worker', labels: ['table'], values: (s) => s.tables.map((t) => [{ table: t.name }, t.keys]) },
  { name: 'faust_topic_partition_committed_offset', type: 'gauge', help: 'Last committed offset', labels: ['topic', 'partition'], values: (s) => s.partitions.filter((p) => p.committed !== null).map((p) => [{ topic: p.topic, partition: p.partition }, p.committed!]) },
  { name: 'faust_topic_partition_read_offset', type: 'gauge', help: 'Next offset after the last message fetched', labels: ['topic', 'partition'], values: (s) => s.partitions.filter((p) => p.read !== null).map((p) => [{ topic: p.topic, partition: p.partition }, p.read!]) },
  { name: 'faust_topic_partition_end_offset', type: 'gauge', help: 'End offset (high watermark) on the broker', labels: ['topic', 'partition'], values: (s) => s.partitions.filter((p) => p.end !== null).map((p) => [{ topic: p.topic, partition: p.partition }, p.end!]) },
  { name: 'faust_topic_partition_lag', type: 'gauge', help: 'End offset minus committed offset', labels: ['topic', 'partition'], values: (s) => s.partitions.filter((p) => p.lag !== null).map((p) => [{ topic: p.topic, partition: p.partition }, p.lag!]) },
  { name: 'faust_topic_buffer_full_total', type: 'counter', help: 'Times a stream buffer filled up and paused the partition', labels: ['topic', 'partition'], values: (s) => s.partitions.map((p) => [{ topic: p.topic, partition: p.partition }, p.bufferFull]) },
  { name: 'faust_recovery_remaining_records', type: 'gauge', help: 'Changelog records left to restore', values: (s) => one(s.recovery.remaining) },
  { name: 'faust_recovery_restored_records', type: 'gauge', help: 'Changelog records restored by the last recovery', values: (s) => one(s.recovery.restored) },
  { name: 'faust_ready', type: 'gauge', help: '1 when the worker is ready (recovery done), else 0', values: (s) => one(s.worker.ready ? 1 : 0) },
  { name: 'faust_http_responses_total', type: 'counter', help: 'Web responses, per status code', labels: ['status'], values: (s) => Object.entries(s.http.byStatus).map(([status, n]) => [{ status }, n]) },
]

export class PrometheusMetrics {
  readonly registry = new Registry()
  #snapshot: MonitorSnapshot | undefined

  constructor(monitor: Monitor, options: { appId: string }) {
    this.registry.setDefaultLabels({ app: options.appId })
    collectDefaultMetrics({ register: this.registry })
    const snapshot = (): MonitorSnapshot => (this.#snapshot ??= monitor.snapshot())
    for (const spec of metricSpecs) {
      const labelNames = spec.labels ?? []
      if (spec.type === 'counter') {
        new Counter({
          name: spec.name,
          help: spec.help,
          labelNames,
          registers: [this.registry],
          collect() {
            this.reset()
            for (const [labels, v] of spec.values(snapshot())) this.inc(labels, v)
          },
        })
      } else {
        new Gauge({
          name: spec.name,
          help: spec.help,
          labelNames,
          registers: [this.registry],
          collect() {
            this.reset()
            for (const [labels, v] of spec.values(snapshot())) this.set(labels, v)
          },
        })
      }
    }
  }

  /** The exposition text (one Monitor snapshot per scrape). */
  async text(): Promise<{ contentType: string; body: string }> {
    this.#snapshot = undefined
    try {
      return { contentType: this.registry.contentType, body: await this.registry.metrics() }
    } finally {
      this.#snapshot = undefined
    }
  }
}
