/**
 * Loading the user's app module (a .ts or .js file that exports an App).
 * @module
 */
import { existsSync } from 'node:fs'
import { resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import { App } from '../app/app.ts'
import { AppModuleError, describeError } from '../errors.ts'

/** Import `path` and return the App it exports (`app`, the default export, or the only App export). */
export async function loadApp(path: string | undefined): Promise<App> {
  if (path === undefined || path === '') {
    throw new AppModuleError('no app module given: pass -A <file> (or set FAUST_APP), e.g. faust-ts worker -A examples/word-count.ts')
  }
  const file = resolve(path)
  if (!existsSync(file)) throw new AppModuleError(`app module ${path} not found (looked for ${file})`)
  let mod: Record<string, unknown>
  try {
    mod = (await import(pathToFileURL(file).href)) as Record<string, unknown>
  } catch (err) {
    throw new AppModuleError(`cannot load app module ${path}: ${describeError(err)}`, { cause: err })
  }
  const candidates = [mod.app, mod.default, ...Object.values(mod)]
  const app = candidates.find((x): x is App => x instanceof App)
  if (app === undefined) {
    throw new AppModuleError(`app module ${path} exports no App: add \`export const app = new App('my-app')\``)
  }
  return app
}
