/**
 * A binary min-heap ordered by a numeric priority.
 * @module
 */

export class MinHeap<T> {
  readonly #items: Array<{ at: number; item: T }> = []

  get size(): number {
    return this.#items.length
  }

  push(at: number, item: T): void {
    const items = this.#items
    items.push({ at, item })
    let i = items.length - 1
    while (i > 0) {
      const parent = (i - 1) >> 1
      if (items[parent]!.at <= at) break
      items[i] = items[parent]!
      i = parent
    }
    items[i] = { at, item }
  }

  /** The smallest entry without removing it. */
  peek(): { at: number; item: T } | undefined {
    return this.#items[0]
  }

  pop(): { at: number; item: T } | undefined {
    const items = this.#items
    const top = items[0]
    const last = items.pop()
    if (top === undefined || last === undefined || items.length === 0) return top
    let i = 0
    for (;;) {
      const left = 2 * i + 1
      if (left >= items.length) break
      const right = left + 1
      const child = right < items.length && items[right]!.at < items[left]!.at ? right : left
      if (items[child]!.at >= last.at) break
      items[i] = items[child]!
      i = child
    }
    items[i] = last
    return top
  }

  clear(): void {
    this.#items.length = 0
  }
}
