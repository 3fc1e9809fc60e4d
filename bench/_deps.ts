/** What benchmarks import from the project. */
export { App, MemoryBroker, MemoryTransport } from '../src/index.ts'
import { silentLogger } from '../src/types/logging.ts'
export const silentLoggerFor = () => silentLogger
