// The `/users` store: a JSON file read from `DATABASE_PATH` when it opens and written back when it closes, the way an
// embedded database loads its file and flushes it. It stands in for a database connection: opened with backoff at
// start, closed only after every listener drained. Opening fails, and is retried by the caller, when the path cannot
// be read or written, or the file is not one this store wrote.

import { access as accessCb, constants, readFile as readFileCb, rename as renameCb, writeFile as writeFileCb } from 'node:fs'
import { promisify } from 'node:util'
import { dirname } from 'node:path'

// node:fs's callbacks, promisified: node:fs/promises would load ten more modules (readline's among them) into every
// reference server process, about 7% of its start-up.
const access = promisify(accessCb)
const readFile = promisify(readFileCb)
const rename = promisify(renameCb)
const writeFile = promisify(writeFileCb)

export interface User {
  readonly id: number
  readonly name: string
  readonly email: string | null
  readonly createdAt: string
}

/** A connection to the users table. Every call but `close()` throws once it is closed. */
export interface UsersDb {
  readonly path: string
  list(): User[]
  create(input: { readonly name: string; readonly email?: string | null }): User
  count(): number
  /** `true` while the connection is open. */
  ping(): boolean
  /** Writes the file (unless `:memory:`) and closes. Idempotent. */
  close(): Promise<void>
}

/** What the file holds. `nextId` is kept apart from the rows, so an id is never reused, as with autoincrement. */
interface StoreFile {
  readonly format: typeof FORMAT
  readonly nextId: number
  readonly users: readonly User[]
}

const FORMAT = 'leakguard-reference-users/1'

/**
 * Opens (or creates) the users store at `path`; `':memory:'` keeps it in memory only.
 *
 * @example
 * const db = await connectWithBackoff(() => openUsersDb('./users.json'), { name: 'the database' })
 */
export async function openUsersDb(path: string): Promise<UsersDb> {
  let users: User[] = []
  let nextId = 1
  if (path !== ':memory:') {
    let text: string | undefined
    try {
      text = await readFile(path, 'utf8')
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error
      // A new file is fine, as long as it can be written where it is meant to go.
      await access(dirname(path), constants.W_OK)
    }
    if (text !== undefined) ({ users, nextId } = parseStore(path, text))
  }
  let closed: Promise<void> | undefined
  const check = () => {
    if (closed) throw new Error('The database connection is closed.')
  }

  return {
    path,
    list() {
      check()
      return users.map((user) => ({ ...user }))
    },
    create(input) {
      check()
      const user: User = { id: nextId, name: input.name, email: input.email ?? null, createdAt: new Date().toISOString() }
      nextId += 1
      users.push(user)
      return { ...user }
    },
    count() {
      check()
      return users.length
    },
    ping() {
      return !closed
    },
    close() {
      closed ??= (async () => {
        if (path === ':memory:') return
        // Write next to the file, then rename: a crash mid-write never leaves half a store behind.
        const temporary = `${path}.${process.pid}.tmp`
        const file: StoreFile = { format: FORMAT, nextId, users }
        await writeFile(temporary, `${JSON.stringify(file)}\n`)
        await rename(temporary, path)
      })()
      return closed
    },
  }
}

function parseStore(path: string, text: string): { users: User[]; nextId: number } {
  let file: Partial<StoreFile> | undefined
  try {
    file = JSON.parse(text) as Partial<StoreFile>
  } catch {
    // Falls through to the error below.
  }
  const users = file?.users
  if (file?.format !== FORMAT || !Array.isArray(users) || !users.every(isUser) || !Number.isSafeInteger(file.nextId)) {
    throw new Error(`${path} is not a users file of the reference server; move it away or set DATABASE_PATH to another file`)
  }
  // Rows JSON.parse just made: nothing else holds them.
  return { users, nextId: users.reduce((next, user) => Math.max(next, user.id + 1), file.nextId!) }
}

function isUser(value: unknown): value is User {
  const user = value as User | null
  return (
    typeof user === 'object' &&
    user !== null &&
    Number.isSafeInteger(user.id) &&
    typeof user.name === 'string' &&
    (user.email === null || typeof user.email === 'string') &&
    typeof user.createdAt === 'string'
  )
}
