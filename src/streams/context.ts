/**
 * The current event, as Faust's `current_event()`: tables read it to pick the changelog partition.
 * Each actor runs its agent function inside its own context, and its stream records the event
 * being processed there.
 * @module
 */
import { AsyncLocalStorage } from 'node:async_hooks'
import type { Event } from './event.ts'

export interface StreamContext {
  currentEvent: Event | undefined
  /** The agent running in this context, for logs. */
  agent: string | undefined
}

export const streamContext = new AsyncLocalStorage<StreamContext>()

/** The event the calling agent is processing, or undefined outside stream iteration. */
export function currentEvent(): Event | undefined {
  return streamContext.getStore()?.currentEvent
}
