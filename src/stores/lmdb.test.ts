import { storeContract } from './contract.ts'
import { LmdbStore } from './lmdb.ts'

storeContract('lmdb', (path) => new LmdbStore('lmdb://', path), { persistent: true })
