/** What benchmarks import from the project. */
export { App, MemoryBroker, tp } from '../src/index.ts'
