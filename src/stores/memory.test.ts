import { storeContract } from './contract.ts'
import { MemoryStore } from './memory.ts'

storeContract('memory', () => new MemoryStore(), { persistent: false })
