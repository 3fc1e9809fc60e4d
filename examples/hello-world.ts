/**
 * Hello world: an agent that greets every name sent to it.
 *
 *   npm run faust-ts -- worker examples/hello-world.ts
 *
 * On the default memory:// broker the app also sends itself a few names each second.
 */
import { App } from '../src/index.ts'

export const app = new App('hello-world')

export const greet = app.agent(
  undefined,
  async (names) => {
    for await (const name of names) console.log(`Hello, ${String(name)}!`)
  },
  { name: 'greet', valueType: String, valueSerializer: 'raw', help: 'Say hello' },
)

const people = ['Ada', 'Grace', 'Edsger', 'Barbara']
let i = 0
app.timer(1, async () => {
  await greet.send({ value: people[i++ % people.length]! })
})
