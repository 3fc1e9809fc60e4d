#!/usr/bin/env node
// The faust-ts command. From a build (npm package) it runs dist/; in a checkout it runs the
// TypeScript sources directly (Node >= 22.18 strips types).
import { existsSync } from 'node:fs'

const built = new URL('../dist/cli/main.js', import.meta.url)
const source = new URL('../src/cli/main.ts', import.meta.url)
const { run } = await import(existsSync(source) ? source.href : built.href)
await run()
